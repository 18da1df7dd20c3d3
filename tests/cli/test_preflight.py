"""Preflight: a machine without a usable Pulumi CLI or the cloud's credentials is told the fix
(exit 2) before any stack record is written or a passphrase generated; `recipe doctor [PROVIDER]`
says the same with its exit code. The real PulumiEngine runs here (nothing patched at the
engine seam), against a bare PATH and home, or the stand-in `pulumi` of tests/support/standin.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from provisioner import paths
from provisioner.engine import EngineError
from provisioner.operations import preflight
from provisioner.stacks.records import StackRecord, StackRecords

from tests.conftest import aws_spec

STANDIN = Path(__file__).resolve().parents[1] / "support" / "standin" / "pulumi"
DEPLOY = {"aws": ("deploy", "aws", "--name", "ml-dev", "--yes"),
          "gcp": ("deploy", "gcp", "--name", "ml-dev", "--project", "demo-project", "--yes"),
          "azure": ("deploy", "azure", "--name", "ml-dev", "--yes")}
FIXES = {"aws": "aws configure", "gcp": "gcloud auth application-default login", "azure": "az login"}


@pytest.fixture
def bare(home, tmp_path, monkeypatch) -> Path:
    """No tools on PATH, an empty user home, no cloud credentials or passphrase in the environment: the bin dir."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    for key in list(os.environ):
        if key.startswith(("AWS_", "GOOGLE_", "AZURE_", "ARM_", "PULUMI_", "STANDIN_")) or key == preflight.AMBIENT_CREDENTIALS_ENV:
            monkeypatch.delenv(key)
    return bin_dir


def pulumi_standin(bin_dir: Path, monkeypatch, version: str = "3.200.0") -> None:
    """The stand-in Pulumi CLI on PATH answering `pulumi version` with `version`."""
    script = bin_dir / "pulumi"
    script.write_text(f"#!{sys.executable}\n" + STANDIN.read_text().split("\n", 1)[1])
    script.chmod(0o755)
    monkeypatch.setenv("STANDIN_VERSION", version)
    monkeypatch.setenv("STANDIN_STATE", str(bin_dir.parent / "standin-state"))


def assert_nothing_written() -> None:
    """No stack record (a record's lock file, which `forget` leaves, is not one) and no passphrase."""
    records_dir = paths.records_dir()
    found = [p.name for p in records_dir.iterdir() if not p.name.startswith(".")] if records_dir.exists() else []
    assert found == [] and StackRecords().all() == ([], [])
    assert not paths.passphrase_file().exists()


def failed_first_deploy(source: str = "deploy") -> StackRecord:
    """The record a first deploy that failed before creating anything leaves (or an adopted stack's)."""
    record = StackRecord(name="ml-dev", provider="aws", region="eu-west-1", status="failed", source=source,
                         backend="file:///nowhere" if source == "deploy" else None, pulumi_stack="ml-dev",
                         spec=aws_spec().to_mapping())
    record.start("deploy")
    record.finish("failed", "creating resource: AccessDenied")
    StackRecords().save(record)
    return StackRecords().get("ml-dev")


# --------------------------------------------------------------------------
# deploy

def test_deploy_without_pulumi_cli_stops_with_the_install_command_and_records_nothing(run, bare):
    result = run(*DEPLOY["aws"])
    assert result.exit_code == 2, result.stderr
    assert "error: the Pulumi CLI was not found" in result.stderr
    assert "recipe doctor --install-pulumi" in result.stderr
    assert "Deploying" not in result.stderr + result.stdout and "no changes" not in result.stderr + result.stdout
    assert_nothing_written()


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure"])
def test_deploy_without_credentials_stops_with_the_login_command(run, bare, monkeypatch, provider):
    pulumi_standin(bare, monkeypatch)
    result = run(*DEPLOY[provider])
    assert result.exit_code == 2, result.stderr
    assert f"error: no {provider} credentials on this machine" in result.stderr
    assert FIXES[provider] in result.stderr and preflight.AMBIENT_CREDENTIALS_ENV in result.stderr
    assert "Deploying" not in result.stderr
    assert_nothing_written()


def test_deploy_with_a_too_old_pulumi_cli_names_the_minimum(run, bare, monkeypatch):
    pulumi_standin(bare, monkeypatch, version="3.100.0")
    monkeypatch.setenv("AWS_PROFILE", "ml")
    result = run(*DEPLOY["aws"], "--output", "json")
    assert result.exit_code == 2, result.stderr
    assert "at least 3.181.0" in result.stderr and "3.100.0" in result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["exit_code"] == 2 and "recipe doctor --install-pulumi" in error["message"]
    assert_nothing_written()


def test_require_ready_passes_with_a_cli_and_credentials_found_or_ambient(bare, monkeypatch):
    from provisioner.engine.pulumi.cli import usable_pulumi_cli

    pulumi_standin(bare, monkeypatch)
    with pytest.raises(preflight.NotReady):
        preflight.require_ready("gcp", usable_pulumi_cli)
    monkeypatch.setenv(preflight.AMBIENT_CREDENTIALS_ENV, "1")
    preflight.require_ready("gcp", usable_pulumi_cli)
    monkeypatch.delenv(preflight.AMBIENT_CREDENTIALS_ENV)
    adc = Path(os.environ["HOME"]) / ".config" / "gcloud" / "application_default_credentials.json"
    adc.parent.mkdir(parents=True)
    adc.write_text("{}")
    preflight.require_ready("gcp", usable_pulumi_cli)
    assert_nothing_written()


# --------------------------------------------------------------------------
# commands on a recorded stack

@pytest.mark.parametrize("command", [("preview",), ("destroy", "--yes"), ("refresh",), ("repair", "--yes"), ("backup",)])
def test_commands_on_a_stack_stop_before_changing_its_record(run, bare, command):
    before = failed_first_deploy().to_json()
    result = run(command[0], "ml-dev", *command[1:])
    assert result.exit_code == 2, result.stderr
    assert "error: the Pulumi CLI was not found" in result.stderr
    assert "remove its record instead: recipe forget ml-dev" in result.stderr
    assert StackRecords().get("ml-dev").to_json() == before
    assert not paths.passphrase_file().exists()


def test_a_record_that_never_reached_the_cloud_can_be_forgotten(run, bare):
    failed_first_deploy()
    assert "recipe forget ml-dev" in run("destroy", "ml-dev", "--yes").stderr
    result = run("forget", "ml-dev", "--yes")
    assert result.exit_code == 0, result.stderr
    assert StackRecords().find("ml-dev") is None
    assert_nothing_written()


def test_destroy_of_an_adopted_stack_says_how_to_remove_its_record(run, bare):
    failed_first_deploy(source="register")
    result = run("destroy", "ml-dev", "--yes")
    assert result.exit_code == 1, result.stderr
    assert "not ours to change" in result.stderr and "`recipe forget ml-dev` removes it" in result.stderr
    assert not paths.passphrase_file().exists()


# --------------------------------------------------------------------------
# doctor

def test_doctor_exits_1_when_the_asked_cloud_cannot_be_deployed_to(run, bare):
    result = run("doctor", "aws", "--output", "json")
    assert result.exit_code == 1, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["provider"], doc["ready"]) == ("aws", False)
    assert doc["blocking"] == ["pulumi CLI", "aws credentials"]
    assert doc["verdict"].startswith("not ready: deploying to aws is impossible")
    checks = {c["name"]: c for c in doc["checks"]}
    assert checks["pulumi CLI"]["fix"] == "recipe doctor --install-pulumi"
    assert "gcp credentials" not in checks and "azure resource providers" not in checks
    table = run("doctor", "aws")
    assert table.exit_code == 1 and "not ready: deploying to aws" in table.stderr
    assert_nothing_written()


def test_doctor_exits_0_when_the_cli_and_credentials_are_there(run, bare, monkeypatch):
    pulumi_standin(bare, monkeypatch)
    monkeypatch.setenv("AWS_PROFILE", "ml")
    result = run("doctor", "aws", "--output", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["ready"], doc["blocking"]) == (True, [])
    checks = {c["name"]: c for c in doc["checks"]}
    assert checks["pulumi CLI"]["status"] == "ok" and "v3.200.0" in checks["pulumi CLI"]["detail"]
    # Credentials for aws only: `doctor` with no cloud is ready, `doctor gcp` is not.
    assert run("doctor").exit_code == 0
    assert run("doctor", "gcp").exit_code == 1


def test_doctor_says_a_failed_install_on_its_own_line(run, bare, monkeypatch):
    from provisioner.engine.pulumi import cli as pulumi_cli

    def offline():
        raise EngineError("could not install the Pulumi CLI: <urlopen error [Errno -2] Name or service not known>\n"
                          "Install it by hand instead: https://www.pulumi.com/docs/install/")

    monkeypatch.setattr(pulumi_cli, "install_pulumi_cli", offline)
    result = run("doctor", "aws", "--install-pulumi")
    assert result.exit_code == 1
    assert "error: could not install the Pulumi CLI: <urlopen error [Errno -2] Name or service not known>\n" in result.stderr
    assert "urlopen" not in result.stdout and "install failed" in result.stdout


def test_doctor_refuses_an_unknown_provider(run, bare):
    result = run("doctor", "ibm")
    assert result.exit_code == 2 and "unknown provider 'ibm'" in result.stderr
