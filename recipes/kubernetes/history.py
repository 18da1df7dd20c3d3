"""The tracker's run history outlives its cluster: a backup Job, and a restore before MLflow starts.

MLflow's history (experiments, runs, params, metrics, the model registry, users and their
permissions) is in PostgreSQL on a cluster volume, which goes with the cluster; its
artifact files are in the stack's bucket, which stays. So the history goes to the bucket
too, beside the artifacts (`<bucket>/mlflow/`, MLflow's `--artifacts-destination`), at
`BACKUPS_PREFIX` (the program gives `recipe.artifact_uri(bucket, BACKUPS_PREFIX)`:
s3://<bucket>/recipe-backups/tracker, gs://..., wasbs://<container>@<account>.blob.core.windows.net/...):

    recipe-backups/tracker/<id>/mlflow.dump        pg_dump -Fc of the tracking database
    recipe-backups/tracker/<id>/mlflow_auth.dump   pg_dump -Fc of the auth database (users, password hashes, permissions)
    recipe-backups/tracker/<id>/backup.json        manifest: id, time, MLflow version, each dump's bytes and sha256
    recipe-backups/tracker/latest/...              the same three files of the newest backup

Not under MLflow's artifacts destination: MLflow's artifact proxy serves any path there
outside an experiment's folder to every user with the default (READ) permission, and
these dumps hold every user's password hash and every experiment. The tracker's and the
backup Job's workload identity reach the whole bucket; MLflow's users reach only `mlflow/`.

Backup. With `spec.tracker_backup` set to an id (`new_backup_id()`: a lowercase UTC stamp,
e.g. 20261201t061500z), the program declares one more resource, the Kubernetes Job
`backup_job_name(id)` (`tracker-backup-<id>`, also its Pulumi name; `backup_job_urn`), a
child of the tracker: an init container `dump` (postgres image) runs `pg_dump -Fc` of both
databases into an emptyDir, then `upload` (MLflow image, the tracker's service account and
workload identity) puts them in the bucket with MLflow's own artifact repository code
(scripts/backup_history.py): `<id>/` first, then `latest/`. pulumi-kubernetes waits for
the Job to complete, so the `up` that creates it fails if the backup fails. The Job
depends only on resources a deployed stack already has (namespace, service account,
database, the tracker's Deployment, the identity, and on Azure the `mlflow-python`
ConfigMap), and carries its scripts in its own spec: the operator creates it with
`pulumi up --target <job urn>` on any deployed stack, including one deployed before this
module existed. The next update without an id deletes the Job; the dumps stay.

Restore. The MLflow pod starts with two more init containers before `prepare`:
`fetch-history` (MLflow image, scripts/restore_history.py from the `mlflow-scripts`
ConfigMap) fetches `latest/` into an emptyDir only if the tracking database is empty and
the bucket holds a backup; `restore-history` (postgres image) `pg_restore`s what was
fetched, the tracking database last, each in one transaction. `prepare` then migrates
(a dump from an older MLflow gets its schema upgrade) and sets the admin password to the
stack's current one. A database in use, or a stack with no backup, restores nothing.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from . import versions
from .workload import container, metadata, pod_security_context, resources

BACKUPS_PREFIX = "recipe-backups/tracker"  # in the stack's bucket, beside MLflow's artifacts (`mlflow/`)
LATEST = "latest"
MANIFEST = "backup.json"
JOB_TYPE = "kubernetes:batch/v1:Job"
COMPONENT_TYPE = "recipes:kubernetes:MlflowServer"
COMPONENT_NAME = "tracker"  # the tracker's Pulumi name in recipes/program.py
JOB_PREFIX = f"{COMPONENT_NAME}-backup-"
# The Job's own deadline, and the `up`'s wait for it (a little longer, so the Job's
# DeadlineExceeded is what the user sees).
JOB_DEADLINE_SECONDS = 900
JOB_TIMEOUT = "16m"

HISTORY_DIR = "/opt/recipe/history"  # the emptyDir the dumps pass through
HISTORY_VOLUME = "history"
BACKUP_SCRIPT = "backup_history.py"
BACKUP_SOURCE = (Path(__file__).parent / "scripts" / BACKUP_SCRIPT).read_text(encoding="utf-8")
FETCH_SCRIPT = "restore_history.py"
FETCH_SOURCE = (Path(__file__).parent / "scripts" / FETCH_SCRIPT).read_text(encoding="utf-8")

# The postgres image's own client binaries (of its PG_MAJOR) first, ahead of Debian's pg_wrapper
# in /usr/bin (a Perl script that consults the user's account and cluster configuration: the
# pod runs as a uid the image has no account for). Elsewhere (the data-plane harness), PATH's.
_CLIENT = r"""set -eu
if [ -n "${PG_MAJOR:-}" ]; then PATH="/usr/lib/postgresql/$PG_MAJOR/bin:$PATH"; fi"""

# The `dump` container (postgres image). The tracking database (the first) must hold
# MLflow's schema: an empty one would replace the last good backup with nothing.
DUMP_COMMAND = _CLIENT + r"""
set -- $RECIPE_DATABASES
tables=$(psql -X -At -v ON_ERROR_STOP=1 --dbname="$1" \
  -c "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename NOT LIKE 'alembic\_%'")
if [ "$tables" = 0 ]; then
  echo "dump: database $1 holds no MLflow schema: refusing to replace the last backup with it" >&2
  exit 1
fi
for database in "$@"; do
  pg_dump --format=custom --file="$RECIPE_HISTORY_DIR/$database.dump" --dbname="$database"
  echo "dump: $database: $(wc -c < "$RECIPE_HISTORY_DIR/$database.dump") bytes"
done
"""

# The `restore-history` container (postgres image): what `fetch-history` fetched, if anything.
# The tracking database goes last: until it holds data, the next start fetches and restores
# again, and --clean makes a second restore of the others replace the first.
RESTORE_COMMAND = _CLIENT + r"""
set -- $RECIPE_DATABASES
for database in "$@"; do
  if [ ! -f "$RECIPE_HISTORY_DIR/$database.dump" ]; then
    echo "restore-history: nothing to restore"
    exit 0
  fi
done
tracking=$1
shift
for database in "$@" "$tracking"; do
  pg_restore --dbname="$database" --no-owner --no-privileges --clean --if-exists \
    --single-transaction --exit-on-error "$RECIPE_HISTORY_DIR/$database.dump"
  echo "restore-history: $database restored"
done
for database in "$tracking" "$@"; do
  rm -f "$RECIPE_HISTORY_DIR/$database.dump"
done
"""

_ID = re.compile(r"[a-z0-9]([a-z0-9-]{0,46}[a-z0-9])?")


def check_backup_id(backup_id: str) -> str:
    """A backup id the Job's name, its Pulumi name and the bucket's folder all accept."""
    if not _ID.fullmatch(backup_id) or backup_id == LATEST:
        raise ValueError(f"backup id {backup_id!r}: lowercase letters, digits and '-', at most 48 (e.g. 20261201t061500z)")
    return backup_id


def new_backup_id(now: datetime | None = None) -> str:
    """A backup id for now: the UTC time, e.g. 20261201t061500z."""
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dt%H%M%Sz")


def backup_job_name(backup_id: str) -> str:
    """The backup Job's Kubernetes name, which is also its Pulumi logical name."""
    return JOB_PREFIX + check_backup_id(backup_id)


def backup_job_urn(stack: str, project: str, backup_id: str) -> str:
    """What `pulumi up --target` names to create the backup Job alone."""
    return f"urn:pulumi:{stack}::{project}::{COMPONENT_TYPE}${JOB_TYPE}::{backup_job_name(backup_id)}"


def _env(**values: pulumi.Input[str]) -> list[dict[str, Any]]:
    return [{"name": k, "value": v} for k, v in values.items()]


def _database_env(host: pulumi.Input[str], port: int, user: str, secret: str) -> list[dict[str, Any]]:
    """libpq's own variables: the database Service, its user, and the password from the database's Secret."""
    return [
        *_env(PGHOST=host, PGPORT=str(port), PGUSER=user),
        # An environment variable, not a file: libpq ignores a password file that its group may read,
        # and a Secret volume's files belong to root with the pod's fsGroup, so PGPASSFILE cannot work.
        {"name": "PGPASSWORD", "value_from": {"secret_key_ref": {"name": secret, "key": "POSTGRES_PASSWORD"}}},
    ]


def restore_init_containers(
    *,
    databases: tuple[str, ...],
    database: dict[str, Any],
    backups_destination: pulumi.Input[str],
    backend_env: dict[str, Any],
    identity_env: list[dict[str, Any]],
    scripts_mount: dict[str, Any],
    tmp_mount: dict[str, Any],
    extra_mounts: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """`fetch-history` and `restore-history`, which run before `prepare` (their volume: `restore_volume()`)."""
    history_mount = {"name": HISTORY_VOLUME, "mount_path": HISTORY_DIR}
    common = _env(RECIPE_HISTORY_DIR=HISTORY_DIR, RECIPE_DATABASES=" ".join(databases), HOME="/tmp")
    fetch = container(
        "fetch-history", versions.MLFLOW_IMAGE, ["python", f"{scripts_mount['mount_path']}/{FETCH_SCRIPT}"],
        [backend_env, *common, *_env(RECIPE_BACKUPS_URI=backups_destination), *identity_env],
        resources("100m", "256Mi", "1", "1Gi"), [scripts_mount, history_mount, tmp_mount, *extra_mounts],
    )
    restore = container(
        "restore-history", versions.POSTGRES_IMAGE, ["sh", "-c", RESTORE_COMMAND], [*common, *_database_env(**database)],
        resources("50m", "64Mi", "1", "512Mi"), [history_mount, tmp_mount],
    )
    return [fetch, restore]


def restore_volume() -> dict[str, Any]:
    return {"name": HISTORY_VOLUME, "empty_dir": {}}


def backup_job(
    name: str,
    backup_id: str,
    *,
    namespace: pulumi.Input[str],
    service_account: pulumi.Input[str],
    uid: int,
    databases: tuple[str, ...],
    database: dict[str, Any],
    backups_destination: pulumi.Input[str],
    identity_env: list[dict[str, Any]],
    pod_labels: dict[str, str],
    labels: dict[str, str],
    extra_volumes: list[dict[str, Any]],
    extra_mounts: list[dict[str, Any]],
    opts: pulumi.ResourceOptions,
) -> k8s.batch.v1.Job:
    """The Job that saves both databases to the bucket (see the module's docstring)."""
    job_name = backup_job_name(backup_id)
    labels = {**labels, "app.kubernetes.io/name": "mlflow-backup", "app.kubernetes.io/component": "backup"}
    history_mount = {"name": HISTORY_VOLUME, "mount_path": HISTORY_DIR}
    tmp_mount = {"name": "tmp", "mount_path": "/tmp"}
    common = _env(RECIPE_HISTORY_DIR=HISTORY_DIR, RECIPE_DATABASES=" ".join(databases), HOME="/tmp")
    dump = container(
        "dump", versions.POSTGRES_IMAGE, ["sh", "-c", DUMP_COMMAND], [*common, *_database_env(**database)],
        resources("100m", "128Mi", "1", "512Mi"), [history_mount, tmp_mount],
    )
    upload = container(
        # The script travels in the Job itself: no ConfigMap the stack might not have yet.
        "upload", versions.MLFLOW_IMAGE, ["python", "-c", BACKUP_SOURCE],
        [*common, *_env(RECIPE_BACKUP_ID=backup_id, RECIPE_BACKUPS_URI=backups_destination), *identity_env],
        resources("100m", "256Mi", "1", "1Gi"), [history_mount, tmp_mount, *extra_mounts],
    )
    return k8s.batch.v1.Job(
        name,
        metadata=metadata(job_name, namespace, labels),
        spec={
            "backoff_limit": 1,
            "active_deadline_seconds": JOB_DEADLINE_SECONDS,
            # No ttlSecondsAfterFinished: the Job is Pulumi's, until the next update without an id.
            "template": {
                "metadata": {"labels": {**labels, **pod_labels}},
                "spec": {
                    "restart_policy": "Never",
                    "service_account_name": service_account,
                    "automount_service_account_token": False,
                    "enable_service_links": False,
                    "security_context": pod_security_context(uid),
                    "init_containers": [dump],
                    "containers": [upload],
                    "volumes": [restore_volume(), {"name": "tmp", "empty_dir": {}}, *extra_volumes],
                },
            },
        },
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create=JOB_TIMEOUT))),
    )
