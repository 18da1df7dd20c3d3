"""The plan's Kubernetes objects as the YAML manifests kubectl, kubernetes-validate and Checkov read.

Every custom `kubernetes:*` resource is one object: the type token gives its apiVersion and
kind (`kubernetes:apps/v1:Deployment` is apps/v1 Deployment, `kubernetes:core/v1:Namespace`
is v1 Namespace), the inputs are already the object's camelCase fields. Two things differ
from what the provider sends, and are fixed up here:
- numbers come back from Pulumi's wire format as floats (`replicas: 1.0`); the API's
  integer fields take integers, as the provider's JSON gives them;
- a Secret's `stringData` is masked whole in the plan; its keys come from the revealed plan
  (the mock cloud's stand-in values), its values stay masked.
Helm releases are charts the cluster renders from a repository: they are listed, not scanned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from recipes.facts import any_cloud as k8s_facts
from recipes.outputs import MASK

PREFIX = "kubernetes:"
# Custom resources that are not an object of the API server: Helm releases (a chart).
NOT_OBJECTS = {k8s_facts.HELM_RELEASE}
SECRET_DATA_FIELDS = ("stringData", "data")


@dataclass
class Manifests:
    objects: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # file name -> object
    not_rendered: list[tuple[str, str, str]] = field(default_factory=list)  # (type, name, why)
    fixups: list[str] = field(default_factory=list)  # what was changed, for the report


def api_version_and_kind(type_: str) -> tuple[str, str]:
    """`kubernetes:apps/v1:Deployment` -> ("apps/v1", "Deployment"); the core group has no name."""
    _, group_version, kind = type_.split(":")
    group, _, version = group_version.partition("/")
    return (version if group == "core" else group_version), kind


def integral(value: Any) -> Any:
    """Floats that are whole numbers become ints (Pulumi's wire format has one number type)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [integral(v) for v in value]
    return value


def render(plan, revealed=None) -> Manifests:
    """The plan's Kubernetes objects. `revealed` is the same spec's revealed plan (for Secret keys)."""
    out = Manifests()
    revealed_inputs = {r.urn: r.inputs for r in revealed.resources} if revealed is not None else {}
    for resource in plan.resources:
        if not resource.type.startswith(PREFIX) or not resource.custom:
            continue
        if resource.type in NOT_OBJECTS:
            out.not_rendered.append((resource.type, resource.name, "a Helm chart: rendered by Helm from its repository"))
            continue
        api_version, kind = api_version_and_kind(resource.type)
        body = integral(dict(resource.inputs))
        if body.get("apiVersion", api_version) != api_version or body.get("kind", kind) != kind:
            raise AssertionError(f"{resource.type} {resource.name} declares {body.get('apiVersion')} {body.get('kind')}")
        body["apiVersion"], body["kind"] = api_version, kind
        metadata = body.setdefault("metadata", {})
        if not metadata.get("name"):
            # Pulumi auto-names an object after its resource (plus a random suffix at deploy).
            metadata["name"] = resource.name
            out.fixups.append(f"{kind} {resource.name}: no metadata.name, the resource's name is used")
        for key in SECRET_DATA_FIELDS:
            if body.get(key) == MASK:
                keys = (revealed_inputs.get(resource.urn) or {}).get(key)
                if not isinstance(keys, dict):
                    raise AssertionError(f"{kind} {resource.name}: {key} is masked and the revealed plan has no keys for it")
                body[key] = {k: MASK for k in keys}
                out.fixups.append(f"{kind} {metadata['name']}: {key} keys from the revealed plan, values masked")
        ordered = {"apiVersion": api_version, "kind": kind, "metadata": metadata,
                   **{k: v for k, v in body.items() if k not in ("apiVersion", "kind", "metadata")}}
        out.objects.append(ordered)
        file = f"{kind.lower()}-{metadata.get('namespace', '_cluster')}-{metadata['name']}.yaml"
        if file in out.files:  # the API server would keep one: the other's create fails
            raise AssertionError(f"two {kind} objects named {metadata.get('namespace', '')}/{metadata['name']}")
        out.files[file] = ordered
    return out


def write(manifests: Manifests, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, body in sorted(manifests.files.items()):
        path = folder / name
        path.write_text(yaml.safe_dump(body, sort_keys=False))
        paths.append(path)
    return paths


def object_key(body: dict[str, Any]) -> str:
    """How results name an object: Kind/namespace/name (namespace '-' for cluster-scoped ones)."""
    metadata = body.get("metadata", {})
    return f"{body['kind']}/{metadata.get('namespace', '-')}/{metadata.get('name')}"
