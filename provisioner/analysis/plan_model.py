"""What a plan is: the resources a program registered, with their options and inputs.

Plain data, read by everything that inspects a plan (baseline, costs, critical path,
views, the plan cache) without running one (provisioner.analysis.plan runs them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from recipes.spec import StackSpec


@dataclass
class PlannedResource:
    urn: str
    type: str
    name: str
    parent: str | None
    provider: str | None
    dependencies: list[str]
    inputs: dict[str, Any]
    custom: bool
    retain_on_delete: bool = False
    protect: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    delete_before_replace: bool = False
    custom_timeouts: dict[str, str] = field(default_factory=dict)
    secret_inputs: list[str] = field(default_factory=list)
    # What the (mock) cloud computed: outputs that are not an input echoed back (ids, ARNs,
    # addresses). Not in the plan's JSON document, which shows what the program asks for.
    outputs: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "dependencies": self.dependencies,
            "inputs": self.inputs,
            "retain_on_delete": self.retain_on_delete,
        }


@dataclass
class Plan:
    spec: StackSpec
    resources: list[PlannedResource]
    outputs: dict[str, Any]  # secrets masked
    secret_outputs: list[str]  # "component.field" paths that were Pulumi secrets
    raw_outputs: dict[str, Any] = field(repr=False, default_factory=dict)  # unmasked, for tests

    def by_type(self, type_: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> PlannedResource:
        found = [r for r in self.by_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            raise LookupError(f"expected one {type_} {name or ''}, found {[r.name for r in found]}")
        return found[0]

    def get(self, urn: str) -> PlannedResource:
        for r in self.resources:
            if r.urn == urn:
                return r
        raise LookupError(urn)

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.spec.name,
            "provider": self.spec.provider,
            "region": self.spec.region,
            "components": list(self.spec.components),
            "resources": [r.to_json() for r in self.resources],
            "outputs": self.outputs,
        }
