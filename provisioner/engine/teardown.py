"""`recipe destroy`, as a sequence of Pulumi operations that hold under Pulumi's own rules.

The stack's data (bucket, registry, keys, and what reading them needs) is declared
`protect` + `retainOnDelete` (recipes.cloud.kept). From any state a user can reach
(alive, after a plain destroy, after a failed or interrupted one, a stack deployed
before protection existed):

1. plain destroy: `destroy --target <everything but the kept set>`, where the kept set is
   the protected/retained resources and, transitively, their parents, providers and
   dependencies. That is `pulumi destroy --exclude-protected`, computed here so that
   stacks deployed before their data was protected (retained only) keep it too.
2. `--delete-data`, after 1: `up --target <the kept set>` of a program that declares
   ONLY the data components (bucket, registry), now unprotected, not retained and
   force-destroyable. Every targeted resource exists in the state and needs nothing
   else, so Pulumi never meets an untargeted create (the full program would: its
   Kubernetes provider is always targeted, and its parent, the cluster, is gone).
   Then a full `destroy`.

A step that fails leaves a state from which the same command starts again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recipes.spec import StackSpec

from provisioner.engine import STACK_TYPE, Changes, DestroyResult, OnEvent, RetainedResource, urn_name, urn_type
from provisioner.engine.pulumi_stack import PulumiStack

# What --delete-data re-declares: the components that hold data. The keys (--kms) and
# resource groups come with them.
DATA_COMPONENTS = ("bucket", "registry")


def _resources(deployment: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    return [r for r in (deployment or {}).get("resources") or [] if isinstance(r, Mapping) and r.get("urn")]


def _retained(deployment: Mapping[str, Any] | None) -> list[tuple[str, RetainedResource]]:
    """The resources that hold data: protected or retained on delete."""
    by_urn = {r["urn"]: r for r in _resources(deployment)}
    out: list[tuple[str, RetainedResource]] = []
    for urn, r in by_urn.items():
        if not ((r.get("retainOnDelete") or r.get("protect")) and r.get("custom")) or r.get("external"):
            continue
        name = urn_name(urn)
        parent = by_urn.get(r.get("parent") or "")
        primary = bool(
            parent is not None
            and not parent.get("custom")
            and parent.get("type") != STACK_TYPE
            and urn_name(parent.get("urn", "")) == name
        )
        out.append((urn, RetainedResource(type=r.get("type") or urn_type(urn), name=name, id=str(r.get("id") or ""), primary=primary)))
    return out


def retained_resources(deployment: Mapping[str, Any] | None) -> list[RetainedResource]:
    """What `destroy` leaves in the cloud: the stack's data resources, from an exported deployment."""
    return [resource for _, resource in _retained(deployment)]


def kept_urns(deployment: Mapping[str, Any] | None) -> set[str]:
    """What a plain destroy leaves in the state: the data resources and everything they
    need to stay manageable (their parent components, their providers and, transitively,
    what they depend on), as `pulumi destroy --exclude-protected` computes it.

    Keeping them in the state, not just in the cloud, is what lets a later
    `destroy --delete-data` delete them, and a redeploy reuse them.
    """
    by_urn = {r["urn"]: r for r in _resources(deployment)}
    todo = [urn for urn, _ in _retained(deployment)]
    keep: set[str] = set()
    while todo:
        urn = todo.pop()
        r = by_urn.get(urn)
        if urn in keep or r is None or r.get("type") == STACK_TYPE:
            continue
        keep.add(urn)
        todo.extend(r.get("dependencies") or [])
        if r.get("parent"):
            todo.append(r["parent"])
        if r.get("provider"):
            todo.append(str(r["provider"]).rsplit("::", 1)[0])  # a provider reference is "<urn>::<id>"
    return keep


def data_only(spec: StackSpec) -> StackSpec:
    """The program --delete-data runs over the kept set: the data components only, unprotected."""
    return spec.with_changes(components=tuple(c for c in spec.components if c in DATA_COMPONENTS), delete_data=True)


def _add(total: dict[str, int], changes: Changes | Mapping[str, int]) -> None:
    counts = changes.counts if isinstance(changes, Changes) else changes
    for op, n in counts.items():
        total[op] = total.get(op, 0) + n


def destroy(stack: PulumiStack, spec: StackSpec, on_event: OnEvent, *, delete_data: bool = False) -> DestroyResult:
    """Destroy the stack, keeping its data unless `delete_data` (see the module docstring)."""
    total: dict[str, int] = {}
    deployment = stack.deployment()
    keep = kept_urns(deployment)
    rest = [r["urn"] for r in _resources(deployment) if r["urn"] not in keep and r.get("type") != STACK_TYPE]
    if rest:
        # Everything unkept at once when nothing is kept (no target: Pulumi orders it all).
        _add(total, stack.destroy(on_event, target=rest if keep else None))
    if delete_data and keep:
        _add(total, stack.up(data_only(spec), on_event, target=sorted(keep))[1])
        # Whatever the cloud cannot delete stays retained even now (a GCP key ring).
        left = retained_resources(stack.deployment())
        _add(total, stack.destroy(on_event))
        return DestroyResult(retained=left, changes=Changes(total))
    if not rest:
        total["same"] = total.get("same", 0) + len(keep)
    return DestroyResult(retained=retained_resources(stack.deployment()) if keep else [], changes=Changes(total))
