"""The MLflow pod as declared, on every cloud: start-up, memory, rotation, nothing downloaded at start.

The data-plane tests (tests/dataplane) run this same configuration; these check what it
declares, including what no local run can show (the pod template's rollout trigger).
"""

from __future__ import annotations

import json

import pytest

from provisioner.analysis.mockcloud import randomness
from provisioner.analysis.plan import _run_plan
from recipes.kubernetes import versions

from tests.conftest import spec_for

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
PROVIDERS = ["aws", "gcp", "azure"]
DOWNLOADERS = ("pip", "pip3", "curl", "wget", "apt-get", "apk", "uv", "conda")


@pytest.fixture(scope="module", params=PROVIDERS)
def plan(request, plans):
    return plans(spec_for(request.param))


def pod(plan):
    return plan.one(DEPLOYMENT, "tracker-server").inputs["spec"]["template"]


def containers(template):
    return {c["name"]: c for c in [*template["spec"].get("initContainers", []), *template["spec"]["containers"]]}


def test_the_server_runs_two_workers_and_no_job_runner(plan):
    server = containers(pod(plan))["mlflow"]
    args = server["args"]
    assert args[args.index("--workers") + 1] == "2"
    env = {e["name"]: e.get("value") for e in server["env"]}
    assert env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    # Requests what it uses at idle (~610 MiB measured, benchmarks/tracker_memory.py), limited at 2Gi.
    assert server["resources"]["requests"]["memory"] == "768Mi" and server["resources"]["limits"]["memory"] == "2Gi"


def test_an_init_container_prepares_the_databases_in_the_same_image(plan):
    template = pod(plan)
    # The last of them (the history's restore runs first: tests/engine/test_history.py).
    init = template["spec"]["initContainers"][-1]
    assert init["name"] == "prepare" and init["image"] == versions.MLFLOW_IMAGE
    assert init["command"] == ["python", "/opt/recipe/scripts/prepare_mlflow.py"]
    env = {e["name"]: e for e in init["env"]}
    assert env["MLFLOW_BACKEND_STORE_URI"]["valueFrom"]["secretKeyRef"]["name"] == "mlflow-server"
    assert env["MLFLOW_AUTH_CONFIG_PATH"]["value"] == "/etc/mlflow-auth/basic_auth.ini"
    # The script comes from the stack's ConfigMap, mounted where the command runs it.
    mounts = {m["name"]: m["mountPath"] for m in init["volumeMounts"]}
    assert mounts["scripts"] == "/opt/recipe/scripts"
    volumes = {v["name"]: v for v in template["spec"]["volumes"]}
    scripts = plan.one(CONFIG_MAP, "tracker-scripts")
    assert volumes["scripts"]["configMap"]["name"] == scripts.inputs["metadata"]["name"] == "mlflow-scripts"
    assert "def reconcile_admin" in scripts.inputs["data"]["prepare_mlflow.py"]


def test_the_pod_sets_no_service_link_variables(plan):
    assert pod(plan)["spec"]["enableServiceLinks"] is False


def test_nothing_is_downloaded_when_a_pod_starts(plan):
    for deployment in plan.by_type(DEPLOYMENT):
        for name, c in containers(deployment.inputs["spec"]["template"]).items():
            words = " ".join(map(str, [*c.get("command", []), *c.get("args", [])])).split()
            assert not set(words) & set(DOWNLOADERS), f"{deployment.name}/{name} runs {words}"


def test_only_azure_mounts_python_modules_the_image_lacks(plan):
    template = pod(plan)
    env = {e["name"]: e.get("value") for e in containers(template)["mlflow"]["env"]}
    volumes = {v["name"]: v for v in template["spec"]["volumes"]}
    if plan.spec.provider != "azure":
        assert "PYTHONPATH" not in env and "python" not in volumes
        return
    assert env["PYTHONPATH"] == "/opt/recipe/python"
    assert volumes["python"]["configMap"]["items"] == [{"key": "azure__identity____init__.py", "path": "azure/identity/__init__.py"}]
    source = plan.one(CONFIG_MAP, "tracker-python").inputs["data"]["azure__identity____init__.py"]
    assert "DefaultAzureCredential = WorkloadIdentityCredential" in source


def _checksum(spec, monkeypatch, salt: str) -> tuple[str, str]:
    """The pod template's checksum and the admin password, with the mock cloud's random values salted."""
    original = randomness.computed

    def salted(type_, name, inputs, context):
        return original(type_, f"{name}{salt}" if name == "tracker-admin-password" else name, inputs, context)

    monkeypatch.setattr(randomness, "computed", salted)
    from pulumi.runtime import settings

    settings.ROOT.set(None)
    plan = _run_plan(spec, None)
    annotations = plan.one(DEPLOYMENT, "tracker-server").inputs["spec"]["template"]["metadata"]["annotations"]
    return annotations["stack-recipes.dev/config-checksum"], plan.raw_outputs["tracker"]["password"]


def test_a_new_password_rolls_the_pods(monkeypatch):
    # Kubernetes does not restart pods when a mounted Secret changes: the template must.
    spec = spec_for("aws")
    first, first_password = _checksum(spec, monkeypatch, "")
    again, _ = _checksum(spec, monkeypatch, "")
    rotated, rotated_password = _checksum(spec, monkeypatch, "-rotated")
    assert first_password != rotated_password
    assert first == again and first != rotated
    assert len(first) == 64 and first_password not in first


def test_the_checksum_is_not_a_secret(aws_plan):
    deployment = aws_plan.one(DEPLOYMENT, "tracker-server")
    assert "spec" not in deployment.secret_inputs
    assert json.dumps(deployment.inputs).count("********") == 0
