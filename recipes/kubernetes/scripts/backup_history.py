"""Upload the tracker's database dumps to the stack's bucket: the backup Job's `upload` container (MLflow image).

The Job's init container `dump` (postgres image) has written one `pg_dump -Fc` file per
database (`<database>.dump`) into a directory the two containers share. This step puts
them, with a manifest (`backup.json`: the id, the time, each file's size and sha256),
under the tracker's backups folder in the bucket, twice:

    <backups>/<id>/      this backup, kept
    <backups>/latest/    what the next start on an empty database restores

through MLflow's own artifact repository code, so it authenticates exactly as the
tracking server does on every cloud (s3://, gs://, wasbs://; the pod's workload
identity, no keys). The id's folder is written first; in `latest`, the dumps first and
the manifest last, so a `latest` whose dumps do not match its manifest (an upload cut
short) is detected at restore time, which then reads the id's folder the manifest names.

Environment: RECIPE_BACKUP_ID, RECIPE_BACKUPS_URI (the backups folder),
RECIPE_HISTORY_DIR (the dumps) and RECIPE_DATABASES (their names, space-separated).
Prints no secret.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

MANIFEST = "backup.json"
LATEST = "latest"


def sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def manifest(backup_id: str, dumps: list[Path]) -> dict:
    import mlflow

    return {
        "format": 1,
        "id": backup_id,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "mlflow": mlflow.__version__,
        "files": {p.name: {"bytes": p.stat().st_size, "sha256": sha256(p)} for p in dumps},
    }


def upload(uri: str, files: list[Path]) -> None:
    from mlflow.store.artifact.artifact_repository_registry import (
        get_artifact_repository,
    )

    repository = get_artifact_repository(uri)
    for path in files:
        repository.log_artifact(str(path))
        print(f"upload: {uri}/{path.name} ({path.stat().st_size} bytes)", flush=True)


def main() -> int:
    backup_id = os.environ.get("RECIPE_BACKUP_ID", "")
    backups = os.environ.get("RECIPE_BACKUPS_URI", "").rstrip("/")
    directory = Path(os.environ.get("RECIPE_HISTORY_DIR", ""))
    databases = os.environ.get("RECIPE_DATABASES", "").split()
    if not (backup_id and backups and databases and directory.is_dir()):
        print("upload: RECIPE_BACKUP_ID, RECIPE_BACKUPS_URI, RECIPE_HISTORY_DIR and RECIPE_DATABASES are required",
              file=sys.stderr)
        return 2
    dumps = [directory / f"{database}.dump" for database in databases]
    missing = [p.name for p in dumps if not p.is_file() or p.stat().st_size == 0]
    if missing:
        print(f"upload: no dump of {', '.join(missing)} in {directory}", file=sys.stderr)
        return 1
    manifest_path = directory / MANIFEST
    manifest_path.write_text(json.dumps(manifest(backup_id, dumps), indent=2) + "\n")
    upload(f"{backups}/{backup_id}", [*dumps, manifest_path])
    upload(f"{backups}/{LATEST}", [*dumps, manifest_path])
    print(f"upload: backup {backup_id} saved", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
