"""What `recipe repair` reads from a stack's state: pending operations, and the creates it can adopt;
what `recipe deploy` reads: the suffix a stack already has."""

from __future__ import annotations

from tests.engine.pulumi.deployed_stack import CLUSTER_URN, STACK, deployed_state
from tests.support.pulumi_engine_fake import urn

from provisioner.engine import PendingOperation, StackTarget


def test_pending_operations_are_read_from_the_state(engine, cli, target):
    cli.stacks.add(STACK)
    state = deployed_state()
    state["pending_operations"] = [{"resource": {"urn": CLUSTER_URN, "type": "aws:eks/cluster:Cluster"}, "type": "creating"}]
    cli.deployment = state
    assert engine.pending_operations(target) == [
        PendingOperation(type="aws:eks/cluster:Cluster", name="cluster", urn=CLUSTER_URN, operation="creating")
    ]


def test_pending_creates_with_deterministic_names_get_an_adopt_id(engine, cli, target):
    cli.stacks.add(STACK)
    cli.deployment = {"resources": [], "pending_operations": [
        {"type": "creating", "resource": {"urn": CLUSTER_URN, "type": "aws:eks/cluster:Cluster", "inputs": {"name": "ml-dev-abcd"}}},
        {"type": "creating", "resource": {"urn": urn(STACK, "aws:ec2/vpc:Vpc", "vpc"), "type": "aws:ec2/vpc:Vpc", "inputs": {}}},
    ]}
    cluster, vpc = engine.pending_operations(target)
    assert cluster.adopt_id == "ml-dev-abcd" and vpc.adopt_id is None  # AWS picks a VPC's id


def test_a_deployed_stack_keeps_its_suffix_in_its_config(engine, cli, target):
    engine.up(target, lambda e: None)
    assert cli.config[STACK]["recipe:suffix"] == "a1b2c3"
    # A teammate on the same backend (no registry record of theirs) reads it back.
    assert engine.assigned_suffix(StackTarget(spec=target.spec.with_changes(suffix=""), backend=target.backend)) == "a1b2c3"


def test_no_stack_in_the_backend_has_no_suffix(engine, cli, target):
    assert engine.assigned_suffix(target) is None
    assert "stack init" not in cli.commands()  # looking never creates a stack


def test_a_stack_deployed_before_random_suffixes_finds_its_old_names(engine, cli, target):
    from recipes import naming

    cli.stacks.add(STACK)
    cli.deployment = deployed_state()  # resources, and no recipe:suffix in its config
    legacy = engine.assigned_suffix(target)
    assert legacy == naming.legacy_suffix("aws", "ml-dev", target.spec.region) == "ab18f7"
    cli.deployment = {"resources": []}  # created but never deployed: a new stack after all
    assert engine.assigned_suffix(target) is None
