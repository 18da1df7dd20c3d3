"""The AKS cluster as planned: tier, system pool, Entra ID, upgrades, kubeconfig, what waits for it."""

from __future__ import annotations

import yaml

from provisioner.analysis.mockcloud import azure as azure_mock
from recipes.azure import roles
from recipes.facts import azure as facts
from recipes.facts import any_cloud as k8s_facts

from tests.recipes.azure.helpers import azure, cluster_id, mock_outputs, registry_id, rg_id, role_assignments, subnet_id


def pool(plan) -> dict:
    (profile,) = plan.one(facts.AKS_CLUSTER).inputs["agentPoolProfiles"]
    return profile


def test_aks_free_tier_named_from_the_spec(plan, spec):
    cluster = plan.one(facts.AKS_CLUSTER)
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
    assert "agentPoolProfiles[0].count" in plan.one(facts.AKS_CLUSTER).ignore_changes


def test_custom_node_size_and_bounds_are_honoured(plans):
    plan = azure(plans, node_type="Standard_D4s_v5", min_nodes=2, max_nodes=5)
    profile = pool(plan)
    assert profile["vmSize"] == "Standard_D4s_v5"
    assert (profile["minCount"], profile["maxCount"], profile["count"]) == (2, 5, 2)
    assert profile["enableAutoScaling"] is True


def test_oidc_issuer_and_workload_identity(plan):
    cluster = plan.one(facts.AKS_CLUSTER).inputs
    assert cluster["oidcIssuerProfile"] == {"enabled": True}
    assert cluster["securityProfile"]["workloadIdentity"] == {"enabled": True}
    # No pod-identity (v1) add-on, no node-wide cloud credentials.
    assert "podIdentityProfile" not in cluster


def test_rbac_with_entra_id_and_no_local_accounts(plan):
    cluster = plan.one(facts.AKS_CLUSTER).inputs
    assert cluster["enableRBAC"] is True
    assert cluster["aadProfile"] == {"managed": True, "enableAzureRBAC": True}
    assert cluster["disableLocalAccounts"] is True


def test_upgrade_channels(plans, plan):
    # AKS's default minor at creation is kept, and patched: "stable" would move it to minors
    # the pinned charts may not support.
    assert plan.one(facts.AKS_CLUSTER).inputs["autoUpgradeProfile"] == {"upgradeChannel": "patch", "nodeOSUpgradeChannel": "NodeImage"}
    pinned = azure(plans, kubernetes_version="1.32").one(facts.AKS_CLUSTER).inputs
    assert pinned["kubernetesVersion"] == "1.32"
    assert pinned["autoUpgradeProfile"] == {"upgradeChannel": "patch", "nodeOSUpgradeChannel": "NodeImage"}


def test_control_plane_identity_may_join_only_its_subnet(plan, spec):
    cluster = plan.one(facts.AKS_CLUSTER)
    identity = plan.one(facts.USER_ASSIGNED_IDENTITY, "cluster-identity")
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
    assert plan.one(facts.AKS_CLUSTER).urn in admin.dependencies


# ---------------------------------------------------------------------------
# Kubeconfig and the Kubernetes provider


def test_kubeconfig_reaches_the_clusters_fqdn_with_its_ca(plan, spec):
    """What is AKS's own in the kubeconfig; the rest is every cloud's (tests/recipes/test_secrets.py)."""
    config = yaml.safe_load(plan.raw_outputs["cluster"]["kubeconfig"])
    assert plan.raw_outputs["cluster"]["context"] == spec.names.kube_context() == "recipe-ml-dev"
    (cluster,) = config["clusters"]
    fqdn = mock_outputs(plan, plan.one(facts.AKS_CLUSTER))["fqdn"]
    assert cluster["cluster"]["server"] == plan.raw_outputs["cluster"]["endpoint"] == f"https://{fqdn}:443"
    # The CA is the one the cluster's user credentials carry.
    assert cluster["cluster"]["certificate-authority-data"] == azure_mock.FAKE_CA_DATA


def test_kubernetes_provider_is_secret_and_waits_for_the_admin_role(plan, helpers):
    provider = plan.one(k8s_facts.KUBERNETES_PROVIDER)
    assert "kubeconfig" in provider.secret_inputs
    (admin,) = role_assignments(plan, roles.AKS_RBAC_CLUSTER_ADMIN)
    assert admin.urn in provider.dependencies
    assert plan.one(facts.AKS_CLUSTER).urn in plan.deps_closure(provider)
    for r in plan.custom("kubernetes:"):
        assert helpers.provider_urn(r.provider) == provider.urn, r.name


def test_workloads_wait_for_the_cluster_node_pool(plans, plan):
    cluster = plan.one(facts.AKS_CLUSTER).urn  # the system pool is part of the cluster resource
    for name in ("tracker-server", "tracker-db"):
        assert cluster in plan.one(k8s_facts.DEPLOYMENT, name).dependencies, name
    for release in plan.by_type(k8s_facts.HELM_RELEASE):
        assert cluster in release.dependencies, release.name
    kserve = azure(plans, deployer="kserve")
    assert {r.name for r in kserve.by_type(k8s_facts.HELM_RELEASE)} >= {"cert-manager", "kserve-crd", "kserve"}
    for release in kserve.by_type(k8s_facts.HELM_RELEASE):
        assert kserve.one(facts.AKS_CLUSTER).urn in release.dependencies, release.name


def test_aks_scales_itself_and_brings_its_storage_class(plan):
    # No Cluster Autoscaler chart and no StorageClass of ours: AKS has both built in.
    assert "cluster-autoscaler" not in {r.name for r in plan.by_type(k8s_facts.HELM_RELEASE)}
    assert plan.by_type("kubernetes:storage.k8s.io/v1:StorageClass") == []
    claim = plan.one("kubernetes:core/v1:PersistentVolumeClaim", "tracker-db-data")
    assert claim.inputs["spec"]["storageClassName"] == "managed-csi"


def test_mock_answers_resource_ids_of_the_real_shape(plan, spec):
    # The plan records what the program read back: ARM ids under the fake subscription.
    assert plan.one(facts.ROLE_ASSIGNMENT, "cluster-admin-00000000-0000-4000-8000-000000000003").inputs["scope"] == cluster_id(spec)
    assert plan.one(facts.ROLE_ASSIGNMENT, "registry-kubelet-pull").inputs["scope"] == registry_id(spec)
    assert azure_mock.arm_id(facts.RESOURCE_GROUP, "group", {"resourceGroupName": "rg-x"}) == rg_id("rg-x")
