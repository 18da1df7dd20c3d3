"""`recipe register` checks what it adopts as `recipe deploy` checks a spec (provider, region,
names, components) and every value as our programs emit it; `recipe check NAME` on an adopted
stack checks the program its outputs correspond to, and says so.

The outputs files are the real plans' outputs (what `pulumi stack output --json --show-secrets`
prints for our program), one value changed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from provisioner import cli
from provisioner.stacks.records import StackRecords, local_secrets_file
from recipes.spec import COMPONENTS

from tests.recipes.plans import PROGRAM_REGION, PROVIDERS, program_spec

STORAGE_ONLY = ["cluster", "tracker", "deployer"]


@pytest.fixture
def run():
    runner = CliRunner()
    return lambda *args: runner.invoke(cli.app, list(args), catch_exceptions=False)


def outputs_of(plans, provider: str, **values) -> dict:
    """The outputs file of `provider`'s stack (in the program tests' region) planned with `values`."""
    return json.loads(json.dumps(plans(program_spec(provider, **values)).raw_outputs))


def register(run, tmp_path: Path, data: dict, *extra: str):
    path = tmp_path / "ml-dev.outputs.json"
    path.write_text(json.dumps(data))
    return run("register", "ml-dev", "--outputs", str(path), *extra)


def set_value(data: dict, path: str, value) -> dict:
    *components, key = path.split(".")
    target = data
    for component in components:
        target = target[component]
    target[key] = value
    return data


def one_error_line(result) -> str:
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "Traceback" not in result.stderr
    return line


# --------------------------------------------------------------------------
# refused: exit 2, one line naming the key, nothing recorded

REFUSED = [
    # (cloud, key, value, what the message says besides the key)
    ("aws", "provider", "ibm", "unknown provider 'ibm'"),
    ("aws", "region", "mars-1", "unknown aws region 'mars-1'"),
    ("aws", "tracker.flavor", "wandb", "expected mlflow"),
    ("aws", "deployer.flavor", "kfserving", "seldon or kserve"),
    ("aws", "bucket.uri", "not-a-uri", "e.g. s3://"),
    ("aws", "bucket.uri", "gs://ml-dev-artifacts-abc123", "e.g. s3://"),
    ("gcp", "bucket.uri", "s3://ml-dev-artifacts-abc123", "e.g. gs://"),
    ("azure", "bucket.uri", "gs://ml-dev-artifacts-abc123", "e.g. az://"),
    ("aws", "registry.uri", "us-central1-docker.pkg.dev/demo-project/ml-dev", "amazonaws.com"),
    ("gcp", "registry.uri", "crmldevabc123.azurecr.io", "docker.pkg.dev"),
    ("azure", "registry.uri", "123456789012.dkr.ecr.eu-west-1.amazonaws.com", "azurecr.io"),
    ("aws", "tracker.uri", "mlflow.example:5000", "http(s) URL"),
    ("aws", "cluster.endpoint", "http://203.0.113.7", "https URL"),
    ("aws", "cluster.kubeconfig", "apiVersion: v1\nclusters: [\n", "is not YAML"),
    ("aws", "cluster.context", "admin@elsewhere", "no context named 'admin@elsewhere'"),
    ("aws", "tracker.ca_certificate", "MIIBszCCAVmgAwIBAgIU", "PEM certificate"),
]


@pytest.mark.parametrize("provider, key, value, says", REFUSED, ids=[f"{p}-{k}-{v[:12]}" for p, k, v, _ in REFUSED])
def test_register_refuses_what_our_programs_never_emit(run, home, plans, tmp_path, provider, key, value, says):
    data = set_value(outputs_of(plans, provider), key, value)
    result = register(run, tmp_path, data)
    assert result.exit_code == 2, result.stderr
    line = one_error_line(result)
    named = "cluster.kubeconfig" if key == "cluster.context" else key  # the kubeconfig lacks the context named
    assert (f"'{named}'" in line or key == "provider") and says in line, line
    assert line.startswith(f"error: {tmp_path / 'ml-dev.outputs.json'}: ")
    if key.endswith("kubeconfig"):
        assert value.strip() not in line  # a secret is named, never shown
    assert StackRecords().find("ml-dev") is None and not local_secrets_file("ml-dev").exists()


def test_register_refuses_components_no_deploy_would_create(run, home, plans, tmp_path):
    data = outputs_of(plans, "aws")
    del data["cluster"]  # a tracker with no cluster to run on
    result = register(run, tmp_path, data)
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "without 'cluster'" in line and str(tmp_path / "ml-dev.outputs.json") in line
    assert StackRecords().find("ml-dev") is None


# --------------------------------------------------------------------------
# registered: each cloud's real outputs, and what the record says of the stack

@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_clouds_outputs_register_with_what_they_tell_of_the_stack(run, home, plans, tmp_path, provider):
    data = outputs_of(plans, provider)
    result = register(run, tmp_path, data)
    assert result.exit_code == 0, result.stderr
    record = StackRecords().get("ml-dev")
    assert (record.source, record.provider, record.region) == ("register", provider, PROGRAM_REGION[provider])
    expected = {"provider": provider, "name": "ml-dev", "region": PROGRAM_REGION[provider],
                "components": list(COMPONENTS), "deployer": "seldon"}
    if provider == "gcp":
        expected["project"] = "demo-project"  # from the Artifact Registry path
    assert record.spec == expected
    exported = run("export", "ml-dev", "--format", "json")
    assert exported.exit_code == 0 and json.loads(exported.stdout)["bucket"] == data["bucket"]


def test_a_kserve_stack_without_a_domain_registers(run, home, plans, tmp_path):
    data = outputs_of(plans, "azure", deployer="kserve")
    assert register(run, tmp_path, data).exit_code == 0
    assert StackRecords().get("ml-dev").spec["deployer"] == "kserve"


# --------------------------------------------------------------------------
# check on an adopted stack: the program its outputs correspond to, said

def check_json(run, *args: str) -> dict:
    result = run("check", *args, "--output", "json")
    assert result.exit_code in (0, 1), result.stderr
    return json.loads(result.stdout)


def verdicts(document: dict) -> list[tuple[str, str, str]]:
    return [(r["id"], r["status"], r["detail"]) for r in document["rules"]]


def test_check_on_an_adopted_stack_checks_the_components_it_has_and_says_so(run, home, plans, tmp_path):
    assert register(run, tmp_path, outputs_of(plans, "aws", without=STORAGE_ONLY)).exit_code == 0
    note = ("ml-dev was adopted from a `pulumi up` outputs file: checking recipe's program for aws eu-west-1 "
            "with components bucket, registry, not the deployed resources")
    table = run("check", "ml-dev")
    assert table.exit_code in (0, 1) and f"note: {note}" in table.stderr
    document = check_json(run, "ml-dev")
    assert document["checked"] == "program" and document["note"] == note
    # The same verdicts as checking that program by its flags.
    flags = ["aws", "--name", "ml-dev", "--region", "eu-west-1", *[x for c in STORAGE_ONLY for x in ("--without", c)]]
    described = check_json(run, *flags)
    assert verdicts(document) == verdicts(described) and described["note"] is None
    assert verdicts(document) != verdicts(check_json(run, "aws", "--name", "ml-dev", "--region", "eu-west-1"))


def test_check_names_the_deployer_and_a_gcp_project_it_could_not_know(run, home, plans, tmp_path):
    assert register(run, tmp_path, outputs_of(plans, "gcp", without=["registry", "deployer"])).exit_code == 0
    note = check_json(run, "ml-dev")["note"]
    assert "gcp us-central1 with components cluster, bucket, tracker and a placeholder project" in note
    assert register(run, tmp_path, outputs_of(plans, "gcp", deployer="kserve"), "--force").exit_code == 0
    note = check_json(run, "ml-dev")["note"]
    assert "components cluster, bucket, registry, tracker, deployer and the kserve deployer," in note
    assert "placeholder" not in note


def test_check_of_a_record_registered_before_it_knew_the_components_reads_its_outputs(run, home, plans, tmp_path):
    assert register(run, tmp_path, outputs_of(plans, "aws", without=STORAGE_ONLY)).exit_code == 0
    record_file = home / "config" / "stacks" / "ml-dev.json"
    record = json.loads(record_file.read_text())
    record["spec"] = {"provider": "aws", "name": "ml-dev", "region": "eu-west-1"}  # what register recorded before
    record_file.write_text(json.dumps(record))
    assert "with components bucket, registry," in check_json(run, "ml-dev")["note"]


def test_check_on_a_deployed_stack_is_unchanged(run, home, engine):
    assert run("deploy", "aws", "--name", "ml-dev", "--region", "eu-west-1", "--yes").exit_code == 0
    document = check_json(run, "ml-dev")
    assert document["stack"] == "ml-dev" and document["checked"] == "program" and document["note"] is None
    assert "adopted" not in run("check", "ml-dev").stderr


# --------------------------------------------------------------------------
# the program emits what register accepts: deploys record outputs without the form check
# (recipes/outputs.py `forms=False`), so this is where a form the table lacks shows up

VARIANTS = [{}, {"profile": "prod"}, {"deployer": "kserve"}, {"domain": "ml.example.com", "acme_email": "ops@example.com"},
            {"without": ["deployer"]}, {"private_endpoint": True}]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("values", VARIANTS, ids=lambda v: ",".join(v) or "default")
def test_every_planned_variant_emits_the_forms_register_accepts(plans, provider, values):
    from recipes import outputs

    data = outputs_of(plans, provider, **values)
    assert outputs.validate(data, source=f"{provider} {values}", forms=True) == outputs.validate(data, forms=False)
