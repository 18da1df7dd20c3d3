"""Seldon's storage initializer, run locally from the plan: `rclone copy <modelUri> /mnt/models` (the image's
entrypoint, Seldon Core 1.17.1's rclone-storage-initializer) with the models namespace's Secret as its environment
(envFrom), against an S3 API (moto) standing in for the bucket. Needs the `rclone` binary (Debian's 1.60; the image
has 1.59.1)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from provisioner.analysis.plan import run_plan_revealed
from recipes import existing
from recipes.cloud import WorkloadIdentity
from recipes.facts import any_cloud as k8s_facts
from recipes.spec import Layer, load_spec

from .conftest import s3_client

pytestmark = pytest.mark.dataplane
MODEL = {"model/MLmodel": b"flavors: {sklearn: {}}\n", "model/model.pkl": b"\x80\x04pickled-model"}


@pytest.fixture(autouse=True)
def no_kubeconfig(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))


def storage_env(values: dict) -> dict[str, str]:
    plan = run_plan_revealed(load_spec(Layer("flags", {"provider": "kubernetes", "name": "ml-local", "context": "k3d-ml",
                                                         "without": ["registry"], **values})))
    (secret,) = [s for s in plan.by_type(k8s_facts.SECRET)
                 if (s.inputs["metadata"]["namespace"], s.inputs["metadata"]["name"]) == ("seldon", "model-storage")]
    return secret.inputs["stringData"]


def initialize(env: dict[str, str], endpoint: str, model_uri: str, target) -> subprocess.CompletedProcess:
    """The init container, with the Service's address (or the user's host) replaced by moto's."""
    if shutil.which("rclone") is None:
        pytest.skip("rclone is not installed (apt-get install rclone)")
    pod_env = {**env, "RCLONE_CONFIG_S3_ENDPOINT": endpoint, "RCLONE_VERBOSE": "1"}
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RCLONE_"))}
    return subprocess.run(["rclone", "copy", model_uri, str(target)], env={**clean, **pod_env, "HOME": str(target.parent)},
                          capture_output=True, text=True, timeout=120)


def upload(endpoint: str, bucket: str) -> None:
    client = s3_client(endpoint)
    client.create_bucket(Bucket=bucket)
    for key, body in MODEL.items():
        client.put_object(Bucket=bucket, Key=f"artifacts/deploy/{key}", Body=body)


def test_the_initializer_downloads_a_model_from_the_in_cluster_store(s3_endpoint, tmp_path):
    env = storage_env({})
    assert env["RCLONE_CONFIG_S3_ENDPOINT"].startswith("http://objectstore.objectstore.svc.cluster.local")
    upload(s3_endpoint, "ml-local-artifacts")
    # ZenML's model URI: the artifact store's s3://bucket/path (remote `s3`, rclone drops the slashes).
    done = initialize(env, s3_endpoint, "s3://ml-local-artifacts/artifacts/deploy/model", tmp_path / "models")
    assert done.returncode == 0, done.stderr[-2000:]
    assert {p.name: p.read_bytes() for p in (tmp_path / "models").iterdir()} == {
        k.split("/")[-1]: v for k, v in MODEL.items()}


def test_the_initializer_downloads_from_a_users_endpoint_with_the_copied_keys(s3_endpoint, tmp_path, monkeypatch):
    real = existing.Recipe.bucket_identity

    def copying(self, *args):  # --bucket-secret read by the program: the user's keys copied into the namespace
        identity = real(self, *args)
        keys = {"AWS_ACCESS_KEY_ID": "AKIAUSERSOWNKEY00000", "AWS_SECRET_ACCESS_KEY": "users-own-secret-key"}
        return WorkloadIdentity(env=identity.env, secrets={"bucket-keys": keys})

    monkeypatch.setattr(existing.Recipe, "bucket_identity", copying)
    env = storage_env({"bucket": "s3://ml-models", "bucket_endpoint": "https://minio.corp.example:9000",
                       "bucket_secret": "ml-keys"})
    upload(s3_endpoint, "ml-models")
    done = initialize(env, s3_endpoint, "s3://ml-models/artifacts/deploy/model", tmp_path / "models")
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["MLmodel", "model.pkl"]
    # The same environment without the keys is refused by the store: they are what got the model.
    unsigned = {k: v for k, v in env.items() if "ACCESS_KEY" not in k}
    refused = initialize(unsigned, s3_endpoint, "s3://ml-models/artifacts/deploy/model", tmp_path / "none")
    assert refused.returncode != 0 and "Forbidden" in refused.stderr  # moto denies anonymous reads of the objects
