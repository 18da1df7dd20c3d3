"""mlstacks stack spec files: read, mapped onto our components, with notes on what does not map."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from provisioner import cli

from provisioner.integrations import mlstacks
from provisioner.stacks.stackfile import spec_from_cli
from recipes.spec import SpecError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("RECIPE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "no-gcloud"))
    return tmp_path / "home"


def write_stack(tmp_path: Path, files: dict[str, dict], **stack) -> Path:
    entries = []
    for filename, component in files.items():
        (tmp_path / filename).write_text(yaml.safe_dump({"spec_version": 1, "spec_type": "component", **component}))
        entries.append(filename)
    document = {"spec_version": 1, "spec_type": "stack", "name": "team", "provider": "aws",
                "default_region": "eu-west-1", "components": entries, **stack}
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def component(kind: str, flavor: str, **extra) -> dict:
    return {"component_type": kind, "component_flavor": flavor, "name": f"c-{kind}", "provider": "aws", **extra}


def test_aws_example_maps_every_component(home):
    spec, notes = spec_from_cli(None, str(EXAMPLES / "mlstacks-aws" / "stack.yaml"), {})
    assert (spec.provider, spec.region, spec.name) == ("aws", "eu-west-1", "ml-team-stack")
    assert set(spec.components) == {"cluster", "bucket", "registry", "tracker", "deployer"}
    assert spec.deployer == "seldon" and dict(spec.tags)["team"] == "ml-platform"
    assert any("'ml_team_stack' becomes 'ml-team-stack'" in n for n in notes)
    assert any("bucket_name" in n and "not used" in n for n in notes)


def test_gcp_example_reports_what_has_no_equivalent(home):
    spec, notes = spec_from_cli(None, str(EXAMPLES / "mlstacks-gcp" / "stack.yaml"), {})
    assert (spec.provider, spec.region, spec.project) == ("gcp", "europe-west1", "vision-project-42")
    assert set(spec.components) == {"cluster", "bucket", "tracker"}  # no registry or deployer was asked for
    assert dict(spec.tags)["team"] == "vision"  # the list-of-mappings form of default_tags
    assert any("vertex" in n and "no equivalent" in n for n in notes)
    assert any("Kubeflow is not installed" in n for n in notes)


@pytest.mark.parametrize("example", ["mlstacks-aws", "mlstacks-gcp"])
def test_recipe_plan_runs_the_examples_and_prints_the_notes(home, example):
    result = CliRunner().invoke(cli.app, ["plan", "-f", str(EXAMPLES / example / "stack.yaml"), "--output", "json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["provider"] == example.split("-")[1]
    assert "note:" in result.stderr
    assert doc["outputs"]["bucket"]["uri"]


def test_flags_still_override_an_mlstacks_file(home):
    path = EXAMPLES / "mlstacks-aws" / "stack.yaml"
    spec, _ = spec_from_cli(None, str(path), {"region": "us-west-2", "without": ["deployer"]})
    assert spec.region == "us-west-2" and "deployer" not in spec.components


def test_tracker_alone_brings_its_cluster_and_bucket(tmp_path):
    path = write_stack(tmp_path, {"t.yaml": component("experiment_tracker", "mlflow")})
    spec, notes = spec_from_cli(None, str(path), {})
    assert set(spec.components) == {"tracker", "cluster", "bucket"}
    assert any("cluster, which is included" in n for n in notes) and any("bucket, which is included" in n for n in notes)


def test_kserve_deployer_and_inline_components(tmp_path):
    path = write_stack(tmp_path, {}, components=[
        {"spec_type": "component", "component_type": "model_deployer", "component_flavor": "kserve", "name": "k"},
        {"spec_type": "component", "component_type": "artifact_store", "component_flavor": "s3", "name": "a"},
    ])
    spec, _ = spec_from_cli(None, str(path), {})
    assert spec.deployer == "kserve" and {"deployer", "cluster", "bucket"} <= set(spec.components)


def test_other_trackers_become_mlflow_with_a_note(tmp_path):
    path = write_stack(tmp_path, {"t.yaml": component("experiment_tracker", "wandb")})
    _, notes = spec_from_cli(None, str(path), {})
    assert any("only MLflow is offered" in n for n in notes)


def test_unknown_deployer_is_left_out_with_a_note(tmp_path):
    path = write_stack(tmp_path, {"d.yaml": component("model_deployer", "bentoml"), "a.yaml": component("artifact_store", "s3")})
    spec, notes = spec_from_cli(None, str(path), {})
    assert "deployer" not in spec.components and any("bentoml" in n and "left out" in n for n in notes)


@pytest.mark.parametrize(
    "change,message",
    [
        ({"spec_version": 2}, "spec_version 2 is not supported"),
        ({"components": "not-a-list"}, "must be a list"),
        ({"components": ["missing.yaml"]}, "'missing.yaml' not found"),
        ({"components": [42]}, "path to a component spec file"),
        ({"default_tags": "team"}, "default_tags must be a mapping"),
        ({"default_region": "mars-1"}, "mars-1"),
    ],
)
def test_bad_mlstacks_files_give_one_clear_error(tmp_path, change, message):
    path = write_stack(tmp_path, {"a.yaml": component("artifact_store", "s3")}, **change)
    with pytest.raises(SpecError) as err:
        spec_from_cli(None, str(path), {})
    assert message in str(err.value)


def k3d_stack(tmp_path: Path, *kinds: tuple[str, str], **stack) -> Path:
    files = {f"{kind}.yaml": {**component(kind, flavor), "provider": "k3d"} for kind, flavor in kinds}
    return write_stack(tmp_path, files, provider="k3d", name="ml_local", **stack)


K3D_STACK = (("artifact_store", "minio"), ("orchestrator", "kubernetes"), ("experiment_tracker", "mlflow"),
             ("model_deployer", "seldon"))


def test_k3d_maps_to_the_kubernetes_provider_on_the_k3d_context(tmp_path):
    spec, notes = spec_from_cli(None, str(k3d_stack(tmp_path, *K3D_STACK)), {})
    assert (spec.provider, spec.name, spec.context) == ("kubernetes", "ml-local", "k3d-ml-local")
    assert spec.bucket == "" and spec.region == "in-cluster"  # the in-cluster store; no cloud region
    assert set(spec.components) == {"cluster", "bucket", "tracker", "deployer"}
    (note,) = [n for n in notes if "k3d" in n]
    assert "does not create the k3d cluster" in note and "`k3d cluster create ml-local`" in note


def test_a_k3d_stack_without_a_name_uses_the_current_context(tmp_path):
    path = write_stack(tmp_path, {"a.yaml": {**component("artifact_store", "minio"), "provider": "k3d"}}, provider="k3d",
                       name=None)
    spec, notes = spec_from_cli(None, str(path), {})
    assert spec.provider == "kubernetes" and spec.context == ""
    assert any("current context" in n and "k3d cluster create NAME" in n for n in notes)


def test_a_k3d_registry_needs_one_that_exists(tmp_path):
    path = k3d_stack(tmp_path, *K3D_STACK, ("container_registry", "default"))
    with pytest.raises(SpecError, match="--registry"):
        spec_from_cli(None, str(path), {})
    spec, notes = spec_from_cli(None, str(path), {"registry": "k3d-registry.localhost:5000"})
    assert spec.registry == "k3d-registry.localhost:5000" and "registry" in spec.components
    assert any("k3d registry create" in n for n in notes)
    spec, _ = spec_from_cli(None, str(path), {"without": ["registry"]})
    assert "registry" not in spec.components


def test_recipe_plan_runs_a_k3d_stack_offline(home, tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    result = CliRunner().invoke(cli.app, ["plan", "-f", str(k3d_stack(tmp_path, *K3D_STACK)), "--output", "json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["provider"] == "kubernetes" and doc["outputs"]["cluster"]["context"] == "k3d-ml-local"
    assert "k3d cluster create ml-local" in result.stderr


def test_component_of_another_provider_is_refused(tmp_path):
    path = write_stack(tmp_path, {"a.yaml": component("artifact_store", "gcp", provider="gcp")})
    with pytest.raises(SpecError, match="for provider 'gcp'"):
        spec_from_cli(None, str(path), {})


def test_a_component_file_that_is_not_one(tmp_path):
    (tmp_path / "x.yaml").write_text("spec_type: stack\n")
    path = write_stack(tmp_path, {}, components=["x.yaml"])
    with pytest.raises(SpecError, match="not an mlstacks component spec"):
        spec_from_cli(None, str(path), {})


def test_nothing_mappable_is_an_error(tmp_path):
    path = write_stack(tmp_path, {"s.yaml": component("step_operator", "sagemaker")})
    with pytest.raises(SpecError, match="none of the mlstacks components"):
        spec_from_cli(None, str(path), {})


def test_our_own_stack_files_are_not_mistaken_for_mlstacks():
    assert not mlstacks.is_mlstacks({"provider": "aws", "name": "ml-dev"})
    assert mlstacks.is_mlstacks({"spec_version": 1, "spec_type": "stack"})
