"""The Pulumi rules model under faults: a failing step, Ctrl-C and a killed CLI, pending
operations, the lock, a cluster gone; and refresh, clearing or importing pending creates."""

from __future__ import annotations

import threading

import pytest

from provisioner.engine import ConcurrentUpdate, EngineError

from tests.support.pulumi_rules import RulesBackend
from tests.support.rules_toy_program import STACK, THING, Events, each_operation, killed_while_creating, planned, resource


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
    s = killed_while_creating(backend, "db", STACK, p.all())
    assert p.db.urn not in s.urns() and backend.cloud.exists(THING, "db-1")
    [pending] = s.deployment()["pending_operations"]
    assert pending["type"] == "creating" and pending["resource"]["urn"] == p.db.urn
    assert pending["resource"]["inputs"] == {"name": "db-1"} and pending["resource"]["parent"] == p.app.urn
    for operation in each_operation(s, p.all()):
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
    for operation in each_operation(s, program):
        with pytest.raises(EngineError, match="configured Kubernetes cluster is unreachable"):
            operation()
    backend.k8s_delete_unreachable = True  # PULUMI_K8S_DELETE_UNREACHABLE
    assert s.refresh(Events())["delete"] == 2 and s.urns() == [cloud_provider.urn, k8s.urn]
    assert s.up(program, Events())[1]["create"] == 2  # a new cluster: the namespace is free again


# --- 5. refresh -----------------------------------------------------------------------------------
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
