"""`recipe plan` and `recipe check` for the `kubernetes` provider: offline, with no kubeconfig and no cluster."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from provisioner import cli

STACK = ["kubernetes", "--context", "k3d-ml", "--name", "ml-local"]  # the first example, as written


@pytest.fixture(autouse=True)
def no_cluster(tmp_path, monkeypatch):
    monkeypatch.setenv("RECIPE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.setenv("HOME", str(tmp_path))


def run(*args: str):
    return CliRunner().invoke(cli.app, list(args), catch_exceptions=False)


def test_plan_prints_the_summary():
    result = run("plan", *STACK)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert re.match(r"Plan for ml-local \(kubernetes, in-cluster\): \d+ resources in \d+ total\n", out)
    assert "cloud resources" not in out  # nothing of a cloud's: Kubernetes objects and generated secrets
    words = " ".join(out.split())  # the outputs table's columns are as wide as its longest key
    for line in ("cluster.context k3d-ml", "cluster.endpoint https://<cluster-endpoint>",
                 "bucket.uri s3://ml-local-artifacts", "bucket.access_key_id ********"):
        assert line in words
    # The object store's namespace is counted in the bucket's row, not a row of its own.
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:10] if line.strip()}
    assert rows["bucket"][0] == "Bucket" and "objectstore-ns" not in rows and "objectstore" not in rows
    assert "registry.uri" not in out
    (note,) = [line for line in result.stderr.splitlines() if line.startswith("note: no registry")]
    # It points at the README section that says how k3d's and kind's registries plug in: that section exists.
    assert "--registry HOST" in note and "README, Your own cluster" in note
    section = (Path(__file__).parents[3] / "README.md").read_text().split("## Your own cluster\n", 1)[1].split("\n## ")[0]
    assert "k3d registry create" in section and "--registry localhost:5001" in section
    assert "Estimated cost: $0.00/month" in out
    # No cloud's notes: no global names to suffix, no API endpoint of ours to restrict.
    assert "global names" not in result.stderr and "Kubernetes API endpoint" not in result.stderr
    # The deploy command, as the user would type it: no region (a label the user never gave).
    assert result.stderr.endswith("Deploy it with: recipe deploy kubernetes --name ml-local --context k3d-ml\n")


def test_plan_cost_prices_only_what_we_add():
    doc = json.loads(run("plan", *STACK, "--cost", "--output", "json").stdout)
    cost = doc["cost"]
    items = {i["name"]: i for i in cost["items"]}
    assert items["objectstore"]["monthly_usd"] == 0 and items["tracker-db-data"]["monthly_usd"] == 0
    assert items["ingress-lb"]["monthly_usd"] is None  # the cluster's load balancer: not ours to price
    assert cost["monthly_total_usd"] == 0
    assert any("does not create it" in a for a in cost["assumptions"])
    assert any(a.startswith("persistent volumes on your cluster are priced at $0") for a in cost["assumptions"])
    table = run("plan", *STACK, "--cost")
    assert table.exit_code == 0 and "priced at $0" in table.stdout


def test_check_runs_the_workload_rules_and_leaves_cloud_rules_out():
    result = run("check", *STACK, "--output", "json")
    rules = {r["id"]: r for r in json.loads(result.stdout)["rules"]}
    for rule in ("N6", "T2", "T3", "T4", "D1"):
        assert rules[rule]["status"] == "pass", rules[rule]
    for rule in ("R1", "C1", "N1", "I1", "L1"):
        assert rules[rule]["status"] == "n/a" and "creates none" in rules[rule]["detail"]
    assert rules["S1"]["status"] == "pass", rules["S1"]


def test_a_named_registry_is_the_stacks_and_no_note_asks_for_one():
    result = run("plan", *STACK, "--registry", "k3d-registry.localhost:5000")
    assert result.exit_code == 0, result.stderr
    assert "registry.uri k3d-registry.localhost:5000" in " ".join(result.stdout.split())
    assert "no registry" not in result.stderr
    assert "--registry k3d-registry.localhost:5000" in result.stderr.splitlines()[-1]


def test_a_cloud_flag_is_refused():
    result = run("plan", *STACK, "--node-type", "t3.large")
    assert result.exit_code == 2 and "--node-type: only applies to stacks whose cluster stack-recipes creates" in result.stderr
