"""The CLI end to end on the stack records: stacks, outputs, export, register, and doctor,
with FakeEngine at the engine seam and a throwaway RECIPE_HOME."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import dotenv
import pytest
import yaml

from provisioner.stacks import exporters
from provisioner.stacks.records import local_secrets_file

from tests.cli.support import DEPLOY, mode, password_of, stack_records


# --------------------------------------------------------------------------
# stacks and outputs

def test_stacks_lists_and_survives_a_corrupt_record(run, home, engine):
    assert run(*DEPLOY).exit_code == 0
    broken = home / "config" / "stacks" / "broken.json"
    broken.write_text('{"name": "broken",\n  "status": \n}')
    result = run("stacks", "--output", "json")
    assert result.exit_code == 0
    assert [s["name"] for s in json.loads(result.stdout)] == ["ml-dev"]
    assert f"{broken}:3" in result.stderr
    table = run("stacks")
    assert "ml-dev" in table.stdout and "ready" in table.stdout


def test_outputs_masked_unless_show_secrets(run, home, engine):
    assert run(*DEPLOY).exit_code == 0
    secret = password_of(engine)
    masked = run("outputs", "ml-dev", "--output", "json")
    assert masked.exit_code == 0
    data = json.loads(masked.stdout)
    assert data["tracker"]["password"] == "********" and secret not in masked.stdout
    shown = run("outputs", "ml-dev", "--show-secrets", "--output", "json")
    assert json.loads(shown.stdout)["tracker"]["password"] == secret
    assert "kind: Config" in json.loads(shown.stdout)["cluster"]["kubeconfig"]


# --------------------------------------------------------------------------
# export

def test_export_zenml_matches_what_zenml_imports(run, home, engine, monkeypatch):
    monkeypatch.setattr(exporters, "installed_zenml_version", lambda: None)
    assert run(*DEPLOY).exit_code == 0
    result = run("export", "ml-dev", "--format", "zenml")
    assert result.exit_code == 0, result.stderr
    doc = yaml.safe_load(result.stdout)
    assert doc["stack_name"] == "ml-dev" and doc["zenml_version"] == exporters.DEFAULT_ZENML_VERSION
    c = doc["components"]
    for component in c.values():
        assert set(component) == {"name", "flavor", "configuration"}
    assert c["artifact_store"]["flavor"] == "s3" and c["artifact_store"]["configuration"]["path"].startswith("s3://")
    assert c["container_registry"]["flavor"] == "aws" and "/" not in c["container_registry"]["configuration"]["uri"]
    assert c["orchestrator"]["flavor"] == "kubernetes"
    assert c["orchestrator"]["configuration"]["kubernetes_context"] == "recipe-ml-dev"
    tracker = c["experiment_tracker"]
    assert tracker["flavor"] == "mlflow" and tracker["configuration"]["tracking_username"] == "admin"
    assert tracker["configuration"]["tracking_password"] == "{{ml-dev-mlflow.password}}"
    deployer = c["model_deployer"]
    assert deployer["flavor"] == "seldon"
    assert deployer["configuration"]["secret"] is None and "kubernetes_secret_name" in deployer["configuration"]
    assert password_of(engine) not in result.stdout
    assert "zenml secret create ml-dev-mlflow" in result.stderr


def test_export_zenml_version_flag_and_installed_version(run, home, engine, monkeypatch):
    assert run(*DEPLOY).exit_code == 0
    monkeypatch.setattr(exporters, "installed_zenml_version", lambda: "0.99.1")
    assert yaml.safe_load(run("export", "ml-dev").stdout)["zenml_version"] == "0.99.1"
    flagged = run("export", "ml-dev", "--zenml-version", "0.97.0")
    assert yaml.safe_load(flagged.stdout)["zenml_version"] == "0.97.0"


def test_export_files_are_0600_only_with_secrets(run, home, engine, tmp_path):
    assert run(*DEPLOY).exit_code == 0
    secret = password_of(engine)
    plain = tmp_path / "plain.yaml"
    assert run("export", "ml-dev", "--format", "zenml", "--file", str(plain)).exit_code == 0
    assert secret not in plain.read_text() and mode(plain) & 0o044  # readable by others: nothing secret
    with_secret = tmp_path / "secret.yaml"
    result = run("export", "ml-dev", "--format", "zenml", "--show-secrets", "--file", str(with_secret))
    assert result.exit_code == 0 and "0600" in result.stderr
    assert yaml.safe_load(with_secret.read_text())["components"]["experiment_tracker"]["configuration"]["tracking_password"] == secret
    assert mode(with_secret) == 0o600
    # An existing file that becomes secret gets its mode tightened.
    assert run("export", "ml-dev", "--format", "json", "--show-secrets", "-f", str(plain)).exit_code == 0
    assert mode(plain) == 0o600 and json.loads(plain.read_text())["tracker"]["password"] == secret


def test_export_kubeconfig_uses_exec_auth_and_is_0600(run, home, engine, tmp_path):
    assert run(*DEPLOY).exit_code == 0
    target = tmp_path / "kube.yaml"
    assert run("export", "ml-dev", "--format", "kubeconfig", "-o", str(target)).exit_code == 0
    config = yaml.safe_load(target.read_text())
    assert mode(target) == 0o600
    assert config["current-context"] == "recipe-ml-dev"
    user = config["users"][0]["user"]
    assert set(user) == {"exec"}  # no token, no client key, no password
    assert user["exec"]["command"] == "aws"
    assert user["exec"]["args"][:2] == ["eks", "get-token"] and "ml-dev" in user["exec"]["args"]


def test_export_dotenv(run, home, engine):
    assert run(*DEPLOY).exit_code == 0
    secret = password_of(engine)
    result = run("export", "ml-dev", "--format", "dotenv")
    assert result.exit_code == 0, result.stderr
    env = dotenv.dotenv_values(stream=io.StringIO(result.stdout))
    assert env["MLFLOW_TRACKING_URI"].startswith("https://") and env["MLFLOW_TRACKING_USERNAME"] == "admin"
    # The stack CA the front door's certificate chains to, beside the stack's record (stdout export).
    assert Path(env["MLFLOW_TRACKING_SERVER_CERT_PATH"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert "MLFLOW_TRACKING_PASSWORD" not in env and secret not in result.stdout
    assert env["ARTIFACT_STORE_URI"].startswith("s3://") and "CONTAINER_REGISTRY_URI" in env
    kubeconfig = Path(env["KUBECONFIG"])
    assert kubeconfig.is_file() and mode(kubeconfig) == 0o600
    shown = run("export", "ml-dev", "--format", "dotenv", "--show-secrets")
    assert f"export MLFLOW_TRACKING_PASSWORD='{secret}'\n" in shown.stdout


# --------------------------------------------------------------------------
# register

def outputs_file(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def pulumi_outputs(plans) -> dict:
    """What `pulumi stack output --json --show-secrets` prints for the default stack."""
    return json.loads(json.dumps(plans().raw_outputs))


def test_register_then_export_like_any_other_stack(run, home, engine, tmp_path, pulumi_outputs):
    path = outputs_file(tmp_path, pulumi_outputs)
    result = run("register", "ml-dev", "--outputs", str(path))
    assert result.exit_code == 0, result.stderr
    record = stack_records().get("ml-dev")
    assert record.source == "register" and record.status == "ready" and record.secrets == "local"
    secret = pulumi_outputs["tracker"]["password"]
    assert secret not in (home / "config" / "stacks" / "ml-dev.json").read_text()
    assert mode(local_secrets_file("ml-dev")) == 0o600
    exported = run("export", "ml-dev", "--format", "zenml", "--show-secrets")
    assert exported.exit_code == 0
    assert yaml.safe_load(exported.stdout)["components"]["experiment_tracker"]["configuration"]["tracking_password"] == secret
    assert engine.calls == []  # registered stacks never touch the engine
    # We do not own its state: destroy refuses with the command to use instead.
    refused = run("destroy", "ml-dev", "--yes")
    assert refused.exit_code == 1 and "pulumi" in refused.stderr


@pytest.mark.parametrize(
    "mutate,reason",
    [
        (lambda d: d["tracker"].pop("password"), "missing key 'tracker.password'"),
        (lambda d: d.pop("region"), "missing key 'region'"),
        (lambda d: d["tracker"].__setitem__("password", "[secret]"), "--show-secrets"),
        (lambda d: d.__setitem__("stack_name", "other-stack"), "register it as other-stack"),
        (lambda d: d["bucket"].__setitem__("uri", 42), "'bucket.uri' must be a string"),
    ],
)
def test_register_rejects_bad_outputs(run, home, tmp_path, pulumi_outputs, mutate, reason):
    mutate(pulumi_outputs)
    result = run("register", "ml-dev", "--outputs", str(outputs_file(tmp_path, pulumi_outputs)))
    assert result.exit_code == 2
    assert reason in result.stderr and "Traceback" not in result.stderr
    assert stack_records().find("ml-dev") is None and not local_secrets_file("ml-dev").exists()


def test_register_rejects_malformed_json(run, home, tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text('{"provider": "aws",\n "region": }')
    result = run("register", "ml-dev", "--outputs", str(path))
    assert result.exit_code == 2 and f"{path}:2: not JSON" in result.stderr
    assert stack_records().find("ml-dev") is None


def test_register_does_not_replace_without_force(run, home, engine, tmp_path, pulumi_outputs):
    assert run(*DEPLOY).exit_code == 0
    path = outputs_file(tmp_path, pulumi_outputs)
    result = run("register", "ml-dev", "--outputs", str(path))
    assert result.exit_code == 1 and "--force" in result.stderr
    assert stack_records().get("ml-dev").source == "deploy"


# --------------------------------------------------------------------------
# doctor

@pytest.fixture
def bare_machine(monkeypatch, tmp_path) -> Path:
    """No tools on PATH, no cloud credentials in the environment, an empty home: the home's path."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    for key in list(os.environ):
        if key.startswith(("AWS_", "GOOGLE_", "AZURE_", "ARM_")):
            monkeypatch.delenv(key)
    return tmp_path / "user"


def test_doctor_reports_missing_pulumi_without_traceback(run, home, bare_machine):
    result = run("doctor", "--output", "json")
    assert result.exit_code == 1, result.stderr  # no Pulumi CLI, no credentials: deploying is impossible
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["python"]["status"] == "ok" and checks["pulumi"]["status"] == "ok"
    assert checks["pulumi CLI"]["status"] == "missing"
    assert checks["pulumi CLI"]["fix"] == "recipe doctor --install-pulumi"
    assert checks["aws credentials"]["status"] == "missing"
    table = run("doctor")
    assert "pulumi CLI" in table.stdout and "Traceback" not in table.stdout + table.stderr



def test_doctor_says_which_cloud_credentials_it_found_and_which_tools_are_missing(run, home, bare_machine, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "ml")
    (bare_machine / ".azure").mkdir(parents=True)
    (bare_machine / ".azure" / "azureProfile.json").write_text("{}")
    checks = {c["name"]: c for c in json.loads(run("doctor", "--output", "json").stdout)["checks"]}
    # No aws CLI to ask who the profile is: found, not verified, and said why.
    assert checks["aws credentials"]["status"] == "not checked"
    assert checks["aws credentials"]["detail"] == "found AWS_PROFILE; could not verify them (offline, expired, or no aws CLI)"
    azure = checks["azure credentials"]
    assert (azure["status"], azure["detail"]) == ("not checked", f"found {bare_machine}/.azure/azureProfile.json (not verified)")
    assert (checks["gcp credentials"]["status"], checks["gcp credentials"]["fix"]) == ("missing", "gcloud auth application-default login")
    tools = [name for name in checks if checks[name]["detail"].startswith("not found: ")]
    assert tools == ["aws CLI", "gcloud CLI", "gke-gcloud-auth-plugin", "az CLI", "kubelogin", "kubectl"]
