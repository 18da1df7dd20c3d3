"""Suggested commands reproduce what was planned, and -o/--output means the format everywhere.

`recipe plan`'s "Deploy it with:" line, parsed again by the real CLI, must describe the
same StackSpec as the plan it follows (issue 16, finding 2); `recipe export` writes its
file with --file/-f, the old -o PATH and --output-file still working with a warning for
one release (finding 5)."""

from __future__ import annotations

import json
import shlex

import pytest
import yaml

from provisioner import cli
from recipes.kubernetes.versions import kubernetes_range
from recipes.spec import COMPONENTS
from recipes.stack_fields import FLAG_FIELDS

from tests.cli.support import DEPLOY

PROJECT = ["--project", "demo-project"]  # a gcp stack needs one; the environment's is cleared below
REGIONS = {"aws": "eu-west-1", "gcp": "europe-west1", "azure": "westeurope", "kubernetes": "on-prem-eu1"}
BUCKET = ["--bucket", "s3://ml-artifacts", "--bucket-secret", "ml-keys"]  # a bucket of the user's needs its Secret
NODE_TYPES = {"aws": "m5.xlarge", "gcp": "e2-standard-4", "azure": "Standard_D4s_v5"}
ADMINS = {"aws": ["arn:aws:iam::123456789012:role/ml-admins", "arn:aws:iam::123456789012:user/alice"],
          "gcp": ["user:alice@example.com", "group:ml-team@example.com"],
          "azure": ["00000000-0000-0000-0000-00000000000a", "group:00000000-0000-0000-0000-00000000000b"]}


def sample_flags(field: str, provider: str) -> list[str]:
    """A valid value, not the default where the cloud has one, for each flag of the field table."""
    samples = {
        "name": ["-n", "team-a"],
        "region": ["--region", REGIONS[provider]],
        "location": ["--location", REGIONS[provider]],
        "project": ["--project", "other-project-7"],
        "zone": ["--zone", "us-central1-c"],
        "regional": ["--regional"],
        "without": ["--without", "deployer", "--without", "registry"],
        "profile": ["--profile", "prod"],
        # dev is spot on aws and gcp; an AKS system pool cannot be, so azure's only valid value is the default
        "spot": ["--on-demand"],
        "node_type": ["--node-type", NODE_TYPES.get(provider, "")],
        "min_nodes": ["--min-nodes", "2"],
        "max_nodes": ["--max-nodes", "7"],
        "network": ["--network", "public" if provider != "azure" else "private"],
        "allow_cidrs": ["--allow-cidr", "203.0.113.0/24", "--allow-cidr", "198.51.100.7/32"],
        "deployer": ["--deployer", "kserve"],
        "kubernetes_version": ["--kubernetes-version", kubernetes_range(COMPONENTS, "seldon").versions()[0]],
        "immutable_tags": ["--immutable-tags"],
        "tags": ["--tag", "team=ml-a", "--tag", "cost-center=r-d"],
        "suffix": ["--suffix", "abc123"],
        "kms": ["--kms"],
        "domain": ["--domain", "ml.example.com"],
        "acme_email": ["--domain", "ml.example.com", "--acme-email", "ops@example.com"],
        "audit_logs": ["--audit-logs"],
        "network_rules": ["--network-rules"],
        "private_endpoint": ["--private-endpoint"],
        "admins": [arg for admin in ADMINS.get(provider, ()) for arg in ("--admin", admin)],
        "context": ["--context", "k3d-ml"],
        "kubeconfig": ["--kubeconfig", "/etc/ml/kubeconfig"],
        "bucket": BUCKET,
        "bucket_endpoint": [*BUCKET, "--bucket-endpoint", "https://minio.example.com"],
        "bucket_secret": BUCKET,
        "registry": ["--registry", "registry.example.com/ml"],
        "expose": ["--expose", "nodeport"],
    }
    return samples[field]


CASES = [(provider, f.name) for provider in ("aws", "gcp", "azure", "kubernetes") for f in FLAG_FIELDS if provider in f.clouds]


@pytest.fixture
def planned(monkeypatch, home, plans):
    """`recipe plan` with the program's run replaced by one real plan: each call records the spec the CLI parsed."""
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    monkeypatch.delenv("CLOUDSDK_CORE_PROJECT", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")  # no gcloud to name a project: only the flags do
    result = plans().plan
    specs = []

    def plan_of(spec):
        specs.append(spec)
        return result

    monkeypatch.setattr(cli.context, "plan_of", plan_of)
    return specs


def hint_of(run, planned, *args: str):
    """Plan with `args`: the spec the CLI read and the argv of the "Deploy it with:" line."""
    result = run("plan", *args)
    assert result.exit_code == 0, result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.startswith("Deploy it with: ")]
    argv = shlex.split(line.removeprefix("Deploy it with: "))
    assert argv[:2] == ["recipe", "deploy"]
    return planned[-1], argv[2:]


def test_every_flag_has_a_sample():
    # A new field of the table must join the round trip below.
    for f in FLAG_FIELDS:
        for provider in f.clouds:
            assert sample_flags(f.name, provider)


@pytest.mark.parametrize("provider,field", CASES)
def test_deploy_hint_round_trips_each_flag(run, planned, provider, field):
    flags = sample_flags(field, provider)
    if provider == "gcp" and field != "project":
        flags = [*PROJECT, *flags]
    if provider == "kubernetes" and field not in ("registry", "without"):
        flags = ["--without", "registry", *flags]  # its registry is named or left out
    spec, argv = hint_of(run, planned, provider, *flags)
    again, argv_again = hint_of(run, planned, *argv)
    assert again == spec
    assert argv_again == argv  # the hint of the hint is the same command


def test_issue_example_keeps_project_components_and_cidrs(run, planned):
    spec, argv = hint_of(run, planned, "gcp", "--project", "demo-project", "--without", "deployer",
                         "--allow-cidr", "203.0.113.0/24", "-n", "team-a")
    assert argv == ["gcp", "--name", "team-a", "--region", "us-central1", "--project", "demo-project",
                    "--without", "deployer", "--allow-cidr", "203.0.113.0/24"]
    assert hint_of(run, planned, *argv)[0] == spec and "deployer" not in spec.components


def test_profile_defaults_are_not_repeated_but_overrides_are(run, planned):
    spec, argv = hint_of(run, planned, "aws", "--profile", "prod", "--spot", "--tag", "team=a b")
    assert argv == ["aws", "--name", "ml-dev", "--region", "us-east-1", "--profile", "prod", "--spot", "--tag", "team=a b"]
    assert hint_of(run, planned, *argv)[0] == spec and spec.kms and spec.spot


def test_hint_from_a_stack_file_names_the_file_and_the_flags_beside_it(run, planned, tmp_path):
    path = tmp_path / "my stack.yaml"
    path.write_text(yaml.safe_dump({"provider": "gcp", "project": "file-project", "name": "from-file",
                                    "components": ["cluster", "bucket", "tracker"], "tags": {"team": "ml"}}))
    spec, argv = hint_of(run, planned, "-f", str(path), "--zone", "us-central1-c", "--no-kms")
    assert argv == ["gcp", "-f", str(path), "--zone", "us-central1-c", "--no-kms"]
    assert spec.project == "file-project" and spec.components == ("cluster", "bucket", "tracker")
    assert hint_of(run, planned, *argv)[0] == spec


# --------------------------------------------------------------------------
# export: --file/-f, -o is the format, the old spellings warned about

def test_export_file_option_and_deprecated_spellings(run, home, engine, tmp_path):
    assert run(*DEPLOY).exit_code == 0
    for spelling in (["--file"], ["-f"], ["-o"], ["--output-file"]):
        target = tmp_path / f"stack{spelling[0]}.yaml"
        result = run("export", "ml-dev", *spelling, str(target))
        assert result.exit_code == 0, result.stderr
        assert yaml.safe_load(target.read_text())["stack_name"] == "ml-dev" and result.stdout == ""
        deprecated = spelling[0] in ("-o", "--output-file")
        assert ("deprecated" in result.stderr) == deprecated
        if deprecated:
            assert f"use --file {target}" in result.stderr


def test_export_o_json_is_the_format_not_a_file(run, home, engine, tmp_path, monkeypatch):
    assert run(*DEPLOY).exit_code == 0
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    result = run("export", "ml-dev", "-o", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["files"] == [] and yaml.safe_load(doc["content"])["stack_name"] == "ml-dev"
    assert list(work.iterdir()) == [] and "deprecated" not in result.stderr
    assert json.loads(run("export", "ml-dev", "-o", "json", "-f", "out.yaml").stdout)["files"][0]["file"] == "out.yaml"
    table = run("export", "ml-dev", "-o", "table", "--format", "json")
    assert json.loads(table.stdout)["stack_name"] == "ml-dev"  # the exported text itself


@pytest.mark.parametrize("args,message", [
    (["-o", "json", "--output", "table"], "-o json and --output table disagree"),
    (["-o", "dotenv"], "--format dotenv"),
    (["-f", "a.yaml", "-o", "b.yaml"], "two export files given"),
    (["-f", "a.yaml", "--output-file", "b.yaml"], "two export files given"),
])
def test_export_refuses_ambiguous_spellings(run, home, engine, tmp_path, monkeypatch, args, message):
    assert run(*DEPLOY).exit_code == 0
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    result = run("export", "ml-dev", *args)
    assert result.exit_code == cli.EXIT_BAD_INPUT and message in result.stderr
    assert list(work.iterdir()) == []


def test_output_short_o_means_the_format_in_every_command():
    import typer.main

    group = typer.main.get_command(cli.app)
    for name, command in group.commands.items():
        for param in command.params:
            if "-o" in getattr(param, "opts", []):
                assert param.name in ("output", "short_output"), f"recipe {name}: -o is {param.name}"
