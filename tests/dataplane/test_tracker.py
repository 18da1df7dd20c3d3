"""The tracker proven with the real thing: MLflow 3.15.1 (the image's package set), PostgreSQL 16
and an S3 API (moto), running the configuration the program renders, used the way a user would.

The pods' commands, environment, Secrets and ConfigMaps come from the program's plan
(`tests/dataplane/harness.py` says exactly what it emulates and what it cannot). Users reach
MLflow through the front door: a TLS proxy stands in for the gateway, with a certificate for
127.0.0.1 from a CA made as the program makes the stack's (`tlsproxy.py`).
"""

from __future__ import annotations

import json
import os
import re
import ssl
import subprocess
import sys
import tempfile
import textwrap
import urllib.request
from pathlib import Path

import dotenv
import pytest
import yaml
from typer.testing import CliRunner

from provisioner import cli
from recipes.kubernetes import namespaces
from recipes.kubernetes.mlflow_config import WORKERS

from ..conftest import spec_for
from . import harness, pods, tlsproxy
from .conftest import s3_client

ADMIN = "admin"
EXPERIMENTS = "/api/2.0/mlflow/experiments/search?max_results=1"
# MLflow's built-in default admin password: never valid on our stacks.
MLFLOW_DEFAULT_PASSWORD = "password1234"

LOG_A_RUN = textwrap.dedent("""
    import json, os, pathlib, sys, tempfile
    import mlflow
    assert os.environ["MLFLOW_TRACKING_URI"].startswith("https://"), os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_experiment(sys.argv[1])
    with mlflow.start_run() as run:
        mlflow.log_param("learning_rate", "0.01")
        mlflow.log_metric("accuracy", 0.93)
        path = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
        path.write_text("trained on the stack")
        mlflow.log_artifact(str(path))
    print(json.dumps({"run_id": run.info.run_id, "tracking_uri": mlflow.get_tracking_uri()}))
""")

READ_A_RUN = textwrap.dedent("""
    import json, sys, tempfile, pathlib
    from mlflow.tracking import MlflowClient
    client = MlflowClient()
    run = client.get_run(sys.argv[1])
    local = client.download_artifacts(sys.argv[1], "notes.txt", tempfile.mkdtemp())
    print(json.dumps({"params": run.data.params, "metrics": run.data.metrics,
                      "artifact": pathlib.Path(local).read_text(), "artifact_uri": run.info.artifact_uri}))
""")


def cli_run(*args: str):
    result = CliRunner().invoke(cli.app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def register(tracker: harness.Tracker, tmp_path: Path, door: tlsproxy.TlsProxy, name: str = "ml-dev") -> None:
    """`recipe register` with the stack's outputs, its tracker at the front door's address and the
    CA that door's certificate comes from (one gateway, one CA: the deployer's too)."""
    outputs = json.loads(json.dumps(tracker.plan.raw_outputs))
    assert outputs["tracker"]["ca_certificate"]  # the program exports its CA: here, the door's stands for it
    outputs["tracker"].update(uri=door.url, ca_certificate=door.ca_pem)
    outputs["deployer"]["ca_certificate"] = door.ca_pem
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    cli_run("register", name, "--outputs", str(path))


# Variables that would make a client trust a CA without the export's help.
TRUST_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR", "RECIPE_CA_CERT")


def user_env() -> dict[str, str]:
    """A user's shell: no MLflow variables of ours, and no CA, leak in from the test process."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AWS_")) and k not in TRUST_VARIABLES}


def python_process(script: str, *args: str, env: dict[str, str], shell_prefix: str | None = None) -> subprocess.CompletedProcess:
    # A script file, not -c: ZenML needs its main module to have a file.
    with tempfile.NamedTemporaryFile("w", suffix=".py", prefix="recipe-dataplane-", delete=False) as f:
        f.write(script)
    argv = [sys.executable, f.name, *args]
    if shell_prefix is not None:
        argv = ["/bin/sh", "-c", f'{shell_prefix} && exec "$0" "$@"', *argv]
    try:
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=180)
    finally:
        os.unlink(f.name)


def run_python(script: str, *args: str, env: dict[str, str], shell_prefix: str | None = None) -> dict:
    proc = python_process(script, *args, env=env, shell_prefix=shell_prefix)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def password(tracker: harness.Tracker) -> str:
    return tracker.plan.raw_outputs["tracker"]["password"]


# ---------------------------------------------------------------------------


def exported_dotenv(tracker: harness.Tracker, door: tlsproxy.TlsProxy, tmp_path: Path) -> Path:
    register(tracker, tmp_path, door)
    env_file = tmp_path / "ml-dev.env"
    cli_run("export", "ml-dev", "--format", "dotenv", "--show-secrets", "--output-file", str(env_file))
    return env_file


def test_a_user_logs_a_run_through_the_dotenv_export(start_tracker, front_door, home, tmp_path, s3_endpoint):
    tracker = start_tracker(spec_for("aws"))
    door = front_door(tracker)
    env_file = exported_dotenv(tracker, door, tmp_path)
    assert Path(dotenv.dotenv_values(env_file)["MLFLOW_TRACKING_SERVER_CERT_PATH"]).read_text() == door.ca_pem

    # A plain `. file` in sh, then MLflow in a child process: what README tells users to do.
    env = user_env()
    logged = run_python(LOG_A_RUN, "dotenv-check", env=env, shell_prefix=f". {env_file}")
    assert logged["tracking_uri"] == door.url
    # The server proxies artifacts: the client needs no bucket credentials, only MLflow's.
    read = run_python(READ_A_RUN, logged["run_id"], env=env, shell_prefix=f". {env_file}")
    assert read["params"] == {"learning_rate": "0.01"} and read["metrics"] == {"accuracy": 0.93}
    assert read["artifact"] == "trained on the stack"

    # The artifact is an object in the stack's bucket, under MLflow's prefix.
    bucket = tracker.plan.raw_outputs["bucket"]["name"]
    keys = [o["Key"] for o in s3_client(s3_endpoint).list_objects_v2(Bucket=bucket, Prefix="mlflow/").get("Contents", [])]
    assert any(k.endswith(f"/{logged['run_id']}/artifacts/notes.txt") for k in keys), keys


def test_without_the_stack_ca_the_client_refuses_the_front_door(start_tracker, front_door, home, tmp_path):
    """TLS is real: the exported CA is what makes the client trust the door, and MLflow's own
    variable is enough (the pipeline pods have only that one)."""
    tracker = start_tracker(spec_for("aws"))
    door = front_door(tracker)
    env_file = exported_dotenv(tracker, door, tmp_path)
    env = user_env()
    only_mlflows = run_python(LOG_A_RUN, "mlflow-variable", env=env, shell_prefix=f". {env_file} && unset REQUESTS_CA_BUNDLE")
    assert only_mlflows["tracking_uri"] == door.url

    refused_before = door.handshakes_failed
    no_retries = {**env, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}
    proc = python_process(LOG_A_RUN, "no-ca", env=no_retries,
                          shell_prefix=f". {env_file} && unset REQUESTS_CA_BUNDLE MLFLOW_TRACKING_SERVER_CERT_PATH")
    assert proc.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in proc.stderr, proc.stderr[-3000:]
    assert door.handshakes_failed > refused_before  # the client hung up on the certificate

    # Python 3.13's strict verification (urllib3 sets it there too) accepts the chain, with the exported file.
    strict = ssl.create_default_context(cafile=dotenv.dotenv_values(env_file)["RECIPE_CA_CERT"])
    strict.verify_flags |= ssl.VERIFY_X509_STRICT
    with urllib.request.urlopen(door.url + "/health", context=strict, timeout=10) as response:
        assert response.status == 200


def test_pipeline_pods_reach_the_tracker_through_the_ca_the_zenml_export_mounts(start_tracker, front_door, home, tmp_path):
    """The ZenML stack's pod settings, applied as its orchestrator applies them (volumes to the pod,
    mounts and env to the container) to the ConfigMap the program creates: MLflow's variable
    names a file holding the stack CA, and a step's MLflow client logs through the door with it."""
    tracker = start_tracker(spec_for("aws"))
    door = front_door(tracker)
    register(tracker, tmp_path, door)
    stack_file = tmp_path / "stack.yaml"
    cli_run("export", "ml-dev", "--format", "zenml", "--output-file", str(stack_file))
    settings = yaml.safe_load(stack_file.read_text())["components"]["orchestrator"]["configuration"]["pod_settings"]
    namespace = namespaces.PIPELINES_NAMESPACE
    (volume,) = settings["volumes"]
    configmap = tracker.objects.get("ConfigMap", namespace, volume["configMap"]["name"])
    (key,) = configmap["data"]
    # The program puts its CA output in the ConfigMap; the cluster's CA here is the door's.
    assert configmap["data"][key] == tracker.plan.raw_outputs["tracker"]["ca_certificate"]
    configmap["data"][key] = door.ca_pem
    step = {"volumes": settings["volumes"], "containers": [
        {"name": "main", "image": "zenml-step", "env": settings["env"], "volumeMounts": settings["volume_mounts"]}]}
    tracker.objects._objects[("Job", namespace, "zenml-step")] = {"spec": {"template": {"spec": step}}}
    pod = pods.LocalPod(tracker.objects, namespace, "zenml-step", tmp_path / "step", kind="Job")

    # What ZenML's MLflow tracker sets in the step from its own configuration, and nothing about a CA.
    tracking = {"MLFLOW_TRACKING_URI": door.url, "MLFLOW_TRACKING_USERNAME": ADMIN,
                "MLFLOW_TRACKING_PASSWORD": password(tracker), "HOME": str(tmp_path / "step")}
    env = pod.process_env(pod.container("main"), tracking)
    ca_file = Path(env["MLFLOW_TRACKING_SERVER_CERT_PATH"])
    assert ca_file.parent == pod.volumes[volume["name"]] and ca_file.read_text() == door.ca_pem
    assert run_python(LOG_A_RUN, "pipeline-pod", env=env)["tracking_uri"] == door.url


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure"])
def test_the_tracker_refuses_anyone_without_the_stacks_password(start_tracker, provider):
    tracker = start_tracker(spec_for(provider))
    url = tracker.url + EXPERIMENTS
    assert pods.http_status(url, (ADMIN, password(tracker))) == 200
    assert pods.http_status(url) == 401
    assert pods.http_status(url, (ADMIN, password(tracker) + "x")) == 401
    assert pods.http_status(url, (ADMIN, MLFLOW_DEFAULT_PASSWORD)) == 401
    assert pods.http_status(tracker.url + "/health") == 200  # the probes need no credentials


def test_a_rotated_password_takes_effect_on_the_same_database(start_tracker):
    tracker = start_tracker(spec_for("aws"))
    old, new = password(tracker), "Rotated" + "7" * 25
    url = tracker.url + EXPERIMENTS
    assert pods.http_status(url, (ADMIN, old)) == 200
    tracker.stop_server()

    # Pulumi replaces the random password: only the Secret's basic_auth.ini changes.
    secret = tracker.objects.get("Secret", "mlflow", "mlflow-server")["stringData"]
    assert f"admin_password = {old}\n" in secret["basic_auth.ini"]
    secret["basic_auth.ini"] = secret["basic_auth.ini"].replace(f"admin_password = {old}\n", f"admin_password = {new}\n")
    tracker.start_server()  # the same PostgreSQL, its auth database already holding the admin

    url = tracker.url + EXPERIMENTS
    assert pods.http_status(url, (ADMIN, new)) == 200
    assert pods.http_status(url, (ADMIN, old)) == 401


def test_the_server_runs_its_workers_and_no_job_runner_and_nothing_races(start_tracker):
    tracker = start_tracker(spec_for("aws"))
    tree = [pods.cmdline(pid) for pid in pods.tree_pids(tracker.server.pid)]
    workers = [c for c in tree if any("spawn_main" in part for part in c)]
    assert len(workers) == WORKERS == 2, tree
    # MLflow's job runner (huey and its queue workers) would double the pod's memory at idle.
    assert not [c for c in tree if any("huey" in part for part in c)], tree
    # The init container migrated both databases once: no worker raced on an empty database.
    log = (tracker.pod.root / "mlflow.log").read_text()
    assert "UniqueViolation" not in log and "Traceback" not in log, log[-3000:]
    prepare = tracker.pod.run("prepare")  # and it is safe to run again on every start
    assert prepare.returncode == 0, prepare.stderr
    assert "tracking database up to date" in prepare.stdout and "admin 'admin': password set" in prepare.stdout
    assert password(tracker) not in prepare.stdout + prepare.stderr


def test_the_pod_sees_no_service_link_variables(start_tracker):
    tracker = start_tracker(spec_for("aws"), server=False)
    pod = tracker.mlflow_pod()
    env = pod.env(pod.container("mlflow"))
    assert not [k for k in env if re.fullmatch(r"MLFLOW(_DB)?_(PORT|SERVICE_HOST|SERVICE_PORT).*", k)], sorted(env)
    # What the kubelet would have added otherwise (the harness emulates it): a variable
    # MLflow's own --port option reads.
    pod.spec["enableServiceLinks"] = True
    assert pod.env(pod.container("mlflow"))["MLFLOW_PORT"].startswith("tcp://")


@pytest.mark.zenml
def test_zenml_logs_a_run_through_its_mlflow_tracker(start_tracker, front_door, home, tmp_path, monkeypatch):
    tracker = start_tracker(spec_for("aws"))
    door = front_door(tracker)
    env_file = exported_dotenv(tracker, door, tmp_path)
    zenml_config = tmp_path / "zenml"
    zenml_config.mkdir()
    monkeypatch.setenv("ZENML_CONFIG_PATH", str(zenml_config))
    monkeypatch.setenv("ZENML_ANALYTICS_OPT_IN", "false")
    # README's path: the password goes into a ZenML secret, the stack refers to it.
    cli_run("export", "ml-dev", "--format", "zenml", "--register")
    script = textwrap.dedent("""
        import json, sys
        import mlflow
        from zenml.client import Client
        from zenml.enums import StackComponentType
        from zenml.stack import StackComponent
        client = Client()
        model = client.get_stack(sys.argv[1]).components[StackComponentType.EXPERIMENT_TRACKER][0]
        tracker = StackComponent.from_model(model)
        tracker.configure_mlflow()
        mlflow.set_experiment("zenml-check")
        with mlflow.start_run() as run:
            mlflow.log_metric("loss", 0.25)
        got = mlflow.get_run(run.info.run_id)
        print(json.dumps({"uri": mlflow.get_tracking_uri(), "loss": got.data.metrics["loss"]}))
    """)
    env = {**user_env(), "ZENML_CONFIG_PATH": str(zenml_config), "ZENML_ANALYTICS_OPT_IN": "false"}
    # The ZenML client on this machine trusts the stack CA through the dotenv, as the export's note says.
    result = run_python(script, "ml-dev", env=env, shell_prefix=f". {env_file}")
    assert result == {"uri": door.url, "loss": 0.25}


def test_on_azure_mlflow_finds_its_credential_in_the_image_without_installing_anything(start_tracker, tmp_path):
    tracker = start_tracker(spec_for("azure"), server=False)
    pod = tracker.mlflow_pod()
    server = pod.container("mlflow")
    token_file = tmp_path / "token"
    token_file.write_text("projected")
    # What the AKS workload identity webhook adds to the pod.
    webhook = {"AZURE_CLIENT_ID": "client", "AZURE_TENANT_ID": "tenant", "AZURE_FEDERATED_TOKEN_FILE": str(token_file),
               "AZURE_AUTHORITY_HOST": "https://login.microsoftonline.com/"}
    script = textwrap.dedent("""
        import json, sys
        import azure.identity, azure.core, azure.storage.blob
        from mlflow.store.artifact.azure_blob_artifact_repo import AzureBlobArtifactRepository
        repo = AzureBlobArtifactRepository(sys.argv[1])
        print(json.dumps({"identity": azure.identity.__file__, "credential": type(repo.client.credential).__name__,
                          "account": repo.client.account_name}))
    """)
    destination = server["args"][server["args"].index("--artifacts-destination") + 1]
    env = {**pod.process_env(server, webhook)}
    proc = subprocess.run([str(tracker.venv / "bin" / "python"), "-c", script, destination], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    # Our module, from the ConfigMap volume, ahead of the image's packages (which have no azure-identity).
    assert found["identity"] == str(pod.volumes["python"] / "azure" / "identity" / "__init__.py")
    assert found["credential"] == "WorkloadIdentityCredential"
    assert found["account"] == tracker.plan.raw_outputs["bucket"]["account"]
