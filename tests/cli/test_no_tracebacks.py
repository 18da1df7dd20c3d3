"""No traceback, ever (issue 16): every command, in every state a user can reach, ends with one
line on stderr and a documented exit code, and with --output json one parseable document."""

from __future__ import annotations

import json
import os

import pytest

from provisioner import cli

from tests.support.fakes import FakeEngine

DEPLOY = ["deploy", "aws", "--name", "ml-dev", "--region", "eu-west-1", "--yes"]
DOCUMENTED = {0, 1, 2, 3}
# Commands on a recorded stack: cheap (no offline plan), so every state runs them all.
ON_A_STACK = [
    ["outputs", "ml-dev"], ["outputs", "ml-dev", "--show-secrets"],
    *(["export", "ml-dev", "--format", fmt] for fmt in ("zenml", "json", "dotenv", "kubeconfig")),
    ["preview", "ml-dev"], ["refresh", "ml-dev"], ["repair", "ml-dev", "--yes"], ["backup", "ml-dev"],
    ["destroy", "ml-dev", "--yes"], ["stacks"], ["forget", "ml-dev", "--yes"],
]
# Commands that plan the program offline (seconds each): run in the states where they read the home.
PLANNING = [["plan", "aws", "--name", "ml-dev"], ["check", "aws", "--name", "ml-dev"], DEPLOY, ["doctor"]]


def assert_clean(result, args, json_mode: bool) -> None:
    text = result.stdout + result.stderr
    assert "Traceback" not in text and "internal error" not in text, (args, text)
    assert result.exit_code in DOCUMENTED, (args, result.exit_code, text)
    if json_mode:
        doc = json.loads(result.stdout)  # exactly one document
        if result.exit_code and args[0] != "doctor":  # doctor's "not ready" is its list of checks (README)
            assert doc["error"]["exit_code"] == result.exit_code and doc["error"]["message"], (args, doc)
    elif result.exit_code and args[0] != "doctor":
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert errors, (args, result.stderr)


def drive(run, commands, *, json_mode: bool) -> dict[str, object]:
    """Run each command (each from the same state: copies of the home), return the results by command line."""
    results = {}
    for args in commands:
        full = [*args, "--output", "json"] if json_mode else list(args)
        result = run(*full)
        assert_clean(result, full, json_mode)
        results[" ".join(args)] = result
    return results


def state_home(state: str, run, home, monkeypatch, plans, tmp_path) -> None:
    """Bring RECIPE_HOME to `state` the way a user gets there."""
    engine = {"failed": FakeEngine(fail_at="cluster"), "interrupted": FakeEngine(interrupt_at="cluster", interrupt_mode="hard")}
    fake = engine.get(state, FakeEngine())
    monkeypatch.setattr(cli.context, "make_engine", lambda: fake)
    if state in ("failed", "interrupted", "destroyed"):
        run(*DEPLOY)
    if state == "destroyed":
        assert run("destroy", "ml-dev", "--yes").exit_code == 0
    if state == "adopted":
        path = tmp_path / "outputs.json"
        path.write_text(json.dumps(plans().raw_outputs))
        assert run("register", "ml-dev", "--outputs", str(path)).exit_code == 0
    if state == "corrupt":
        records = home / "config" / "stacks"
        records.mkdir(parents=True)
        (records / "ml-dev.json").write_text('{"name": "ml-dev", "provider": ')


@pytest.mark.parametrize("json_mode", [False, True], ids=["table", "json"])
@pytest.mark.parametrize("state", ["never-deployed", "failed", "interrupted", "destroyed", "adopted", "corrupt"])
def test_every_stack_command_in_every_state(run, home, monkeypatch, plans, tmp_path, state, json_mode):
    state_home(state, run, home, monkeypatch, plans, tmp_path)
    snapshot = {p: p.read_bytes() for p in home.rglob("*") if p.is_file()}
    for args in ON_A_STACK:
        drive(run, [args], json_mode=json_mode)
        if args[0] in ("destroy", "forget", "repair"):  # put the state back for the next command
            for p in [p for p in home.rglob("*") if p.is_file() and p not in snapshot]:
                p.unlink()
            for p, data in snapshot.items():
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(data)


@pytest.mark.parametrize("json_mode", [False, True], ids=["table", "json"])
def test_planning_commands_never_deployed(run, home, engine, json_mode):
    drive(run, PLANNING, json_mode=json_mode)


def test_a_stack_whose_deploy_failed_says_so_instead_of_an_empty_answer(run, home, monkeypatch, plans, tmp_path):
    state_home("failed", run, home, monkeypatch, plans, tmp_path)
    for args in (["outputs", "ml-dev"], *(["export", "ml-dev", "--format", f] for f in ("zenml", "json", "dotenv", "kubeconfig"))):
        result = run(*args, "--output", "json")
        assert result.exit_code == cli.EXIT_FAILED, (args, result.stdout)
        message = json.loads(result.stdout)["error"]["message"]
        assert "ml-dev has no outputs: its deploy failed" in message and "None" not in message
        assert "deploy it again" in message


def test_interrupted_stack_points_at_repair(run, home, monkeypatch, plans, tmp_path):
    state_home("interrupted", run, home, monkeypatch, plans, tmp_path)
    result = run("export", "ml-dev", "--format", "dotenv")
    assert result.exit_code == cli.EXIT_FAILED and "recipe repair ml-dev" in result.stderr


@pytest.mark.parametrize("json_mode", [False, True], ids=["table", "json"])
@pytest.mark.parametrize("layout", ["file", "under-a-file"])
def test_recipe_home_that_is_a_file_is_bad_input_naming_it(run, tmp_path, monkeypatch, engine, layout, json_mode):
    target = tmp_path / "home-file"
    target.write_text("not a folder")
    monkeypatch.setenv("RECIPE_HOME", str(target if layout == "file" else target / "sub"))
    outputs = tmp_path / "outputs.json"
    outputs.write_text("{}")
    commands = [["register", "ml-dev", "--outputs", str(outputs)], DEPLOY, ["stacks"], *ON_A_STACK[:3]]
    for args, result in drive(run, commands, json_mode=json_mode).items():
        assert result.exit_code == cli.EXIT_BAD_INPUT, (args, result.stderr)
        assert "RECIPE_HOME=" in result.stderr and "not a directory" in result.stderr
        assert len([line for line in result.stderr.splitlines() if line.startswith("error:")]) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory")
def test_read_only_home_is_one_line_naming_recipe_home(run, tmp_path, monkeypatch, engine):
    home = tmp_path / "ro"
    home.mkdir(mode=0o500)
    monkeypatch.setenv("RECIPE_HOME", str(home))
    result = run(*DEPLOY, "--output", "json")
    assert_clean(result, DEPLOY, True)
    assert result.exit_code == cli.EXIT_BAD_INPUT and "RECIPE_HOME" in result.stderr


def test_unwritable_file_under_home_names_recipe_home(monkeypatch, tmp_path):
    """What a read-only RECIPE_HOME raises (root cannot reproduce it) becomes one BadInput line."""
    from provisioner.paths import file_error

    monkeypatch.setenv("RECIPE_HOME", str(tmp_path))
    error = file_error(PermissionError(13, "Permission denied", str(tmp_path / "config" / "stacks")))
    assert error.exit_code == cli.EXIT_BAD_INPUT
    assert "Permission denied" in error.message and f"RECIPE_HOME={tmp_path} must be a writable directory" in error.message


def test_adopting_an_unknown_provider_is_refused_and_a_damaged_record_does_not_crash_export(run, home, plans, tmp_path, engine):
    raw = dict(plans().raw_outputs, provider="ibm")
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(raw))
    result = run("register", "ml-dev", "--outputs", str(path))
    assert result.exit_code == cli.EXIT_BAD_INPUT and "unknown provider 'ibm'" in result.stderr
    # A record edited (or written by another version) to a provider we do not know.
    path.write_text(json.dumps(plans().raw_outputs))
    assert run("register", "ml-dev", "--outputs", str(path)).exit_code == 0
    record_file = home / "config" / "stacks" / "ml-dev.json"
    record = json.loads(record_file.read_text())
    record["provider"] = record["outputs"]["provider"] = "ibm"
    record_file.write_text(json.dumps(record))
    for fmt in ("zenml", "dotenv", "json"):
        result = run("export", "ml-dev", "--format", fmt)
        assert_clean(result, fmt, False)
        assert result.exit_code == cli.EXIT_BAD_INPUT and "unknown provider 'ibm'" in result.stderr


@pytest.mark.parametrize("command", [["outputs"], ["destroy", "--yes"], ["preview"], ["refresh"], ["export"], ["forget", "--yes"], ["backup"]])
@pytest.mark.parametrize("name", ["", "Bad_Name"])
def test_an_invalid_name_is_bad_input_in_every_command(run, home, engine, command, name):
    result = run(command[0], name, *command[1:], "--output", "json")
    assert result.exit_code == cli.EXIT_BAD_INPUT, result.stderr
    assert "--name" not in json.loads(result.stdout)["error"]["message"]


@pytest.mark.parametrize("args", [
    ["outputs", "ml-dev", "--bogus"],  # unknown option
    ["outputs"],  # missing argument
    ["export", "ml-dev", "--format", "yaml"],  # bad choice
    ["nonsense"],  # unknown command
])
def test_usage_errors_are_json_documents_with_output_json(run, home, args):
    result = run(*args, "--output", "json")
    assert result.exit_code == cli.EXIT_BAD_INPUT
    error = json.loads(result.stdout)["error"]
    assert error["exit_code"] == cli.EXIT_BAD_INPUT and error["message"]
    plain = run(*args)
    assert plain.exit_code == cli.EXIT_BAD_INPUT and plain.stdout == ""


OPEN = {"aws": [], "gcp": ["--project", "demo-project"], "azure": []}


@pytest.mark.parametrize("provider", sorted(OPEN))
def test_allow_cidr_0_0_0_0_slash_0_is_open_to_the_internet_in_plan_and_check(run, home, provider):
    """0.0.0.0/0 restricts nothing: plan warns as without --allow-cidr, and C1/T1 say open (warn), not restricted."""
    args = [provider, *OPEN[provider], "--allow-cidr", "0.0.0.0/0"]
    plan = run("plan", *args, "--output", "json")
    assert plan.exit_code == 0, plan.stderr
    assert any("open to the whole internet" in w and "0.0.0.0/0" in w for w in json.loads(plan.stdout)["warnings"])
    check = run("check", *args, "--output", "json")
    assert_clean(check, ["check", *args], True)
    rules = {r["id"]: r for r in json.loads(check.stdout)["rules"]}
    for rule in ("C1", "T1"):
        assert rules[rule]["status"] == "warn", rules[rule]
        assert "open to the internet" in rules[rule]["detail"]
        assert "ignores" not in rules[rule]["detail"] and "limited to" not in rules[rule]["detail"]
    restricted = run("check", provider, *OPEN[provider], "--allow-cidr", "203.0.113.0/24", "--output", "json")
    assert {r["id"]: r["status"] for r in json.loads(restricted.stdout)["rules"]}["T1"] == "pass"
