"""--audit-logs and --network-rules on Azure (prod's defaults), as planned, and what the mock cloud refuses.

Flow logs (L1), blob access logs (L2) and control-plane logs (C2) go to the stack's own
log account and Log Analytics workspace, kept with the data; the storage account and the
registry deny by default and admit the cluster's network and --allow-cidr (B7). Azure's
rules for those settings are the mock's (provisioner/analysis/mockcloud/azure.py): each
rule is shown refusing what Azure refuses, and the real program is shown passing them.
"""

from __future__ import annotations

import gc

import pytest

from provisioner.analysis.mockcloud import Context
from provisioner.analysis.mockcloud import azure as azure_mock
from provisioner.analysis.plan import run_plan
from provisioner.engine.teardown import kept_urns
from recipes import build
from recipes.azure import firewall, network_rules_warning
from recipes.facts import azure as facts

from tests.recipes.azure.helpers import (
    azure, azure_spec, cluster_id, mock_outputs, rg_id, role_assignments, storage_id, subnet_id,
)
from tests.recipes.plans import ALLOW_CIDRS, STORAGE_ONLY

# As Azure documents them (not recipes/azure/roles.py's copy).
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
AKS_CATEGORIES = {"kube-apiserver", "kube-audit", "kube-controller-manager", "kube-scheduler", "cluster-autoscaler",
                  "cloud-controller-manager", "guard", "csi-azuredisk-controller", "csi-azurefile-controller",
                  "csi-snapshot-controller"}
AUDIT_TYPES = (facts.FLOW_LOG, facts.DIAGNOSTIC_SETTING, facts.LOG_ANALYTICS_WORKSPACE)


def workspace_id(spec) -> str:
    return rg_id(spec.names.resource_group("data")) + f"/providers/Microsoft.OperationalInsights/workspaces/log-{spec.name}"


def log_account(plan):
    return plan.one(facts.STORAGE_ACCOUNT, "audit-account")


# ---------------------------------------------------------------------------
# The switches


def test_dev_has_no_audit_logs_and_no_firewalls(plan, spec):
    assert not spec.audit_logs and not spec.network_rules
    assert not [r for t in (*AUDIT_TYPES, facts.PUBLIC_IP_ADDRESS) for r in plan.by_type(t)]
    assert len(plan.by_type(facts.STORAGE_ACCOUNT)) == 1
    # Azure's default, said explicitly: any network (Entra ID only), trusted services through.
    assert plan.one(facts.STORAGE_ACCOUNT).inputs["networkRuleSet"] == {"defaultAction": "Allow", "bypass": "AzureServices"}
    assert "serviceEndpoints" not in plan.one(facts.SUBNET).inputs
    assert "loadBalancerProfile" not in plan.one(facts.AKS_CLUSTER).inputs["networkProfile"]
    registry = plan.one(facts.CONTAINER_REGISTRY).inputs
    assert registry["sku"] == {"name": "Basic"} and "networkRuleSet" not in registry


def test_prod_turns_both_on_and_flags_turn_them_off(prod_spec):
    assert prod_spec.audit_logs and prod_spec.network_rules and prod_spec.kms
    off = azure_spec(profile="prod", audit_logs=False, network_rules=False)
    assert not off.audit_logs and not off.network_rules
    assert azure_spec(audit_logs=True).audit_logs and azure_spec(network_rules=True).network_rules


# ---------------------------------------------------------------------------
# --audit-logs


def test_what_goes_with_the_stack_and_what_stays_with_the_data(prod, prod_spec):
    groups = {r.name: r.inputs["resourceGroupName"] for r in prod.resources
              if r.type in (facts.PUBLIC_IP_ADDRESS, facts.LOG_ANALYTICS_WORKSPACE, facts.STORAGE_ACCOUNT,
                            facts.USER_ASSIGNED_IDENTITY, facts.FLOW_LOG)}
    main, data = prod_spec.names.resource_group(), prod_spec.names.resource_group("data")
    assert groups == {"network-egress": main, "network-flow-logs-identity": main, "cluster-identity": main,
                      "mlflow-identity-identity": main, "pipelines-identity-identity": main,
                      "audit-workspace": data, "audit-account": data, "bucket": data, "kms-identity": data,
                      "network-flow-logs": "NetworkWatcherRG"}  # the subscription's Network Watcher
    assert {r.inputs["location"] for r in prod.custom("azure-native:") if "location" in r.inputs} == {"westeurope"}


def test_the_workspace_keeps_logs_90_days_without_keys_and_outlives_the_stack(prod, prod_spec, plans):
    workspace = prod.one(facts.LOG_ANALYTICS_WORKSPACE)
    assert workspace.inputs["workspaceName"] == f"log-{prod_spec.name}"
    assert workspace.inputs["resourceGroupName"] == prod_spec.names.resource_group("data")
    assert workspace.inputs["retentionInDays"] == 90 and workspace.inputs["sku"] == {"name": "PerGB2018"}
    assert workspace.inputs["features"] == {"disableLocalAuth": True}
    assert workspace.retain_on_delete and workspace.protect  # D1: logs kept for audit
    released = plans(prod_spec.with_changes(delete_data=True)).one(facts.LOG_ANALYTICS_WORKSPACE)
    assert not released.retain_on_delete and not released.protect


def test_every_control_plane_log_with_the_complete_audit_goes_to_the_workspace(prod, prod_spec):
    setting = prod.one(facts.DIAGNOSTIC_SETTING, "cluster-audit-logs")
    assert setting.inputs["resourceUri"] == cluster_id(prod_spec)
    assert setting.inputs["workspaceId"] == workspace_id(prod_spec)
    assert setting.inputs["logAnalyticsDestinationType"] == "Dedicated"  # resource-specific tables
    logs = setting.inputs["logs"]
    assert all(log["enabled"] is True for log in logs)
    # kube-audit holds every request, reads included; kube-audit-admin (its subset) would bill twice.
    assert {log["category"] for log in logs} == AKS_CATEGORIES
    assert prod.one(facts.AKS_CLUSTER).urn in setting.dependencies
    assert not setting.retain_on_delete  # it goes with the cluster


def test_blob_reads_writes_and_deletes_are_logged_as_long_as_the_bucket(prod, prod_spec):
    setting = prod.one(facts.DIAGNOSTIC_SETTING, "bucket-access-logs")
    assert setting.inputs["resourceUri"] == storage_id(prod_spec) + "/blobServices/default"
    assert setting.inputs["workspaceId"] == workspace_id(prod_spec)
    assert {(log["category"], log["enabled"]) for log in setting.inputs["logs"]} == {
        ("StorageRead", True), ("StorageWrite", True), ("StorageDelete", True)}
    assert prod.one(facts.BLOB_SERVICE_PROPERTIES, "bucket-blob-service").urn in setting.dependencies
    assert setting.retain_on_delete and setting.protect


def test_vnet_flow_logs_go_to_a_log_account_through_their_own_identity(prod, prod_spec):
    flow = prod.one(facts.FLOW_LOG).inputs
    account = log_account(prod).inputs
    assert (flow["resourceGroupName"], flow["networkWatcherName"]) == ("NetworkWatcherRG", "NetworkWatcher_westeurope")
    assert flow["targetResourceId"] == rg_id(prod_spec.names.resource_group()) + f"/providers/Microsoft.Network/virtualNetworks/vnet-{prod_spec.name}"
    assert flow["storageId"] == (rg_id(prod_spec.names.resource_group("data"))
                                 + f"/providers/Microsoft.Storage/storageAccounts/{account['accountName']}")
    assert flow["enabled"] is True and flow["retentionPolicy"] == {"enabled": True, "days": 90}
    assert flow["format"] == {"type": "JSON", "version": 2}
    (writer_id,) = flow["identity"]["userAssignedIdentities"]
    assert flow["identity"]["type"] == "UserAssigned" and writer_id.endswith(f"/id-{prod_spec.name}-flowlogs")
    # The identity writes the log account, nothing else; the flow log waits until that is in effect.
    (writer,) = [a for a in role_assignments(prod, STORAGE_BLOB_DATA_CONTRIBUTOR)
                 if a.inputs["principalId"] == azure_mock.fake_guid("principal", f"id-{prod_spec.name}-flowlogs")]
    assert writer.inputs["scope"] == flow["storageId"]
    (wait,) = [r for r in prod.resources if r.type == "time:index/sleep:Sleep" and "network-flow-logs-writer" in r.name]
    assert {writer.urn, wait.urn} <= set(prod.one(facts.FLOW_LOG).dependencies)


def test_the_log_account_is_hardened_like_the_bucket_and_kept(prod, prod_spec):
    account = log_account(prod)
    inputs = account.inputs
    name = inputs["accountName"]
    assert 3 <= len(name) <= 24 and name.isalnum() and name.islower() and name != prod_spec.names.storage_account()
    assert inputs["allowSharedKeyAccess"] is False and inputs["allowBlobPublicAccess"] is False  # B6, B1
    assert inputs["enableHttpsTrafficOnly"] is True and inputs["minimumTlsVersion"] == "TLS1_2"  # B4
    assert inputs["encryption"]["keySource"] == "Microsoft.Keyvault"  # B3 under --kms, like the bucket
    assert account.retain_on_delete and account.protect
    service = prod.one(facts.BLOB_SERVICE_PROPERTIES, "audit-account-blob-service").inputs
    assert service["isVersioningEnabled"] is True and service["deleteRetentionPolicy"]["enabled"] is True  # B5
    (rule,) = prod.one(facts.STORAGE_MANAGEMENT_POLICY, "audit-account-lifecycle").inputs["policy"]["rules"]
    assert rule["definition"]["actions"]["baseBlob"]["delete"]["daysAfterModificationGreaterThan"] == 90
    assert rule["definition"]["actions"]["version"]["delete"]["daysAfterCreationGreaterThan"] == 1
    # Whoever deploys reads the logs; no workload identity may write them.
    (reader,) = role_assignments(prod, STORAGE_BLOB_DATA_READER)
    assert reader.inputs["principalId"] == azure_mock.FAKE_DEPLOYER_OBJECT_ID
    on_account = [a for a in role_assignments(prod) if a.inputs["scope"].endswith(f"/storageAccounts/{name}")]
    assert {a.name for a in on_account} == {"audit-deployer-read", "network-flow-logs-writer"}


def test_audit_logs_without_the_rest_of_prod(plans):
    plan = azure(plans, audit_logs=True)
    assert len(plan.by_type(facts.DIAGNOSTIC_SETTING)) == 2 and len(plan.by_type(facts.FLOW_LOG)) == 1
    assert log_account(plan).inputs["networkRuleSet"]["defaultAction"] == "Allow"
    assert "encryption" not in log_account(plan).inputs


def test_a_storage_only_stack_logs_blob_access_only(plans):
    plan = azure(plans, audit_logs=True, **STORAGE_ONLY)
    assert [r.name for r in plan.by_type(facts.DIAGNOSTIC_SETTING)] == ["bucket-access-logs"]
    assert not plan.by_type(facts.FLOW_LOG) and len(plan.by_type(facts.STORAGE_ACCOUNT)) == 1


# ---------------------------------------------------------------------------
# --network-rules


def test_the_storage_account_admits_the_node_subnet_and_allow_cidr_only(prod, prod_spec):
    account = prod.one(facts.STORAGE_ACCOUNT, "bucket")
    rules = account.inputs["networkRuleSet"]
    assert rules["defaultAction"] == "Deny" and rules["bypass"] == "AzureServices"  # B7, trusted services
    # Storage refuses /32 prefixes: the single address goes bare.
    assert [r["iPAddressOrRange"] for r in rules["ipRules"]] == ["203.0.113.0/24", "198.51.100.7"]
    assert rules["virtualNetworkRules"] == [{"virtualNetworkResourceId": subnet_id(prod_spec), "action": "Allow"}]
    assert account.inputs["publicNetworkAccess"] == "Enabled"
    # The rule names the subnet, which must have the endpoint first (the mock checks it, so does Azure).
    subnet = prod.one(facts.SUBNET)
    assert subnet.inputs["serviceEndpoints"] == [{"service": "Microsoft.Storage"}]
    assert subnet.urn in account.dependencies
    assert log_account(prod).inputs["networkRuleSet"]["defaultAction"] == "Deny"


def test_the_registry_is_premium_and_admits_the_clusters_egress_and_allow_cidr(prod, prod_spec):
    registry = prod.one(facts.CONTAINER_REGISTRY).inputs
    egress = prod.one(facts.PUBLIC_IP_ADDRESS)
    address = mock_outputs(prod, egress)["ipAddress"]
    assert registry["sku"] == {"name": "Premium"}
    assert registry["networkRuleSet"] == {"defaultAction": "Deny", "ipRules": [
        {"action": "Allow", "iPAddressOrRange": value} for value in ("203.0.113.0/24", "198.51.100.7", address)]}
    assert registry["networkRuleBypassOptions"] == "AzureServices" and registry["publicNetworkAccess"] == "Enabled"
    # The cluster egresses through that address, which its control plane may join.
    assert egress.inputs["sku"] == {"name": "Standard", "tier": "Regional"}
    assert egress.inputs["publicIPAllocationMethod"] == "Static"
    pip_id = rg_id(prod_spec.names.resource_group()) + f"/providers/Microsoft.Network/publicIPAddresses/pip-{prod_spec.name}-egress"
    cluster = prod.one(facts.AKS_CLUSTER)
    assert cluster.inputs["networkProfile"]["loadBalancerProfile"] == {"outboundIPs": {"publicIPs": [{"id": pip_id}]}}
    (join,) = [a for a in role_assignments(prod, NETWORK_CONTRIBUTOR) if a.inputs["scope"] == pip_id]
    assert join.urn in cluster.dependencies


def test_without_allow_cidr_only_the_cluster_passes_and_the_plan_says_so(prod_open):
    spec = prod_open.spec
    assert prod_open.one(facts.STORAGE_ACCOUNT, "bucket").inputs["networkRuleSet"]["ipRules"] == []
    (rule,) = prod_open.one(facts.CONTAINER_REGISTRY).inputs["networkRuleSet"]["ipRules"]
    assert rule["iPAddressOrRange"] == mock_outputs(prod_open, prod_open.one(facts.PUBLIC_IP_ADDRESS))["ipAddress"]
    warning = network_rules_warning(spec)
    assert "cannot push images or read the bucket" in warning and "--allow-cidr YOUR.PUBLIC.IP/32" in warning


def test_the_warning_only_when_the_deploying_machine_is_shut_out():
    assert network_rules_warning(azure_spec(profile="prod", allow_cidrs=ALLOW_CIDRS)) is None
    assert network_rules_warning(azure_spec()) is None  # no --network-rules
    private = network_rules_warning(azure_spec(profile="prod", allow_cidrs=["10.8.0.0/16"]))
    assert "10.8.0.0/16" in private and "cannot push images" in private
    mixed = network_rules_warning(azure_spec(profile="prod", allow_cidrs=["10.8.0.0/16", *ALLOW_CIDRS]))
    assert "10.8.0.0/16" in mixed and "cannot push" not in mixed


def test_ip_rules_are_what_azure_takes():
    assert firewall.ip_rule_values(["198.51.100.7/32", "203.0.113.6/31", "203.0.113.0/24", "10.0.0.0/8",
                                    "192.168.1.0/24", "100.64.0.0/10", "203.0.113.0/24"]) == (
        "198.51.100.7", "203.0.113.6", "203.0.113.7", "203.0.113.0/24")


@pytest.mark.parametrize("flags, sku, rules, encrypted", [
    ({}, "Basic", False, False),
    ({"kms": True}, "Premium", False, True),
    ({"network_rules": True}, "Premium", True, False),
    ({"kms": True, "network_rules": True}, "Premium", True, True),
], ids=["dev", "kms", "network-rules", "both"])
def test_premium_for_either_kms_or_network_rules(plans, flags, sku, rules, encrypted):
    registry = azure(plans, **flags).one(facts.CONTAINER_REGISTRY).inputs
    assert registry["sku"] == {"name": sku}
    assert ("networkRuleSet" in registry) is rules and ("encryption" in registry) is encrypted


def test_the_key_vault_stays_open_under_network_rules(prod):
    # AKS KMS (public key vault mode) and ACR's user-assigned key identity cannot pass its firewall.
    properties = prod.one(facts.KEY_VAULT).inputs["properties"]
    assert properties["publicNetworkAccess"] == "Enabled" and properties["networkAcls"]["defaultAction"] == "Allow"


def test_a_storage_only_stack_admits_allow_cidr_only(plans):
    plan = azure(plans, network_rules=True, allow_cidrs=ALLOW_CIDRS, **STORAGE_ONLY)
    assert "virtualNetworkRules" not in plan.one(facts.STORAGE_ACCOUNT).inputs["networkRuleSet"]
    assert not plan.by_type(facts.PUBLIC_IP_ADDRESS) and not plan.by_type(facts.SUBNET)


def test_a_destroy_keeps_the_network_the_data_admits_never_the_cluster(prod):
    """The data's firewalls name the node subnet and the egress address: a plain destroy keeps them
    (and their VNet and group) with the data; the cluster and everything else go."""
    deployment = {"resources": [{"urn": r.urn, "type": r.type, "custom": r.custom, "parent": r.parent,
                                 "dependencies": r.dependencies, "retainOnDelete": r.retain_on_delete,
                                 "protect": r.protect} for r in prod.resources]}
    kept = {prod.get(urn).type for urn in kept_urns(deployment) if urn in {r.urn for r in prod.resources}}
    assert {facts.SUBNET, facts.VIRTUAL_NETWORK, facts.PUBLIC_IP_ADDRESS} <= kept
    assert facts.AKS_CLUSTER not in kept and facts.FLOW_LOG not in kept


# ---------------------------------------------------------------------------
# What the mock cloud refuses, as Azure does


def context():
    return Context(azure_spec())


def account(rules: dict) -> dict:
    return {"accountName": "st1", "resourceGroupName": "rg", "location": "westeurope", "networkRuleSet": rules}


@pytest.mark.parametrize("value", ["10.1.0.0/16", "192.168.0.0/24", "198.51.100.7/32", "203.0.113.6/31", "2001:db8::/64"])
def test_storage_refuses_ip_rules_azure_refuses(value):
    with pytest.raises(azure_mock.AzureError, match=r"Values for request parameters are invalid: networkAcls\.ipRule"):
        azure_mock.computed(facts.STORAGE_ACCOUNT, "st", account({"ipRules": [{"iPAddressOrRange": value}]}), context())
    for taken in ("198.51.100.7", "203.0.113.0/24"):
        azure_mock.computed(facts.STORAGE_ACCOUNT, "st", account({"ipRules": [{"iPAddressOrRange": taken}]}), context())


def test_storage_refuses_a_subnet_rule_before_the_subnets_service_endpoint():
    ctx = context()
    subnet = {"subnetName": "nodes", "virtualNetworkName": "vnet", "resourceGroupName": "rg"}
    sid = azure_mock.arm_id(facts.SUBNET, "nodes", subnet)
    rules = {"defaultAction": "Deny", "virtualNetworkRules": [{"virtualNetworkResourceId": sid}]}
    azure_mock.computed(facts.SUBNET, "nodes", subnet, ctx)
    with pytest.raises(azure_mock.AzureError, match="SubnetsHaveNoServiceEndpointsConfigured:Subnets nodes of virtual network vnet"):
        azure_mock.computed(facts.STORAGE_ACCOUNT, "st", account(rules), ctx)
    azure_mock.computed(facts.SUBNET, "nodes", {**subnet, "serviceEndpoints": [{"service": "Microsoft.Storage"}]}, ctx)
    azure_mock.computed(facts.STORAGE_ACCOUNT, "st", account(rules), ctx)


def refused(spec, match: str) -> None:
    """A plan of the real program that the mock cloud must refuse. The failed run's futures are
    collected here: finalized later, inside a parse, they trip CPython's AST recursion check."""
    with pytest.raises(azure_mock.AzureError, match=match):
        run_plan(spec, program=build)
    gc.collect()


def test_the_real_program_is_refused_without_the_endpoint(monkeypatch):
    import recipes.azure

    monkeypatch.setattr(recipes.azure, "STORAGE_SERVICE_ENDPOINT", "Microsoft.KeyVault")
    refused(azure_spec(network_rules=True, without=["tracker", "deployer", "registry"]),
            r"creating StorageAccount \(bucket\): NetworkAclsValidationFailure")


def test_registry_network_rules_need_premium_and_ipv4():
    registry = {"registryName": "cr1", "resourceGroupName": "rg", "networkRuleSet": {"defaultAction": "Deny", "ipRules": []}}
    with pytest.raises(azure_mock.AzureError, match="IP access rules need the Premium tier"):
        azure_mock.computed(facts.CONTAINER_REGISTRY, "cr", {**registry, "sku": {"name": "Basic"}}, context())
    premium = {**registry, "sku": {"name": "Premium"}}
    azure_mock.computed(facts.CONTAINER_REGISTRY, "cr", premium, context())
    with pytest.raises(azure_mock.AzureError, match="only an IPv4 address"):
        azure_mock.computed(facts.CONTAINER_REGISTRY, "cr", {**premium, "networkRuleSet": {
            "defaultAction": "Deny", "ipRules": [{"iPAddressOrRange": "2001:db8::1"}]}}, context())


def test_flow_logs_azure_refuses():
    ctx = context()
    vnet = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet"
    flow = {"flowLogName": "f", "networkWatcherName": "NetworkWatcher_westeurope", "resourceGroupName": "NetworkWatcherRG",
            "location": "westeurope", "targetResourceId": vnet, "storageId": "/x/storageAccounts/lg1"}
    with pytest.raises(azure_mock.AzureError, match="Parent resource 'NetworkWatcher_westeurope' not found"):
        azure_mock.computed(facts.FLOW_LOG, "f", flow, ctx)  # no VNet in the region yet: no Network Watcher
    azure_mock.computed(facts.VIRTUAL_NETWORK, "vnet", {"virtualNetworkName": "vnet", "resourceGroupName": "rg",
                                                          "location": "westeurope"}, ctx)
    azure_mock.computed(facts.FLOW_LOG, "f", flow, ctx)
    with pytest.raises(azure_mock.AzureError, match="NSG flow logs can no longer be created"):
        azure_mock.computed(facts.FLOW_LOG, "f", {**flow, "targetResourceId": vnet.replace("virtualNetworks", "networkSecurityGroups")}, ctx)
    far = {"accountName": "lg2", "resourceGroupName": "rg", "location": "northeurope"}
    azure_mock.computed(facts.STORAGE_ACCOUNT, "lg2", far, ctx)
    with pytest.raises(azure_mock.AzureError, match="must be in the flow log's region"):
        azure_mock.computed(facts.FLOW_LOG, "f", {**flow, "storageId": azure_mock.arm_id(facts.STORAGE_ACCOUNT, "lg2", far)}, ctx)


def test_diagnostic_settings_azure_refuses(prod_spec):
    setting = {"name": "s", "resourceUri": cluster_id(prod_spec), "workspaceId": workspace_id(prod_spec),
               "logs": [{"category": "kube-audit", "enabled": True}]}
    azure_mock.computed(facts.DIAGNOSTIC_SETTING, "s", setting, context())
    with pytest.raises(azure_mock.AzureError, match="Category 'StorageRead' is not supported"):
        azure_mock.computed(facts.DIAGNOSTIC_SETTING, "s", {**setting, "logs": [{"category": "StorageRead", "enabled": True}]}, context())
    with pytest.raises(azure_mock.AzureError, match="At least one of storage account, event hub, log analytics workspace"):
        azure_mock.computed(facts.DIAGNOSTIC_SETTING, "s", {**setting, "workspaceId": None}, context())
