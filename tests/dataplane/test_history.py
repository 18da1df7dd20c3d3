"""The tracker's history survives its cluster, proven with the real thing: MLflow 3.15.1 (the image's
package set), PostgreSQL 16 (its pg_dump and pg_restore) and an S3 API (moto), running the containers
the program renders: the backup Job's, then a new MLflow pod's on an empty database.

A user logs runs (params, a metric's history, an artifact), a registered model and a user of
their own; the backup Job dumps both databases and uploads them to the bucket; the cluster goes
(its database with it); a new database starts empty, with new passwords as a redeployed stack
has; the MLflow pod's init containers fetch and restore the backup, migrate it and set the new
admin password; and everything is found again.
"""

from __future__ import annotations

import hashlib
import json
import textwrap

import pytest

from provisioner.analysis.plan import run_plan_revealed
from recipes.kubernetes import history

from ..conftest import spec_for
from . import harness, pods
from .conftest import s3_client
from .test_tracker import ADMIN, EXPERIMENTS, run_python, user_env

BACKUP_ID = "20261201t061500z"
# A stack of its own: its own bucket in the session's S3 API, which other tests' trackers share.
STACK = "ml-history"
JOB = history.backup_job_name(BACKUP_ID)
USER, USER_PASSWORD = "alice", "Alice-password-42"

LOG_HISTORY = textwrap.dedent("""
    import json, os, pathlib, sys, tempfile
    import mlflow
    from mlflow import MlflowClient
    mlflow.set_experiment("history-check")
    runs = []
    for i, lr in enumerate(("0.01", "0.1")):
        with mlflow.start_run(run_name=f"run-{i}") as run:
            mlflow.log_param("learning_rate", lr)
            for step, value in enumerate((0.5, 0.7, 0.9 + i / 100)):
                mlflow.log_metric("accuracy", value, step=step)
            path = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
            path.write_text(f"run {i}, trained on the stack")
            mlflow.log_artifact(str(path))
            runs.append(run.info.run_id)
    client = MlflowClient()
    client.create_registered_model("churn", description="the churn model")
    client.create_model_version("churn", source=f"runs:/{runs[1]}/notes.txt", run_id=runs[1])
    print(json.dumps({"runs": runs}))
""")

READ_HISTORY = textwrap.dedent("""
    import json, pathlib, sys, tempfile
    from mlflow import MlflowClient
    client = MlflowClient()
    experiment = client.get_experiment_by_name("history-check")
    found = {}
    for run in client.search_runs([experiment.experiment_id]):
        local = client.download_artifacts(run.info.run_id, "notes.txt", tempfile.mkdtemp())
        found[run.info.run_id] = {
            "name": run.info.run_name, "params": run.data.params, "metrics": run.data.metrics,
            "accuracy": [m.value for m in sorted(client.get_metric_history(run.info.run_id, "accuracy"), key=lambda m: m.step)],
            "artifact": pathlib.Path(local).read_text(),
        }
    model = client.get_registered_model("churn")
    versions = client.search_model_versions("name='churn'")
    print(json.dumps({"runs": found, "model": model.description, "versions": [(v.version, v.run_id) for v in versions]}))
""")


def client_env(tracker: harness.Tracker, username: str, password: str) -> dict[str, str]:
    return {**user_env(), "MLFLOW_TRACKING_URI": tracker.url, "MLFLOW_TRACKING_USERNAME": username,
            "MLFLOW_TRACKING_PASSWORD": password}


def create_user(tracker: harness.Tracker, admin_password: str) -> None:
    import base64
    import urllib.request

    request = urllib.request.Request(
        f"{tracker.url}/api/2.0/mlflow/users/create", method="POST",
        data=json.dumps({"username": USER, "password": USER_PASSWORD}).encode(),
        headers={"Content-Type": "application/json",
                 "Authorization": "Basic " + base64.b64encode(f"{ADMIN}:{admin_password}".encode()).decode()},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def new_passwords(plan, tracker: harness.Tracker) -> dict[str, str]:
    """What a redeployed stack has: new random passwords for the admin and the database (the old
    ones went with the stack's state). Written into the new cluster's Secrets; the new ones, by old."""
    admin = plan.raw_outputs["tracker"]["password"]
    db = tracker.objects.data("Secret", "mlflow", "tracker-db-credentials")["POSTGRES_PASSWORD"]
    changes = {admin: "NewAdmin" + "7" * 24, db: "NewDatabase" + "3" * 21}
    for (kind, _, _), obj in tracker.objects._objects.items():
        if kind == "Secret":
            for key, value in (obj.get("stringData") or {}).items():
                for old, new in changes.items():
                    value = value.replace(old, new)
                obj["stringData"][key] = value
    return changes


@pytest.fixture
def trackers(tmp_path, mlflow_venv, s3_endpoint):
    """Trackers of the stack (with its backup Job), not started; stopped at teardown, the bucket's
    backups deleted."""
    plan = run_plan_revealed(spec_for("aws", name=STACK).with_changes(tracker_backup=BACKUP_ID))
    bucket = plan.raw_outputs["bucket"]["name"]
    s3 = s3_client(s3_endpoint)
    if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=bucket)
    started: list[harness.Tracker] = []

    def make() -> harness.Tracker:
        # Each its own revealed plan: the test changes a tracker's Secrets as a new cluster's would be.
        tracker = harness.Tracker(run_plan_revealed(plan.spec), tmp_path / f"cluster-{len(started)}", mlflow_venv, s3_endpoint)
        started.append(tracker)
        return tracker

    yield make, plan, bucket, s3
    for tracker in started:
        tracker.stop()
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=item["Key"])


def out(result) -> str:
    return result.stdout + result.stderr


def test_the_history_survives_the_cluster(trackers):
    make, plan, bucket, s3 = trackers
    admin_password = plan.raw_outputs["tracker"]["password"]

    # --- the first cluster: a new stack, nothing to restore --------------------------------
    first = make()
    first.start_database()
    first.start_server()
    assert "empty database, no backup in" in out(first.init_results["fetch-history"])
    assert "restore-history: nothing to restore" in out(first.init_results["restore-history"])
    assert "tracking database created" in out(first.init_results["prepare"])

    logged = run_python(LOG_HISTORY, env=client_env(first, ADMIN, admin_password))
    create_user(first, admin_password)
    before = run_python(READ_HISTORY, env=client_env(first, ADMIN, admin_password))
    assert len(before["runs"]) == 2 and before["versions"] == [["1", logged["runs"][1]]]

    # --- the backup Job, while the server runs ---------------------------------------------
    results = first.run_job(JOB)
    assert list(results) == ["dump", "upload"], {k: out(v) for k, v in results.items()}
    for name, result in results.items():
        assert result.returncode == 0, f"{name}: {out(result)}"
    assert admin_password not in "".join(out(r) for r in results.values())
    assert "dump: mlflow: " in results["dump"].stdout and f"backup {BACKUP_ID} saved" in results["upload"].stdout
    # Beside MLflow's artifacts (mlflow/), not among them.
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []) if not o["Key"].startswith("mlflow/")}
    files = ("mlflow.dump", "mlflow_auth.dump", "backup.json")
    assert keys == {f"recipe-backups/tracker/{folder}/{name}" for folder in (BACKUP_ID, "latest") for name in files}
    manifest = json.loads(s3.get_object(Bucket=bucket, Key="recipe-backups/tracker/latest/backup.json")["Body"].read())
    assert manifest["id"] == BACKUP_ID and set(manifest["files"]) == {"mlflow.dump", "mlflow_auth.dump"}
    for name, described in manifest["files"].items():
        body = s3.get_object(Bucket=bucket, Key=f"recipe-backups/tracker/{BACKUP_ID}/{name}")["Body"].read()
        assert hashlib.sha256(body).hexdigest() == described["sha256"] and len(body) == described["bytes"]
        assert body.startswith(b"PGDMP")  # pg_dump's custom format

    # --- destroy: the cluster and its database go; the bucket stays --------------------------
    first.stop()

    # --- the next deploy: a new, empty database, new passwords -------------------------------
    second = make()
    changes = new_passwords(plan, second)
    new_admin = changes[admin_password]
    second.start_database()
    # The Job refuses to replace the last backup with an empty database (MLflow never started on it).
    refused = second.run_job(JOB)
    assert list(refused) == ["dump"] and refused["dump"].returncode != 0
    assert "holds no MLflow schema" in refused["dump"].stderr
    second.start_server()
    fetched = out(second.init_results["fetch-history"])
    assert f"fetched backup {BACKUP_ID}" in fetched and "from latest" in fetched, fetched
    restored = out(second.init_results["restore-history"])
    assert "mlflow_auth restored" in restored and "mlflow restored" in restored, restored
    prepared = out(second.init_results["prepare"])
    assert "tracking database up to date" in prepared and "admin 'admin': password set" in prepared, prepared
    assert not any((second.local_pod("Deployment", "mlflow").volumes["history"]).iterdir())  # the dumps are removed

    # Everything the user logged, from the restored database and the bucket's artifacts.
    after = run_python(READ_HISTORY, env=client_env(second, ADMIN, new_admin))
    assert after == before
    for i, run_id in enumerate(logged["runs"]):
        run = after["runs"][run_id]
        assert run["params"] == {"learning_rate": ("0.01", "0.1")[i]}
        assert run["accuracy"] == [0.5, 0.7, 0.9 + i / 100] and run["metrics"] == {"accuracy": 0.9 + i / 100}
        assert run["artifact"] == f"run {i}, trained on the stack"
    assert after["model"] == "the churn model"

    # The admin logs in with the new stack's password only; the user with theirs.
    url = second.url + EXPERIMENTS
    assert pods.http_status(url, (ADMIN, new_admin)) == 200
    assert pods.http_status(url, (ADMIN, admin_password)) == 401
    assert pods.http_status(url, (USER, USER_PASSWORD)) == 200
    # No user reads the backups (every password hash, every experiment) through MLflow's artifact
    # proxy: they are outside its artifacts destination, where it would serve them to any user.
    proxy = second.url + "/api/2.0/mlflow-artifacts/artifacts/"
    for path in ("recipe-backups/tracker/latest/mlflow_auth.dump", "../recipe-backups/tracker/latest/mlflow_auth.dump",
                 "..%2Frecipe-backups%2Ftracker%2Flatest%2Fmlflow_auth.dump"):
        for user in ((USER, USER_PASSWORD), (ADMIN, new_admin)):
            assert pods.http_status(proxy + path, user) != 200, (path, user[0])
    assert pods.http_status(proxy + f"1/{logged['runs'][0]}/artifacts/notes.txt", (USER, USER_PASSWORD)) == 200

    # --- a restart on the same database restores nothing, and reads no bucket ----------------
    pod = second.local_pod("Deployment", "mlflow")
    again = pod.run("fetch-history", extra_env={"MLFLOW_S3_ENDPOINT_URL": "http://127.0.0.1:9"})
    assert again.returncode == 0 and "holds data: nothing to restore" in again.stdout, out(again)
    assert "nothing to restore" in pod.run("restore-history").stdout
    assert run_python(READ_HISTORY, env=client_env(second, ADMIN, new_admin)) == before

    # --- a `latest` cut short (a later backup's upload stopped after one dump) -----------------
    # It no longer matches its manifest: the backup's own folder, written in full first, is read.
    second.stop()
    s3.put_object(Bucket=bucket, Key="recipe-backups/tracker/latest/mlflow.dump", Body=b"PGDMP cut short")
    third = make()
    third.start_database()
    third.start_server()
    fetched = out(third.init_results["fetch-history"])
    assert "does not match its manifest" in fetched and f"fetched backup {BACKUP_ID}" in fetched, fetched
    assert f"from {BACKUP_ID}" in fetched, fetched
    assert run_python(READ_HISTORY, env=client_env(third, ADMIN, admin_password)) == before

