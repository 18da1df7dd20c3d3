"""Global names no one else holds: two users, one cloud, the same default stack.

Each user has a registry of their own (RECIPE_HOME) and deploys to an account of their
own; the FakeEngines share one `World`, which refuses a global name (S3/GCS bucket,
storage account, registry, key vault) another account holds, as the real clouds do.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from provisioner import cli

from tests.support.fakes import FakeEngine, World

DEPLOY = {
    "aws": ["aws", "--region", "us-east-1"],
    "gcp": ["gcp", "--project", "demo-project", "--region", "us-central1"],
    "azure": ["azure", "--region", "westeurope"],
}
GLOBAL = {  # the global resource of each cloud, and the input that holds its name
    "aws": ("aws:s3/bucket:Bucket", "bucket"),
    "gcp": ("gcp:storage/bucket:Bucket", "name"),
    "azure": ("azure-native:storage:StorageAccount", "accountName"),
}


class User:
    def __init__(self, home, engine: FakeEngine, monkeypatch):
        self.home, self.engine, self.monkeypatch = home, engine, monkeypatch

    def run(self, *args: str):
        self.monkeypatch.setenv("RECIPE_HOME", str(self.home))
        self.monkeypatch.setattr(cli.context, "make_engine", lambda: self.engine)
        return CliRunner().invoke(cli.app, list(args), catch_exceptions=False)

    def global_name(self, provider: str) -> str:
        type_, field = GLOBAL[provider]
        (plan,) = self.engine.plans.values()
        return plan.one(type_).inputs[field]


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def users(tmp_path, monkeypatch, world):
    def make(name: str, account: str, engine: FakeEngine | None = None) -> User:
        return User(tmp_path / name, engine or FakeEngine(account=account, world=world), monkeypatch)

    return make


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure"])
def test_two_users_deploying_the_default_stack_get_different_global_names(users, provider):
    alice, bob = users("alice", "111111111111"), users("bob", "222222222222")
    assert alice.run("deploy", *DEPLOY[provider], "--yes").exit_code == 0
    result = bob.run("deploy", *DEPLOY[provider], "--yes")
    assert result.exit_code == 0, result.output
    assert alice.global_name(provider) != bob.global_name(provider)
    assert "xxxxxx" not in alice.global_name(provider)


@pytest.mark.parametrize("provider", ["aws", "azure"])
def test_the_mock_cloud_refuses_a_name_another_account_holds(users, provider):
    # What every user got before: the same suffix for the same name and region.
    from recipes import naming

    region = DEPLOY[provider][DEPLOY[provider].index("--region") + 1]
    legacy = naming.legacy_suffix(provider, "ml-dev", region)
    alice, bob = users("alice", "111111111111"), users("bob", "222222222222")
    assert alice.run("deploy", *DEPLOY[provider], "--suffix", legacy, "--yes").exit_code == 0
    result = bob.run("deploy", *DEPLOY[provider], "--suffix", legacy, "--yes", "--output", "json")
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]["message"]
    # Whichever global name the cloud meets first (Azure: the storage account or the registry).
    assert any(word in error for word in ("BucketAlreadyExists", "StorageAccountAlreadyTaken", "AlreadyInUse")), error


def test_a_redeploy_and_a_destroy_find_the_same_names(users):
    alice = users("alice", "111111111111")
    assert alice.run("deploy", *DEPLOY["aws"], "--yes").exit_code == 0
    first = alice.global_name("aws")
    assert alice.run("deploy", *DEPLOY["aws"], "--yes").exit_code == 0
    assert alice.global_name("aws") == first
    assert alice.run("destroy", "ml-dev", "--yes").exit_code == 0
    # The kept bucket is adopted on the next deploy, under the same name.
    assert alice.run("deploy", *DEPLOY["aws"], "--yes").exit_code == 0
    assert alice.global_name("aws") == first


def test_a_teammate_on_the_same_backend_gets_the_stacks_names_from_its_config(users):
    alice = users("alice", "111111111111")
    assert alice.run("deploy", *DEPLOY["aws"], "--backend", "s3://team-state", "--yes").exit_code == 0
    first = alice.global_name("aws")
    # Same backend and account (the same engine), but no registry record of hers.
    carol = users("carol", "111111111111", engine=alice.engine)
    result = carol.run("deploy", *DEPLOY["aws"], "--backend", "s3://team-state", "--yes")
    assert result.exit_code == 0, result.output
    assert carol.global_name("aws") == first
    assert alice.engine.lookups == ["ml-dev", "ml-dev"]


def test_a_suffix_that_would_strand_the_stacks_data_is_refused(users):
    alice = users("alice", "111111111111")
    assert alice.run("deploy", *DEPLOY["aws"], "--yes").exit_code == 0
    result = alice.run("deploy", *DEPLOY["aws"], "--suffix", "abcd12", "--yes")
    assert result.exit_code == 1
    assert "would create new buckets" in result.output and "drop --suffix" in result.output


def test_plan_shows_the_placeholder_then_the_stacks_own_names(users):
    alice = users("alice", "111111111111")
    planned = alice.run("plan", *DEPLOY["aws"], "--output", "json")
    doc = json.loads(planned.stdout)
    bucket = next(r for r in doc["resources"] if r["type"] == "aws:s3/bucket:Bucket")
    assert bucket["inputs"]["bucket"] == "ml-dev-artifacts-xxxxxx" and doc["suffix"] is None
    table = alice.run("plan", *DEPLOY["aws"])
    assert "`xxxxxx` stands for them here" in table.stderr
    assert alice.run("deploy", *DEPLOY["aws"], "--yes").exit_code == 0
    doc = json.loads(alice.run("plan", *DEPLOY["aws"], "--output", "json").stdout)
    bucket = next(r for r in doc["resources"] if r["type"] == "aws:s3/bucket:Bucket")
    assert bucket["inputs"]["bucket"] == alice.global_name("aws") == f"ml-dev-artifacts-{doc['suffix']}"
