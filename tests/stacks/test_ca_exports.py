"""The stack CA in every export: the dotenv's files and variables, JSON as is, the ZenML
stack's pod settings and notes; and nothing of it with --domain (a public CA) or without
a front door.
"""

from __future__ import annotations

import copy
import io
import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

import certifi
import dotenv
import pytest
import yaml
from typer.testing import CliRunner

from provisioner import cli
from provisioner.stacks import exporters, trust
from recipes import facts
from recipes.kubernetes.ingress import tls

from tests.dataplane import tlsproxy
from tests.stacks.sample import OUTPUTS

CA = tlsproxy.make_ca(*tlsproxy.default_ca_inputs("ml-dev")).certificate_pem
OTHER_CA = tlsproxy.make_ca(*tlsproxy.default_ca_inputs("other")).certificate_pem
CA_VARIABLES = ("RECIPE_CA_CERT", "MLFLOW_TRACKING_SERVER_CERT_PATH", "REQUESTS_CA_BUNDLE")


def behind_stack_ca(**changes) -> dict:
    """The sample stack as the program exports it without --domain: HTTPS, and its CA."""
    data = copy.deepcopy(OUTPUTS)
    data["tracker"].update(uri="https://203.0.113.7:5000", ca_certificate=CA)
    data["deployer"].update(base_url="https://203.0.113.7", ca_certificate=CA)
    data.update(changes)
    return data


def with_domain() -> dict:
    """--domain: Let's Encrypt signs the certificate, the outputs carry no CA."""
    data = copy.deepcopy(OUTPUTS)
    data["tracker"]["uri"] = "https://ml.example.org:5000"
    data["deployer"]["base_url"] = "https://ml.example.org"
    return data


def dotenv_of(data: dict, tmp_path: Path, show_secrets: bool = False) -> tuple[dict, trust.CaFiles | None, str]:
    files = trust.ca_files(data, "ml-dev", tmp_path / "out" / "ml-dev.env")
    rendered = exporters.render("dotenv", data, show_secrets=show_secrets, kubeconfig_path="/k/ml-dev.yaml", ca_files=files)
    return dict(dotenv.dotenv_values(stream=io.StringIO(rendered.text))), files, rendered.text


# --------------------------------------------------------------------------
# dotenv


def test_dotenv_points_mlflow_and_requests_at_the_ca_files_beside_it(tmp_path):
    env, files, text = dotenv_of(behind_stack_ca(), tmp_path)
    folder = (tmp_path / "out").resolve()
    assert files.ca == folder / "ml-dev-ca.pem" and files.bundle == folder / "ml-dev-ca-bundle.pem"
    assert env["RECIPE_CA_CERT"] == env["MLFLOW_TRACKING_SERVER_CERT_PATH"] == str(files.ca)
    assert env["REQUESTS_CA_BUNDLE"] == str(files.bundle)
    assert Path(env["RECIPE_CA_CERT"]).is_absolute()
    assert env["MLFLOW_TRACKING_URI"] == "https://203.0.113.7:5000"
    # Each variable is explained where it is set.
    for name in CA_VARIABLES:
        assert f"# {name}: " in text
    assert "insecure" not in text.lower()

    written = files.write()
    assert written == [files.ca, files.bundle]
    assert files.ca.read_text() == CA
    assert all(os.stat(path).st_mode & 0o777 == 0o644 for path in written)  # public


def test_the_bundle_is_certifis_cas_and_the_stack_ca(tmp_path):
    _, files, _ = dotenv_of(behind_stack_ca(), tmp_path)
    files.write()
    public = ssl.create_default_context(cafile=certifi.where()).cert_store_stats()["x509_ca"]
    both = ssl.create_default_context(cafile=str(files.bundle))
    assert both.cert_store_stats()["x509_ca"] == public + 1
    ours = ssl.create_default_context(cafile=str(files.ca))
    assert ours.cert_store_stats()["x509_ca"] == 1
    assert files.bundle.read_text().startswith(Path(certifi.where()).read_text().rstrip("\n"))
    assert files.bundle.read_text().endswith(CA)


def test_show_secrets_is_unaffected_by_the_ca(tmp_path):
    hidden, _, hidden_text = dotenv_of(behind_stack_ca(), tmp_path)
    shown, _, _ = dotenv_of(behind_stack_ca(), tmp_path, show_secrets=True)
    assert "MLFLOW_TRACKING_PASSWORD" not in hidden and "s3cr3t-pw" not in hidden_text
    assert shown["MLFLOW_TRACKING_PASSWORD"] == "s3cr3t-pw"
    assert {k: v for k, v in shown.items() if k != "MLFLOW_TRACKING_PASSWORD"} == hidden


def test_with_a_domain_the_dotenv_sets_no_ca_variable(tmp_path):
    env, files, _ = dotenv_of(with_domain(), tmp_path)
    assert files is None
    assert not set(CA_VARIABLES) & set(env)
    assert env["MLFLOW_TRACKING_URI"] == "https://ml.example.org:5000"


def test_without_a_tracker_mlflow_gets_no_variable_but_the_model_endpoint_is_trusted(tmp_path):
    data = {k: v for k, v in behind_stack_ca().items() if k != "tracker"}
    env, files, _ = dotenv_of(data, tmp_path)
    assert "MLFLOW_TRACKING_SERVER_CERT_PATH" not in env
    assert env["RECIPE_CA_CERT"] == str(files.ca) and env["REQUESTS_CA_BUNDLE"] == str(files.bundle)
    bare = {k: v for k, v in behind_stack_ca().items() if k not in ("tracker", "deployer")}
    assert trust.ca_files(bare, "ml-dev") is None


def test_a_dotenv_of_a_stack_with_its_own_ca_needs_the_files():
    with pytest.raises(exporters.ExportError, match="own CA"):
        exporters.render("dotenv", behind_stack_ca())


def test_one_ca_is_written_once_and_two_different_both(tmp_path):
    assert trust.stack_ca(behind_stack_ca()) == CA
    data = behind_stack_ca()
    data["deployer"]["ca_certificate"] = OTHER_CA
    both = trust.stack_ca(data)
    assert both.count("BEGIN CERTIFICATE") == 2 and CA.strip() in both and OTHER_CA.strip() in both
    path = tmp_path / "both.pem"
    path.write_text(both)
    assert ssl.create_default_context(cafile=str(path)).cert_store_stats()["x509_ca"] == 2


@pytest.mark.parametrize("value", ["not a certificate", "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n",
                                   CA + "trailing text"])
def test_a_ca_output_that_is_no_pem_certificate_is_refused(value, tmp_path):
    data = behind_stack_ca()
    data["tracker"]["ca_certificate"] = value
    with pytest.raises(trust.CaCertificateError, match="tracker.ca_certificate .* not a PEM certificate"):
        trust.ca_files(data, "ml-dev", tmp_path / "x.env")


# --------------------------------------------------------------------------
# json, kubeconfig


@pytest.mark.parametrize("show_secrets", [False, True])
def test_json_carries_the_pem_as_is(show_secrets):
    shown = json.loads(exporters.render("json", behind_stack_ca(), show_secrets=show_secrets).text)
    assert shown["tracker"]["ca_certificate"] == shown["deployer"]["ca_certificate"] == CA


def test_the_kubeconfig_export_is_unchanged():
    assert exporters.render("kubeconfig", behind_stack_ca()).text == exporters.render("kubeconfig", OUTPUTS).text


# --------------------------------------------------------------------------
# zenml


def zenml_of(data: dict) -> tuple[dict, list[str]]:
    rendered = exporters.render("zenml", data, zenml_version="0.98.0")
    return yaml.safe_load(rendered.text)["components"], rendered.notes


def test_zenml_pipeline_pods_mount_the_ca_and_point_mlflow_at_it():
    components, notes = zenml_of(behind_stack_ca())
    orchestrator = components["orchestrator"]["configuration"]
    for settings in (orchestrator["pod_settings"], orchestrator["orchestrator_pod_settings"]):
        assert settings["volumes"] == [{"name": "stack-ca", "configMap": {"name": tls.CA_CONFIGMAP}}]
        assert settings["volume_mounts"] == [{"name": "stack-ca", "mountPath": tls.CA_MOUNT_DIR, "readOnly": True}]
        (env,) = settings["env"]
        assert env["name"] == tls.CA_ENV == "MLFLOW_TRACKING_SERVER_CERT_PATH"
        # The file the mount puts there: <mountPath>/<the ConfigMap's key>.
        assert env["value"] == f"{settings['volume_mounts'][0]['mountPath']}/{tls.CA_CONFIGMAP_KEY}"
    tracker = components["experiment_tracker"]["configuration"]
    assert tracker["tracking_uri"] == "https://203.0.113.7:5000"
    assert "tracking_insecure_tls" not in tracker
    (note,) = [n for n in notes if "own CA" in n]
    assert "recipe export ml-dev --format dotenv" in note and tls.CA_ENV in note and tls.CA_CONFIGMAP in note


def test_zenml_on_azure_keeps_the_storage_account_variable_beside_the_ca():
    data = behind_stack_ca(provider="azure", region="westeurope")
    data["bucket"] = {**data["bucket"], "uri": "az://artifacts", "account": "mldevabc123"}
    data["registry"] = {"uri": "crmldevabc123.azurecr.io"}
    settings = zenml_of(data)[0]["orchestrator"]["configuration"]["pod_settings"]
    assert [e["name"] for e in settings["env"]] == [facts.of("azure").STORAGE_ACCOUNT_ENV, tls.CA_ENV]
    assert settings["labels"] and settings["volumes"]


def test_zenml_with_a_domain_mounts_nothing_and_says_nothing_of_a_ca():
    components, notes = zenml_of(with_domain())
    assert "pod_settings" not in components["orchestrator"]["configuration"]  # AWS needs no other setting
    assert not [n for n in notes if "CA" in n]


def test_zenml_without_a_cluster_only_tells_how_this_machine_trusts_the_ca():
    components, notes = zenml_of({k: v for k, v in behind_stack_ca().items() if k != "cluster"})
    assert components["orchestrator"]["flavor"] == "local"
    (note,) = [n for n in notes if "own CA" in n]
    assert "ConfigMap" not in note and "--format dotenv" in note


# --------------------------------------------------------------------------
# `recipe export`: where the files go


def run(*args: str):
    result = CliRunner().invoke(cli.app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result


def registered(tmp_path: Path, data: dict) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(data))
    run("register", "ml-dev", "--outputs", str(path))


def test_export_writes_the_ca_beside_the_dotenv_file(home, tmp_path):
    registered(tmp_path, behind_stack_ca())
    target = tmp_path / "env" / "ml-dev.env"
    result = run("export", "ml-dev", "--format", "dotenv", "-o", str(target), "--output", "json")
    files = {Path(f["file"]): f for f in json.loads(result.stdout)["files"]}
    ca, bundle = target.parent / "ml-dev-ca.pem", target.parent / "ml-dev-ca-bundle.pem"
    assert files[ca] == {"file": str(ca), "mode": "0644", "contains_secrets": False} and bundle in files
    assert ca.read_text() == CA
    # What a user's shell then has: `. ./ml-dev.env`, and a child process sees the variables.
    child = "import json, os; print(json.dumps({k: os.environ.get(k) for k in %r}))" % (CA_VARIABLES,)
    done = subprocess.run(["/bin/sh", "-c", '. ./ml-dev.env && exec "$0" -c "$1"', sys.executable, child],
                          cwd=target.parent, env={k: v for k, v in os.environ.items() if k not in CA_VARIABLES},
                          capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == {"RECIPE_CA_CERT": str(ca), "MLFLOW_TRACKING_SERVER_CERT_PATH": str(ca),
                                       "REQUESTS_CA_BUNDLE": str(bundle)}


def test_export_to_stdout_writes_the_ca_beside_the_stacks_record(home, tmp_path):
    registered(tmp_path, behind_stack_ca())
    result = run("export", "ml-dev", "--format", "dotenv")
    env = dotenv.dotenv_values(stream=io.StringIO(result.stdout))
    records = (home / "config" / "stacks").resolve()
    assert (records / "ml-dev.json").is_file()
    assert env["MLFLOW_TRACKING_SERVER_CERT_PATH"] == str(records / "ml-dev-ca.pem")
    assert Path(env["MLFLOW_TRACKING_SERVER_CERT_PATH"]).read_text() == CA
    assert f"wrote {records / 'ml-dev-ca.pem'}" in result.stderr
    # The stack list still reads one stack: the CA files are not records.
    assert [s["name"] for s in json.loads(run("stacks", "--output", "json").stdout)] == ["ml-dev"]


def test_export_of_a_domain_stack_writes_no_ca_file(home, tmp_path):
    registered(tmp_path, with_domain())
    target = tmp_path / "ml-dev.env"
    result = run("export", "ml-dev", "--format", "dotenv", "-o", str(target), "--output", "json")
    assert not [f for f in json.loads(result.stdout)["files"] if f["file"].endswith(".pem")]
    assert target.is_file()
    assert not list(tmp_path.glob("*.pem")) and not list(home.rglob("*.pem"))
