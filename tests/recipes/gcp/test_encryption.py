"""--kms on GCP: one customer-managed key per stack (B3, C3), kept as long as the data."""

from __future__ import annotations

import pytest

from provisioner.analysis.mockcloud import FAKE_GCP_PROJECT_NUMBER
from recipes.gcp import roles
from recipes.facts import gcp as facts

from tests.recipes.gcp.helpers import (
    ALL_APIS, ENCRYPTION, GCP_PROVIDER, gcp_spec, grants_by_component, key_id, service_urns,
)
from tests.recipes.plans import STORAGE_ONLY

pytestmark = pytest.mark.filterwarnings(r"ignore::DeprecationWarning:pulumi_gcp\..*")


ENCRYPTER_DECRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
NUMBER = FAKE_GCP_PROJECT_NUMBER
AGENTS = {
    "bucket": f"serviceAccount:service-{NUMBER}@gs-project-accounts.iam.gserviceaccount.com",
    "registry": f"serviceAccount:service-{NUMBER}@gcp-sa-artifactregistry.iam.gserviceaccount.com",
    "cluster": f"serviceAccount:service-{NUMBER}@container-engine-robot.iam.gserviceaccount.com",
}


def test_kms_enables_the_cloudkms_api_and_never_disables_it(kms_plan):
    services = kms_plan.by_type(facts.PROJECT_SERVICE)
    # Resource Manager (already on for a cluster) answers the project number the agents are named after.
    assert {s.inputs["service"] for s in services} == ALL_APIS | {"cloudkms.googleapis.com"}
    assert len(services) == len(ALL_APIS) + 1
    for s in services:
        assert s.inputs["disableOnDestroy"] is False and s.inputs["disableDependentServices"] is False, s.name


def test_kms_apis_of_a_storage_only_stack(gcp):
    apis = {s.inputs["service"] for s in gcp(kms=True, **STORAGE_ONLY).by_type(facts.PROJECT_SERVICE)}
    assert apis == {f"{a}.googleapis.com" for a in ("storage", "artifactregistry", "containerscanning", "cloudkms", "cloudresourcemanager")}
    assert "compute.googleapis.com" not in apis  # still no Compute Engine without a cluster


def test_kms_key_ring_in_the_stack_region_always_retained(kms_plan, kms_delete_data):
    spec = gcp_spec(kms=True)
    ring = kms_plan.one(facts.KMS_KEY_RING, "encryption-ring")
    assert ring.inputs["location"] == "us-central1"
    # A random part kept in the state: a key ring name can never be reused once taken.
    assert ring.inputs["name"].startswith(f"ml-dev-keys-{spec.names.suffix}-")
    assert kms_plan.one("random:index/randomString:RandomString", "encryption-ring-suffix").urn in ring.dependencies
    assert ring.retain_on_delete is True
    # GCP cannot delete key rings: even --delete-data only forgets it.
    assert kms_delete_data.one(facts.KMS_KEY_RING).retain_on_delete is True
    assert ring.parent == kms_plan.one(ENCRYPTION, "encryption").urn


def test_kms_one_crypto_key_with_90_day_rotation(kms_plan):
    (key,) = kms_plan.by_type(facts.KMS_CRYPTO_KEY)
    ring = kms_plan.one(facts.KMS_KEY_RING)
    assert key.inputs["keyRing"] == f"projects/demo-project/locations/us-central1/keyRings/{ring.inputs['name']}"
    assert key.inputs["name"] == "ml-dev-data"
    assert key.inputs["purpose"] == "ENCRYPT_DECRYPT"
    assert key.inputs["rotationPeriod"] == "7776000s" == f"{90 * 86400}s"
    assert ring.urn in key.dependencies


def test_kms_key_is_retained_by_default(kms_plan):
    assert kms_plan.one(facts.KMS_CRYPTO_KEY).retain_on_delete is True  # D1: the key lives as long as the data
    grants = grants_by_component(kms_plan)
    assert grants["bucket"].retain_on_delete is True and grants["registry"].retain_on_delete is True
    assert grants["cluster"].retain_on_delete is False  # goes with the cluster
    retained = {(r.type, r.name) for r in kms_plan.resources if r.retain_on_delete}
    assert retained == {
        (facts.GCS_BUCKET, "bucket"), (facts.ARTIFACT_REGISTRY, "registry"),
        (facts.KMS_KEY_RING, "encryption-ring"), (facts.KMS_CRYPTO_KEY, "encryption-key"),
        (facts.KMS_CRYPTO_KEY_IAM_MEMBER, "encryption-bucket-agent"), (facts.KMS_CRYPTO_KEY_IAM_MEMBER, "encryption-registry-agent"),
    }


def test_kms_key_is_released_with_delete_data(kms_delete_data):
    assert kms_delete_data.one(facts.KMS_CRYPTO_KEY).retain_on_delete is False
    assert kms_delete_data.one(facts.GCS_BUCKET).retain_on_delete is False
    assert kms_delete_data.one(facts.GCS_BUCKET).inputs["forceDestroy"] is True
    assert kms_delete_data.one(facts.ARTIFACT_REGISTRY).retain_on_delete is False
    # Only the key ring stays: it cannot be deleted.
    assert [(r.type, r.name) for r in kms_delete_data.resources if r.retain_on_delete] == [(facts.KMS_KEY_RING, "encryption-ring")]


def test_bucket_registry_and_gke_use_the_stack_key(kms_plan):
    key = key_id(kms_plan)
    assert key.startswith("projects/demo-project/locations/us-central1/keyRings/")
    assert kms_plan.one(facts.GCS_BUCKET).inputs["encryption"] == {"defaultKmsKeyName": key}  # B3
    assert kms_plan.one(facts.ARTIFACT_REGISTRY).inputs["kmsKeyName"] == key
    assert kms_plan.one(facts.GKE_CLUSTER).inputs["databaseEncryption"] == {"state": "ENCRYPTED", "keyName": key}  # C3
    # Everything else about them is unchanged.
    bucket = kms_plan.one(facts.GCS_BUCKET).inputs
    assert bucket["publicAccessPrevention"] == "enforced" and bucket["versioning"] == {"enabled": True}


def test_service_agents_get_encrypter_decrypter_on_this_key_only(kms_plan):
    grants = grants_by_component(kms_plan)
    assert {c: g.inputs["member"] for c, g in grants.items()} == AGENTS
    for grant in grants.values():
        assert grant.inputs["role"] == ENCRYPTER_DECRYPTER
        assert grant.inputs["cryptoKeyId"] == key_id(kms_plan)
        assert "condition" not in grant.inputs
    # No KMS role on the project, the key ring or through an authoritative binding.
    assert not [g.inputs["role"] for g in kms_plan.by_type(facts.PROJECT_IAM_MEMBER) if "cloudkms" in g.inputs["role"]]
    assert {g.inputs["role"] for g in kms_plan.by_type(facts.PROJECT_IAM_MEMBER)} == set(roles.NODE_PROJECT_ROLES)
    kms_types = {r.type for r in kms_plan.resources if r.type.startswith("gcp:kms/")}
    assert kms_types == {facts.KMS_KEY_RING, facts.KMS_CRYPTO_KEY, facts.KMS_CRYPTO_KEY_IAM_MEMBER}
    bound = {r.inputs["role"] for r in kms_plan.resources if r.type.startswith("gcp:") and "role" in r.inputs}
    assert not bound & roles.FORBIDDEN, bound


def test_encrypted_resources_wait_for_their_agent_grant(kms_plan):
    grants = grants_by_component(kms_plan)
    # GCS, Artifact Registry and GKE check their agent's access to the key when they create.
    assert grants["bucket"].urn in kms_plan.one(facts.GCS_BUCKET).dependencies
    assert grants["registry"].urn in kms_plan.one(facts.ARTIFACT_REGISTRY).dependencies
    assert grants["cluster"].urn in kms_plan.one(facts.GKE_CLUSTER).dependencies
    assert grants["cluster"].urn in kms_plan.deps_closure(kms_plan.one(facts.GKE_NODE_POOL))


@pytest.mark.parametrize(
    "component,apis",
    [("bucket", ["storage"]), ("registry", ["artifactregistry"]), ("cluster", ["container"])],
)
def test_kms_grants_wait_for_the_key_and_the_api_that_creates_the_agent(kms_plan, component, apis):
    grant = grants_by_component(kms_plan)[component]
    assert kms_plan.one(facts.KMS_CRYPTO_KEY).urn in grant.dependencies
    needed = service_urns(kms_plan, "cloudkms.googleapis.com", *(f"{a}.googleapis.com" for a in apis))
    assert needed <= set(grant.dependencies)


@pytest.mark.parametrize("type_", [facts.KMS_KEY_RING, facts.KMS_CRYPTO_KEY, facts.KMS_CRYPTO_KEY_IAM_MEMBER])
def test_kms_resources_wait_for_the_kms_api(kms_plan, type_):
    needed = service_urns(kms_plan, "cloudkms.googleapis.com")
    assert len(needed) == 1
    for r in kms_plan.by_type(type_):
        assert needed <= kms_plan.deps_closure(r), r.name


@pytest.mark.parametrize(
    "variant,agents",
    [
        ({}, {"bucket", "registry", "cluster"}),
        (STORAGE_ONLY, {"bucket", "registry"}),
        ({"components": ["bucket"]}, {"bucket"}),
        ({"without": ["bucket", "tracker"]}, {"registry", "cluster"}),
    ],
    ids=["all", "storage-only", "bucket-only", "no-bucket"],
)
def test_kms_grants_only_the_agents_of_present_components(gcp, variant, agents):
    plan = gcp(kms=True, **variant)
    assert set(grants_by_component(plan)) == agents
    plan.one(facts.KMS_CRYPTO_KEY)
    plan.one(facts.KMS_KEY_RING)


def test_kms_data_does_not_depend_on_the_cluster(kms_plan):
    cluster_urns = {r.urn for r in kms_plan.resources if r.type.startswith(("gcp:container", "gcp:compute", "recipes:gcp:Cluster", "recipes:gcp:Network", "pulumi:providers:kubernetes"))}
    cluster_urns.add(grants_by_component(kms_plan)["cluster"].urn)
    for r in (kms_plan.one(facts.GCS_BUCKET), kms_plan.one(facts.ARTIFACT_REGISTRY), *kms_plan.by_type(facts.GCS_BUCKET_IAM_MEMBER)):
        assert not kms_plan.deps_closure(r) & cluster_urns, r.name


def test_kms_resources_use_the_stack_provider(kms_plan, helpers):
    provider = kms_plan.one(GCP_PROVIDER, "gcp")
    for r in kms_plan.custom("gcp:kms/"):
        assert helpers.provider_urn(r.provider) == provider.urn, r.name
    assert {r.inputs["project"] for r in kms_plan.custom("gcp:") if "project" in r.inputs} <= {"demo-project"}


def test_kms_brings_no_long_lived_credential(kms_plan):
    # I2: the agents use the key through IAM; no service account key or HMAC key comes with it.
    assert facts.SERVICE_ACCOUNT_KEY not in kms_plan.types() and "gcp:storage/hmacKey:HmacKey" not in kms_plan.types()


@pytest.mark.parametrize("variant", [{}, STORAGE_ONLY])
def test_without_kms_there_is_no_key(gcp, variant):
    plan = gcp(**variant)
    assert not plan.of_prefix("gcp:kms/") and not plan.by_type(ENCRYPTION)
    assert "cloudkms.googleapis.com" not in {s.inputs["service"] for s in plan.by_type(facts.PROJECT_SERVICE)}
    assert "encryption" not in plan.one(facts.GCS_BUCKET).inputs
    assert "kmsKeyName" not in plan.one(facts.ARTIFACT_REGISTRY).inputs
    for cluster in plan.by_type(facts.GKE_CLUSTER):
        assert "databaseEncryption" not in cluster.inputs
