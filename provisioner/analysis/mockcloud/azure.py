"""Mock answers for pulumi-azure-native resources and data sources.

Resources get their `name` (from the input that names them) and an ARM id of
the real shape under the fake subscription; the few computed outputs the Azure
recipe reads back (AKS FQDN, OIDC issuer, kubelet identity, managed identity
client/principal ids, ACR login server, Key Vault URI, key URIs) are derived
deterministically from those names.

Where Azure refuses what a program asks, so does this mock (`AzureError`, Azure's
code and message): AKS policy engines without their dataplane, storage IP rules
Azure does not take (private ranges, /31, /32), a storage VNet rule for a subnet
without the `Microsoft.Storage` endpoint, registry network rules below Premium, NSG
flow logs (retired), a flow log before its region's Network Watcher exists or into
another region's account, a diagnostic setting with a category the resource lacks.
What the plan created so far is recorded in `context.state["azure"]`.
"""

from __future__ import annotations

import base64
import ipaddress
import uuid
from typing import Any

import yaml

from recipes.facts.azure import (
    AKS_CLUSTER,
    BLOB_CONTAINER,
    BLOB_SERVICE_PROPERTIES,
    CONTAINER_REGISTRY,
    DIAGNOSTIC_SETTING,
    FEDERATED_IDENTITY_CREDENTIAL,
    FLOW_LOG,
    KEY_VAULT,
    KEY_VAULT_KEY,
    LOG_ANALYTICS_WORKSPACE,
    PUBLIC_IP_ADDRESS,
    RESOURCE_GROUP,
    ROLE_ASSIGNMENT,
    STORAGE_ACCOUNT,
    STORAGE_MANAGEMENT_POLICY,
    SUBNET,
    USER_ASSIGNED_IDENTITY,
    VIRTUAL_NETWORK,
)

from . import FAKE_AZURE_SUBSCRIPTION as SUBSCRIPTION
from . import FAKE_AZURE_DEPLOYER_OBJECT_ID
from . import FAKE_AZURE_TENANT as TENANT
from . import Context, digest

# The object id `getClientConfig` reports for whoever runs the plan.
FAKE_DEPLOYER_OBJECT_ID = FAKE_AZURE_DEPLOYER_OBJECT_ID
FAKE_DEPLOYER_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"  # the Azure CLI's public client
FAKE_CA_DATA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMOCK AKS CA\n-----END CERTIFICATE-----\n").decode()

# type token -> (input that names the resource, ARM id template).
# Templates see the inputs plus `sub` and `name`.
_RG = "/subscriptions/{sub}/resourceGroups/{resourceGroupName}"
RESOURCES: dict[str, tuple[str, str]] = {
    RESOURCE_GROUP: ("resourceGroupName", "/subscriptions/{sub}/resourceGroups/{name}"),
    VIRTUAL_NETWORK: ("virtualNetworkName", _RG + "/providers/Microsoft.Network/virtualNetworks/{name}"),
    SUBNET: (
        "subnetName", _RG + "/providers/Microsoft.Network/virtualNetworks/{virtualNetworkName}/subnets/{name}"
    ),
    AKS_CLUSTER: (
        "resourceName", _RG + "/providers/Microsoft.ContainerService/managedClusters/{name}"
    ),
    STORAGE_ACCOUNT: ("accountName", _RG + "/providers/Microsoft.Storage/storageAccounts/{name}"),
    BLOB_SERVICE_PROPERTIES: (
        "blobServicesName", _RG + "/providers/Microsoft.Storage/storageAccounts/{accountName}/blobServices/{name}"
    ),
    BLOB_CONTAINER: (
        "containerName",
        _RG + "/providers/Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers/{name}",
    ),
    STORAGE_MANAGEMENT_POLICY: (
        "managementPolicyName",
        _RG + "/providers/Microsoft.Storage/storageAccounts/{accountName}/managementPolicies/{name}",
    ),
    CONTAINER_REGISTRY: (
        "registryName", _RG + "/providers/Microsoft.ContainerRegistry/registries/{name}"
    ),
    USER_ASSIGNED_IDENTITY: (
        "resourceName", _RG + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
    ),
    FEDERATED_IDENTITY_CREDENTIAL: (
        "federatedIdentityCredentialResourceName",
        _RG + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}/federatedIdentityCredentials/{name}",
    ),
    KEY_VAULT: ("vaultName", _RG + "/providers/Microsoft.KeyVault/vaults/{name}"),
    KEY_VAULT_KEY: ("keyName", _RG + "/providers/Microsoft.KeyVault/vaults/{vaultName}/keys/{name}"),
    ROLE_ASSIGNMENT: (
        "roleAssignmentName", "{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
    ),
    PUBLIC_IP_ADDRESS: ("publicIpAddressName", _RG + "/providers/Microsoft.Network/publicIPAddresses/{name}"),
    LOG_ANALYTICS_WORKSPACE: ("workspaceName", _RG + "/providers/Microsoft.OperationalInsights/workspaces/{name}"),
    FLOW_LOG: ("flowLogName", _RG + "/providers/Microsoft.Network/networkWatchers/{networkWatcherName}/flowLogs/{name}"),
    DIAGNOSTIC_SETTING: ("name", "{resourceUri}/providers/Microsoft.Insights/diagnosticSettings/{name}"),
}


class AzureError(Exception):
    """What Azure answers a request it refuses."""


# ---------------------------------------------------------------------------
# Checks Azure makes

# Resource log categories Azure offers, by the resource a diagnostic setting is on (Azure Monitor's
# supported resource logs for Microsoft.ContainerService/managedClusters and blobServices).
LOG_CATEGORIES = {
    "managedClusters": {"kube-apiserver", "kube-audit", "kube-audit-admin", "kube-controller-manager", "kube-scheduler",
                        "cluster-autoscaler", "cloud-controller-manager", "guard", "csi-azuredisk-controller",
                        "csi-azurefile-controller", "csi-snapshot-controller"},
    "blobServices": {"StorageRead", "StorageWrite", "StorageDelete"},
}
RFC_1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
STORAGE_IP_RULE_ERROR = ("InvalidValuesForRequestParameters: Values for request parameters are invalid: "
                         "networkAcls.ipRule[*].value. For more information, see - https://aka.ms/storagenetworkruleset")


def _state(context: Context) -> dict[str, Any]:
    return context.state.setdefault("azure", {"subnets": {}, "vnet_regions": set(), "accounts": {}})


def _check_network_profile(name: str, profile: dict[str, Any]) -> None:
    """AKS takes a network policy engine only on the dataplane and plugin that run it."""
    dataplane, policy = profile.get("networkDataplane") or "azure", profile.get("networkPolicy")
    plugin = profile.get("networkPlugin") or "kubenet"
    if policy == "cilium" and dataplane != "cilium":
        raise AzureError(f"creating ManagedCluster ({name}): NetworkPolicyNotSupported: Network Policy cilium requires "
                         "NetworkDataplane cilium (subcode NetworkPolicyCiliumRequiresCiliumDataplane)")
    if dataplane == "cilium" and policy != "cilium":
        raise AzureError(f"creating ManagedCluster ({name}): BadRequest: Cilium dataplane requires network policy "
                         "cilium. (subcode CiliumDataplaneRequiresNetworkPolicyCilium)")
    if plugin != "azure" and (dataplane == "cilium" or policy == "azure"):
        # Documented (Cilium and Azure NPM run on Azure CNI only); the error's wording is the mock's.
        raise AzureError(f"creating ManagedCluster ({name}): NetworkPolicyNotSupported: network policy {policy} "
                         f"requires network plugin azure, not {plugin}")


def _check_storage_network(name: str, inputs: dict[str, Any], context: Context) -> None:
    rules = inputs.get("networkRuleSet") or {}
    for rule in rules.get("ipRules") or []:
        value = str(rule.get("iPAddressOrRange", ""))
        try:
            network = ipaddress.ip_network(value)
        except ValueError:
            network = None
        # Public IPv4 only (RFC 1918 ranges refused), and no /31 or /32 prefix: single addresses bare.
        if network is None or network.version != 4 or any(network.subnet_of(r) for r in RFC_1918) \
                or ("/" in value and network.prefixlen > 30):
            raise AzureError(f"creating StorageAccount ({name}): {STORAGE_IP_RULE_ERROR}")
    for rule in rules.get("virtualNetworkRules") or []:
        subnet = str(rule.get("virtualNetworkResourceId", ""))
        if "Microsoft.Storage" not in _state(context)["subnets"].get(subnet.lower(), ()):
            vnet, _, subnet_name = subnet.split("/")[-3:]  # .../virtualNetworks/<vnet>/subnets/<subnet>
            raise AzureError(
                f"creating StorageAccount ({name}): NetworkAclsValidationFailure: Validation of network acls failure: "
                f"SubnetsHaveNoServiceEndpointsConfigured:Subnets {subnet_name} of virtual network {vnet} do not have "
                "ServiceEndpoints for Microsoft.Storage resources configured. Add Microsoft.Storage to subnet's "
                "ServiceEndpoints collection before trying to ACL Microsoft.Storage resources to these subnets..")


def _check_registry_network(name: str, inputs: dict[str, Any]) -> None:
    rules, sku = inputs.get("networkRuleSet") or {}, (inputs.get("sku") or {}).get("name")
    if (rules.get("defaultAction") == "Deny" or rules.get("ipRules")) and sku != "Premium":
        # ACR: "Configuring IP access rules is available in the Premium container registry service tier".
        raise AzureError(f"creating Registry ({name}): network rules are not supported for the SKU {sku}: IP access "
                         "rules need the Premium tier")
    for rule in rules.get("ipRules") or []:
        try:
            ipaddress.IPv4Network(str(rule.get("iPAddressOrRange", "")))
        except ValueError:
            raise AzureError(f"creating Registry ({name}): {rule.get('iPAddressOrRange')!r}: only an IPv4 address "
                             "or range in CIDR format is allowed") from None


def _check_flow_log(name: str, inputs: dict[str, Any], context: Context) -> None:
    target, state = str(inputs.get("targetResourceId", "")), _state(context)
    if "/networkSecurityGroups/" in target:
        raise AzureError(f"creating FlowLog ({name}): NSG flow logs can no longer be created (retired on 30 June "
                         "2025): create a virtual network flow log instead")
    watcher, location = inputs.get("networkWatcherName"), inputs.get("location") or context.region
    # Azure creates NetworkWatcher_<region> in NetworkWatcherRG with the region's first VNet.
    if (inputs.get("resourceGroupName") != "NetworkWatcherRG" or watcher != f"NetworkWatcher_{location}"
            or location not in state["vnet_regions"]):
        raise AzureError(f"creating FlowLog ({name}): ParentResourceNotFound: Can not perform requested operation on "
                         f"nested resource. Parent resource '{watcher}' not found.")
    account = state["accounts"].get(str(inputs.get("storageId", "")).lower())
    if account is not None and account != location:
        raise AzureError(f"creating FlowLog ({name}): the storage account must be in the flow log's region "
                         f"({location}), not {account}")


def _check_diagnostic_setting(name: str, inputs: dict[str, Any]) -> None:
    if not any(inputs.get(k) for k in ("workspaceId", "storageAccountId", "eventHubAuthorizationRuleId")):
        raise AzureError(f"creating DiagnosticSetting ({name}): BadRequest: At least one of storage account, event hub, "
                         "log analytics workspace or partner solution must be specified.")
    kind = next((k for k in LOG_CATEGORIES if f"/{k}/" in str(inputs.get("resourceUri", "")) + "/"), None)
    for log in inputs.get("logs") or []:
        category = log.get("category")
        if kind is not None and category is not None and category not in LOG_CATEGORIES[kind]:
            raise AzureError(f"creating DiagnosticSetting ({name}): BadRequest: Category '{category}' is not supported.")


def _record(type_: str, resource_id: str | None, inputs: dict[str, Any], context: Context) -> None:
    state = _state(context)
    if type_ == SUBNET and resource_id:
        state["subnets"][resource_id.lower()] = {e.get("service") for e in inputs.get("serviceEndpoints") or []}
    elif type_ == VIRTUAL_NETWORK:
        state["vnet_regions"].add(inputs.get("location") or context.region)
    elif type_ == STORAGE_ACCOUNT and resource_id:
        state["accounts"][resource_id.lower()] = inputs.get("location") or context.region


def fake_guid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "mock-azure/" + "/".join(parts)))


def arm_id(type_: str, name: str, inputs: dict[str, Any]) -> str | None:
    known = RESOURCES.get(type_)
    if known is None:
        return None
    key, template = known
    values = {k: v for k, v in inputs.items() if isinstance(v, str)}
    values.update(sub=SUBSCRIPTION, name=inputs.get(key) or name)
    try:
        return template.format(**values)
    except KeyError:  # an input the template needs is missing: keep the generic id
        return None


def computed(type_: str, name: str, inputs: dict[str, Any], context: Context) -> dict[str, Any]:
    region = context.region
    out: dict[str, Any] = {"azureApiVersion": "mock"}
    if type_.startswith("pulumi:providers:"):
        return {}
    resource_id = arm_id(type_, name, inputs)
    if resource_id is not None:
        key = RESOURCES[type_][0]
        out.update(id=resource_id, name=inputs.get(key) or name)
    _check(type_, name, inputs, context)
    _record(type_, resource_id, inputs, context)
    if type_ == AKS_CLUSTER:
        cluster = out.get("name", name)
        prefix = inputs.get("dnsPrefix") or cluster
        group = inputs.get("resourceGroupName", "group")
        out.update(
            fqdn=f"{prefix}-{digest(cluster, length=8)}.hcp.{region}.azmk8s.io",
            azurePortalFQDN=f"{prefix}-{digest(cluster, length=8)}.portal.hcp.{region}.azmk8s.io",
            oidcIssuerProfile={
                **(inputs.get("oidcIssuerProfile") or {}),
                "issuerURL": f"https://{region}.oic.prod-aks.azure.com/{TENANT}/{fake_guid('oidc', cluster)}/",
            },
            identityProfile={
                "kubeletidentity": {
                    "clientId": fake_guid("kubelet-client", cluster),
                    "objectId": fake_guid("kubelet-object", cluster),
                    "resourceId": (
                        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/MC_{group}_{cluster}_{region}"
                        f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{cluster}-agentpool"
                    ),
                }
            },
            nodeResourceGroup=f"MC_{group}_{cluster}_{region}",
            # Inputs list the user-assigned identity ids; the API answers a map id -> client/principal.
            identity=_cluster_identity(inputs.get("identity") or {}),
            currentKubernetesVersion=inputs.get("kubernetesVersion") or "1.33",
            provisioningState="Succeeded",
        )
        if (inputs.get("apiServerAccessProfile") or {}).get("enablePrivateCluster"):
            out["privateFQDN"] = f"{prefix}-{digest(cluster, 'private', length=8)}.{fake_guid('dns', cluster)}.privatelink.{region}.azmk8s.io"
    elif type_ == KEY_VAULT:
        vault = out.get("name", name)
        out["properties"] = {**(inputs.get("properties") or {}), "vaultUri": f"https://{vault}.vault.azure.net/"}
    elif type_ == KEY_VAULT_KEY:
        key_uri = f"https://{inputs.get('vaultName')}.vault.azure.net/keys/{out.get('name', name)}"
        out.update(
            keyUri=key_uri,
            # A key version is 32 hex digits.
            keyUriWithVersion=f"{key_uri}/{uuid.UUID(fake_guid('key-version', key_uri)).hex}",
            location=region,
        )
    elif type_ == USER_ASSIGNED_IDENTITY:
        identity = out.get("name", name)
        out.update(
            clientId=fake_guid("client", identity),
            principalId=fake_guid("principal", identity),
            tenantId=TENANT,
        )
    elif type_ == STORAGE_ACCOUNT:
        account = out.get("name", name)
        out.update(
            primaryEndpoints={
                "blob": f"https://{account}.blob.core.windows.net/",
                "dfs": f"https://{account}.dfs.core.windows.net/",
            },
            primaryLocation=region,
            provisioningState="Succeeded",
        )
        if inputs.get("identity"):
            out["identity"] = _user_assigned_identity(inputs["identity"])
    elif type_ == CONTAINER_REGISTRY:
        out.update(loginServer=f"{out.get('name', name).lower()}.azurecr.io", provisioningState="Succeeded")
        if inputs.get("identity"):
            out["identity"] = _user_assigned_identity(inputs["identity"])
    elif type_ == FEDERATED_IDENTITY_CREDENTIAL:
        out.update(type="Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials")
    elif type_ == PUBLIC_IP_ADDRESS:  # a public address from an Azure range (20.0.0.0/8), fixed by the name
        h = digest(resource_id or name, length=4)
        out.update(ipAddress=f"20.{int(h[:2], 16) % 200 + 30}.{int(h[2:], 16) % 250 + 1}.{int(h[:2], 16) % 250 + 4}",
                   provisioningState="Succeeded")
    elif type_ == FLOW_LOG and inputs.get("identity"):
        out["identity"] = _user_assigned_identity(inputs["identity"])
    elif type_ == LOG_ANALYTICS_WORKSPACE:
        out.update(customerId=fake_guid("workspace", resource_id or name), provisioningState="Succeeded")
    return out


def _check(type_: str, name: str, inputs: dict[str, Any], context: Context) -> None:
    if type_ == AKS_CLUSTER:
        _check_network_profile(name, inputs.get("networkProfile") or {})
    elif type_ == STORAGE_ACCOUNT:
        _check_storage_network(name, inputs, context)
    elif type_ == CONTAINER_REGISTRY:
        _check_registry_network(name, inputs)
    elif type_ == FLOW_LOG:
        _check_flow_log(name, inputs, context)
    elif type_ == DIAGNOSTIC_SETTING:
        _check_diagnostic_setting(name, inputs)


def _cluster_identity(identity: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": identity.get("type", "SystemAssigned")}
    ids = identity.get("userAssignedIdentities") or []
    if ids:
        out["userAssignedIdentities"] = {
            i: {"clientId": fake_guid("client", i), "principalId": fake_guid("principal", i)} for i in ids
        }
    else:
        out.update(principalId=fake_guid("cluster-principal"), tenantId=TENANT)
    return out


def _user_assigned_identity(identity: dict[str, Any]) -> dict[str, Any]:
    """A resource's `identity` as the API answers it: user-assigned identities given as a list
    of ids (storage) or a map keyed by id (ACR) come back as a map id -> client/principal ids."""
    ids = identity.get("userAssignedIdentities") or []
    return {
        **identity,
        "userAssignedIdentities": {
            i: {"clientId": fake_guid("client", i), "principalId": fake_guid("principal", i)} for i in ids
        },
    }


def user_kubeconfig(resource_group: str, cluster: str, region: str) -> str:
    """What `listClusterUserCredential` returns for an Entra ID cluster without local accounts:
    the cluster CA and a kubelogin exec user, no secret."""
    server = f"https://{cluster}-{digest(cluster, length=8)}.hcp.{region}.azmk8s.io:443"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"certificate-authority-data": FAKE_CA_DATA, "server": server}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": f"clusterUser_{resource_group}_{cluster}"}}],
        "current-context": cluster,
        "users": [
            {
                "name": f"clusterUser_{resource_group}_{cluster}",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "kubelogin",
                        "args": ["get-token", "--login", "devicecode", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"],
                    }
                },
            }
        ],
    }
    return base64.b64encode(yaml.safe_dump(config).encode()).decode()


def call(token: str, args: dict[str, Any], context: Context) -> dict[str, Any] | None:
    if token == "azure-native:authorization:getClientConfig":
        return {
            "clientId": FAKE_DEPLOYER_CLIENT_ID,
            "objectId": FAKE_DEPLOYER_OBJECT_ID,
            "subscriptionId": SUBSCRIPTION,
            "tenantId": TENANT,
        }
    if token == "azure-native:containerservice:listManagedClusterUserCredentials":
        group, cluster = args.get("resourceGroupName"), args.get("resourceName")
        if not group or not cluster:
            return None
        return {"kubeconfigs": [{"name": "clusterUser", "value": user_kubeconfig(group, cluster, context.region)}]}
    return None
