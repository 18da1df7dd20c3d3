"""The tracker's history as declared, on every cloud: the backup Job and the restore before MLflow starts.

The data-plane test (tests/dataplane/test_history.py) runs these very containers; these
check what they declare, above all what no local run can show: that the Job can be
created alone (`pulumi up --target`) on a stack deployed before it existed.
"""

from __future__ import annotations

import json

import pytest

from provisioner.analysis.baseline import evaluate, hardened
from provisioner.analysis.critical_path import provider_urn
from provisioner.analysis.plan import _run_plan
from recipes.kubernetes import history, versions
from recipes.spec import Layer, load_spec

from tests.conftest import spec_for

JOB = history.JOB_TYPE
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"
SERVICE = "kubernetes:core/v1:Service"
PROVIDERS = ["aws", "gcp", "azure"]
BACKUP_ID = "20261201t061500z"

_backup_plans: dict[tuple[str, str], object] = {}


def backup_plan(provider: str, **values):
    """The plan of the cloud's default stack with a backup id. Not from the `plans` cache, whose
    key (the spec) ignores tracker_backup as spec equality does."""
    key = (provider, json.dumps(values, sort_keys=True))
    if key not in _backup_plans:
        from pulumi.runtime import settings

        settings.ROOT.set(None)
        _backup_plans[key] = _run_plan(spec_for(provider, **values).with_changes(tracker_backup=BACKUP_ID), None)
    return _backup_plans[key]


@pytest.fixture(scope="module", params=PROVIDERS)
def provider(request):
    return request.param


@pytest.fixture(scope="module")
def plan(plans, provider):
    """The stack as deployed: no backup id."""
    return plans(spec_for(provider))


@pytest.fixture(scope="module")
def with_backup(provider):
    return backup_plan(provider)


def job_pod(job):
    return job.inputs["spec"]["template"]


def containers(template) -> dict[str, dict]:
    spec = template["spec"]
    return {c["name"]: c for c in [*spec.get("initContainers", []), *spec["containers"]]}


def env_of(container) -> dict[str, dict]:
    return {e["name"]: e for e in container["env"]}


def server(plan):
    return plan.one(DEPLOYMENT, "tracker-server")


def backups_folder(plan) -> str:
    """The bucket's `recipe-backups/tracker`, beside MLflow's artifacts destination (`<bucket>/mlflow`), not in it."""
    args = containers(server(plan).inputs["spec"]["template"])["mlflow"]["args"]
    destination = args[args.index("--artifacts-destination") + 1]
    bucket, prefix = destination.rsplit("/", 1)
    assert prefix == "mlflow"
    return f"{bucket}/recipe-backups/tracker"


# ---------------------------------------------------------------------------
# The spec field


def test_the_backup_id_is_no_stack_file_field_and_not_part_of_equality():
    spec = load_spec(Layer("flags", {"provider": "aws", "name": "ml-dev"}))
    backup = spec.with_changes(tracker_backup=BACKUP_ID)
    assert backup == spec and backup.tracker_backup == BACKUP_ID and spec.tracker_backup == ""
    assert "tracker_backup" not in backup.to_mapping()
    assert backup.to_mapping() == spec.to_mapping()


def test_backup_ids_name_the_job_and_its_folder():
    assert history.new_backup_id() == history.check_backup_id(history.new_backup_id())
    from datetime import datetime, timedelta, timezone

    when = datetime(2026, 12, 1, 7, 15, tzinfo=timezone(timedelta(hours=1)))
    assert history.new_backup_id(when) == BACKUP_ID  # UTC
    assert history.backup_job_name(BACKUP_ID) == f"tracker-backup-{BACKUP_ID}"
    assert len(history.backup_job_name("a" * 48)) == 63  # a Kubernetes name (and label value) at most
    for bad in ("", "latest", "A1", "a_b", "-a", "a-", "a" * 49, "a/b", "a.b"):
        with pytest.raises(ValueError):
            history.backup_job_name(bad)


# ---------------------------------------------------------------------------
# The backup Job


def test_no_job_without_a_backup_id(plan):
    assert not plan.by_type(JOB)


def test_no_job_on_a_stack_without_the_tracker():
    plan = backup_plan("aws", without=["tracker"])
    assert not plan.by_type(JOB) and not plan.by_type("recipes:kubernetes:MlflowServer")


def test_one_job_a_child_of_the_tracker_on_the_clusters_provider(with_backup):
    job = with_backup.one(JOB)
    assert job.name == history.backup_job_name(BACKUP_ID) == job.inputs["metadata"]["name"]
    assert job.inputs["metadata"]["namespace"] == "mlflow"
    tracker = with_backup.one("recipes:kubernetes:MlflowServer", "tracker")
    assert job.parent == tracker.urn
    assert job.provider == server(with_backup).provider
    # What the operator targets.
    stack, project = tracker.urn.split("::")[0].removeprefix("urn:pulumi:"), tracker.urn.split("::")[1]
    assert job.urn == history.backup_job_urn(stack, project, BACKUP_ID)


def test_the_job_needs_nothing_a_deployed_stack_lacks(plan, with_backup):
    """`pulumi up --target <job>` refuses a targeted create that waits on an untargeted create:
    everything the Job depends on, its parent and its provider exist without the backup id."""
    job = with_backup.one(JOB)
    deployed = {r.urn for r in plan.resources}
    needs = {*job.dependencies, job.parent, provider_urn(job.provider)}
    assert needs <= deployed, sorted(needs - deployed)
    # It waits for the database and for the tracker (restored, migrated) to be up, and for its identity.
    assert {server(plan).urn, plan.one(DEPLOYMENT, "tracker-db").urn, plan.one(SECRET, "tracker-db-credentials").urn,
            plan.one(SERVICE, "tracker-db-svc").urn} <= set(job.dependencies)
    # And the id adds the Job, nothing else, and changes nothing else.
    assert {(r.type, r.name) for r in with_backup.resources} - {(r.type, r.name) for r in plan.resources} == {(JOB, job.name)}
    assert {(r.type, r.name) for r in plan.resources} <= {(r.type, r.name) for r in with_backup.resources}
    before = {r.urn: r.inputs for r in plan.resources}
    changed = [r.name for r in with_backup.resources if r.urn in before and r.inputs != before[r.urn]]
    assert not changed


def test_the_job_dumps_both_databases_then_uploads_them_with_mlflows_own_code(plan, with_backup):
    job = with_backup.one(JOB)
    pod = job_pod(job)["spec"]
    assert [c["name"] for c in pod["initContainers"]] == ["dump"] and [c["name"] for c in pod["containers"]] == ["upload"]
    dump, upload = pod["initContainers"][0], pod["containers"][0]

    assert dump["image"] == versions.POSTGRES_IMAGE
    assert dump["command"] == ["sh", "-c", history.DUMP_COMMAND] and "pg_dump --format=custom" in history.DUMP_COMMAND
    env = env_of(dump)
    assert env["RECIPE_DATABASES"]["value"] == "mlflow mlflow_auth"
    # libpq reaches the database's Service as its user, with the password of the database's Secret.
    service = plan.one(SERVICE, "tracker-db-svc").inputs["metadata"]
    assert env["PGHOST"]["value"] == f"{service['name']}.{service['namespace']}.svc.cluster.local"
    assert env["PGPORT"]["value"] == "5432" and env["PGUSER"]["value"] == "mlflow"
    secret = plan.one(SECRET, "tracker-db-credentials").inputs["metadata"]["name"]
    assert env["PGPASSWORD"] == {"name": "PGPASSWORD", "valueFrom": {"secretKeyRef": {"name": secret, "key": "POSTGRES_PASSWORD"}}}
    # The same Secret key the database's own container reads its password file from.
    volumes = plan.one(DEPLOYMENT, "tracker-db").inputs["spec"]["template"]["spec"]["volumes"]
    [credentials] = [v["secret"] for v in volumes if v.get("secret")]
    assert (credentials["secretName"], credentials["items"][0]["key"]) == (secret, "POSTGRES_PASSWORD")

    assert upload["image"] == versions.MLFLOW_IMAGE
    # Its script travels in the Job: no ConfigMap the deployed stack would not have.
    assert upload["command"] == ["python", "-c", history.BACKUP_SOURCE]
    assert "get_artifact_repository" in history.BACKUP_SOURCE and ".log_artifact(" in history.BACKUP_SOURCE
    env = env_of(upload)
    assert env["RECIPE_BACKUPS_URI"]["value"] == backups_folder(plan)
    assert env["RECIPE_BACKUP_ID"]["value"] == BACKUP_ID
    # The server's cloud identity, as the server has it (AWS_REGION, the Azure account and credential module, ...).
    server_env = env_of(containers(server(plan).inputs["spec"]["template"])["mlflow"])
    for name, item in env.items():
        if not name.startswith("RECIPE_") and name != "HOME":
            assert server_env[name] == item, name
    # Both containers share the dumps through an emptyDir; the only other volumes exist already.
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["history"] == {"name": "history", "emptyDir": {}}
    for volume in volumes.values():
        assert set(volume) & {"emptyDir", "configMap"}, volume
        if "configMap" in volume:
            assert plan.spec.provider == "azure" and volume["configMap"]["name"] == "mlflow-python"
            assert plan.one(CONFIG_MAP, "tracker-python").inputs["metadata"]["name"] == "mlflow-python"
    for container in (dump, upload):
        assert {"name": "history", "mountPath": history.HISTORY_DIR} in container["volumeMounts"]


def test_the_job_runs_as_the_tracker_and_is_bounded(plan, with_backup):
    job = with_backup.one(JOB)
    spec = job.inputs["spec"]
    assert 0 < spec["backoffLimit"] <= 2
    assert spec["activeDeadlineSeconds"] == 900
    assert "ttlSecondsAfterFinished" not in spec  # Pulumi owns the Job, until the next update without an id
    assert job.custom_timeouts.get("create") == history.JOB_TIMEOUT
    pod = job_pod(job)
    account = plan.one("kubernetes:core/v1:ServiceAccount", "tracker-sa").inputs["metadata"]["name"]
    assert pod["spec"]["serviceAccountName"] == account == server(plan).inputs["spec"]["template"]["spec"]["serviceAccountName"]
    assert pod["spec"]["automountServiceAccountToken"] is False
    assert pod["spec"]["restartPolicy"] == "Never"
    # The identity's pod labels (Azure's workload identity), but never the tracker Service's selector.
    tracker_labels = server(plan).inputs["spec"]["template"]["metadata"]["labels"]
    assert {k: v for k, v in tracker_labels.items() if k.startswith("azure.")}.items() <= pod["metadata"]["labels"].items()
    for service in plan.by_type(SERVICE):
        selector = service.inputs["spec"].get("selector") or {}
        assert not selector.items() <= pod["metadata"]["labels"].items(), service.name


def test_the_job_is_hardened_as_the_tracker(plan, with_backup):
    pod = job_pod(with_backup.one(JOB))["spec"]
    assert pod["securityContext"] == server(plan).inputs["spec"]["template"]["spec"]["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in [*pod["initContainers"], *pod["containers"]]:
        assert hardened(container, init=True), container["name"]  # the baseline's rule T2 (Jobs have no probes)
        assert container["securityContext"]["readOnlyRootFilesystem"] is True, container["name"]
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
        assert env_of(container)["HOME"]["value"] == "/tmp"


def test_the_backup_plan_keeps_every_baseline_verdict(plan, with_backup):
    assert {r.rule.id: r.verdict.status for r in evaluate(with_backup)} == {r.rule.id: r.verdict.status for r in evaluate(plan)}


def test_no_secret_in_the_job(with_backup):
    raw = json.dumps(with_backup.one(JOB).inputs)
    assert "postgresql://" not in raw
    assert with_backup.raw_outputs["tracker"]["password"] not in raw
    assert not with_backup.one(JOB).secret_inputs


# ---------------------------------------------------------------------------
# The restore, in the MLflow pod


def test_the_pod_restores_before_it_prepares(plan):
    template = server(plan).inputs["spec"]["template"]
    assert [c["name"] for c in template["spec"]["initContainers"]] == ["fetch-history", "restore-history", "prepare"]
    found = containers(template)
    fetch, restore = found["fetch-history"], found["restore-history"]

    assert fetch["image"] == versions.MLFLOW_IMAGE
    assert fetch["command"] == ["python", f"/opt/recipe/scripts/{history.FETCH_SCRIPT}"]
    scripts = plan.one(CONFIG_MAP, "tracker-scripts").inputs["data"]
    assert scripts[history.FETCH_SCRIPT] == history.FETCH_SOURCE and "_is_empty_database" in history.FETCH_SOURCE
    env = env_of(fetch)
    assert env["MLFLOW_BACKEND_STORE_URI"]["valueFrom"]["secretKeyRef"]["name"] == "mlflow-server"
    assert env["RECIPE_BACKUPS_URI"]["value"] == backups_folder(plan)
    server_env = env_of(found["mlflow"])
    for name in ("AWS_REGION", "GOOGLE_CLOUD_PROJECT", "AZURE_STORAGE_ACCOUNT", "PYTHONPATH"):
        assert env.get(name) == server_env.get(name), name
    assert {m["name"] for m in fetch["volumeMounts"]} == {m["name"] for m in found["mlflow"]["volumeMounts"]} - {"auth"} | {"scripts", "history"}

    assert restore["image"] == versions.POSTGRES_IMAGE
    assert restore["command"] == ["sh", "-c", history.RESTORE_COMMAND]
    for option in ("--no-owner", "--exit-on-error", "--single-transaction", "--clean", "--if-exists"):
        assert option in history.RESTORE_COMMAND, option
    env = env_of(restore)
    assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "tracker-db-credentials", "key": "POSTGRES_PASSWORD"}
    assert env["PGHOST"]["value"] == "tracker-db.mlflow.svc.cluster.local"
    assert not set(env) & {"MLFLOW_BACKEND_STORE_URI", "AWS_REGION", "AZURE_STORAGE_ACCOUNT"}  # no bucket, no MLflow

    volumes = {v["name"]: v for v in template["spec"]["volumes"]}
    assert volumes["history"] == {"name": "history", "emptyDir": {}}
    for container in (fetch, restore):
        assert {"name": "history", "mountPath": history.HISTORY_DIR} in container["volumeMounts"]
        assert hardened(container, init=True) and container["securityContext"]["readOnlyRootFilesystem"] is True


def test_the_restore_adds_nothing_to_the_pods_requests(plan):
    """A pod requests the most of any init container or the sum of its containers: the restore's
    containers stay below the server's, so scheduling needs no more than before."""
    template = server(plan).inputs["spec"]["template"]["spec"]
    mib = {"Mi": 1, "Gi": 1024}
    cpu = lambda v: float(v[:-1]) / 1000 if v.endswith("m") else float(v)
    memory = lambda v: float(v[:-2]) * mib[v[-2:]]
    main = template["containers"][0]["resources"]["requests"]
    for init in template["initContainers"]:
        requests = init["resources"]["requests"]
        assert cpu(requests["cpu"]) <= cpu(main["cpu"]) and memory(requests["memory"]) <= memory(main["memory"]), init["name"]


def test_the_pods_checksum_covers_the_fetch_script(monkeypatch):
    from pulumi.runtime import settings

    def checksum() -> str:
        settings.ROOT.set(None)
        plan = _run_plan(spec_for("aws"), None)
        return plan.one(DEPLOYMENT, "tracker-server").inputs["spec"]["template"]["metadata"]["annotations"][
            "stack-recipes.dev/config-checksum"]

    first = checksum()
    monkeypatch.setattr(history, "FETCH_SOURCE", history.FETCH_SOURCE + "\n# changed\n")
    assert checksum() != first


@pytest.mark.parametrize("command", [history.DUMP_COMMAND, history.RESTORE_COMMAND], ids=["dump", "restore"])
def test_the_shell_commands_parse(command):
    import subprocess

    result = subprocess.run(["sh", "-n", "-c", command], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    assert command.startswith("set -eu\n")
