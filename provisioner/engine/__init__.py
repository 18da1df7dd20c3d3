"""The engine seam: everything that provisions goes through `Engine`.

`provisioner.engine.pulumi.PulumiEngine` drives the Pulumi Automation API with an
inline program that calls `recipes.build(spec)`. Tests replace it with a fake at
this seam only; the CLI, the stack records and the display never see Pulumi types,
only `EngineEvent`s and the results below. Nothing here imports the adapter.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from recipes.errors import RecipeError
from recipes.spec import StackSpec

# The Pulumi project every recipe stack belongs to: its URNs and workspaces name it.
PROJECT = "stack-recipes"


@dataclass(frozen=True)
class StackTarget:
    """One recipe stack = one Pulumi stack in one backend."""

    spec: StackSpec
    backend: str  # file://..., s3://..., gs://..., azblob://..., https://api.pulumi.com

    @property
    def stack_name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class EngineEvent:
    """A provider-neutral progress event.

    kind: "start" (an operation on a resource began), "done", "failed",
    "diagnostic" (a message, possibly about a resource), "summary".
    op: create, update, replace, delete, same, read, refresh, ...
    """

    kind: str
    urn: str | None = None
    type: str | None = None
    name: str | None = None
    op: str | None = None
    message: str | None = None
    severity: str | None = None  # info, warning, error
    counts: dict[str, int] | None = None
    diffs: tuple[str, ...] = ()  # properties that changed (what a refresh found drifted)
    timestamp: float = field(default_factory=time.time)

    def describe(self) -> str:
        """One line for records and messages: "create aws:eks/cluster:Cluster cluster"."""
        if self.kind in ("start", "done", "failed") and self.urn:
            verb = {"start": "", "done": "done: ", "failed": "failed: "}[self.kind]
            return f"{verb}{self.op or ''} {self.type or ''} {self.name or ''}".strip()
        if self.kind == "diagnostic":
            return f"{self.severity or 'info'}: {(self.message or '').splitlines()[0] if self.message else ''}"
        return self.kind


OnEvent = Callable[[EngineEvent], None]


@dataclass
class Changes:
    """How many resources each operation touched (or would touch, for a preview)."""

    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total_changes(self) -> int:
        return sum(v for k, v in self.counts.items() if k != "same")

    def to_json(self) -> dict[str, int]:
        """The operations that happened, with their counts (none with zero)."""
        return {op: n for op, n in self.counts.items() if n}

    def pending_summary(self) -> str:
        """What a preview would do, in words: "3 to create, 1 to update", or "no changes"."""
        parts = [f"{n} to {op}" for op, n in sorted(self.counts.items()) if op != "same" and n]
        return ", ".join(parts) or "no changes"


@dataclass
class UpResult:
    outputs: dict[str, Any]  # canonical outputs, secrets in plaintext: never store as is
    changes: Changes


@dataclass(frozen=True)
class RetainedResource:
    """A resource destroy left in the cloud on purpose (retain_on_delete)."""

    type: str
    name: str  # logical name in the program
    id: str  # physical id: bucket name, repository name, ...
    primary: bool  # the data resource itself, not one of its settings

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "id": self.id, "primary": self.primary}


@dataclass
class DestroyResult:
    retained: list[RetainedResource]
    changes: Changes
    backup_id: str | None = None  # the run-history backup taken first (provisioner.engine.run_history)


@dataclass(frozen=True)
class PendingOperation:
    """An operation Pulumi started and never saw finish (the process was killed):
    the resource may or may not exist in the cloud."""

    type: str
    name: str
    urn: str
    operation: str  # creating, updating, deleting, reading
    inputs: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # what it was created with
    parent: str | None = None
    # A pending create whose cloud name follows from its inputs: the provider id it has if it
    # was created, so that `recipe repair` adopts it instead of leaving a billed orphan.
    adopt_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "urn": self.urn, "operation": self.operation, "adopt_id": self.adopt_id}


class EngineError(RecipeError):
    """An operation failed; `message` is for the user, `resource` is the failing one if known."""

    def __init__(self, message: str, *, resource: str | None = None, diagnostics: list[str] | None = None):
        super().__init__(message)
        self.resource = resource
        self.diagnostics = diagnostics or []


class PulumiNotFound(EngineError):
    """The Pulumi CLI is not installed where we look for it."""


class ConcurrentUpdate(EngineError):
    """Another process holds the stack's lock."""


class PassphraseError(EngineError):
    """The state's secrets cannot be decrypted with the passphrase we have."""


class Engine(Protocol):
    """What provisions recipe stacks: provisioner.operations drives it, tests replace it (FakeEngine)."""

    def preview(self, target: StackTarget, on_event: OnEvent) -> Changes: ...

    def up(self, target: StackTarget, on_event: OnEvent) -> UpResult: ...

    def destroy(
        self, target: StackTarget, on_event: OnEvent, *, delete_data: bool = False, cluster_gone: bool = False
    ) -> DestroyResult: ...

    def refresh(self, target: StackTarget, on_event: OnEvent, *, clear_pending_creates: bool = False,
                import_pending_creates: Mapping[str, str] | None = None) -> Changes: ...

    def backup(self, target: StackTarget, on_event: OnEvent, backup_id: str) -> bool:
        """Back up the tracker's run history to the bucket (False: no tracker to back up)."""
        ...

    def pending_operations(self, target: StackTarget) -> list[PendingOperation]: ...

    def outputs(self, target: StackTarget) -> dict[str, Any]: ...

    def cancel(self, target: StackTarget) -> None: ...

    def assigned_suffix(self, target: StackTarget) -> str | None:
        """The global-name suffix of the stack's existing Pulumi stack in the backend (a
        teammate's deploy, or this machine's before its registry was lost); None when the
        backend holds no such stack, or one with no resources."""
        ...


# --------------------------------------------------------------------------
# URNs, as every engine and the flows built on them read them

# The root resource of every Pulumi stack: in the state, never a cloud resource.
STACK_TYPE = "pulumi:pulumi:Stack"


def urn_name(urn: str) -> str:
    """The logical name in a URN (urn:pulumi:stack::project::type::name)."""
    return urn.split("::", 3)[-1] if urn else urn


def urn_type(urn: str) -> str:
    """The resource type in a URN (the last `$` part of the qualified type)."""
    parts = urn.split("::", 3)
    return parts[2].rsplit("$", 1)[-1] if len(parts) == 4 else ""
