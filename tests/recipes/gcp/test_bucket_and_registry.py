"""The GCS bucket and the Artifact Registry repository as planned: hardening, retention, names."""

from __future__ import annotations

import pytest

from recipes.facts import gcp as facts

from tests.recipes.gcp.helpers import gcp_spec

pytestmark = pytest.mark.filterwarnings(r"ignore::DeprecationWarning:pulumi_gcp\..*")


def test_bucket_is_private_uniform_and_versioned(gcp_plan):
    bucket = gcp_plan.one(facts.GCS_BUCKET)
    inputs = bucket.inputs
    assert inputs["name"] == gcp_spec().names.gcs_bucket()
    assert inputs["location"] == "us-central1"
    assert inputs["uniformBucketLevelAccess"] is True  # B2
    assert inputs["publicAccessPrevention"] == "enforced"  # B1
    assert inputs["versioning"] == {"enabled": True}  # B5
    assert "encryption" not in inputs  # B3: Google-managed keys; CMEK is an option
    rules = {r["action"]["type"]: r["condition"] for r in inputs["lifecycleRules"]}
    assert rules["Delete"]["daysSinceNoncurrentTime"] == 30
    assert rules["Delete"].get("withState") == "ARCHIVED"  # never the live version
    assert "age" not in rules["Delete"]
    assert rules["AbortIncompleteMultipartUpload"] == {"age": 7}
    assert gcp_plan.raw_outputs["bucket"] == {"name": inputs["name"], "uri": f"gs://{inputs['name']}"}


def test_bucket_is_retained_by_default(gcp_plan):
    bucket = gcp_plan.one(facts.GCS_BUCKET)
    assert bucket.retain_on_delete is True  # D1
    assert bucket.inputs["forceDestroy"] is False


def test_delete_data_releases_the_bucket_and_the_registry(plans):
    plan = plans(gcp_spec().with_changes(delete_data=True))
    bucket, repository = plan.one(facts.GCS_BUCKET), plan.one(facts.ARTIFACT_REGISTRY)
    assert bucket.retain_on_delete is False and bucket.inputs["forceDestroy"] is True
    assert repository.retain_on_delete is False
    assert not [r.name for r in plan.resources if r.retain_on_delete]


# ---------------------------------------------------------------------------
# Registry


def test_registry_is_a_docker_repository_with_a_cleanup_policy(gcp_plan):
    repository = gcp_plan.one(facts.ARTIFACT_REGISTRY)
    inputs = repository.inputs
    assert inputs["format"] == "DOCKER"
    assert inputs["repositoryId"] == gcp_spec().names.artifact_registry() == "ml-dev"
    assert inputs["location"] == "us-central1"
    (policy,) = inputs["cleanupPolicies"]  # R4
    assert policy["action"] == "DELETE"
    assert policy["condition"] == {"tagState": "UNTAGGED", "olderThan": f"{14 * 86400}s"}
    assert inputs["cleanupPolicyDryRun"] is False  # the policy acts
    assert inputs["vulnerabilityScanningConfig"] == {"enablementConfig": "INHERITED"}  # R2, with containerscanning on
    assert repository.retain_on_delete is True  # D1


def test_registry_tags_mutable_by_default_immutable_on_request(gcp_plan, gcp):
    # ZenML re-pushes the same tag for every build of a pipeline: immutability is an option.
    assert gcp_plan.one(facts.ARTIFACT_REGISTRY).inputs["dockerConfig"] == {"immutableTags": False}
    assert gcp(immutable_tags=True).one(facts.ARTIFACT_REGISTRY).inputs["dockerConfig"] == {"immutableTags": True}


def test_registry_uri_is_the_repository_path(gcp_plan):
    uri = gcp_plan.raw_outputs["registry"]["uri"]
    # ZenML pushes `<uri>/zenml:<tag>`: region host, project, repository, no trailing slash.
    assert uri == "us-central1-docker.pkg.dev/demo-project/ml-dev"


def test_data_resources_do_not_depend_on_the_cluster(gcp_plan):
    cluster_urns = {r.urn for r in gcp_plan.resources if r.type.startswith(("gcp:container", "gcp:compute", "recipes:gcp:Cluster", "recipes:gcp:Network", "pulumi:providers:kubernetes"))}
    assert len(cluster_urns) >= 8
    data = [r for r in gcp_plan.subtree(gcp_plan.one("recipes:gcp:Bucket", "bucket")) if r.custom]
    data += [r for r in gcp_plan.subtree(gcp_plan.one("recipes:gcp:Registry", "registry")) if r.custom]
    data += gcp_plan.by_type(facts.GCS_BUCKET_IAM_MEMBER)
    data += [a for a in gcp_plan.by_type(facts.SERVICE_ACCOUNT) if a.name.endswith("-identity-sa")]
    assert {r.type for r in data} == {
        facts.GCS_BUCKET, facts.ARTIFACT_REGISTRY, facts.ARTIFACT_REGISTRY_IAM_MEMBER, facts.GCS_BUCKET_IAM_MEMBER, facts.SERVICE_ACCOUNT,
    }
    for r in data:
        assert not gcp_plan.deps_closure(r) & cluster_urns, r.name


# ---------------------------------------------------------------------------
# Access logs (--audit-logs, L2)

LOG_WRITER = "group:cloud-storage-analytics@google.com"


def log_bucket_of(plan):
    (log_bucket,) = [b for b in plan.by_type(facts.GCS_BUCKET) if b.name == "bucket-access-logs"]
    return log_bucket


@pytest.mark.parametrize("flags", [{"audit_logs": True}, {"profile": "prod"}], ids=["audit-logs", "prod"])
def test_audit_logs_send_the_buckets_access_logs_to_a_hardened_log_bucket(gcp, flags):
    from provisioner.analysis.baseline import gcp as baseline

    plan = gcp(**flags)
    spec = gcp_spec(**flags)
    bucket, log_bucket = plan.one(facts.GCS_BUCKET, "bucket"), log_bucket_of(plan)
    name = log_bucket.inputs["name"]
    assert name == spec.names.gcs_log_bucket() == f"ml-dev-access-logs-{spec.names.suffix}"  # globally unique
    assert bucket.inputs["logging"] == {"logBucket": name}  # CKV_GCP_62, and not itself (CKV_GCP_63)
    assert "logging" not in log_bucket.inputs  # a log bucket logging into itself would log its own writes
    inputs = log_bucket.inputs
    assert inputs["location"] == bucket.inputs["location"] == "us-central1"  # usage logs stay in the bucket's location
    assert inputs["uniformBucketLevelAccess"] is True and inputs["publicAccessPrevention"] == "enforced"
    assert inputs["versioning"] == {"enabled": True}
    assert inputs.get("encryption") == bucket.inputs.get("encryption")  # the stack's key under --kms (prod)
    rules = [(r["action"]["type"], r["condition"]) for r in inputs["lifecycleRules"]]
    assert ("Delete", {"age": 365, "withState": "LIVE"}) in rules  # logs expire after a year
    assert ("Delete", {"daysSinceNoncurrentTime": 30, "withState": "ARCHIVED"}) in rules
    # Cloud Storage writes the logs as its analytics group, which may only create objects there.
    (writer,) = [m for m in plan.by_type(facts.GCS_BUCKET_IAM_MEMBER) if m.inputs["member"] == LOG_WRITER]
    assert writer.inputs == {"bucket": name, "member": LOG_WRITER, "role": "roles/storage.objectCreator"}
    assert writer.urn in bucket.dependencies  # the bucket logs only once its logs can be written
    for check in ("bucket_access_logs", "bucket_public_access_prevented", "bucket_acls_off", "bucket_versioned",
                  "bucket_encrypted", "iam_scoped"):
        assert getattr(baseline, check)(plan.plan).status == "pass", check


def test_without_audit_logs_there_is_no_log_bucket(gcp_plan):
    from provisioner.analysis.baseline import gcp as baseline

    assert [b.name for b in gcp_plan.by_type(facts.GCS_BUCKET)] == ["bucket"]
    assert "logging" not in gcp_plan.one(facts.GCS_BUCKET).inputs
    assert not [m for m in gcp_plan.by_type(facts.GCS_BUCKET_IAM_MEMBER) if m.inputs["member"] == LOG_WRITER]
    assert baseline.bucket_access_logs(gcp_plan.plan).status == "option"


@pytest.mark.parametrize("delete_data", [False, True], ids=["kept", "delete-data"])
def test_the_log_bucket_is_kept_like_the_bucket_unless_delete_data(plans, delete_data):
    plan = plans(gcp_spec(audit_logs=True).with_changes(delete_data=delete_data))
    log_bucket = log_bucket_of(plan)
    assert log_bucket.retain_on_delete is log_bucket.protect is (not delete_data)  # D1: audit logs are data
    assert log_bucket.inputs["forceDestroy"] is delete_data
    assert log_bucket.parent == plan.one("recipes:gcp:Bucket", "bucket").urn  # --delete-data re-declares it


def test_logs_written_where_cloud_storage_may_not_write_fail_l2(gcp):
    from copy import deepcopy

    from provisioner.analysis.baseline import gcp as baseline

    plan = deepcopy(gcp(audit_logs=True).plan)
    plan.resources = [r for r in plan.resources if r.inputs.get("member") != LOG_WRITER]
    verdict = baseline.bucket_access_logs(plan)
    assert verdict.status == "fail" and verdict.resources == ["bucket"] and "dropped" in verdict.detail


def test_destroy_delete_data_re_declares_the_log_bucket_to_delete_it(plans):
    """`recipe destroy --delete-data` runs the data components' program over what destroy kept: the log bucket is
    in it, released and force-destroyable, so it goes with the artifact bucket instead of staying behind."""
    from provisioner.engine.teardown import data_only

    plan = plans(data_only(gcp_spec(audit_logs=True)))
    log_bucket = log_bucket_of(plan)
    assert not log_bucket.protect and not log_bucket.retain_on_delete and log_bucket.inputs["forceDestroy"] is True
    assert plan.one(facts.GCS_BUCKET, "bucket").inputs["logging"] == {"logBucket": log_bucket.inputs["name"]}
