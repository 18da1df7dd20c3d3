"""Type tokens, expected ARM ids and small readers the Azure program tests share."""

from __future__ import annotations

import importlib
import inspect
from functools import lru_cache
from typing import Any

from provisioner.analysis.mockcloud import Context
from provisioner.analysis.mockcloud import FAKE_AZURE_SUBSCRIPTION as SUB
from provisioner.analysis.mockcloud import azure as azure_mock
from recipes.spec import StackSpec

from recipes.facts import azure as facts
from recipes.facts import any_cloud as k8s_facts

from tests.recipes.plans import program_spec


AZURE_PROVIDER = "pulumi:providers:azure-native"


# Built-in role IDs as Azure documents them (the same in every tenant), spelled out here so the
# plan is checked against Azure's values, not against recipes/azure/roles.py's copy of them.
KEY_VAULT_CRYPTO_OFFICER = "14b46e9e-c2b7-41b4-b07b-48a6ebf60603"
KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
KEY_VAULT_CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424"
KEY_VAULT_ROLES = {KEY_VAULT_CRYPTO_OFFICER, KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER, KEY_VAULT_CRYPTO_USER}


def azure_spec(**values: Any) -> StackSpec:
    """The Azure spec the program tests plan (westeurope), with `values` as flags."""
    return program_spec("azure", **values)


def azure(plans, **values: Any):
    return plans(azure_spec(**values))


# ---------------------------------------------------------------------------
# expected ARM ids, spelled out


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


def vault_id(spec: StackSpec) -> str:
    return rg_id(spec.names.resource_group("data")) + f"/providers/Microsoft.KeyVault/vaults/{spec.names.key_vault()}"


def key_id(spec: StackSpec) -> str:
    return vault_id(spec) + "/keys/cmk"


def key_uri(spec: StackSpec) -> str:
    return f"https://{spec.names.key_vault()}.vault.azure.net/keys/cmk"


def encryption_identity_id(spec: StackSpec) -> str:
    return (rg_id(spec.names.resource_group("data"))
            + f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{spec.names.managed_identity('encryption')}")


def role_definition(role: str) -> str:
    return f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}"


def mock_outputs(plan, resource) -> dict[str, Any]:
    """What the mock cloud answered for a recorded resource (its computed outputs)."""
    return azure_mock.computed(resource.type, resource.name, resource.inputs, Context(plan.spec))


def role_assignments(plan, role: str | None = None) -> list:
    found = plan.by_type(facts.ROLE_ASSIGNMENT)
    return [r for r in found if role is None or r.inputs["roleDefinitionId"] == role_definition(role)]


@lru_cache(maxsize=None)
def taggable(type_: str) -> bool:
    """Whether the SDK resource for a type token takes `tags`."""
    _, module, cls = type_.split(":")
    sdk = importlib.import_module(f"pulumi_azure_native.{module}")
    return "tags" in inspect.signature(getattr(sdk, cls)._internal_init).parameters


def cluster_side(plan) -> set[str]:
    """Everything of the cluster and its network, and the main group they live in."""
    cluster_types = (facts.AKS_CLUSTER, facts.VIRTUAL_NETWORK, facts.SUBNET, k8s_facts.KUBERNETES_PROVIDER)
    urns = {r.urn for r in plan.resources if r.type in cluster_types or r.type.startswith("kubernetes:")}
    urns |= {r.urn for r in plan.subtree(plan.one("recipes:azure:Cluster", "cluster"))}
    urns.add(plan.one(facts.RESOURCE_GROUP, "group").urn)
    return urns
