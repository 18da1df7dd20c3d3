"""The CLI end to end, with FakeEngine at the engine seam and a throwaway RECIPE_HOME:
plan, bad input, deploy, destroy, and the security baseline that gates a deploy."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from provisioner import cli
from provisioner.analysis.baseline import RULES

from tests.cli.support import DEPLOY, files_under, password_of, stack_records

COMMANDS = ("plan", "deploy", "preview", "destroy", "stacks", "outputs", "export", "register", "doctor")


# --------------------------------------------------------------------------
# help and plan

def test_help_lists_every_command(run):
    result = run("--help")
    assert result.exit_code == 0
    for command in COMMANDS:
        assert f" {command} " in result.stdout or f" {command}\n" in result.stdout, command


def test_plan_json_is_one_document_with_masked_secrets(run, home):
    result = run("plan", "aws", "--name", "ml-dev", "--region", "eu-west-1", "--output", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) >= {"resources", "outputs"}
    first = doc["resources"][0]
    assert set(first) >= {"urn", "type", "name", "parent", "dependencies", "inputs"}
    types = {r["type"] for r in doc["resources"]}
    assert {"aws:eks/cluster:Cluster", "aws:s3/bucket:Bucket", "aws:ecr/repository:Repository"} <= types
    assert doc["outputs"]["tracker"]["password"] == "********"
    assert doc["outputs"]["cluster"]["kubeconfig"] == "********"
    # The admin password input of the MLflow secret is masked too.
    server_secret = next(r for r in doc["resources"] if r["type"] == "kubernetes:core/v1:Secret" and r["name"] == "tracker-server")
    assert server_secret["inputs"]["stringData"] == "********"
    # Offline: nothing was registered or written, except the plan cache (digests, 0600).
    written = [f for f in files_under(home)] if home.exists() else []
    assert all(f.relative_to(home).parts[:2] == ("cache", "plans") for f in written), written


def test_plan_table_shows_tree_dependencies_outputs_and_warning(run, home):
    result = run("plan", "aws", "--region", "eu-west-1", "--tree")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "aws:eks/cluster:Cluster" in out and "(kept on destroy)" in out
    assert "Dependencies" in out and "<-" in out
    assert "tracker.uri" in out and "********" in out
    assert "--allow-cidr" in result.stderr  # the open-endpoint warning


def test_plan_without_removes_the_component(run, home):
    result = run("plan", "aws", "--without", "deployer", "--without", "tracker", "--output", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert "tracker" not in doc["outputs"] and "deployer" not in doc["outputs"]
    releases = {r["name"] for r in doc["resources"] if r["type"].startswith("kubernetes:helm.sh")}
    assert releases == {"cluster-autoscaler"}  # part of the cluster, not of the tracker or deployer


def test_plan_reads_stack_file_and_flags_override_it(run, home, tmp_path):
    stack_file = tmp_path / "stack.yaml"
    stack_file.write_text("provider: aws\nname: from-file\nregion: eu-central-1\nwithout: [deployer]\nmax_nodes: 5\n")
    result = run("plan", "-f", str(stack_file), "--region", "eu-west-2", "--output", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["stack"] == "from-file" and doc["region"] == "eu-west-2"
    assert "deployer" not in doc["components"]
    nodes = next(r for r in doc["resources"] if r["type"] == "aws:eks/nodeGroup:NodeGroup")
    assert nodes["inputs"]["scalingConfig"]["maxSize"] == 5


# --------------------------------------------------------------------------
# bad input: non-zero, one line, no traceback, nothing written, no engine call

BAD_INPUTS = [
    (["plan", "aws", "--name", "ML_Dev"], "invalid stack name"),
    (["plan", "gcloud"], "provider"),
    (["plan", "aws", "--region", "eu-wset-1"], "did you mean eu-west-1"),
    (["plan", "aws", "--min-nodes", "4", "--max-nodes", "2"], "min_nodes (4) is greater than max_nodes (2)"),
    (["plan", "aws", "--allow-cidr", "10.0.0.1/8"], "host bits set"),
    (["plan", "aws", "--without", "cluster"], "needs the cluster"),
    (["deploy", "aws", "--name", "x", "--yes"], "invalid stack name"),
    (["deploy", "aws", "--region", "moon-1", "--yes"], "unknown aws region"),
    (["deploy", "aws", "--backend", "ftp://state", "--yes"], "not a Pulumi backend URL"),
]


@pytest.mark.parametrize("args,reason", BAD_INPUTS)
def test_bad_input_exits_2_with_one_line(run, home, engine, args, reason):
    result = run(*args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert reason in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert engine.calls == []
    assert not home.exists() or not files_under(home)


@pytest.mark.parametrize(
    "content,reason",
    [
        ("provider: aws\nname: ml-dev: oops\n", "stack.yaml:2: invalid YAML (mapping values are not allowed here)"),
        ("- just\n- a list\n", "expected a mapping"),
        ("provider: aws\nnodes: 3\n", "unknown field 'nodes'"),
        ("provider: aws\nmin_nodes: lots\n", "min_nodes: expected a whole number"),
        ("", "the file is empty"),
    ],
)
def test_malformed_stack_file(run, home, engine, tmp_path, content, reason):
    stack_file = tmp_path / "stack.yaml"
    stack_file.write_text(content)
    result = run("deploy", "-f", str(stack_file), "--yes")
    assert result.exit_code == 2
    assert reason in result.stderr and "Traceback" not in result.stderr
    assert engine.calls == []


# --------------------------------------------------------------------------
# deploy

def test_deploy_registers_a_ready_stack_without_secrets(run, home, engine):
    result = run(*DEPLOY)
    assert result.exit_code == 0, result.stderr
    record = stack_records().get("ml-dev")
    assert record.status == "ready" and record.source == "deploy" and record.secrets == "pulumi"
    assert record.backend == (home / "data" / "state").as_uri()
    assert record.pulumi_stack == "ml-dev" and record.provider == "aws" and record.region == "eu-west-1"
    assert record.outputs["bucket"]["uri"].startswith("s3://ml-dev-artifacts-")
    assert "password" not in record.outputs["tracker"] and "kubeconfig" not in record.outputs["cluster"]
    assert record.last_operation.status == "succeeded"
    # The password is nowhere on disk under our home, nor on screen.
    secret = password_of(engine)
    for path in files_under(home):
        assert secret not in path.read_text(errors="ignore"), path
    assert secret not in result.stdout + result.stderr
    # Progress: one line per resource when not a terminal, and a summary.
    assert "created        aws:eks/cluster:Cluster cluster" in result.stderr
    assert "create in" in result.stderr and "ready and registered" in result.stderr


def test_deploy_needs_yes_when_not_interactive(run, home, engine):
    result = run("deploy", "aws", "--name", "ml-dev")
    assert result.exit_code == 3
    assert "--yes" in result.stderr
    assert engine.calls == [] and stack_records().find("ml-dev") is None


@pytest.mark.parametrize("answer,deployed", [("y\n", True), ("n\n", False)])
def test_interactive_deploy_previews_then_asks(home, engine, monkeypatch, answer, deployed):
    monkeypatch.setattr(cli.context, "interactive", lambda: True)
    result = CliRunner().invoke(cli.app, DEPLOY[:-1], input=answer)  # no --yes
    assert [c[0] for c in engine.calls][:1] == ["preview"]
    assert "Deploy ml-dev (aws, eu-west-1):" in result.stderr and "to create" in result.stderr
    assert (result.exit_code == 0) is deployed
    assert any(c[0] == "up" for c in engine.calls) is deployed
    assert (stack_records().find("ml-dev") is not None) is deployed


def test_failed_deploy_is_recorded_and_keeps_what_was_known(run, home, engine):
    assert run(*DEPLOY, "--without", "deployer").exit_code == 0
    before = stack_records().get("ml-dev").outputs
    engine.fail_at = "tracker-gateway"  # new with the deployer: the second deploy creates it and fails
    result = run(*DEPLOY)
    assert result.exit_code == 1
    assert "AccessDenied" in result.stderr and "failing resource" in result.stderr
    assert "re-run `recipe deploy aws --name ml-dev --region eu-west-1`" in result.stderr
    record = stack_records().get("ml-dev")
    assert record.status == "failed"
    assert record.last_operation.status == "failed" and "AccessDenied" in record.last_operation.message
    assert record.last_operation.resource.endswith("::tracker-gateway")
    assert record.outputs == before  # nothing lost from the registry


def test_first_deploy_failing_is_still_registered(run, home, engine):
    engine.fail_at = "cluster-nodes"
    result = run(*DEPLOY)
    assert result.exit_code == 1
    record = stack_records().get("ml-dev")
    assert record.status == "failed" and record.backend and record.spec["name"] == "ml-dev"
    # Re-running resumes: the same target, and now it succeeds.
    engine.fail_at = None
    assert run(*DEPLOY).exit_code == 0
    assert stack_records().get("ml-dev").status == "ready"
    ups = [c for c in engine.calls if c[0] == "up"]
    assert ups[0][2] == ups[1][2]


def test_deploy_refuses_another_provider_or_backend_for_a_live_stack(run, home, engine):
    assert run(*DEPLOY).exit_code == 0
    result = run("deploy", "aws", "--name", "ml-dev", "--backend", "s3://elsewhere", "--yes")
    assert result.exit_code == 1 and "deploy it there" in result.stderr


# --------------------------------------------------------------------------
# destroy

def test_destroy_keeps_bucket_and_registry(run, home, engine):
    assert run(*DEPLOY).exit_code == 0
    result = run("destroy", "ml-dev", "--yes")
    assert result.exit_code == 0, result.stderr
    record = stack_records().get("ml-dev")
    assert record.status == "destroyed"
    kept = {(r["type"], r["id"]) for r in record.retained if r["primary"]}
    bucket_name = record.outputs["bucket"]["name"]
    assert kept == {("aws:s3/bucket:Bucket", bucket_name), ("aws:ecr/repository:Repository", "zenml")}
    # Settings of the kept bucket stay with it (not primary, still retained).
    assert any(r["type"] == "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock" for r in record.retained)
    assert bucket_name in result.stderr and "recipe destroy ml-dev --delete-data" in result.stderr
    assert set(record.outputs) >= {"bucket", "registry"} and "cluster" not in record.outputs
    assert ("destroy", "ml-dev", False) in engine.calls


def test_destroy_with_delete_data_keeps_nothing(run, home, engine):
    assert run(*DEPLOY).exit_code == 0
    result = run("destroy", "ml-dev", "--delete-data", "--yes")
    assert result.exit_code == 0, result.stderr
    record = stack_records().get("ml-dev")
    assert record.status == "destroyed" and record.retained == []
    assert "Kept" not in result.stderr
    assert ("destroy", "ml-dev", True) in engine.calls


def test_delete_data_still_works_after_a_plain_destroy(run, home, engine):
    assert run(*DEPLOY).exit_code == 0
    assert run("destroy", "ml-dev", "--yes").exit_code == 0
    key = next(iter(engine.state))
    kept = {r.type for r in engine.state[key] if r.custom}
    assert {"aws:s3/bucket:Bucket", "aws:ecr/repository:Repository"} <= kept  # still in the state
    assert "aws:eks/cluster:Cluster" not in kept
    result = run("destroy", "ml-dev", "--delete-data", "--yes")
    assert result.exit_code == 0, result.stderr
    assert engine.state[key] == [] and stack_records().get("ml-dev").retained == []
    assert "Kept" not in result.stderr


def test_redeploy_after_destroy_reuses_the_kept_data(run, home, engine):
    assert run(*DEPLOY).exit_code == 0
    bucket = stack_records().get("ml-dev").outputs["bucket"]["name"]
    assert run("destroy", "ml-dev", "--yes").exit_code == 0
    result = run(*DEPLOY)
    assert result.exit_code == 0, result.stderr
    record = stack_records().get("ml-dev")
    assert record.status == "ready" and record.outputs["bucket"]["name"] == bucket and record.retained == []
    # The bucket was not created again: it was already there.
    assert "created        aws:s3/bucket:Bucket bucket" not in result.stderr


def test_destroy_needs_confirmation_when_not_interactive(run, home, engine):
    assert run(*DEPLOY).exit_code == 0
    result = run("destroy", "ml-dev")
    assert result.exit_code == 3
    assert stack_records().get("ml-dev").status == "ready"
    assert not any(c[0] == "destroy" for c in engine.calls)


def test_destroy_unknown_stack(run, home, engine):
    result = run("destroy", "nope-stack", "--yes")
    assert result.exit_code == 2 and "no stack named 'nope-stack'" in result.stderr


# --------------------------------------------------------------------------
# check and the deploy gate

def test_check_prints_every_rule_and_exits_0_when_none_fails(run, home):
    result = run("check", "aws", "--output", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["passed"] is True and len(doc["rules"]) == len(RULES)
    c1 = next(r for r in doc["rules"] if r["id"] == "C1")
    assert c1["status"] == "warn" and "CKV_AWS_38" in c1["anchors"]
    table = run("check", "aws", "--allow-cidr", "203.0.113.0/24")
    assert table.exit_code == 0 and "D1" in table.stdout and "0 fail" not in table.stderr


def test_check_a_registered_stack(run, home, engine):
    assert run(*DEPLOY).exit_code == 0
    doc = json.loads(run("check", "ml-dev", "--output", "json").stdout)
    assert doc["stack"] == "ml-dev" and doc["provider"] == "aws"


@pytest.fixture
def failing_rule(monkeypatch):
    """A baseline where D1 fails, as it would if the program stopped retaining the bucket."""
    real = cli.context.run_checks

    def run_checks(spec):
        results = real(spec)
        for r in results:
            if r.rule.id == "D1":
                r.verdict.status, r.verdict.resources = "fail", ["bucket"]
        return results

    monkeypatch.setattr(cli.context, "run_checks", run_checks)


def test_check_exits_1_when_a_rule_fails(run, home, failing_rule):
    result = run("check", "aws", "--output", "json")
    assert result.exit_code == 1 and json.loads(result.stdout)["passed"] is False


def test_deploy_refuses_a_failing_stack_unless_skip_checks(run, home, engine, failing_rule):
    refused = run(*DEPLOY)
    assert refused.exit_code == 1
    assert "security rule D1 fails" in refused.stderr and "--skip-checks" in refused.stderr
    assert engine.calls == [] and stack_records().find("ml-dev") is None
    forced = run(*DEPLOY, "--skip-checks")
    assert forced.exit_code == 0 and "warning: security rule D1 fails" in forced.stderr
    assert stack_records().get("ml-dev").status == "ready"


def test_version_is_the_installed_distributions(run):
    from importlib import metadata

    result = run("--version")
    assert result.exit_code == 0 and result.stdout == f"recipe (stack-recipes) {metadata.version('stack-recipes')}\n"
