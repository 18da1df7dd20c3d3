"""Deploy, preview and destroy a stack, keeping its record (provisioner/stacks/records.py) true at every step.

The record is written before an operation starts and after it ends, so a
failure or an interrupt is recorded, never forgotten, and nothing already
known about a stack (its outputs, its backend) is lost on failure.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from recipes import naming, outputs
from recipes.errors import RecipeError
from recipes.spec import StackSpec

from provisioner import paths
from provisioner.engine import (
    PROJECT,
    Changes,
    ConcurrentUpdate,
    DestroyResult,
    Engine,
    EngineError,
    EngineEvent,
    OnEvent,
    PendingOperation,
    StackTarget,
)
from provisioner.stacks.records import StackRecords, StackRecord, load_local_secrets
from provisioner.stacks.stackfile import spec_from_record


class OperationError(RecipeError):
    """A request that cannot be carried out as asked; the message says what to do instead."""


def target_for(record: StackRecord) -> StackTarget:
    if record.source != "deploy" or not record.backend:
        raise OperationError(
            f"{record.name} was registered from a `pulumi up` outside recipe, so its state is not ours to change: "
            f"run `pulumi preview/destroy` in that project; `recipe forget {record.name}` removes it from `recipe stacks`"
        )
    return StackTarget(spec=spec_from_record(record.name, record.spec), backend=record.backend)


def never_deployed(record: StackRecord) -> bool:
    """The record knows of nothing in the cloud: a first deploy that failed before any output,
    or a stack recipe never held the state of (registered, adopted)."""
    return record.source != "deploy" or (record.status in ("failed", "deploying") and not record.outputs)


def deploy_target(spec: StackSpec, backend: str | None, records: StackRecords) -> tuple[StackRecord | None, StackTarget]:
    """Where a deploy of `spec` goes: the stack's recorded backend, `backend`, or the default.

    Refuses what would split a live stack in two: another provider under the
    same name, another backend than the one holding its state.
    """
    record = records.find(spec.name)
    if record is not None:
        if record.source != "deploy":
            raise OperationError(
                f"{spec.name} is registered from an outputs file (deployed with the pulumi CLI); "
                "pick another name, or update it with `pulumi up` and `recipe register`"
            )
        if record.provider != spec.provider and record.status != "destroyed":
            raise OperationError(
                f"{spec.name} is a {record.provider} stack in {record.region}; destroy it first or pick another name"
            )
        if backend and record.backend and backend != record.backend and record.status != "destroyed":
            raise OperationError(
                f"the state of {spec.name} is in {record.backend}; deploy it there (omit --backend) or destroy it first"
            )
    backend = backend or (record.backend if record else None) or paths.default_backend()
    return record, StackTarget(spec=spec, backend=backend)


def assign_suffix(spec: StackSpec, *, backend: str | None, engine: Engine, records: StackRecords) -> StackSpec:
    """The spec with its stack's suffix for global names (see recipes/naming.py).

    Found again, in this order: --suffix, this machine's record of the stack, the stack's
    config in its Pulumi backend (a teammate's deploy; `Engine.assigned_suffix`); only a
    stack none of them knows gets a new random one. A --suffix that differs from the
    stack's own is refused while anything of the stack exists: it would create new
    buckets and registries beside the old ones.
    """
    record, target = deploy_target(spec, backend, records)
    recorded = str((record.spec or {}).get("suffix") or "") if record is not None else ""
    if spec.suffix:
        gone = record is not None and record.status == "destroyed" and not record.retained
        if recorded and recorded != spec.suffix and not gone:
            raise OperationError(
                f"{spec.name}'s global names end in -{recorded}; --suffix {spec.suffix} would create new buckets "
                "and registries beside the ones it has: drop --suffix, or pick another stack name"
            )
        return spec
    suffix = recorded or engine.assigned_suffix(target) or naming.new_suffix()
    return spec.with_changes(suffix=suffix)


class OperationInProgress(OperationError):
    """Another `recipe` process is working on this stack right now."""


def _since(stamp: str | None) -> str:
    from datetime import datetime, timezone

    try:
        when = datetime.fromisoformat(stamp or "")
    except ValueError:
        return "an unknown time"
    same_day = when.date() == datetime.now(timezone.utc).date()
    return when.strftime("%H:%M UTC" if same_day else "%Y-%m-%d %H:%M UTC")


def check_not_running(record: StackRecord) -> None:
    """Refuse to start while another live process runs an operation on the stack.

    A run whose process is gone (killed, crashed) is not a lock: it is reported
    as interrupted and the new command goes ahead, which is how re-running resumes.
    """
    op = record.last_operation
    if op is None or op.status != "running":
        return
    if op.owner_alive():
        raise OperationInProgress(
            f"stack {record.name} is being updated by another process ({op.op}, pid {op.pid} on {op.host}) since "
            f"{_since(op.started_at)}; wait for it, or if that process is gone run `recipe repair {record.name} --unlock`"
        )


@dataclass
class LastEvent:
    """Remembers the last thing the engine reported, for the record of an interrupted run."""

    forward: OnEvent
    last: str | None = None

    def __call__(self, event: EngineEvent) -> None:
        if event.kind in ("start", "done", "failed") or (event.kind == "diagnostic" and event.severity == "error"):
            self.last = event.describe()
        self.forward(event)


@contextmanager
def tracked(records: StackRecords, record: StackRecord, op: str, status: str, on_event: OnEvent) -> Iterator[LastEvent]:
    """Run `op` on the stack with its record saying so before, and truthfully after.

    Success is recorded by the caller. A failure or an interrupt is recorded as
    `failed` with the time, the message and the last event; a lock held by
    someone else leaves the record exactly as it was.
    """
    check_not_running(record)
    previous_status, previous_op = record.status, copy.deepcopy(record.last_operation)
    record.status = status
    record.start(op)
    records.save(record)
    tracker = LastEvent(on_event)
    try:
        yield tracker
    except ConcurrentUpdate:
        record.status, record.last_operation = previous_status, previous_op
        records.save(record)
        raise
    except EngineError as exc:
        _fail(records, record, "failed", exc.message, exc.resource, tracker.last)
        raise
    except (KeyboardInterrupt, SystemExit):
        _fail(records, record, "interrupted", f"interrupted before the {op} finished", None, tracker.last)
        raise


def deploy(spec: StackSpec, *, backend: str | None, engine: Engine, records: StackRecords, on_event: OnEvent) -> tuple[StackRecord, Changes]:
    if not spec.suffix:
        spec = assign_suffix(spec, backend=backend, engine=engine, records=records)
    record, target = deploy_target(spec, backend, records)
    if record is None:
        record = StackRecord(name=spec.name, provider=spec.provider, region=spec.region, status="deploying", source="deploy")
    check_not_running(record)  # before changing anything in the record
    record.provider, record.region = spec.provider, spec.region
    record.spec = spec.to_mapping()
    record.backend, record.pulumi_stack, record.project = target.backend, spec.name, PROJECT
    with tracked(records, record, "deploy", "deploying", on_event) as tracker:
        result = engine.up(target, tracker)
        try:
            canonical = outputs.validate(result.outputs, source=f"outputs of {spec.name}", forms=False)
        except outputs.OutputsError as exc:
            _fail(records, record, "failed", str(exc), None, tracker.last)
            raise OperationError(f"the deploy finished but its outputs are incomplete: {exc}") from None
    record.outputs = outputs.public(canonical)
    record.secrets = "pulumi"
    record.retained = []
    record.status = "ready"
    record.finish("succeeded", describe_changes(result.changes))
    records.save(record)
    return record, result.changes


def preview(record: StackRecord, *, engine: Engine, on_event: OnEvent, spec: StackSpec | None = None) -> Changes:
    target = target_for(record)
    if spec is not None:
        target = StackTarget(spec=spec, backend=target.backend)
    return engine.preview(target, on_event)


def backup(record: StackRecord, *, engine: Engine, records: StackRecords, on_event: OnEvent) -> str | None:
    """Back up the tracker's run history to the bucket: the backup id, None if there is no tracker."""
    from provisioner.engine.run_history import new_backup_id

    backup_id = new_backup_id()
    status = record.status
    with tracked(records, record, "backup", status, on_event) as tracker:
        done = engine.backup(target_for(record), tracker, backup_id)
    record.status = status
    record.finish("succeeded", f"run history backed up ({backup_id})" if done else "no tracker to back up")
    records.save(record)
    return backup_id if done else None


def destroy(
    record: StackRecord, *, delete_data: bool, engine: Engine, records: StackRecords, on_event: OnEvent,
    cluster_gone: bool = False, backup_first: bool = True,
) -> DestroyResult:
    """Destroy the stack. Unless its data goes too (or its cluster is gone), the tracker's run
    history is backed up to the bucket first, and a failed backup stops the destroy."""
    target = target_for(record)
    backup_id = None
    if backup_first and not delete_data and not cluster_gone:
        backup_id = backup(record, engine=engine, records=records, on_event=on_event)
    command = "destroy" + (" --delete-data" if delete_data else "") + (" --cluster-gone" if cluster_gone else "")
    with tracked(records, record, command, "destroying", on_event) as tracker:
        result = engine.destroy(target, tracker, delete_data=delete_data, cluster_gone=cluster_gone)
    result.backup_id = backup_id
    record.retained = [r.to_json() for r in result.retained]
    # What still exists: the retained data components, so the user can find them.
    # A data component's main resource carries the component's own name ("bucket", "registry").
    kept = {r.name for r in result.retained if r.primary}
    record.outputs = {k: v for k, v in record.outputs.items() if k in outputs.TOP_LEVEL or k in kept}
    record.secrets = "none"
    record.status = "destroyed"
    record.finish("succeeded", describe_changes(result.changes))
    records.save(record)
    return result


@dataclass
class Drift:
    """What a refresh found changed outside the tool."""

    changes: Changes
    changed: list[str] = field(default_factory=list)  # "type name: prop, prop"
    deleted: list[str] = field(default_factory=list)  # "type name"


def refresh(record: StackRecord, *, engine: Engine, records: StackRecords, on_event: OnEvent) -> Drift:
    """Reconcile the state with the cloud and say what differed."""
    target = target_for(record)
    drift = Drift(Changes())
    status = record.status

    def watch(event: EngineEvent) -> None:
        if event.kind == "done" and event.urn and not (event.type or "").startswith(("recipes:", "pulumi:")):
            label = f"{event.type} {event.name}"
            if event.op == "delete":
                drift.deleted.append(label)
            elif event.diffs and event.op in ("update", "refresh"):
                drift.changed.append(f"{label}: {', '.join(event.diffs)}")
        tracker(event)

    with tracked(records, record, "refresh", status, on_event) as tracker:
        drift.changes = engine.refresh(target, watch)
        values = engine.outputs(target) if status == "ready" else None
    if values:
        try:
            record.outputs = outputs.public(outputs.validate(values, source=f"outputs of {record.name}", forms=False))
        except outputs.OutputsError:
            pass  # keep what we knew: a partial stack's outputs are not canonical
    record.status = status
    record.finish("succeeded", f"{len(drift.changed)} changed, {len(drift.deleted)} gone outside recipe")
    records.save(record)
    return drift


@dataclass
class Repair:
    pending: list[PendingOperation]
    cleared: bool = False
    unlocked: bool = False
    was_interrupted: bool = False


def inspect_for_repair(record: StackRecord, *, engine: Engine) -> Repair:
    op = record.last_operation
    interrupted = bool(op and op.status == "running" and not op.owner_alive())
    return Repair(pending=engine.pending_operations(target_for(record)), was_interrupted=interrupted)


def repair(record: StackRecord, found: Repair, *, unlock: bool, engine: Engine, records: StackRecords, on_event: OnEvent) -> Repair:
    """Clear what an interrupted run left behind; each step was confirmed by the user first."""
    target = target_for(record)
    op = record.last_operation
    if op and op.status == "running":
        # The run we are repairing is over (it died, or the user says so with --unlock).
        record.status = "failed"
        record.finish("interrupted", "the process stopped before the operation finished", op.resource, op.last_event)
        records.save(record)
    if unlock:
        engine.cancel(target)
        found.unlocked = True
    if found.pending:
        # Half-created resources with a name fixed by their inputs are adopted (read back by
        # their id: kept if they exist), the others dropped from the state.
        adopt = {p.urn: p.adopt_id for p in found.pending if p.adopt_id}
        with tracked(records, record, "repair", "failed", on_event) as tracker:
            engine.refresh(target, tracker, clear_pending_creates=True, import_pending_creates=adopt or None)
        found.cleared = True
        record.status = "failed"  # the stack is consistent again, but the interrupted operation still has to run
        record.finish("succeeded", f"adopted {len(adopt)} and cleared {len(found.pending) - len(adopt)} pending operation(s)")
        records.save(record)
    return found


def describe_changes(changes: Changes) -> str:
    parts = [f"{n} {op}" for op, n in sorted(changes.counts.items()) if op != "same" and n]
    return ", ".join(parts) if parts else "no changes"


def secret_values(record: StackRecord, engine_factory) -> dict[str, dict[str, str]]:
    """The stack's secret outputs, from wherever they live (never from the stack records)."""
    if record.secrets == "local":
        return load_local_secrets(record.name)
    if record.secrets == "pulumi":
        return outputs.secrets(engine_factory().outputs(target_for(record)))
    return {}


def full_outputs(record: StackRecord, engine_factory, *, with_secrets: bool) -> dict[str, Any]:
    if not with_secrets:
        return dict(record.outputs)
    return outputs.merge_secrets(record.outputs, secret_values(record, engine_factory))


def _fail(records: StackRecords, record: StackRecord, status: str, message: str, resource: str | None = None,
          last_event: str | None = None) -> None:
    record.status = "failed"
    record.finish(status, message, resource, last_event)
    records.save(record)
