"""`pulumi up` without our CLI: recipes/__main__.py reads recipe:* stack config."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pulumi
import pytest

from provisioner.analysis.plan import run_plan
from recipes.spec import Layer, load_spec

MAIN = Path(__file__).resolve().parents[2] / "recipes" / "__main__.py"


def _run_main_script(_spec) -> None:
    runpy.run_path(str(MAIN), run_name="__main__")  # as Pulumi's Python host runs it; exports go to the stack


def run_main(config: dict[str, str], stack: str = "team-stack", *, cluster: dict[str, str] | None = None):
    """`cluster`: what the mock cloud's cluster holds, as a spec names it (the user's --bucket-secret)."""
    pulumi.runtime.set_all_config({f"recipe:{k}": v for k, v in config.items()})
    try:
        # The spec only names the mock stack (and what exists); the program reads its own from config.
        values = {"provider": "aws", "name": stack} if cluster is None else {"provider": "kubernetes", "name": stack,
                                                                              **cluster}
        return run_plan(load_spec(Layer("flags", values)), program=_run_main_script)
    finally:
        pulumi.runtime.set_all_config({})


def test_main_reads_stack_config():
    plan = run_main({"provider": "aws", "region": "eu-central-1", "without": "deployer,tracker", "max_nodes": "4",
                     "tags": '{"team": "vision"}', "suffix": "c0ffee"})
    assert plan.raw_outputs["region"] == "eu-central-1"
    assert plan.raw_outputs["stack_name"] == "team-stack"  # defaults to the Pulumi stack name
    assert "deployer" not in plan.raw_outputs and "tracker" not in plan.raw_outputs
    nodes = plan.one("aws:eks/nodeGroup:NodeGroup")
    assert nodes.inputs["scalingConfig"]["maxSize"] == 4
    provider = plan.one("pulumi:providers:aws")
    assert provider.inputs["region"] == "eu-central-1"
    # Provider configuration travels JSON-encoded.
    assert json.loads(provider.inputs["defaultTags"])["tags"]["team"] == "vision"


def test_main_rejects_bad_config_with_the_spec_message():
    with pytest.raises(Exception) as info:
        run_main({"provider": "aws", "region": "eu-west-9"})
    assert "unknown aws region 'eu-west-9'" in str(info.value)


def test_main_needs_the_stacks_own_suffix():
    with pytest.raises(Exception) as info:
        run_main({"provider": "aws", "region": "eu-west-1"}, stack="ml-dev")
    message = str(info.value)
    assert "recipe:suffix is not set" in message
    # Both fixes: a new random one, and the one a stack deployed before random suffixes has.
    assert "pulumi config set recipe:suffix ab18f7" in message
    assert message.count("pulumi config set recipe:suffix") == 2


def test_main_names_global_resources_with_the_configured_suffix():
    plan = run_main({"provider": "aws", "region": "eu-west-1", "suffix": "c0ffee"}, stack="ml-dev")
    assert plan.one("aws:s3/bucket:Bucket").inputs["bucket"] == "ml-dev-artifacts-c0ffee"


def test_main_plans_a_kubernetes_stack_from_config_with_no_suffix(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))  # no cluster: the plan's placeholders
    plan = run_main({"provider": "kubernetes", "context": "k3d-ml", "registry": "registry.example.com/ml",
                     "bucket": "s3://ml-artifacts", "bucket_secret": "ml-keys"}, stack="ml-local",
                    cluster={"bucket": "s3://ml-artifacts", "bucket_secret": "ml-keys", "without": ["registry"]})
    assert plan.raw_outputs["cluster"]["context"] == "k3d-ml"
    assert plan.raw_outputs["registry"] == {"uri": "registry.example.com/ml"}
    assert plan.raw_outputs["bucket"]["uri"] == "s3://ml-artifacts"
    assert not [r.type for r in plan.resources if r.type.startswith(("aws:", "gcp:", "azure-native:"))]
