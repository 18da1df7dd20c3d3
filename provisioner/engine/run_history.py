"""MLflow's run history to the bucket: `recipe backup`, and what `recipe destroy` does first.

The history lives in PostgreSQL on a cluster volume, which goes with the cluster; the
bucket stays. A backup is one Kubernetes Job the program declares when the spec carries
a backup id (recipes/kubernetes/history.py), created alone with `up --target <job>`: it
depends only on what a deployed tracker already has, so Pulumi's targeting rules hold
on any deployed stack. The next deploy restores the newest backup into an empty database
before MLflow starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recipes.spec import StackSpec

from provisioner.engine import OnEvent
from provisioner.engine.pulumi_stack import PulumiStack

DATABASE_TYPE = "kubernetes:apps/v1:Deployment"


def _history():
    """The program's own facts about the backup (its Job, where the dumps go). Imported when
    needed: it loads the Kubernetes SDK, which `recipe --help` must not."""
    from recipes.kubernetes import history

    return history


def location(backup_id: str) -> str:
    """Where a backup's dumps are, inside the bucket: beside the artifacts, not under them
    (MLflow serves any path under its artifact root to any logged-in user)."""
    history = _history()
    return f"{history.BACKUPS_PREFIX}/{backup_id}/ (and {history.BACKUPS_PREFIX}/{history.LATEST}/)"


def tracker_urn(deployment: Mapping[str, Any] | None) -> str | None:
    """The tracker component in the state; None unless it and its database are there (a
    destroy that stopped half-way may have taken the database already: nothing to save)."""
    resources = [r for r in (deployment or {}).get("resources") or [] if r.get("urn")]
    tracker = next((str(r["urn"]) for r in resources if r.get("type") == _history().COMPONENT_TYPE), None)
    if tracker is None:
        return None
    name = tracker.rsplit("::", 1)[1]
    database = any(r.get("type") == DATABASE_TYPE and str(r["urn"]).endswith(f"::{name}-db") for r in resources)
    return tracker if database else None


def backup(stack: PulumiStack, spec: StackSpec, on_event: OnEvent, backup_id: str) -> bool:
    """Back up the tracker's database to the bucket; False when there is no tracker to back up."""
    tracker = tracker_urn(stack.deployment())
    if tracker is None or not spec.has("tracker"):
        return False
    head, project = tracker.split("::")[:2]  # urn:pulumi:<stack>::<project>::...
    job = _history().backup_job_urn(head.removeprefix("urn:pulumi:"), project, backup_id)
    stack.up(spec.with_changes(tracker_backup=backup_id), on_event, target=[job])
    return True


def new_backup_id() -> str:
    return _history().new_backup_id()
