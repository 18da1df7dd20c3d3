"""Istio's chart values as the pinned charts read them, and the Kubernetes versions a stack supports.

The istiod and gateway assertions model what the 1.27.3 charts' templates do with
their values (istio/istio, manifests/charts/istio-control/istio-discovery and
manifests/charts/gateway at tag 1.27.3): a chart bump means re-reading them.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from provisioner import cli
from provisioner.stacks.stackfile import spec_from_record
from recipes.spec import Layer, SpecError, load_spec

from tests.conftest import spec_for

RELEASE = "kubernetes:helm.sh/v3:Release"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"


def istiod_values(plan) -> dict:
    return plan.one(RELEASE, "istiod").inputs["values"]


# ---------------------------------------------------------------------------
# istiod's resources


def test_istiod_release_is_the_chart_these_values_were_checked_against(aws_plan):
    istiod = aws_plan.one(RELEASE, "istiod").inputs
    assert (istiod["chart"], istiod["version"]) == ("istiod", "1.27.3"), "re-read the chart's values.yaml, then this file"


def test_istiod_resources_sit_at_the_top_level_the_chart_reads(aws_plan):
    values = istiod_values(aws_plan)
    # istiod 1.24+ renders `.Values.resources` (its defaults, 500m / 2048Mi, sit under
    # `_internal_defaults_do_not_set`, which values must never set).
    assert values["resources"]["requests"] == {"cpu": "100m", "memory": "256Mi"}
    assert values["resources"]["limits"]["memory"] == "1Gi"
    assert "cpu" not in values["resources"]["limits"]  # no CPU throttling of the control plane
    assert "pilot" not in values  # the legacy layout: never two places for one setting
    assert not {"_internal_defaults_do_not_set", "defaults"} & set(values)  # the chart fails on `defaults`


def test_sidecar_proxy_resources_stay_under_global_proxy(aws_plan):
    values = istiod_values(aws_plan)
    assert values["global"]["proxy"]["resources"]["requests"] == {"cpu": "50m", "memory": "64Mi"}


def test_istio_values_are_the_same_for_every_deployer_and_cloud(aws_plan, plans):
    expected = istiod_values(aws_plan)
    assert istiod_values(plans(deployer="kserve")) == expected
    assert istiod_values(plans(spec_for("gcp"))) == expected


# ---------------------------------------------------------------------------
# PodDisruptionBudgets: none may forbid every eviction


def istiod_pdb(values: dict) -> dict | None:
    """The PodDisruptionBudget spec istiod 1.27.3 renders from `values` (poddisruptionbudget.yaml)."""
    enabled = values.get("global", {}).get("defaultPodDisruptionBudget", {}).get("enabled", True)
    if not enabled:
        return None
    pdb = {"minAvailable": 1, **values.get("pdb", {})}  # the chart's default: minAvailable 1
    if pdb.get("minAvailable") and "maxUnavailable" not in pdb:
        return {"minAvailable": pdb["minAvailable"]}
    return {"maxUnavailable": pdb["maxUnavailable"]} if pdb.get("maxUnavailable") else {}


def allows_an_eviction(pdb: dict | None, replicas: int) -> bool:
    if pdb is None:
        return True
    if "maxUnavailable" in pdb:
        return pdb["maxUnavailable"] >= 1
    return pdb.get("minAvailable", 0) < replicas


def test_the_pdb_model_matches_the_chart():
    # The chart's defaults: a PDB of minAvailable 1, which over one replica allows nothing.
    assert istiod_pdb({}) == {"minAvailable": 1}
    assert not allows_an_eviction(istiod_pdb({}), replicas=1)
    assert allows_an_eviction(istiod_pdb({"pdb": {"maxUnavailable": 1}}), replicas=1)
    assert istiod_pdb({"global": {"defaultPodDisruptionBudget": {"enabled": False}}}) is None


def test_istiod_pdb_lets_a_node_drain(aws_plan):
    values = istiod_values(aws_plan)
    # One replica: the chart's autoscaler minimum (1) and replica count (1) are kept.
    assert values.get("autoscaleMin", 1) == 1 and values.get("replicaCount", 1) == 1
    assert values["global"]["defaultPodDisruptionBudget"] == {"enabled": False}
    assert allows_an_eviction(istiod_pdb(values), replicas=1)


def test_gateway_chart_makes_no_pdb_that_blocks_a_drain(aws_plan):
    values = aws_plan.one(RELEASE, "istio-ingressgateway").inputs["values"]
    # gateway 1.27.3 renders a PDB only when `podDisruptionBudget` is set (default {}).
    pdb = values.get("podDisruptionBudget") or None
    replicas = values.get("autoscaling", {}).get("minReplicas", 1)
    assert allows_an_eviction(pdb, replicas)


def test_no_pdb_of_the_stack_forbids_every_eviction(aws_plan, plans):
    for plan in (aws_plan, plans(deployer="kserve")):
        for pdb in plan.by_type(PDB):
            spec = pdb.inputs["spec"]
            assert spec.get("maxUnavailable", 0) != 0 or spec.get("minAvailable") == 0, pdb.name


# ---------------------------------------------------------------------------
# Kubernetes versions


def k8s_error(**values) -> str:
    with pytest.raises(SpecError) as excinfo:
        load_spec(Layer("flags", {"provider": "aws", **values}))
    return str(excinfo.value)


@pytest.mark.parametrize("version", ["1.29", "1.30", "1.31", "1.32", "1.33"])
def test_seldon_stack_accepts_istio_s_range(version):
    assert spec_for("aws", kubernetes_version=version).kubernetes_version == version


@pytest.mark.parametrize("version", ["1.30", "1.33"])
def test_kserve_stack_accepts_its_range(version):
    assert spec_for("gcp", deployer="kserve", kubernetes_version=version).kubernetes_version == version


def test_version_above_istio_s_range_is_refused_with_the_fix():
    message = k8s_error(kubernetes_version="1.99")
    assert message == (
        "--kubernetes-version: Kubernetes 1.99 is not supported by the pinned Istio 1.27 (1.29-1.33) and "
        "cert-manager 1.18 (1.29-1.33): pick one of 1.29, 1.30, 1.31, 1.32, 1.33"
    )


@pytest.mark.parametrize("version", ["1.28", "1.34", "1.10"])
def test_versions_just_outside_are_refused(version):
    message = k8s_error(kubernetes_version=version)
    assert f"Kubernetes {version} is not supported by the pinned Istio 1.27 (1.29-1.33)" in message


def test_kserve_names_the_chart_that_refuses():
    message = k8s_error(deployer="kserve", kubernetes_version="1.29")
    assert "Kubernetes 1.29 is not supported by the pinned KServe 0.15 (1.30 or later)" in message
    assert message.endswith("pick one of 1.30, 1.31, 1.32, 1.33")
    both = k8s_error(deployer="kserve", kubernetes_version="1.34")
    assert "Istio 1.27 (1.29-1.33) and cert-manager 1.18 (1.29-1.33)" in both


@pytest.mark.parametrize("version", ["1.3", "v1.30", "1.30.2", "latest", "2.1"])
def test_malformed_version_is_refused_with_the_choices(version):
    message = k8s_error(kubernetes_version=version)
    assert message.startswith(f"--kubernetes-version: {version!r} is not a version like 1.33")
    assert message.endswith("pick one of 1.29, 1.30, 1.31, 1.32, 1.33")


def test_unquoted_yaml_version_says_to_quote_it():
    with pytest.raises(SpecError) as excinfo:
        load_spec(Layer("stack.yaml", {"provider": "aws", "kubernetes_version": 1.30}))
    assert 'quote it in YAML: "1.30"' in str(excinfo.value)
    assert str(excinfo.value).startswith("stack.yaml: kubernetes_version: ")


def test_the_front_door_limits_the_version_without_the_deployer_and_nothing_without_either():
    # Istio and cert-manager come with the front door (tracker or deployer), the deployer's charts with it.
    assert "not supported by the pinned Istio 1.27" in k8s_error(without="deployer", kubernetes_version="1.34")
    assert spec_for("aws", without=["deployer", "tracker"], kubernetes_version="1.34").kubernetes_version == "1.34"
    assert "version like" in k8s_error(without=["deployer", "tracker"], kubernetes_version="1.3")


def test_a_recorded_stack_still_loads_for_its_status_and_destroy():
    # Accepted before this check existed: its record must not lock it out of `recipe destroy`.
    spec = spec_from_record("ml-dev", {"provider": "aws", "name": "ml-dev", "kubernetes_version": "1.28"})
    assert spec.kubernetes_version == "1.28"


def test_each_support_row_describes_the_pinned_release():
    from recipes.kubernetes import versions

    # A pin bumped without re-reading its row here fails this.
    for key, row in versions.KUBERNETES_SUPPORT.items():
        pinned = row.chart.version.removeprefix("v")
        assert pinned == row.release or pinned.startswith(row.release + "."), key
    assert {k: (r.oldest, r.newest) for k, r in versions.KUBERNETES_SUPPORT.items()} == {
        "istio": (29, 33), "seldon-core": (23, None), "cert-manager": (29, 33), "kserve": (30, None),
    }


def test_no_version_keeps_the_cloud_default():
    assert spec_for("azure").kubernetes_version is None


# ---------------------------------------------------------------------------
# recipe plan says which versions the stack supports


@pytest.fixture
def run():
    runner = CliRunner()
    return lambda *args: runner.invoke(cli.app, list(args), catch_exceptions=False)


def notes(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("note: Kubernetes")]


def test_plan_table_notes_the_supported_versions(run, home):
    result = run("plan", "aws", "--name", "ml-dev")
    assert result.exit_code == 0, result.stderr
    (line,) = notes(result.stderr)
    assert line.startswith("note: Kubernetes versions this stack supports: 1.29-1.33 ")
    assert "Istio 1.27: 1.29-1.33" in line and "Seldon Core 1.17.1: 1.23 or later" in line
    assert "--kubernetes-version" in line  # none given: the cloud's default applies
    assert "note:" not in result.stdout


def test_plan_table_note_for_kserve_and_a_pinned_version(run, home):
    result = run("plan", "aws", "--name", "ml-dev", "--deployer", "kserve", "--kubernetes-version", "1.31")
    assert result.exit_code == 0, result.stderr
    (line,) = notes(result.stderr)
    assert "supports: 1.30-1.33" in line and "KServe 0.15: 1.30 or later" in line
    assert line.endswith("this plan asks for 1.31")


def test_plan_json_lists_the_supported_versions(run, home):
    result = run("plan", "aws", "--name", "ml-dev", "--output", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["kubernetes_versions"] == ["1.29", "1.30", "1.31", "1.32", "1.33"]
    tracker_only = json.loads(run("plan", "aws", "--name", "ml-dev", "--without", "deployer", "--output", "json").stdout)
    assert tracker_only["kubernetes_versions"] == doc["kubernetes_versions"]  # the front door's Istio and cert-manager
    storage = run("plan", "aws", "--without", "deployer", "--without", "tracker", "--output", "json")
    assert json.loads(storage.stdout)["kubernetes_versions"] is None


def test_plan_refuses_an_unsupported_version_in_one_line(run, home):
    result = run("plan", "aws", "--kubernetes-version", "1.99")
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        "error: --kubernetes-version: Kubernetes 1.99 is not supported by the pinned Istio 1.27 (1.29-1.33) and "
        + "cert-manager 1.18 (1.29-1.33): pick one of 1.29, 1.30, 1.31, 1.32, 1.33"
    ]
