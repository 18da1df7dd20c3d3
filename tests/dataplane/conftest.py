"""Fixtures that start the real components the tracker's pods run, and stop them.

Everything listens on 127.0.0.1 on free ports and lives in the test's temp dirs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from . import harness, images, pods, tlsproxy


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

    def start(spec, *, server: bool = True) -> harness.Tracker:
        plan = run_plan_revealed(spec)
        bucket = (plan.raw_outputs.get("bucket") or {}).get("name")
        if spec.provider == "aws" and bucket:
            client = s3_client(s3_endpoint)
            if bucket not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
                client.create_bucket(Bucket=bucket)
        tracker = harness.Tracker(plan, tmp_path / f"tracker-{len(started)}", mlflow_venv, s3_endpoint)
        started.append(tracker)
        tracker.start_database()
        if server:
            tracker.start_server()
        return tracker

    yield start
    for tracker in started:
        tracker.stop()


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
