"""PulumiEngine's operations against the real Automation API, with only the Pulumi CLI replaced:
each stack's own workspace, backend and passphrase; up, preview, refresh, outputs, cancel."""

from __future__ import annotations

import pytest
import yaml
from tests.engine.pulumi.deployed_stack import BUCKET_T, BUCKET_URN, STACK, collect
from tests.support.pulumi_engine_fake import pre, summary

from provisioner import paths
from provisioner.engine import EngineError, StackTarget


def test_new_stack_gets_project_file_backend_dir_and_passphrase_provider(engine, cli, target):
    engine.up(target, lambda e: None)

    work_dir = paths.workspace_dir(STACK, target.backend)
    project = yaml.safe_load((work_dir / "Pulumi.yaml").read_text())
    assert project["name"] == "stack-recipes"
    assert project["runtime"] == "python"
    assert project["backend"] == {"url": target.backend}
    assert cli.commands()[:2] == ["stack select", "stack init"]
    init = cli.called("stack init")[0]
    assert init.args[2] == STACK
    assert init.value("--secrets-provider") == "passphrase"
    assert all(c.cwd == str(work_dir) for c in cli.calls)
    # the default backend is a file:// directory under the data dir, created before first use
    assert target.backend.startswith("file://")
    assert (paths.data_dir() / "state").is_dir()


def test_existing_stack_is_selected_not_created(engine, cli, target):
    cli.stacks.add(STACK)
    engine.up(target, lambda e: None)
    assert cli.called("stack select")[0].value("--stack") == STACK
    assert cli.called("stack init") == []


def test_every_command_gets_backend_and_passphrase(engine, cli, target):
    engine.up(target, lambda e: None)
    engine.outputs(target)
    passphrase = paths.passphrase_file().read_text()
    assert len(cli.calls) > 8
    for call in cli.calls:
        assert call.env["PULUMI_BACKEND_URL"] == target.backend, call.args
        assert call.env["PULUMI_CONFIG_PASSPHRASE"] == passphrase, call.args
        assert call.env["PULUMI_SKIP_UPDATE_CHECK"] == "true"


def test_other_backend_is_passed_and_no_local_dir_created(engine, cli, make_spec, home):
    target = StackTarget(spec=make_spec(), backend="s3://team-state/recipes")
    engine.up(target, lambda e: None)
    assert {c.env["PULUMI_BACKEND_URL"] for c in cli.calls} == {"s3://team-state/recipes"}
    project = yaml.safe_load((paths.workspace_dir(STACK, target.backend) / "Pulumi.yaml").read_text())
    assert project["backend"] == {"url": "s3://team-state/recipes"}
    assert not (paths.data_dir() / "state").exists()


def test_same_stack_name_in_two_backends_gets_two_workspaces(engine, cli, make_spec, home):
    first = StackTarget(spec=make_spec(), backend="s3://team-a/state")
    second = StackTarget(spec=make_spec(), backend="s3://team-b/state")
    engine.up(first, lambda e: None)
    engine.up(second, lambda e: None)
    assert paths.workspace_dir(STACK, first.backend) != paths.workspace_dir(STACK, second.backend)
    for target in (first, second):
        project = yaml.safe_load((paths.workspace_dir(STACK, target.backend) / "Pulumi.yaml").read_text())
        assert project["backend"] == {"url": target.backend}


def test_relative_file_backend_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert paths.normalize_backend("file://./state") == (tmp_path / "state").as_uri()
    assert paths.normalize_backend("file:///abs/state") == "file:///abs/state"
    assert paths.normalize_backend("s3://bucket/x") == "s3://bucket/x"


def test_up_runs_without_parallel_cap_and_returns_outputs_and_changes(engine, cli, target):
    cli.stack_outputs = {"provider": "aws", "tracker": {"password": "s3cr3t", "uri": "http://x"}}
    cli.secret_outputs = {"tracker"}
    cli.changes = {"create": 12, "same": 3}

    result = engine.up(target, lambda e: None)

    up = cli.called("up")[0]
    assert up.args[:3] == ["up", "--yes", "--skip-preview"]
    assert "--parallel" not in up.args
    assert up.value("--color") == "never"
    assert "--suppress-progress" in up.args
    assert up.value("--stack") == STACK
    assert up.value("--exec-kind") == "auto.inline"
    assert result.outputs == {"provider": "aws", "tracker": {"password": "s3cr3t", "uri": "http://x"}}
    assert result.changes.counts == {"create": 12, "same": 3}
    assert result.changes.total_changes == 12


def test_up_program_builds_the_targets_spec(engine, cli, target, monkeypatch):
    import recipes

    engine.up(target, lambda e: None)
    built = []
    monkeypatch.setattr(recipes, "build", built.append)
    [(command, program)] = cli.programs
    program()
    assert command == "up" and built == [target.spec] and built[0].delete_data is False


def test_preview_returns_the_change_summary(engine, cli, target):
    cli.events["preview"] = [pre(BUCKET_URN, BUCKET_T), summary(create=5, same=2)]
    seen, on_event = collect()
    changes = engine.preview(target, on_event)
    assert changes.counts == {"create": 5, "same": 2} and changes.total_changes == 5
    assert cli.called("preview")[0].value("--color") == "never"
    assert cli.called("up") == [] and cli.called("stack init")  # a preview of a new stack creates it
    assert [e.kind for e in seen] == ["start", "summary"]


def test_refresh_outputs_and_cancel_use_the_existing_stack(engine, cli, target):
    cli.stacks.add(STACK)
    cli.changes = {"update": 1, "same": 9}
    cli.stack_outputs = {"provider": "aws"}
    assert engine.refresh(target, lambda e: None).counts == {"update": 1, "same": 9}
    assert cli.called("refresh")[0].args[:3] == ["refresh", "--skip-preview", "--yes"]
    assert engine.outputs(target) == {"provider": "aws"}
    engine.cancel(target)
    assert cli.called("cancel")[0].args[-1] == STACK
    assert cli.called("stack init") == []


def test_unknown_stack(engine, cli, target):
    with pytest.raises(EngineError) as info:
        engine.outputs(target)
    assert info.value.message == f"no Pulumi stack {STACK} in {target.backend}"
    with pytest.raises(EngineError, match="no Pulumi stack"):
        engine.destroy(target, lambda e: None)
    assert cli.called("stack init") == [] and cli.called("destroy") == []


def test_the_engine_refuses_a_spec_without_its_suffix(engine, cli, target):
    with pytest.raises(EngineError, match="no suffix"):
        engine.up(StackTarget(spec=target.spec.with_changes(suffix=""), backend=target.backend), lambda e: None)
    assert "up" not in cli.commands()
