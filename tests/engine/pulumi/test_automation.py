"""The teardown flows (provisioner.engine.teardown) as Automation API operations: what destroy targets,
keeps and reports, --delete-data, --cluster-gone; refresh clearing or adopting pending creates."""

from __future__ import annotations

import json

from tests.engine.pulumi.deployed_stack import (
    BUCKET_T,
    BUCKET_URN,
    CLUSTER_URN,
    PAB_URN,
    REPO_T,
    REPO_URN,
    ROOT_URN,
    STACK,
    deployed_state,
    resource,
)
from tests.support.pulumi_engine_fake import urn

from provisioner.engine import RetainedResource, teardown


def test_destroy_keeps_and_reports_the_data_resources(engine, cli, target):
    cli.stacks.add(STACK)
    cli.deployment = deployed_state()
    cli.changes = {"delete": 9}

    result = engine.destroy(target, lambda e: None)

    assert cli.called("up") == []
    assert len(cli.called("destroy")) == 1
    assert cli.called("destroy")[0].args[:3] == ["destroy", "--skip-preview", "--yes"]
    # Everything but the data (and its components) is targeted; the data stays in the state.
    cluster_component = urn(STACK, "recipes:aws:Cluster", "cluster")
    assert sorted(cli.called("destroy")[0].values("--target")) == sorted([cluster_component, CLUSTER_URN])
    assert cli.commands().index("stack export") < cli.commands().index("destroy")
    assert result.retained == [
        RetainedResource(BUCKET_T, "bucket", "ml-dev-artifacts-abcd", True),
        RetainedResource("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "bucket-public-access",
                         "ml-dev-artifacts-abcd", False),
        RetainedResource(REPO_T, "registry", "ml-dev-abcd", True),
    ]
    assert result.changes.counts == {"delete": 9}


def test_destroy_with_delete_data_releases_the_data_first(engine, cli, target, monkeypatch):
    """The sequence of provisioner.engine.teardown: the unkept part, then the data released by a
    data-only program targeted at exactly the kept state, then the rest."""
    import recipes

    cli.stacks.add(STACK)
    cli.deployment = deployed_state()

    result = engine.destroy(target, lambda e: None, delete_data=True)

    assert [c for c in cli.commands() if c in ("up", "destroy")] == ["destroy", "up", "destroy"]
    first, final = cli.called("destroy")
    cluster_component = urn(STACK, "recipes:aws:Cluster", "cluster")
    assert sorted(first.values("--target")) == sorted([cluster_component, CLUSTER_URN])
    up = cli.called("up")[0]
    kept = [urn(STACK, "recipes:aws:Bucket", "bucket"), BUCKET_URN, PAB_URN, urn(STACK, "recipes:aws:Registry", "registry"), REPO_URN]
    assert up.values("--target") == sorted(kept)
    assert "--target-dependents" not in up.args
    assert final.values("--target") == []  # everything left goes
    assert result.retained == []

    built = []
    monkeypatch.setattr(recipes, "build", built.append)
    programs = dict(cli.programs)
    programs["up"]()
    assert built[0].delete_data is True
    # Only the data components, so nothing the kept state lacks (the cluster) is declared.
    assert built[0].components == ("bucket", "registry")
    assert built[0].to_mapping() == {**target.spec.to_mapping(), "components": ["bucket", "registry"]}


def test_destroy_with_delete_data_reports_what_the_update_did_not_release(engine, cli, target):
    cli.stacks.add(STACK)
    cli.deployment = deployed_state()
    cli.release_targets = False  # the update leaves retainOnDelete in the state
    result = engine.destroy(target, lambda e: None, delete_data=True)
    assert [r.name for r in result.retained] == ["bucket", "bucket-public-access", "registry"]


def test_destroy_of_an_empty_stack(engine, cli, target):
    cli.stacks.add(STACK)
    cli.deployment = None  # never deployed: no deployment at all
    assert engine.destroy(target, lambda e: None, delete_data=True).retained == []
    cli.deployment = {"manifest": {}}  # deployed once, nothing left
    assert engine.destroy(target, lambda e: None).retained == []
    assert cli.called("up") == [] and cli.called("destroy") == []  # nothing to run


def test_second_plain_destroy_with_only_data_left_does_nothing(engine, cli, target):
    cli.stacks.add(STACK)
    state = deployed_state()
    state["resources"] = [r for r in state["resources"] if "Cluster" not in r["type"]]
    cli.deployment = state
    result = engine.destroy(target, lambda e: None)
    assert cli.called("destroy") == []
    assert [r.name for r in result.retained if r.primary] == ["bucket", "registry"]


def test_delete_data_after_a_plain_destroy_deletes_the_kept_data(engine, cli, target):
    """After a plain destroy the data is still in the state, so --delete-data can release and delete it."""
    cli.stacks.add(STACK)
    state = deployed_state()
    state["resources"] = [r for r in state["resources"] if "Cluster" not in r["type"]]
    cli.deployment = state
    result = engine.destroy(target, lambda e: None, delete_data=True)
    kept = [urn(STACK, "recipes:aws:Bucket", "bucket"), BUCKET_URN, PAB_URN, urn(STACK, "recipes:aws:Registry", "registry"), REPO_URN]
    assert cli.called("up")[0].values("--target") == sorted(kept)
    assert [c for c in cli.commands() if c in ("up", "destroy")] == ["up", "destroy"]  # nothing unkept left first
    assert cli.called("destroy")[0].values("--target") == []  # the whole rest goes
    assert result.retained == []


def test_destroy_drops_an_unreachable_clusters_objects_only_when_told(engine, cli, target):
    cli.stacks.add(STACK)
    cli.deployment = deployed_state()
    engine.destroy(target, lambda e: None)
    assert "PULUMI_K8S_DELETE_UNREACHABLE" not in cli.called("destroy")[-1].env
    cli.deployment = deployed_state()
    engine.destroy(target, lambda e: None, cluster_gone=True)
    assert cli.called("destroy")[-1].env["PULUMI_K8S_DELETE_UNREACHABLE"] == "true"


def test_retained_resources_from_a_deployment():
    assert teardown.retained_resources(None) == []
    assert teardown.retained_resources({"resources": None}) == []
    kept = teardown.retained_resources(deployed_state())
    assert [(r.name, r.primary) for r in kept] == [("bucket", True), ("bucket-public-access", False), ("registry", True)]
    assert json.loads(json.dumps([r.to_json() for r in kept]))[0]["id"] == "ml-dev-artifacts-abcd"


def test_kept_data_brings_its_providers_parents_and_dependencies():
    provider = urn(STACK, "pulumi:providers:aws", "aws")
    api = urn(STACK, "gcp:projects/service:Service", "storage-api")
    state = deployed_state()
    state["resources"].insert(1, resource(provider, "pulumi:providers:aws", parent=ROOT_URN, id_="p1"))
    state["resources"].insert(2, resource(api, "gcp:projects/service:Service", parent=ROOT_URN, id_="storage"))
    bucket = next(r for r in state["resources"] if r["urn"] == BUCKET_URN)
    bucket["provider"] = f"{provider}::p1"
    bucket["dependencies"] = [api]
    keep = teardown.kept_urns(state)
    assert {BUCKET_URN, PAB_URN, REPO_URN, provider, api, urn(STACK, "recipes:aws:Bucket", "bucket")} <= keep
    assert CLUSTER_URN not in keep and ROOT_URN not in keep


def test_refresh_can_clear_pending_creates(engine, cli, target):
    cli.stacks.add(STACK)
    engine.refresh(target, lambda e: None)
    engine.refresh(target, lambda e: None, clear_pending_creates=True)
    first, second = cli.called("refresh")
    assert "--clear-pending-creates" not in first.args and "--clear-pending-creates" in second.args


def test_refresh_adopts_pending_creates_by_their_ids_and_clears_the_rest(engine, cli, target):
    """The SDK has no argument for --import-pending-creates: the same refresh command line,
    with each URN and its id, through the stack's own runner (its --stack, backend, env)."""
    cli.stacks.add(STACK)
    engine.refresh(target, lambda e: None, clear_pending_creates=True,
                   import_pending_creates={CLUSTER_URN: "ml-dev-abcd", BUCKET_URN: "ml-dev-artifacts-abcd"})
    [call] = cli.called("refresh")
    assert call.values("--import-pending-creates") == [CLUSTER_URN, "ml-dev-abcd", BUCKET_URN, "ml-dev-artifacts-abcd"]
    assert "--clear-pending-creates" in call.args and "--yes" in call.args and "--skip-preview" in call.args
    assert call.values("--stack") == [STACK]
