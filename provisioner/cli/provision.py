"""The commands that act on a registered stack in the cloud: preview, destroy, refresh, repair, backup.

Each one reads the stack's record, asks where it must, runs one operation of
provisioner/operations/lifecycle.py with a live view, and says what to do next.
"""

from __future__ import annotations

from typing import Annotated

import typer

from provisioner.cli import context, documents
from provisioner.cli.deploy import rerun_args
from provisioner.cli.errors import confirm, report_failure, require_confirmable, terminate_as_interrupt, user_errors
from provisioner.cli.options import NameArg, OutputFormat, OutputOpt, YesOpt

HiddenYesOpt = Annotated[bool, typer.Option("--yes", "-y", hidden=True)]
DeleteDataOpt = Annotated[bool, typer.Option("--delete-data", help="Also delete the bucket (with every artifact in it) and the registry (with every image).")]
ClusterGoneOpt = Annotated[bool, typer.Option("--cluster-gone", help="The cluster was deleted outside recipe: drop its Kubernetes objects from the state instead of failing on it. Never while it exists: its load balancers and disks would be orphaned.")]
NoBackupOpt = Annotated[bool, typer.Option("--no-backup", help="Do not back up MLflow's run history to the bucket first (it is then lost with the cluster).")]
UnlockOpt = Annotated[bool, typer.Option("--unlock", help="Remove the lock a killed process left on the stack's state.")]


def preview(name: NameArg, yes: HiddenYesOpt = False, output: OutputOpt = OutputFormat.table) -> None:
    """Show the real difference between a stack's program and the cloud (needs credentials)."""
    as_json = output == OutputFormat.json
    with user_errors(as_json) as console:
        from provisioner.operations import lifecycle

        record = context.records().get(name)
        engine = ready_engine(record, "preview")
        progress = context.progress_view(console, f"Previewing {name}")
        with progress:
            changes = lifecycle.preview(record, engine=engine, on_event=progress.handle)
        if as_json:
            documents.emit(documents.preview(name, changes))
            return
        console.print(changes.pending_summary() if changes.total_changes else f"{name} is up to date: no changes", markup=False)


def destroy(name: NameArg, yes: YesOpt = False, delete_data: DeleteDataOpt = False, cluster_gone: ClusterGoneOpt = False,
            no_backup: NoBackupOpt = False, output: OutputOpt = OutputFormat.table) -> None:
    """Tear a stack down. The bucket and the registry are kept unless --delete-data; MLflow's
    run history is backed up to the bucket first and restored by the next deploy."""
    as_json = output == OutputFormat.json
    with user_errors(as_json) as console:
        from provisioner.cli.views import kept_lines
        from provisioner.engine import EngineError
        from provisioner.operations import lifecycle

        records = context.records()
        record = records.get(name)
        lifecycle.target_for(record)  # fails early for stacks we do not manage
        engine = ready_engine(record)
        require_confirmable(console, f"destroying {name}", yes)
        confirm(console, destroy_question(name, record, delete_data, cluster_gone, no_backup), yes)
        progress = context.progress_view(console, f"Destroying {name}")
        try:
            with progress, terminate_as_interrupt(console, name):
                result = lifecycle.destroy(record, delete_data=delete_data, engine=engine, records=records,
                                           on_event=progress.handle, cluster_gone=cluster_gone, backup_first=not no_backup)
        except EngineError as exc:
            progress.print_summary()
            rerun = f"recipe destroy {name}" + (" --delete-data" if delete_data else "") + (" --cluster-gone" if cluster_gone else "")
            if record.last_operation and record.last_operation.op == "backup":
                exc.message += (f"\nNothing was destroyed. To destroy {name} without saving MLflow's run history "
                                f"(it is then lost with the cluster): recipe destroy {name} --no-backup")
            raise report_failure(console, exc, progress, rerun, "destroy") from None
        progress.print_summary()
        kept = kept_lines(record)
        if as_json:
            documents.emit(documents.destroy(name, delete_data, kept, result.backup_id))
            return
        if result.backup_id:
            from provisioner.engine.run_history import location

            console.print(f"MLflow's run history is backed up in the bucket ({location(result.backup_id)}); "
                          "the next deploy of this stack restores it.", markup=False)
        if kept and delete_data:
            # e.g. GCP key rings, which GCP never deletes (they cost nothing)
            console.print("Still there (the cloud does not delete these):\n  " + "\n  ".join(kept), markup=False)
        elif kept:
            console.print("Kept (your data):\n  " + "\n  ".join(kept), markup=False)
            console.print(f"Delete them later with: recipe destroy {name} --delete-data", markup=False)
        console.print(f"Stack {name} destroyed.", markup=False)


def ready_engine(record, operation: str | None = None):
    """The engine, once this machine can run it for the recorded stack (provisioner/cli/deploy.py);
    `operation`: "preview" or "refresh", which run the program (a `kubernetes` stack's cluster is checked for it)."""
    from provisioner.cli.deploy import ready_engine as ready
    from provisioner.operations.lifecycle import never_deployed

    spec = None
    if record.provider == "kubernetes" and record.spec:  # the recorded context and kubeconfig: the cluster is checked
        from provisioner.stacks.stackfile import spec_from_record

        spec = spec_from_record(record.name, record.spec)
    return ready(record.provider, stack=record.name, never_deployed=never_deployed(record), spec=spec,
                 operation=operation)


def destroy_question(name: str, record, delete_data: bool, cluster_gone: bool, no_backup: bool) -> str:
    """What `recipe destroy` asks: what goes, what stays, and what the flags give up."""
    where = f"{name} ({record.provider}, {record.region})"
    if delete_data:
        question = f"Destroy {where} INCLUDING its bucket and registry and all data in them?"
    else:
        question = f"Destroy {where}? The bucket and the registry are kept"
        question += ("; MLflow's run history is NOT backed up (--no-backup)." if no_backup else
                     ", and MLflow's run history is backed up to the bucket first.")
    if cluster_gone:
        question += (" --cluster-gone: its Kubernetes objects are dropped from the state unchecked; only if the "
                     "cluster no longer exists.")
    return question


def refresh(name: NameArg, output: OutputOpt = OutputFormat.table) -> None:
    """Reconcile a stack's state with the cloud and report what changed outside recipe."""
    with user_errors(output == OutputFormat.json) as console:
        from provisioner.operations import lifecycle

        records = context.records()
        record = records.get(name)
        engine = ready_engine(record, "refresh")
        progress = context.progress_view(console, f"Refreshing {name}")
        with progress, terminate_as_interrupt(console, name):
            drift = lifecycle.refresh(record, engine=engine, records=records, on_event=progress.handle)
        if output == OutputFormat.json:
            documents.emit(documents.refresh(name, drift))
            return
        if not drift.changed and not drift.deleted:
            console.print(f"{name}: no drift, the cloud matches the state.", markup=False)
            return
        for line in drift.changed:
            console.print(f"changed outside recipe: {line}", markup=False)
        for line in drift.deleted:
            console.print(f"deleted outside recipe: {line}", markup=False)
        console.print(f"The state now records the cloud as it is. `recipe deploy` with the stack's settings puts them back "
                      f"(`recipe preview {name}` shows what it would change).", markup=False)


def repair(name: NameArg, unlock: UnlockOpt = False, yes: YesOpt = False, output: OutputOpt = OutputFormat.table) -> None:
    """Clean up after an interrupted deploy or destroy: pending operations, stale locks."""
    as_json = output == OutputFormat.json
    with user_errors(as_json) as console:
        from provisioner.operations import lifecycle

        records = context.records()
        record = records.get(name)
        engine = ready_engine(record)
        op = record.last_operation
        if op and op.status == "running" and op.owner_alive() and not unlock:
            raise lifecycle.OperationInProgress(
                f"{name} is being updated by a live process (pid {op.pid} on {op.host}); wait for it to finish"
            )
        found = lifecycle.inspect_for_repair(record, engine=engine)
        if not found.pending and not unlock and not found.was_interrupted:
            last = f" Its last operation ({op.op}) {op.status}." if op else ""
            console.print(f"{name}: nothing to repair: no pending operations and no interrupted run.{last}", markup=False)
            if as_json:
                documents.emit(documents.repair(name, repaired=False, unlocked=False, rerun=None, pending=[]))
            return
        confirm(console, f"Repair {name}: " + "; ".join(repair_steps(console, found, unlock)) + ". Continue?", yes)
        progress = context.progress_view(console, f"Repairing {name}")
        with progress, terminate_as_interrupt(console, name):
            lifecycle.repair(record, found, unlock=unlock, engine=engine, records=records, on_event=progress.handle)
        rerun = "destroy" if op and op.op.startswith("destroy") else "deploy"
        command = f"recipe {rerun} {name if rerun == 'destroy' else rerun_args(record)}"
        console.print(f"Repaired {name}. Now re-run `{command}`.", markup=False)
        if as_json:
            documents.emit(documents.repair(name, repaired=True, unlocked=unlock, rerun=command, pending=found.pending))


def repair_steps(console, found, unlock: bool) -> list[str]:
    """Say what happens to each pending operation; the steps the repair asks to take."""
    adopt = [p for p in found.pending if p.adopt_id]
    drop = [p for p in found.pending if not p.adopt_id]
    for pending in adopt:
        console.print(f"adopt: {pending.operation} {pending.type} {pending.name}: kept if it exists as {pending.adopt_id}", markup=False)
    for pending in drop:
        note = " (if it was created, its id is the cloud's: check the console for a leftover)" if pending.operation == "creating" else ""
        console.print(f"drop: {pending.operation} {pending.type} {pending.name}{note}", markup=False)
    steps = []
    if unlock:
        steps.append("remove the lock on its state (only safe if no other deploy or destroy is running)")
    if found.pending:
        steps.append(f"refresh it, adopting {len(adopt)} half-created resource(s) that exist and dropping "
                     f"{len(drop)} other pending operation(s) from the state")
    if found.was_interrupted:
        steps.append("record the interrupted run as interrupted")
    return steps


def backup(name: NameArg, output: OutputOpt = OutputFormat.table) -> None:
    """Back up MLflow's run history (experiments, runs, models, users) to the stack's bucket."""
    as_json = output == OutputFormat.json
    with user_errors(as_json) as console:
        from provisioner.engine import EngineError
        from provisioner.engine.run_history import location
        from provisioner.operations import lifecycle

        records = context.records()
        record = records.get(name)
        lifecycle.target_for(record)  # fails early for stacks we do not manage
        engine = ready_engine(record)
        progress = context.progress_view(console, f"Backing up {name}")
        try:
            with progress, terminate_as_interrupt(console, name):
                backup_id = lifecycle.backup(record, engine=engine, records=records, on_event=progress.handle)
        except EngineError as exc:
            progress.print_summary()
            raise report_failure(console, exc, progress, f"recipe backup {name}", "backup") from None
        where = location(backup_id) if backup_id else None
        if backup_id:
            console.print(f"Backed up {name}'s run history as {backup_id}: in its bucket, {where}.", markup=False)
        else:
            console.print(f"{name} has no running tracker: nothing to back up.", markup=False)
        if as_json:
            documents.emit(documents.backup(name, backup_id, where))
