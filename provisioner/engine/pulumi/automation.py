"""The Pulumi stack of provisioner.engine.pulumi_stack, on an Automation API stack.

`recipe destroy`, `backup` and `repair` are sequences of Pulumi operations written
against that small interface (provisioner/engine/teardown.py, run_history.py); here each
is one Automation API call inside a PulumiEngine operation, whose OperationEvents
receive the events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from recipes.spec import StackSpec

from provisioner.engine import OnEvent
from provisioner.engine.pulumi.events import OperationEvents, change_counts

if TYPE_CHECKING:  # only for annotations: importing the Automation API is slow
    from pulumi.automation import Stack


def inline_program(spec: StackSpec) -> Callable[[], None]:
    """The Pulumi program for one stack: `recipes.build(spec)` (which exports the outputs)."""

    def program() -> None:
        import recipes

        recipes.build(spec)

    program.spec = spec  # type: ignore[attr-defined]  # which stack this declares, for debugging
    program.__qualname__ = program.__name__ = f"recipe_{spec.name.replace('-', '_')}"
    return program


class AutomationStack:
    """provisioner.engine.pulumi_stack.PulumiStack on an Automation API stack, inside one
    PulumiEngine operation (whose OperationEvents receive the events)."""

    def __init__(self, stack: Stack, op: OperationEvents):
        self.stack = stack
        self.op = op

    def up(self, spec: StackSpec, on_event: OnEvent, *, target: list[str] | None = None,
           target_dependents: bool = False) -> tuple[dict[str, Any], dict[str, int]]:
        result = self.stack.up(
            program=inline_program(spec), target=target, target_dependents=True if target_dependents else None,
            on_event=self.op, color="never", suppress_progress=True,
        )
        return {k: v.value for k, v in result.outputs.items()}, change_counts(result.summary.resource_changes)

    def destroy(self, on_event: OnEvent, *, target: list[str] | None = None, target_dependents: bool = False,
                exclude_protected: bool = False) -> dict[str, int]:
        result = self.stack.destroy(
            target=target, target_dependents=True if target_dependents else None,
            exclude_protected=True if exclude_protected else None,
            on_event=self.op, color="never", suppress_progress=True,
        )
        return change_counts(result.summary.resource_changes)

    def refresh(self, on_event: OnEvent, *, clear_pending_creates: bool = False,
                import_pending_creates: Mapping[str, str] | None = None) -> dict[str, int]:
        if not import_pending_creates:
            result = self.stack.refresh(
                on_event=self.op, color="never", suppress_progress=True,
                clear_pending_creates=True if clear_pending_creates else None,
            )
            return change_counts(result.summary.resource_changes)
        # The SDK has no argument for the CLI's --import-pending-creates: the same command line
        # through the stack's own runner (its workspace, backend, passphrase and --stack).
        args = ["refresh", "--yes", "--skip-preview", "--color", "never", "--suppress-progress", "--non-interactive"]
        for urn, provider_id in import_pending_creates.items():
            args += ["--import-pending-creates", urn, "--import-pending-creates", provider_id]
        if clear_pending_creates:
            args.append("--clear-pending-creates")
        self.stack._run_pulumi_cmd_sync(args)  # noqa: SLF001 - see above
        return {"update": len(import_pending_creates)}

    def deployment(self) -> dict[str, Any]:
        return dict(self.stack.export_stack().deployment or {})
