"""The small hand-made program the Pulumi rules model's tests run (tests/support/test_pulumi_rules*.py).

Each rule is easiest to see on a few resources whose graph is known by heart: a provider,
a network, a component with a database in it, protected data, and a policy needing both.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from provisioner.analysis.plan import PlannedResource
from provisioner.engine import EngineEvent

from tests.support.pulumi_rules import RulesBackend, RulesStack

STACK = "dev"
THING = "test:index:Thing"


def planned(logical: str, type_: str = THING, /, *, parent: PlannedResource | None = None, deps: tuple = (),
            provider: PlannedResource | None = None, protect: bool = False, retain: bool = False,
            custom: bool = True, **inputs: Any) -> PlannedResource:
    """A resource as run_plan records it: its URN's type qualified by its parents' types."""
    qualified = f"{parent.urn.split('::')[2]}${type_}" if parent else type_
    return PlannedResource(
        urn=f"urn:pulumi:{STACK}::stack-recipes::{qualified}::{logical}", type=type_, name=logical,
        parent=parent.urn if parent else None, provider=f"{provider.urn}::{provider.name}-id" if provider else None,
        dependencies=sorted(d.urn for d in deps), inputs=inputs, custom=custom,
        retain_on_delete=retain, protect=protect)


class Program:
    """prov; net; app (a component) > db (needs net); data (protected, retained); policy (needs data, db)."""

    def __init__(self) -> None:
        self.prov = planned("prov", "pulumi:providers:test")
        self.net = planned("net", provider=self.prov, name="net-1")
        self.app = planned("app", "test:index:App", custom=False)
        self.db = planned("db", parent=self.app, deps=(self.net,), provider=self.prov, name="db-1")
        self.data = planned("data", provider=self.prov, protect=True, retain=True, name="data-1")
        self.policy = planned("policy", deps=(self.data, self.db), provider=self.prov)

    def all(self) -> list[PlannedResource]:
        return [self.prov, self.net, self.app, self.db, self.data, self.policy]

    def without(self, *gone: PlannedResource) -> list[PlannedResource]:
        return [r for r in self.all() if r not in gone]


class Events(list):
    def __call__(self, event: EngineEvent) -> None:
        self.append(event)

    def steps(self, kind: str = "done") -> list[tuple[str, str]]:
        return [(e.op, e.name) for e in self if e.kind == kind]


def resource(stack, urn: str) -> dict[str, Any]:
    return next(r for r in stack.deployment()["resources"] if r["urn"] == urn)



def killed_while_creating(backend: RulesBackend, name: str, stack: str, program: Any) -> RulesStack:
    """`stack` after an `up` of `program` killed while creating `name`: the create pending in the
    state, the resource in the cloud, the lock held."""
    backend.interrupt_at, backend.interrupt_mode = name, "hard"
    s = backend.stack(stack)
    with pytest.raises(KeyboardInterrupt):
        s.up(program, Events())
    backend.interrupt_at = None
    return s


def each_operation(s: RulesStack, program: Any) -> list[Callable[[], Any]]:
    """`up` of `program`, `destroy` and `refresh` of `s`, ready to run: what every operation refuses."""
    return [partial(s.up, program, Events()), partial(s.destroy, Events()), partial(s.refresh, Events())]
