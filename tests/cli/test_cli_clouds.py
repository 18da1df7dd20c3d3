"""The CLI on all three clouds: provider-specific flags, environment defaults, exports."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from provisioner import cli

from provisioner.stacks import exporters



@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("RECIPE_HOME", str(tmp_path / "home"))
    for variable in ("GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "no-gcloud"))  # no gcloud config to fall back on
    return tmp_path / "home"


def run(*args: str):
    return CliRunner().invoke(cli.app, list(args), catch_exceptions=False)


def plan_json(*args: str) -> dict:
    result = run("plan", *args, "--output", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


# --------------------------------------------------------------------------
# offline plans on every cloud: the same document shape

@pytest.mark.parametrize(
    "args,provider,region",
    [
        (["aws", "--region", "eu-west-1"], "aws", "eu-west-1"),
        (["gcp", "--project", "demo-project", "--region", "us-central1"], "gcp", "us-central1"),
        (["azure", "--region", "westeurope"], "azure", "westeurope"),
    ],
)
def test_plan_json_has_the_same_shape_on_every_cloud(home, args, provider, region):
    doc = plan_json(*args)
    assert doc["provider"] == provider and doc["region"] == region
    assert set(doc) >= {"resources", "outputs", "warnings"}
    assert {"urn", "type", "name", "parent", "dependencies", "inputs"} <= set(doc["resources"][0])
    outputs = doc["outputs"]
    assert set(outputs) == {"provider", "region", "stack_name", "cluster", "bucket", "registry", "tracker", "deployer"}
    assert outputs["tracker"]["password"] == "********" and outputs["cluster"]["kubeconfig"] == "********"
    assert any(t.startswith({"aws": "aws:", "gcp": "gcp:", "azure": "azure-native:"}[provider]) for t in {r["type"] for r in doc["resources"]})


def test_azure_location_is_an_alias_of_region(home):
    assert plan_json("azure", "--location", "swedencentral")["region"] == "swedencentral"
    result = run("plan", "azure", "--location", "westeurope", "--region", "northeurope")
    assert result.exit_code == 2 and "disagree" in result.stderr


def test_gcp_project_from_the_environment(home, monkeypatch):
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "env-project-1")
    doc = plan_json("gcp", "--region", "europe-west1")
    provider = next(r for r in doc["resources"] if r["type"] == "pulumi:providers:gcp")
    assert provider["inputs"]["project"] == "env-project-1"
    # A flag beats the environment.
    doc = plan_json("gcp", "--project", "flag-project", "--region", "europe-west1")
    assert next(r for r in doc["resources"] if r["type"] == "pulumi:providers:gcp")["inputs"]["project"] == "flag-project"


def test_gcp_zonal_by_default_and_regional_on_request(home):
    zonal = plan_json("gcp", "--project", "demo-project", "--region", "europe-west1")
    cluster = next(r for r in zonal["resources"] if r["type"] == "gcp:container/cluster:Cluster")
    assert cluster["inputs"]["location"] == "europe-west1-b"
    regional = plan_json("gcp", "--project", "demo-project", "--region", "europe-west1", "--regional")
    cluster = next(r for r in regional["resources"] if r["type"] == "gcp:container/cluster:Cluster")
    assert cluster["inputs"]["location"] == "europe-west1"


BAD = [
    (["plan", "gcp", "--region", "us-central1"], "gcp stacks need a project"),
    (["plan", "gcp", "--project", "Demo_Project"], "is not a project ID"),
    (["plan", "gcp", "--project", "demo-project", "--region", "us-central1", "--zone", "europe-west1-b"], "is not a zone of us-central1"),
    (["plan", "gcp", "--project", "demo-project", "--region", "us-centrall"], "did you mean us-central1"),
    (["plan", "gcp", "--project", "demo-project", "--tag", "Team=ML"], "GCP labels are lowercase"),
    (["plan", "aws", "--project", "demo-project"], "--project: only applies to gcp stacks"),
    (["plan", "azure", "--network", "public"], "'public' is not one of: private"),
    (["plan", "azure", "--location", "west-europe"], "unknown azure region 'west-europe'"),
    (["plan", "azure", "--node-type", "t3.large"], "is not an azure machine type"),
    (["deploy", "azure", "--tag", "a/b=c", "--yes"], "keys cannot contain"),
]


@pytest.mark.parametrize("args,reason", BAD)
def test_bad_cloud_specific_input(home, engine, args, reason):
    result = run(*args)
    assert result.exit_code == 2, result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and reason in lines[0], result.stderr
    assert engine.calls == []


# --------------------------------------------------------------------------
# exports per cloud, through a deploy on the fake engine

def deploy_and_export(*deploy_args: str, fmt: str = "zenml", extra: tuple[str, ...] = ()) -> str:
    assert run("deploy", *deploy_args, "--name", "ml-dev", "--yes").exit_code == 0
    result = run("export", "ml-dev", "--format", fmt, *extra)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_gcp_exports(home, engine, monkeypatch):
    monkeypatch.setattr(exporters, "installed_zenml_version", lambda: None)
    text = deploy_and_export("gcp", "--project", "demo-project", "--region", "us-central1")
    components = yaml.safe_load(text)["components"]
    assert components["artifact_store"]["flavor"] == "gcp"
    assert components["artifact_store"]["configuration"]["path"].startswith("gs://ml-dev-artifacts-")
    assert components["container_registry"]["flavor"] == "gcp"
    assert components["container_registry"]["configuration"]["uri"] == "us-central1-docker.pkg.dev/demo-project/ml-dev"
    # GKE's workload identity needs no pod settings: the only ones mount the stack CA.
    settings = components["orchestrator"]["configuration"]["pod_settings"]
    assert "labels" not in settings and [e["name"] for e in settings["env"]] == ["MLFLOW_TRACKING_SERVER_CERT_PATH"]
    kube = yaml.safe_load(run("export", "ml-dev", "--format", "kubeconfig").stdout)
    assert kube["users"][0]["user"] == {"exec": kube["users"][0]["user"]["exec"]}
    assert kube["users"][0]["user"]["exec"]["command"] == "gke-gcloud-auth-plugin"


def test_azure_exports(home, engine, monkeypatch):
    monkeypatch.setattr(exporters, "installed_zenml_version", lambda: None)
    text = deploy_and_export("azure", "--region", "westeurope")
    components = yaml.safe_load(text)["components"]
    assert components["artifact_store"]["flavor"] == "azure"
    assert components["artifact_store"]["configuration"]["path"] == "az://artifacts"
    assert components["container_registry"]["flavor"] == "azure"
    assert components["container_registry"]["configuration"]["uri"].endswith(".azurecr.io")
    settings = components["orchestrator"]["configuration"]["pod_settings"]
    assert settings["labels"] == {"azure.workload.identity/use": "true"}
    account = settings["env"][0]
    assert account["name"] == "AZURE_STORAGE_ACCOUNT_NAME" and account["value"].startswith("stmldev")
    kube = yaml.safe_load(run("export", "ml-dev", "--format", "kubeconfig").stdout)
    exec_ = kube["users"][0]["user"]["exec"]
    assert exec_["command"] == "kubelogin" and exec_["args"][0] == "get-token"
    env = run("export", "ml-dev", "--format", "dotenv").stdout
    assert f"export AZURE_STORAGE_ACCOUNT='{account['value']}'\n" in env
