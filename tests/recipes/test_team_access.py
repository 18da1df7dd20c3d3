"""Team access (--admin): who may be named, and how, before any cloud call.

What each cloud grants the admins is in tests/recipes/{aws,gcp,azure}/test_admins.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from provisioner import cli
from recipes.facts import aws as aws_facts
from recipes.spec import Layer, SpecError, load_spec

from tests.conftest import spec_for
from tests.recipes.plans import ALICE, AWS_ADMINS, BOB, GCP_ADMINS, TEAMMATE


def error(provider: str, admins: Any, origin: str = "flags") -> str:
    extra = {"project": "demo-project"} if provider == "gcp" else {}
    with pytest.raises(SpecError) as info:
        load_spec(Layer(origin, {"provider": provider, **extra, "admins": admins}))
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("provider,admins,expected", [
    ("aws", ["arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123abcd"],
     ("--admin: EKS access entries take an IAM Identity Center (SSO) role's ARN without its "
     "aws-reserved/sso.amazonaws.com/eu-west-1/ path: use arn:aws:iam::123456789012:role/AWSReservedSSO_Admin_0123abcd")),
    ("aws", ["arn:aws:sts::123456789012:assumed-role/ml-admins/alice"],
     ("--admin: 'arn:aws:sts::123456789012:assumed-role/ml-admins/alice' is a role session, not a principal: "
     "give the role's ARN, arn:aws:iam::123456789012:role/ml-admins (with its path, if it has one)")),
    ("aws", ["alice"], "--admin: 'alice' is not an IAM role or user ARN (e.g. arn:aws:iam::123456789012:role/ml-admins)"),
    ("aws", ["arn:aws:iam::1234:role/ml-admins"],
     "--admin: 'arn:aws:iam::1234:role/ml-admins' is not an IAM role or user ARN (e.g. arn:aws:iam::123456789012:role/ml-admins)"),
    ("gcp", ["alice@example.com"],
     ("--admin: 'alice@example.com' is not an IAM member: write user:EMAIL, group:EMAIL or serviceAccount:EMAIL "
     "(e.g. user:alice@example.com)")),
    ("gcp", ["domain:example.com"],
     ("--admin: 'domain:example.com' is not an IAM member: write user:EMAIL, group:EMAIL or serviceAccount:EMAIL "
     "(e.g. user:alice@example.com)")),
    ("azure", ["alice@contoso.com"],
     ("--admin: 'alice@contoso.com' is not an Entra object id: give the principal's object id "
     "(az ad user show --id alice@contoso.com --query id -o tsv), optionally as user:<id>, group:<id> or servicePrincipal:<id>")),
    ("azure", [f"device:{ALICE}"],
     (f"--admin: 'device:{ALICE}' is not an Entra object id: give the principal's object id, "
     "optionally as user:<id>, group:<id> or servicePrincipal:<id>")),
    ("azure", [f"user:{ALICE}", ALICE.upper()], f"--admin: '{ALICE.upper()}' is listed twice"),
    ("aws", [AWS_ADMINS[0], AWS_ADMINS[0]], "--admin: 'arn:aws:iam::123456789012:role/ml-admins' is listed twice"),
])
def test_invalid_admins_are_refused_with_the_fix(provider, admins, expected):
    assert error(provider, admins) == expected


def test_a_stack_file_names_its_field():
    assert error("gcp", ["bob@example.com"], origin="team.yaml") == (
        "team.yaml: admins: 'bob@example.com' is not an IAM member: write user:EMAIL, group:EMAIL or "
        "serviceAccount:EMAIL (e.g. user:bob@example.com)")
    assert error("aws", {"a": "b"}, origin="team.yaml") == "team.yaml: admins: expected a list, got a mapping"


def test_admins_are_kept_in_each_clouds_own_form():
    assert spec_for("aws", admins=AWS_ADMINS).admins == (
        "arn:aws:iam::123456789012:role/ml-admins", "arn:aws:iam::210987654321:user/alice")
    # Roles with a path keep it (only the SSO path is one EKS does not match).
    assert spec_for("aws", admins=["arn:aws:iam::123456789012:role/teams/ml-admins"]).admins == (
        "arn:aws:iam::123456789012:role/teams/ml-admins",)
    assert spec_for("gcp", admins=["user:Alice@Example.com", "serviceAccount:ci@demo-project.iam.gserviceaccount.com"]).admins == (
        "user:alice@example.com", "serviceAccount:ci@demo-project.iam.gserviceaccount.com")
    assert spec_for("azure", admins=[f"User:{ALICE.upper()}", BOB, f"servicePrincipal:{TEAMMATE}"]).admins == (
        f"user:{ALICE}", BOB, f"servicePrincipal:{TEAMMATE}")
    # Pulumi config and --admin a,b give comma-separated text.
    assert spec_for("azure", admins=f"{ALICE}, {BOB}").admins == (ALICE, BOB)
    assert spec_for("aws").admins == ()


def test_admins_round_trip_through_the_stack_file():
    spec = spec_for("gcp", admins=GCP_ADMINS)
    mapping = spec.to_mapping()
    assert mapping["admins"] == ["user:alice@example.com", "group:ml-team@example.com"]
    assert load_spec(Layer("stack.yaml", mapping)) == spec


def test_the_cli_takes_repeatable_admin_flags(home):
    runner = CliRunner()
    result = runner.invoke(cli.app, ["plan", "aws", "--admin", AWS_ADMINS[0], "--admin", AWS_ADMINS[1], "--output", "json"],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    entries = sorted(r["inputs"]["principalArn"] for r in json.loads(result.stdout)["resources"] if r["type"] == aws_facts.EKS_ACCESS_ENTRY)
    assert entries == ["arn:aws:iam::123456789012:role/ml-admins", "arn:aws:iam::210987654321:user/alice"]

    bad = runner.invoke(cli.app, ["plan", "azure", "--admin", "alice@contoso.com"], catch_exceptions=False)
    assert bad.exit_code == 2
    lines = [line for line in bad.stderr.splitlines() if line.strip()]
    assert lines == [("error: --admin: 'alice@contoso.com' is not an Entra object id: give the principal's object id "
                     "(az ad user show --id alice@contoso.com --query id -o tsv), optionally as user:<id>, group:<id> "
                     "or servicePrincipal:<id>")]
