"""What a deploy refuses before anything is recorded or created: a private endpoint that could never be
reached, a --kms change that would replace the registry. And what it allows instead."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from provisioner import cli

DEPLOY = {
    "aws": ["aws", "--region", "eu-west-1"],
    "gcp": ["gcp", "--project", "demo-project", "--region", "us-central1"],
    "azure": ["azure", "--region", "westeurope"],
}


def run(*args: str):
    return CliRunner().invoke(cli.app, list(args), catch_exceptions=False)


@pytest.mark.parametrize("provider", ["aws", "azure"])
def test_a_first_deploy_with_a_private_endpoint_is_refused_before_anything(home, engine, provider):
    result = run("deploy", *DEPLOY[provider], "--private-endpoint", "--yes", "--output", "json")
    assert result.exit_code == 2
    message = json.loads(result.stdout)["error"]["message"]
    assert "cannot be reached by the deploy that creates" in message and "--allow-cidr YOUR.IP/32" in message
    assert engine.calls == [] and engine.lookups == []
    assert run("stacks", "--output", "json").stdout.strip() == "[]"  # nothing recorded


@pytest.mark.parametrize("provider", ["aws", "azure"])
def test_switching_an_existing_stack_to_a_private_endpoint_is_allowed(home, engine, provider):
    assert run("deploy", *DEPLOY[provider], "--yes").exit_code == 0
    result = run("deploy", *DEPLOY[provider], "--private-endpoint", "--yes")
    assert result.exit_code == 0, result.output
    assert "every deploy must run from there" in result.stderr


def test_gke_private_endpoint_deploys_from_anywhere(home, engine):
    result = run("deploy", *DEPLOY["gcp"], "--private-endpoint", "--yes")
    assert result.exit_code == 0, result.output
    assert "DNS endpoint, where Google IAM" in result.stderr


def test_destroy_cluster_gone_reaches_the_engine_and_is_asked_for(home, engine):
    assert run("deploy", *DEPLOY["aws"], "--yes").exit_code == 0
    refused = CliRunner().invoke(cli.app, ["destroy", "ml-dev", "--cluster-gone"], input="")
    assert refused.exit_code == 3 and engine.cluster_gone_destroys == 0
    assert run("destroy", "ml-dev", "--cluster-gone", "--yes").exit_code == 0
    assert engine.cluster_gone_destroys == 1


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure"])
def test_toggling_kms_on_a_stack_with_a_registry_is_refused(home, engine, provider):
    # The registry's encryption is fixed at creation: the change would replace it, images and all.
    assert run("deploy", *DEPLOY[provider], "--yes").exit_code == 0
    result = run("deploy", *DEPLOY[provider], "--kms", "--yes", "--output", "json")
    assert result.exit_code == 2
    assert "would replace the registry and delete every image" in json.loads(result.stdout)["error"]["message"]
    # Without the registry, or as a new stack, the same change is fine (on AWS in another region:
    # the ECR repository ZenML pushes to is one per account and region).
    elsewhere = ["aws", "--region", "eu-central-1"] if provider == "aws" else DEPLOY[provider]
    assert run("deploy", *elsewhere, "--kms", "--name", "ml-kms", "--yes").exit_code == 0


def test_a_second_aws_stack_with_a_registry_in_the_same_region_is_refused(home, engine):
    """Its ECR repository would be `zenml` too (ZenML's only name): refused before anything, not
    half-created and failing on "already exists" (what the model's cloud answers)."""
    assert run("deploy", *DEPLOY["aws"], "--yes").exit_code == 0
    result = run("deploy", *DEPLOY["aws"], "--name", "ml-two", "--yes")
    assert result.exit_code == 2
    assert "ml-dev already holds the ECR repository `zenml` in eu-west-1" in result.stderr
    assert "--without registry" in result.stderr
    assert run("deploy", *DEPLOY["aws"], "--name", "ml-two", "--without", "registry", "--yes").exit_code == 0
    # Once the first stack's registry is deleted, the name is free.
    assert run("destroy", "ml-dev", "--yes", "--delete-data").exit_code == 0
    assert run("deploy", *DEPLOY["aws"], "--name", "ml-three", "--yes").exit_code == 0


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure"])
def test_turning_kept_audit_logs_off_is_refused_and_on_is_allowed(home, engine, provider):
    # Their stores are kept like the data: an update deleting them would fail on them half-way.
    assert run("deploy", *DEPLOY[provider], "--audit-logs", "--yes").exit_code == 0
    calls = len(engine.calls)
    result = run("deploy", *DEPLOY[provider], "--no-audit-logs", "--yes", "--output", "json")
    assert result.exit_code == 2
    message = json.loads(result.stdout)["error"]["message"]
    assert "turning --audit-logs off would have to delete them" in message and "--delete-data" in message
    assert len(engine.calls) == calls  # refused before the engine
    assert run("deploy", *DEPLOY[provider], "--audit-logs", "--yes").exit_code == 0


def test_turning_azure_network_rules_off_is_refused(home, engine):
    assert run("deploy", *DEPLOY["azure"], "--network-rules", "--yes").exit_code == 0
    result = run("deploy", *DEPLOY["azure"], "--no-network-rules", "--yes", "--output", "json")
    assert result.exit_code == 2 and "Premium tier" in json.loads(result.stdout)["error"]["message"]
    # Turning them on, from a stack without them, is an ordinary update.
    assert run("deploy", "azure", "--region", "westeurope", "--name", "other", "--yes").exit_code == 0
    assert run("deploy", "azure", "--region", "westeurope", "--name", "other", "--network-rules", "--yes").exit_code == 0
