"""`recipe backup`, the backup `recipe destroy` takes first, and `recipe forget`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from provisioner import cli

from provisioner.engine import run_history
from provisioner.stacks.records import StackRecords

DEPLOY = ["deploy", "aws", "--name", "ml-dev", "--region", "eu-west-1", "--yes"]
BACKUP_ID = "20261201t061500z"


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli.app, list(args), input=input, catch_exceptions=False)


@pytest.fixture(autouse=True)
def fixed_backup_id(monkeypatch):
    monkeypatch.setattr(run_history, "new_backup_id", lambda: BACKUP_ID)


def jobs(engine) -> list[str]:
    return [r.name for rs in engine.state.values() for r in rs if r.type == "kubernetes:batch/v1:Job"]


def test_backup_creates_the_job_alone_and_says_where(home, engine):
    assert run(*DEPLOY).exit_code == 0
    before = {r.urn for rs in engine.state.values() for r in rs}
    result = run("backup", "ml-dev", "--output", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"stack": "ml-dev", "backup_id": BACKUP_ID,
                                         "location": f"recipe-backups/tracker/{BACKUP_ID}/ (and recipe-backups/tracker/latest/)"}
    assert jobs(engine) == [f"tracker-backup-{BACKUP_ID}"]
    after = {r.urn for rs in engine.state.values() for r in rs}
    assert len(after - before) == 1  # nothing but the Job was created
    record = StackRecords().get("ml-dev")
    assert record.status == "ready" and record.last_operation.op == "backup"


def test_destroy_backs_up_first(home, engine):
    assert run(*DEPLOY).exit_code == 0
    result = run("destroy", "ml-dev", "--yes")
    assert result.exit_code == 0, result.stderr
    ops = [c[0] for c in engine.calls if c[0] in ("backup", "destroy")]
    assert ops == ["backup", "destroy"] and engine.backups == [BACKUP_ID]
    assert f"run history is backed up in the bucket (recipe-backups/tracker/{BACKUP_ID}/" in result.stderr


def test_destroy_no_backup_and_delete_data_skip_it(home, engine):
    assert run(*DEPLOY).exit_code == 0
    assert run("destroy", "ml-dev", "--yes", "--no-backup").exit_code == 0
    assert engine.backups == []
    assert run(*DEPLOY).exit_code == 0
    assert run("destroy", "ml-dev", "--yes", "--delete-data").exit_code == 0
    assert engine.backups == []


def test_a_failed_backup_destroys_nothing_and_names_the_way_out(home, engine):
    assert run(*DEPLOY).exit_code == 0
    engine.fail_at = f"tracker-backup-{BACKUP_ID}"
    result = run("destroy", "ml-dev", "--yes", "--output", "json")
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert "recipe destroy ml-dev --no-backup" in error["message"] and "Nothing was destroyed" in error["message"]
    assert not any(c[0] == "destroy" for c in engine.calls)
    assert StackRecords().get("ml-dev").status != "destroyed"
    engine.fail_at = None
    assert run("destroy", "ml-dev", "--yes").exit_code == 0


def test_backup_of_a_stack_without_tracker(home, engine):
    assert run(*DEPLOY, "--without", "tracker").exit_code == 0
    result = run("backup", "ml-dev", "--output", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["backup_id"] is None


def test_forget_asks_warns_and_never_touches_the_cloud(home, engine):
    assert run(*DEPLOY).exit_code == 0
    calls = list(engine.calls)
    refused = run("forget", "ml-dev")  # not a terminal, no --yes
    assert refused.exit_code == 3
    assert "is ready: whatever it created stays in the cloud" in refused.stderr
    assert StackRecords().find("ml-dev") is not None
    done = run("forget", "ml-dev", "--yes", "--output", "json")
    assert done.exit_code == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["forgotten"] is True and doc["cloud_touched"] is False and "recipe destroy ml-dev" in doc["warning"]
    assert StackRecords().find("ml-dev") is None
    assert engine.calls == calls  # no engine operation at all
    assert any(engine.state.values())  # the stack's resources are untouched


def test_forget_after_destroy_names_the_kept_data(home, engine):
    assert run(*DEPLOY).exit_code == 0
    assert run("destroy", "ml-dev", "--yes").exit_code == 0
    result = run("forget", "ml-dev", "--yes")
    assert result.exit_code == 0
    assert "recipe destroy ml-dev --delete-data" in result.stderr


def test_forget_an_unknown_stack_is_bad_input(home, engine):
    assert run("forget", "nope", "--yes").exit_code == 2


def test_dropping_a_data_component_of_a_deployed_stack_is_refused(home, engine):
    assert run(*DEPLOY).exit_code == 0
    result = run(*DEPLOY, "--without", "registry")
    assert result.exit_code == 2
    assert "would remove ml-dev's container registry, with every image" in result.stderr
    assert "recipe destroy ml-dev --delete-data" in result.stderr
    assert [c[0] for c in engine.calls].count("up") == 1  # refused before the engine
    # After --delete-data the stack is gone: a new one without a registry is fine.
    assert run("destroy", "ml-dev", "--yes", "--delete-data").exit_code == 0
    assert run(*DEPLOY, "--without", "registry").exit_code == 0
