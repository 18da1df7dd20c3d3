"""The Pulumi rules model on the REAL program of every cloud: what the teardown flows meet there."""

from __future__ import annotations

from typing import Any

import pytest

from provisioner.engine import EngineError
from recipes.spec import Layer, load_spec

from tests.support.pulumi_rules import STACK_TYPE, RulesBackend, plan_for, untargeted_create
from tests.support.rules_toy_program import Events, killed_while_creating


FLAGS = {"aws": {"region": "eu-west-1"}, "gcp": {"region": "us-central1", "project": "demo-project"},
         "azure": {"region": "westeurope"}}


def real_spec(provider: str):
    return load_spec(Layer("flags", {"provider": provider, "name": "ml-dev", "suffix": "abc123", **FLAGS[provider]}))


def kept(deployment: dict[str, Any]) -> set[str]:
    """What a destroy keeps for the data: protected/retained resources and, transitively, their
    parents, providers and dependencies (provisioner's kept_urns), never the root stack."""
    by_urn = {r["urn"]: r for r in deployment["resources"]}
    todo = [u for u, r in by_urn.items() if r["custom"] and (r["retainOnDelete"] or r["protect"])]
    keep: set[str] = set()
    while todo:
        r = by_urn.get(todo.pop())
        if r is None or r["urn"] in keep or r["type"] == STACK_TYPE:
            continue
        keep.add(r["urn"])
        todo += [*r["dependencies"], *([r["parent"]] if r["parent"] else []),
                 *([r["provider"].rsplit("::", 1)[0]] if r["provider"] else [])]
    return keep


@pytest.fixture(params=sorted(FLAGS))
def after_plain_destroy(request):
    """A real stack deployed, then destroyed but for its data: `destroy --target <the rest>`."""
    spec = real_spec(request.param)
    s = RulesBackend().stack(spec.name)
    s.up(spec, Events())
    keep = kept(s.deployment())
    s.destroy(Events(), target=[u for u in s.urns() if u not in keep])
    assert set(s.urns()) == keep
    return spec, s, keep


def test_old_delete_data_flow_fails_with_an_untargeted_create(after_plain_destroy):
    spec, s, keep = after_plain_destroy
    with pytest.raises(EngineError) as failed:
        s.up(spec.with_changes(delete_data=True), Events(), target=sorted(keep), target_dependents=True)
    assert failed.value.message.startswith("untargeted create: Resource '")
    assert failed.value.message.endswith("which was was not specified in --target list.")


def test_without_target_dependents_the_kubernetes_provider_fails_on_its_cluster(after_plain_destroy):
    spec, s, keep = after_plain_destroy
    with pytest.raises(EngineError) as failed:
        s.up(spec.with_changes(delete_data=True), Events(), target=sorted(keep))
    plan = plan_for(spec.with_changes(delete_data=True))
    k8s = next(r for r in plan.resources if r.type == "pulumi:providers:kubernetes")
    cluster = plan.get(k8s.parent)  # the cluster component: gone, and not a target
    assert not cluster.custom and cluster.name == "cluster" and cluster.urn not in keep
    assert failed.value.resource == k8s.urn
    assert failed.value.message == f"untargeted create: {untargeted_create(k8s.urn, cluster.urn)}"


@pytest.mark.parametrize("provider", sorted(FLAGS))
def test_real_program_deploys_and_exclude_protected_keeps_the_data(provider):
    spec = real_spec(provider)
    backend = RulesBackend()
    s = backend.stack(spec.name)
    _, changes = s.up(spec, Events())
    assert changes == {"create": len(s.urns(stack=True))} and s.up(spec, Events())[1] == {"same": changes["create"]}
    keep = kept(s.deployment())
    with pytest.raises(EngineError, match="because it is protected"):
        s.destroy(Events())
    s.destroy(Events(), exclude_protected=True)
    assert set(s.urns()) == keep
    assert all(backend.cloud.find(r["type"], r["id"]) for r in s.deployment()["resources"] if r["custom"]
               and not r["type"].startswith("pulumi:providers:"))


def test_real_orphan_after_a_killed_create_and_its_import():
    spec = real_spec("aws")
    s = killed_while_creating(RulesBackend(), "bucket", spec.name, spec)
    s.unlock()
    [pending] = s.deployment()["pending_operations"]
    name = pending["resource"]["inputs"]["bucket"]
    with pytest.raises(EngineError, match="already exists"):
        s.up(spec, Events())
    s.refresh(Events(), import_pending_creates={pending["resource"]["urn"]: name})
    s.up(spec, Events())
    assert s.deployment()["pending_operations"] == []
