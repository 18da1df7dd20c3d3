"""What a stack's exported state (`pulumi stack export`'s deployment) says beyond its resources.

`recipe repair` reads the operations a killed run left pending, and which of those
creates it can adopt; `recipe deploy` reads whether a stack was ever deployed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from recipes.spec import StackSpec

from provisioner.engine import STACK_TYPE, PendingOperation, adoption, urn_name, urn_type


def pending_operations(deployment: Mapping[str, Any] | None) -> list[PendingOperation]:
    """Operations an interrupted run left in the state ("pending_operations" of a deployment)."""
    out = []
    for entry in (deployment or {}).get("pending_operations") or []:
        resource = entry.get("resource") or {} if isinstance(entry, Mapping) else {}
        urn = resource.get("urn") or ""
        out.append(PendingOperation(type=resource.get("type") or urn_type(urn), name=urn_name(urn), urn=urn,
                                    operation=str(entry.get("type") or "unknown"),
                                    inputs=dict(resource.get("inputs") or {}), parent=resource.get("parent")))
    return out


def adoptable(pending: list[PendingOperation], deployment: Mapping[str, Any] | None, spec: StackSpec) -> list[PendingOperation]:
    """The pending creates whose cloud id follows from their inputs get it (`adopt_id`)."""
    context = adoption.context_of(deployment, spec.provider, {"project": spec.project or "", "region": spec.region})
    return [
        replace(p, adopt_id=adoption.import_id(spec.provider, p.type, p.inputs, context)) if p.operation == "creating" else p
        for p in pending
    ]


def has_resources(deployment: Mapping[str, Any] | None) -> bool:
    """Whether the state holds anything but the root stack (the stack was deployed)."""
    return any(r.get("type") != STACK_TYPE for r in (deployment or {}).get("resources") or [])
