"""Read mlstacks stack spec files (spec_version 1), so mlstacks users can switch.

An mlstacks stack file names its provider, default region and tags, and lists
component spec files (`component_type`, `component_flavor`, `provider`,
`metadata.config`). We map them onto our five components and say plainly what
has no equivalent, instead of silently dropping it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from recipes.spec import SpecError

# mlstacks component_type -> our component
COMPONENT_TYPES = {
    "artifact_store": "bucket",
    "container_registry": "registry",
    "orchestrator": "cluster",
    "experiment_tracker": "tracker",
    "model_deployer": "deployer",
}
# Orchestrator flavors: what we run instead.
ORCHESTRATORS = {
    "kubernetes": None,
    "kubeflow": "Kubeflow is not installed: ZenML's kubernetes orchestrator runs pipelines on the cluster",
    "tekton": "Tekton is not installed: ZenML's kubernetes orchestrator runs pipelines on the cluster",
}
DEPLOYERS = {"seldon": "seldon", "kserve": "kserve"}
# mlstacks' `k3d` provider creates a k3d cluster; ours deploys to any cluster that exists (recipes/existing/).
K3D_PROVIDER = "kubernetes"
MAX_BYTES = 1_000_000


@dataclass
class Converted:
    values: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def is_mlstacks(data: Any) -> bool:
    return isinstance(data, Mapping) and (data.get("spec_type") == "stack" or "spec_version" in data)


def convert(data: Mapping[str, Any], path: Path) -> Converted:
    """An mlstacks stack spec as stack-file fields, plus notes on what does not map."""
    where = str(path)
    if data.get("spec_type") != "stack":
        raise SpecError(f"{where}: spec_type must be 'stack' (this looks like an mlstacks {data.get('spec_type')!r} file)")
    if data.get("spec_version") not in (1, "1"):
        raise SpecError(f"{where}: mlstacks spec_version {data.get('spec_version')!r} is not supported (only 1)")
    notes: list[str] = []
    values: dict[str, Any] = {}
    provider = data.get("provider")
    values["provider"] = K3D_PROVIDER if provider == "k3d" else provider
    if data.get("name") is not None:
        name = str(data["name"])
        values["name"] = name.replace("_", "-").lower()
        if values["name"] != name:
            notes.append(f"stack name {name!r} becomes {values['name']!r} (cloud names allow no underscores or capitals)")
    if provider == "k3d":
        notes.extend(_k3d(values))
    elif data.get("default_region") is not None:
        values["region"] = data["default_region"]
    tags = _tags(data.get("default_tags"), where)
    if tags:
        values["tags"] = tags
    if data.get("deployment_method") not in (None, "kubernetes"):
        notes.append(f"deployment_method {data['deployment_method']!r} is ignored: components run on Kubernetes")

    components: set[str] = set()
    entries = data.get("components") or []
    if not isinstance(entries, list):
        raise SpecError(f"{where}: components must be a list of component spec files")
    for entry in entries:
        component = _load_component(entry, path)
        label = f"{component.get('name') or '?'} ({component.get('component_type')}/{component.get('component_flavor')})"
        if component.get("provider") not in (None, provider):
            raise SpecError(f"{where}: component {label} is for provider {component.get('provider')!r}, the stack for {provider!r}")
        kind, flavor = component.get("component_type"), component.get("component_flavor")
        ours = COMPONENT_TYPES.get(kind)
        if ours is None:
            notes.append(f"{label}: no equivalent in stack-recipes, left out")
            continue
        if provider == "k3d" and ours == "registry":  # kept: the spec then asks for --registry or --without registry
            notes.append(f"{label}: mlstacks creates a registry beside the k3d cluster; stack-recipes uses one that "
                         "exists: pass --registry HOST[:PORT][/PATH] (e.g. one from `k3d registry create`), "
                         "or --without registry")
        if kind == "orchestrator" and flavor not in ORCHESTRATORS:
            notes.append(f"{label}: managed orchestrator with no equivalent, left out (ZenML's kubernetes orchestrator is available on the cluster)")
            continue
        if kind == "orchestrator" and ORCHESTRATORS[flavor]:
            notes.append(f"{label}: {ORCHESTRATORS[flavor]}")
        if kind == "experiment_tracker" and flavor != "mlflow":
            notes.append(f"{label}: only MLflow is offered; an MLflow tracker is deployed instead")
        if kind == "model_deployer":
            if flavor not in DEPLOYERS:
                notes.append(f"{label}: no equivalent, left out (seldon and kserve are offered)")
                continue
            values["deployer"] = DEPLOYERS[flavor]
        components.add(ours)
        config = ((component.get("metadata") or {}).get("config") or {}) if isinstance(component.get("metadata"), Mapping) else {}
        if isinstance(config, Mapping) and config.get("project_id") and provider == "gcp":
            values.setdefault("project", config["project_id"])
        region = (component.get("metadata") or {}).get("region") if isinstance(component.get("metadata"), Mapping) else None
        if region and region != values.get("region"):
            notes.append(f"{label}: its own region {region!r} is ignored; the whole stack is in {values.get('region', 'the default region')!r}")
        ignored = sorted(k for k in (config or {}) if k not in ("project_id",))
        if ignored:
            notes.append(f"{label}: settings {', '.join(ignored)} are ours to choose (names, sizes); they are not used")
    # What the components need: mlstacks runs trackers and deployers on a cluster too.
    if components & {"tracker", "deployer"} and "cluster" not in components:
        components.add("cluster")
        notes.append("the tracker and deployer run on a Kubernetes cluster, which is included")
    if "tracker" in components and "bucket" not in components:
        components.add("bucket")
        notes.append("MLflow keeps its artifacts in the stack's bucket, which is included")
    if not components:
        raise SpecError(f"{where}: none of the mlstacks components has an equivalent here (see the notes above)")
    values["components"] = sorted(components)
    return Converted(values, notes)


def _k3d(values: dict[str, Any]) -> list[str]:
    """A k3d stack: the `kubernetes` provider on k3d's context for the cluster of the stack's name."""
    create = "stack-recipes does not create the k3d cluster (mlstacks did); create it first with `k3d cluster create"
    if not values.get("name"):  # no name to give the cluster: `k3d cluster create` makes its context current
        return [f"provider k3d becomes provider kubernetes on your kubeconfig's current context: {create} NAME`"]
    cluster = values["name"]
    values["context"] = f"k3d-{cluster}"  # k3d names its kubeconfig context k3d-<cluster>
    return [f"provider k3d becomes provider kubernetes on kube context {values['context']!r}: {create} {cluster}`"]


def _tags(raw: Any, where: str) -> dict[str, str]:
    """mlstacks writes default_tags as a mapping, or as a list of one-key mappings."""
    if raw is None:
        return {}
    if isinstance(raw, Mapping):
        return {str(k): str(v) for k, v in raw.items()}
    if isinstance(raw, list) and all(isinstance(item, Mapping) for item in raw):
        return {str(k): str(v) for item in raw for k, v in item.items()}
    raise SpecError(f"{where}: default_tags must be a mapping of tags")


def _load_component(entry: Any, stack_path: Path) -> Mapping[str, Any]:
    if isinstance(entry, Mapping):  # inline component
        return entry
    if not isinstance(entry, str):
        raise SpecError(f"{stack_path}: each component must be a path to a component spec file")
    path = Path(entry)
    candidates = [path] if path.is_absolute() else [stack_path.parent / path, Path.cwd() / path]
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        raise SpecError(f"{stack_path}: component file {entry!r} not found (looked next to the stack file and in the current directory)")
    if found.stat().st_size > MAX_BYTES:
        raise SpecError(f"{found}: too large to be a component spec")
    try:
        data = yaml.safe_load(found.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SpecError(f"{found}: not a YAML component spec ({getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(data, Mapping) or data.get("spec_type") != "component":
        raise SpecError(f"{found}: not an mlstacks component spec (spec_type: component)")
    return data
