"""One-time cloud prerequisites of a first deploy (provisioner/operations/prerequisites.py), through the CLI.

The cloud CLIs are stand-ins: small scripts named `az` and `gcloud`, first on PATH, that
answer from a JSON file and record every call. The engine is the FakeEngine.

Azure: resource providers registered with consent (asked, or --yes), exactly the missing
ones, bounded in time; without consent and without a terminal, exit 3 with the commands.
GCP: Service Usage and Resource Manager must be on before the program enables the
others: exit 2 with the one command. `recipe doctor` shows both without changing anything.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from provisioner import cli

from provisioner.operations import prerequisites
from provisioner.engine import credential_hint
from provisioner.stacks.records import StackRecords
from recipes.spec import COMPONENTS

from tests.conftest import spec_for

pytestmark = pytest.mark.filterwarnings(r"ignore::DeprecationWarning:pulumi_(gcp|azure_native)\..*")

# A fresh subscription: only what every subscription has is registered.
FRESH = {
    "Microsoft.Authorization": "Registered", "Microsoft.Resources": "Registered",
    "Microsoft.ContainerService": "NotRegistered", "Microsoft.Network": "NotRegistered",
    "Microsoft.Compute": "NotRegistered", "Microsoft.Storage": "NotRegistered",
    "Microsoft.ContainerRegistry": "NotRegistered", "Microsoft.ManagedIdentity": "NotRegistered",
    "Microsoft.KeyVault": "NotRegistered", "Microsoft.Sql": "NotRegistered", "Microsoft.Web": "NotRegistered",
}
DEFAULT_STACK = ["Microsoft.ContainerService", "Microsoft.Network", "Microsoft.Compute", "Microsoft.ManagedIdentity",
                 "Microsoft.Storage", "Microsoft.ContainerRegistry"]
SUBSCRIPTION = "11111111-2222-4333-8444-555555555555"
DEPLOY_AZURE = ["deploy", "azure", "--name", "ml-dev"]
DEPLOY_GCP = ["deploy", "gcp", "--name", "ml-dev", "--project", "demo-project", "--region", "us-central1"]
BOOTSTRAP = ["serviceusage.googleapis.com", "cloudresourcemanager.googleapis.com"]
ENABLE = ("gcloud services enable serviceusage.googleapis.com cloudresourcemanager.googleapis.com "
          "--project demo-project")

STAND_IN = '''#!{python}
"""Stand-in for the {name} CLI: answers from {state}, records each call in {log}."""
import json, pathlib, sys

state_file, log = pathlib.Path({state!r}), pathlib.Path({log!r})
args = sys.argv[1:]
with log.open("a") as f:
    f.write(json.dumps(args) + "\\n")
state = json.loads(state_file.read_text())
if state.get("error"):
    print(state["error"], file=sys.stderr)
    sys.exit(1)


def value(flag):
    return args[args.index(flag) + 1]


if {name!r} == "az" and args[:2] == ["provider", "list"]:
    providers = state["providers"]
    print(json.dumps([{{"namespace": n, "state": s}} for n, s in providers.items()]))
    if not state.get("stuck"):  # a registration under way is done by the next look
        state["providers"] = {{n: "Registered" if s == "Registering" else s for n, s in providers.items()}}
elif {name!r} == "az" and args[:2] == ["provider", "register"]:
    if state.get("deny_register"):
        print("ERROR: (AuthorizationFailed) The client does not have authorization to perform action "
              "'Microsoft.ContainerService/register/action'", file=sys.stderr)
        sys.exit(1)
    state["providers"][value("--namespace")] = "Registering"
elif {name!r} == "gcloud" and args[:3] == ["services", "list", "--enabled"]:
    print(json.dumps([{{"config": {{"name": api}}, "name": f"projects/123456789012/services/{{api}}", "state": "ENABLED"}}
                      for api in state["enabled"]]))
elif {name!r} == "gcloud" and args[:3] == ["config", "get-value", "project"]:
    print(state.get("project", "(unset)"))
else:
    print("stand-in: unexpected call: " + " ".join(args), file=sys.stderr)
    sys.exit(2)
state_file.write_text(json.dumps(state))
'''


class StandIn:
    """A cloud CLI on PATH answering from `state`; `calls` are its argument lists."""

    def __init__(self, bin_dir: Path, name: str, state: dict):
        self.name = name
        self.state_file = bin_dir.parent / f"{name}-state.json"
        self.log = bin_dir.parent / f"{name}-calls.jsonl"
        self.state_file.write_text(json.dumps(state))
        script = bin_dir / name
        script.write_text(STAND_IN.format(python=sys.executable, name=name, state=str(self.state_file), log=str(self.log)))
        script.chmod(0o755)

    def set(self, **state) -> None:
        self.state_file.write_text(json.dumps({**json.loads(self.state_file.read_text()), **state}))

    @property
    def calls(self) -> list[list[str]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []

    def registered(self) -> list[str]:
        return [c[c.index("--namespace") + 1] for c in self.calls if c[:2] == ["provider", "register"]]

    def providers(self) -> dict[str, str]:
        return json.loads(self.state_file.read_text())["providers"]


@pytest.fixture
def bin_dir(tmp_path, monkeypatch):
    path = tmp_path / "bin"
    path.mkdir()
    monkeypatch.setenv("PATH", f"{path}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.delenv("ARM_SUBSCRIPTION_ID", raising=False)
    monkeypatch.setattr(prerequisites, "POLL_SECONDS", 0)
    return path


@pytest.fixture
def az(bin_dir):
    return StandIn(bin_dir, "az", {"providers": dict(FRESH)})


@pytest.fixture
def gcloud(bin_dir):
    return StandIn(bin_dir, "gcloud", {"enabled": [*BOOTSTRAP, "storage.googleapis.com"], "project": "demo-project"})


@pytest.fixture
def run():
    runner = CliRunner()
    return lambda *args, input=None: runner.invoke(cli.app, list(args), input=input, catch_exceptions=False)


def commands_for(namespaces, subscription: str | None = None) -> list[str]:
    tail = f" --subscription {subscription}" if subscription else ""
    return [f"az provider register --namespace {n} --wait{tail}" for n in namespaces]


# --------------------------------------------------------------------------
# Azure: which providers, as data derived from the program's resource types

# The namespace of each azure-native module the Azure program declares resources from.
NAMESPACE_OF_MODULE = {
    "authorization": "Microsoft.Authorization", "containerregistry": "Microsoft.ContainerRegistry",
    "containerservice": "Microsoft.ContainerService", "keyvault": "Microsoft.KeyVault",
    "managedidentity": "Microsoft.ManagedIdentity", "network": "Microsoft.Network",
    "storage": "Microsoft.Storage", "resources": "Microsoft.Resources",
}


@pytest.mark.parametrize("flags", [
    {}, {"kms": True}, {"without": ["cluster", "tracker", "deployer"]},
    {"without": ["cluster", "tracker", "deployer"], "kms": True}, {"without": ["bucket", "registry", "tracker", "deployer"]},
], ids=["default", "kms", "storage-only", "storage-only-kms", "cluster-only"])
def test_providers_cover_every_resource_type_the_program_declares(plans, flags):
    spec = spec_for("azure", **flags)
    modules = {r.type.split(":")[1] for r in plans(spec).resources if r.type.startswith("azure-native:")}
    assert modules <= set(NAMESPACE_OF_MODULE), modules - set(NAMESPACE_OF_MODULE)  # a new module: map it
    declared = {NAMESPACE_OF_MODULE[m] for m in modules} - {"Microsoft.Resources"}  # built into every subscription
    needed = prerequisites.azure_providers(spec.components, kms=spec.kms)
    assert declared <= set(needed)
    if spec.has("cluster"):
        assert "Microsoft.Compute" in needed  # AKS's nodes: scale sets and disks in the node resource group


def test_providers_of_the_default_stack_and_with_kms():
    assert prerequisites.azure_providers(COMPONENTS) == ("Microsoft.Authorization", *DEFAULT_STACK)
    assert prerequisites.azure_providers(COMPONENTS, kms=True) == ("Microsoft.Authorization", *DEFAULT_STACK, "Microsoft.KeyVault")
    assert prerequisites.azure_providers(("bucket",)) == ("Microsoft.Authorization", "Microsoft.Storage")


# --------------------------------------------------------------------------
# Azure: deploy registers exactly the missing providers, with consent

def test_deploy_with_yes_registers_exactly_the_missing_providers_before_the_engine(run, home, engine, az, monkeypatch):
    seen = []
    monkeypatch.setattr(cli, "make_engine", lambda: (seen.append(az.registered()), engine)[1])
    result = run(*DEPLOY_AZURE, "--yes")
    assert result.exit_code == 0, result.stderr
    assert sorted(az.registered()) == sorted(DEFAULT_STACK)
    assert seen == [az.registered()]  # all of it before the engine was made
    assert all(az.providers()[n] == "Registered" for n in DEFAULT_STACK)
    assert az.providers()["Microsoft.KeyVault"] == "NotRegistered" and az.providers()["Microsoft.Sql"] == "NotRegistered"
    assert [c[0] for c in engine.calls] == ["up"]
    assert "waiting for" in result.stderr and "registered Microsoft.ContainerService" in result.stderr
    list_call = az.calls[0]
    assert list_call == ["provider", "list", "--query", "[].{namespace:namespace, state:registrationState}", "-o", "json"]


def test_deploy_with_kms_also_registers_key_vault(run, home, engine, az):
    assert run(*DEPLOY_AZURE, "--kms", "--yes").exit_code == 0
    assert sorted(az.registered()) == sorted([*DEFAULT_STACK, "Microsoft.KeyVault"])


def test_deploy_registers_only_what_is_missing(run, home, engine, az):
    az.set(providers={**FRESH, "Microsoft.Network": "Registered", "Microsoft.Compute": "Registered",
                      "Microsoft.Storage": "Registered"})
    assert run(*DEPLOY_AZURE, "--yes").exit_code == 0
    assert sorted(az.registered()) == sorted(["Microsoft.ContainerService", "Microsoft.ManagedIdentity", "Microsoft.ContainerRegistry"])


def test_deploy_in_a_registered_subscription_only_reads(run, home, engine, az):
    az.set(providers={n: "Registered" for n in FRESH})
    result = run(*DEPLOY_AZURE, "--yes")
    assert result.exit_code == 0, result.stderr
    assert [c[:2] for c in az.calls] == [["provider", "list"]]
    assert "resource provider" not in result.stderr


def test_a_registration_under_way_is_waited_for_not_repeated(run, home, engine, az):
    az.set(providers={**{n: "Registered" for n in FRESH}, "Microsoft.ContainerService": "Registering"})
    result = run(*DEPLOY_AZURE)  # no --yes, no terminal: waiting changes nothing, needs no consent...
    assert az.registered() == []
    assert "waiting for Microsoft.ContainerService" in result.stderr
    assert result.exit_code == 3 and "pass --yes" in result.stderr  # ...the deploy itself still does


def test_without_yes_and_without_a_terminal_exit_3_with_the_commands(run, home, engine, az):
    result = run(*DEPLOY_AZURE)
    assert result.exit_code == 3
    for command in commands_for(DEFAULT_STACK):
        assert command in result.stderr
    assert "--yes" in result.stderr
    assert az.registered() == [] and engine.calls == []
    assert StackRecords().find("ml-dev") is None


def test_without_consent_the_json_error_lists_the_commands(run, home, engine, az):
    result = run(*DEPLOY_AZURE, "--output", "json")
    assert result.exit_code == 3
    error = json.loads(result.stdout)["error"]
    assert error["exit_code"] == 3 and error["commands"] == commands_for(DEFAULT_STACK)
    assert az.registered() == []


@pytest.mark.parametrize("answer,registered", [("y\ny\n", True), ("n\n", False)])
def test_interactive_deploy_asks_before_registering(run, home, engine, az, monkeypatch, answer, registered):
    monkeypatch.setattr(cli, "_interactive", lambda: True)
    result = run(*DEPLOY_AZURE, input=answer)
    assert "Register them now" in result.stderr
    if registered:
        assert result.exit_code == 0, result.stderr
        assert sorted(az.registered()) == sorted(DEFAULT_STACK)
        assert [c[0] for c in engine.calls] == ["preview", "up"]
    else:
        assert result.exit_code == 3
        assert az.registered() == [] and engine.calls == []
        assert commands_for(DEFAULT_STACK)[0] in result.stderr


def test_the_subscription_of_arm_subscription_id_is_the_one_checked_and_registered(run, home, engine, az, monkeypatch):
    monkeypatch.setenv("ARM_SUBSCRIPTION_ID", SUBSCRIPTION)
    result = run(*DEPLOY_AZURE)
    assert result.exit_code == 3
    assert all(command in result.stderr for command in commands_for(DEFAULT_STACK, SUBSCRIPTION))
    assert run(*DEPLOY_AZURE, "--yes").exit_code == 0
    assert az.calls and all(c[c.index("--subscription") + 1] == SUBSCRIPTION for c in az.calls)


def test_a_refused_registration_stops_before_the_engine(run, home, engine, az):
    az.set(deny_register=True)
    result = run(*DEPLOY_AZURE, "--yes")
    assert result.exit_code == 1
    assert "AuthorizationFailed" in result.stderr and commands_for(DEFAULT_STACK)[0] in result.stderr
    assert engine.calls == []


def test_registration_is_bounded_in_time(run, home, engine, az, monkeypatch):
    az.set(stuck=True)  # registrations that never finish
    monkeypatch.setattr(prerequisites, "REGISTER_TIMEOUT_SECONDS", 0)
    result = run(*DEPLOY_AZURE, "--yes")
    assert result.exit_code == 1
    assert "still not registered" in result.stderr and engine.calls == []


def test_without_az_the_check_is_skipped_with_a_note(run, home, engine, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    result = run(*DEPLOY_AZURE, "--yes")
    assert result.exit_code == 0, result.stderr
    assert "note: could not check the Azure resource providers" in result.stderr
    assert "az CLI not found" in result.stderr and "MissingSubscriptionRegistration" in result.stderr


def test_an_az_that_cannot_answer_skips_the_check(run, home, engine, az):
    az.set(error="ERROR: Please run 'az login' to setup account.")
    result = run(*DEPLOY_AZURE, "--yes")
    assert result.exit_code == 0, result.stderr
    assert "az login" in result.stderr and az.registered() == []


def test_plan_registers_nothing_and_does_not_ask(run, home, az):
    result = run("plan", "azure", "--kms", "--output", "json")
    assert result.exit_code == 0, result.stderr
    assert az.calls == []


def test_missing_subscription_registration_is_explained_with_the_command():
    error = ('Code="MissingSubscriptionRegistration" Message="The subscription is not registered to use namespace '
             "'Microsoft.ContainerService'. See https://aka.ms/rps-not-found for how to register subscriptions.\"")
    hint = credential_hint("azure", ["error: creating ManagedCluster", error])
    assert hint is not None and "`az provider register --namespace Microsoft.ContainerService --wait`" in hint
    assert credential_hint("aws", [error]) is None


# --------------------------------------------------------------------------
# GCP: the bootstrap APIs

def test_gcp_deploy_with_the_bootstrap_apis_on_proceeds(run, home, engine, gcloud):
    result = run(*DEPLOY_GCP, "--yes")
    assert result.exit_code == 0, result.stderr
    assert ["services", "list", "--enabled", "--project", "demo-project", "--format=json"] in gcloud.calls
    assert not [c for c in gcloud.calls if c[:2] == ["services", "enable"]]


@pytest.mark.parametrize("off", [["serviceusage.googleapis.com"], ["cloudresourcemanager.googleapis.com"], BOOTSTRAP])
def test_gcp_deploy_stops_with_exit_2_and_the_one_command(run, home, engine, gcloud, off):
    gcloud.set(enabled=[api for api in [*BOOTSTRAP, "storage.googleapis.com"] if api not in off])
    result = run(*DEPLOY_GCP, "--yes")
    assert result.exit_code == 2
    assert ENABLE in result.stderr
    assert all(api in result.stderr for api in off)
    assert engine.calls == [] and StackRecords().find("ml-dev") is None  # nothing recorded
    assert not [c for c in gcloud.calls if c[:2] == ["services", "enable"]]
    doc = json.loads(run(*DEPLOY_GCP, "--yes", "--output", "json").stdout)
    assert doc["error"]["exit_code"] == 2 and doc["error"]["commands"] == [ENABLE]


def test_gcp_service_usage_off_where_gcloud_bills_is_reported_as_off(run, home, engine, gcloud):
    gcloud.set(error="ERROR: (gcloud.services.list) PERMISSION_DENIED: Service Usage API has not been used in project "
                     "123456789012 before or it is disabled. Enable it by visiting https://console.developers.google.com"
                     "/apis/api/serviceusage.googleapis.com/overview?project=123456789012 then retry. reason: SERVICE_DISABLED")
    result = run(*DEPLOY_GCP, "--yes")
    assert result.exit_code == 2 and ENABLE in result.stderr


def test_without_gcloud_the_gcp_check_is_skipped_with_a_note(run, home, engine, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    result = run(*DEPLOY_GCP, "--yes")
    assert result.exit_code == 0, result.stderr
    assert "note: could not check" in result.stderr and "gcloud CLI not found" in result.stderr and ENABLE in result.stderr


def test_a_gcloud_that_cannot_answer_skips_the_gcp_check(run, home, engine, gcloud):
    gcloud.set(error="ERROR: (gcloud.services.list) You do not currently have an active account selected.")
    result = run(*DEPLOY_GCP, "--yes")
    assert result.exit_code == 0, result.stderr
    assert "active account" in result.stderr


def test_gcp_plan_does_not_check(run, home, gcloud):
    assert run("plan", "gcp", "--project", "demo-project", "--output", "json").exit_code == 0
    assert not [c for c in gcloud.calls if c[0] == "services"]


def test_bootstrap_apis_are_off_is_explained_with_the_command():
    error = ("googleapi: Error 403: Cloud Resource Manager API has not been used in project 123456789012 before or it is "
             "disabled. Enable it by visiting https://console.developers.google.com/apis/api/"
             "cloudresourcemanager.googleapis.com/overview?project=123456789012 then retry.")
    hint = credential_hint("gcp", [error])
    assert hint is not None
    assert ("gcloud services enable serviceusage.googleapis.com cloudresourcemanager.googleapis.com "
            "--project 123456789012") in hint


# --------------------------------------------------------------------------
# doctor: the same state, read only

def doctor_rows(run, tmp_path, monkeypatch) -> dict:
    monkeypatch.setenv("HOME", str(tmp_path / "empty-home"))
    result = run("doctor", "--output", "json")
    assert result.exit_code == 0, result.stderr
    return {c["name"]: c for c in json.loads(result.stdout)}


@pytest.fixture
def only_stand_ins(bin_dir, monkeypatch):
    monkeypatch.setenv("PATH", str(bin_dir))  # no real cloud CLI: fast and hermetic
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "demo-project")


def test_doctor_shows_missing_azure_providers_and_changes_nothing(run, home, az, gcloud, only_stand_ins, tmp_path, monkeypatch):
    row = doctor_rows(run, tmp_path, monkeypatch)["azure resource providers"]
    assert row["status"] == "missing"
    for namespace in [*DEFAULT_STACK, "Microsoft.KeyVault"]:
        assert namespace in row["detail"]
    assert "Microsoft.Authorization" in row["detail"]  # registered
    assert "recipe deploy azure" in row["fix"] and commands_for(["Microsoft.KeyVault"])[0] in row["fix"]
    assert az.registered() == [] and [c[:2] for c in az.calls] == [["provider", "list"]]


def test_doctor_azure_providers_ok(run, home, az, gcloud, only_stand_ins, tmp_path, monkeypatch):
    az.set(providers={n: "Registered" for n in FRESH})
    row = doctor_rows(run, tmp_path, monkeypatch)["azure resource providers"]
    assert row["status"] == "ok" and "Microsoft.ContainerService" in row["detail"]


def test_doctor_shows_the_gcp_bootstrap_apis(run, home, az, gcloud, only_stand_ins, tmp_path, monkeypatch):
    assert doctor_rows(run, tmp_path, monkeypatch)["gcp bootstrap APIs"]["status"] == "ok"
    gcloud.set(enabled=["storage.googleapis.com"])
    row = doctor_rows(run, tmp_path, monkeypatch)["gcp bootstrap APIs"]
    assert row["status"] == "missing" and row["fix"] == ENABLE
    assert "serviceusage.googleapis.com" in row["detail"] and "cloudresourcemanager.googleapis.com" in row["detail"]
    assert not [c for c in gcloud.calls if c[:2] == ["services", "enable"]]


def test_doctor_without_the_clouds_clis_does_not_check(run, home, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "demo-project")
    rows = doctor_rows(run, tmp_path, monkeypatch)
    assert rows["azure resource providers"]["status"] == "not checked"
    assert rows["gcp bootstrap APIs"]["status"] == "not checked"
