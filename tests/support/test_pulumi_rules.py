"""The Pulumi rules model (tests/support/pulumi_rules.py) refuses what Pulumi refuses.

Each rule is shown on a small hand-made program (a list of PlannedResource, passed as the
"spec"), and the ones the teardown flows meet on the REAL program of every cloud.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from provisioner.engine import ConcurrentUpdate, EngineError, EngineEvent
from provisioner.analysis.plan import PlannedResource
from recipes.spec import Layer, load_spec

from tests.support.pulumi_rules import (
    STACK_TYPE,
    TARGET_AND_EXCLUDE_PROTECTED,
    RulesBackend,
    delete_protected,
    no_unprotected,
    plan_for,
    replace_protected,
    root_urn,
    target_not_found,
    untargeted_create,
    untargeted_delete,
)

STACK = "dev"
THING = "test:index:Thing"


def planned(logical: str, type_: str = THING, /, *, parent: PlannedResource | None = None, deps: tuple = (),
            provider: PlannedResource | None = None, protect: bool = False, retain: bool = False,
            custom: bool = True, **inputs: Any) -> PlannedResource:
    """A resource as run_plan records it: its URN's type qualified by its parents' types."""
    qualified = f"{parent.urn.split('::')[2]}${type_}" if parent else type_
    return PlannedResource(
        urn=f"urn:pulumi:{STACK}::stack-recipes::{qualified}::{logical}", type=type_, name=logical,
        parent=parent.urn if parent else None, provider=f"{provider.urn}::{provider.name}-id" if provider else None,
        dependencies=sorted(d.urn for d in deps), inputs=inputs, custom=custom,
        retain_on_delete=retain, protect=protect)


class Program:
    """prov; net; app (a component) > db (needs net); data (protected, retained); policy (needs data, db)."""

    def __init__(self) -> None:
        self.prov = planned("prov", "pulumi:providers:test")
        self.net = planned("net", provider=self.prov, name="net-1")
        self.app = planned("app", "test:index:App", custom=False)
        self.db = planned("db", parent=self.app, deps=(self.net,), provider=self.prov, name="db-1")
        self.data = planned("data", provider=self.prov, protect=True, retain=True, name="data-1")
        self.policy = planned("policy", deps=(self.data, self.db), provider=self.prov)

    def all(self) -> list[PlannedResource]:
        return [self.prov, self.net, self.app, self.db, self.data, self.policy]

    def without(self, *gone: PlannedResource) -> list[PlannedResource]:
        return [r for r in self.all() if r not in gone]


class Events(list):
    def __call__(self, event: EngineEvent) -> None:
        self.append(event)

    def steps(self, kind: str = "done") -> list[tuple[str, str]]:
        return [(e.op, e.name) for e in self if e.kind == kind]


@pytest.fixture
def p() -> Program:
    return Program()


@pytest.fixture
def backend() -> RulesBackend:
    return RulesBackend(program_resources=lambda program: program)


@pytest.fixture
def stack(backend, p):
    s = backend.stack(STACK)
    s.up(p.all(), Events())
    return s


def resource(stack, urn: str) -> dict[str, Any]:
    return next(r for r in stack.deployment()["resources"] if r["urn"] == urn)


# --- 1. up without target ---------------------------------------------------------------------
def test_up_creates_everything_then_nothing_changes(backend, p):
    s, events = backend.stack(STACK), Events()
    _, changes = s.up(p.all(), events)
    assert changes == {"create": 7}  # the root stack, prov, net, app, db, data, policy
    assert s.urns(stack=True)[0] == root_urn(STACK) and set(s.urns()) == {r.urn for r in p.all()}
    assert events[-1].kind == "summary" and events[-1].counts == changes
    assert backend.cloud.exists(THING, "db-1") and backend.cloud.exists(THING, "data-1")
    db = resource(s, p.db.urn)
    assert db["parent"] == p.app.urn and db["provider"] == f"{p.prov.urn}::prov-id" and db["id"] == "db-1"
    assert resource(s, p.net.urn)["parent"] == root_urn(STACK)  # top-level: the root stack, as in real state
    assert s.up(p.all(), Events())[1] == {"same": 7}


def test_up_deletes_what_the_program_dropped_after_the_rest_dependents_first(stack, backend, p):
    events = Events()
    p.net.inputs["cidr"] = "10.0.0.0/16"
    assert stack.up(p.without(p.db, p.policy), events)[1] == {"same": 4, "update": 1, "delete": 2}
    assert events.steps()[-2:] == [("delete", "policy"), ("delete", "db")]
    assert not backend.cloud.exists(THING, "db-1")


def test_up_refuses_to_delete_a_protected_resource(stack, backend, p):
    with pytest.raises(EngineError) as failed:
        stack.up(p.without(p.data, p.policy), Events())
    assert failed.value.message == delete_protected(p.data.urn)
    assert p.data.urn in stack.urns() and backend.cloud.exists(THING, "data-1")


def test_retained_resource_leaves_the_state_not_the_cloud(stack, backend, p):
    p.data.protect = False
    stack.up(p.all(), Events())
    assert resource(stack, p.data.urn)["protect"] is False  # protect follows the program
    stack.up(p.without(p.data, p.policy), Events())
    assert p.data.urn not in stack.urns() and backend.cloud.exists(THING, "data-1")


def test_a_new_physical_name_replaces_unless_protected(stack, backend, p):
    p.db.inputs["name"] = "db-2"
    assert stack.up(p.all(), Events())[1]["replace"] == 1
    assert backend.cloud.exists(THING, "db-2") and not backend.cloud.exists(THING, "db-1")
    p.data.inputs["name"] = "data-2"
    with pytest.raises(EngineError) as failed:
        stack.up(p.all(), Events())
    assert failed.value.message == replace_protected(p.data.urn)
    p.data.protect = False  # unprotect and replace in one update: allowed; retained, the old one stays
    stack.up(p.all(), Events())
    assert backend.cloud.exists(THING, "data-1") and resource(stack, p.data.urn)["id"] == "data-2"


# --- 2. up --target ------------------------------------------------------------------------------
def test_target_creates_the_targets_and_always_the_providers(backend, p):
    s = backend.stack(STACK)
    assert s.up(p.all(), Events(), target=[p.net.urn])[1] == {"create": 3}
    assert s.urns(stack=True) == [root_urn(STACK), p.prov.urn, p.net.urn]


def test_targeted_step_needing_a_skipped_create_fails_the_update(backend, p):
    s = backend.stack(STACK)
    with pytest.raises(EngineError) as failed:
        s.up(p.all(), Events(), target=[p.net.urn, p.db.urn])  # db's parent, app, is not targeted
    message = untargeted_create(p.db.urn, p.app.urn)
    assert message == (f"Resource '{p.db.urn}' depends on '{p.app.urn}' which was was not specified in --target list.")
    assert failed.value.message == f"untargeted create: {message}" and failed.value.resource == p.db.urn
    assert s.urns() == [p.prov.urn, p.net.urn]  # the steps before it were done
    assert not s.locked


def test_an_always_targeted_provider_needing_a_skipped_create_fails(stack, p):
    cluster = planned("cluster", "test:index:Cluster", custom=False)
    k8s = planned("k8s", "pulumi:providers:kubernetes", parent=cluster, deps=(p.net,))
    with pytest.raises(EngineError) as failed:
        stack.up([*p.all(), cluster, k8s], Events(), target=[p.data.urn])
    assert failed.value.message == f"untargeted create: {untargeted_create(k8s.urn, cluster.urn)}"


def test_target_dependents_targets_what_needs_a_target_transitively(stack, p):
    extra = planned("extra", deps=(p.db,), provider=p.prov)
    more = planned("more", deps=(extra,), provider=p.prov)
    assert "create" not in stack.up([*p.all(), extra, more], Events(), target=[p.db.urn])[1]  # skipped creates
    changes = stack.up([*p.all(), extra, more], Events(), target=[p.db.urn], target_dependents=True)[1]
    assert changes["create"] == 2 and {extra.urn, more.urn} <= set(stack.urns())


def test_targeted_up_deletes_only_targeted_resources_gone_from_the_program(stack, p):
    solo = planned("solo", provider=p.prov)
    stack.up([*p.without(p.policy), solo], Events(), target=[solo.urn])
    assert p.policy.urn in stack.urns()  # untargeted: stays
    with pytest.raises(EngineError) as failed:  # net's dependents would go too, unlisted
        stack.up([*p.without(p.policy), solo], Events(), target=[p.net.urn])
    assert failed.value.diagnostics == [untargeted_delete(p.policy.urn)]
    stack.up([*p.without(p.policy), solo], Events(), target=[p.policy.urn])
    assert p.policy.urn not in stack.urns()


def test_unknown_target_fails(stack, p):
    ghost = p.net.urn.replace("::net", "::ghost")
    with pytest.raises(EngineError) as failed:
        stack.up(p.all(), Events(), target=[ghost])
    assert failed.value.diagnostics == [target_not_found(ghost)]


def test_untargeted_resources_keep_their_old_state(stack, p):
    p.data.protect, p.net.inputs["cidr"] = False, "10.2.0.0/16"
    assert stack.up(p.all(), Events(), target=[p.db.urn])[1] == {"same": 7}
    assert resource(stack, p.data.urn)["protect"] is True and "cidr" not in resource(stack, p.net.urn)["inputs"]


def test_targets_are_urns_or_globs_and_an_empty_list_targets_everything(stack, p):
    extra = planned("extra", provider=p.prov)
    assert stack.up([*p.all(), extra], Events(), target=[])[1]["create"] == 1
    stack.destroy(Events(), target=["**::policy"])  # `**` spans segments, `*` stays within one
    assert p.policy.urn not in stack.urns() and extra.urn in stack.urns()
    stack.destroy(Events(), target=[], exclude_protected=True)  # no target: allowed with it
    assert stack.urns() == [p.prov.urn, p.data.urn]


# --- 3. destroy -------------------------------------------------------------------------------------
def test_destroy_refuses_protected_and_exclude_protected_keeps_them_and_their_needs(stack, backend, p):
    with pytest.raises(EngineError) as failed:
        stack.destroy(Events())
    assert failed.value.message == delete_protected(p.data.urn)
    stack.unlock()  # no-op: a failed operation releases its lock
    stack.up(p.all(), Events())
    assert stack.destroy(Events(), exclude_protected=True) == {"delete": 4}  # policy, db, app, net: not data's provider
    assert stack.urns(stack=True) == [root_urn(STACK), p.prov.urn, p.data.urn]
    events = Events()
    assert stack.destroy(events, exclude_protected=True) == {}
    assert events[-1].message == no_unprotected(3)
    with pytest.raises(EngineError, match=TARGET_AND_EXCLUDE_PROTECTED):
        stack.destroy(Events(), target=[p.data.urn], exclude_protected=True)


def test_destroy_of_everything_deletes_dependents_first_and_keeps_retained_in_the_cloud(stack, backend, p):
    p.data.protect = False
    stack.up(p.all(), Events())
    events = Events()
    assert stack.destroy(events) == {"delete": 7}
    order = [name for _, name in events.steps()]
    assert order.index("policy") < order.index("db") < order.index("net") < order.index("prov")
    assert stack.urns(stack=True) == [] and backend.cloud.exists(THING, "data-1")
    assert [x.id for x in backend.cloud.physical_resources()] == ["data-1"]


def test_targeted_destroy_of_what_others_need_requires_target_dependents(stack, p):
    with pytest.raises(EngineError) as failed:
        stack.destroy(Events(), target=[p.net.urn])
    assert failed.value.diagnostics == [untargeted_delete(p.db.urn), untargeted_delete(p.policy.urn)]
    assert p.net.urn in stack.urns()
    assert stack.destroy(Events(), target=[p.net.urn], target_dependents=True) == {"delete": 3}
    assert p.data.urn in stack.urns() and p.app.urn in stack.urns()


# --- 4. failures, interruptions, pending operations, the lock ---------------------------------
def test_failure_at_a_resource_keeps_the_steps_before_it(backend, p):
    backend.fail_at = "db"
    s, events = backend.stack(STACK), Events()
    with pytest.raises(EngineError) as failed:
        s.up(p.all(), events)
    assert failed.value.resource == p.db.urn and failed.value.message == backend.fail_message
    assert ("create", "db") in events.steps("failed") and not backend.cloud.exists(THING, "db-1")
    assert s.urns() == [p.prov.urn, p.net.urn, p.app.urn] and not s.locked


def test_graceful_interrupt_finishes_the_step_and_releases_the_lock(backend, p):
    backend.interrupt_at = "db"
    s = backend.stack(STACK)
    with pytest.raises(KeyboardInterrupt):
        s.up(p.all(), Events())
    assert s.urns()[-1] == p.db.urn and not s.locked and s.deployment()["pending_operations"] == []


def test_hard_interrupt_leaves_a_pending_create_an_orphan_and_the_lock(backend, p):
    backend.interrupt_at, backend.interrupt_mode = "db", "hard"
    s = backend.stack(STACK)
    with pytest.raises(KeyboardInterrupt):
        s.up(p.all(), Events())
    backend.interrupt_at = None
    assert p.db.urn not in s.urns() and backend.cloud.exists(THING, "db-1")
    [pending] = s.deployment()["pending_operations"]
    assert pending["type"] == "creating" and pending["resource"]["urn"] == p.db.urn
    assert pending["resource"]["inputs"] == {"name": "db-1"} and pending["resource"]["parent"] == p.app.urn
    for operation in (lambda: s.up(p.all(), Events()), lambda: s.destroy(Events()), lambda: s.refresh(Events())):
        with pytest.raises(ConcurrentUpdate):
            operation()
    s.unlock()
    with pytest.raises(EngineError, match="already exists"):
        s.up(p.all(), Events())  # the orphan: the create is tried again
    assert s.deployment()["pending_operations"] == [pending]  # pending creates survive up...
    s.destroy(Events(), exclude_protected=True)
    assert s.deployment()["pending_operations"] == [pending]  # ...and destroy


def test_other_pending_operations_are_dropped_by_the_next_operation(stack, backend, p):
    backend.interrupt_at, backend.interrupt_mode = "net", "hard"
    p.net.inputs["cidr"] = "10.1.0.0/16"
    with pytest.raises(KeyboardInterrupt):
        stack.up(p.all(), Events())
    assert [op["type"] for op in stack.deployment()["pending_operations"]] == ["updating"]
    backend.interrupt_at = None
    stack.unlock()
    events = Events()
    stack.up(p.all(), events)
    assert any(e.severity == "warning" and "1 pending operations" in (e.message or "") for e in events)
    assert stack.deployment()["pending_operations"] == []


def test_a_second_operation_while_one_runs_is_refused(p):
    started, release = threading.Event(), threading.Event()

    def slow_program(program):
        started.set()
        release.wait(5)
        return program

    s = RulesBackend(program_resources=slow_program).stack(STACK)
    running = threading.Thread(target=s.up, args=(p.all(), Events()))
    running.start()
    assert started.wait(5)
    with pytest.raises(ConcurrentUpdate, match="currently locked by 1 lock"):
        s.refresh(Events())
    release.set()
    running.join(5)
    assert not s.locked and len(s.urns()) == 6


def test_updating_what_was_deleted_outside_pulumi_fails(stack, backend, p):
    backend.cloud.delete(THING, "net-1")
    p.net.inputs["cidr"] = "10.3.0.0/16"
    with pytest.raises(EngineError, match="'net-1' not found"):
        stack.up(p.all(), Events())


def test_kubernetes_objects_live_and_die_with_their_cluster(backend):
    cloud_provider = planned("cloud", "pulumi:providers:aws")
    cluster = planned("cluster", "aws:eks/cluster:Cluster", provider=cloud_provider, name="c1")
    k8s = planned("k8s", "pulumi:providers:kubernetes", deps=(cluster,))
    namespace = planned("apps", "kubernetes:core/v1:Namespace", provider=k8s, metadata={"name": "apps"})
    program = [cloud_provider, cluster, k8s, namespace]
    s = backend.stack(STACK)
    s.up(program, Events())
    assert backend.cloud.exists("kubernetes:core/v1:Namespace", "apps")
    backend.cloud.delete("aws:eks/cluster:Cluster", "c1")  # outside Pulumi: its objects go with it
    assert not backend.cloud.exists("kubernetes:core/v1:Namespace", "apps")
    for operation in (lambda: s.up(program, Events()), lambda: s.destroy(Events()), lambda: s.refresh(Events())):
        with pytest.raises(EngineError, match="configured Kubernetes cluster is unreachable"):
            operation()
    backend.k8s_delete_unreachable = True  # PULUMI_K8S_DELETE_UNREACHABLE
    assert s.refresh(Events())["delete"] == 2 and s.urns() == [cloud_provider.urn, k8s.urn]
    assert s.up(program, Events())[1]["create"] == 2  # a new cluster: the namespace is free again


# --- 5. refresh -----------------------------------------------------------------------------------
@pytest.fixture
def orphaned(backend, p):
    """db's create was killed: pending in the state, existing in the cloud."""
    backend.interrupt_at, backend.interrupt_mode = "db", "hard"
    s = backend.stack(STACK)
    with pytest.raises(KeyboardInterrupt):
        s.up(p.all(), Events())
    backend.interrupt_at = None
    s.unlock()
    return s


def test_clear_pending_creates_leaves_the_orphan_in_the_cloud(orphaned, backend, p):
    orphaned.refresh(Events(), clear_pending_creates=True)
    assert orphaned.deployment()["pending_operations"] == [] and backend.cloud.exists(THING, "db-1")
    with pytest.raises(EngineError, match="already exists"):
        orphaned.up(p.all(), Events())


def test_import_pending_creates_completes_them_from_the_cloud(orphaned, backend, p):
    with pytest.raises(EngineError) as failed:
        orphaned.refresh(Events(), import_pending_creates={p.db.urn: "db-9"})
    assert failed.value.message == "resource 'db-9' does not exist"
    orphaned.refresh(Events(), import_pending_creates={p.db.urn: "db-1"}, clear_pending_creates=True)
    assert resource(orphaned, p.db.urn)["id"] == "db-1" and orphaned.deployment()["pending_operations"] == []
    assert orphaned.up(p.all(), Events())[1] == {"same": 5, "create": 2}  # data and policy: never reached


def test_refresh_drops_what_the_cloud_no_longer_has(stack, backend, p):
    backend.cloud.delete(THING, "db-1")
    assert stack.refresh(Events())["delete"] == 1
    assert p.db.urn not in stack.urns() and p.db.urn not in resource(stack, p.policy.urn)["dependencies"]


# --- the REAL program, on every cloud -----------------------------------------------------------
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
    backend = RulesBackend()
    backend.interrupt_at, backend.interrupt_mode = "bucket", "hard"
    s = backend.stack(spec.name)
    with pytest.raises(KeyboardInterrupt):
        s.up(spec, Events())
    backend.interrupt_at = None
    s.unlock()
    [pending] = s.deployment()["pending_operations"]
    name = pending["resource"]["inputs"]["bucket"]
    with pytest.raises(EngineError, match="already exists"):
        s.up(spec, Events())
    s.refresh(Events(), import_pending_creates={pending["resource"]["urn"]: name})
    s.up(spec, Events())
    assert s.deployment()["pending_operations"] == []
