"""The `kubernetes` provider's tracker proven with the real thing: MLflow 3.15.1 (the image's package set),
PostgreSQL 16 and an S3 API that checks keys (moto with its IAM enforcement on, keyed_s3.py), running what
the program renders for a cluster we did not create: static keys read from the plan's own Secrets
(secretKeyRef), the bucket reached by the endpoint in the pod's environment.

Nothing is given to the MLflow pod from outside (harness.py says exactly what is emulated): moto knows the
keys of the in-cluster store's own configuration (its identities file, from the plan), the bucket exists
because the plan's Job created it, and the pod's keys are those of the Secret copied into its namespace. A
pod with other keys, or none, is refused by the store, so a Secret that is not wired fails these tests.

This machine reaches the in-cluster store through the `kubectl port-forward` the exports name (localhost:8333)
and, where the ZenML export's note asks for it, an /etc/hosts line for the store's in-cluster name: both are
emulated by resolving those names to moto's address in this machine's Python processes (pods.RESOLVER); the
exported files are used as written.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from urllib.parse import urlsplit

import dotenv
import pytest
import yaml
from botocore.exceptions import ClientError

from provisioner.analysis.mockcloud.kubernetes import bucket_secret_keys
from provisioner.analysis.plan import run_plan_revealed
from provisioner.stacks import bucket_keys
from recipes.kubernetes import namespaces
from recipes.spec import Layer, load_spec

from . import harness, keyed_s3, pods
from .test_tracker import LOG_A_RUN, READ_A_RUN, cli_run, register, run_python, user_env

STACK = "ml-local"
ARTIFACT = "trained on the stack"  # what LOG_A_RUN writes
# --bucket: the user's S3 service (its endpoint outside the cluster), its bucket, and the key pair of the user's
# Secret (what the mock cloud holds in it: the program reads it and copies it where the pods run).
USERS_SECRET = "ml/corp-s3-keys"
HELD = bucket_secret_keys(USERS_SECRET)
USERS = keyed_s3.Identity("corp-ml", HELD["AWS_ACCESS_KEY_ID"], HELD["AWS_SECRET_ACCESS_KEY"], ("corp-ml-artifacts",))
USERS_BUCKET = {"bucket": f"s3://{USERS.buckets[0]}", "bucket_endpoint": "https://minio.corp.example",
                "bucket_secret": USERS_SECRET}


def kubernetes_spec(**values):
    return load_spec(Layer("flags", {"provider": "kubernetes", "name": STACK, "context": "k3d-ml",
                                     "without": ["registry"], **values}))


def pod_keys(tracker: harness.Tracker, namespace: str = namespaces.MLFLOW_NAMESPACE) -> dict[str, str]:
    """The keys the MLflow server's container reads, resolved as the kubelet resolves its secretKeyRefs."""
    pod = tracker.local_pod("Deployment", "mlflow")
    env = pod.env(pod.container("mlflow"))
    return {k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}


def objects_under(client, bucket: str, prefix: str) -> list[str]:
    return [o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def exported_dotenv(tracker: harness.Tracker, door, tmp_path: Path) -> Path:
    """`recipe export --format dotenv --show-secrets` of the registered stack, as written."""
    register(tracker, tmp_path, door, name=STACK)
    env_file = tmp_path / f"{STACK}.env"
    cli_run("export", STACK, "--format", "dotenv", "--show-secrets", "--output-file", str(env_file))
    forward = bucket_keys.port_forward(tracker.plan.raw_outputs)
    values = dotenv.dotenv_values(env_file)
    assert values["AWS_ENDPOINT_URL_S3"] == values["MLFLOW_S3_ENDPOINT_URL"] == forward.local_url == "http://localhost:8333"
    assert forward.command in env_file.read_text()  # the dotenv says which command makes localhost:8333 the store
    return env_file


def this_machine(tracker: harness.Tracker, tmp_path: Path, *, hosts_line: bool) -> dict[str, str]:
    """A user's shell on this machine (no AWS_* or MLFLOW_* of the test process) while the exports'
    `kubectl port-forward svc/objectstore 8333:8333` runs: localhost:8333 reaches the store (moto). With
    `hosts_line`, also the /etc/hosts line the ZenML export's note asks for (the store's in-cluster name on
    127.0.0.1, so through the same forward). Both resolved in this machine's Python processes (pods.RESOLVER)."""
    forward = bucket_keys.port_forward(tracker.plan.raw_outputs)
    port = urlsplit(forward.local_url).port
    local = {f"localhost:{port}": tracker.store.address}
    if hosts_line:
        local[f"{forward.host}:{port}"] = tracker.store.address
    return {**user_env(), **pods.resolver_env(local, tmp_path / "this-machine")}


LIST_THE_BUCKET = textwrap.dedent("""
    import json, os, sys
    import boto3
    # Only what the dotenv set: the endpoint (AWS_ENDPOINT_URL_S3) and the keys, from the environment.
    s3 = boto3.client("s3")
    bucket = os.environ["ARTIFACT_STORE_URI"].removeprefix("s3://")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=sys.argv[1]).get("Contents", [])]
    found = [k for k in keys if k.endswith(sys.argv[2])]
    body = s3.get_object(Bucket=bucket, Key=found[0])["Body"].read().decode() if found else None
    print(json.dumps({"keys": keys, "body": body}))
""")


def test_the_plans_keys_and_only_they_reach_the_in_cluster_stores_bucket(tmp_path):
    """The store (moto) knows the identities of the store's own configuration; the copies in the tracker's
    and the pipelines' namespaces are those keys; the plan's Job created the bucket with them."""
    plan = run_plan_revealed(kubernetes_spec())
    objects = pods.ClusterObjects(plan)
    store, dns = keyed_s3.in_cluster_store(objects, namespaces.OBJECTSTORE_NAMESPACE, tmp_path / "store")
    try:
        (identity,) = store.identities
        bucket = plan.raw_outputs["bucket"]["name"]
        assert identity.buckets == (bucket,)
        assert dns == {f"objectstore.objectstore{suffix}:8333": store.address
                       for suffix in ("", ".svc", ".svc.cluster.local")}
        copies = [objects.data("Secret", ns, name) for ns in (namespaces.MLFLOW_NAMESPACE, namespaces.PIPELINES_NAMESPACE)
                  for name in objects.names("Secret", ns) if "AWS_ACCESS_KEY_ID" in objects.data("Secret", ns, name)]
        assert len(copies) == 2
        for keys in copies:
            client = store.client(keys["AWS_ACCESS_KEY_ID"], keys["AWS_SECRET_ACCESS_KEY"])
            assert client.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200  # the Job made it
        right = store.client(identity.access_key, identity.secret_key)
        right.put_object(Bucket=bucket, Key="mlflow/check.txt", Body=b"ok")
        refused = {
            "InvalidAccessKeyId": store.client("AKIAOTHERSTACK000001", identity.secret_key),
            "SignatureDoesNotMatch": store.client(identity.access_key, identity.secret_key[::-1]),
        }
        for code, client in refused.items():
            with pytest.raises(ClientError, match=code):
                client.put_object(Bucket=bucket, Key="mlflow/refused.txt", Body=b"no")
        with pytest.raises(ClientError, match="AccessDenied"):  # its rights name its bucket alone
            right.create_bucket(Bucket="another-stacks-bucket")
        assert objects_under(right, bucket, "mlflow/") == ["mlflow/check.txt"]
    finally:
        store.stop()


def test_a_user_logs_a_run_through_the_dotenv_export_on_their_own_cluster(start_tracker, front_door, home, tmp_path):
    tracker = start_tracker(kubernetes_spec())
    door = front_door(tracker)
    env_file = exported_dotenv(tracker, door, tmp_path)
    env = this_machine(tracker, tmp_path, hosts_line=True)

    logged = run_python(LOG_A_RUN, "dotenv-check", env=env, shell_prefix=f". {env_file}")
    assert logged["tracking_uri"] == door.url
    # MLflow >= 3.15's server offers URLs it presigns for the store's in-cluster name; the dotenv turns them off
    # (MLFLOW_ENABLE_PROXY_MULTIPART_*), so the artifact comes through the tracker: no presigned request at all.
    read = run_python(READ_A_RUN, logged["run_id"], env=env, shell_prefix=f". {env_file}")
    assert read["params"] == {"learning_rate": "0.01"} and read["artifact"] == ARTIFACT
    presigned = [line for line in tracker.store.log.read_text().splitlines() if "X-Amz-Signature=" in line]
    assert presigned == [], presigned

    # The server stored it with the pod's keys; this machine's boto3 finds it with the dotenv's alone.
    listed = run_python(LIST_THE_BUCKET, "mlflow/", f"/{logged['run_id']}/artifacts/notes.txt", env=env,
                        shell_prefix=f". {env_file}")
    assert listed["body"] == ARTIFACT, listed["keys"]
    keys = pod_keys(tracker)
    client = tracker.store.client(keys["AWS_ACCESS_KEY_ID"], keys["AWS_SECRET_ACCESS_KEY"])
    found = objects_under(client, tracker.plan.raw_outputs["bucket"]["name"], "mlflow/")
    assert [k for k in found if k.endswith(f"/{logged['run_id']}/artifacts/notes.txt")], found


def test_the_dotenv_alone_lets_a_user_read_an_artifact_back(start_tracker, front_door, home, tmp_path):
    """MLflow >= 3.15's server hands its clients URLs signed for the store's in-cluster name (multipart downloads);
    this machine, with only the port-forward the dotenv names and no /etc/hosts line, reads through the tracker
    because the dotenv says so (MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD=false)."""
    tracker = start_tracker(kubernetes_spec())
    door = front_door(tracker)
    env_file = exported_dotenv(tracker, door, tmp_path)
    # Only the port-forward the dotenv names; no retries, so the failure comes at once.
    env = {**this_machine(tracker, tmp_path, hosts_line=False), "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}
    logged = run_python(LOG_A_RUN, "dotenv-alone", env=env, shell_prefix=f". {env_file}")
    read = run_python(READ_A_RUN, logged["run_id"], env=env, shell_prefix=f". {env_file}")
    assert read["artifact"] == ARTIFACT


@pytest.mark.parametrize("secret", ["other keys", "no keys"])
def test_a_tracker_pod_without_the_stores_keys_does_not_start(start_tracker, secret):
    """What fails when the Secret is not wired: the restore init container reads the bucket first."""
    tracker = start_tracker(kubernetes_spec(), server=False)
    pod = tracker.mlflow_pod()
    containers = [*pod.spec["initContainers"], *pod.spec["containers"]]
    if secret == "other keys":  # the copy holds keys the store does not know
        (name,) = {e["valueFrom"]["secretKeyRef"]["name"] for c in containers for e in c.get("env", [])
                   if e["name"] == "AWS_ACCESS_KEY_ID"}
        copy = tracker.objects.get("Secret", namespaces.MLFLOW_NAMESPACE, name)["stringData"]
        copy["AWS_ACCESS_KEY_ID"] = "AKIAOTHERSTACK000001"
    else:  # the containers do not reference it
        for container in containers:
            container["env"] = [e for e in container.get("env", []) if not e["name"].startswith("AWS_")]
    with pytest.raises(RuntimeError, match="InvalidAccessKeyId" if secret == "other keys" else "credentials"):
        tracker.start_server(pod)


THROUGH_ZENML = textwrap.dedent("""
    import json, sys, uuid
    import mlflow
    from zenml.client import Client
    from zenml.enums import StackComponentType
    from zenml.stack import StackComponent
    components = Client().get_stack(sys.argv[1]).components
    # The artifact store as a pipeline's step builds it: ZenML resolves the secret references itself.
    store = StackComponent.from_model(components[StackComponentType.ARTIFACT_STORE][0])
    path = f"{store.path}/zenml-check/{uuid.uuid4().hex}.txt"
    with store.open(path, "w") as f:
        f.write("written through ZenML's s3 artifact store")
    with store.open(path, "r") as f:
        back = f.read()
    kwargs = store._build_filesystem_kwargs()  # what ZenMLS3Filesystem (s3fs) was given
    # And a run with an artifact through its MLflow experiment tracker.
    StackComponent.from_model(components[StackComponentType.EXPERIMENT_TRACKER][0]).configure_mlflow()
    mlflow.set_experiment("zenml-check")
    with mlflow.start_run() as run:
        mlflow.log_text("logged through ZenML's MLflow tracker", "zenml.txt")
    print(json.dumps({"path": path, "read": back, "run_id": run.info.run_id, "key": kwargs["key"],
                      "endpoint_url": kwargs["client_kwargs"].get("endpoint_url")}))
""")


@pytest.mark.zenml
def test_the_zenml_export_reaches_the_same_bucket(start_tracker, front_door, home, tmp_path, monkeypatch):
    """`recipe export --register` (the bucket's keys into ZenML secret <stack>-bucket, the stack imported), then
    ZenML's own s3 artifact store and MLflow tracker, on this machine with the port-forward and /etc/hosts line
    its note asks for: the objects land in the bucket the MLflow pod writes to, readable with the pod's keys."""
    tracker = start_tracker(kubernetes_spec())
    door = front_door(tracker)
    env_file = exported_dotenv(tracker, door, tmp_path)  # this machine trusts the stack CA through it
    outputs = tracker.plan.raw_outputs
    stack_file = tmp_path / "stack.yaml"
    cli_run("export", STACK, "--format", "zenml", "--output-file", str(stack_file))
    secret = bucket_keys.zenml_secret_name(STACK)
    assert yaml.safe_load(stack_file.read_text())["components"]["artifact_store"]["configuration"] == {
        "path": outputs["bucket"]["uri"], "client_kwargs": {"endpoint_url": outputs["bucket"]["endpoint"]},
        "key": "{{" + secret + ".aws_access_key_id}}", "secret": "{{" + secret + ".aws_secret_access_key}}"}

    zenml_config = tmp_path / "zenml"
    zenml_config.mkdir()
    monkeypatch.setenv("ZENML_CONFIG_PATH", str(zenml_config))
    monkeypatch.setenv("ZENML_ANALYTICS_OPT_IN", "false")
    cli_run("export", STACK, "--format", "zenml", "--register")
    env = {**this_machine(tracker, tmp_path, hosts_line=True), "ZENML_CONFIG_PATH": str(zenml_config),
           "ZENML_ANALYTICS_OPT_IN": "false"}
    done = run_python(THROUGH_ZENML, STACK, env=env, shell_prefix=f". {env_file}")

    keys = pod_keys(tracker)
    assert done["key"] == keys["AWS_ACCESS_KEY_ID"] and done["endpoint_url"] == outputs["bucket"]["endpoint"]
    assert done["read"] == "written through ZenML's s3 artifact store"
    client = tracker.store.client(keys["AWS_ACCESS_KEY_ID"], keys["AWS_SECRET_ACCESS_KEY"])
    bucket = outputs["bucket"]["name"]
    written = done["path"].removeprefix(f"s3://{bucket}/")
    assert client.get_object(Bucket=bucket, Key=written)["Body"].read() == b"written through ZenML's s3 artifact store"
    found = objects_under(client, bucket, "mlflow/")
    assert [k for k in found if k.endswith(f"/{done['run_id']}/artifacts/zenml.txt")], found


def test_with_the_users_bucket_the_tracker_uses_the_keys_of_the_users_secret(start_tracker, front_door, home, tmp_path):
    """--bucket, --bucket-endpoint, --bucket-secret NAMESPACE/NAME: the user's S3 service knows only the keys of the
    user's Secret, which the program read and copied into the pod's namespace; the run's artifact lands in the
    user's bucket."""
    tracker = start_tracker(kubernetes_spec(**USERS_BUCKET), users_bucket=USERS)
    assert pod_keys(tracker) == {"AWS_ACCESS_KEY_ID": USERS.access_key, "AWS_SECRET_ACCESS_KEY": USERS.secret_key}
    door = front_door(tracker)
    register(tracker, tmp_path, door, name=STACK)
    env_file = tmp_path / f"{STACK}.env"
    cli_run("export", STACK, "--format", "dotenv", "--show-secrets", "--output-file", str(env_file))
    assert dotenv.dotenv_values(env_file)["AWS_ENDPOINT_URL_S3"] == USERS_BUCKET["bucket_endpoint"]

    env = user_env()
    logged = run_python(LOG_A_RUN, "users-bucket", env=env, shell_prefix=f". {env_file}")
    read = run_python(READ_A_RUN, logged["run_id"], env=env, shell_prefix=f". {env_file}")
    assert read["artifact"] == ARTIFACT
    client = tracker.store.client(USERS.access_key, USERS.secret_key)
    found = objects_under(client, USERS.buckets[0], "mlflow/")
    assert [k for k in found if k.endswith(f"/{logged['run_id']}/artifacts/notes.txt")], found


def test_a_users_secret_with_other_keys_keeps_the_tracker_from_starting(start_tracker):
    # The user's S3 service knows another secret key for that key id than their Secret holds (rotated, say).
    rotated = keyed_s3.Identity(USERS.name, USERS.access_key, USERS.secret_key[::-1], USERS.buckets)
    tracker = start_tracker(kubernetes_spec(**USERS_BUCKET), server=False, users_bucket=rotated)
    with pytest.raises(RuntimeError, match="SignatureDoesNotMatch"):
        tracker.start_server()
