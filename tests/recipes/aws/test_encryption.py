"""--kms on AWS: one customer-managed key for the bucket, the registry and the cluster's Secrets (B3, C3, D1)."""

from __future__ import annotations

import json
import re

import pytest

from recipes.facts import aws as facts

from tests.recipes.aws.helpers import (
    AWS_PROVIDER, ENCRYPTION, MOCK_ACCOUNT, kms_statements, policy_documents, stack_key,
)
from tests.recipes.plans import as_list


CLUSTER_KEY_ACTIONS = {"kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:ListGrants"}
OBJECT_KEY_ACTIONS = {"kms:Decrypt", "kms:GenerateDataKey"}


def test_kms_key_rotates_and_waits_30_days_before_deletion(kms_plan, helpers):
    key, _ = stack_key(kms_plan)
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 30
    assert key.inputs["keyUsage"] == "ENCRYPT_DECRYPT"
    assert key.inputs["customerMasterKeySpec"] == "SYMMETRIC_DEFAULT"  # EKS, S3 and ECR take symmetric keys only
    assert "bypassPolicyLockoutSafetyCheck" not in key.inputs
    # One key per stack, in its own component, on the stack's provider.
    assert len(kms_plan.by_type(facts.KMS_KEY)) == 1 and len(kms_plan.by_type(facts.KMS_ALIAS)) == 1
    component = kms_plan.one(ENCRYPTION, "encryption")
    assert {r.urn for r in kms_plan.children(component.urn)} == {key.urn, kms_plan.one(facts.KMS_ALIAS).urn}
    assert helpers.provider_urn(key.provider) == kms_plan.one(AWS_PROVIDER, "aws").urn


def test_kms_alias_is_named_after_the_stack(kms_plan, make_spec):
    spec = make_spec(kms=True)
    name = kms_plan.one(facts.KMS_ALIAS).inputs["name"]
    assert name == f"alias/{spec.name}-{spec.names.suffix}" == "alias/ml-dev-" + spec.names.suffix
    assert re.fullmatch(r"alias/[a-zA-Z0-9/_-]{1,250}", name) and not name.startswith("alias/aws/")
    # The suffix is the stack's own (random at its first deploy): another instance, another alias.
    assert make_spec(kms=True, suffix="a1b2c3").names.suffix == "a1b2c3" != spec.names.suffix


def test_kms_key_and_alias_are_retained_by_default(kms_plan):
    # The kept bucket's objects and the kept registry's images are unreadable without the key.
    assert kms_plan.one(facts.KMS_KEY).retain_on_delete is True
    assert kms_plan.one(facts.KMS_ALIAS).retain_on_delete is True
    assert kms_plan.one(facts.S3_BUCKET).retain_on_delete is True and kms_plan.one(facts.ECR_REPOSITORY).retain_on_delete is True


def test_delete_data_releases_the_kms_key(plans, make_spec):
    plan = plans(make_spec(kms=True).with_changes(delete_data=True))
    assert not plan.one(facts.KMS_KEY).retain_on_delete
    assert not plan.one(facts.KMS_ALIAS).retain_on_delete
    assert plan.one(facts.KMS_KEY).inputs["deletionWindowInDays"] == 30  # still recoverable for 30 days
    assert not plan.one(facts.S3_BUCKET).retain_on_delete and not plan.one(facts.ECR_REPOSITORY).retain_on_delete


def test_kms_key_policy_gives_the_account_alone_control(kms_plan):
    key, _ = stack_key(kms_plan)
    policy = json.loads(key.inputs["policy"])
    (statement,) = [s for s in policy["Statement"] if "AWS" in s["Principal"]]
    # The one other statement lets CloudWatch Logs use the key for the control plane's log
    # group only (tests/recipes/aws/test_first_deploy.py).
    assert [s["Principal"] for s in policy["Statement"] if s is not statement] == [{"Service": "logs.eu-west-1.amazonaws.com"}]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{MOCK_ACCOUNT}:root"}
    # In a key policy "*" is this key; the account then grants its use through IAM (scoped below).
    assert statement["Action"] == "kms:*" and statement["Resource"] == "*"
    assert "Condition" not in statement and "NotPrincipal" not in statement


def test_kms_bucket_encrypts_with_the_stack_key(kms_plan):
    key, arn = stack_key(kms_plan)
    config = kms_plan.one(facts.S3_ENCRYPTION)
    (rule,) = config.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": arn}
    assert rule["bucketKeyEnabled"] is True
    assert key.urn in config.dependencies
    assert config.retain_on_delete is True


def test_kms_registry_encrypts_with_the_stack_key(kms_plan):
    key, arn = stack_key(kms_plan)
    repo = kms_plan.one(facts.ECR_REPOSITORY)
    assert repo.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": arn}]
    assert key.urn in repo.dependencies
    # Everything else about the repository is unchanged.
    assert repo.inputs["imageScanningConfiguration"]["scanOnPush"] is True
    assert repo.inputs["forceDelete"] is False and repo.retain_on_delete is True


def test_kms_cluster_envelope_encrypts_secrets_with_the_stack_key(kms_plan):
    key, arn = stack_key(kms_plan)
    cluster = kms_plan.one(facts.EKS_CLUSTER)
    assert cluster.inputs["encryptionConfig"] == {"resources": ["secrets"], "provider": {"keyArn": arn}}
    assert key.urn in cluster.dependencies


def test_kms_cluster_role_may_use_only_this_key(kms_plan, make_spec):
    _, arn = stack_key(kms_plan)
    (policy,) = [r for r in kms_plan.by_type(facts.IAM_ROLE_POLICY) if r.name == "cluster-control-plane-kms"]
    control_plane = kms_plan.one(facts.IAM_ROLE, "cluster-control-plane")
    assert control_plane.inputs["name"] == make_spec(kms=True).names.iam_role("cluster")
    assert control_plane.urn in policy.dependencies
    statement, grants = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Effect"] == "Allow"
    assert set(statement["Action"]) == CLUSTER_KEY_ACTIONS and "Condition" not in statement
    assert statement["Resource"] == arn
    # I4: grants on the key for AWS resources only, in a statement of their own (the condition
    # key is absent from Encrypt/Decrypt requests, where it would deny them).
    assert grants == {"Sid": "GrantsForAwsResourcesOnly", "Effect": "Allow", "Action": ["kms:CreateGrant"], "Resource": arn,
                      "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}
    # The control plane has the permission before EKS first uses the key.
    assert policy.urn in kms_plan.one(facts.EKS_CLUSTER).dependencies


@pytest.mark.parametrize("purpose", ["mlflow", "pipelines"])
def test_kms_pod_roles_use_only_this_key_and_only_through_s3(kms_plan, make_spec, purpose):
    _, arn = stack_key(kms_plan)
    bucket_arn = f"arn:aws:s3:::{make_spec(kms=True).names.s3_bucket()}"
    identity = kms_plan.one("recipes:aws:BucketAccess", f"{purpose}-identity")
    (inline,) = [r for r in kms_plan.children(identity.urn) if r.type == facts.IAM_ROLE_POLICY]
    document = json.loads(inline.inputs["policy"])
    (statement,) = kms_statements(document)
    assert statement["Effect"] == "Allow"
    assert set(as_list(statement["Action"])) == OBJECT_KEY_ACTIONS
    assert as_list(statement["Resource"]) == [arn]
    assert statement["Condition"] == {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}
    # The bucket statements are as without --kms: this bucket and its objects only.
    others = [s for s in document["Statement"] if s is not statement]
    assert all(a.startswith("s3:") for s in others for a in as_list(s["Action"]))
    assert {r for s in others for r in as_list(s["Resource"])} == {bucket_arn, f"{bucket_arn}/*"}


@pytest.mark.parametrize("variant", [{"kms": True}, {"kms": True, "network": "public", "deployer": "kserve"}])
def test_kms_no_wildcard_principal_and_no_key_use_on_everything(plans, variant):
    plan = plans(**variant)
    key, arn = stack_key(plan)
    docs = policy_documents(plan)
    assert len(docs) == 11  # 4 inline (one for the control plane's key use), 6 trust, 1 bucket policy
    for where, doc in docs:
        for statement in doc["Statement"]:
            if statement["Effect"] != "Allow":
                continue  # the bucket's deny of plain HTTP names everyone, as it must
            assert statement.get("Principal") not in ("*", {"AWS": "*"}), f"{where}: principal '*'"
            actions = as_list(statement.get("Action", []))
            assert not any("*" in a for a in actions), f"{where}: wildcard action in {actions}"
            if any(a.startswith("kms:") for a in actions):
                assert all(a.startswith("kms:") for a in actions), where
                assert as_list(statement["Resource"]) == [arn], f"{where}: key use beyond the stack's key"
    # The key policy: the account's root is its only principal (and so the only one with kms:*),
    # but for CloudWatch Logs, allowed the key for the control plane's log group only.
    for statement in json.loads(key.inputs["policy"])["Statement"]:
        if statement["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}:
            assert list(statement["Condition"]) == ["ArnEquals"] and not any("*" in a for a in statement["Action"])
            continue
        assert set(statement["Principal"]) == {"AWS"}, statement["Principal"]
        assert as_list(statement["Principal"]["AWS"]) == [f"arn:aws:iam::{MOCK_ACCOUNT}:root"]
    # Nothing else in the stack writes a resource policy on the key or a grant.
    assert not plan.of_prefix("aws:kms/grant") and not plan.of_prefix("aws:kms/keyPolicy")


def test_kms_bucket_registry_and_cluster_depend_on_the_key_not_on_each_other(kms_plan):
    key = kms_plan.one(facts.KMS_KEY)
    assert not kms_plan.deps_closure(key) - {kms_plan.one(AWS_PROVIDER, "aws").urn}
    groups = {
        "bucket": {r.urn for r in kms_plan.subtree(kms_plan.one("recipes:aws:Bucket", "bucket")) if r.custom},
        "registry": {r.urn for r in kms_plan.subtree(kms_plan.one("recipes:aws:Registry", "registry")) if r.custom},
        "cluster": {kms_plan.one(facts.EKS_CLUSTER).urn},
    }
    cluster_side = {r.urn for r in kms_plan.resources if r.type.startswith(("aws:eks", "aws:ec2", "recipes:aws:Cluster"))}
    for group, urns in groups.items():
        closure = set().union(*(kms_plan.deps_closure(kms_plan.get(u)) for u in urns))
        assert key.urn in closure, group
        for other, other_urns in groups.items():
            if other != group:
                assert not closure & other_urns, f"{group} waits for {other}"
        if group != "cluster":
            assert not closure & cluster_side, f"{group} waits for the cluster or network"


@pytest.mark.parametrize(
    "variant,users",
    [
        ({"without": ["cluster", "tracker", "deployer"]}, {facts.S3_ENCRYPTION, facts.ECR_REPOSITORY}),
        ({"components": ["cluster", "deployer"]}, {facts.EKS_CLUSTER, "aws:cloudwatch/logGroup:LogGroup"}),
        ({"components": ["bucket"]}, {facts.S3_ENCRYPTION}),
    ],
)
def test_kms_key_serves_whatever_components_the_stack_has(plans, variant, users):
    plan = plans(kms=True, **variant)
    key, arn = stack_key(plan)
    assert key.retain_on_delete is True
    using = {r.type for r in plan.resources if r.custom and key.urn in r.dependencies and r.type != facts.KMS_ALIAS}
    assert using - {facts.IAM_ROLE_POLICY} == users
    assert arn in plan.inputs_json()


@pytest.mark.parametrize("variant", [{}, {"without": ["cluster", "tracker", "deployer"]}, {"network": "public", "deployer": "kserve"}])
def test_without_kms_no_key_and_aes256_everywhere(plans, variant):
    plan = plans(**variant)
    assert not plan.of_prefix("aws:kms") and not plan.of_prefix(ENCRYPTION)
    assert "kms" not in plan.inputs_json().lower()  # no aws:kms, no kmsKey, no kms: actions anywhere
    (rule,) = plan.one(facts.S3_ENCRYPTION).inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    assert plan.one(facts.ECR_REPOSITORY).inputs["encryptionConfigurations"] == [{"encryptionType": "AES256"}]
    for cluster in plan.by_type(facts.EKS_CLUSTER):
        assert "encryptionConfig" not in cluster.inputs
