"""Mock answers for pulumi-azure-native resources and data sources.

Resources get their `name` (from the input that names them) and an ARM id of
the real shape under the fake subscription; the few computed outputs the Azure
recipe reads back (AKS FQDN, OIDC issuer, kubelet identity, managed identity
client/principal ids, ACR login server, Key Vault URI, key URIs) are derived
deterministically from those names.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

import yaml

from recipes.facts.azure import (
    AKS_CLUSTER,
    BLOB_CONTAINER,
    BLOB_SERVICE_PROPERTIES,
    CONTAINER_REGISTRY,
    FEDERATED_IDENTITY_CREDENTIAL,
    KEY_VAULT,
    KEY_VAULT_KEY,
    RESOURCE_GROUP,
    ROLE_ASSIGNMENT,
    STORAGE_ACCOUNT,
    STORAGE_MANAGEMENT_POLICY,
    SUBNET,
    USER_ASSIGNED_IDENTITY,
    VIRTUAL_NETWORK,
)

from . import FAKE_AZURE_SUBSCRIPTION as SUBSCRIPTION
from . import FAKE_AZURE_TENANT as TENANT
from . import Context, digest

# The object id `getClientConfig` reports for whoever runs the plan.
FAKE_DEPLOYER_OBJECT_ID = "00000000-0000-4000-8000-000000000003"
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
}


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
    return out


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
