"""PulumiEngine: the Engine seam on the Pulumi Automation API, one Pulumi stack per recipe stack.

Each stack gets its own workspace (work dir, backend, passphrase, Pulumi CLI) and an
inline program calling `recipes.build(spec)`. Nothing imports `pulumi.automation` (or a
provider SDK) at module import time: the CLI must start fast, and `recipe plan` must
work without the Pulumi CLI installed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from recipes import naming
from recipes.spec import StackSpec

from provisioner import paths
from provisioner.engine import (
    PROJECT,
    Changes,
    ConcurrentUpdate,
    DestroyResult,
    EngineError,
    OnEvent,
    PassphraseError,
    PendingOperation,
    StackTarget,
    UpResult,
)
from provisioner.engine import run_history, teardown
from provisioner.engine.pulumi import plugins, state
from provisioner.engine.pulumi.automation import AutomationStack, inline_program
from provisioner.engine.pulumi.cli import default_pulumi_command, describe_command, pulumi_not_found
from provisioner.engine.pulumi.events import OperationEvents, change_counts
from provisioner.engine.pulumi.messages import (
    PASSPHRASE_PATTERNS,
    command_output,
    credential_hint,
    failure_lines,
    limit,
    lock_holders,
    lock_time,
    matches,
    passphrase_help,
)
from provisioner.engine.pulumi.passphrase import backend_local_dir, ensure_passphrase

if TYPE_CHECKING:  # only for annotations: importing the Automation API is slow
    from pulumi.automation import PulumiCommand, Stack

PROJECT_DESCRIPTION = "MLOps stacks deployed by the stack-recipes `recipe` CLI"
# The stack's global-name suffix, in its Pulumi config (see recipes/naming.py).
SUFFIX_CONFIG = "recipe:suffix"
# pulumi-kubernetes drops the objects of an unreachable cluster from the state only with this set.
DELETE_UNREACHABLE_ENV = "PULUMI_K8S_DELETE_UNREACHABLE"


class PulumiEngine:
    """The Engine on the Pulumi Automation API: one Pulumi stack per recipe stack.

    `command_factory` makes the `PulumiCommand` (the CLI); by default the CLI
    is found on PATH or in ~/.pulumi, and PulumiNotFound says how to install it.
    """

    def __init__(self, command_factory: Callable[[], PulumiCommand] | None = None):
        self._command_factory = command_factory or default_pulumi_command
        self._cmd: PulumiCommand | None = None
        self._plugins_ready: set[str] = set()

    # --- plumbing -------------------------------------------------------------
    def _command(self) -> PulumiCommand:
        if self._cmd is None:
            try:
                self._cmd = self._command_factory()
            except FileNotFoundError as exc:
                raise pulumi_not_found() from exc
        return self._cmd

    def pulumi_cli(self) -> str:
        """The Pulumi CLI this engine runs, found and version-checked once (the preflight asks first)."""
        return describe_command(self._command())

    def _workspace(self, target: StackTarget, extra_env: Mapping[str, str] | None = None):
        """Workspace options for `target`: its own work dir, backend, passphrase and Pulumi CLI."""
        from pulumi import automation as auto

        passphrase = ensure_passphrase()  # first: it creates the data dir 0700 on a first run
        work_dir = paths.workspace_dir(target.stack_name, target.backend)
        work_dir.mkdir(parents=True, exist_ok=True)
        local = backend_local_dir(target.backend)
        if local is not None:
            local.mkdir(parents=True, exist_ok=True)
        env = {"PULUMI_BACKEND_URL": target.backend, "PULUMI_SKIP_UPDATE_CHECK": "true", **passphrase, **(extra_env or {})}
        return auto.LocalWorkspaceOptions(
            work_dir=str(work_dir),
            pulumi_command=self._command(),
            secrets_provider="passphrase",
            env_vars=env,
            project_settings=auto.ProjectSettings(
                name=PROJECT,
                runtime="python",
                main=str(work_dir),  # the default would be whatever directory `recipe` ran in
                description=PROJECT_DESCRIPTION,
                backend=auto.ProjectBackend(url=target.backend),
            ),
        )

    def _stack(self, target: StackTarget, spec: StackSpec | None = None, *, create: bool = True,
               extra_env: Mapping[str, str] | None = None) -> Stack:
        """The Pulumi stack for `target` in its own workspace (created when `create`, else selected)."""
        from pulumi import automation as auto

        spec = spec or target.spec
        if not spec.suffix:  # operations.assign_suffix gives every deployed stack one
            raise EngineError(f"stack {target.stack_name} has no suffix for its global names yet; deploy it with `recipe deploy`")
        init = auto.create_or_select_stack if create else auto.select_stack
        stack = init(stack_name=target.stack_name, project_name=PROJECT, program=inline_program(spec),
                     opts=self._workspace(target, extra_env))
        # Kept in the stack's config too, so a teammate deploying from a shared backend, or
        # this machine after its registry is lost, finds the same global names.
        stack.set_config(SUFFIX_CONFIG, auto.ConfigValue(spec.suffix))
        return stack

    def _existing_stack(self, target: StackTarget) -> Stack | None:
        """The stack in the backend, selected without creating it or writing its config; None if absent."""
        from pulumi import automation as auto

        try:
            return auto.select_stack(stack_name=target.stack_name, project_name=PROJECT,
                                     program=inline_program(target.spec), opts=self._workspace(target))
        except auto.StackNotFoundError:
            return None

    def _ensure_plugins(self, stack: Stack, provider: str) -> None:
        """The plugins a `provider` stack needs, checked once per engine and provider."""
        if provider not in self._plugins_ready:
            plugins.install_missing(stack.workspace, provider)
            self._plugins_ready.add(provider)

    @contextlib.contextmanager
    def _operation(self, target: StackTarget, action: str, on_event: OnEvent | None = None) -> Iterator[OperationEvents]:
        """Run one operation: Automation API errors become EngineErrors, callback errors are re-raised.

        `action` reads "could not <action>", e.g. "deploy stack {name}".
        """
        from pulumi import automation as auto

        op = OperationEvents(on_event)
        name = target.stack_name
        what = action.format(name=name)
        try:
            yield op
        except auto.ConcurrentUpdateError as exc:
            _, stderr = command_output(exc)
            holders = lock_holders(stderr)
            since = lock_time(stderr)
            message = (
                f"stack {name} is being updated by another process{f' since {since}' if since else ''}; "
                f"wait for it to finish, or if that process was killed, run `recipe repair {name} --unlock`"
            )
            if holders:
                message += "\n  lock: " + "\n  lock: ".join(holders)
            raise self._with_callback_note(ConcurrentUpdate(message), op) from exc
        except auto.StackNotFoundError as exc:
            raise self._with_callback_note(EngineError(f"no Pulumi stack {name} in {target.backend}"), op) from exc
        except auto.CommandError as exc:
            lines, diagnostics = failure_lines(op.errors, exc)
            if matches(PASSPHRASE_PATTERNS, lines + [str(exc)]):
                raise self._with_callback_note(PassphraseError(passphrase_help(name)), op) from exc
            message = limit(f"could not {what}:", lines or [type(exc).__name__])
            hint = credential_hint(target.spec.provider, lines + diagnostics)
            error = EngineError(message + (f"\n{hint}" if hint else ""), resource=op.resource, diagnostics=diagnostics)
            raise self._with_callback_note(error, op) from exc
        except auto.InvalidVersionError as exc:
            raise self._with_callback_note(
                pulumi_not_found(f"could not {what}: {exc}"), op
            ) from exc
        if op.callback_error is not None:
            raise op.callback_error

    @staticmethod
    def _with_callback_note(error: EngineError, op: OperationEvents) -> EngineError:
        if op.callback_error is not None:
            error.add_note(f"the event callback also failed: {op.callback_error!r}")
        return error

    # --- Engine ---------------------------------------------------------------
    def preview(self, target: StackTarget, on_event: OnEvent) -> Changes:
        with self._operation(target, "preview stack {name}", on_event) as op:
            stack = self._stack(target)
            self._ensure_plugins(stack, target.spec.provider)
            result = stack.preview(on_event=op, color="never", suppress_progress=True)
        return Changes(change_counts(result.change_summary))

    def up(self, target: StackTarget, on_event: OnEvent) -> UpResult:
        with self._operation(target, "deploy stack {name}", on_event) as op:
            stack = self._stack(target)
            self._ensure_plugins(stack, target.spec.provider)
            result = stack.up(on_event=op, color="never", suppress_progress=True)
        return UpResult(
            outputs={key: value.value for key, value in result.outputs.items()},
            changes=Changes(change_counts(result.summary.resource_changes)),
        )

    def destroy(
        self, target: StackTarget, on_event: OnEvent, *, delete_data: bool = False, cluster_gone: bool = False
    ) -> DestroyResult:
        # pulumi-kubernetes drops the objects of an unreachable cluster from the state only when
        # told so, for this run: never set in the program, where it would hide an unreachable
        # (private, IP-restricted) cluster that still exists, with its load balancers and disks.
        extra_env = {DELETE_UNREACHABLE_ENV: "true"} if cluster_gone else None
        with self._operation(target, "destroy stack {name}", on_event) as op:
            stack = self._stack(target, create=False, extra_env=extra_env)
            self._ensure_plugins(stack, target.spec.provider)
            return teardown.destroy(AutomationStack(stack, op), target.spec, op, delete_data=delete_data)

    def refresh(self, target: StackTarget, on_event: OnEvent, *, clear_pending_creates: bool = False,
                import_pending_creates: Mapping[str, str] | None = None) -> Changes:
        with self._operation(target, "refresh stack {name}", on_event) as op:
            stack = self._stack(target, create=False)
            self._ensure_plugins(stack, target.spec.provider)
            counts = AutomationStack(stack, op).refresh(
                op, clear_pending_creates=clear_pending_creates, import_pending_creates=import_pending_creates
            )
        return Changes(counts)

    def backup(self, target: StackTarget, on_event: OnEvent, backup_id: str) -> bool:
        with self._operation(target, "back up the run history of stack {name}", on_event) as op:
            stack = self._stack(target, create=False)
            self._ensure_plugins(stack, target.spec.provider)
            return run_history.backup(AutomationStack(stack, op), target.spec, op, backup_id)

    def pending_operations(self, target: StackTarget) -> list[PendingOperation]:
        with self._operation(target, "read the state of stack {name}"):
            deployment = self._stack(target, create=False).export_stack().deployment
        return state.adoptable(state.pending_operations(deployment), deployment, target.spec)

    def outputs(self, target: StackTarget) -> dict[str, Any]:
        with self._operation(target, "read the outputs of stack {name}"):
            stack = self._stack(target, create=False)
            values = stack.outputs()
        return {key: value.value for key, value in values.items()}

    def cancel(self, target: StackTarget) -> None:
        with self._operation(target, "cancel the update of stack {name}"):
            self._stack(target, create=False).cancel()

    def assigned_suffix(self, target: StackTarget) -> str | None:
        with self._operation(target, "read the configuration of stack {name}"):
            stack = self._existing_stack(target)
            if stack is None:
                return None
            config = stack.get_all_config()
            if SUFFIX_CONFIG in config:
                return config[SUFFIX_CONFIG].value
            deployment = stack.export_stack().deployment
        if state.has_resources(deployment):
            # Deployed before suffixes were random and kept in the config: its names use the old one.
            spec = target.spec
            return naming.legacy_suffix(spec.provider, spec.name, spec.region)
        return None
