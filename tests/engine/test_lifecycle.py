"""A stack's whole life on every cloud, under the model of Pulumi's rules (tests/support/pulumi_rules.py).

The sequences are the ones `recipe` runs (provisioner.engine.teardown, provisioner.engine.run_history),
on the real program's resource graph; the model refuses what Pulumi refuses and its
cloud refuses a name that exists. So each test here would fail on the flows that real
Pulumi rejects (see test_pulumi_rules.py for the old `--delete-data` flow failing)."""

from __future__ import annotations

from typing import Any

import pytest

from provisioner.engine import run_history

from provisioner.engine import teardown
from recipes.spec import Layer, StackSpec, load_spec

from tests.support.pulumi_rules import RulesBackend, RulesStack

FLAGS: dict[str, dict[str, Any]] = {
    "aws": {"provider": "aws", "region": "eu-west-1", "name": "ml-dev", "suffix": "abc123"},
    "gcp": {"provider": "gcp", "region": "us-central1", "project": "demo-project", "name": "ml-dev", "suffix": "abc123"},
    "azure": {"provider": "azure", "region": "westeurope", "name": "ml-dev", "suffix": "abc123"},
}
DATA = {  # the data resources a user must not lose, per cloud
    "aws": ("aws:s3/bucket:Bucket", "aws:ecr/repository:Repository"),
    "gcp": ("gcp:storage/bucket:Bucket", "gcp:artifactregistry/repository:Repository"),
    "azure": ("azure-native:storage:StorageAccount", "azure-native:containerregistry:Registry"),
}
CLUSTER = {"aws": "aws:eks/cluster:Cluster", "gcp": "gcp:container/cluster:Cluster",
           "azure": "azure-native:containerservice:ManagedCluster"}
# What a cloud never deletes, whatever the user asks (GCP key rings): retained even by --delete-data.
UNDELETABLE = {"gcp:kms/keyRing:KeyRing"}
PROVIDERS = sorted(FLAGS)


def spec_for(provider: str, **flags: Any) -> StackSpec:
    return load_spec(Layer("flags", {**FLAGS[provider], **flags}))


def quiet(event) -> None:
    pass


def physical(stack: RulesStack, types: tuple[str, ...]) -> list[tuple[str, str]]:
    return sorted((p.type, p.id) for t in types for p in stack.backend.cloud.physical_resources(t))


def left_in_cloud(stack: RulesStack) -> list[str]:
    return sorted(p.type for p in stack.backend.cloud.physical_resources() if p.type not in UNDELETABLE)


@pytest.fixture
def deployed():
    def make(provider: str, **flags: Any) -> tuple[RulesStack, StackSpec]:
        spec = spec_for(provider, **flags)
        stack = RulesBackend().stack(spec.name)
        stack.up(spec, quiet)
        return stack, spec
    return make


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("kms", [False, True], ids=["", "kms"])
def test_deploy_destroy_redeploy_destroy_delete_data(deployed, provider, kms):
    stack, spec = deployed(provider, kms=kms)
    data = physical(stack, DATA[provider])
    assert len(data) == 2

    # A plain destroy: the cluster goes, the data stays, in the cloud and in the state.
    result = teardown.destroy(stack, spec, quiet)
    assert not stack.backend.cloud.physical_resources(CLUSTER[provider])
    assert physical(stack, DATA[provider]) == data
    assert {r.type for r in result.retained if r.primary} >= set(DATA[provider])
    # What stays in the state is exactly the data and what it needs (parents, providers, dependencies).
    assert set(stack.urns()) == teardown.kept_urns(stack.deployment())

    # A second plain destroy has nothing to do.
    assert teardown.destroy(stack, spec, quiet).changes.counts.get("delete", 0) == 0

    # A redeploy adopts the kept data: the same bucket and registry, not new ones (their names are taken).
    stack.up(spec, quiet)
    assert physical(stack, DATA[provider]) == data
    assert stack.backend.cloud.physical_resources(CLUSTER[provider])

    teardown.destroy(stack, spec, quiet)
    result = teardown.destroy(stack, spec, quiet, delete_data=True)
    assert stack.urns() == [] and not stack.state.pending
    assert left_in_cloud(stack) == []
    assert {r.type for r in result.retained} <= UNDELETABLE


@pytest.mark.parametrize("provider", PROVIDERS)
def test_destroy_delete_data_of_a_live_stack(deployed, provider):
    stack, spec = deployed(provider, kms=True)
    teardown.destroy(stack, spec, quiet, delete_data=True)
    assert stack.urns() == [] and left_in_cloud(stack) == []


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("mode", ["graceful", "hard"])
def test_an_interrupted_destroy_is_finished_by_the_next(deployed, provider, mode):
    stack, spec = deployed(provider)
    data = physical(stack, DATA[provider])
    backend = stack.backend
    backend.interrupt_at, backend.interrupt_mode = "cluster", mode  # while the cluster is being deleted
    with pytest.raises(KeyboardInterrupt):
        teardown.destroy(stack, spec, quiet)
    backend.interrupt_at = None
    if mode == "hard":
        assert stack.locked
        stack.unlock()  # `recipe repair --unlock`
    teardown.destroy(stack, spec, quiet)
    assert not backend.cloud.physical_resources(CLUSTER[provider])
    assert physical(stack, DATA[provider]) == data
    teardown.destroy(stack, spec, quiet, delete_data=True)
    assert stack.urns() == [] and left_in_cloud(stack) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_interrupted_delete_data_is_finished_by_the_next(deployed, provider):
    stack, spec = deployed(provider)
    teardown.destroy(stack, spec, quiet)
    # Stopped while the bucket is being deleted: released already (unprotected), half gone.
    stack.backend.interrupt_at = {"aws": "bucket", "gcp": "bucket", "azure": "bucket"}[provider]
    with pytest.raises(KeyboardInterrupt):
        teardown.destroy(stack, spec, quiet, delete_data=True)
    stack.backend.interrupt_at = None
    teardown.destroy(stack, spec, quiet, delete_data=True)
    assert stack.urns() == [] and left_in_cloud(stack) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_stack_deployed_before_its_data_was_protected(deployed, provider):
    """Old states hold the data retained but unprotected: a plain destroy must still keep it in
    the state (else a redeploy fails on its names), and --delete-data must still delete it."""
    stack, spec = deployed(provider)
    for r in stack.state.resources:
        r.protect = False  # as an earlier version recorded them
    data = physical(stack, DATA[provider])
    teardown.destroy(stack, spec, quiet)
    assert physical(stack, DATA[provider]) == data
    assert {r.type for r in stack.state.resources} >= set(DATA[provider])
    stack.up(spec, quiet)  # the redeploy adopts them (and protects them from now on)
    assert all(r.protect for r in stack.state.resources if r.type in DATA[provider])
    teardown.destroy(stack, spec, quiet, delete_data=True)
    assert stack.urns() == [] and left_in_cloud(stack) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_protected_data_resource_refuses_a_plain_pulumi_destroy(deployed, provider):
    """Someone running `pulumi destroy` by hand on the stack cannot delete the data by accident."""
    from provisioner.engine import EngineError

    stack, _ = deployed(provider)
    with pytest.raises(EngineError, match="protected"):
        stack.destroy(quiet)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_backup_then_destroy(deployed, provider):
    """The backup is one Job created alone (`up --target`), valid under Pulumi's targeting rules;
    the destroy after it removes it with the rest."""
    stack, spec = deployed(provider)
    assert run_history.backup(stack, spec, quiet, "20261201t061500z") is True
    jobs = [r for r in stack.state.resources if r.type == "kubernetes:batch/v1:Job"]
    assert [j.name for j in jobs] == ["tracker-backup-20261201t061500z"]
    # Only the Job was created: the rest of the state is as it was.
    assert run_history.backup(stack, spec, quiet, "20261201t071500z") is True
    teardown.destroy(stack, spec, quiet)
    assert not [r for r in stack.state.resources if r.type == "kubernetes:batch/v1:Job"]
    assert run_history.backup(stack, spec, quiet, "20261201t081500z") is False  # no tracker left


def test_a_stack_without_a_tracker_has_nothing_to_back_up(deployed):
    stack, spec = deployed("aws", without=["tracker"])
    assert run_history.backup(stack, spec, quiet, "20261201t061500z") is False
