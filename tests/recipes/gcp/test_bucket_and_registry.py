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
