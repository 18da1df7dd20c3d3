"""The baseline's Azure predicates: one function per rule (its id in the docstring), read by rules.RULES."""

from __future__ import annotations

from provisioner.analysis.plan import Plan, PlannedResource
from recipes.facts.azure import (
    AKS_CLUSTER,
    BLOB_CONTAINER,
    BLOB_SERVICE_PROPERTIES,
    CONTAINER_REGISTRY,
    DIAGNOSTIC_SETTING,
    FLOW_LOG,
    KEY_VAULT,
    ROLE_ASSIGNMENT,
    STORAGE_ACCOUNT,
    VIRTUAL_NETWORK,
)

from .queries import (
    NO_CLUSTER,
    Verdict,
    as_list,
    each,
    each_of,
    get,
    linked,
    of,
    option_if_present,
    present,
    restricted_endpoint,
    secrets_encryption,
)

# Built-in roles too broad for any of the stack's identities (I1), by role definition id.
BROAD_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
}


# --------------------------------------------------------------------------
# Storage account


def storage_private(plan: Plan) -> Verdict:
    """B1: blob public access off on the account, and no public container."""
    accounts = each_of(plan, STORAGE_ACCOUNT, lambda r: r.inputs.get("allowBlobPublicAccess") is False,
                       "blob public access off", "allowBlobPublicAccess is not false")
    if accounts.status != "pass":
        return accounts
    return each_of(plan, BLOB_CONTAINER, lambda r: r.inputs.get("publicAccess", "None") == "None",
                   "storage account and containers private", "container publicAccess is not None")


def storage_encrypted(plan: Plan) -> Verdict:
    """B3: Microsoft-managed keys by default; the stack's Key Vault key under --kms."""
    if not plan.spec.kms:
        return present(plan, STORAGE_ACCOUNT, "Microsoft-managed keys (--kms for a customer-managed key)")
    return each_of(plan, STORAGE_ACCOUNT, lambda r: get(r.inputs, "encryption", "keySource") == "Microsoft.Keyvault",
                   "Key Vault key", "--kms given but the storage account does not use a Key Vault key")


def _https_only(r: PlannedResource) -> bool:
    return r.inputs.get("enableHttpsTrafficOnly") is True and r.inputs.get("minimumTlsVersion") == "TLS1_2"


def storage_https_only(plan: Plan) -> Verdict:
    """B4"""
    return each_of(plan, STORAGE_ACCOUNT, _https_only, "HTTPS only, TLS 1.2", "HTTP allowed or TLS below 1.2")


def storage_versioned(plan: Plan) -> Verdict:
    """B5: blob versioning and delete retention on the account's blob service."""

    def ok(account: PlannedResource) -> bool:
        return any(p.inputs.get("isVersioningEnabled") is True and get(p.inputs, "deleteRetentionPolicy", "enabled") is True
                   for p in linked(plan, account, BLOB_SERVICE_PROPERTIES))

    return each_of(plan, STORAGE_ACCOUNT, ok, "blob versioning and soft delete", "no blob versioning or delete retention")


def _shared_keys_off(r: PlannedResource) -> bool:
    return r.inputs.get("allowSharedKeyAccess") is False


def storage_shared_keys_off(plan: Plan) -> Verdict:
    """B6"""
    return each_of(plan, STORAGE_ACCOUNT, _shared_keys_off, "shared keys off", "shared key access allowed")


# --------------------------------------------------------------------------
# Registry


def registry_scanning(plan: Plan) -> Verdict:
    """R2: an option (Defender for Containers)."""
    return option_if_present(plan, CONTAINER_REGISTRY, "ACR scanning needs Microsoft Defender for Containers (costs money)")


def _admin_and_anonymous_off(r: PlannedResource) -> bool:
    return r.inputs.get("adminUserEnabled") is False and r.inputs.get("anonymousPullEnabled") is False


def registry_private(plan: Plan) -> Verdict:
    """R3"""
    return each_of(plan, CONTAINER_REGISTRY, _admin_and_anonymous_off, "admin user and anonymous pull off",
                   "admin user or anonymous pull on")


def registry_retention(plan: Plan) -> Verdict:
    """R4: an option (the Premium tier, or an `acr purge` task)."""
    return option_if_present(plan, CONTAINER_REGISTRY, "ACR retention needs the Premium tier (or an `acr purge` task)")


# --------------------------------------------------------------------------
# Cluster and nodes


def _endpoint_private(c: PlannedResource) -> bool:
    return get(c.inputs, "apiServerAccessProfile", "enablePrivateCluster") is True


def _endpoint_restricted(c: PlannedResource) -> bool:
    return bool(get(c.inputs, "apiServerAccessProfile", "authorizedIPRanges"))


def endpoint_restricted(plan: Plan) -> Verdict:
    """C1"""
    return restricted_endpoint(plan, AKS_CLUSTER, _endpoint_private, _endpoint_restricted)


def _logs(plan: Plan, resource: PlannedResource, categories: set[str]) -> bool:
    """Whether a diagnostic setting on `resource` sends every one of `categories` to a destination."""
    for setting in linked(plan, resource, DIAGNOSTIC_SETTING):
        sent = {log.get("category") for log in as_list(setting.inputs.get("logs")) if log.get("enabled") is True}
        destination = any(setting.inputs.get(k) for k in ("workspaceId", "storageAccountId", "eventHubAuthorizationRuleId"))
        if destination and categories <= sent:
            return True
    return False


def control_plane_logged(plan: Plan) -> Verdict:
    """C2: with --audit-logs, the complete audit log (kube-audit) and the API server's to Log Analytics;
    an option otherwise (Log Analytics bills per GB)."""
    if not plan.spec.audit_logs:
        return option_if_present(plan, AKS_CLUSTER, "AKS control-plane logs go to Log Analytics, billed per GB: "
                                 "--audit-logs", NO_CLUSTER)
    if not of(plan, AKS_CLUSTER):
        return Verdict("n/a", NO_CLUSTER)
    return each_of(plan, AKS_CLUSTER, lambda c: _logs(plan, c, {"kube-audit", "kube-apiserver"}),
                   "control-plane logs, the complete kube-audit included, to Log Analytics",
                   "--audit-logs given but the cluster does not send kube-audit and kube-apiserver logs")


def _enforces_policies(c: PlannedResource) -> bool:
    profile = c.inputs.get("networkProfile") or {}
    policy = profile.get("networkPolicy")
    if policy == "cilium":  # enforced by the Cilium dataplane only
        return profile.get("networkDataplane") == "cilium"
    return policy in ("azure", "calico")


def network_policy_enforced(plan: Plan) -> Verdict:
    """N4: a NetworkPolicy engine runs (Azure CNI powered by Cilium), so the stack's NetworkPolicies apply."""
    if not of(plan, AKS_CLUSTER):
        return Verdict("n/a", NO_CLUSTER)
    return each_of(plan, AKS_CLUSTER, _enforces_policies, "NetworkPolicies enforced (Cilium)",
                   "no network policy engine: NetworkPolicies would be accepted and ignored")


# --------------------------------------------------------------------------
# Logs and firewalls (--audit-logs, --network-rules)


def flow_logs(plan: Plan) -> Verdict:
    """L1: with --audit-logs, every VNet has an enabled flow log that keeps its records; an option otherwise."""
    if not of(plan, VIRTUAL_NETWORK):
        return Verdict("n/a", "no virtual network in this stack")
    if not plan.spec.audit_logs:
        return Verdict("option", "VNet flow logs are billed per GB collected: --audit-logs")

    def ok(vnet: PlannedResource) -> bool:
        return any(f.inputs.get("enabled") is True and get(f.inputs, "retentionPolicy", "enabled") is True
                   and f.inputs.get("storageId") for f in linked(plan, vnet, FLOW_LOG))

    return each_of(plan, VIRTUAL_NETWORK, ok, "VNet flow logs kept in the stack's log account",
                   "--audit-logs given but a VNet has no enabled flow log with retention")


def _bucket_accounts(plan: Plan) -> list[PlannedResource]:
    """The storage accounts that hold the bucket (a blob container), not the flow log account."""
    return [a for a in of(plan, STORAGE_ACCOUNT) if linked(plan, a, BLOB_CONTAINER)]


def bucket_access_logs(plan: Plan) -> Verdict:
    """L2: with --audit-logs, the bucket's blob reads, writes and deletes are logged; an option otherwise."""
    accounts = _bucket_accounts(plan)
    if not accounts:
        return Verdict("n/a", "no bucket in this stack")
    if not plan.spec.audit_logs:
        return Verdict("option", "blob access logs are billed per GB in Log Analytics: --audit-logs")
    logged = {"StorageRead", "StorageWrite", "StorageDelete"}

    def ok(account: PlannedResource) -> bool:
        return any(_logs(plan, service, logged) for service in linked(plan, account, BLOB_SERVICE_PROPERTIES))

    return each(accounts, ok, "blob reads, writes and deletes logged to Log Analytics",
                "--audit-logs given but the bucket's blob access is not logged")


def _denies(r: PlannedResource) -> bool:
    """No public endpoint, or a public endpoint that denies what its rules do not admit."""
    return r.inputs.get("publicNetworkAccess") == "Disabled" or get(r.inputs, "networkRuleSet", "defaultAction") == "Deny"


def service_firewalls(plan: Plan) -> Verdict:
    """B7: with --network-rules, the storage accounts and the registry (Premium) deny by default; the Key
    Vault stays reachable (AKS KMS in public mode and ACR's user-assigned key identity cannot pass its
    firewall), said as a warning; an option otherwise."""
    services = of(plan, STORAGE_ACCOUNT) + of(plan, CONTAINER_REGISTRY)
    if not services:
        return Verdict("n/a", "no storage account or registry in this stack")
    if not plan.spec.network_rules:
        return Verdict("option", "storage and registry firewalls (the registry then Premium): --network-rules")
    bad = [r.name for r in services if not _denies(r)]
    bad += [r.name for r in of(plan, CONTAINER_REGISTRY) if get(r.inputs, "sku", "name") != "Premium"]
    if bad:
        return Verdict("fail", "--network-rules given but a storage account or registry admits any network", bad)
    vaults = [v.name for v in of(plan, KEY_VAULT) if get(v.inputs, "properties", "networkAcls", "defaultAction") != "Deny"]
    if vaults:
        return Verdict("warn", "storage and registry deny by default; the Key Vault stays reachable from the internet "
                       "(Entra ID and RBAC on every call): AKS KMS in public key vault mode and ACR's user-assigned key "
                       "identity cannot pass a Key Vault firewall", vaults)
    return Verdict("pass", "storage accounts and registry deny by default; cluster network, --allow-cidr and "
                   "trusted Azure services only")


def _kms_secrets(c: PlannedResource) -> bool:
    return get(c.inputs, "securityProfile", "azureKeyVaultKms", "enabled") is True


def secrets_envelope_encrypted(plan: Plan) -> Verdict:
    """C3"""
    return secrets_encryption(plan, AKS_CLUSTER, _kms_secrets)


def _entra_rbac_only(c: PlannedResource) -> bool:
    return c.inputs.get("enableRBAC") is True and c.inputs.get("disableLocalAccounts") is True \
        and get(c.inputs, "aadProfile", "enableAzureRBAC") is True


def rbac_only(plan: Plan) -> Verdict:
    """C4"""
    return each_of(plan, AKS_CLUSTER, _entra_rbac_only, "Entra ID + Azure RBAC, local accounts off", "local accounts or no RBAC")


def _workload_identity_on(c: PlannedResource) -> bool:
    return get(c.inputs, "oidcIssuerProfile", "enabled") is True \
        and get(c.inputs, "securityProfile", "workloadIdentity", "enabled") is True


def workload_identity(plan: Plan) -> Verdict:
    """C5"""
    return each_of(plan, AKS_CLUSTER, _workload_identity_on, "OIDC issuer + workload identity", "no workload identity")


def _upgrade_channel(c: PlannedResource) -> bool:
    return get(c.inputs, "autoUpgradeProfile", "upgradeChannel") not in (None, "none")


def supported_version(plan: Plan) -> Verdict:
    """C6"""
    return each_of(plan, AKS_CLUSTER, _upgrade_channel, "auto-upgrade channel", "no auto-upgrade channel")


def _no_node_public_ips(c: PlannedResource) -> bool:
    return all(p.get("enableNodePublicIP") is False for p in as_list(c.inputs.get("agentPoolProfiles")))


def nodes_private(plan: Plan) -> Verdict:
    """N1"""
    return each_of(plan, AKS_CLUSTER, _no_node_public_ips, "no node public IPs", "nodes with public IPs")


def _node_os_upgrades(c: PlannedResource) -> bool:
    return get(c.inputs, "autoUpgradeProfile", "nodeOSUpgradeChannel") not in (None, "None")


def nodes_maintained(plan: Plan) -> Verdict:
    """N3"""
    return each_of(plan, AKS_CLUSTER, _node_os_upgrades, "node image upgrades", "no node OS upgrades")


def iam_scoped(plan: Plan) -> Verdict:
    """I1: no Owner/Contributor-style role, every assignment scoped below the subscription."""
    bad = []
    for r in of(plan, ROLE_ASSIGNMENT):
        definition = str(r.inputs.get("roleDefinitionId", "")).rsplit("/", 1)[-1]
        scope = str(r.inputs.get("scope", ""))
        if definition in BROAD_ROLES or scope.count("/") <= 2:  # "/subscriptions/<id>" or broader
            bad.append(r.name)
    if bad:
        return Verdict("fail", "Owner/Contributor-style roles or subscription-wide scopes", bad)
    return Verdict("pass", "every role assignment scoped to one resource")
