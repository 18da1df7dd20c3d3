"""Scripting: every command speaks JSON (one document on stdout), errors too, with documented exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from provisioner import cli

from tests.support.fakes import FakeEngine

DEPLOY = ["deploy", "aws", "--name", "ml-dev", "--region", "eu-west-1", "--yes"]
README = Path(__file__).resolve().parents[2] / "README.md"


def run(*args: str):
    return CliRunner().invoke(cli.app, list(args), catch_exceptions=False)


def json_of(*args: str, code: int = 0) -> dict | list:
    result = run(*args, "--output", "json")
    assert result.exit_code == code, result.stderr
    return json.loads(result.stdout)  # stdout is exactly one JSON document


def test_every_command_has_output_json():
    import typer.main

    group = typer.main.get_command(cli.app)
    for name, command in group.commands.items():
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        assert "--output" in options, f"recipe {name} has no --output"


def test_readme_documents_every_command_s_json_and_the_exit_codes():
    import typer.main

    text = README.read_text()
    scripting = text[text.index("## Scripting"):]
    for name in typer.main.get_command(cli.app).commands:
        assert f"`recipe {name}" in scripting, f"README Scripting does not document recipe {name}"
    for code in ("0", "1", "2", "3"):
        assert f"| {code} |" in scripting


def test_deploy_json(home, engine):
    doc = json_of(*DEPLOY)
    assert set(doc) == {"stack", "provider", "region", "status", "changes", "no_changes", "outputs"}
    assert doc["status"] == "ready" and doc["changes"]["create"] > 0 and doc["no_changes"] is False
    assert "password" not in doc["outputs"]["tracker"]
    again = json_of(*DEPLOY)
    assert again["no_changes"] is True and "create" not in again["changes"]


def test_preview_destroy_and_stacks_json(home, engine):
    json_of(*DEPLOY)
    preview = json_of("preview", "ml-dev")
    assert set(preview) == {"stack", "changes", "no_changes"} and preview["no_changes"] is True
    destroyed = json_of("destroy", "ml-dev", "--yes")
    assert destroyed["status"] == "destroyed" and destroyed["delete_data"] is False
    assert destroyed["kept"] and destroyed["delete_kept_with"] == "recipe destroy ml-dev --delete-data"
    [listed] = json_of("stacks")
    assert listed["name"] == "ml-dev" and listed["status"] == "destroyed"


def test_repair_json_when_nothing_to_repair(home, engine):
    json_of(*DEPLOY)
    assert json_of("repair", "ml-dev", "--yes") == {"stack": "ml-dev", "repaired": False, "pending": [], "unlocked": False, "rerun": None}


def test_register_json(home, plans, tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(plans().raw_outputs))
    doc = json_of("register", "ml-dev", "--outputs", str(path))
    assert doc["components"] == ["cluster", "bucket", "registry", "tracker", "deployer"] and doc["source"] == "register"


def test_export_json_describes_the_file_it_wrote(home, engine, tmp_path):
    json_of(*DEPLOY)
    target = tmp_path / "stack.yaml"
    doc = json_of("export", "ml-dev", "--format", "zenml", "--file", str(target))
    assert doc["files"] == [{"file": str(target), "mode": "0644", "contains_secrets": False}]
    assert doc["content"] is None and doc["zenml"] is None
    assert any("zenml secret create" in note for note in doc["notes"])
    inline = json_of("export", "ml-dev", "--format", "json")
    assert json.loads(inline["content"])["stack_name"] == "ml-dev"


@pytest.mark.parametrize(
    "args,code",
    [
        (["outputs", "nope"], cli.EXIT_BAD_INPUT),
        (["plan", "aws", "--region", "mars-1"], cli.EXIT_BAD_INPUT),
        (["destroy", "nope", "--yes"], cli.EXIT_BAD_INPUT),
        (["deploy", "aws", "--name", "ml-dev"], cli.EXIT_NEEDS_CONFIRMATION),  # no --yes, stdin not a terminal
    ],
)
def test_errors_are_json_documents_too(home, engine, args, code):
    result = run(*args, "--output", "json")
    assert result.exit_code == code
    error = json.loads(result.stdout)["error"]
    assert error["exit_code"] == code and error["message"]
    assert error["message"] in result.stderr  # the same words for people


def test_failed_deploy_json_names_the_resource_and_the_command_that_resumes(home, monkeypatch):
    fake = FakeEngine(fail_at="cluster")
    monkeypatch.setattr(cli.context, "make_engine", lambda: fake)
    doc = json_of(*DEPLOY, code=cli.EXIT_FAILED)
    assert doc["error"]["rerun"] == "recipe deploy aws --name ml-dev --region eu-west-1"
    assert "cluster" in doc["error"]["resource"]


def test_a_failing_security_rule_stops_deploy_with_a_json_error(home, engine, monkeypatch):
    from provisioner.analysis import baseline

    real = baseline.evaluate

    def failing(plan):
        results = real(plan)
        results[0].verdict.status = "fail"
        return results

    monkeypatch.setattr(baseline, "evaluate", failing)
    doc = json_of(*DEPLOY, code=cli.EXIT_FAILED)
    assert "nothing deployed" in doc["error"]["message"] and engine.calls == []


def test_long_operations_log_one_line_per_event_when_not_a_terminal(home, engine):
    result = run(*DEPLOY)
    lines = [line for line in result.stderr.splitlines() if "created" in line]
    assert len(lines) > 20  # one per resource, no live-redraw control codes
    assert "\x1b[" not in result.stderr


def test_plan_cost_json(home):
    doc = json_of("plan", "gcp", "--project", "demo-project", "--cost")
    cost = doc["cost"]
    assert set(cost) >= {"monthly_total_usd", "items", "prices_as_of"}
    assert cost["monthly_total_usd"] == round(sum(i["monthly_usd"] for i in cost["items"] if i["monthly_usd"] is not None), 2)
    import re

    assert re.fullmatch(r"\d{4}-\d{2}", cost["prices_as_of"])
    assert "cost" not in json_of("plan", "gcp", "--project", "demo-project")
