"""Exporters on canonical outputs, including the stacks that lack a component."""

from __future__ import annotations

import json

import pytest
import yaml

from provisioner.stacks import exporters

from tests.stacks.sample import OUTPUTS



def without(*components: str) -> dict:
    return {k: v for k, v in OUTPUTS.items() if k not in components}


def test_zenml_without_secrets_references_a_zenml_secret():
    rendered = exporters.render("zenml", OUTPUTS, zenml_version="0.98.0")
    assert "s3cr3t-pw" not in rendered.text and not rendered.contains_secrets
    doc = yaml.safe_load(rendered.text)
    assert doc["components"]["experiment_tracker"]["configuration"]["tracking_password"] == "{{ml-dev-mlflow.password}}"
    assert any("zenml secret create ml-dev-mlflow" in note for note in rendered.notes)
    orchestrator = doc["components"]["orchestrator"]["configuration"]
    assert orchestrator["service_account_name"] == orchestrator["step_pod_service_account_name"] == "zenml-service-account"


def test_zenml_with_secrets_is_marked_secret():
    rendered = exporters.render("zenml", OUTPUTS, show_secrets=True, zenml_version="0.98.0")
    assert rendered.contains_secrets and "s3cr3t-pw" in rendered.text


def test_zenml_kserve_has_no_model_deployer_and_says_why():
    data = {**OUTPUTS, "deployer": {"flavor": "kserve", "namespace": "kserve-models", "base_url": "http://gw"}}
    rendered = exporters.render("zenml", data, zenml_version="0.98.0")
    assert "model_deployer" not in yaml.safe_load(rendered.text)["components"]
    assert any("kserve" in note for note in rendered.notes)


def test_zenml_without_cluster_uses_the_local_orchestrator():
    rendered = exporters.render("zenml", without("cluster", "tracker", "deployer"), zenml_version="0.98.0")
    components = yaml.safe_load(rendered.text)["components"]
    assert components["orchestrator"]["flavor"] == "local"
    assert set(components) == {"artifact_store", "container_registry", "orchestrator"}


def test_zenml_needs_a_bucket():
    with pytest.raises(exporters.ExportError, match="artifact store"):
        exporters.render("zenml", without("bucket", "tracker"), zenml_version="0.98.0")


def test_json_omits_secrets_unless_asked():
    hidden = json.loads(exporters.render("json", OUTPUTS).text)
    assert "password" not in hidden["tracker"] and "kubeconfig" not in hidden["cluster"]
    shown = exporters.render("json", OUTPUTS, show_secrets=True)
    assert json.loads(shown.text)["tracker"]["password"] == "s3cr3t-pw" and shown.contains_secrets


def test_dotenv_quotes_values_and_keeps_password_out():
    data = {**OUTPUTS, "tracker": {**OUTPUTS["tracker"], "uri": "http://h/with space"}}
    text = exporters.render("dotenv", data, kubeconfig_path="/k/ml-dev.yaml").text
    assert "export MLFLOW_TRACKING_URI='http://h/with space'\n" in text
    assert "export KUBECONFIG='/k/ml-dev.yaml'\n" in text and "s3cr3t-pw" not in text


def test_kubeconfig_needs_a_cluster():
    with pytest.raises(exporters.ExportError, match="no cluster"):
        exporters.render("kubeconfig", without("cluster"))
    assert exporters.render("kubeconfig", OUTPUTS).contains_secrets


def test_unknown_format():
    with pytest.raises(exporters.ExportError, match="unknown format"):
        exporters.render("terraform", OUTPUTS)
