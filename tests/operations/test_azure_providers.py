"""Azure resource providers, the one-time prerequisite of a first deploy
(provisioner/operations/prerequisites.py), through the CLI with an `az` stand-in and the FakeEngine.

Registered with consent (asked, or --yes), exactly the missing ones, bounded in time;
without consent and without a terminal, exit 3 with the commands.
"""

from __future__ import annotations

import json

import pytest

from provisioner import cli
from provisioner.engine.pulumi.messages import credential_hint
from provisioner.operations import prerequisites
from provisioner.stacks.records import StackRecords
from recipes.spec import COMPONENTS

from tests.conftest import spec_for

from tests.operations.cloud_clis import DEFAULT_STACK, FRESH, SUBSCRIPTION, commands_for

pytestmark = pytest.mark.filterwarnings(r"ignore::DeprecationWarning:pulumi_(gcp|azure_native)\..*")

DEPLOY_AZURE = ["deploy", "azure", "--name", "ml-dev"]


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
    up = engine.up
    monkeypatch.setattr(engine, "up", lambda *args, **kwargs: (seen.append(az.registered()), up(*args, **kwargs))[1])
    result = run(*DEPLOY_AZURE, "--yes")
    assert result.exit_code == 0, result.stderr
    assert sorted(az.registered()) == sorted(DEFAULT_STACK)
    assert seen == [az.registered()]  # all of it before the engine deployed anything
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
    monkeypatch.setattr(cli.context, "interactive", lambda: True)
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
