"""The Azure program, as recorded by the offline plan (Pulumi mocks).

Every assertion reads the real inputs the program registered: the same record
`recipe plan azure` shows. Expected ARM ids are spelled out here, not taken
from the mock, so a scope pointing at the wrong resource cannot pass.
"""

from __future__ import annotations

import importlib
import inspect
import ipaddress
import json
import uuid
from functools import lru_cache
from typing import Any

import pytest
import yaml

from provisioner.analysis.mockcloud import FAKE_AZURE_SUBSCRIPTION as SUB
from provisioner.analysis.mockcloud import FAKE_AZURE_TENANT as TENANT
from provisioner.analysis.mockcloud import Context
from provisioner.analysis.mockcloud import azure as azure_mock
from recipes import outputs
from recipes.azure import roles
from recipes.kubernetes import namespaces
from recipes.spec import Layer, SpecError, StackSpec, load_spec

FLAGS: dict[str, Any] = {"provider": "azure", "region": "westeurope", "name": "ml-dev"}
ALLOW_CIDRS = ["203.0.113.0/24", "198.51.100.7/32"]
USER_TAGS = {"team": "ml-platform", "cost-center": "4242"}

PROVIDER = "pulumi:providers:azure-native"
K8S_PROVIDER = "pulumi:providers:kubernetes"
GROUP = "azure-native:resources:ResourceGroup"
VNET = "azure-native:network:VirtualNetwork"
SUBNET = "azure-native:network:Subnet"
AKS = "azure-native:containerservice:ManagedCluster"
STORAGE = "azure-native:storage:StorageAccount"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
LIFECYCLE = "azure-native:storage:ManagementPolicy"
CONTAINER = "azure-native:storage:BlobContainer"
ACR = "azure-native:containerregistry:Registry"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
FEDERATION = "azure-native:managedidentity:FederatedIdentityCredential"
ROLE = "azure-native:authorization:RoleAssignment"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
RELEASE = "kubernetes:helm.sh/v3:Release"

# Built-in roles that would give far more than a stack needs.
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
USER_ACCESS_ADMIN = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"


def azure_spec(**values: Any) -> StackSpec:
    return load_spec(Layer("flags", {**FLAGS, **values}))


@pytest.fixture(scope="module")
def spec() -> StackSpec:
    return azure_spec()


@pytest.fixture(scope="module")
def plan(plans, spec):
    """The default Azure stack: every component, seldon, no --allow-cidr, no user tags."""
    return plans(spec)


@pytest.fixture(scope="module")
def restricted(plans):
    return plans(azure_spec(allow_cidrs=ALLOW_CIDRS, tags=USER_TAGS))


def azure(plans, **values: Any):
    return plans(azure_spec(**values))


# --- expected ARM ids, spelled out ------------------------------------------------


def rg_id(name: str) -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{name}"


def storage_id(spec: StackSpec) -> str:
    return rg_id(spec.names.resource_group("data")) + f"/providers/Microsoft.Storage/storageAccounts/{spec.names.storage_account()}"


def registry_id(spec: StackSpec) -> str:
    return rg_id(spec.names.resource_group("data")) + f"/providers/Microsoft.ContainerRegistry/registries/{spec.names.container_registry()}"


def cluster_id(spec: StackSpec) -> str:
    return rg_id(spec.names.resource_group()) + f"/providers/Microsoft.ContainerService/managedClusters/{spec.names.aks_cluster()}"


def subnet_id(spec: StackSpec) -> str:
    return rg_id(spec.names.resource_group()) + f"/providers/Microsoft.Network/virtualNetworks/vnet-{spec.name}/subnets/nodes"


def role_definition(role: str) -> str:
    return f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}"


def mock_outputs(plan, resource) -> dict[str, Any]:
    """What the mock cloud answered for a recorded resource (its computed outputs)."""
    return azure_mock.computed(resource.type, resource.name, resource.inputs, Context(plan.spec))


def role_assignments(plan, role: str | None = None) -> list:
    found = plan.by_type(ROLE)
    return [r for r in found if role is None or r.inputs["roleDefinitionId"] == role_definition(role)]


# ---------------------------------------------------------------------------
# Resource groups and data survival (D1)


def test_two_resource_groups_named_from_the_spec(plan, spec):
    groups = {g.name: g for g in plan.by_type(GROUP)}
    assert set(groups) == {"group", "data-group"}
    assert groups["group"].inputs["resourceGroupName"] == spec.names.resource_group() == "rg-ml-dev-" + spec.names.suffix
    assert groups["data-group"].inputs["resourceGroupName"] == spec.names.resource_group("data")
    for group in groups.values():
        assert group.inputs["location"] == "westeurope"


MAIN_GROUP_TYPES = {VNET, SUBNET, AKS, IDENTITY, FEDERATION}
DATA_GROUP_TYPES = {STORAGE, BLOB_SERVICE, LIFECYCLE, CONTAINER, ACR}


def test_each_resource_lives_in_its_group(plan, spec):
    main, data = plan.one(GROUP, "group"), plan.one(GROUP, "data-group")
    placed = [r for r in plan.custom("azure-native:") if "resourceGroupName" in r.inputs and r.type != GROUP]
    assert {r.type for r in placed} == MAIN_GROUP_TYPES | DATA_GROUP_TYPES
    for r in placed:
        group = main if r.type in MAIN_GROUP_TYPES else data
        assert r.inputs["resourceGroupName"] == group.inputs["resourceGroupName"], r.name
        # The group name is the group's output: created after it, destroyed before it.
        assert group.urn in plan.deps_closure(r), r.name
        other = data if group is main else main
        assert other.urn not in plan.deps_closure(r), r.name
    # In main: 3 identities, 2 federated credentials, the VNet, its subnet and the cluster.
    assert len([r for r in placed if r.type in MAIN_GROUP_TYPES]) == 3 + 2 + 1 + 1 + 1
    assert len(plan.by_type(IDENTITY)) == 3  # control plane, mlflow, pipelines


def test_every_located_resource_is_in_the_stack_region(plan):
    located = [r for r in plan.custom("azure-native:") if "location" in r.inputs]
    assert {r.type for r in located} == {GROUP, VNET, AKS, IDENTITY, STORAGE, ACR}
    assert {r.inputs["location"] for r in located} == {"westeurope"}
    assert plan.one(PROVIDER, "azure").inputs["location"] == "westeurope"


RETAINED = {
    (GROUP, "data-group"),
    (STORAGE, "bucket"),
    (BLOB_SERVICE, "bucket-blob-service"),
    (LIFECYCLE, "bucket-lifecycle"),
    (CONTAINER, "bucket-container"),
    (ROLE, "bucket-deployer-data"),  # the user keeps access to the data that is kept
    (ACR, "registry"),
}


def test_data_group_and_everything_in_it_are_retained_by_default(plan):
    retained = {(r.type, r.name) for r in plan.resources if r.retain_on_delete}
    assert retained == RETAINED
    assert not plan.one(GROUP, "group").retain_on_delete  # the main group goes, with all in it
    assert not plan.one(ROLE, "registry-kubelet-pull").retain_on_delete  # it names a cluster that goes
    # Protected exactly where retained: `recipe destroy` leaves what is protected (provisioner/engine/teardown.py).
    assert {(r.type, r.name) for r in plan.resources if r.protect} == RETAINED


def test_delete_data_retains_nothing(plans, spec):
    plan = plans(spec.with_changes(delete_data=True))
    assert [r.name for r in plan.resources if r.retain_on_delete or r.protect] == []
    # Same resources otherwise: --delete-data changes only what a destroy keeps.
    assert plan.keys() == plans(spec).keys()


def test_storage_only_stack_keeps_its_data_group(plans):
    plan = azure(plans, without=["cluster", "tracker", "deployer"])
    assert {(r.type, r.name) for r in plan.resources if r.retain_on_delete} == RETAINED
    assert [g.name for g in plan.by_type(GROUP)] == ["data-group"]


# ---------------------------------------------------------------------------
# Provider, tags


@pytest.mark.parametrize("variant", [{}, {"without": ["cluster", "tracker", "deployer"]}, {"deployer": "kserve"}])
def test_every_azure_resource_uses_the_stack_provider(plans, helpers, variant):
    plan = azure(plans, **variant)
    (provider,) = plan.by_type(PROVIDER)
    assert provider.name == "azure" and provider.inputs["location"] == "westeurope"
    # The subscription comes from the environment at deploy time, never from the program.
    assert "subscriptionId" not in provider.inputs
    resources = plan.custom("azure-native:")
    assert resources
    for r in resources:
        assert r.provider is not None, r.name
        assert helpers.provider_urn(r.provider) == provider.urn, r.name


@lru_cache(maxsize=None)
def taggable(type_: str) -> bool:
    """Whether the SDK resource for a type token takes `tags`."""
    _, module, cls = type_.split(":")
    sdk = importlib.import_module(f"pulumi_azure_native.{module}")
    return "tags" in inspect.signature(getattr(sdk, cls)._internal_init).parameters


@pytest.mark.parametrize("variant", [{}, {"without": ["cluster", "tracker", "deployer"]}])
def test_every_taggable_resource_carries_the_stack_tags(plans, variant):
    plan = azure(plans, allow_cidrs=ALLOW_CIDRS, tags=USER_TAGS, **variant)
    tagged = [r for r in plan.custom("azure-native:") if taggable(r.type)]
    assert {r.type for r in tagged} >= {GROUP, STORAGE, ACR}
    expected = {"recipe-stack": "ml-dev", "managed-by": "stack-recipes", **USER_TAGS}
    for r in tagged:
        assert r.inputs.get("tags") == expected, f"{r.type} {r.name}"
    # The SDK knows which types take no tags; the check above must not be vacuous for them.
    assert not taggable(ROLE) and not taggable(SUBNET) and taggable(AKS)


def test_node_pool_scale_set_is_tagged_too(restricted):
    (pool,) = restricted.one(AKS).inputs["agentPoolProfiles"]
    assert pool["tags"]["recipe-stack"] == "ml-dev"
    assert USER_TAGS.items() <= pool["tags"].items()
    assert pool["nodeLabels"] == {"recipe-stack": "ml-dev"}


def test_tags_follow_azure_rules(restricted):
    for r in restricted.custom("azure-native:"):
        tags = r.inputs.get("tags") or {}
        assert len(tags) <= 50, r.name
        for key, value in tags.items():
            assert 1 <= len(key) <= 512 and len(str(value)) <= 256, (r.name, key)
            assert not set(key) & set('<>%&\\?/'), (r.name, key)


def test_kubernetes_objects_carry_the_stack_label(plan):
    objects = [r for r in plan.custom("kubernetes:") if "metadata" in r.inputs]
    assert len(objects) > 15
    for r in objects:
        assert (r.inputs["metadata"].get("labels") or {}).get("recipe-stack") == "ml-dev", f"{r.type} {r.name}"


# ---------------------------------------------------------------------------
# Network


def test_vnet_with_one_private_node_subnet(plan, spec):
    vnet, subnet = plan.one(VNET), plan.one(SUBNET)
    assert vnet.inputs["virtualNetworkName"] == f"vnet-{spec.name}"
    assert "subnets" not in vnet.inputs  # standalone subnet: VNet updates leave it alone
    (space,) = vnet.inputs["addressSpace"]["addressPrefixes"]
    assert subnet.inputs["virtualNetworkName"] == vnet.inputs["virtualNetworkName"]
    assert vnet.urn in subnet.dependencies
    nodes = ipaddress.ip_network(subnet.inputs["addressPrefix"])
    assert nodes.subnet_of(ipaddress.ip_network(space))
    assert nodes.num_addresses >= 1024
    assert subnet.inputs["defaultOutboundAccess"] is False
    # Overlay pod and service ranges must not collide with the VNet.
    profile = plan.one(AKS).inputs["networkProfile"]
    for cidr in (profile["podCidr"], profile["serviceCidr"]):
        assert not ipaddress.ip_network(cidr).overlaps(ipaddress.ip_network(space)), cidr
    assert ipaddress.ip_address(profile["dnsServiceIP"]) in ipaddress.ip_network(profile["serviceCidr"])


def test_no_nat_gateway_public_ip_or_paid_network_extras(plan):
    for forbidden in ("natGateway", "publicIPAddress", "bastion", "firewall", "ddosProtection", "privateEndpoint"):
        assert not [r for r in plan.resources if forbidden.lower() in r.type.lower()], forbidden
    assert plan.one(VNET).inputs.get("enableDdosProtection") is not True


# ---------------------------------------------------------------------------
# AKS


def pool(plan) -> dict:
    (profile,) = plan.one(AKS).inputs["agentPoolProfiles"]
    return profile


def test_aks_free_tier_named_from_the_spec(plan, spec):
    cluster = plan.one(AKS)
    assert cluster.inputs["resourceName"] == spec.names.aks_cluster() == "aks-ml-dev"
    assert cluster.inputs["sku"] == {"name": "Base", "tier": "Free"}
    assert cluster.inputs["dnsPrefix"] == "ml-dev"
    assert "kubernetesVersion" not in cluster.inputs  # AKS's default version unless pinned
    assert cluster.custom_timeouts == {"create": "30m", "update": "60m", "delete": "30m"}


def test_system_pool_autoscales_within_the_default_bounds(plan, spec):
    profile = pool(plan)
    assert profile["mode"] == "System"
    assert profile["osType"] == "Linux" and profile["osSKU"] in ("Ubuntu", "AzureLinux")
    assert profile["vmSize"] == "Standard_D2s_v5"
    assert profile["enableAutoScaling"] is True
    assert (profile["minCount"], profile["maxCount"], profile["count"]) == (1, 3, 1)
    assert profile["enableNodePublicIP"] is False  # N1
    assert profile["vnetSubnetID"] == subnet_id(spec)
    assert profile["osDiskType"] == "Managed"
    # The autoscaler owns the node count: a redeploy must not reset it.
    assert "agentPoolProfiles[0].count" in plan.one(AKS).ignore_changes


def test_custom_node_size_and_bounds_are_honoured(plans):
    plan = azure(plans, node_type="Standard_D4s_v5", min_nodes=2, max_nodes=5)
    profile = pool(plan)
    assert profile["vmSize"] == "Standard_D4s_v5"
    assert (profile["minCount"], profile["maxCount"], profile["count"]) == (2, 5, 2)
    assert profile["enableAutoScaling"] is True


def test_oidc_issuer_and_workload_identity(plan):
    cluster = plan.one(AKS).inputs
    assert cluster["oidcIssuerProfile"] == {"enabled": True}
    assert cluster["securityProfile"]["workloadIdentity"] == {"enabled": True}
    # No pod-identity (v1) add-on, no node-wide cloud credentials.
    assert "podIdentityProfile" not in cluster


def test_rbac_with_entra_id_and_no_local_accounts(plan):
    cluster = plan.one(AKS).inputs
    assert cluster["enableRBAC"] is True
    assert cluster["aadProfile"] == {"managed": True, "enableAzureRBAC": True}
    assert cluster["disableLocalAccounts"] is True


def test_upgrade_channels(plans, plan):
    # AKS's default minor at creation is kept, and patched: "stable" would move it to minors
    # the pinned charts may not support.
    assert plan.one(AKS).inputs["autoUpgradeProfile"] == {"upgradeChannel": "patch", "nodeOSUpgradeChannel": "NodeImage"}
    pinned = azure(plans, kubernetes_version="1.32").one(AKS).inputs
    assert pinned["kubernetesVersion"] == "1.32"
    assert pinned["autoUpgradeProfile"] == {"upgradeChannel": "patch", "nodeOSUpgradeChannel": "NodeImage"}


def test_api_server_open_without_allow_cidr(plan):
    profile = plan.one(AKS).inputs.get("apiServerAccessProfile") or {}
    assert not profile.get("authorizedIPRanges")


def test_api_server_restricted_to_allow_cidrs(restricted):
    assert restricted.one(AKS).inputs["apiServerAccessProfile"]["authorizedIPRanges"] == ALLOW_CIDRS


def test_azure_cni_overlay_with_load_balancer_outbound(plan):
    profile = plan.one(AKS).inputs["networkProfile"]
    assert profile["networkPlugin"] == "azure"
    assert profile["networkPluginMode"] == "overlay"
    assert profile["outboundType"] == "loadBalancer"
    assert profile["loadBalancerSku"] == "standard"


def test_control_plane_identity_may_join_only_its_subnet(plan, spec):
    cluster = plan.one(AKS)
    identity = plan.one(IDENTITY, "cluster-identity")
    assert identity.inputs["resourceName"] == spec.names.managed_identity("aks")
    expected_identity_id = rg_id(spec.names.resource_group()) + f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{spec.names.managed_identity('aks')}"
    assert cluster.inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [expected_identity_id]}
    (network_role,) = role_assignments(plan, roles.NETWORK_CONTRIBUTOR)
    assert network_role.inputs["scope"] == subnet_id(spec)
    assert network_role.inputs["principalId"] == mock_outputs(plan, identity)["principalId"]
    assert network_role.inputs["principalType"] == "ServicePrincipal"
    # The cluster starts only once it may use its subnet.
    assert network_role.urn in cluster.dependencies


def test_deployer_administers_the_cluster_through_entra_id(plan, spec):
    (admin,) = role_assignments(plan, roles.AKS_RBAC_CLUSTER_ADMIN)
    assert admin.inputs["scope"] == cluster_id(spec)
    assert admin.inputs["principalId"] == azure_mock.FAKE_DEPLOYER_OBJECT_ID
    # The deployer may be a user or a service principal: Azure looks the type up.
    assert "principalType" not in admin.inputs
    assert plan.one(AKS).urn in admin.dependencies


def test_role_assignment_names_are_deterministic_guids(plan, plans, spec):
    assigned = plan.by_type(ROLE)
    assert len(assigned) == 6
    names = [r.inputs["roleAssignmentName"] for r in assigned]
    assert len(set(names)) == len(names)
    for r in assigned:
        name = r.inputs["roleAssignmentName"]
        assert str(uuid.UUID(name)) == name
        # Named after what Azure keys an assignment on (role, scope, principal): a new principal
        # is a new assignment, never the creator's moved to someone else.
        role = r.inputs["roleDefinitionId"].rsplit("/", 1)[-1]
        assert name == roles.assignment_name(SUB, spec.name, spec.names.suffix, role, r.inputs["scope"], r.inputs["principalId"])
        assert r.delete_before_replace  # Azure refuses a second name for the same role, scope and principal
    # Another stack instance has another suffix, so other names: same-named stacks never collide.
    other = azure(plans, suffix="a1b2c3")
    assert not set(names) & {r.inputs["roleAssignmentName"] for r in other.by_type(ROLE)}


def test_no_owner_contributor_or_wide_scope_anywhere(plans):
    allowed = {roles.ACR_PULL, roles.STORAGE_BLOB_DATA_CONTRIBUTOR, roles.AKS_RBAC_CLUSTER_ADMIN, roles.NETWORK_CONTRIBUTOR}
    for variant in ({}, {"without": ["cluster", "tracker", "deployer"]}):
        plan = azure(plans, **variant)
        for r in plan.by_type(ROLE):
            definition = r.inputs["roleDefinitionId"]
            assert definition.startswith(f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/")
            role = definition.rsplit("/", 1)[-1]
            assert role in allowed and role not in (OWNER, CONTRIBUTOR, USER_ACCESS_ADMIN), r.name
            # One resource, never a subscription or a whole resource group.
            assert "/providers/" in r.inputs["scope"], r.name
            assert r.inputs["scope"].startswith(f"/subscriptions/{SUB}/resourceGroups/"), r.name


KEY_TYPES = {
    "azure-native:containerregistry:Token",
    "azure-native:containerregistry:ScopeMap",
    "azure-native:storage:LocalUser",
    "azure-native:storage:EncryptionScope",
}


def test_no_long_lived_keys(plans):
    # Listing storage or registry keys would be a data-source call the mock does not answer,
    # so the plan itself fails on it; here: no key-bearing resource, keys and admin user off.
    for variant in ({}, {"without": ["cluster", "tracker", "deployer"]}):
        plan = azure(plans, **variant)
        assert not plan.types() & KEY_TYPES
        assert plan.one(STORAGE).inputs["allowSharedKeyAccess"] is False
        assert plan.one(ACR).inputs["adminUserEnabled"] is False
        assert plan.one(ACR).inputs["anonymousPullEnabled"] is False


# ---------------------------------------------------------------------------
# Kubeconfig and the Kubernetes provider


def test_kubeconfig_is_secret_and_uses_kubelogin(plan, spec):
    assert "cluster.kubeconfig" in plan.secret_outputs
    assert plan.outputs["cluster"]["kubeconfig"] == outputs.MASK
    raw = plan.raw_outputs["cluster"]["kubeconfig"]
    assert raw not in plan.inputs_json()
    config = yaml.safe_load(raw)
    context = plan.raw_outputs["cluster"]["context"]
    assert context == spec.names.kube_context() == "recipe-ml-dev"
    assert config["current-context"] == context
    assert [c["name"] for c in config["contexts"]] == [context]
    (cluster,) = config["clusters"]
    fqdn = mock_outputs(plan, plan.one(AKS))["fqdn"]
    assert cluster["cluster"]["server"] == plan.raw_outputs["cluster"]["endpoint"] == f"https://{fqdn}:443"
    # The CA is the one the cluster's user credentials carry.
    assert cluster["cluster"]["certificate-authority-data"] == azure_mock.FAKE_CA_DATA
    (user,) = config["users"]
    assert set(user["user"]) == {"exec"}  # no token, password, client certificate or key
    exec_ = user["user"]["exec"]
    assert exec_["command"] == "kubelogin"
    assert exec_["args"] == ["get-token", "--login", "azurecli", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"]
    for forbidden in ("client-key-data", "client-certificate-data", "password", "token:"):
        assert forbidden not in raw, forbidden
    assert plan.raw_outputs["cluster"]["name"] == "aks-ml-dev"


def test_kubernetes_provider_is_secret_and_waits_for_the_admin_role(plan, helpers):
    provider = plan.one(K8S_PROVIDER)
    assert "kubeconfig" in provider.secret_inputs
    (admin,) = role_assignments(plan, roles.AKS_RBAC_CLUSTER_ADMIN)
    assert admin.urn in provider.dependencies
    assert plan.one(AKS).urn in plan.deps_closure(provider)
    for r in plan.custom("kubernetes:"):
        assert helpers.provider_urn(r.provider) == provider.urn, r.name


# ---------------------------------------------------------------------------
# Storage


def test_storage_account_is_private_https_only_and_keyless(plan, spec):
    account = plan.one(STORAGE).inputs
    assert account["accountName"] == spec.names.storage_account()
    assert 3 <= len(account["accountName"]) <= 24 and account["accountName"].isalnum() and account["accountName"].islower()
    assert account["kind"] == "StorageV2"
    assert account["sku"] == {"name": "Standard_LRS"}
    assert account["enableHttpsTrafficOnly"] is True  # B4
    assert account["minimumTlsVersion"] == "TLS1_2"  # B4
    assert account["allowBlobPublicAccess"] is False  # B1
    assert account["allowSharedKeyAccess"] is False  # B6
    assert account["defaultToOAuthAuthentication"] is True


def test_blob_versioning_soft_delete_and_version_expiry(plan):
    service = plan.one(BLOB_SERVICE).inputs
    assert service["blobServicesName"] == "default"
    assert service["isVersioningEnabled"] is True  # B5
    assert service["deleteRetentionPolicy"]["enabled"] is True and service["deleteRetentionPolicy"]["days"] >= 7
    assert service["containerDeleteRetentionPolicy"]["enabled"] is True
    (rule,) = plan.one(LIFECYCLE).inputs["policy"]["rules"]
    assert plan.one(LIFECYCLE).inputs["managementPolicyName"] == "default"
    assert rule["enabled"] is True
    # Only old versions expire: nothing deletes current blobs.
    assert set(rule["definition"]["actions"]) == {"version"}
    assert rule["definition"]["actions"]["version"]["delete"]["daysAfterCreationGreaterThan"] == 30


def test_container_is_private_and_waits_for_the_blob_service(plan, spec):
    container = plan.one(CONTAINER)
    assert container.inputs["containerName"] == spec.names.blob_container() == "artifacts"
    assert container.inputs["publicAccess"] == "None"  # B1
    assert container.inputs["accountName"] == spec.names.storage_account()
    assert plan.one(BLOB_SERVICE).urn in container.dependencies


def test_deployer_reads_and_writes_the_artifacts(plan, spec):
    (deployer,) = [r for r in role_assignments(plan, roles.STORAGE_BLOB_DATA_CONTRIBUTOR)
                   if r.inputs["principalId"] == azure_mock.FAKE_DEPLOYER_OBJECT_ID]
    assert deployer.inputs["scope"] == storage_id(spec)
    assert "principalType" not in deployer.inputs


def test_bucket_outputs(plan, spec):
    bucket = plan.raw_outputs["bucket"]
    assert bucket == {"name": "artifacts", "uri": "az://artifacts", "account": spec.names.storage_account()}


# ---------------------------------------------------------------------------
# StackRecords


def test_registry_is_basic_without_admin_user_or_anonymous_pull(plan, spec):
    registry = plan.one(ACR).inputs
    assert registry["registryName"] == spec.names.container_registry()
    assert registry["sku"] == {"name": "Basic"}
    assert registry["adminUserEnabled"] is False  # R3
    assert registry["anonymousPullEnabled"] is False  # R3
    assert plan.raw_outputs["registry"]["uri"] == f"{spec.names.container_registry()}.azurecr.io"
    assert "/" not in plan.raw_outputs["registry"]["uri"]


def test_kubelet_identity_may_pull_from_this_registry_only(plan, spec):
    (pull,) = role_assignments(plan, roles.ACR_PULL)
    kubelet = mock_outputs(plan, plan.one(AKS))["identityProfile"]["kubeletidentity"]["objectId"]
    assert pull.inputs["principalId"] == kubelet
    assert pull.inputs["principalType"] == "ServicePrincipal"
    assert pull.inputs["scope"] == registry_id(spec)
    assert pull.parent == plan.one("recipes:azure:Registry", "registry").urn


def test_registry_without_a_cluster_grants_no_pull(plans):
    plan = azure(plans, without=["cluster", "tracker", "deployer"])
    plan.one(ACR)
    assert role_assignments(plan, roles.ACR_PULL) == []


# ---------------------------------------------------------------------------
# Workload identities


@pytest.mark.parametrize(
    "purpose,namespace,service_account",
    [
        ("mlflow", namespaces.MLFLOW_NAMESPACE, namespaces.MLFLOW_SERVICE_ACCOUNT),
        ("pipelines", namespaces.PIPELINES_NAMESPACE, namespaces.PIPELINES_SERVICE_ACCOUNT),
    ],
)
def test_workload_identity_reaches_only_this_storage_account(plan, spec, purpose, namespace, service_account):
    component = plan.one("recipes:azure:BucketAccess", f"{purpose}-identity")
    children = {r.type: r for r in plan.children(component.urn)}
    assert set(children) == {IDENTITY, FEDERATION, ROLE}

    identity = children[IDENTITY]
    assert identity.inputs["resourceName"] == spec.names.managed_identity(purpose)

    federation = children[FEDERATION]
    issuer = mock_outputs(plan, plan.one(AKS))["oidcIssuerProfile"]["issuerURL"]
    assert federation.inputs["issuer"] == issuer
    assert issuer.startswith(f"https://westeurope.oic.prod-aks.azure.com/{TENANT}/")
    assert federation.inputs["subject"] == f"system:serviceaccount:{namespace}:{service_account}"
    assert federation.inputs["audiences"] == ["api://AzureADTokenExchange"]
    assert federation.inputs["resourceName"] == identity.inputs["resourceName"]

    role = children[ROLE]
    assert role.inputs["roleDefinitionId"] == role_definition(roles.STORAGE_BLOB_DATA_CONTRIBUTOR)
    assert role.inputs["scope"] == storage_id(spec)  # I1: this account, not its group or subscription
    assert role.inputs["principalId"] == mock_outputs(plan, identity)["principalId"]
    assert role.inputs["principalType"] == "ServicePrincipal"


def test_federated_subjects_are_exactly_mlflow_and_pipelines(plan):
    subjects = sorted(f.inputs["subject"] for f in plan.by_type(FEDERATION))
    assert subjects == ["system:serviceaccount:mlflow:mlflow", "system:serviceaccount:zenml:zenml-service-account"]


def test_blob_data_role_only_on_the_storage_account(plan, spec):
    blob = role_assignments(plan, roles.STORAGE_BLOB_DATA_CONTRIBUTOR)
    assert len(blob) == 3  # mlflow, pipelines, the deployer
    assert {r.inputs["scope"] for r in blob} == {storage_id(spec)}


# ---------------------------------------------------------------------------
# The shared workloads on AKS


def container(deployment, name):
    (found,) = [c for c in deployment.inputs["spec"]["template"]["spec"]["containers"] if c["name"] == name]
    return found


def test_mlflow_pods_use_workload_identity(plan, spec):
    deployment = plan.one(DEPLOYMENT, "tracker-server")
    template = deployment.inputs["spec"]["template"]
    assert template["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert template["spec"]["serviceAccountName"] == "mlflow"
    account = plan.one(SERVICE_ACCOUNT, "tracker-sa")
    identity = plan.one(IDENTITY, "mlflow-identity-identity")
    assert account.inputs["metadata"]["annotations"] == {
        "azure.workload.identity/client-id": mock_outputs(plan, identity)["clientId"]
    }
    server = container(deployment, "mlflow")
    env = {e["name"]: e.get("value") for e in server["env"]}
    assert env["AZURE_STORAGE_ACCOUNT"] == spec.names.storage_account()
    assert env["PYTHONPATH"] == "/opt/recipe/python"
    # No key, secret or connection string: the webhook injects the federated token.
    assert not {"AZURE_CLIENT_SECRET", "AZURE_STORAGE_KEY", "AZURE_STORAGE_ACCESS_KEY", "AZURE_STORAGE_CONNECTION_STRING"} & set(env)
    args = server["args"]
    assert args[args.index("--artifacts-destination") + 1] == (
        f"wasbs://artifacts@{spec.names.storage_account()}.blob.core.windows.net/mlflow"
    )


def test_mlflow_gets_its_azure_credential_from_a_config_map_not_the_internet(plan):
    spec_ = plan.one(DEPLOYMENT, "tracker-server").inputs["spec"]["template"]["spec"]
    # None installs anything: the history's restore (tests/engine/test_history.py), then `prepare`.
    assert [c["name"] for c in spec_["initContainers"]] == ["fetch-history", "restore-history", "prepare"]
    mounts = {m["name"]: m for m in container(plan.one(DEPLOYMENT, "tracker-server"), "mlflow")["volumeMounts"]}
    assert mounts["python"]["readOnly"] is True and mounts["python"]["mountPath"] == "/opt/recipe/python"
    python = plan.one("kubernetes:core/v1:ConfigMap", "tracker-python")
    volume = next(v for v in spec_["volumes"] if v["name"] == "python")
    assert volume["configMap"]["name"] == python.inputs["metadata"]["name"]


def test_mlflow_starts_after_its_identity_and_the_cluster(plan):
    deployment = plan.one(DEPLOYMENT, "tracker-server")
    federation = plan.one(FEDERATION, "mlflow-identity-federation")
    blob_role = plan.one(ROLE, "mlflow-identity-blob-data")
    (admin,) = role_assignments(plan, roles.AKS_RBAC_CLUSTER_ADMIN)
    assert {federation.urn, blob_role.urn, plan.one(AKS).urn, admin.urn} <= set(deployment.dependencies)
    # Not the other service account's binding.
    assert plan.one(FEDERATION, "pipelines-identity-federation").urn not in deployment.dependencies


def test_pipelines_service_account_is_bound_to_its_identity(plan):
    account = plan.one(SERVICE_ACCOUNT, "pipelines-sa")
    assert account.inputs["metadata"]["name"] == "zenml-service-account"
    assert account.inputs["metadata"]["namespace"] == "zenml"
    identity = plan.one(IDENTITY, "pipelines-identity-identity")
    assert account.inputs["metadata"]["annotations"] == {
        "azure.workload.identity/client-id": mock_outputs(plan, identity)["clientId"]
    }
    # The service account exists only once pods using it can get a token and reach the blobs.
    assert plan.one(FEDERATION, "pipelines-identity-federation").urn in account.dependencies
    assert plan.one(ROLE, "pipelines-identity-blob-data").urn in account.dependencies


def test_workloads_wait_for_the_cluster_node_pool(plans, plan):
    cluster = plan.one(AKS).urn  # the system pool is part of the cluster resource
    for name in ("tracker-server", "tracker-db"):
        assert cluster in plan.one(DEPLOYMENT, name).dependencies, name
    for release in plan.by_type(RELEASE):
        assert cluster in release.dependencies, release.name
    kserve = azure(plans, deployer="kserve")
    assert {r.name for r in kserve.by_type(RELEASE)} >= {"cert-manager", "kserve-crd", "kserve"}
    for release in kserve.by_type(RELEASE):
        assert kserve.one(AKS).urn in release.dependencies, release.name


def test_aks_scales_itself_and_brings_its_storage_class(plan):
    # No Cluster Autoscaler chart and no StorageClass of ours: AKS has both built in.
    assert "cluster-autoscaler" not in {r.name for r in plan.by_type(RELEASE)}
    assert plan.by_type("kubernetes:storage.k8s.io/v1:StorageClass") == []
    claim = plan.one("kubernetes:core/v1:PersistentVolumeClaim", "tracker-db-data")
    assert claim.inputs["spec"]["storageClassName"] == "managed-csi"


def test_load_balancers_have_no_aws_annotations_and_report_an_ip(plan):
    services = [s for s in plan.by_type(SERVICE) if s.inputs["spec"].get("type") == "LoadBalancer"]
    assert {s.name for s in services} == {"deployer-ingress-lb"}  # the tracker shares it
    for service in services:
        annotations = service.inputs["metadata"].get("annotations") or {}
        assert not any("aws" in key for key in annotations), service.name
        assert "loadBalancerSourceRanges" not in service.inputs["spec"]
    assert plan.raw_outputs["tracker"]["uri"].startswith("http://203.0.113.")
    assert plan.raw_outputs["deployer"]["base_url"].startswith("http://203.0.113.")


def test_load_balancers_restricted_to_allow_cidrs(restricted):
    for name in ("deployer-ingress-lb",):
        # --allow-cidr, then the stack's own node subnet and pod range (see test_internal_sources).
        ranges = restricted.one(SERVICE, name).inputs["spec"]["loadBalancerSourceRanges"]
        assert ranges == [*ALLOW_CIDRS, "10.224.0.0/20", "10.244.0.0/16"]


def test_tracker_password_is_secret_and_never_recorded(plan):
    assert "tracker.password" in plan.secret_outputs
    assert plan.outputs["tracker"]["password"] == outputs.MASK
    password = plan.raw_outputs["tracker"]["password"]
    assert len(password) >= 24
    assert password not in json.dumps(plan.outputs)
    assert password not in plan.inputs_json()
    assert "postgresql://" not in plan.inputs_json()


# ---------------------------------------------------------------------------
# Switches: each removes exactly its component


def removed_and_added(default, plan):
    return default.keys() - plan.keys(), plan.keys() - default.keys()


def subtree_keys(plan, type_, name):
    return {(r.type, r.name) for r in plan.subtree(plan.one(type_, name))}


# Without the deployer's ingress, the tracker trades its route through it for its own load balancer.
TRACKER_FRONT_DOOR = {
    ("kubernetes:core/v1:Service", "tracker-svc"),
    ("kubernetes:networking.istio.io/v1beta1:Gateway", "tracker-gateway"),
    ("kubernetes:networking.istio.io/v1beta1:VirtualService", "tracker-route"),
}
TRACKER_OWN_LB = {("kubernetes:core/v1:Service", "tracker-lb")}


def test_without_deployer_removes_exactly_the_deployer(plan, plans):
    variant = azure(plans, without=["deployer"])
    removed, added = removed_and_added(plan, variant)
    assert added == TRACKER_OWN_LB
    assert removed == subtree_keys(plan, "recipes:kubernetes:ModelDeployer", "deployer") | TRACKER_FRONT_DOOR
    assert set(variant.raw_outputs) == set(plan.raw_outputs) - {"deployer"}


def test_without_tracker_removes_mlflow_and_its_identity(plan, plans):
    variant = azure(plans, without=["tracker"])
    removed, added = removed_and_added(plan, variant)
    assert added == set()
    expected = subtree_keys(plan, "recipes:kubernetes:MlflowServer", "tracker") | subtree_keys(
        plan, "recipes:azure:BucketAccess", "mlflow-identity"
    )
    assert {(IDENTITY, "mlflow-identity-identity"), (FEDERATION, "mlflow-identity-federation")} <= expected
    assert removed == expected
    assert [f.inputs["subject"] for f in variant.by_type(FEDERATION)] == ["system:serviceaccount:zenml:zenml-service-account"]
    assert "tracker" not in variant.raw_outputs


def test_without_registry_removes_only_acr_and_its_pull_role(plan, plans):
    variant = azure(plans, without=["registry"])
    removed, added = removed_and_added(plan, variant)
    assert added == set()
    assert removed == subtree_keys(plan, "recipes:azure:Registry", "registry")
    assert removed == {("recipes:azure:Registry", "registry"), (ACR, "registry"), (ROLE, "registry-kubelet-pull")}
    variant.one(GROUP, "data-group")  # still holds the storage account
    assert "registry" not in variant.raw_outputs


def test_storage_only_stack(plans):
    plan = azure(plans, without=["cluster", "tracker", "deployer"])
    allowed = subtree_keys(plan, "recipes:azure:Bucket", "bucket") | subtree_keys(plan, "recipes:azure:Registry", "registry")
    assert plan.keys() - allowed == {(PROVIDER, "azure"), (GROUP, "data-group")}
    assert not plan.of_prefix("kubernetes:") and not plan.of_prefix(K8S_PROVIDER)
    assert not plan.by_type(AKS) and not plan.by_type(VNET) and not plan.by_type(IDENTITY)
    assert set(outputs.components(plan.raw_outputs)) == {"bucket", "registry"}


def test_without_bucket_keeps_the_cluster_but_no_workload_identities(plan, plans):
    variant = azure(plans, without=["bucket", "tracker"])
    removed, added = removed_and_added(plan, variant)
    assert added == set()
    expected = (
        subtree_keys(plan, "recipes:azure:Bucket", "bucket")
        | subtree_keys(plan, "recipes:azure:BucketAccess", "mlflow-identity")
        | subtree_keys(plan, "recipes:azure:BucketAccess", "pipelines-identity")
        | subtree_keys(plan, "recipes:kubernetes:MlflowServer", "tracker")
    )
    assert removed == expected
    assert variant.by_type(FEDERATION) == []
    assert [r.name for r in variant.by_type(IDENTITY)] == ["cluster-identity"]
    variant.one(AKS)
    variant.one(GROUP, "data-group")  # the registry's
    assert not variant.one(SERVICE_ACCOUNT, "pipelines-sa").inputs["metadata"].get("annotations")


def test_bucket_only_stack(plans):
    plan = azure(plans, components=["bucket"])
    assert plan.keys() == subtree_keys(plan, "recipes:azure:Bucket", "bucket") | {(PROVIDER, "azure"), (GROUP, "data-group")}


VARIANTS = [
    ({}, {"cluster", "bucket", "registry", "tracker", "deployer"}),
    ({"deployer": "kserve", "allow_cidrs": ALLOW_CIDRS}, {"cluster", "bucket", "registry", "tracker", "deployer"}),
    ({"without": ["deployer"]}, {"cluster", "bucket", "registry", "tracker"}),
    ({"without": ["tracker"]}, {"cluster", "bucket", "registry", "deployer"}),
    ({"without": ["registry"]}, {"cluster", "bucket", "tracker", "deployer"}),
    ({"without": ["cluster", "tracker", "deployer"]}, {"bucket", "registry"}),
    ({"without": ["bucket", "tracker"]}, {"cluster", "registry", "deployer"}),
    ({"components": ["bucket"]}, {"bucket"}),
    ({"components": ["registry"]}, {"registry"}),
]


@pytest.mark.parametrize("variant,present", VARIANTS, ids=lambda v: json.dumps(v) if isinstance(v, dict) else None)
def test_canonical_outputs_complete_for_every_variant(plans, variant, present):
    plan = azure(plans, **variant)
    clean = outputs.validate(plan.raw_outputs)
    assert set(outputs.components(clean)) == present
    assert (clean["provider"], clean["region"], clean["stack_name"]) == ("azure", "westeurope", "ml-dev")
    if "bucket" in present:
        assert clean["bucket"]["account"] == plan.spec.names.storage_account()
        assert clean["bucket"]["uri"] == "az://artifacts"
    expected_secrets = {p for p in ("cluster.kubeconfig", "tracker.password") if p.split(".")[0] in present}
    assert set(plan.secret_outputs) == expected_secrets
    for path in expected_secrets:
        component_, field = path.split(".")
        assert plan.outputs[component_][field] == outputs.MASK


# ---------------------------------------------------------------------------
# Dependencies that decide the order of create and destroy


def cluster_side(plan) -> set[str]:
    """Everything of the cluster and its network, and the main group they live in."""
    urns = {r.urn for r in plan.resources if r.type in (AKS, VNET, SUBNET, K8S_PROVIDER) or r.type.startswith("kubernetes:")}
    urns |= {r.urn for r in plan.subtree(plan.one("recipes:azure:Cluster", "cluster"))}
    urns.add(plan.one(GROUP, "group").urn)
    return urns


def test_data_resources_do_not_depend_on_the_cluster(plan):
    data = [r for r in plan.subtree(plan.one("recipes:azure:Bucket", "bucket")) if r.custom]
    data.append(plan.one(ACR))
    data.append(plan.one(GROUP, "data-group"))
    assert len(data) == 7
    for r in data:
        assert not plan.deps_closure(r) & cluster_side(plan), r.name


def test_identities_need_the_cluster_only_for_its_oidc_issuer(plan):
    for purpose in ("mlflow", "pipelines"):
        identity = plan.one(IDENTITY, f"{purpose}-identity-identity")
        role = plan.one(ROLE, f"{purpose}-identity-blob-data")
        federation = plan.one(FEDERATION, f"{purpose}-identity-federation")
        assert not plan.deps_closure(identity) & cluster_side(plan) - {plan.one(GROUP, "group").urn}, identity.name
        assert not plan.deps_closure(role) & cluster_side(plan) - {plan.one(GROUP, "group").urn}, role.name
        assert plan.one(AKS).urn in federation.dependencies  # the issuer URL is the cluster's


def test_load_balancers_are_destroyed_before_the_cluster_and_its_network(plan):
    # Destroy runs in reverse dependency order: a LoadBalancer Service (an Azure load balancer
    # rule and public IP in the node resource group) goes before the cluster, the subnet and the
    # control plane's right to use that subnet.
    (network_role,) = role_assignments(plan, roles.NETWORK_CONTRIBUTOR)
    must_outlive = {plan.one(AKS).urn, plan.one(SUBNET).urn, plan.one(VNET).urn, network_role.urn}
    services = [s for s in plan.by_type(SERVICE) if s.inputs["spec"].get("type") == "LoadBalancer"]
    assert len(services) == 1  # the tracker is served through the deployer's
    for service in services:
        assert must_outlive <= plan.deps_closure(service), service.name


def test_mock_answers_resource_ids_of_the_real_shape(plan, spec):
    # The plan records what the program read back: ARM ids under the fake subscription.
    assert plan.one(ROLE, "cluster-admin-00000000-0000-4000-8000-000000000003").inputs["scope"] == cluster_id(spec)
    assert plan.one(ROLE, "registry-kubelet-pull").inputs["scope"] == registry_id(spec)
    assert azure_mock.arm_id(GROUP, "group", {"resourceGroupName": "rg-x"}) == rg_id("rg-x")


# ---------------------------------------------------------------------------
# --kms: the stack's Key Vault key for storage, registry and AKS secrets (B3, C3)

VAULT = "azure-native:keyvault:Vault"
KEY = "azure-native:keyvault:Key"
KEY_VAULT_ROLES = {
    roles.KEY_VAULT_CRYPTO_OFFICER, roles.KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER, roles.KEY_VAULT_CRYPTO_USER,
}
# Built-in role IDs, spelled out (the same in every tenant).
assert roles.KEY_VAULT_CRYPTO_OFFICER == "14b46e9e-c2b7-41b4-b07b-48a6ebf60603"
assert roles.KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER == "e147488a-f6f5-4113-8e2d-b22465e65bf6"
assert roles.KEY_VAULT_CRYPTO_USER == "12338af0-0e69-4776-bea7-57ae8d297424"


@pytest.fixture(scope="module")
def kms_spec() -> StackSpec:
    return azure_spec(kms=True)


@pytest.fixture(scope="module")
def kms_plan(plans, kms_spec):
    return plans(kms_spec)


def vault_id(spec: StackSpec) -> str:
    return rg_id(spec.names.resource_group("data")) + f"/providers/Microsoft.KeyVault/vaults/{spec.names.key_vault()}"


def key_id(spec: StackSpec) -> str:
    return vault_id(spec) + "/keys/cmk"


def key_uri(spec: StackSpec) -> str:
    return f"https://{spec.names.key_vault()}.vault.azure.net/keys/cmk"


def encryption_identity_id(spec: StackSpec) -> str:
    return (rg_id(spec.names.resource_group("data"))
            + f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{spec.names.managed_identity('encryption')}")


def kms_keys(plan) -> set[tuple[str, str]]:
    """The (type, name) of everything --kms adds."""
    keys = {(r.type, r.name) for r in plan.subtree(plan.one("recipes:azure:Kms", "kms"))}
    in_cluster = {"cluster-kms-crypto-user", "cluster-kms-crypto-user-wait"}  # the control plane's role, and its wait
    return keys | {(r.type, r.name) for r in plan.resources if r.name in in_cluster}


KMS_RETAINED = RETAINED | {
    (VAULT, "kms-vault"),
    (KEY, "kms-key"),
    (IDENTITY, "kms-identity"),
    (ROLE, "kms-deployer-crypto-officer"),
    (ROLE, "kms-encryption-user"),
}


def test_kms_vault_is_purge_protected_rbac_only_and_in_the_data_group(kms_plan, kms_spec):
    vault = kms_plan.one(VAULT)
    assert vault.inputs["vaultName"] == kms_spec.names.key_vault()
    assert 3 <= len(vault.inputs["vaultName"]) <= 24
    props = vault.inputs["properties"]
    assert props["sku"] == {"family": "A", "name": "standard"}
    assert props["tenantId"] == TENANT
    assert props["enableRbacAuthorization"] is True  # Azure RBAC: no access policies
    assert "accessPolicies" not in props
    assert props["enablePurgeProtection"] is True  # required for customer-managed keys
    assert props["enableSoftDelete"] is True and props["softDeleteRetentionInDays"] == 7  # the minimum
    assert props["publicNetworkAccess"] == "Enabled"  # the deployer creates the key from outside
    assert props["enabledForDeployment"] is False and props["enabledForTemplateDeployment"] is False
    # In the data group, so it survives a destroy with the data it encrypts.
    data = kms_plan.one(GROUP, "data-group")
    assert vault.inputs["resourceGroupName"] == kms_spec.names.resource_group("data")
    assert data.urn in vault.dependencies
    assert vault.inputs["location"] == "westeurope"
    assert vault.retain_on_delete
    assert mock_outputs(kms_plan, vault)["id"] == vault_id(kms_spec)


def test_kms_key_is_rsa_3072_with_a_rotation_policy(kms_plan, kms_spec):
    key = kms_plan.one(KEY)
    assert key.inputs["keyName"] == "cmk"
    assert key.inputs["vaultName"] == kms_spec.names.key_vault()
    assert key.inputs["resourceGroupName"] == kms_spec.names.resource_group("data")
    props = key.inputs["properties"]
    assert props["kty"] == "RSA" and props["keySize"] == 3072
    assert set(props["keyOps"]) == {"encrypt", "decrypt", "wrapKey", "unwrapKey"}  # no sign/verify
    (action,) = props["rotationPolicy"]["lifetimeActions"]
    assert action == {"action": {"type": "rotate"}, "trigger": {"timeAfterCreate": "P1Y"}}
    # No expiry: AKS pins a key version, and an expired version would stop it encrypting secrets.
    assert "expires" not in props.get("attributes", {})
    assert "expiryTime" not in (props["rotationPolicy"].get("attributes") or {})
    assert key.retain_on_delete
    assert kms_plan.one(VAULT).urn in key.dependencies
    assert mock_outputs(kms_plan, key)["id"] == key_id(kms_spec)


def test_deployer_is_crypto_officer_on_this_vault_only(kms_plan, kms_spec):
    (officer,) = role_assignments(kms_plan, roles.KEY_VAULT_CRYPTO_OFFICER)
    assert officer.name == "kms-deployer-crypto-officer"
    assert officer.inputs["scope"] == vault_id(kms_spec)
    assert officer.inputs["principalId"] == azure_mock.FAKE_DEPLOYER_OBJECT_ID
    assert "principalType" not in officer.inputs  # a user or a service principal: Azure looks it up
    assert officer.retain_on_delete  # the key is deleted (--delete-data) through it
    # The key is created through the data plane on the deployer's behalf: only once it may.
    assert officer.urn in kms_plan.one(KEY).dependencies


def test_encryption_identity_lives_in_the_data_group_and_may_use_only_the_key(kms_plan, kms_spec):
    identity = kms_plan.one(IDENTITY, "kms-identity")
    assert identity.inputs["resourceName"] == kms_spec.names.managed_identity("encryption")
    assert identity.inputs["resourceGroupName"] == kms_spec.names.resource_group("data")
    assert kms_plan.one(GROUP, "data-group").urn in identity.dependencies
    assert identity.retain_on_delete
    assert mock_outputs(kms_plan, identity)["id"] == encryption_identity_id(kms_spec)
    (role,) = role_assignments(kms_plan, roles.KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER)
    assert role.name == "kms-encryption-user"
    assert role.inputs["scope"] == key_id(kms_spec)  # this key: not the vault, the group or the subscription
    assert role.inputs["principalId"] == mock_outputs(kms_plan, identity)["principalId"]
    assert role.inputs["principalType"] == "ServicePrincipal"
    assert role.retain_on_delete


def test_storage_account_encrypts_with_the_key_through_the_encryption_identity(kms_plan, kms_spec):
    account = kms_plan.one(STORAGE)
    encryption = account.inputs["encryption"]
    assert encryption["keySource"] == "Microsoft.Keyvault"
    # Versionless: the account follows the key's rotations.
    assert encryption["keyVaultProperties"] == {
        "keyName": "cmk", "keyVaultUri": f"https://{kms_spec.names.key_vault()}.vault.azure.net/",
    }
    assert encryption["encryptionIdentity"] == {"encryptionUserAssignedIdentity": encryption_identity_id(kms_spec)}
    assert encryption["services"]["blob"]["enabled"] is True
    assert account.inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [encryption_identity_id(kms_spec)]}
    # Everything else about the account is as without --kms.
    assert account.inputs["allowSharedKeyAccess"] is False and account.inputs["allowBlobPublicAccess"] is False


def test_registry_moves_to_premium_for_its_customer_managed_key(kms_plan, kms_spec):
    registry = kms_plan.one(ACR)
    assert registry.inputs["sku"] == {"name": "Premium"}  # customer-managed keys need Premium
    identity = kms_plan.one(IDENTITY, "kms-identity")
    assert registry.inputs["encryption"] == {
        "status": "enabled",
        # Versionless: ACR follows the key's rotations.
        "keyVaultProperties": {"keyIdentifier": key_uri(kms_spec), "identity": mock_outputs(kms_plan, identity)["clientId"]},
    }
    assert registry.inputs["identity"] == {
        "type": "UserAssigned", "userAssignedIdentities": {encryption_identity_id(kms_spec): {}},
    }
    assert registry.inputs["adminUserEnabled"] is False and registry.inputs["anonymousPullEnabled"] is False
    assert registry.retain_on_delete


def test_registry_stays_basic_with_platform_keys_without_kms(plan):
    registry = plan.one(ACR).inputs
    assert registry["sku"] == {"name": "Basic"}
    assert "encryption" not in registry and "identity" not in registry


def test_aks_encrypts_secrets_with_the_key(kms_plan, kms_spec):
    cluster = kms_plan.one(AKS)
    profile = cluster.inputs["securityProfile"]
    kms = profile["azureKeyVaultKms"]
    assert kms["enabled"] is True and kms["keyVaultNetworkAccess"] == "Public"
    # AKS takes a versioned key URI: the key's current version.
    version = kms["keyId"].removeprefix(key_uri(kms_spec) + "/")
    assert kms["keyId"] == mock_outputs(kms_plan, kms_plan.one(KEY))["keyUriWithVersion"]
    assert len(version) == 32 and int(version, 16) >= 0
    assert "keyVaultResourceId" not in kms  # only for a private vault
    assert profile["workloadIdentity"] == {"enabled": True}  # C5 unchanged
    # The control plane may encrypt and decrypt with this key only, before the cluster starts.
    (user,) = role_assignments(kms_plan, roles.KEY_VAULT_CRYPTO_USER)
    control_plane = kms_plan.one(IDENTITY, "cluster-identity")
    assert user.name == "cluster-kms-crypto-user"
    assert user.inputs["scope"] == key_id(kms_spec)
    assert user.inputs["principalId"] == mock_outputs(kms_plan, control_plane)["principalId"]
    assert user.inputs["principalType"] == "ServicePrincipal"
    assert user.urn in cluster.dependencies
    # It names an identity that goes with the cluster: not retained.
    assert not user.retain_on_delete


def test_everything_that_uses_the_key_waits_for_its_role_assignment(kms_plan):
    encryption_user = kms_plan.one(ROLE, "kms-encryption-user").urn
    assert encryption_user in kms_plan.one(STORAGE).dependencies
    assert encryption_user in kms_plan.one(ACR).dependencies
    assert kms_plan.one(ROLE, "cluster-kms-crypto-user").urn in kms_plan.one(AKS).dependencies
    assert kms_plan.one(ROLE, "kms-deployer-crypto-officer").urn in kms_plan.one(KEY).dependencies
    # The data does not wait for the cluster to use the key, nor the key for the cluster.
    for r in (kms_plan.one(STORAGE), kms_plan.one(ACR), kms_plan.one(KEY), kms_plan.one(VAULT)):
        assert not kms_plan.deps_closure(r) & cluster_side(kms_plan), r.name


def test_key_vault_roles_are_scoped_to_this_vault_only(kms_plan, kms_spec):
    kv_roles = [r for r in kms_plan.by_type(ROLE) if r.inputs["roleDefinitionId"].rsplit("/", 1)[-1] in KEY_VAULT_ROLES]
    assert sorted(r.name for r in kv_roles) == ["cluster-kms-crypto-user", "kms-deployer-crypto-officer", "kms-encryption-user"]
    for r in kv_roles:
        scope = r.inputs["scope"]
        assert scope == vault_id(kms_spec) or scope == key_id(kms_spec), r.name
    # Nothing else changes: no broad role, no subscription- or group-wide scope anywhere.
    allowed = {roles.ACR_PULL, roles.STORAGE_BLOB_DATA_CONTRIBUTOR, roles.AKS_RBAC_CLUSTER_ADMIN, roles.NETWORK_CONTRIBUTOR} | KEY_VAULT_ROLES
    assert len(kms_plan.by_type(ROLE)) == 6 + 3
    for r in kms_plan.by_type(ROLE):
        assert r.inputs["roleDefinitionId"].rsplit("/", 1)[-1] in allowed, r.name
        assert r.inputs["scope"].startswith(f"/subscriptions/{SUB}/resourceGroups/") and "/providers/" in r.inputs["scope"], r.name
        role = r.inputs["roleDefinitionId"].rsplit("/", 1)[-1]
        assert r.inputs["roleAssignmentName"] == roles.assignment_name(
            SUB, kms_spec.name, kms_spec.names.suffix, role, r.inputs["scope"], r.inputs["principalId"])


def test_the_key_is_kept_as_long_as_the_data(kms_plan):
    assert {(r.type, r.name) for r in kms_plan.resources if r.retain_on_delete} == KMS_RETAINED
    assert {(r.type, r.name) for r in kms_plan.resources if r.protect} == KMS_RETAINED


def test_delete_data_releases_the_key_with_the_data(plans, kms_spec, kms_plan):
    released = plans(kms_spec.with_changes(delete_data=True))
    assert [r.name for r in released.resources if r.retain_on_delete] == []
    assert released.keys() == kms_plan.keys()


def test_kms_resources_are_tagged_located_and_use_the_stack_provider(plans, helpers):
    plan = azure(plans, kms=True, tags=USER_TAGS)
    expected = {"recipe-stack": "ml-dev", "managed-by": "stack-recipes", **USER_TAGS}
    (provider,) = plan.by_type(PROVIDER)
    for r in plan.subtree(plan.one("recipes:azure:Kms", "kms")):
        if not r.custom or r.type.startswith("time:"):  # a propagation wait, not an Azure resource
            continue
        assert helpers.provider_urn(r.provider) == provider.urn, r.name
        if taggable(r.type):
            assert r.inputs.get("tags") == expected, r.name
        if "location" in r.inputs:
            assert r.inputs["location"] == "westeurope", r.name
    assert taggable(VAULT) and taggable(KEY)


def test_kms_adds_only_the_key_and_its_roles(plan, kms_plan):
    removed, added = removed_and_added(plan, kms_plan)
    assert removed == set()
    assert added == kms_keys(kms_plan)
    assert added == {
        ("recipes:azure:Kms", "kms"), (VAULT, "kms-vault"), (KEY, "kms-key"), (IDENTITY, "kms-identity"),
        (ROLE, "kms-deployer-crypto-officer"), (ROLE, "kms-encryption-user"), (ROLE, "cluster-kms-crypto-user"),
        # and the waits for those roles to take effect (tests/recipes/test_propagation.py)
        ("recipes:cloud:Propagation", "kms-deployer-crypto-officer"), ("time:index/sleep:Sleep", "kms-deployer-crypto-officer-wait"),
        ("recipes:cloud:Propagation", "kms-encryption-user"), ("time:index/sleep:Sleep", "kms-encryption-user-wait"),
        ("recipes:cloud:Propagation", "cluster-kms-crypto-user"), ("time:index/sleep:Sleep", "cluster-kms-crypto-user-wait"),
    }
    assert kms_plan.raw_outputs.keys() == plan.raw_outputs.keys()


def test_without_kms_none_of_it(plan):
    assert not plan.by_type(VAULT) and not plan.by_type(KEY)
    assert not [r for r in plan.resources if r.type.startswith("azure-native:keyvault:")]
    assert not [r for r in plan.by_type(ROLE) if r.inputs["roleDefinitionId"].rsplit("/", 1)[-1] in KEY_VAULT_ROLES]
    assert "kms-identity" not in {r.name for r in plan.by_type(IDENTITY)}
    account = plan.one(STORAGE).inputs
    assert "encryption" not in account and "identity" not in account  # Microsoft-managed keys
    assert "azureKeyVaultKms" not in plan.one(AKS).inputs["securityProfile"]


def test_kms_on_a_storage_only_stack_has_no_cluster_role(plans):
    plan = azure(plans, kms=True, without=["cluster", "tracker", "deployer"])
    assert plan.one(VAULT) and plan.one(KEY) and plan.one(IDENTITY, "kms-identity")
    assert [r.name for r in role_assignments(plan, roles.KEY_VAULT_CRYPTO_USER)] == []
    assert plan.one(STORAGE).inputs["encryption"]["keySource"] == "Microsoft.Keyvault"
    assert plan.one(ACR).inputs["sku"] == {"name": "Premium"}


def test_kms_on_a_cluster_without_bucket_or_registry_needs_no_encryption_identity(plans, kms_spec):
    plan = azure(plans, kms=True, components=["cluster"])
    assert plan.one(VAULT) and plan.one(KEY)
    assert [r.name for r in plan.by_type(IDENTITY)] == ["cluster-identity"]
    assert role_assignments(plan, roles.KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER) == []
    assert plan.one(AKS).inputs["securityProfile"]["azureKeyVaultKms"]["enabled"] is True
    # The vault still lives in the data group.
    assert plan.one(VAULT).inputs["resourceGroupName"] == kms_spec.names.resource_group("data")


def test_registry_only_stack_with_kms(plans):
    plan = azure(plans, kms=True, components=["registry"])
    assert plan.one(ACR).inputs["sku"] == {"name": "Premium"}
    assert plan.one(ROLE, "kms-encryption-user").urn in plan.one(ACR).dependencies
    assert not plan.by_type(STORAGE) and not plan.by_type(AKS)


def test_canonical_outputs_unchanged_with_kms(kms_plan):
    clean = outputs.validate(kms_plan.raw_outputs)
    assert set(outputs.components(clean)) == {"cluster", "bucket", "registry", "tracker", "deployer"}
    assert set(kms_plan.secret_outputs) == {"cluster.kubeconfig", "tracker.password"}


# ---------------------------------------------------------------------------
# --private-endpoint: the Kubernetes API only from inside the VNet (C1)


def test_private_endpoint_makes_a_private_cluster(plans):
    plan = azure(plans, private_endpoint=True)
    assert plan.one(AKS).inputs["apiServerAccessProfile"] == {
        "enablePrivateCluster": True,
        "enablePrivateClusterPublicFQDN": True,  # the kubeconfig's name; it resolves to the private address
    }
    # The kubeconfig still points at the cluster's FQDN.
    fqdn = mock_outputs(plan, plan.one(AKS))["fqdn"]
    assert plan.raw_outputs["cluster"]["endpoint"] == f"https://{fqdn}:443"


def test_private_endpoint_never_sends_authorized_ranges(plans):
    # The spec refuses --private-endpoint with --allow-cidr; AKS takes no authorized ranges on a
    # private endpoint either, so the recipe leaves them out even for a spec built past validation.
    with pytest.raises(SpecError, match="--private-endpoint"):
        azure_spec(private_endpoint=True, allow_cidrs=ALLOW_CIDRS)
    plan = plans(azure_spec(private_endpoint=True).with_changes(allow_cidrs=tuple(ALLOW_CIDRS)))
    profile = plan.one(AKS).inputs["apiServerAccessProfile"]
    assert profile["enablePrivateCluster"] is True
    assert "authorizedIPRanges" not in profile


def test_private_endpoint_changes_only_the_api_server(plans, plan):
    private = azure(plans, private_endpoint=True)
    assert private.keys() == plan.keys()
    ignored = {"apiServerAccessProfile"}
    assert {k: v for k, v in private.one(AKS).inputs.items() if k not in ignored} == {
        k: v for k, v in plan.one(AKS).inputs.items() if k not in ignored
    }
    assert not (plan.one(AKS).inputs.get("apiServerAccessProfile") or {}).get("enablePrivateCluster")


def test_private_endpoint_and_kms_together(plans, kms_spec):
    plan = azure(plans, kms=True, private_endpoint=True)
    cluster = plan.one(AKS).inputs
    assert cluster["apiServerAccessProfile"]["enablePrivateCluster"] is True
    assert cluster["securityProfile"]["azureKeyVaultKms"]["enabled"] is True
    # The vault stays reachable for AKS KMS in its "Public" mode.
    assert plan.one(VAULT).inputs["properties"]["publicNetworkAccess"] == "Enabled"
