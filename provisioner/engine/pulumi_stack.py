"""The Pulumi operations recipe's flows are built from, on one Pulumi stack.

`recipe destroy` (and `--delete-data`, `repair`, `backup`) is a sequence of Pulumi
operations with targets. Writing that sequence against this small interface lets
the same code run on the Automation API (`AutomationStack`) and, in the tests, on a
model of the Pulumi engine's own rules (tests/support/pulumi_rules.py), which refuses what
Pulumi refuses: an untargeted create that a targeted resource needs, deleting a
protected resource, a targeted delete that an untargeted resource still depends on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:
    from recipes.spec import StackSpec

    from provisioner.engine import OnEvent

Changes = dict[str, int]  # Pulumi's resource change summary: {"create": 3, "same": 40, ...}


class PulumiStack(Protocol):
    """One Pulumi stack. Every method runs one Pulumi operation (or reads the state)."""

    def up(self, spec: StackSpec, on_event: OnEvent, *, target: list[str] | None = None,
           target_dependents: bool = False) -> tuple[dict[str, Any], Changes]:
        """`pulumi up` of `spec`'s program; returns the stack outputs and the change summary."""
        ...

    def destroy(self, on_event: OnEvent, *, target: list[str] | None = None,
                target_dependents: bool = False, exclude_protected: bool = False) -> Changes: ...

    def refresh(self, on_event: OnEvent, *, clear_pending_creates: bool = False,
                import_pending_creates: Mapping[str, str] | None = None) -> Changes:
        """`pulumi refresh`; `import_pending_creates` ({urn: provider id}) completes those
        pending creates from what exists in the cloud, `clear_pending_creates` drops the rest."""
        ...

    def deployment(self) -> dict[str, Any]:
        """The state, as `pulumi stack export` shows its `deployment`."""
        ...


StackFactory = Callable[..., PulumiStack]
