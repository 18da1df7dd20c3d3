"""The Pulumi rules model (tests/support/pulumi_rules.py) refuses what Pulumi refuses: up, targets, destroy.

Each rule is shown on a small hand-made program (tests/support/rules_toy_program.py, passed
as the "spec"); failures, interruptions and refresh are in test_pulumi_rules_faults.py, the
rules the teardown flows meet on the REAL program of every cloud in test_pulumi_rules_real.py.
"""

from __future__ import annotations

import pytest

from provisioner.engine import EngineError

from tests.support.pulumi_rules import (
    TARGET_AND_EXCLUDE_PROTECTED,
    delete_protected,
    no_unprotected,
    replace_protected,
    root_urn,
    target_not_found,
    untargeted_create,
    untargeted_delete,
)
from tests.support.rules_toy_program import STACK, THING, Events, planned, resource


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
