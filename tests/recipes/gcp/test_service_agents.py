"""GCP service agents granted the --kms key exist before the grant names them.

GCP refuses a grant to a Google service agent (`service-<project number>@...`) that
does not exist yet: 400 "Service account ... does not exist". Artifact Registry's
agent exists only once a repository does (and the repository waits for the grant),
so the program creates it with a `ServiceIdentity` and grants its `member`. The mock
cloud refuses a grant to an agent nothing in the plan created, as GCP does.
"""

from __future__ import annotations

import pulumi_gcp as gcp
import pytest

from provisioner.analysis.mockcloud import FAKE_GCP_PROJECT_NUMBER
from provisioner.analysis.mockcloud.gcp import GcpError
from provisioner.analysis.plan import run_plan
from recipes import build
from recipes.gcp import encryption
from recipes.facts import gcp as gcp_facts
from recipes.facts import gcp as facts

from tests.recipes.gcp.helpers import gcp_spec, grants_by_component

pytestmark = pytest.mark.filterwarnings(r"ignore::DeprecationWarning:pulumi_gcp\..*")


IDENTITY = gcp_facts.PROJECT_SERVICE_IDENTITY
NUMBER = FAKE_GCP_PROJECT_NUMBER
REGISTRY_AGENT = f"service-{NUMBER}@gcp-sa-artifactregistry.iam.gserviceaccount.com"
GKE_AGENT = f"service-{NUMBER}@container-engine-robot.iam.gserviceaccount.com"
KEY = "projects/demo-project/locations/us-central1/keyRings/ring/cryptoKeys/key"
ROLE = "roles/cloudkms.cryptoKeyEncrypterDecrypter"


def refused(program, match: str, **flags) -> GcpError:
    """A plan of `program` that the mock cloud must refuse (the plan runner drops what the
    failed run leaves behind, so the next plan runs clean)."""
    with pytest.raises(GcpError, match=match) as error:
        run_plan(gcp_spec(**flags), program=program)
    return error.value


def grant(name: str, member, **opts):
    import pulumi

    return gcp.kms.CryptoKeyIAMMember(name, crypto_key_id=KEY, role=ROLE, member=member,
                                      opts=pulumi.ResourceOptions(**opts) if opts else None)


# ---------------------------------------------------------------------------
# The program: the registry's agent is created, and the grant depends on it


def test_artifact_registry_agent_is_created_before_its_grant(kms_plan):
    identity = kms_plan.one(IDENTITY)
    assert identity.name == "encryption-registry-identity"
    assert identity.inputs == {"project": "demo-project", "service": "artifactregistry.googleapis.com"}
    assert identity.parent == kms_plan.one("recipes:gcp:Encryption", "encryption").urn
    assert identity.retain_on_delete is False  # deleting an identity is a no-op on GCP
    registry_grant = grants_by_component(kms_plan)["registry"]
    # The grant names the identity's own output: a real dependency, not a guessed address.
    assert identity.urn in registry_grant.dependencies
    assert registry_grant.inputs["member"] == identity.outputs["member"] == f"serviceAccount:{REGISTRY_AGENT}"
    # The repository waits for the grant, so for the agent too.
    assert identity.urn in kms_plan.deps_closure(kms_plan.one(facts.ARTIFACT_REGISTRY))


def test_the_identity_waits_for_the_artifact_registry_api(kms_plan):
    identity = kms_plan.one(IDENTITY)
    api = next(s for s in kms_plan.by_type(facts.PROJECT_SERVICE) if s.inputs["service"] == "artifactregistry.googleapis.com")
    assert api.urn in identity.dependencies


def test_other_agents_come_from_their_lookup_or_their_api(kms_plan):
    grants = grants_by_component(kms_plan)
    # Cloud Storage's: answered (and created) by the project service account lookup; GKE's: by
    # enabling the Kubernetes Engine API, which its grant waits for. No identity for either.
    assert [r.inputs["service"] for r in kms_plan.by_type(IDENTITY)] == ["artifactregistry.googleapis.com"]
    container = next(s for s in kms_plan.by_type(facts.PROJECT_SERVICE) if s.inputs["service"] == "container.googleapis.com")
    assert container.urn in grants["cluster"].dependencies
    assert grants["cluster"].inputs["member"] == f"serviceAccount:{GKE_AGENT}"


@pytest.mark.parametrize("flags,identities", [
    ({}, []),  # no key, no grants, no agents to create
    ({"kms": True, "components": ["bucket"]}, []),
    ({"kms": True, "without": ["cluster", "tracker", "deployer"]}, ["encryption-registry-identity"]),
])
def test_an_identity_only_where_a_registry_grant_needs_it(plans, flags, identities):
    assert [r.name for r in plans(gcp_spec(**flags)).by_type(IDENTITY)] == identities


def test_the_real_program_without_the_identity_is_refused(monkeypatch):
    # What the program did before: the registry agent named by the project number alone.
    monkeypatch.setattr(encryption, "SERVICE_IDENTITIES", {})
    error = refused(build, "does not exist", kms=True)
    assert REGISTRY_AGENT in str(error) and "encryption-registry-agent" in str(error)


# ---------------------------------------------------------------------------
# The mock cloud refuses a grant to an agent nothing created, as GCP does


def test_mock_refuses_a_grant_to_a_never_created_agent():
    def program(spec):
        grant("orphan", f"serviceAccount:{REGISTRY_AGENT}")
        return {}

    error = refused(program, "Service account .* does not exist")
    assert "Error 400" in str(error) and REGISTRY_AGENT in str(error) and "orphan" in str(error)


def test_mock_accepts_the_grant_once_a_service_identity_created_the_agent():
    def program(spec):
        identity = gcp.projects.ServiceIdentity("agent", project="demo-project", service="artifactregistry.googleapis.com")
        grant("granted", identity.member)
        return {}

    plan = run_plan(gcp_spec(), program=program)
    assert plan.one(facts.KMS_CRYPTO_KEY_IAM_MEMBER).inputs["member"] == f"serviceAccount:{REGISTRY_AGENT}"
    assert plan.one(IDENTITY).urn in plan.one(facts.KMS_CRYPTO_KEY_IAM_MEMBER).dependencies


def test_mock_accepts_agents_created_by_their_lookup_or_api():
    def program(spec):
        gcs = gcp.storage.get_project_service_account_output(project="demo-project")
        grant("gcs", gcs.email_address.apply(lambda email: f"serviceAccount:{email}"))
        container = gcp.projects.Service("container", project="demo-project", service="container.googleapis.com")
        grant("gke", f"serviceAccount:{GKE_AGENT}", depends_on=[container])
        return {}

    plan = run_plan(gcp_spec(), program=program)
    assert {g.name for g in plan.by_type(facts.KMS_CRYPTO_KEY_IAM_MEMBER)} == {"gcs", "gke"}


def test_mock_refuses_the_gke_agent_before_its_api_is_enabled():
    def program(spec):
        grant("gke", f"serviceAccount:{GKE_AGENT}")
        return {}

    refused(program, f"{GKE_AGENT} does not exist")


def test_mock_leaves_ordinary_service_accounts_alone():
    def program(spec):
        grant("user-account", "serviceAccount:nodes@demo-project.iam.gserviceaccount.com")
        return {}

    assert run_plan(gcp_spec(), program=program).one(facts.KMS_CRYPTO_KEY_IAM_MEMBER).name == "user-account"


def test_gkes_temporary_default_pool_runs_as_the_node_service_account(plans):
    plan = plans(gcp_spec())
    cluster = plan.one("gcp:container/cluster:Cluster")
    account = plan.one("gcp:serviceaccount/account:Account", "cluster-nodes")
    email = account.outputs.get("email") or f"{account.inputs['accountId']}@demo-project.iam.gserviceaccount.com"
    assert cluster.inputs["removeDefaultNodePool"] is True
    assert cluster.inputs["nodeConfig"]["serviceAccount"] == email  # never the Compute Engine default
    assert cluster.inputs["nodeConfig"]["oauthScopes"] == ["https://www.googleapis.com/auth/cloud-platform"]
    # The account's roles exist before the pool boots; a later change never replaces the cluster.
    roles = [r for r in plan.by_type("gcp:projects/iAMMember:IAMMember") if r.inputs["member"].endswith(email)]
    assert roles and {r.urn for r in roles} <= set(cluster.dependencies)
    assert "nodeConfig" in cluster.ignore_changes  # the rest: test_cluster.py (datapath, network policy)
