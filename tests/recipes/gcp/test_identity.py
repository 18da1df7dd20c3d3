"""IAM on GCP as planned (I1, I2, N2): minimal node roles, workload identity per purpose, no keys."""

from __future__ import annotations

import pytest

from recipes.gcp import roles
from recipes.kubernetes import namespaces
from recipes.facts import gcp as facts
from recipes.facts import any_cloud as k8s_facts

from tests.recipes.gcp.helpers import ACCOUNT_IAM, children_by_type, gcp_spec
from tests.recipes.plans import SERVICE_ACCOUNT

pytestmark = pytest.mark.filterwarnings(r"ignore::DeprecationWarning:pulumi_gcp\..*")


def test_node_service_account_has_exactly_the_minimal_roles(gcp_plan):
    member = "serviceAccount:" + gcp_plan.one(facts.GKE_NODE_POOL).inputs["nodeConfig"]["serviceAccount"]
    project_roles = {g.inputs["role"] for g in gcp_plan.by_type(facts.PROJECT_IAM_MEMBER) if g.inputs["member"] == member}
    assert project_roles == {
        "roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/monitoring.viewer",
        "roles/stackdriver.resourceMetadata.writer",
    }
    # Image pull: on the stack's repository only.
    (pull,) = gcp_plan.by_type(facts.ARTIFACT_REGISTRY_IAM_MEMBER)
    assert pull.inputs["role"] == "roles/artifactregistry.reader"
    assert pull.inputs["member"] == member
    assert pull.inputs["repository"].endswith("/repositories/ml-dev")
    assert pull.inputs["location"] == "us-central1" and pull.inputs["project"] == "demo-project"
    assert gcp_plan.one(facts.ARTIFACT_REGISTRY).urn in pull.dependencies


def test_no_registry_grant_without_a_registry_or_a_cluster(gcp):
    assert gcp(without=["registry"]).by_type(facts.ARTIFACT_REGISTRY_IAM_MEMBER) == []
    assert gcp(without=["cluster", "tracker", "deployer"]).by_type(facts.ARTIFACT_REGISTRY_IAM_MEMBER) == []


@pytest.mark.parametrize("variant", [{}, {"without": ["cluster", "tracker", "deployer"]}, {"without": ["bucket", "tracker"]}])
def test_no_broad_or_admin_roles_anywhere(gcp, variant):
    plan = gcp(**variant)
    # Project-level grants are the node roles, to the node identity, and nothing else.
    for grant in plan.by_type(facts.PROJECT_IAM_MEMBER):
        assert grant.inputs["role"] in roles.NODE_PROJECT_ROLES, grant.inputs["role"]
        assert grant.parent == plan.one("recipes:gcp:Cluster", "cluster").urn
    bound = {r.inputs["role"] for r in plan.resources if r.type.startswith("gcp:") and "role" in r.inputs}
    assert not bound & roles.FORBIDDEN, bound
    assert not any(role.endswith((".admin", "/owner", "/editor")) for role in bound), bound
    # Authoritative bindings/policies would remove other principals' grants: members only.
    assert not [r.type for r in plan.resources if r.type.endswith(("IAMBinding:IAMBinding", "IAMPolicy:IAMPolicy", "IamBinding:IamBinding", "IamPolicy:IamPolicy"))]


IDENTITIES = [
    ("mlflow", "mlflow", namespaces.MLFLOW_NAMESPACE, namespaces.MLFLOW_SERVICE_ACCOUNT),
    ("pipelines", "pipes", namespaces.PIPELINES_NAMESPACE, namespaces.PIPELINES_SERVICE_ACCOUNT),
]


@pytest.mark.parametrize("purpose,part,namespace,service_account", IDENTITIES)
def test_workload_identities_reach_only_this_bucket(gcp_plan, purpose, part, namespace, service_account):
    spec = gcp_spec()
    children = children_by_type(gcp_plan, "recipes:gcp:BucketAccess", f"{purpose}-identity")
    assert {t: len(rs) for t, rs in children.items()} == {facts.SERVICE_ACCOUNT: 1, facts.GCS_BUCKET_IAM_MEMBER: 1, ACCOUNT_IAM: 1}
    (account,), (objects,), (workload,) = children[facts.SERVICE_ACCOUNT], children[facts.GCS_BUCKET_IAM_MEMBER], children[ACCOUNT_IAM]
    assert account.inputs["accountId"] == spec.names.gcp_service_account(part)
    email = f"{account.inputs['accountId']}@demo-project.iam.gserviceaccount.com"

    # I1: object access on the stack's bucket, not a project role.
    assert objects.inputs["bucket"] == spec.names.gcs_bucket()
    assert objects.inputs["role"] == "roles/storage.objectUser"
    assert objects.inputs["member"] == f"serviceAccount:{email}"
    assert "condition" not in objects.inputs

    # Exactly one Kubernetes service account may act as this Google service account.
    assert workload.inputs["serviceAccountId"] == f"projects/demo-project/serviceAccounts/{email}"
    assert workload.inputs["role"] == "roles/iam.workloadIdentityUser"
    assert workload.inputs["member"] == f"serviceAccount:demo-project.svc.id.goog[{namespace}/{service_account}]"


def test_workload_identity_members_are_exactly_mlflow_and_pipelines(gcp_plan):
    members = sorted(r.inputs["member"] for r in gcp_plan.by_type(ACCOUNT_IAM))
    assert members == [
        "serviceAccount:demo-project.svc.id.goog[mlflow/mlflow]",
        "serviceAccount:demo-project.svc.id.goog[zenml/zenml-service-account]",
    ]
    accounts = {r.inputs["accountId"] for r in gcp_plan.by_type(facts.SERVICE_ACCOUNT)}
    assert len(accounts) == 3  # nodes, mlflow, pipelines: one identity per purpose


@pytest.mark.parametrize(
    "sa_resource,purpose,waiter",
    [("tracker-sa", "mlflow", (k8s_facts.DEPLOYMENT, "tracker-server")), ("pipelines-sa", "pipelines", (SERVICE_ACCOUNT, "pipelines-sa"))],
)
def test_kubernetes_service_accounts_name_their_google_service_account(gcp_plan, sa_resource, purpose, waiter):
    account = gcp_plan.one(facts.SERVICE_ACCOUNT, f"{purpose}-identity-sa")
    email = f"{account.inputs['accountId']}@demo-project.iam.gserviceaccount.com"
    ksa = gcp_plan.one(SERVICE_ACCOUNT, sa_resource)
    assert ksa.inputs["metadata"]["annotations"] == {"iam.gke.io/gcp-service-account": email}
    # The pods using it (the KSA itself for ZenML's step pods) start only once the bindings exist.
    bindings = {r.urn for r in gcp_plan.children(gcp_plan.one("recipes:gcp:BucketAccess", f"{purpose}-identity").urn)}
    assert len(bindings) == 3
    assert bindings <= gcp_plan.deps_closure(gcp_plan.one(*waiter))


def test_workload_identity_binding_waits_for_the_cluster(gcp_plan):
    # The pool <project>.svc.id.goog exists only once a cluster with workload identity does:
    # IAM refuses a member naming it before.
    cluster = gcp_plan.one(facts.GKE_CLUSTER).urn
    for binding in gcp_plan.by_type(ACCOUNT_IAM):
        assert cluster in binding.dependencies, binding.name
    for grant in gcp_plan.by_type(facts.GCS_BUCKET_IAM_MEMBER) + gcp_plan.by_type(facts.SERVICE_ACCOUNT):
        assert cluster not in gcp_plan.deps_closure(grant), grant.name


def test_mlflow_uses_workload_identity_and_no_key(gcp_plan):
    deployment = gcp_plan.one(k8s_facts.DEPLOYMENT, "tracker-server")
    (server,) = [c for c in deployment.inputs["spec"]["template"]["spec"]["containers"] if c["name"] == "mlflow"]
    args = server["args"]
    assert args[args.index("--artifacts-destination") + 1] == f"gs://{gcp_spec().names.gcs_bucket()}/mlflow"
    env = {e["name"]: e.get("value") for e in server["env"]}
    assert env["GOOGLE_CLOUD_PROJECT"] == "demo-project"
    assert "GOOGLE_APPLICATION_CREDENTIALS" not in env
    assert not any(v.get("name") == "google-credentials" for v in deployment.inputs["spec"]["template"]["spec"]["volumes"])
    # The image has google-cloud-storage: no module mounted, nothing installed at start
    # (the init containers restore the history and prepare the databases; tests/engine/test_history.py,
    # tests/recipes/kubernetes/test_tracker_pod.py).
    pod = deployment.inputs["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["initContainers"]] == ["fetch-history", "restore-history", "prepare"]
    assert "PYTHONPATH" not in env
    identity = gcp_plan.children(gcp_plan.one("recipes:gcp:BucketAccess", "mlflow-identity").urn)
    assert {r.urn for r in identity} <= set(deployment.dependencies)


@pytest.mark.parametrize("variant", [{}, {"without": ["cluster", "tracker", "deployer"]}, {"network": "public"}])
def test_no_long_lived_keys(gcp, variant):
    types = gcp(**variant).types()
    assert facts.SERVICE_ACCOUNT_KEY not in types  # I2
    assert "gcp:storage/hmacKey:HmacKey" not in types
    assert not any("key" in t.rsplit(":", 1)[-1].lower() for t in types if t.startswith("gcp:")), types
