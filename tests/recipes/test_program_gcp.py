"""The GCP program, as recorded by the offline plan (Pulumi mocks).

Every assertion reads the real inputs the program registered: the same
record `recipe plan` shows. Plans come from the session `plans` cache
(tests/conftest.py), keyed by spec, so each variant is planned once.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest
import yaml

from recipes import outputs
from recipes.gcp import apis as gcp_apis
from recipes.gcp import roles
from recipes.kubernetes import namespaces
from provisioner.analysis.mockcloud import FAKE_GCP_PROJECT_NUMBER
from recipes.spec import Layer, SpecError, StackSpec, load_spec

# pulumi_gcp warns about its own deprecated aliases on import: noise, not ours.
pytestmark = pytest.mark.filterwarnings(r"ignore::DeprecationWarning:pulumi_gcp\..*")

GCP_FLAGS: dict[str, Any] = {"provider": "gcp", "project": "demo-project", "region": "us-central1", "name": "ml-dev"}
ALLOW_CIDRS = ["203.0.113.0/24", "198.51.100.7/32"]
USER_TAGS = {"team": "ml-platform", "cost-center": "4242"}

GCP_PROVIDER = "pulumi:providers:gcp"
SERVICE = "gcp:projects/service:Service"
NETWORK = "gcp:compute/network:Network"
SUBNET = "gcp:compute/subnetwork:Subnetwork"
ROUTER = "gcp:compute/router:Router"
NAT = "gcp:compute/routerNat:RouterNat"
GKE = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
ACCOUNT = "gcp:serviceaccount/account:Account"
ACCOUNT_KEY = "gcp:serviceaccount/key:Key"
ACCOUNT_IAM = "gcp:serviceaccount/iAMMember:IAMMember"
PROJECT_IAM = "gcp:projects/iAMMember:IAMMember"
BUCKET = "gcp:storage/bucket:Bucket"
BUCKET_IAM = "gcp:storage/bucketIAMMember:BucketIAMMember"
REPOSITORY = "gcp:artifactregistry/repository:Repository"
REPOSITORY_IAM = "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember"
K8S_DEPLOYMENT = "kubernetes:apps/v1:Deployment"
K8S_SERVICE = "kubernetes:core/v1:Service"
K8S_SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
RELEASE = "kubernetes:helm.sh/v3:Release"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"

ALL_APIS = {
    "compute.googleapis.com", "container.googleapis.com", "iam.googleapis.com", "iamcredentials.googleapis.com",
    "cloudresourcemanager.googleapis.com", "storage.googleapis.com", "artifactregistry.googleapis.com",
    "containerscanning.googleapis.com",
}


def gcp_spec(**values: Any) -> StackSpec:
    """The default GCP spec, with `values` given as flags on top."""
    return load_spec(Layer("flags", {**GCP_FLAGS, **values}))


@pytest.fixture(scope="module")
def gcp(plans):
    """Plans of GCP variants: `gcp(**flags)`, from the session cache."""
    return lambda **values: plans(gcp_spec(**values))


@pytest.fixture(scope="module")
def gcp_plan(gcp):
    """The default GCP stack: every component, seldon, private network, zonal, no --allow-cidr."""
    return gcp()


@pytest.fixture(scope="module")
def restricted(gcp):
    return gcp(allow_cidrs=ALLOW_CIDRS, tags=USER_TAGS)


def children_by_type(plan, type_: str, name: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for r in plan.children(plan.one(type_, name).urn):
        out.setdefault(r.type, []).append(r)
    return out


def as_map(value: Any) -> dict:
    """Provider inputs are recorded JSON-encoded."""
    return json.loads(value) if isinstance(value, str) else value


def service_urns(plan, *apis: str) -> set[str]:
    return {s.urn for s in plan.by_type(SERVICE) if s.inputs["service"] in apis}


# ---------------------------------------------------------------------------
# APIs


def test_needed_apis_are_enabled_and_never_disabled(gcp_plan):
    services = gcp_plan.by_type(SERVICE)
    assert {s.inputs["service"] for s in services} == ALL_APIS
    assert len(services) == len(ALL_APIS)
    for s in services:
        assert s.inputs["project"] == "demo-project", s.name
        assert s.inputs["disableOnDestroy"] is False, s.name
        assert s.inputs["disableDependentServices"] is False, s.name
        assert s.parent == gcp_plan.one("recipes:gcp:Apis", "apis").urn


@pytest.mark.parametrize(
    "variant,expected",
    [
        ({"without": ["cluster", "tracker", "deployer"]}, {"storage", "artifactregistry", "containerscanning"}),
        ({"components": ["bucket"]}, {"storage"}),
        ({"without": ["bucket", "tracker"]}, ALL_APIS - {"storage.googleapis.com"}),
    ],
    ids=["storage-only", "bucket-only", "no-bucket"],
)
def test_only_the_apis_of_present_components_are_enabled(gcp, variant, expected):
    # A storage-only stack must not turn on Compute Engine (it creates a default network and service account).
    expected = {a if "." in a else f"{a}.googleapis.com" for a in expected}
    assert {s.inputs["service"] for s in gcp(**variant).by_type(SERVICE)} == expected


@pytest.mark.parametrize(
    "type_,apis",
    [
        (NETWORK, ["compute"]), (SUBNET, ["compute"]), (ROUTER, ["compute"]), (NAT, ["compute"]),
        (GKE, ["container", "compute"]), (NODE_POOL, ["container", "compute"]),
        (ACCOUNT, ["iam"]), (PROJECT_IAM, ["cloudresourcemanager"]), (ACCOUNT_IAM, ["iam"]),
        (BUCKET, ["storage"]), (BUCKET_IAM, ["storage"]),
        (REPOSITORY, ["artifactregistry", "containerscanning"]), (REPOSITORY_IAM, ["artifactregistry"]),
    ],
)
def test_resources_wait_for_their_apis(gcp_plan, type_, apis):
    resources = gcp_plan.by_type(type_)
    assert resources, type_
    needed = service_urns(gcp_plan, *(f"{a}.googleapis.com" for a in apis))
    assert len(needed) == len(apis)
    for r in resources:
        assert needed <= gcp_plan.deps_closure(r), r.name


# ---------------------------------------------------------------------------
# Network


def test_custom_mode_vpc_with_a_vpc_native_subnet(gcp_plan):
    network, subnet = gcp_plan.one(NETWORK), gcp_plan.one(SUBNET)
    assert network.inputs["autoCreateSubnetworks"] is False
    assert subnet.inputs["region"] == "us-central1"
    assert subnet.inputs["privateIpGoogleAccess"] is True
    ranges = {r["rangeName"]: r["ipCidrRange"] for r in subnet.inputs["secondaryIpRanges"]}
    assert set(ranges) == {"pods", "services"}
    nets = [ipaddress.ip_network(c) for c in [subnet.inputs["ipCidrRange"], *ranges.values()]]
    assert all(n.is_private for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])
    assert ipaddress.ip_network(ranges["pods"]).prefixlen <= 16  # a /24 per node, hundreds of nodes
    # The cluster is VPC-native in exactly this network and subnet.
    cluster = gcp_plan.one(GKE)
    assert cluster.inputs["networkingMode"] == "VPC_NATIVE"
    assert cluster.inputs["ipAllocationPolicy"] == {"clusterSecondaryRangeName": "pods", "servicesSecondaryRangeName": "services"}
    assert cluster.inputs["network"].endswith(f"/global/networks/{network.inputs['name']}")
    assert cluster.inputs["subnetwork"].endswith(f"/regions/us-central1/subnetworks/{subnet.inputs['name']}")
    assert subnet.inputs["network"] == cluster.inputs["network"]


def test_network_names_are_unique_per_stack(gcp_plan):
    spec = gcp_spec()
    # A VPC is global to the project: the suffix keeps same-named stacks in two regions apart.
    assert gcp_plan.one(NETWORK).inputs["name"] == f"ml-dev-vpc-{spec.names.suffix}"
    assert gcp_plan.one(SUBNET).inputs["name"].startswith("ml-dev-")


def test_private_network_has_a_cloud_nat_for_the_node_subnet(gcp_plan):
    router, nat = gcp_plan.one(ROUTER), gcp_plan.one(NAT)
    assert router.inputs["region"] == nat.inputs["region"] == "us-central1"
    assert router.inputs["network"] == gcp_plan.one(GKE).inputs["network"]
    assert nat.inputs["router"] == router.inputs["name"]
    # Its address is reserved (a fixed address --allow-cidr admits): see test_internal_sources.
    address = gcp_plan.one("gcp:compute/address:Address")
    assert nat.inputs["natIpAllocateOption"] == "MANUAL_ONLY"
    assert nat.inputs["natIps"] == [address.outputs["selfLink"]]
    assert address.inputs["region"] == "us-central1" and address.inputs["addressType"] == "EXTERNAL"
    assert nat.inputs["sourceSubnetworkIpRangesToNat"] == "LIST_OF_SUBNETWORKS"
    (subnetwork,) = nat.inputs["subnetworks"]
    assert subnetwork["name"] == gcp_plan.one(GKE).inputs["subnetwork"]
    assert subnetwork["sourceIpRangesToNats"] == ["ALL_IP_RANGES"]  # pods too, not only nodes


def test_private_nodes_by_default(gcp_plan):
    config = gcp_plan.one(GKE).inputs["privateClusterConfig"]
    assert config["enablePrivateNodes"] is True
    # The control plane keeps a public endpoint (restricted with --allow-cidr): `recipe` reaches it.
    assert config["enablePrivateEndpoint"] is False


def test_public_network_has_no_nat_and_public_nodes(gcp):
    plan = gcp(network="public")
    assert plan.by_type(ROUTER) == [] and plan.by_type(NAT) == [] and plan.by_type("gcp:compute/address:Address") == []
    plan.one(NETWORK)
    plan.one(SUBNET)
    # Nodes get public IPs: the provider recommends omitting the block entirely.
    assert "privateClusterConfig" not in plan.one(GKE).inputs


@pytest.mark.parametrize("network", ["private", "public"])
def test_nodes_start_after_their_route_out(gcp, network):
    plan = gcp(network=network)
    closure = plan.deps_closure(plan.one(NODE_POOL))
    assert {plan.one(SUBNET).urn, plan.one(NETWORK).urn} <= closure
    assert {r.urn for r in plan.by_type(ROUTER) + plan.by_type(NAT)} <= closure
    assert len(plan.by_type(NAT)) == (1 if network == "private" else 0)


def test_load_balancers_are_destroyed_before_the_network(gcp_plan):
    # Destroy runs in reverse dependency order: a LoadBalancer Service must (transitively) depend on
    # the network, subnet, router and NAT, or GKE's forwarding rules and firewall rules would still
    # use the network when Pulumi deletes it.
    network = {r.urn for r in gcp_plan.by_type(NETWORK) + gcp_plan.by_type(SUBNET) + gcp_plan.by_type(ROUTER) + gcp_plan.by_type(NAT)}
    assert len(network) == 4
    services = [s for s in gcp_plan.by_type(K8S_SERVICE) if s.inputs["spec"].get("type") == "LoadBalancer"]
    assert {s.name for s in services} == {"deployer-ingress-lb"}  # the tracker shares it
    for service in services:
        missing = network - gcp_plan.deps_closure(service)
        assert not missing, f"{service.name} does not wait for {sorted(m.rsplit('::', 1)[-1] for m in missing)}"


# ---------------------------------------------------------------------------
# Cluster


def test_cluster_is_zonal_by_default(gcp_plan):
    spec = gcp_spec()
    cluster, pool = gcp_plan.one(GKE), gcp_plan.one(NODE_POOL)
    assert cluster.inputs["name"] == spec.names.gke_cluster() == "ml-dev"
    assert cluster.inputs["location"] == spec.zone == "us-central1-b"
    assert pool.inputs["location"] == "us-central1-b"
    assert pool.inputs["cluster"] == "ml-dev"


def test_cluster_in_the_chosen_zone(gcp):
    plan = gcp(zone="us-central1-f")
    assert plan.one(GKE).inputs["location"] == "us-central1-f"
    assert plan.one(NODE_POOL).inputs["location"] == "us-central1-f"


def test_regional_cluster_on_request(gcp):
    plan = gcp(regional=True, min_nodes=1, max_nodes=2)
    assert plan.one(GKE).inputs["location"] == "us-central1"
    pool = plan.one(NODE_POOL)
    assert pool.inputs["location"] == "us-central1"
    # Counts are per zone on a regional pool: the spec's bounds apply to every zone.
    assert pool.inputs["autoscaling"] == {"minNodeCount": 1, "maxNodeCount": 2}
    assert "nodeLocations" not in pool.inputs


def test_cluster_baseline(gcp_plan):
    inputs = gcp_plan.one(GKE).inputs
    assert inputs["deletionProtection"] is False  # `recipe destroy` works; data is retained elsewhere
    assert inputs["removeDefaultNodePool"] is True and inputs["initialNodeCount"] == 1
    assert inputs["releaseChannel"] == {"channel": "REGULAR"}  # C6
    assert inputs["workloadIdentityConfig"] == {"workloadPool": "demo-project.svc.id.goog"}  # C5
    assert {"SYSTEM_COMPONENTS", "WORKLOADS"} <= set(inputs["loggingConfig"]["enableComponents"])  # C2
    assert "SYSTEM_COMPONENTS" in inputs["monitoringConfig"]["enableComponents"]
    assert inputs["enableLegacyAbac"] is False  # C4
    assert inputs["masterAuth"]["clientCertificateConfig"] == {"issueClientCertificate": False}
    assert "username" not in inputs["masterAuth"] and "password" not in inputs["masterAuth"]
    assert inputs["enableShieldedNodes"] is True  # N3
    assert inputs["addonsConfig"]["gcePersistentDiskCsiDriverConfig"] == {"enabled": True}
    assert "minMasterVersion" not in inputs  # the release channel's default
    assert "databaseEncryption" not in inputs  # C3 is an option (KMS costs)
    assert "nodePools" not in inputs and inputs["removeDefaultNodePool"] is True  # our own node pool only
    # (its nodeConfig is the temporary default pool's: tests/recipes/test_gcp_service_agents.py)


def test_cluster_endpoint_open_without_allow_cidr(gcp_plan):
    assert "masterAuthorizedNetworksConfig" not in gcp_plan.one(GKE).inputs


def test_cluster_endpoint_restricted_to_allow_cidrs(restricted):
    config = restricted.one(GKE).inputs["masterAuthorizedNetworksConfig"]
    assert [b["cidrBlock"] for b in config["cidrBlocks"]] == ALLOW_CIDRS
    assert all(b["displayName"] for b in config["cidrBlocks"])
    assert config["gcpPublicCidrsAccessEnabled"] is False


def test_kubernetes_version_pins_the_control_plane(gcp):
    assert gcp(kubernetes_version="1.33").one(GKE).inputs["minMasterVersion"] == "1.33"


@pytest.mark.parametrize("flags", [{}, {"kubernetes_version": "1.33"}], ids=["cloud-default", "pinned"])
def test_release_channel_never_moves_the_minor_version(gcp, flags):
    """The channel patches the cluster; a new minor (which the pinned charts may not support)
    arrives only when the stack asks for it, pinned or not."""
    plan = gcp(**flags)
    cluster = plan.one(GKE)
    policy = cluster.inputs["maintenancePolicy"]
    [exclusion] = policy["maintenanceExclusions"]
    assert exclusion["exclusionOptions"] == {"scope": "NO_MINOR_UPGRADES", "endTimeBehavior": "UNTIL_END_OF_SUPPORT"}
    assert "endTime" not in exclusion  # GKE takes exactly one of the two
    # It starts when the stack was first deployed, a time recorded once and kept: the
    # cluster never changes on a redeploy because the clock moved.
    [since] = [r for r in plan.resources if r.type == "time:index/static:Static"]
    assert since.parent == cluster.parent and since.urn in cluster.dependencies
    assert exclusion["startTime"] == since.outputs["rfc3339"]
    assert policy["dailyMaintenanceWindow"] == {"startTime": "03:00"}


@pytest.mark.parametrize("policy, error", [
    ({"maintenanceExclusions": [{"exclusionName": "x", "startTime": "2026-01-01T00:00:00Z",
                                 "exclusionOptions": {"scope": "NO_MINOR_UPGRADES"}}],
      "dailyMaintenanceWindow": {"startTime": "03:00"}}, "exactly one of end_time"),
    ({"maintenanceExclusions": [{"exclusionName": "x", "startTime": "2026-01-01T00:00:00Z", "endTime": "2026-02-01T00:00:00Z"}]},
     "daily_maintenance_window, recurring_window"),
], ids=["no-end", "no-window"])
def test_mock_gke_rejects_what_gke_rejects(policy, error):
    from provisioner.analysis.mockcloud import gcp as mock_gcp

    with pytest.raises(mock_gcp.GcpError, match=error):
        mock_gcp._check_maintenance("c", {"maintenancePolicy": policy, "releaseChannel": {"channel": "REGULAR"}})


# ---------------------------------------------------------------------------
# Node pool


def test_node_pool_default_size(gcp_plan):
    pool = gcp_plan.one(NODE_POOL)
    assert pool.inputs["nodeConfig"]["machineType"] == "e2-standard-2"
    assert pool.inputs["autoscaling"] == {"minNodeCount": 1, "maxNodeCount": 3}
    assert pool.inputs["initialNodeCount"] == 1
    assert "nodeCount" not in pool.inputs  # the autoscaler owns the size
    assert "initialNodeCount" in pool.ignore_changes
    # No fixed name: a replacement (new machine type) is created before the old pool goes.
    assert "name" not in pool.inputs and "namePrefix" not in pool.inputs


def test_node_pool_custom_size(gcp):
    pool = gcp(node_type="n2-standard-4", min_nodes=2, max_nodes=5).one(NODE_POOL)
    assert pool.inputs["nodeConfig"]["machineType"] == "n2-standard-4"
    assert pool.inputs["autoscaling"] == {"minNodeCount": 2, "maxNodeCount": 5}
    assert pool.inputs["initialNodeCount"] == 2
    assert "initialNodeCount" in pool.ignore_changes


def test_node_pool_is_hardened(gcp_plan):
    pool = gcp_plan.one(NODE_POOL)
    assert pool.inputs["management"] == {"autoRepair": True, "autoUpgrade": True}  # N3
    config = pool.inputs["nodeConfig"]
    assert config["imageType"] == "COS_CONTAINERD"
    assert config["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}
    assert config["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}  # C5: pods never see the node identity
    assert config["metadata"] == {"disable-legacy-endpoints": "true"}
    assert config["oauthScopes"] == ["https://www.googleapis.com/auth/cloud-platform"]  # IAM decides
    assert config["diskSizeGb"] >= 30 and config["diskType"] == "pd-balanced"
    assert config["labels"] == {"recipe-stack": "ml-dev"}
    assert "tags" not in config  # no network tags: no firewall rule opens SSH to the nodes


def test_node_pool_runs_as_its_dedicated_service_account(gcp_plan):
    spec = gcp_spec()
    account = gcp_plan.one(ACCOUNT, "cluster-nodes")
    assert account.inputs["accountId"] == spec.names.gcp_service_account("nodes")
    email = f"{account.inputs['accountId']}@demo-project.iam.gserviceaccount.com"
    pool = gcp_plan.one(NODE_POOL)
    assert pool.inputs["nodeConfig"]["serviceAccount"] == email  # N2: not the Compute Engine default (Editor)
    assert account.urn in pool.dependencies


def test_node_vms_carry_the_stack_labels(restricted):
    labels = restricted.one(NODE_POOL).inputs["nodeConfig"]["resourceLabels"]
    assert labels["recipe-stack"] == "ml-dev" and labels["managed-by"] == "stack-recipes"
    assert USER_TAGS.items() <= labels.items()


def test_node_pool_waits_for_its_roles(gcp_plan):
    pool = gcp_plan.one(NODE_POOL)
    grants = gcp_plan.by_type(PROJECT_IAM)
    assert len(grants) == len(roles.NODE_PROJECT_ROLES)
    assert {g.urn for g in grants} <= set(pool.dependencies)


# ---------------------------------------------------------------------------
# IAM


def test_node_service_account_has_exactly_the_minimal_roles(gcp_plan):
    member = "serviceAccount:" + gcp_plan.one(NODE_POOL).inputs["nodeConfig"]["serviceAccount"]
    project_roles = {g.inputs["role"] for g in gcp_plan.by_type(PROJECT_IAM) if g.inputs["member"] == member}
    assert project_roles == {
        "roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/monitoring.viewer",
        "roles/stackdriver.resourceMetadata.writer",
    }
    # Image pull: on the stack's repository only.
    (pull,) = gcp_plan.by_type(REPOSITORY_IAM)
    assert pull.inputs["role"] == "roles/artifactregistry.reader"
    assert pull.inputs["member"] == member
    assert pull.inputs["repository"].endswith("/repositories/ml-dev")
    assert pull.inputs["location"] == "us-central1" and pull.inputs["project"] == "demo-project"
    assert gcp_plan.one(REPOSITORY).urn in pull.dependencies


def test_no_registry_grant_without_a_registry_or_a_cluster(gcp):
    assert gcp(without=["registry"]).by_type(REPOSITORY_IAM) == []
    assert gcp(without=["cluster", "tracker", "deployer"]).by_type(REPOSITORY_IAM) == []


@pytest.mark.parametrize("variant", [{}, {"without": ["cluster", "tracker", "deployer"]}, {"without": ["bucket", "tracker"]}])
def test_no_broad_or_admin_roles_anywhere(gcp, variant):
    plan = gcp(**variant)
    # Project-level grants are the node roles, to the node identity, and nothing else.
    for grant in plan.by_type(PROJECT_IAM):
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
    assert {t: len(rs) for t, rs in children.items()} == {ACCOUNT: 1, BUCKET_IAM: 1, ACCOUNT_IAM: 1}
    (account,), (objects,), (workload,) = children[ACCOUNT], children[BUCKET_IAM], children[ACCOUNT_IAM]
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
    accounts = {r.inputs["accountId"] for r in gcp_plan.by_type(ACCOUNT)}
    assert len(accounts) == 3  # nodes, mlflow, pipelines: one identity per purpose


@pytest.mark.parametrize(
    "sa_resource,purpose,waiter",
    [("tracker-sa", "mlflow", (K8S_DEPLOYMENT, "tracker-server")), ("pipelines-sa", "pipelines", (K8S_SERVICE_ACCOUNT, "pipelines-sa"))],
)
def test_kubernetes_service_accounts_name_their_google_service_account(gcp_plan, sa_resource, purpose, waiter):
    account = gcp_plan.one(ACCOUNT, f"{purpose}-identity-sa")
    email = f"{account.inputs['accountId']}@demo-project.iam.gserviceaccount.com"
    ksa = gcp_plan.one(K8S_SERVICE_ACCOUNT, sa_resource)
    assert ksa.inputs["metadata"]["annotations"] == {"iam.gke.io/gcp-service-account": email}
    # The pods using it (the KSA itself for ZenML's step pods) start only once the bindings exist.
    bindings = {r.urn for r in gcp_plan.children(gcp_plan.one("recipes:gcp:BucketAccess", f"{purpose}-identity").urn)}
    assert len(bindings) == 3
    assert bindings <= gcp_plan.deps_closure(gcp_plan.one(*waiter))


def test_workload_identity_binding_waits_for_the_cluster(gcp_plan):
    # The pool <project>.svc.id.goog exists only once a cluster with workload identity does:
    # IAM refuses a member naming it before.
    cluster = gcp_plan.one(GKE).urn
    for binding in gcp_plan.by_type(ACCOUNT_IAM):
        assert cluster in binding.dependencies, binding.name
    for grant in gcp_plan.by_type(BUCKET_IAM) + gcp_plan.by_type(ACCOUNT):
        assert cluster not in gcp_plan.deps_closure(grant), grant.name


def test_mlflow_uses_workload_identity_and_no_key(gcp_plan):
    deployment = gcp_plan.one(K8S_DEPLOYMENT, "tracker-server")
    (server,) = [c for c in deployment.inputs["spec"]["template"]["spec"]["containers"] if c["name"] == "mlflow"]
    args = server["args"]
    assert args[args.index("--artifacts-destination") + 1] == f"gs://{gcp_spec().names.gcs_bucket()}/mlflow"
    env = {e["name"]: e.get("value") for e in server["env"]}
    assert env["GOOGLE_CLOUD_PROJECT"] == "demo-project"
    assert "GOOGLE_APPLICATION_CREDENTIALS" not in env
    assert not any(v.get("name") == "google-credentials" for v in deployment.inputs["spec"]["template"]["spec"]["volumes"])
    # The image has google-cloud-storage: no module mounted, nothing installed at start
    # (the init containers restore the history and prepare the databases; tests/engine/test_history.py,
    # tests/recipes/test_tracker_pod.py).
    pod = deployment.inputs["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["initContainers"]] == ["fetch-history", "restore-history", "prepare"]
    assert "PYTHONPATH" not in env
    identity = gcp_plan.children(gcp_plan.one("recipes:gcp:BucketAccess", "mlflow-identity").urn)
    assert {r.urn for r in identity} <= set(deployment.dependencies)


@pytest.mark.parametrize("variant", [{}, {"without": ["cluster", "tracker", "deployer"]}, {"network": "public"}])
def test_no_long_lived_keys(gcp, variant):
    types = gcp(**variant).types()
    assert ACCOUNT_KEY not in types  # I2
    assert "gcp:storage/hmacKey:HmacKey" not in types
    assert not any("key" in t.rsplit(":", 1)[-1].lower() for t in types if t.startswith("gcp:")), types


# ---------------------------------------------------------------------------
# Bucket


def test_bucket_is_private_uniform_and_versioned(gcp_plan):
    bucket = gcp_plan.one(BUCKET)
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
    bucket = gcp_plan.one(BUCKET)
    assert bucket.retain_on_delete is True  # D1
    assert bucket.inputs["forceDestroy"] is False


def test_delete_data_releases_the_bucket_and_the_registry(plans):
    plan = plans(gcp_spec().with_changes(delete_data=True))
    bucket, repository = plan.one(BUCKET), plan.one(REPOSITORY)
    assert bucket.retain_on_delete is False and bucket.inputs["forceDestroy"] is True
    assert repository.retain_on_delete is False
    assert not [r.name for r in plan.resources if r.retain_on_delete]


def test_only_data_resources_are_retained(gcp_plan):
    assert {(r.type, r.name) for r in gcp_plan.resources if r.retain_on_delete} == {(BUCKET, "bucket"), (REPOSITORY, "registry")}


# ---------------------------------------------------------------------------
# StackRecords


def test_registry_is_a_docker_repository_with_a_cleanup_policy(gcp_plan):
    repository = gcp_plan.one(REPOSITORY)
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
    assert gcp_plan.one(REPOSITORY).inputs["dockerConfig"] == {"immutableTags": False}
    assert gcp(immutable_tags=True).one(REPOSITORY).inputs["dockerConfig"] == {"immutableTags": True}


def test_registry_uri_is_the_repository_path(gcp_plan):
    uri = gcp_plan.raw_outputs["registry"]["uri"]
    # ZenML pushes `<uri>/zenml:<tag>`: region host, project, repository, no trailing slash.
    assert uri == "us-central1-docker.pkg.dev/demo-project/ml-dev"


# ---------------------------------------------------------------------------
# Provider and labels


def test_gcp_provider_project_region_and_default_labels(restricted):
    provider = restricted.one(GCP_PROVIDER, "gcp")
    assert provider.inputs["project"] == "demo-project"
    assert provider.inputs["region"] == "us-central1"
    labels = as_map(provider.inputs["defaultLabels"])
    assert labels["recipe-stack"] == "ml-dev"
    assert labels["managed-by"] == "stack-recipes"
    assert USER_TAGS.items() <= labels.items()
    # GCP label rules: lowercase keys and values, letters, digits, - and _.
    for key, value in labels.items():
        assert key == key.lower() and len(key) <= 63 and value == value.lower() and len(value) <= 63


@pytest.mark.parametrize("variant", [{}, {"without": ["cluster", "tracker", "deployer"]}, {"network": "public"}, {"regional": True}])
def test_every_gcp_resource_uses_the_stack_provider(gcp, helpers, variant):
    plan = gcp(**variant)
    assert len(plan.by_type(GCP_PROVIDER)) == 1
    provider = plan.one(GCP_PROVIDER, "gcp")
    resources = plan.custom("gcp:")
    assert resources
    for r in resources:
        assert r.provider is not None, r.name
        assert helpers.provider_urn(r.provider) == provider.urn, r.name
    # Nothing in the program sets its own project: the provider's is the only one.
    assert {r.inputs["project"] for r in resources if "project" in r.inputs} <= {"demo-project"}


def test_kubernetes_objects_carry_the_stack_label_and_use_the_cluster_provider(gcp_plan, helpers):
    k8s_provider = gcp_plan.one("pulumi:providers:kubernetes")
    objects = [r for r in gcp_plan.custom("kubernetes:") if "metadata" in r.inputs]
    assert len(objects) > 15
    for r in gcp_plan.custom("kubernetes:"):
        assert helpers.provider_urn(r.provider) == k8s_provider.urn, r.name
    for r in objects:
        assert (r.inputs["metadata"].get("labels") or {}).get("recipe-stack") == "ml-dev", f"{r.type} {r.name}"
    assert "kubeconfig" in k8s_provider.secret_inputs


# ---------------------------------------------------------------------------
# Kubeconfig and secrets


def test_kubeconfig_is_secret_and_uses_the_gke_auth_plugin(gcp_plan):
    assert "cluster.kubeconfig" in gcp_plan.secret_outputs
    assert gcp_plan.outputs["cluster"]["kubeconfig"] == outputs.MASK
    raw = gcp_plan.raw_outputs["cluster"]["kubeconfig"]
    assert raw not in gcp_plan.inputs_json()
    config = yaml.safe_load(raw)
    context = gcp_plan.raw_outputs["cluster"]["context"]
    assert context == "recipe-ml-dev"
    assert config["current-context"] == context
    assert [c["name"] for c in config["contexts"]] == [context]
    endpoint = gcp_plan.raw_outputs["cluster"]["endpoint"]
    assert endpoint.startswith("https://") and ipaddress.ip_address(endpoint.removeprefix("https://"))
    (cluster,) = config["clusters"]
    assert cluster["cluster"]["server"] == endpoint
    assert cluster["cluster"]["certificate-authority-data"]  # the cluster's CA, read back from GKE
    (user,) = config["users"]
    assert set(user["user"]) == {"exec"}  # no token, password, client certificate or key
    assert user["user"]["exec"]["command"] == "gke-gcloud-auth-plugin"
    # Application default credentials, like the deploy's GCP provider (tests/recipes/test_team_access.py).
    assert user["user"]["exec"]["args"] == ["--use_application_default_credentials"]
    for forbidden in ("client-key-data", "client-certificate-data", "password:", "token:"):
        assert forbidden not in raw, forbidden
    assert gcp_plan.raw_outputs["cluster"]["name"] == "ml-dev"


def test_tracker_password_is_secret_and_never_recorded(gcp_plan):
    assert "tracker.password" in gcp_plan.secret_outputs
    assert gcp_plan.outputs["tracker"]["password"] == outputs.MASK
    password = gcp_plan.raw_outputs["tracker"]["password"]
    assert len(password) >= 24
    assert password not in json.dumps(gcp_plan.outputs)
    assert password not in gcp_plan.inputs_json()
    assert "postgresql://" not in gcp_plan.inputs_json()


# ---------------------------------------------------------------------------
# Shared workloads on GKE


def test_workloads_use_gke_storage_and_load_balancers(restricted):
    claim = restricted.one(PVC, "tracker-db-data")
    assert claim.inputs["spec"]["storageClassName"] == "standard-rwo"  # GKE's own class: nothing to install
    assert not restricted.by_type("kubernetes:storage.k8s.io/v1:StorageClass")
    for name in ("deployer-ingress-lb",):
        service = restricted.one(K8S_SERVICE, name)
        assert service.inputs["spec"]["type"] == "LoadBalancer"
        # --allow-cidr first, then the stack's own nodes, pods and NAT address (test_internal_sources).
        assert service.inputs["spec"]["loadBalancerSourceRanges"][: len(ALLOW_CIDRS)] == ALLOW_CIDRS, name
        assert not service.inputs["metadata"].get("annotations"), name  # GKE's default external load balancer
    # Addresses are IPs on GCP.
    for url in (restricted.raw_outputs["tracker"]["uri"].removesuffix(":5000"), restricted.raw_outputs["deployer"]["base_url"]):
        assert ipaddress.ip_address(url.removeprefix("http://"))


def test_gke_needs_no_cluster_autoscaler_release(gcp_plan):
    # The node pool's autoscaling bounds are acted on by GKE itself.
    releases = {r.name for r in gcp_plan.by_type(RELEASE)}
    assert "cluster-autoscaler" not in releases
    assert releases == {"istio-base", "istiod", "istio-ingressgateway", "seldon-core"}


# ---------------------------------------------------------------------------
# Switches


def removed_and_added(default, plan):
    return default.keys() - plan.keys(), plan.keys() - default.keys()


def subtree_keys(plan, type_, name):
    return {(r.type, r.name) for r in plan.subtree(plan.one(type_, name))}


def api_keys(*apis: str) -> set[tuple[str, str]]:
    return {(SERVICE, f"apis-{gcp_apis.short_name(api)}") for api in apis}


# Without the deployer's ingress, the tracker trades its route through it for its own load balancer.
TRACKER_FRONT_DOOR = {
    ("kubernetes:core/v1:Service", "tracker-svc"),
    ("kubernetes:networking.istio.io/v1beta1:Gateway", "tracker-gateway"),
    ("kubernetes:networking.istio.io/v1beta1:VirtualService", "tracker-route"),
}
TRACKER_OWN_LB = {("kubernetes:core/v1:Service", "tracker-lb")}


def test_without_deployer_removes_exactly_the_deployer(gcp_plan, gcp):
    plan = gcp(without=["deployer"])
    removed, added = removed_and_added(gcp_plan, plan)
    assert added == TRACKER_OWN_LB
    expected = subtree_keys(gcp_plan, "recipes:kubernetes:ModelDeployer", "deployer")
    assert ("recipes:kubernetes:IstioIngress", "deployer-ingress") in expected
    assert removed == expected | TRACKER_FRONT_DOOR
    assert "deployer" not in plan.raw_outputs
    assert {k for k in gcp_plan.raw_outputs if k != "deployer"} == set(plan.raw_outputs)


def test_without_tracker_removes_mlflow_its_database_and_identity(gcp_plan, gcp):
    plan = gcp(without=["tracker"])
    removed, added = removed_and_added(gcp_plan, plan)
    assert added == set()
    tracker = subtree_keys(gcp_plan, "recipes:kubernetes:MlflowServer", "tracker")
    assert ("recipes:kubernetes:Postgres", "tracker-db") in tracker
    identity = subtree_keys(gcp_plan, "recipes:gcp:BucketAccess", "mlflow-identity")
    assert removed == tracker | identity
    assert "tracker" not in plan.raw_outputs
    plan.one(BUCKET)
    plan.one(GKE)
    assert [r.inputs["member"] for r in plan.by_type(ACCOUNT_IAM)] == [
        "serviceAccount:demo-project.svc.id.goog[zenml/zenml-service-account]"
    ]


def test_without_registry_removes_the_repository_its_grant_and_its_apis(gcp_plan, gcp):
    plan = gcp(without=["registry"])
    removed, added = removed_and_added(gcp_plan, plan)
    assert added == set()
    assert removed == subtree_keys(gcp_plan, "recipes:gcp:Registry", "registry") | api_keys(*gcp_apis.APIS_BY_COMPONENT["registry"])
    assert {t for t, _ in removed} == {"recipes:gcp:Registry", REPOSITORY, REPOSITORY_IAM, SERVICE}
    assert "registry" not in plan.raw_outputs


def test_storage_only_stack(gcp):
    plan = gcp(without=["cluster", "tracker", "deployer"])
    allowed = (
        subtree_keys(plan, "recipes:gcp:Bucket", "bucket")
        | subtree_keys(plan, "recipes:gcp:Registry", "registry")
        | subtree_keys(plan, "recipes:gcp:Apis", "apis")
    )
    assert plan.keys() - allowed == {(GCP_PROVIDER, "gcp")}
    assert {t for t, _ in plan.keys()} == {GCP_PROVIDER, "recipes:gcp:Apis", SERVICE, "recipes:gcp:Bucket", BUCKET, "recipes:gcp:Registry", REPOSITORY}
    assert not plan.of_prefix("kubernetes:") and not plan.of_prefix("pulumi:providers:kubernetes")
    assert not plan.of_prefix("gcp:container") and not plan.of_prefix("gcp:compute")
    assert not plan.of_prefix("gcp:serviceaccount") and not plan.of_prefix("gcp:projects/iAMMember")
    assert set(outputs.components(plan.raw_outputs)) == {"bucket", "registry"}


def test_without_bucket_keeps_the_cluster_but_no_identities(gcp_plan, gcp):
    plan = gcp(without=["bucket", "tracker"])
    removed, added = removed_and_added(gcp_plan, plan)
    assert added == set()
    expected = (
        subtree_keys(gcp_plan, "recipes:gcp:Bucket", "bucket")
        | subtree_keys(gcp_plan, "recipes:gcp:BucketAccess", "mlflow-identity")
        | subtree_keys(gcp_plan, "recipes:gcp:BucketAccess", "pipelines-identity")
        | subtree_keys(gcp_plan, "recipes:kubernetes:MlflowServer", "tracker")
        | api_keys("storage.googleapis.com")
    )
    assert removed == expected
    assert plan.by_type(ACCOUNT_IAM) == [] and plan.by_type(BUCKET_IAM) == []
    assert [a.name for a in plan.by_type(ACCOUNT)] == ["cluster-nodes"]
    assert not plan.one(K8S_SERVICE_ACCOUNT, "pipelines-sa").inputs["metadata"].get("annotations")
    plan.one(GKE)
    plan.one(NODE_POOL)
    assert set(outputs.components(plan.raw_outputs)) == {"cluster", "registry", "deployer"}


VARIANTS = [
    ({}, {"cluster", "bucket", "registry", "tracker", "deployer"}),
    ({"deployer": "kserve", "network": "public"}, {"cluster", "bucket", "registry", "tracker", "deployer"}),
    ({"regional": True}, {"cluster", "bucket", "registry", "tracker", "deployer"}),
    ({"without": ["deployer"]}, {"cluster", "bucket", "registry", "tracker"}),
    ({"without": ["tracker"]}, {"cluster", "bucket", "registry", "deployer"}),
    ({"without": ["registry"]}, {"cluster", "bucket", "tracker", "deployer"}),
    ({"without": ["cluster", "tracker", "deployer"]}, {"bucket", "registry"}),
    ({"without": ["bucket", "tracker"]}, {"cluster", "registry", "deployer"}),
    ({"components": ["bucket"]}, {"bucket"}),
]


@pytest.mark.parametrize("variant,present", VARIANTS, ids=lambda v: json.dumps(v) if isinstance(v, dict) else None)
def test_canonical_outputs_complete_for_every_variant(gcp, variant, present):
    plan = gcp(**variant)
    clean = outputs.validate(plan.raw_outputs)
    assert set(outputs.components(clean)) == present
    assert (clean["provider"], clean["region"], clean["stack_name"]) == ("gcp", "us-central1", "ml-dev")
    if "bucket" in present:
        assert clean["bucket"]["uri"] == f"gs://{clean['bucket']['name']}" and "account" not in clean["bucket"]
    if "cluster" in present:
        assert clean["cluster"]["endpoint"].startswith("https://")
    expected_secrets = {p for p in ("cluster.kubeconfig", "tracker.password") if p.split(".")[0] in present}
    assert set(plan.secret_outputs) == expected_secrets
    for path in expected_secrets:
        component_, field = path.split(".")
        assert plan.outputs[component_][field] == outputs.MASK


# ---------------------------------------------------------------------------
# Dependencies that decide the order of create and destroy


def test_workloads_wait_for_the_node_pool(gcp_plan):
    pool = gcp_plan.one(NODE_POOL).urn
    for name in ("tracker-server", "tracker-db"):
        assert pool in gcp_plan.one(K8S_DEPLOYMENT, name).dependencies, name
    assert pool in gcp_plan.one(PVC, "tracker-db-data").dependencies
    for release in gcp_plan.by_type(RELEASE):
        assert pool in release.dependencies, release.name


def test_kserve_releases_wait_for_the_node_pool(gcp):
    plan = gcp(deployer="kserve")
    pool = plan.one(NODE_POOL).urn
    releases = plan.by_type(RELEASE)
    assert {r.name for r in releases} == {"istio-base", "istiod", "istio-ingressgateway", "cert-manager", "kserve-crd", "kserve"}
    for release in releases:
        assert pool in release.dependencies, release.name


def test_data_resources_do_not_depend_on_the_cluster(gcp_plan):
    cluster_urns = {r.urn for r in gcp_plan.resources if r.type.startswith(("gcp:container", "gcp:compute", "recipes:gcp:Cluster", "recipes:gcp:Network", "pulumi:providers:kubernetes"))}
    assert len(cluster_urns) >= 8
    data = [r for r in gcp_plan.subtree(gcp_plan.one("recipes:gcp:Bucket", "bucket")) if r.custom]
    data += [r for r in gcp_plan.subtree(gcp_plan.one("recipes:gcp:Registry", "registry")) if r.custom]
    data += gcp_plan.by_type(BUCKET_IAM) + [a for a in gcp_plan.by_type(ACCOUNT) if a.name.endswith("-identity-sa")]
    assert {r.type for r in data} == {BUCKET, REPOSITORY, REPOSITORY_IAM, BUCKET_IAM, ACCOUNT}
    for r in data:
        assert not gcp_plan.deps_closure(r) & cluster_urns, r.name


# ---------------------------------------------------------------------------
# --kms: one customer-managed key per stack (B3, C3), kept as long as the data

KEY_RING = "gcp:kms/keyRing:KeyRing"
CRYPTO_KEY = "gcp:kms/cryptoKey:CryptoKey"
KEY_IAM = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
ENCRYPTION = "recipes:gcp:Encryption"
ENCRYPTER_DECRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
NUMBER = FAKE_GCP_PROJECT_NUMBER
AGENTS = {
    "bucket": f"serviceAccount:service-{NUMBER}@gs-project-accounts.iam.gserviceaccount.com",
    "registry": f"serviceAccount:service-{NUMBER}@gcp-sa-artifactregistry.iam.gserviceaccount.com",
    "cluster": f"serviceAccount:service-{NUMBER}@container-engine-robot.iam.gserviceaccount.com",
}
STORAGE_ONLY = {"without": ["cluster", "tracker", "deployer"]}


@pytest.fixture(scope="module")
def kms_plan(gcp):
    return gcp(kms=True)


@pytest.fixture(scope="module")
def kms_delete_data(plans):
    return plans(gcp_spec(kms=True).with_changes(delete_data=True))


def key_id(plan) -> str:
    key = plan.one(CRYPTO_KEY)
    return f"{key.inputs['keyRing']}/cryptoKeys/{key.inputs['name']}"


def grants_by_component(plan) -> dict[str, Any]:
    return {g.name.removeprefix("encryption-").removesuffix("-agent"): g for g in plan.by_type(KEY_IAM)}


def test_kms_enables_the_cloudkms_api_and_never_disables_it(kms_plan):
    services = kms_plan.by_type(SERVICE)
    # Resource Manager (already on for a cluster) answers the project number the agents are named after.
    assert {s.inputs["service"] for s in services} == ALL_APIS | {"cloudkms.googleapis.com"}
    assert len(services) == len(ALL_APIS) + 1
    for s in services:
        assert s.inputs["disableOnDestroy"] is False and s.inputs["disableDependentServices"] is False, s.name


def test_kms_apis_of_a_storage_only_stack(gcp):
    apis = {s.inputs["service"] for s in gcp(kms=True, **STORAGE_ONLY).by_type(SERVICE)}
    assert apis == {f"{a}.googleapis.com" for a in ("storage", "artifactregistry", "containerscanning", "cloudkms", "cloudresourcemanager")}
    assert "compute.googleapis.com" not in apis  # still no Compute Engine without a cluster


def test_kms_key_ring_in_the_stack_region_always_retained(kms_plan, kms_delete_data):
    spec = gcp_spec(kms=True)
    ring = kms_plan.one(KEY_RING, "encryption-ring")
    assert ring.inputs["location"] == "us-central1"
    # A random part kept in the state: a key ring name can never be reused once taken.
    assert ring.inputs["name"].startswith(f"ml-dev-keys-{spec.names.suffix}-")
    assert kms_plan.one("random:index/randomString:RandomString", "encryption-ring-suffix").urn in ring.dependencies
    assert ring.retain_on_delete is True
    # GCP cannot delete key rings: even --delete-data only forgets it.
    assert kms_delete_data.one(KEY_RING).retain_on_delete is True
    assert ring.parent == kms_plan.one(ENCRYPTION, "encryption").urn


def test_kms_one_crypto_key_with_90_day_rotation(kms_plan):
    (key,) = kms_plan.by_type(CRYPTO_KEY)
    ring = kms_plan.one(KEY_RING)
    assert key.inputs["keyRing"] == f"projects/demo-project/locations/us-central1/keyRings/{ring.inputs['name']}"
    assert key.inputs["name"] == "ml-dev-data"
    assert key.inputs["purpose"] == "ENCRYPT_DECRYPT"
    assert key.inputs["rotationPeriod"] == "7776000s" == f"{90 * 86400}s"
    assert ring.urn in key.dependencies


def test_kms_key_is_retained_by_default(kms_plan):
    assert kms_plan.one(CRYPTO_KEY).retain_on_delete is True  # D1: the key lives as long as the data
    grants = grants_by_component(kms_plan)
    assert grants["bucket"].retain_on_delete is True and grants["registry"].retain_on_delete is True
    assert grants["cluster"].retain_on_delete is False  # goes with the cluster
    retained = {(r.type, r.name) for r in kms_plan.resources if r.retain_on_delete}
    assert retained == {
        (BUCKET, "bucket"), (REPOSITORY, "registry"), (KEY_RING, "encryption-ring"), (CRYPTO_KEY, "encryption-key"),
        (KEY_IAM, "encryption-bucket-agent"), (KEY_IAM, "encryption-registry-agent"),
    }


def test_kms_key_is_released_with_delete_data(kms_delete_data):
    assert kms_delete_data.one(CRYPTO_KEY).retain_on_delete is False
    assert kms_delete_data.one(BUCKET).retain_on_delete is False
    assert kms_delete_data.one(BUCKET).inputs["forceDestroy"] is True
    assert kms_delete_data.one(REPOSITORY).retain_on_delete is False
    # Only the key ring stays: it cannot be deleted.
    assert [(r.type, r.name) for r in kms_delete_data.resources if r.retain_on_delete] == [(KEY_RING, "encryption-ring")]


def test_bucket_registry_and_gke_use_the_stack_key(kms_plan):
    key = key_id(kms_plan)
    assert key.startswith("projects/demo-project/locations/us-central1/keyRings/")
    assert kms_plan.one(BUCKET).inputs["encryption"] == {"defaultKmsKeyName": key}  # B3
    assert kms_plan.one(REPOSITORY).inputs["kmsKeyName"] == key
    assert kms_plan.one(GKE).inputs["databaseEncryption"] == {"state": "ENCRYPTED", "keyName": key}  # C3
    # Everything else about them is unchanged.
    bucket = kms_plan.one(BUCKET).inputs
    assert bucket["publicAccessPrevention"] == "enforced" and bucket["versioning"] == {"enabled": True}


def test_service_agents_get_encrypter_decrypter_on_this_key_only(kms_plan):
    grants = grants_by_component(kms_plan)
    assert {c: g.inputs["member"] for c, g in grants.items()} == AGENTS
    for grant in grants.values():
        assert grant.inputs["role"] == ENCRYPTER_DECRYPTER
        assert grant.inputs["cryptoKeyId"] == key_id(kms_plan)
        assert "condition" not in grant.inputs
    # No KMS role on the project, the key ring or through an authoritative binding.
    assert not [g.inputs["role"] for g in kms_plan.by_type(PROJECT_IAM) if "cloudkms" in g.inputs["role"]]
    assert {g.inputs["role"] for g in kms_plan.by_type(PROJECT_IAM)} == set(roles.NODE_PROJECT_ROLES)
    kms_types = {r.type for r in kms_plan.resources if r.type.startswith("gcp:kms/")}
    assert kms_types == {KEY_RING, CRYPTO_KEY, KEY_IAM}
    bound = {r.inputs["role"] for r in kms_plan.resources if r.type.startswith("gcp:") and "role" in r.inputs}
    assert not bound & roles.FORBIDDEN, bound


def test_encrypted_resources_wait_for_their_agent_grant(kms_plan):
    grants = grants_by_component(kms_plan)
    # GCS, Artifact Registry and GKE check their agent's access to the key when they create.
    assert grants["bucket"].urn in kms_plan.one(BUCKET).dependencies
    assert grants["registry"].urn in kms_plan.one(REPOSITORY).dependencies
    assert grants["cluster"].urn in kms_plan.one(GKE).dependencies
    assert grants["cluster"].urn in kms_plan.deps_closure(kms_plan.one(NODE_POOL))


@pytest.mark.parametrize(
    "component,apis",
    [("bucket", ["storage"]), ("registry", ["artifactregistry"]), ("cluster", ["container"])],
)
def test_kms_grants_wait_for_the_key_and_the_api_that_creates_the_agent(kms_plan, component, apis):
    grant = grants_by_component(kms_plan)[component]
    assert kms_plan.one(CRYPTO_KEY).urn in grant.dependencies
    needed = service_urns(kms_plan, "cloudkms.googleapis.com", *(f"{a}.googleapis.com" for a in apis))
    assert needed <= set(grant.dependencies)


@pytest.mark.parametrize("type_", [KEY_RING, CRYPTO_KEY, KEY_IAM])
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
    plan.one(CRYPTO_KEY)
    plan.one(KEY_RING)


def test_kms_data_does_not_depend_on_the_cluster(kms_plan):
    cluster_urns = {r.urn for r in kms_plan.resources if r.type.startswith(("gcp:container", "gcp:compute", "recipes:gcp:Cluster", "recipes:gcp:Network", "pulumi:providers:kubernetes"))}
    cluster_urns.add(grants_by_component(kms_plan)["cluster"].urn)
    for r in (kms_plan.one(BUCKET), kms_plan.one(REPOSITORY), *kms_plan.by_type(BUCKET_IAM)):
        assert not kms_plan.deps_closure(r) & cluster_urns, r.name


def test_kms_resources_use_the_stack_provider(kms_plan, helpers):
    provider = kms_plan.one(GCP_PROVIDER, "gcp")
    for r in kms_plan.custom("gcp:kms/"):
        assert helpers.provider_urn(r.provider) == provider.urn, r.name
    assert {r.inputs["project"] for r in kms_plan.custom("gcp:") if "project" in r.inputs} <= {"demo-project"}


def test_kms_adds_only_the_key_its_grants_and_its_api(gcp_plan, kms_plan):
    removed, added = removed_and_added(gcp_plan, kms_plan)
    assert removed == set()
    assert added == subtree_keys(kms_plan, ENCRYPTION, "encryption") | api_keys("cloudkms.googleapis.com")
    assert kms_plan.raw_outputs.keys() == gcp_plan.raw_outputs.keys()
    assert outputs.validate(kms_plan.raw_outputs)
    # No long-lived credential comes with it (I2).
    assert ACCOUNT_KEY not in kms_plan.types() and "gcp:storage/hmacKey:HmacKey" not in kms_plan.types()


@pytest.mark.parametrize("variant", [{}, STORAGE_ONLY])
def test_without_kms_there_is_no_key(gcp, variant):
    plan = gcp(**variant)
    assert not plan.of_prefix("gcp:kms/") and not plan.by_type(ENCRYPTION)
    assert "cloudkms.googleapis.com" not in {s.inputs["service"] for s in plan.by_type(SERVICE)}
    assert "encryption" not in plan.one(BUCKET).inputs
    assert "kmsKeyName" not in plan.one(REPOSITORY).inputs
    for cluster in plan.by_type(GKE):
        assert "databaseEncryption" not in cluster.inputs


# ---------------------------------------------------------------------------
# --private-endpoint: no public API endpoint (C1)


@pytest.fixture(scope="module")
def private_endpoint_plan(gcp):
    return gcp(private_endpoint=True)


def test_private_endpoint_removes_the_public_endpoint(private_endpoint_plan):
    inputs = private_endpoint_plan.one(GKE).inputs
    assert inputs["privateClusterConfig"] == {"enablePrivateNodes": True, "enablePrivateEndpoint": True}


def test_private_endpoint_reachable_only_from_the_node_subnet(private_endpoint_plan):
    subnet = private_endpoint_plan.one(SUBNET).inputs
    pods = {r["rangeName"]: r["ipCidrRange"] for r in subnet["secondaryIpRanges"]}["pods"]
    config = private_endpoint_plan.one(GKE).inputs["masterAuthorizedNetworksConfig"]
    # The subnet's primary range (nodes, a bastion there) and its pod range (in-cluster controllers).
    assert [b["cidrBlock"] for b in config["cidrBlocks"]] == [subnet["ipCidrRange"], pods]
    assert all(b["displayName"] for b in config["cidrBlocks"])
    assert all(ipaddress.ip_network(b["cidrBlock"]).is_private for b in config["cidrBlocks"])
    assert config["privateEndpointEnforcementEnabled"] is True  # the list applies to the internal endpoint
    assert config["gcpPublicCidrsAccessEnabled"] is False


def test_private_endpoint_is_reached_through_the_iam_authorized_dns_endpoint(private_endpoint_plan, gcp_plan):
    # The IP endpoint is internal only, so the deploy that creates the cluster could never reach
    # it from outside; the DNS endpoint takes external traffic, each request authorized by IAM.
    inputs = private_endpoint_plan.one(GKE).inputs
    assert inputs["controlPlaneEndpointsConfig"] == {"dnsEndpointConfig": {"allowExternalTraffic": True}}
    endpoint = private_endpoint_plan.raw_outputs["cluster"]["endpoint"]
    assert endpoint.startswith("https://gke-") and endpoint.endswith(".gke.goog")
    config = yaml.safe_load(private_endpoint_plan.raw_outputs["cluster"]["kubeconfig"])
    cluster = config["clusters"][0]["cluster"]
    # A publicly trusted certificate: no cluster CA pinned for it.
    assert cluster == {"server": endpoint}
    assert config["users"][0]["user"]["exec"]["command"] == "gke-gcloud-auth-plugin"
    # Without --private-endpoint, the public IP endpoint and the cluster's CA, as before.
    assert "controlPlaneEndpointsConfig" not in gcp_plan.one(GKE).inputs
    public = yaml.safe_load(gcp_plan.raw_outputs["cluster"]["kubeconfig"])["clusters"][0]["cluster"]
    assert "certificate-authority-data" in public and not public["server"].endswith(".gke.goog")


def test_no_kubernetes_provider_drops_an_unreachable_cluster_from_the_state(private_endpoint_plan, gcp_plan):
    for plan in (gcp_plan, private_endpoint_plan):
        provider = plan.one("pulumi:providers:kubernetes")
        assert provider.inputs.get("deleteUnreachable") in (None, "false"), provider.inputs


def test_private_endpoint_changes_only_the_cluster(gcp_plan, private_endpoint_plan):
    assert gcp_plan.keys() == private_endpoint_plan.keys()
    changed = {
        r.name for r in private_endpoint_plan.resources
        if r.type.startswith("gcp:") and r.inputs != gcp_plan.one(r.type, r.name).inputs
    }
    assert changed == {"cluster"}


def test_private_endpoint_needs_private_nodes(plans):
    # Refused up front by the spec, before any program runs.
    with pytest.raises(SpecError, match="private endpoint needs private nodes"):
        gcp_spec(network="public", private_endpoint=True)


def test_private_endpoint_with_kms_and_regional(gcp):
    plan = gcp(private_endpoint=True, kms=True, regional=True)
    cluster = plan.one(GKE).inputs
    assert cluster["privateClusterConfig"]["enablePrivateEndpoint"] is True
    assert cluster["databaseEncryption"]["state"] == "ENCRYPTED"
    assert cluster["location"] == "us-central1" == plan.one(KEY_RING).inputs["location"]


def test_node_pool_is_spot_in_dev_and_on_demand_in_prod(gcp_plan, gcp):
    assert gcp_plan.one(NODE_POOL).inputs["nodeConfig"]["spot"] is True  # the dev profile
    assert gcp(spot=False).one(NODE_POOL).inputs["nodeConfig"]["spot"] is False
    prod = gcp(profile="prod")
    pool = prod.one(NODE_POOL)
    assert pool.inputs["nodeConfig"]["spot"] is False and pool.inputs["nodeConfig"]["machineType"] == "e2-standard-4"
    assert prod.one(GKE).inputs["location"] == "us-central1"  # regional: a control plane in three zones
    # With a zone, prod stays zonal in that zone.
    assert gcp(profile="prod", zone="us-central1-c").one(GKE).inputs["location"] == "us-central1-c"
