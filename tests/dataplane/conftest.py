"""Fixtures that start the real components the tracker's pods run, and stop them.

Everything listens on 127.0.0.1 on free ports and lives in the test's temp dirs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from recipes.kubernetes import namespaces

from . import harness, images, keyed_s3, pods, tlsproxy


@pytest.fixture(scope="session")
def mlflow_venv() -> Path:
    """MLflow with the image's package set (built once; CI builds it before the tests)."""
    return images.mlflow_image_venv()


@pytest.fixture(scope="session")
def s3_endpoint():
    """An S3 API (moto) on a free port: where the stack's bucket lives in these tests."""
    from moto.server import ThreadedMotoServer

    port = pods.free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def s3_client(endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="testing",
                        region_name="us-east-1")


@pytest.fixture
def start_tracker(tmp_path, mlflow_venv, s3_endpoint):
    """Start the tracker of a spec's revealed plan: PostgreSQL, then MLflow's pod. Stops all at teardown."""
    from provisioner.analysis.plan import run_plan_revealed

    started: list[harness.Tracker] = []

    def start(spec, *, server: bool = True, users_bucket: keyed_s3.Identity | None = None) -> harness.Tracker:
        """`users_bucket`: with --bucket (the kubernetes provider), the key pair and bucket the user's S3 service
        knows (the program copies the pods' keys from the user's --bucket-secret, as the mock cloud holds it)."""
        plan = run_plan_revealed(spec)
        root = tmp_path / f"tracker-{len(started)}"
        if spec.provider == "kubernetes":
            tracker = kubernetes_tracker(plan, root, mlflow_venv, users_bucket)
        else:
            bucket = (plan.raw_outputs.get("bucket") or {}).get("name")
            if spec.provider == "aws" and bucket:
                client = s3_client(s3_endpoint)
                if bucket not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
                    client.create_bucket(Bucket=bucket)
            tracker = harness.Tracker(plan, root, mlflow_venv, s3_endpoint)
        started.append(tracker)
        tracker.start_database()
        if server:
            tracker.start_server()
        return tracker

    yield start
    for tracker in started:
        tracker.stop()


def kubernetes_tracker(plan, root: Path, venv: Path, users_bucket: keyed_s3.Identity | None) -> harness.Tracker:
    """The `kubernetes` provider: its bucket in a moto that checks keys (keyed_s3.py), the in-cluster store's
    (made from the plan, its bucket created by the plan's Job) or the user's (--bucket: the pods hold what the
    program copied from the user's Secret; the S3 service knows `users_bucket`'s pair)."""
    spec = plan.spec
    objects = pods.ClusterObjects(plan)
    if spec.bucket:
        assert users_bucket is not None, "--bucket: say which keys and bucket the user's S3 service has"
        store, dns = keyed_s3.users_bucket(spec.bucket_endpoint, users_bucket, root / "users-s3")
        return harness.Tracker(plan, root, venv, store.endpoint, bucket_dns=dns, objects=objects, store=store)
    store, hosts = keyed_s3.in_cluster_store(objects, namespaces.OBJECTSTORE_NAMESPACE, root / "objectstore")
    return harness.Tracker(plan, root, venv, store.endpoint, bucket_hosts=hosts, objects=objects, store=store)


@pytest.fixture
def front_door(tmp_path, start_tracker):
    """Put the gateway's stand-in in front of a started tracker: TLS on 127.0.0.1 (a free port) with a
    certificate for that address, signed by a CA made from the plan's own inputs (see tlsproxy.py).
    Stopped at teardown, before the tracker (this fixture depends on start_tracker's)."""
    started: list[tlsproxy.TlsProxy] = []

    def start(tracker: harness.Tracker) -> tlsproxy.TlsProxy:
        key_inputs, ca_inputs, certificate = tlsproxy.plan_inputs(tracker.plan)
        ca = tlsproxy.make_ca(key_inputs, ca_inputs)
        proxy = tlsproxy.TlsProxy(ca, tlsproxy.make_server(ca, certificate), ("127.0.0.1", tracker.port),
                                  tmp_path / f"front-door-{len(started)}")
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()
