"""Which half-created resources `recipe repair` can adopt instead of forgetting.

A run killed while Pulumi was creating something leaves a pending create: the
resource may exist in the cloud without being in the state. Clearing it makes
Pulumi forget it, and when its name is fixed by its inputs (the EKS cluster is
named after the stack, buckets and roles too) the next deploy fails with "already
exists" while the orphan keeps billing. For those types the provider id follows
from the inputs the create was started with, so repair hands Pulumi
`--import-pending-creates URN ID`: refresh then reads the resource by that id and
keeps it (or drops it, if the create never reached the cloud).

One table per cloud: resource type -> the provider's import id, from the
pending create's inputs (the formats are each provider's documented import ids).
Types whose ids the cloud generates (a VPC, a NAT gateway) cannot be found this
way: repair lists them for the user to check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

IdFrom = Callable[[Mapping[str, Any], Mapping[str, str]], "str | None"]


def _field(*names: str) -> IdFrom:
    def read(inputs: Mapping[str, Any], context: Mapping[str, str]) -> str | None:
        for name in names:
            if inputs.get(name):
                return str(inputs[name])
        return None
    return read


def _joined(template: str, *fields: str) -> IdFrom:
    """`template` filled with input fields (and the context: project, region, subscription)."""
    def read(inputs: Mapping[str, Any], context: Mapping[str, str]) -> str | None:
        values = {**context, **{f: inputs[f] for f in fields if inputs.get(f)}}
        if any(not values.get(f) for f in fields):
            return None
        try:
            return template.format(**{k: str(v) for k, v in values.items() if v is not None})
        except KeyError:  # a context value this stack does not have (no project known)
            return None
    return read


AWS: dict[str, IdFrom] = {
    "aws:eks/cluster:Cluster": _field("name"),
    "aws:eks/nodeGroup:NodeGroup": _joined("{clusterName}:{nodeGroupName}", "clusterName", "nodeGroupName"),
    "aws:eks/addon:Addon": _joined("{clusterName}:{addonName}", "clusterName", "addonName"),
    "aws:eks/accessEntry:AccessEntry": _joined("{clusterName}:{principalArn}", "clusterName", "principalArn"),
    "aws:iam/role:Role": _field("name"),
    "aws:iam/rolePolicy:RolePolicy": _joined("{role}:{name}", "role", "name"),
    "aws:s3/bucket:Bucket": _field("bucket"),
    "aws:ecr/repository:Repository": _field("name"),
    "aws:cloudwatch/logGroup:LogGroup": _field("name"),
    "aws:kms/alias:Alias": _field("name"),
}

GCP: dict[str, IdFrom] = {
    "gcp:container/cluster:Cluster": _joined("projects/{project}/locations/{location}/clusters/{name}", "project", "location", "name"),
    "gcp:container/nodePool:NodePool": _joined("{project}/{location}/{cluster}/{name}", "project", "location", "cluster", "name"),
    "gcp:serviceaccount/account:Account": _joined(
        "projects/{project}/serviceAccounts/{accountId}@{project}.iam.gserviceaccount.com", "project", "accountId"),
    "gcp:storage/bucket:Bucket": _field("name"),
    "gcp:artifactregistry/repository:Repository": _joined(
        "projects/{project}/locations/{location}/repositories/{repositoryId}", "project", "location", "repositoryId"),
    "gcp:compute/network:Network": _joined("projects/{project}/global/networks/{name}", "project", "name"),
    "gcp:compute/subnetwork:Subnetwork": _joined("projects/{project}/regions/{region}/subnetworks/{name}", "project", "region", "name"),
    "gcp:compute/router:Router": _joined("projects/{project}/regions/{region}/routers/{name}", "project", "region", "name"),
    "gcp:compute/address:Address": _joined("projects/{project}/regions/{region}/addresses/{name}", "project", "region", "name"),
    "gcp:compute/firewall:Firewall": _joined("projects/{project}/global/firewalls/{name}", "project", "name"),
    "gcp:kms/cryptoKey:CryptoKey": _joined("{keyRing}/cryptoKeys/{name}", "keyRing", "name"),
}

_ARM_GROUP = "/subscriptions/{subscription}/resourceGroups/{resourceGroupName}"
AZURE: dict[str, IdFrom] = {
    "azure-native:resources:ResourceGroup": _joined(_ARM_GROUP, "resourceGroupName"),
    "azure-native:containerservice:ManagedCluster": _joined(
        _ARM_GROUP + "/providers/Microsoft.ContainerService/managedClusters/{resourceName}", "resourceGroupName", "resourceName"),
    "azure-native:storage:StorageAccount": _joined(
        _ARM_GROUP + "/providers/Microsoft.Storage/storageAccounts/{accountName}", "resourceGroupName", "accountName"),
    "azure-native:containerregistry:Registry": _joined(
        _ARM_GROUP + "/providers/Microsoft.ContainerRegistry/registries/{registryName}", "resourceGroupName", "registryName"),
    "azure-native:keyvault:Vault": _joined(
        _ARM_GROUP + "/providers/Microsoft.KeyVault/vaults/{vaultName}", "resourceGroupName", "vaultName"),
    "azure-native:managedidentity:UserAssignedIdentity": _joined(
        _ARM_GROUP + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}", "resourceGroupName", "resourceName"),
    "azure-native:network:VirtualNetwork": _joined(
        _ARM_GROUP + "/providers/Microsoft.Network/virtualNetworks/{virtualNetworkName}", "resourceGroupName", "virtualNetworkName"),
    "azure-native:network:Subnet": _joined(
        _ARM_GROUP + "/providers/Microsoft.Network/virtualNetworks/{virtualNetworkName}/subnets/{subnetName}",
        "resourceGroupName", "virtualNetworkName", "subnetName"),
    "azure-native:authorization:RoleAssignment": _joined(
        "{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}", "scope", "roleAssignmentName"),
}

IMPORT_IDS: dict[str, dict[str, IdFrom]] = {"aws": AWS, "gcp": GCP, "azure": AZURE}


def context_of(deployment: Mapping[str, Any] | None, provider: str, spec_context: Mapping[str, str]) -> dict[str, str]:
    """What the ids need beyond a resource's own inputs: the GCP project and region, and the
    Azure subscription (read from an id already in the state)."""
    context = {k: v for k, v in spec_context.items() if v}
    if provider == "azure" and "subscription" not in context:
        for r in (deployment or {}).get("resources") or []:
            rid = str(r.get("id") or "")
            if rid.startswith("/subscriptions/"):
                context["subscription"] = rid.split("/")[2]
                break
    return context


def import_id(provider: str, type_: str, inputs: Mapping[str, Any], context: Mapping[str, str]) -> str | None:
    """The provider id a pending create of `type_` has in the cloud, if its inputs fix it."""
    read = IMPORT_IDS.get(provider, {}).get(type_)
    return read(inputs, context) if read is not None else None
