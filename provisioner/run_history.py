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

from .engine import OnEvent
from .pulumi_stack import PulumiStack

TRACKER_TYPE = "recipes:kubernetes:MlflowServer"
JOB_TYPE = "kubernetes:batch/v1:Job"
# Where the dumps go, inside the bucket: beside the artifacts, not under them (MLflow serves
# any path under its artifact root to any logged-in user; see recipes/kubernetes/history.py).
LOCATION = "recipe-backups/tracker/{id}/ (and recipe-backups/tracker/latest/)"


DATABASE_TYPE = "kubernetes:apps/v1:Deployment"


def tracker_urn(deployment: Mapping[str, Any] | None) -> str | None:
    """The tracker component in the state; None unless it and its database are there (a
    destroy that stopped half-way may have taken the database already: nothing to save)."""
    resources = [r for r in (deployment or {}).get("resources") or [] if r.get("urn")]
    tracker = next((str(r["urn"]) for r in resources if r.get("type") == TRACKER_TYPE), None)
    if tracker is None:
        return None
    name = tracker.rsplit("::", 1)[1]
    database = any(r.get("type") == DATABASE_TYPE and str(r["urn"]).endswith(f"::{name}-db") for r in resources)
    return tracker if database else None


def job_urn(tracker: str, backup_id: str) -> str:
    """The backup Job's URN: a child of the tracker (its type chain, then the Job's)."""
    from recipes.kubernetes.history import backup_job_name

    head, qualified_type, _ = tracker.rsplit("::", 2)
    # The root stack is never part of a type chain (Pulumi's mock runtime puts it in the URNs
    # of top-level resources, but not in their children's).
    qualified_type = qualified_type.removeprefix("pulumi:pulumi:Stack$")
    return f"{head}::{qualified_type}${JOB_TYPE}::{backup_job_name(backup_id)}"


def backup(stack: PulumiStack, spec: StackSpec, on_event: OnEvent, backup_id: str) -> bool:
    """Back up the tracker's database to the bucket; False when there is no tracker to back up."""
    tracker = tracker_urn(stack.deployment())
    if tracker is None or not spec.has("tracker"):
        return False
    stack.up(spec.with_changes(tracker_backup=backup_id), on_event, target=[job_urn(tracker, backup_id)])
    return True


def new_backup_id() -> str:
    from recipes.kubernetes.history import new_backup_id as make

    return make()
