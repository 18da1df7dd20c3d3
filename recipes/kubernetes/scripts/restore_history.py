"""Fetch the tracker's last backup when its database is empty: the MLflow pod's `fetch-history` init container.

Runs before `restore-history` (postgres image: `pg_restore` of what this step fetched)
and `prepare` (migrations, admin password). It fetches only when both hold:

1. the tracking database is empty, by MLflow's own test (no table but Alembic's): what
   a new cluster's volume holds before `prepare` first runs. A database in use (a
   restart, a redeploy on the existing volume) is never touched, and neither is the
   bucket;
2. the bucket has a backup: `<backups>/latest/backup.json` (written by the backup Job
   after its dumps) and the dumps it lists, checked against their sha256. A `latest`
   whose dumps do not match (an upload cut short) is replaced by the folder of the
   backup the manifest names, which the Job wrote in full first.

The dumps go to RECIPE_HISTORY_DIR (an emptyDir), through MLflow's artifact repository
code: the same credentials as the server, on every cloud. With nothing to restore it
does nothing and the server starts on the new database, as on a stack's first deploy.
A bucket that cannot be read while the database is empty is an error, not "no backup":
starting empty would write a schema, after which no later start would restore.

Environment: MLFLOW_BACKEND_STORE_URI, RECIPE_BACKUPS_URI (the backups folder),
RECIPE_HISTORY_DIR and RECIPE_DATABASES (their names, space-separated). Prints no secret.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

MANIFEST = "backup.json"
LATEST = "latest"


def tracking_database_is_empty(uri: str) -> bool:
    # The very test `prepare` (and MLflow's server) use to decide to create the schema.
    from mlflow.store.db import utils as db

    engine = db.create_sqlalchemy_engine_with_retry(uri)
    try:
        return db._is_empty_database(engine)
    finally:
        engine.dispose()


def sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def folder(uri: str) -> tuple[Any, set[str]]:
    """The backup folder's artifact repository and the names of the files in it."""
    from mlflow.store.artifact.artifact_repository_registry import (
        get_artifact_repository,
    )

    repository = get_artifact_repository(uri)
    return repository, {info.path.rsplit("/", 1)[-1] for info in repository.list_artifacts() if not info.is_dir}


def read_manifest(uri: str, work: Path) -> dict | None:
    """The folder's manifest, or None when there is none."""
    repository, names = folder(uri)
    if MANIFEST not in names:
        return None
    return json.loads(Path(repository.download_artifacts(MANIFEST, str(work))).read_text())


def fetch(uri: str, files: dict[str, dict], work: Path) -> list[Path] | None:
    """The folder's files, downloaded; None unless each one is there with its manifest's sha256."""
    repository, names = folder(uri)
    if not set(files) <= names:
        return None
    fetched = [Path(repository.download_artifacts(name, str(work))) for name in sorted(files)]
    if any(sha256(path) != files[path.name]["sha256"] for path in fetched):
        return None
    return fetched


def main() -> int:
    backend_uri = os.environ.get("MLFLOW_BACKEND_STORE_URI", "")
    backups = os.environ.get("RECIPE_BACKUPS_URI", "").rstrip("/")
    target = Path(os.environ.get("RECIPE_HISTORY_DIR", ""))
    databases = os.environ.get("RECIPE_DATABASES", "").split()
    if not (backend_uri and backups and databases and target.is_dir()):
        print("fetch-history: MLFLOW_BACKEND_STORE_URI, RECIPE_BACKUPS_URI, RECIPE_HISTORY_DIR and RECIPE_DATABASES "
              "are required", file=sys.stderr)
        return 2
    if not tracking_database_is_empty(backend_uri):
        print("fetch-history: the tracking database holds data: nothing to restore", flush=True)
        return 0
    work = Path(tempfile.mkdtemp(prefix="incoming-", dir=target))
    try:
        manifest = read_manifest(f"{backups}/{LATEST}", work)
        if manifest is None:
            print(f"fetch-history: empty database, no backup in {backups}/{LATEST}: starting new", flush=True)
            return 0
        wanted = [f"{database}.dump" for database in databases]
        files = manifest.get("files") or {}
        if not set(wanted) <= set(files):
            print(f"fetch-history: backup {manifest.get('id')} has {sorted(files)}, not {wanted}", file=sys.stderr)
            return 1
        files = {name: files[name] for name in wanted}
        fetched = fetch(f"{backups}/{LATEST}", files, work)
        source = LATEST
        if fetched is None:
            source = str(manifest.get("id"))
            print(f"fetch-history: {LATEST} does not match its manifest; reading {source}", flush=True)
            fetched = fetch(f"{backups}/{source}", files, work)
        if fetched is None:
            print(f"fetch-history: backup {manifest.get('id')}: no complete copy in {backups}", file=sys.stderr)
            return 1
        # Only complete, verified dumps reach the directory `restore-history` reads.
        for path in fetched:
            os.replace(path, target / path.name)
        print(f"fetch-history: empty database: fetched backup {manifest.get('id')} ({manifest.get('created')}) "
              f"from {source}: {', '.join(p.name for p in fetched)}", flush=True)
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
