"""--audit-logs on AWS (on in the prod profile): VPC flow logs (L1) and the artifact bucket's server
access logs (L2) to a hardened log bucket, every control-plane log type (L3). Without it, the dev
stack as it was.
"""

from __future__ import annotations

import copy
import json
import re

import pytest

from provisioner.analysis import mockcloud
from provisioner.analysis.baseline import aws as baseline
from provisioner.analysis.baseline.rules import evaluate
from provisioner.analysis.mockcloud import aws as mock
from recipes.facts import aws as facts

from tests.conftest import aws_spec
from tests.recipes.aws.helpers import MOCK_ACCOUNT

LOG_BUCKET = "recipes:aws:LogBucket"
EVERY_LOG_TYPE = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
AUDIT_TYPES = {LOG_BUCKET, facts.EC2_FLOW_LOG, facts.S3_BUCKET_LOGGING}


@pytest.fixture(scope="module")
def audit_plan(plans):
    return plans(audit_logs=True)


@pytest.fixture(scope="module")
def prod_plan(plans):
    return plans(profile="prod")


def log_bucket(plan):
    return plan.one(facts.S3_BUCKET, "logs")


def configs(plan, bucket_name: str) -> dict[str, object]:
    """The custom resources of a bucket component but the bucket itself, by type."""
    component = plan.one(LOG_BUCKET if bucket_name == "logs" else "recipes:aws:Bucket", bucket_name)
    return {r.type: r for r in plan.subtree(component) if r.custom and r.type != facts.S3_BUCKET}


def policy_statements(plan) -> dict[str, dict]:
    return {s["Sid"]: s for s in json.loads(configs(plan, "logs")[facts.S3_BUCKET_POLICY].inputs["policy"])["Statement"]}


# ---------------------------------------------------------------------------
# The switch: dev as it was, prod (or --audit-logs) with every log


def test_dev_has_no_audit_logs_and_only_the_c2_log_types(aws_plan):
    assert not AUDIT_TYPES & aws_plan.types()
    assert len(aws_plan.by_type(facts.S3_BUCKET)) == 1
    assert aws_plan.one(facts.EKS_CLUSTER).inputs["enabledClusterLogTypes"] == ["api", "audit", "authenticator"]


@pytest.mark.parametrize("flags,on", [({"profile": "prod"}, True), ({"profile": "prod", "audit_logs": False}, False),
                                      ({"audit_logs": True}, True), ({"audit_logs": True, "network": "public"}, True)])
def test_audit_logs_follow_the_profile_and_the_flag(plans, flags, on):
    plan = plans(**flags)
    assert plan.spec.audit_logs is on
    assert AUDIT_TYPES & plan.types() == (AUDIT_TYPES if on else set())
    log_types = plan.one(facts.EKS_CLUSTER).inputs["enabledClusterLogTypes"]
    assert log_types == (EVERY_LOG_TYPE if on else EVERY_LOG_TYPE[:3])  # L3 (CKV_AWS_37)


def test_audit_logs_add_only_what_the_components_need(plans):
    storage_only = plans(audit_logs=True, components=["bucket"])
    assert facts.EC2_FLOW_LOG not in storage_only.types() and facts.S3_BUCKET_LOGGING in storage_only.types()
    assert set(policy_statements(storage_only)) == {"DenyInsecureTransport", "S3ServerAccessLogs"}
    no_bucket = plans(audit_logs=True, components=["cluster"])
    assert facts.S3_BUCKET_LOGGING not in no_bucket.types() and facts.EC2_FLOW_LOG in no_bucket.types()
    assert set(policy_statements(no_bucket)) == {"DenyInsecureTransport", "AWSLogDeliveryWrite", "AWSLogDeliveryAclCheck"}
    assert not AUDIT_TYPES & plans(audit_logs=True, components=["registry"]).types()


# ---------------------------------------------------------------------------
# The log bucket


def test_log_bucket_name_is_globally_unique_like_the_artifact_bucket(audit_plan, make_spec):
    spec = make_spec(audit_logs=True)
    name = log_bucket(audit_plan).inputs["bucket"]
    assert name == spec.names.s3_log_bucket() == f"ml-dev-logs-{spec.names.suffix}"
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", name)
    assert make_spec(audit_logs=True, suffix="a1b2c3").names.s3_log_bucket() == "ml-dev-logs-a1b2c3"
    assert name != audit_plan.one(facts.S3_BUCKET, "bucket").inputs["bucket"]


@pytest.mark.parametrize("flags,days", [({"audit_logs": True}, 30), ({"profile": "prod"}, 90)])
def test_log_bucket_is_hardened_as_the_artifact_bucket_is(plans, flags, days):
    plan = plans(**flags)
    logs, artifacts = configs(plan, "logs"), configs(plan, "bucket")
    # The same configuration resources (none missing: no finding the artifact bucket avoids), less
    # the access logs a log bucket must not send itself.
    assert set(logs) == set(artifacts) - {facts.S3_BUCKET_LOGGING}
    bucket = log_bucket(plan)
    for config in logs.values():
        assert bucket.urn in config.dependencies, config.name
    block = logs[facts.S3_PUBLIC_ACCESS_BLOCK].inputs
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    assert logs[facts.S3_OWNERSHIP_CONTROLS].inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    # SSE-S3 even under --kms (prod): S3 delivers no access logs to an SSE-KMS bucket.
    (rule,) = logs[facts.S3_ENCRYPTION].inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    assert logs[facts.S3_VERSIONING].inputs["versioningConfiguration"] == {"status": "Enabled"}
    (lifecycle,) = logs[facts.S3_LIFECYCLE].inputs["rules"]
    assert lifecycle["status"] == "Enabled" and lifecycle["filter"] == {}
    assert lifecycle["expiration"] == {"days": days}  # as long as the control plane's log group keeps its logs
    assert lifecycle["noncurrentVersionExpiration"] == {"noncurrentDays": 30}
    assert lifecycle["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
    assert logs[facts.S3_PUBLIC_ACCESS_BLOCK].urn in logs[facts.S3_BUCKET_POLICY].dependencies


def test_log_bucket_policy_lets_only_the_log_services_write_their_logs(prod_plan, make_spec):
    spec = make_spec(profile="prod")
    arn = f"arn:aws:s3:::{spec.names.s3_log_bucket()}"
    statements = policy_statements(prod_plan)
    deny = statements["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert set(deny["Resource"]) == {arn, f"{arn}/*"}
    access = statements["S3ServerAccessLogs"]
    assert access["Principal"] == {"Service": "logging.s3.amazonaws.com"} and access["Action"] == "s3:PutObject"
    assert access["Resource"] == f"{arn}/s3-access/*"
    assert access["Condition"] == {"ArnLike": {"aws:SourceArn": [f"arn:aws:s3:::{spec.names.s3_bucket()}"]},
                                   "StringEquals": {"aws:SourceAccount": MOCK_ACCOUNT}}
    write, acl_check = statements["AWSLogDeliveryWrite"], statements["AWSLogDeliveryAclCheck"]
    source = {"StringEquals": {"aws:SourceAccount": MOCK_ACCOUNT}, "ArnLike": {"aws:SourceArn": f"arn:aws:logs:eu-west-1:{MOCK_ACCOUNT}:*"}}
    assert write["Principal"] == acl_check["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert write["Action"] == "s3:PutObject" and write["Resource"] == f"{arn}/AWSLogs/{MOCK_ACCOUNT}/*"
    assert write["Condition"] == {**source, "StringEquals": {"aws:SourceAccount": MOCK_ACCOUNT, "s3:x-amz-acl": "bucket-owner-full-control"}}
    assert set(acl_check["Action"]) == {"s3:GetBucketAcl", "s3:ListBucket"} and acl_check["Resource"] == arn
    assert acl_check["Condition"] == source
    assert all(s["Effect"] == "Allow" for sid, s in statements.items() if sid != "DenyInsecureTransport")


@pytest.mark.parametrize("delete_data", [False, True])
def test_log_bucket_follows_the_artifact_buckets_retain_rule(plans, make_spec, delete_data):
    plan = plans(make_spec(audit_logs=True).with_changes(delete_data=delete_data))
    kept = {r.name: (r.retain_on_delete, r.protect) for r in plan.subtree(plan.one(LOG_BUCKET, "logs")) if r.custom}
    assert len(kept) == 7  # the bucket, its public access block, ownership, encryption, versioning, lifecycle, policy
    assert set(kept.values()) == {(not delete_data, not delete_data)}
    assert log_bucket(plan).inputs["forceDestroy"] is delete_data
    access_logs = plan.one(facts.S3_BUCKET_LOGGING)
    assert (access_logs.retain_on_delete, access_logs.protect) == (not delete_data, not delete_data)
    flow_log = plan.one(facts.EC2_FLOW_LOG)
    assert not flow_log.retain_on_delete and not flow_log.protect  # goes with the VPC it logs


# ---------------------------------------------------------------------------
# What delivers into it, and when


def test_artifact_bucket_access_logs_go_to_the_log_bucket_once_it_admits_them(prod_plan):
    access_logs = prod_plan.one(facts.S3_BUCKET_LOGGING)
    assert access_logs.inputs == {"bucket": prod_plan.one(facts.S3_BUCKET, "bucket").inputs["bucket"],
                                  "targetBucket": log_bucket(prod_plan).inputs["bucket"], "targetPrefix": "s3-access/"}
    assert configs(prod_plan, "logs")[facts.S3_BUCKET_POLICY].urn in access_logs.dependencies
    assert access_logs.parent == prod_plan.one("recipes:aws:Bucket", "bucket").urn


def test_flow_logs_of_all_traffic_go_to_the_log_bucket_once_it_admits_them(prod_plan):
    flow_log, vpc = prod_plan.one(facts.EC2_FLOW_LOG), prod_plan.one(facts.EC2_VPC)
    assert flow_log.inputs["vpcId"] == mockcloud.fake_id(facts.EC2_VPC, vpc.name)
    assert flow_log.inputs["trafficType"] == "ALL" and flow_log.inputs["maxAggregationInterval"] == 600
    assert flow_log.inputs["logDestinationType"] == "s3"
    assert flow_log.inputs["logDestination"] == f"arn:aws:s3:::{log_bucket(prod_plan).inputs['bucket']}"
    assert "iamRoleArn" not in flow_log.inputs and "destinationOptions" not in flow_log.inputs  # plain text: no Parquet fee
    assert configs(prod_plan, "logs")[facts.S3_BUCKET_POLICY].urn in flow_log.dependencies


# ---------------------------------------------------------------------------
# The mock cloud refuses what AWS refuses


def test_mock_refuses_flow_logs_without_a_usable_destination():
    context = mockcloud.Context(aws_spec())
    mockcloud.computed(facts.S3_BUCKET, "logs", {"bucket": "ml-dev-logs-c0ffee"}, context)
    ok = {"vpcId": "vpc-1", "trafficType": "ALL", "logDestinationType": "s3", "logDestination": "arn:aws:s3:::ml-dev-logs-c0ffee"}
    mockcloud.computed(facts.EC2_FLOW_LOG, "flow", ok, context)
    mockcloud.computed(facts.EC2_FLOW_LOG, "flow", {**ok, "logDestination": ok["logDestination"] + "/vpc/"}, context)
    refused = [
        ({**ok, "logDestination": None}, r"InvalidParameter: LogDestination can't be empty if LogDestinationType is s3\."),
        ({k: v for k, v in ok.items() if k not in ("logDestination", "logDestinationType")},
         r"InvalidParameter: LogDestination can't be empty if LogDestinationType is cloud-watch-logs\."),
        ({**ok, "logDestination": "arn:aws:s3:::nobody-owns-this"},
         r"400: Access Denied for LogDestination: nobody-owns-this\. Please check LogDestination permission"),
        ({**ok, "iamRoleArn": "arn:aws:iam::123456789012:role/flow"},
         r"InvalidParameter: DeliverLogsPermissionArn is not applicable for s3 delivery"),
    ]
    for inputs, message in refused:
        with pytest.raises(mock.AwsError, match=r"^creating Flow Log \(vpc-1\): " + message):
            mockcloud.computed(facts.EC2_FLOW_LOG, "flow", inputs, context)


def test_mock_refuses_access_logs_to_a_missing_bucket_and_accepts_a_bucket_logging_itself():
    context = mockcloud.Context(aws_spec())
    for name in ("art", "logs"):
        mockcloud.computed(facts.S3_BUCKET, name, {"bucket": name}, context)
    mockcloud.computed(facts.S3_BUCKET_LOGGING, "ok", {"bucket": "art", "targetBucket": "logs", "targetPrefix": "s3-access/"}, context)
    with pytest.raises(mock.AwsError, match=r"InvalidTargetBucketForLogging: The target bucket for logging does not exist$"):
        mockcloud.computed(facts.S3_BUCKET_LOGGING, "bad", {"bucket": "art", "targetBucket": "gone", "targetPrefix": "x/"}, context)
    with pytest.raises(mock.AwsError, match=r"NoSuchBucket: The specified bucket does not exist$"):
        mockcloud.computed(facts.S3_BUCKET_LOGGING, "bad", {"bucket": "gone", "targetBucket": "logs", "targetPrefix": "x/"}, context)
    # S3 accepts a bucket as its own target (a log loop AWS advises against): the baseline refuses it (L2).
    mockcloud.computed(facts.S3_BUCKET_LOGGING, "self", {"bucket": "art", "targetBucket": "art", "targetPrefix": "x/"}, context)


# ---------------------------------------------------------------------------
# The baseline: L1-L3 (and B3 for the log bucket)


def edited(plan, type_: str, change):
    bad = copy.deepcopy(plan.plan)
    for r in [r for r in bad.resources if r.type == type_]:
        change(r, bad)
    return bad


def test_l1_to_l3_are_options_in_dev_and_pass_in_prod(aws_plan, prod_plan):
    checks = (baseline.flow_logs, baseline.bucket_access_logs, baseline.all_control_plane_logs)
    for check in checks:
        dev = check(aws_plan.plan)
        assert dev.status == "option" and "--audit-logs" in dev.detail, check.__name__
        assert check(prod_plan.plan).status == "pass", check.__name__
    failing = [(r.rule.id, r.verdict.resources) for r in evaluate(prod_plan.plan) if r.verdict.status == "fail"]
    assert failing == []  # B1-B5 on the log bucket too (SSE-S3 under --kms included)


def test_l1_to_l3_fail_a_prod_stack_missing_a_log(prod_plan):
    no_flow = edited(prod_plan, facts.EC2_FLOW_LOG, lambda r, plan: plan.resources.remove(r))
    assert (baseline.flow_logs(no_flow).status, baseline.flow_logs(no_flow).resources) == ("fail", ["network-vpc"])
    to_itself = edited(prod_plan, facts.S3_BUCKET_LOGGING, lambda r, plan: r.inputs.update(targetBucket=r.inputs["bucket"]))
    assert (baseline.bucket_access_logs(to_itself).status, baseline.bucket_access_logs(to_itself).resources) == ("fail", ["bucket"])
    unadmitted = edited(prod_plan, facts.S3_BUCKET_POLICY, lambda r, plan: r.inputs.update(
        policy=r.inputs["policy"].replace("logging.s3.amazonaws.com", "s3.amazonaws.com")))
    assert baseline.bucket_access_logs(unadmitted).resources == ["bucket"]
    kms_target = edited(prod_plan, facts.S3_ENCRYPTION, lambda r, plan: r.inputs["rules"][0].update(
        applyServerSideEncryptionByDefault={"sseAlgorithm": "aws:kms", "kmsMasterKeyId": "arn:aws:kms:eu-west-1:1:key/k"}))
    assert baseline.bucket_access_logs(kms_target).resources == ["bucket"]  # S3 would deliver nothing there
    assert baseline.bucket_encrypted(kms_target).status == "fail"  # B3: the log bucket must be SSE-S3
    three_types = edited(prod_plan, facts.EKS_CLUSTER, lambda r, plan: r.inputs.update(enabledClusterLogTypes=EVERY_LOG_TYPE[:3]))
    assert (baseline.all_control_plane_logs(three_types).status, baseline.all_control_plane_logs(three_types).resources) == ("fail", ["cluster"])
