"""Faults: interrupted runs, killed processes, locks, pending operations, drift,
idempotence, concurrent registry writers. Each test is one row of the
fault -> what the user sees -> recovery table; none sleeps."""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import subprocess

from typer.testing import CliRunner

from provisioner import cli
from provisioner.engine import EngineEvent, PulumiNotFound
from provisioner.stacks.records import Operation, StackRecords, now


DEPLOY = ["deploy", "aws", "--name", "ml-dev", "--region", "eu-west-1", "--yes"]


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli.app, list(args), input=input, catch_exceptions=False)


def record():
    return StackRecords().get("ml-dev")


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def mark_running(pid: int, op: str = "deploy", status: str = "deploying") -> None:
    """What the registry holds while a run is going on (or after its process was killed)."""
    records = StackRecords()
    r = records.get("ml-dev")
    r.status = status
    r.last_operation = Operation(op=op, status="running", started_at=now(), pid=pid, host=socket.gethostname(),
                                 last_event="create aws:eks/nodeGroup:NodeGroup cluster-nodes")
    records.save(r)


# --------------------------------------------------------------------------
# Interrupted and killed runs

def test_ctrl_c_mid_deploy_is_recorded_with_the_last_event_and_rerun_resumes(home, engine):
    engine.interrupt_at = "cluster-pod-identity-agent"
    result = run(*DEPLOY)
    assert result.exit_code == 130
    r = record()
    assert r.status == "failed" and r.display_status() == "interrupted"
    assert r.last_operation.status == "interrupted" and r.last_operation.finished_at
    # Ctrl-C lets Pulumi finish the step in flight and save the state (provisioner/engine/pulumi/process.py).
    assert r.last_operation.last_event == "done: create aws:eks/addon:Addon cluster-pod-identity-agent"
    listed = json.loads(run("stacks", "--output", "json").stdout)[0]
    assert listed["status"] == "interrupted"
    assert listed["last_operation"]["last_event"].endswith("cluster-pod-identity-agent")
    assert "interrupted" in run("stacks").stdout
    # Re-running resumes: what exists is kept ("same"), the rest is created.
    engine.interrupt_at = None
    assert not any(engine.pending.values())  # nothing half-done: no repair needed
    again = run(*DEPLOY)
    assert again.exit_code == 0 and record().status == "ready"
    assert "created        aws:eks/cluster:Cluster cluster" not in again.stderr  # created by the first run


def test_killed_process_is_reported_as_interrupted_and_does_not_block(home, engine):
    assert run(*DEPLOY).exit_code == 0
    mark_running(dead_pid())
    assert json.loads(run("stacks", "--output", "json").stdout)[0]["status"] == "interrupted"
    assert run(*DEPLOY).exit_code == 0  # a dead run is no lock: re-running resumes
    assert record().status == "ready"


def test_a_live_run_blocks_a_second_one_and_the_record_is_untouched(home, engine):
    assert run(*DEPLOY).exit_code == 0
    mark_running(os.getpid())
    before = record().to_json()
    for args in (DEPLOY, ["destroy", "ml-dev", "--yes"]):
        result = run(*args)
        assert result.exit_code == 1
        assert "is being updated by another process" in result.stderr and "since" in result.stderr
        assert "recipe repair ml-dev --unlock" in result.stderr
    assert record().to_json() == before
    assert [c[0] for c in engine.calls].count("up") == 1


def test_pulumi_lock_held_elsewhere_changes_nothing(home, engine):
    assert run(*DEPLOY).exit_code == 0
    before = record().to_json()
    engine.locked_since = "09:41 UTC"
    result = run(*DEPLOY)
    assert result.exit_code == 1
    assert "being updated by another process since 09:41 UTC" in result.stderr
    assert "failed" not in result.stderr  # not reported as a failed deploy
    after = record().to_json()
    assert after["status"] == "ready" and after["last_operation"] == before["last_operation"]


# --------------------------------------------------------------------------
# repair

def test_repair_adopts_a_half_created_cluster_after_confirmation(home, engine):
    """The CLI killed while EKS creates the cluster: the cluster exists (billed), the state only
    has a pending create and the lock. Repair unlocks and adopts it, so the re-run goes on
    with that cluster instead of failing on its name and leaving it orphaned."""
    engine.interrupt_at, engine.interrupt_mode = "cluster", "hard"
    assert run(*DEPLOY).exit_code == 130
    engine.interrupt_at = None
    clusters = engine.cloud.physical_resources("aws:eks/cluster:Cluster")
    assert len(clusters) == 1 and any(engine.pending.values())
    refused = run("repair", "ml-dev", "--unlock")  # not a terminal, no --yes
    assert refused.exit_code == 3, refused.stderr
    assert f"adopt: creating aws:eks/cluster:Cluster cluster: kept if it exists as {clusters[0].name}" in refused.stderr
    assert any(engine.pending.values()) and not any(c[0] == "refresh" for c in engine.calls)
    done = run("repair", "ml-dev", "--unlock", "--yes")
    assert done.exit_code == 0, done.stderr
    assert not any(engine.pending.values())
    assert "aws:eks/cluster:Cluster" in {r.type for r in engine.state[next(iter(engine.state))]}
    assert "re-run `recipe deploy aws --name ml-dev --region eu-west-1`" in done.stderr
    assert record().last_operation.op == "repair"
    assert run(*DEPLOY).exit_code == 0
    assert engine.cloud.physical_resources("aws:eks/cluster:Cluster") == clusters  # the same one, adopted


def test_repair_without_unlock_after_a_kill_names_the_fix(home, engine):
    engine.interrupt_at, engine.interrupt_mode = "cluster", "hard"
    assert run(*DEPLOY).exit_code == 130
    engine.interrupt_at = None
    result = run("repair", "ml-dev", "--yes")
    assert result.exit_code == 1
    assert "recipe repair ml-dev --unlock" in result.stderr


def test_repair_interactive_confirmation(home, engine, monkeypatch):
    engine.interrupt_at, engine.interrupt_mode = "cluster", "hard"
    assert run(*DEPLOY).exit_code == 130
    engine.interrupt_at = None
    monkeypatch.setattr(cli.context, "interactive", lambda: True)
    assert run("repair", "ml-dev", "--unlock", input="n\n").exit_code == 3
    assert any(engine.pending.values())
    assert run("repair", "ml-dev", "--unlock", input="y\n").exit_code == 0
    assert not any(engine.pending.values())


def test_repair_unlock_cancels_the_stale_lock(home, engine):
    assert run(*DEPLOY).exit_code == 0
    mark_running(os.getpid())  # the registry believes a run is going on
    result = run("repair", "ml-dev", "--unlock", "--yes")
    assert result.exit_code == 0, result.stderr
    assert ("cancel", "ml-dev", record().backend) in engine.calls
    assert record().last_operation.status == "interrupted"
    assert run(*DEPLOY).exit_code == 0


def test_repair_with_nothing_to_do(home, engine):
    assert run(*DEPLOY).exit_code == 0
    result = run("repair", "ml-dev")
    assert result.exit_code == 0 and "nothing to repair" in result.stderr
    assert not any(c[0] in ("refresh", "cancel") for c in engine.calls)


# --------------------------------------------------------------------------
# Idempotence and drift

def test_unchanged_deploy_reports_no_changes_and_keeps_the_outputs(home, engine):
    assert run(*DEPLOY).exit_code == 0
    first = record()
    again = run(*DEPLOY)
    assert again.exit_code == 0 and "no changes" in again.stderr
    second = record()
    assert second.outputs == first.outputs and second.last_operation.message == "no changes"
    assert second.created_at == first.created_at


def test_one_switch_deploys_only_the_difference(home, engine):
    assert run(*DEPLOY).exit_code == 0
    result = run(*DEPLOY, "--without", "deployer")
    assert result.exit_code == 0, result.stderr
    deleted = [line for line in result.stderr.splitlines() if line.startswith("deleted")]
    created = [line for line in result.stderr.splitlines() if line.startswith("created")]
    # Only the deployer goes: the front door stays for the tracker, which moves to its HTTPS port.
    assert deleted and not created
    assert all(any(k in line for k in ("seldon", "deployer")) for line in deleted)
    assert "deployer" not in record().outputs and "tracker" in record().outputs


def test_refresh_reports_drift(home, engine):
    assert run(*DEPLOY).exit_code == 0
    engine.drift = [
        EngineEvent("done", urn="urn:x::aws:eks/nodeGroup:NodeGroup::cluster-nodes", type="aws:eks/nodeGroup:NodeGroup",
                    name="cluster-nodes", op="update", diffs=("scalingConfig",)),
        EngineEvent("done", urn="urn:x::aws:ecr/lifecyclePolicy:LifecyclePolicy::registry-lifecycle",
                    type="aws:ecr/lifecyclePolicy:LifecyclePolicy", name="registry-lifecycle", op="delete"),
    ]
    result = run("refresh", "ml-dev")
    assert result.exit_code == 0, result.stderr
    assert "changed outside recipe: aws:eks/nodeGroup:NodeGroup cluster-nodes: scalingConfig" in result.stderr
    assert "deleted outside recipe: aws:ecr/lifecyclePolicy:LifecyclePolicy registry-lifecycle" in result.stderr
    doc = json.loads(run("refresh", "ml-dev", "--output", "json").stdout)
    assert len(doc["changed"]) == 1 and len(doc["deleted"]) == 1
    engine.drift = []
    assert "no drift" in run("refresh", "ml-dev").stderr
    assert record().status == "ready"


# --------------------------------------------------------------------------
# Missing Pulumi CLI, registry written by two processes

def test_missing_pulumi_cli_is_one_paragraph_with_the_fix(home, monkeypatch):
    def missing():
        raise PulumiNotFound("the Pulumi CLI was not found (looked on PATH and in ~/.pulumi).\n"
                             "Install it with `recipe doctor --install-pulumi`")

    monkeypatch.setattr(cli.context, "make_engine", missing)
    result = run(*DEPLOY)
    assert result.exit_code == 1 and "recipe doctor --install-pulumi" in result.stderr
    assert "Traceback" not in result.stderr


def _hammer(root: str, name: str, rounds: int) -> None:
    os.environ["RECIPE_HOME"] = root
    from provisioner.stacks.records import StackRecords, StackRecord

    records = StackRecords()
    for i in range(rounds):
        records.save(StackRecord(name=name, provider="aws", region="eu-west-1", status="ready", source="deploy",
                                  outputs={"provider": "aws", "round": i, "pad": "x" * 5000}))


def test_two_processes_writing_the_registry_never_corrupt_it(home):
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_hammer, args=(str(home), name, 60)) for name in ("ml-dev", "ml-dev", "other-stack")]
    for w in workers:
        w.start()
    readable = 0
    while any(w.is_alive() for w in workers):
        records, errors = StackRecords().all()
        assert errors == []  # a reader never sees a half-written file
        readable += len(records)
    for w in workers:
        w.join()
        assert w.exitcode == 0
    records, errors = StackRecords().all()
    assert errors == [] and {r.name for r in records} == {"ml-dev", "other-stack"}
    assert all(r.outputs["round"] == 59 for r in records)
    assert not [p for p in (home / "config" / "stacks").iterdir() if p.name.endswith(".tmp")]
