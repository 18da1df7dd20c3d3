"""Exports of the `kubernetes` provider's stacks: a bucket reached by endpoint and keys, the user's own context.

Renderers on canonical outputs here; through the CLI (a deploy with the FakeEngine, then `recipe export`/`outputs`)
for what reaches files and the terminal: keys masked by default, 0600 when in clear.
"""

from __future__ import annotations

import json
import stat

import dotenv
import pytest
import yaml
from typer.testing import CliRunner

from provisioner import cli
from provisioner.stacks import bucket_keys, exporters
from recipes import outputs

from tests.stacks.sample import OUTPUTS as AWS

STORE = "http://objectstore.objectstore.svc.cluster.local:8333"
ACCESS, SECRET = "AKIAEXAMPLE0000000001", "c2VjcmV0LWtleS1vZi10aGUtaW4tY2x1c3Rlci1zdG9yZQ"
KUBECONFIG = ("apiVersion: v1\nkind: Config\ncurrent-context: k3d-ml\nclusters:\n- name: k3d-ml\n"
              "  cluster: {server: 'https://127.0.0.1:6443'}\ncontexts:\n- name: k3d-ml\n"
              "  context: {cluster: k3d-ml, user: admin@k3d-ml}\nusers:\n- name: admin@k3d-ml\n  user: {}\n")
IN_CLUSTER = {
    "provider": "kubernetes",
    "region": "in-cluster",
    "stack_name": "ml-local",
    "cluster": {"name": "k3d-ml", "endpoint": "https://127.0.0.1:6443", "kubeconfig": KUBECONFIG, "context": "k3d-ml"},
    "bucket": {"name": "ml-local-artifacts", "uri": "s3://ml-local-artifacts", "endpoint": STORE,
               "access_key_id": ACCESS, "secret_access_key": SECRET},
    "registry": {"uri": "registry.localhost:5000/ml"},
    "tracker": {"flavor": "mlflow", "uri": "https://203.0.113.7:5000", "username": "admin", "password": "s3cr3t-pw"},
    # The Secret the program puts in the models namespace for Seldon's storage initializer (a name, not a value).
    "deployer": {"flavor": "seldon", "namespace": "seldon", "base_url": "https://203.0.113.7",
                 "storage_secret": "model-storage"},
}
# --bucket s3://ml-artifacts --bucket-endpoint https://minio.corp.example --bucket-secret NAME: no keys of ours.
USERS_BUCKET = {**IN_CLUSTER, "bucket": {"name": "ml-artifacts", "uri": "s3://ml-artifacts",
                                         "endpoint": "https://minio.corp.example"}}


def store_config(rendered: exporters.Rendered) -> dict:
    return yaml.safe_load(rendered.text)["components"]["artifact_store"]["configuration"]


def test_the_outputs_are_valid_and_the_keys_are_secrets():
    assert outputs.validate(IN_CLUSTER) == IN_CLUSTER and outputs.validate(USERS_BUCKET) == USERS_BUCKET
    assert outputs.public(IN_CLUSTER)["bucket"] == {"name": "ml-local-artifacts", "uri": "s3://ml-local-artifacts",
                                                     "endpoint": STORE}
    assert outputs.masked(IN_CLUSTER)["bucket"]["secret_access_key"] == outputs.MASK
    with pytest.raises(outputs.OutputsError, match="'bucket.endpoint'.*http"):
        outputs.validate({**IN_CLUSTER, "bucket": {**IN_CLUSTER["bucket"], "endpoint": "minio:9000"}})


def test_zenml_refers_to_the_keys_by_default_and_reaches_the_store_by_its_endpoint():
    rendered = exporters.render("zenml", IN_CLUSTER, zenml_version="0.98.0")
    assert ACCESS not in rendered.text and SECRET not in rendered.text and not rendered.contains_secrets
    doc = yaml.safe_load(rendered.text)["components"]
    assert doc["artifact_store"]["flavor"] == "s3"
    assert store_config(rendered) == {
        "path": "s3://ml-local-artifacts", "client_kwargs": {"endpoint_url": STORE},
        "key": "{{ml-local-bucket.aws_access_key_id}}", "secret": "{{ml-local-bucket.aws_secret_access_key}}"}
    assert doc["container_registry"] == {"name": "ml-local-registry", "flavor": "default",
                                         "configuration": {"uri": "registry.localhost:5000/ml"}}
    assert doc["orchestrator"]["flavor"] == "kubernetes"
    assert doc["orchestrator"]["configuration"]["kubernetes_context"] == "k3d-ml"  # the user's, not one of ours
    assert doc["experiment_tracker"]["flavor"] == "mlflow" and doc["model_deployer"]["flavor"] == "seldon"
    # --register creates the bucket's secret from the outputs; the note says how to otherwise.
    assert rendered.bucket_secret == "ml-local-bucket" and rendered.bucket_secret_note in rendered.notes
    assert "zenml secret create ml-local-bucket --aws_access_key_id=" in rendered.bucket_secret_note
    (inside,) = [n for n in rendered.notes if "inside the cluster" in n]
    assert "kubectl --context k3d-ml -n objectstore port-forward svc/objectstore 8333:8333" in inside
    assert "127.0.0.1 objectstore.objectstore.svc.cluster.local" in inside


def test_zenml_with_show_secrets_writes_the_keys_and_is_secret_even_without_a_tracker():
    data = {k: v for k, v in IN_CLUSTER.items() if k not in ("tracker", "deployer")}
    rendered = exporters.render("zenml", data, show_secrets=True, zenml_version="0.98.0")
    assert rendered.contains_secrets and rendered.bucket_secret is None
    assert store_config(rendered)["key"] == ACCESS and store_config(rendered)["secret"] == SECRET


def test_zenml_of_the_users_bucket_refers_to_a_secret_the_user_creates():
    for show in (False, True):  # the keys are not ours to show
        rendered = exporters.render("zenml", USERS_BUCKET, show_secrets=show, zenml_version="0.98.0")
        config = store_config(rendered)
        assert config["client_kwargs"] == {"endpoint_url": "https://minio.corp.example"}
        assert config["key"] == "{{ml-local-bucket.aws_access_key_id}}"
        assert rendered.bucket_secret is None  # --register cannot create it
        assert any("--bucket-secret" in n and "zenml secret create ml-local-bucket" in n for n in rendered.notes)
        assert not any("inside the cluster" in n for n in rendered.notes)  # reachable as it is


def test_an_aws_s3_bucket_of_the_users_has_no_endpoint():
    data = {**USERS_BUCKET, "bucket": {"name": "ml-artifacts", "uri": "s3://ml-artifacts"}}
    config = store_config(exporters.render("zenml", data, zenml_version="0.98.0"))
    assert "client_kwargs" not in config and config["secret"] == "{{ml-local-bucket.aws_secret_access_key}}"


def test_the_clouds_zenml_export_is_unchanged():
    config = store_config(exporters.render("zenml", AWS, zenml_version="0.98.0"))
    assert config == {"path": AWS["bucket"]["uri"]}
    deployer = yaml.safe_load(exporters.render("zenml", AWS, zenml_version="0.98.0").text)["components"]["model_deployer"]
    assert deployer["configuration"]["kubernetes_secret_name"] is None and deployer["configuration"]["secret"] is None


def test_zenml_seldon_deployer_names_the_models_namespace_secret():
    """ZenML gives a Kubernetes secret name to every SeldonDeployment as envSecretRefName (its storage
    initializer's environment) instead of writing one from the artifact store's keys."""
    for data in (IN_CLUSTER, USERS_BUCKET):
        config = yaml.safe_load(exporters.render("zenml", data, zenml_version="0.98.0").text)["components"][
            "model_deployer"]["configuration"]
        assert config["kubernetes_secret_name"] == "model-storage" and config["kubernetes_namespace"] == "seldon"
    # A record without it (deployed before, or the keys were not the program's) leaves ZenML's own behaviour.
    older = {**IN_CLUSTER, "deployer": {k: v for k, v in IN_CLUSTER["deployer"].items() if k != "storage_secret"}}
    config = yaml.safe_load(exporters.render("zenml", older, zenml_version="0.98.0").text)["components"][
        "model_deployer"]["configuration"]
    assert config["kubernetes_secret_name"] is None


def test_a_kserve_stack_says_which_service_account_reads_the_bucket():
    kserve = {**IN_CLUSTER, "deployer": {"flavor": "kserve", "namespace": "kserve-models", "base_url": "http://203.0.113.7",
                                         "storage_secret": "model-storage", "storage_service_account": "model-storage"}}
    rendered = exporters.render("zenml", kserve, zenml_version="0.98.0")
    assert "model_deployer" not in yaml.safe_load(rendered.text)["components"]
    (note,) = [n for n in rendered.notes if "'kserve' model deployer" in n]
    assert "ServiceAccount 'model-storage' of namespace 'kserve-models'" in note
    assert "serviceAccountName: model-storage" in note


def test_the_storage_secret_is_a_public_kubernetes_name():
    assert outputs.public(IN_CLUSTER)["deployer"]["storage_secret"] == "model-storage"
    with pytest.raises(outputs.OutputsError, match="'deployer.storage_secret'.*Kubernetes object name"):
        outputs.validate({**IN_CLUSTER, "deployer": {**IN_CLUSTER["deployer"], "storage_secret": "Model Storage"}})


def read_dotenv(text: str, tmp_path) -> dict:
    path = tmp_path / "stack.env"
    path.write_text(text)
    return dict(dotenv.dotenv_values(path))


def test_dotenv_points_this_machine_at_the_port_forward_and_keeps_the_keys_out(tmp_path):
    rendered = exporters.render("dotenv", IN_CLUSTER, kubeconfig_path="/k/ml-local.yaml")
    values = read_dotenv(rendered.text, tmp_path)
    assert values["AWS_ENDPOINT_URL_S3"] == values["MLFLOW_S3_ENDPOINT_URL"] == "http://localhost:8333"
    assert "kubectl --context k3d-ml -n objectstore port-forward svc/objectstore 8333:8333" in rendered.text
    assert "AWS_ACCESS_KEY_ID" not in values and ACCESS not in rendered.text and SECRET not in rendered.text
    assert not rendered.contains_secrets and "--show-secrets" in rendered.text
    assert values["MLFLOW_TRACKING_URI"] == "https://203.0.113.7:5000" and values["KUBE_CONTEXT"] == "k3d-ml"


def test_dotenv_with_show_secrets_has_the_keys(tmp_path):
    rendered = exporters.render("dotenv", IN_CLUSTER, show_secrets=True, kubeconfig_path="/k/ml-local.yaml")
    values = read_dotenv(rendered.text, tmp_path)
    assert (values["AWS_ACCESS_KEY_ID"], values["AWS_SECRET_ACCESS_KEY"]) == (ACCESS, SECRET)
    assert rendered.contains_secrets


def test_dotenv_of_the_users_bucket_uses_its_endpoint_and_says_the_keys_are_theirs(tmp_path):
    rendered = exporters.render("dotenv", USERS_BUCKET, show_secrets=True, kubeconfig_path="/k/ml-local.yaml")
    values = read_dotenv(rendered.text, tmp_path)
    assert values["AWS_ENDPOINT_URL_S3"] == "https://minio.corp.example" and "AWS_ACCESS_KEY_ID" not in values
    assert "--bucket-secret" in rendered.text and "port-forward" not in rendered.text


@pytest.mark.parametrize("endpoint,expected", [
    (STORE, ("kubectl --context k3d-ml -n objectstore port-forward svc/objectstore 8333:8333", "http://localhost:8333")),
    ("http://minio.tools.svc:9000", ("kubectl --context k3d-ml -n tools port-forward svc/minio 9000:9000",
                                     "http://localhost:9000")),
    ("https://minio.corp.example", None),
    ("http://a.b.c.svc.cluster.local:8333", None),  # not <service>.<namespace>: no guess
])
def test_port_forward_only_for_a_service_in_the_cluster(endpoint, expected):
    found = bucket_keys.port_forward({**IN_CLUSTER, "bucket": {**IN_CLUSTER["bucket"], "endpoint": endpoint}})
    assert (found and (found.command, found.local_url)) == expected or (found is None and expected is None)


def test_kubeconfig_says_when_the_users_context_embeds_credentials():
    embedded = KUBECONFIG.replace("user: {}", "user: {client-certificate-data: Q0VSVA==, client-key-data: S0VZ}")
    rendered = exporters.render("kubeconfig", {**IN_CLUSTER, "cluster": {**IN_CLUSTER["cluster"], "kubeconfig": embedded}})
    assert rendered.contains_secrets  # written 0600
    (note,) = rendered.notes
    assert "'k3d-ml'" in note and "client-key-data" in note and "0600" in note
    token = KUBECONFIG.replace("user: {}", "user: {token: abc}")
    (note,) = exporters.render("kubeconfig", {**IN_CLUSTER, "cluster": {**IN_CLUSTER["cluster"], "kubeconfig": token}}).notes
    assert "token" in note
    (plain,) = exporters.render("kubeconfig", IN_CLUSTER).notes
    assert "no credential copied" in plain
    assert exporters.render("kubeconfig", AWS).notes == []  # a cloud's kubeconfig is ours, with exec auth


# ---------------------------------------------------------------------------
# Through the CLI: what reaches files and the terminal

def run(*args: str):
    return CliRunner().invoke(cli.app, list(args), catch_exceptions=False)


@pytest.fixture
def deployed(home, engine, tmp_path, monkeypatch):
    """A kubernetes stack deployed through the FakeEngine, with a kubeconfig whose context embeds a token."""
    kubeconfig = tmp_path / "kube" / "config"
    kubeconfig.parent.mkdir()
    kubeconfig.write_text(KUBECONFIG.replace("user: {}", "user: {token: laptop-token}"))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    result = run("deploy", "kubernetes", "--context", "k3d-ml", "--name", "ml-local",
                 "--registry", "registry.localhost:5000/ml", "--yes")
    assert result.exit_code == 0, result.stderr
    return next(iter(engine.plans.values())).raw_outputs


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_outputs_mask_the_keys_and_show_them_when_asked(deployed):
    keys = (deployed["bucket"]["access_key_id"], deployed["bucket"]["secret_access_key"])
    masked = run("outputs", "ml-local", "--output", "json")
    assert masked.exit_code == 0 and not any(k in masked.stdout for k in keys)
    assert json.loads(masked.stdout)["bucket"]["endpoint"] == STORE
    shown = json.loads(run("outputs", "ml-local", "--show-secrets", "--output", "json").stdout)
    assert (shown["bucket"]["access_key_id"], shown["bucket"]["secret_access_key"]) == keys


def test_exported_files_hold_keys_only_when_asked_and_then_are_0600(deployed, tmp_path):
    keys = (deployed["bucket"]["access_key_id"], deployed["bucket"]["secret_access_key"])
    plain, shown = tmp_path / "stack.yaml", tmp_path / "stack-secrets.yaml"
    result = run("export", "ml-local", "--format", "zenml", "--file", str(plain))
    assert result.exit_code == 0 and mode(plain) == 0o644 and not any(k in plain.read_text() for k in keys)
    assert "zenml secret create ml-local-bucket" in result.stderr and not any(k in result.stderr for k in keys)
    assert run("export", "ml-local", "--format", "zenml", "--show-secrets", "--file", str(shown)).exit_code == 0
    assert mode(shown) == 0o600 and all(k in shown.read_text() for k in keys)

    env_file = tmp_path / "ml-local.env"
    assert run("export", "ml-local", "--format", "dotenv", "--file", str(env_file)).exit_code == 0
    assert mode(env_file) == 0o644 and not any(k in env_file.read_text() for k in keys)
    secret_env = tmp_path / "ml-local-secrets.env"
    assert run("export", "ml-local", "--format", "dotenv", "--show-secrets", "--file", str(secret_env)).exit_code == 0
    assert mode(secret_env) == 0o600 and all(k in secret_env.read_text() for k in keys)


def test_the_kubeconfig_export_is_the_users_context_0600_and_says_it_holds_a_token(deployed, tmp_path):
    path = tmp_path / "kubeconfig.yaml"
    result = run("export", "ml-local", "--format", "kubeconfig", "--file", str(path))
    assert result.exit_code == 0 and mode(path) == 0o600
    config = yaml.safe_load(path.read_text())
    assert [c["name"] for c in config["contexts"]] == ["k3d-ml"] and config["users"][0]["user"] == {"token": "laptop-token"}
    assert "embeds static credentials (token)" in result.stderr


# ---------------------------------------------------------------------------
# The dotenv, used: this machine's boto3 and MLflow's S3 client reach the store with only what it sets

USE_THE_BUCKET = """
import json, os, pathlib, sys, tempfile
import boto3
from mlflow.store.artifact.s3_artifact_repo import S3ArtifactRepository

bucket = os.environ["ARTIFACT_STORE_URI"].removeprefix("s3://")
s3 = boto3.client("s3", region_name="us-east-1")  # no endpoint and no keys here: the environment's
s3.put_object(Bucket=bucket, Key="from-boto3.txt", Body=b"boto3")
path = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
path.write_text("mlflow")
S3ArtifactRepository(os.environ["ARTIFACT_STORE_URI"] + "/mlflow/run-1").log_artifact(str(path))
print(json.dumps({"endpoint": s3.meta.endpoint_url, "key": boto3.Session().get_credentials().access_key}))
"""


def test_boto3_and_mlflow_reach_the_port_forwarded_store_through_the_dotenv(tmp_path):
    """moto stands in for the in-cluster store behind `kubectl port-forward` (on localhost, the Service's port)."""
    import os
    import socket
    import subprocess
    import sys

    import boto3
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        # A bucket of this test's own: an in-process moto shares its buckets with every other one in the process.
        bucket = f"ml-local-artifacts-{port}"
        data = {**IN_CLUSTER, "bucket": {**IN_CLUSTER["bucket"], "name": bucket, "uri": f"s3://{bucket}",
                                         "endpoint": f"http://objectstore.objectstore.svc.cluster.local:{port}"}}
        store = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                             aws_access_key_id=ACCESS, aws_secret_access_key=SECRET)
        store.create_bucket(Bucket=bucket)  # the bucket Job's part
        env_file = tmp_path / "ml-local.env"
        env_file.write_text(exporters.render("dotenv", data, show_secrets=True, kubeconfig_path="/k/ml-local.yaml").text)
        script = tmp_path / "use.py"
        script.write_text(USE_THE_BUCKET)
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MLFLOW_"))}
        clean["AWS_CONFIG_FILE"] = clean["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")
        proc = subprocess.run(["/bin/sh", "-c", f'. "{env_file}" && exec "$0" "$@"', sys.executable, str(script)],
                              env=clean, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-3000:]
        used = json.loads(proc.stdout.strip().splitlines()[-1])
        assert used == {"endpoint": f"http://localhost:{port}", "key": ACCESS}
        keys = {o["Key"] for o in store.list_objects_v2(Bucket=bucket)["Contents"]}
        assert keys == {"from-boto3.txt", "mlflow/run-1/notes.txt"}
    finally:
        server.stop()
