"""Exports proven with the real ZenML: `zenml stack import` in a fresh, offline ZenML store.

Each test gets its own ZENML_CONFIG_PATH (a local SQLite store), analytics off,
stdin closed (import prompts on name clashes: a prompt would fail the test,
not hang it). The stacks come from the CLI deploying through the FakeEngine,
so the outputs are those of the real programs under mocks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from provisioner import cli

from provisioner.stacks import exporters

from provisioner.integrations import zenml_register

from provisioner.integrations import zenml_worker

from tests.support.fakes import FakeEngine

pytestmark = pytest.mark.zenml

ZENML_VERSION = "0.98.0"  # the version these tests prove; pinned in the [test] extra
DEPLOY = {
    "aws": ["aws", "--region", "eu-west-1"],
    "gcp": ["gcp", "--project", "demo-project", "--region", "us-central1"],
    "azure": ["azure", "--region", "westeurope"],
    # The user's own cluster (a k3d one), the in-cluster object store, the user's registry.
    "kubernetes": ["kubernetes", "--context", "k3d-ml", "--registry", "registry.localhost:5000/ml"],
}
FLAVORS = {  # artifact store, container registry
    "aws": ("s3", "aws", "s3://"),
    "gcp": ("gcp", "gcp", "gs://"),
    "azure": ("azure", "azure", "az://"),
    "kubernetes": ("s3", "default", "s3://"),
}
# The orchestrator's context: the one our kubeconfig export names, or the user's own.
CONTEXTS = {"kubernetes": "k3d-ml"}
STORE_ENDPOINT = "http://objectstore.objectstore.svc.cluster.local:8333"
DESCRIBE = """
import json, sys
from zenml.client import Client
client = Client()
stack = client.get_stack(sys.argv[1])
out = {t.value: {"name": c[0].name, "flavor": c[0].flavor_name, "configuration": c[0].configuration}
       for t, c in stack.components.items()}
secrets = {s.name: client.get_secret(s.name).secret_values for s in client.list_secrets()}
print(json.dumps({"stack": stack.name, "components": out, "secrets": secrets}))
"""


@pytest.fixture
def zenml_env(tmp_path, monkeypatch) -> dict[str, str]:
    """A fresh, offline ZenML store, also for subprocesses the CLI starts."""
    config = tmp_path / "zenml"
    config.mkdir()
    monkeypatch.setenv("ZENML_CONFIG_PATH", str(config))
    monkeypatch.setenv("ZENML_ANALYTICS_OPT_IN", "false")
    return {**os.environ, "ZENML_CONFIG_PATH": str(config), "ZENML_ANALYTICS_OPT_IN": "false"}


def run(*args: str):
    return CliRunner().invoke(cli.app, list(args), catch_exceptions=False)


def zenml(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    command = Path(sys.executable).with_name("zenml")
    return subprocess.run([str(command), *args], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)


def describe(env: dict[str, str], stack: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", DESCRIBE, stack], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def deployed(provider: str, engine: FakeEngine) -> str:
    result = run("deploy", *DEPLOY[provider], "--name", "ml-dev", "--yes")
    assert result.exit_code == 0, result.stderr
    return next(iter(engine.plans.values())).raw_outputs["tracker"]["password"]


def bucket_keys(engine: FakeEngine) -> dict[str, str]:
    """The in-cluster store's keys, as the ZenML secret `<stack>-bucket` holds them."""
    bucket = next(iter(engine.plans.values())).raw_outputs["bucket"]
    return {"aws_access_key_id": bucket["access_key_id"], "aws_secret_access_key": bucket["secret_access_key"]}


RESOLVE_STORE = """
import json, sys
from zenml.client import Client
from zenml.enums import StackComponentType
from zenml.stack import StackComponent

model = Client().get_stack(sys.argv[1]).components[StackComponentType.ARTIFACT_STORE][0]
config = StackComponent.from_model(model).config  # reading a field resolves its {{secret.key}} reference
print(json.dumps({"key": config.key, "secret": config.secret, "client_kwargs": config.client_kwargs}))
"""


def resolve_store_keys(env: dict[str, str], stack: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """The artifact store's keys as ZenML resolves them when a step uses the store."""
    script = tmp_path / "resolve.py"
    script.write_text(RESOLVE_STORE)
    return subprocess.run([sys.executable, str(script), stack], env=env, cwd=tmp_path, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=300)


def test_the_proven_zenml_is_the_pinned_one():
    from importlib import metadata

    assert metadata.version("zenml") == ZENML_VERSION == exporters.DEFAULT_ZENML_VERSION


@pytest.mark.parametrize("provider", sorted(DEPLOY))
def test_zenml_imports_the_export_of_every_cloud(provider, home, engine, zenml_env, tmp_path):
    password = deployed(provider, engine)
    path = tmp_path / "stack.yaml"
    assert run("export", "ml-dev", "--format", "zenml", "--show-secrets", "-o", str(path)).exit_code == 0

    imported = zenml(zenml_env, "stack", "import", str(path))
    assert imported.returncode == 0, imported.stdout[-2000:] + imported.stderr[-2000:]

    stack = describe(zenml_env, "ml-dev")["components"]
    artifact_flavor, registry_flavor, scheme = FLAVORS[provider]
    assert stack["artifact_store"]["flavor"] == artifact_flavor
    assert stack["artifact_store"]["configuration"]["path"].startswith(scheme)
    assert stack["container_registry"]["flavor"] == registry_flavor
    assert stack["orchestrator"]["flavor"] == "kubernetes"
    assert stack["orchestrator"]["configuration"]["kubernetes_context"] == CONTEXTS.get(provider, "recipe-ml-dev")
    assert stack["experiment_tracker"]["configuration"]["tracking_password"] == password
    assert stack["model_deployer"]["flavor"] == "seldon"
    # The models namespace's Secret of the bucket's keys (rclone's S3 remote), where pods get no credentials.
    assert stack["model_deployer"]["configuration"].get("kubernetes_secret_name") == \
        ("model-storage" if provider == "kubernetes" else None)
    if provider == "kubernetes":  # the store by its endpoint and keys, no workload identity
        store = stack["artifact_store"]["configuration"]
        assert store["client_kwargs"] == {"endpoint_url": STORE_ENDPOINT}
        assert {"aws_access_key_id": store["key"], "aws_secret_access_key": store["secret"]} == bucket_keys(engine)


@pytest.mark.parametrize("provider", sorted(DEPLOY))
def test_secret_references_import_once_the_zenml_secret_exists(provider, home, engine, zenml_env, tmp_path):
    password = deployed(provider, engine)
    path = tmp_path / "stack.yaml"
    result = run("export", "ml-dev", "--format", "zenml", "--secrets-as-references", "-o", str(path))
    assert result.exit_code == 0, result.stderr
    text = path.read_text()
    assert password not in text and "{{ml-dev-mlflow.password}}" in text
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)  # nothing secret in it

    if provider == "aws":  # without the secret, ZenML refuses the reference
        refused = zenml(zenml_env, "stack", "import", str(path))
        assert refused.returncode != 0 and "ml-dev-mlflow does not exist" in refused.stdout + refused.stderr
        zenml_env = {**zenml_env, "ZENML_CONFIG_PATH": str(tmp_path / "zenml-2")}  # import is not transactional

    created = zenml(zenml_env, "secret", "create", "ml-dev-mlflow", f"--password={password}")
    assert created.returncode == 0, created.stderr[-2000:]
    if provider == "kubernetes":  # the bucket's keys are a secret too: the import keeps the reference, using it fails
        keys = bucket_keys(engine)
        assert not any(value in text for value in keys.values())
        assert zenml(zenml_env, "stack", "import", str(path)).returncode == 0
        unresolved = resolve_store_keys(zenml_env, "ml-dev", tmp_path)
        assert unresolved.returncode != 0 and "ml-dev-bucket does not exist" in unresolved.stderr
        created = zenml(zenml_env, "secret", "create", "ml-dev-bucket", *(f"--{k}={v}" for k, v in keys.items()))
        assert created.returncode == 0, created.stderr[-2000:]
        resolved = resolve_store_keys(zenml_env, "ml-dev", tmp_path)
        assert resolved.returncode == 0, resolved.stderr[-2000:]
        assert json.loads(resolved.stdout.strip().splitlines()[-1]) == {
            "key": keys["aws_access_key_id"], "secret": keys["aws_secret_access_key"],
            "client_kwargs": {"endpoint_url": STORE_ENDPOINT}}
        zenml_env = {**zenml_env, "ZENML_CONFIG_PATH": str(tmp_path / "zenml-3")}  # the common part below, afresh
        assert zenml(zenml_env, "secret", "create", "ml-dev-mlflow", f"--password={password}").returncode == 0
        assert zenml(zenml_env, "secret", "create", "ml-dev-bucket",
                     *(f"--{k}={v}" for k, v in keys.items())).returncode == 0
    imported = zenml(zenml_env, "stack", "import", str(path))
    assert imported.returncode == 0, imported.stdout[-2000:] + imported.stderr[-2000:]
    found = describe(zenml_env, "ml-dev")
    # ZenML stores the reference and resolves it from its secret store.
    assert found["components"]["experiment_tracker"]["configuration"]["tracking_password"] == "{{ml-dev-mlflow.password}}"
    assert found["secrets"]["ml-dev-mlflow"] == {"password": password}
    if provider == "kubernetes":
        store = found["components"]["artifact_store"]["configuration"]
        assert (store["key"], store["secret"]) == ("{{ml-dev-bucket.aws_access_key_id}}",
                                                   "{{ml-dev-bucket.aws_secret_access_key}}")
        assert found["secrets"]["ml-dev-bucket"] == bucket_keys(engine)


def test_export_register_goes_from_deploy_to_a_zenml_stack(home, engine, zenml_env):
    password = deployed("aws", engine)
    result = run("export", "ml-dev", "--format", "zenml", "--register", "--output", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["zenml"] == {"stack": "ml-dev", "secret": "ml-dev-mlflow", "zenml_version": ZENML_VERSION, "renamed": {}}
    assert password not in result.stdout + result.stderr
    found = describe(zenml_env, "ml-dev")
    assert found["secrets"]["ml-dev-mlflow"] == {"password": password}
    assert found["components"]["experiment_tracker"]["configuration"]["tracking_password"] == "{{ml-dev-mlflow.password}}"
    for path in Path(home).rglob("*"):
        assert not path.is_file() or password not in path.read_text(errors="replace")

    # Again: the stack name is taken, so a fresh one; identical components and secret are reused.
    again = run("export", "ml-dev", "--format", "zenml", "--register")
    assert again.exit_code == 0, again.stderr
    assert "registered as 'ml-dev-2'" in again.stderr and "zenml stack set ml-dev-2" in again.stderr
    second = describe(zenml_env, "ml-dev-2")
    assert second["components"]["experiment_tracker"]["name"] == "ml-dev-mlflow"
    assert set(second["secrets"]) == {"ml-dev-mlflow"}


def test_export_register_creates_the_bucket_secret_of_a_kubernetes_stack(home, engine, zenml_env):
    password = deployed("kubernetes", engine)
    keys = bucket_keys(engine)
    result = run("export", "ml-dev", "--format", "zenml", "--register")
    assert result.exit_code == 0, result.stderr
    assert "zenml secret create" not in result.stderr  # both secrets were created
    assert not {password, *keys.values()} & set((result.stdout + result.stderr).split())
    found = describe(zenml_env, "ml-dev")
    assert found["secrets"] == {"ml-dev-mlflow": {"password": password}, "ml-dev-bucket": keys}
    assert found["components"]["artifact_store"]["configuration"]["key"] == "{{ml-dev-bucket.aws_access_key_id}}"
    assert found["components"]["orchestrator"]["configuration"]["kubernetes_context"] == "k3d-ml"


def test_register_renames_a_bucket_secret_that_holds_other_keys(home, engine, zenml_env):
    deployed("kubernetes", engine)
    keys = bucket_keys(engine)
    taken = zenml(zenml_env, "secret", "create", "ml-dev-bucket", "--aws_access_key_id=OTHER", "--aws_secret_access_key=x")
    assert taken.returncode == 0, taken.stderr[-2000:]
    result = run("export", "ml-dev", "--format", "zenml", "--register")
    assert result.exit_code == 0, result.stderr
    assert "'ml-dev-bucket' already exists in ZenML with other settings: registered as 'ml-dev-bucket-2'" in result.stderr
    found = describe(zenml_env, "ml-dev")
    assert found["secrets"]["ml-dev-bucket-2"] == keys and found["secrets"]["ml-dev-bucket"]["aws_access_key_id"] == "OTHER"
    store = found["components"]["artifact_store"]["configuration"]
    assert (store["key"], store["secret"]) == ("{{ml-dev-bucket-2.aws_access_key_id}}",
                                               "{{ml-dev-bucket-2.aws_secret_access_key}}")


def test_register_without_zenml_says_what_to_do(home, engine, monkeypatch):
    deployed("aws", engine)
    monkeypatch.setattr(zenml_register, "zenml_python", lambda: None)
    result = run("export", "ml-dev", "--format", "zenml", "--register")
    assert result.exit_code == cli.EXIT_FAILED
    assert "zenml is not installed" in result.stderr and "pip install" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args,reason",
    [
        (["--format", "json", "--register"], "for --format zenml"),
        (["--format", "zenml", "--register", "--show-secrets"], "drop --show-secrets"),
        (["--format", "zenml", "--secrets-as-references", "--show-secrets"], "contradict"),
    ],
)
def test_register_and_references_refuse_contradictions(args, reason, home, engine):
    deployed("aws", engine)
    result = run("export", "ml-dev", *args)
    assert result.exit_code == cli.EXIT_BAD_INPUT and reason in result.stderr


def test_fresh_names_skip_every_taken_one():
    taken = {"ml-dev", "ml-dev-2"}
    assert zenml_worker.fresh("ml-dev", taken.__contains__) == "ml-dev-3"
    assert zenml_worker.fresh("other", taken.__contains__) == "other"


def test_export_zenml_has_no_yaml_aliases_for_shared_pod_settings(home, engine):
    deployed("azure", engine)
    result = run("export", "ml-dev", "--format", "zenml")
    assert result.exit_code == 0 and "&id" not in result.stdout and "*id" not in result.stdout
    orchestrator = yaml.safe_load(result.stdout)["components"]["orchestrator"]["configuration"]
    assert orchestrator["pod_settings"] == orchestrator["orchestrator_pod_settings"]


VALIDATE = """
import sys
from zenml.client import Client
from zenml.stack import Stack

stack = Stack.from_model(Client().get_stack(sys.argv[1]))
stack.validate()
print("VALID")
"""


def test_zenml_validates_the_aws_stack_across_its_components(home, engine, zenml_env, tmp_path):
    """The deep check: ZenML loads each component's integration and validates the stack as a whole
    (the orchestrator's context must be in the kubeconfig the user exports)."""
    deployed("aws", engine)
    stack_file, kubeconfig = tmp_path / "stack.yaml", tmp_path / "kubeconfig.yaml"
    assert run("export", "ml-dev", "--format", "zenml", "--show-secrets", "-o", str(stack_file)).exit_code == 0
    assert run("export", "ml-dev", "--format", "kubeconfig", "-o", str(kubeconfig)).exit_code == 0
    assert zenml(zenml_env, "stack", "import", str(stack_file)).returncode == 0
    script = tmp_path / "validate.py"  # Stack code needs a main module with a file (its source root)
    script.write_text(VALIDATE)
    env = {**zenml_env, "KUBECONFIG": str(kubeconfig)}
    proc = subprocess.run([sys.executable, str(script), "ml-dev"], env=env, cwd=tmp_path, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "VALID" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-2000:]
    # And it fails, as it should, when the orchestrator's context is not in the kubeconfig.
    (tmp_path / "other.yaml").write_text(kubeconfig.read_text().replace("recipe-ml-dev", "someone-else"))
    bad = subprocess.run([sys.executable, str(script), "ml-dev"], env={**env, "KUBECONFIG": str(tmp_path / "other.yaml")},
                         cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "recipe-ml-dev" in bad.stdout + bad.stderr


# ---------------------------------------------------------------------------
# The stack CA: ZenML's pipeline pods mount it, MLflow's client is pointed at it

PIPELINE_POD = """
import json, sys
from kubernetes.client import ApiClient
from zenml.client import Client
from zenml.enums import StackComponentType
from zenml.integrations.kubernetes.manifest_utils import build_pod_manifest
from zenml.integrations.kubernetes.pod_settings import KubernetesPodSettings
from zenml.integrations.kubernetes.serialization_utils import deserialize_kubernetes_model

model = Client().get_stack(sys.argv[1]).components[StackComponentType.ORCHESTRATOR][0]
pods = {}
for key in ("pod_settings", "orchestrator_pod_settings"):
    settings = model.configuration[key]
    # What ZenML only warns about (snake_case keys), refused here: the Kubernetes client's own models.
    for volume in settings.get("volumes", []):
        deserialize_kubernetes_model(volume, "V1Volume")
    for mount in settings.get("volume_mounts", []):
        deserialize_kubernetes_model(mount, "V1VolumeMount")
    pod = build_pod_manifest(pod_name="step", image_name="image", command=["python"], args=[], privileged=False,
                             pod_settings=KubernetesPodSettings(**settings))
    pods[key] = ApiClient().sanitize_for_serialization(pod)
print(json.dumps({"namespace": model.configuration["kubernetes_namespace"], "pods": pods}))
"""


def pipeline_pods(env: dict[str, str], stack: str, tmp_path: Path) -> dict:
    """The pods ZenML's Kubernetes orchestrator builds from the imported stack's pod settings."""
    script = tmp_path / "pods.py"
    script.write_text(PIPELINE_POD)
    proc = subprocess.run([sys.executable, str(script), stack], env=env, cwd=tmp_path, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("provider", ["aws", "azure"])
def test_pipeline_pods_mount_the_stack_ca_the_program_creates(provider, home, engine, zenml_env, tmp_path):
    deployed(provider, engine)
    plan = next(iter(engine.plans.values()))
    ca = plan.raw_outputs["tracker"]["ca_certificate"]
    path = tmp_path / "stack.yaml"
    assert run("export", "ml-dev", "--format", "zenml", "--show-secrets", "-o", str(path)).exit_code == 0
    imported = zenml(zenml_env, "stack", "import", str(path))
    assert imported.returncode == 0, imported.stdout[-2000:] + imported.stderr[-2000:]

    tracker = describe(zenml_env, "ml-dev")["components"]["experiment_tracker"]["configuration"]
    assert tracker["tracking_uri"].startswith("https://") and not tracker.get("tracking_insecure_tls")
    found = pipeline_pods(zenml_env, "ml-dev", tmp_path)
    configmaps = {(r.inputs["metadata"].get("namespace"), r.inputs["metadata"]["name"]): r.inputs.get("data") or {}
                  for r in plan.resources if r.type == "kubernetes:core/v1:ConfigMap"}
    for pod in found["pods"].values():
        (volume,) = [v for v in pod["spec"]["volumes"] if "configMap" in v]
        (container,) = pod["spec"]["containers"]
        (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
        env = {e["name"]: e["value"] for e in container["env"]}
        # The ConfigMap exists where the pods run, and the variable names the file the mount makes of its key.
        data = configmaps[(found["namespace"], volume["configMap"]["name"])]
        (key,) = data
        assert data[key] == ca and mount["readOnly"] is True
        assert env["MLFLOW_TRACKING_SERVER_CERT_PATH"] == f"{mount['mountPath']}/{key}"
        if provider == "azure":  # the storage account variable is still there, beside it
            assert env["AZURE_STORAGE_ACCOUNT_NAME"] == plan.raw_outputs["bucket"]["account"]


def test_with_a_domain_the_pipeline_pods_mount_no_ca(home, engine, zenml_env, tmp_path):
    result = run("deploy", *DEPLOY["azure"], "--name", "ml-dev", "--domain", "ml.example.org", "--yes")
    assert result.exit_code == 0, result.stderr
    plan = next(iter(engine.plans.values()))
    assert "ca_certificate" not in plan.raw_outputs["tracker"]
    assert not [r for r in plan.resources if r.type == "kubernetes:core/v1:ConfigMap"
                and r.inputs["metadata"]["name"] == "stack-ca"]
    path = tmp_path / "stack.yaml"
    assert run("export", "ml-dev", "--format", "zenml", "--show-secrets", "-o", str(path)).exit_code == 0
    assert zenml(zenml_env, "stack", "import", str(path)).returncode == 0
    for pod in pipeline_pods(zenml_env, "ml-dev", tmp_path)["pods"].values():
        assert not [v for v in pod["spec"].get("volumes") or [] if "configMap" in v]
        assert "MLFLOW_TRACKING_SERVER_CERT_PATH" not in {e["name"] for e in pod["spec"]["containers"][0]["env"]}
