"""Azure resources of a plan as an ARM template, which Checkov's arm framework reads.

azure-native's inputs are the ARM resource's, with three differences undone here:
- the ARM `properties` object is flattened into the inputs: every input that is not an ARM
  top-level field (TOP_LEVEL) or a path parameter of the resource's id goes back under it;
- the ARM type and name come from the id: the mock cloud's id templates
  (provisioner/analysis/mockcloud/azure.py RESOURCES) have the real shape, so
  `.../Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers/{name}` is
  type Microsoft.Storage/storageAccounts/blobServices/containers, name `st.../default/artifacts`;
- a few properties have an SDK name that is not the wire name (the REST spec's
  x-ms-client-name): WIRE_NAMES renames them back.
The API version is the one the installed SDK deploys with (its docstring says "Uses Azure REST
API version ..."). Checkov's ARM parser reads only files with "$schema" and "contentVersion".
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

PREFIX = "azure-native:"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
# Fields of an ARM resource outside `properties` (ARM template reference, "Resource declaration").
TOP_LEVEL = {"location", "tags", "sku", "identity", "kind", "zones", "extendedLocation", "plan", "managedBy", "scope"}
# Types the mock cloud has no id template for: (input that names it, id template), like RESOURCES.
_RG = "/subscriptions/{sub}/resourceGroups/{resourceGroupName}"
MORE_RESOURCES: dict[str, tuple[str, str]] = {
    "azure-native:containerservice:AgentPool":
        ("agentPoolName", _RG + "/providers/Microsoft.ContainerService/managedClusters/{resourceName}/agentPools/{name}"),
    "azure-native:network:NetworkSecurityGroup":
        ("networkSecurityGroupName", _RG + "/providers/Microsoft.Network/networkSecurityGroups/{name}"),
    "azure-native:network:NatGateway": ("natGatewayName", _RG + "/providers/Microsoft.Network/natGateways/{name}"),
    "azure-native:network:PublicIPAddress":
        ("publicIpAddressName", _RG + "/providers/Microsoft.Network/publicIPAddresses/{name}"),
    "azure-native:operationalinsights:Workspace":
        ("workspaceName", _RG + "/providers/Microsoft.OperationalInsights/workspaces/{name}"),
    "azure-native:insights:DiagnosticSetting": ("name", "{resourceUri}/providers/Microsoft.Insights/diagnosticSettings/{name}"),
}
# SDK name -> wire name, by ARM type and path under `properties` (specification/storage/
# resource-manager/Microsoft.Storage/stable/*/storage.json: StorageAccountProperties
# supportsHttpsTrafficOnly and networkAcls, Encryption keyvaultproperties and identity,
# KeyVaultProperties keyname/keyversion/keyvaulturi, EncryptionIdentity userAssignedIdentity).
WIRE_NAMES: dict[str, dict[tuple[str, ...], str]] = {
    "Microsoft.Storage/storageAccounts": {
        ("enableHttpsTrafficOnly",): "supportsHttpsTrafficOnly",
        ("networkRuleSet",): "networkAcls",
        ("encryption", "keyVaultProperties"): "keyvaultproperties",
        ("encryption", "keyVaultProperties", "keyName"): "keyname",
        ("encryption", "keyVaultProperties", "keyVersion"): "keyversion",
        ("encryption", "keyVaultProperties", "keyVaultUri"): "keyvaulturi",
        ("encryption", "encryptionIdentity"): "identity",
        ("encryption", "encryptionIdentity", "encryptionUserAssignedIdentity"): "userAssignedIdentity",
        ("encryption", "encryptionIdentity", "encryptionFederatedIdentityClientId"): "federatedIdentityClientId",
    },
}


@dataclass
class ArmTemplate:
    document: dict[str, Any] = field(default_factory=dict)
    addresses: dict[str, tuple[str, str]] = field(default_factory=dict)  # "ARM type.name" -> (pulumi type, name)
    unmapped: list[tuple[str, str]] = field(default_factory=list)


def id_template(type_: str) -> tuple[str, str] | None:
    from provisioner.analysis.mockcloud.azure import RESOURCES

    return RESOURCES.get(type_) or MORE_RESOURCES.get(type_)


def type_and_name(type_: str, name: str, inputs: dict[str, Any]) -> tuple[str, str, set[str]] | None:
    """(ARM type, ARM name, the inputs that are path parameters of its id), or None when unknown."""
    known = id_template(type_)
    if known is None:
        return None
    key, template = known
    values = {k: v for k, v in inputs.items() if isinstance(v, str)}
    values.update(sub="sub", name=inputs.get(key) or name)
    try:
        path = template.format(**values)
    except KeyError:
        return None
    parameters = (set(re.findall(r"{(\w+)}", template)) - {"sub", "name", "scope"}) | {key}
    if "/providers/" not in path:
        return "Microsoft.Resources/resourceGroups", values["name"], parameters
    namespace, *pairs = path.rsplit("/providers/", 1)[1].split("/")
    return f"{namespace}/{'/'.join(pairs[0::2])}", "/".join(pairs[1::2]), parameters


@lru_cache(maxsize=None)
def api_version(type_: str) -> str | None:
    """The REST API version the installed azure-native SDK uses for `type_` (from its docstring)."""
    spec = importlib.util.find_spec("pulumi_azure_native")
    if spec is None or not spec.submodule_search_locations:
        return None
    _, module, resource = type_.split(":")
    source = Path(next(iter(spec.submodule_search_locations))) / module / f"{_snake(resource)}.py"
    if not source.exists():
        return None
    found = re.search(r"Uses Azure REST API version ([0-9a-z-]+)\.", source.read_text(encoding="utf-8"))
    return found.group(1) if found else None


def _snake(name: str) -> str:
    """The SDK's module name of a resource: PublicIPAddress -> public_ip_address."""
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)).lower()


def render(plan) -> ArmTemplate:
    template = ArmTemplate()
    resources = []
    for resource in plan.resources:
        if not (resource.custom and resource.type.startswith(PREFIX)):
            continue
        shape = type_and_name(resource.type, resource.name, resource.inputs)
        version = api_version(resource.type)
        if shape is None or version is None:
            template.unmapped.append((resource.type, resource.name))
            continue
        arm_type, arm_name, parameters = shape
        inputs = _integral(resource.inputs)
        properties = dict(inputs.pop("properties", None) or {})
        body: dict[str, Any] = {"type": arm_type, "apiVersion": version, "name": arm_name}
        for key, value in inputs.items():
            if key in parameters or key == "resourceGroupName":
                continue
            if key in TOP_LEVEL:
                body[key] = value
            else:
                properties[key] = value
        identity = body.get("identity")
        if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
            # The SDK takes a list of ids; ARM a map of id -> {}.
            body["identity"] = {**identity, "userAssignedIdentities": {i: {} for i in identity["userAssignedIdentities"]}}
        if properties:
            body["properties"] = _wire_names(properties, WIRE_NAMES.get(arm_type, {}), ())
        resources.append(body)
        template.addresses[f"{arm_type}.{arm_name}"] = (resource.type, resource.name)  # as Checkov names it
    template.document = {"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": resources}
    return template


def _wire_names(value: Any, renames: dict[tuple[str, ...], str], path: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {renames.get((*path, k), k): _wire_names(v, renames, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire_names(v, renames, path) for v in value]
    return value


def _integral(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value
