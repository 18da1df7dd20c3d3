"""mlstacks' default stacks priced from our table (benchmarks/mlstacks_prices.py), and the benchmark's (c).

Every expected figure is worked out by hand from its list price (730 hours a month)
and written as the literal result.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.mlstacks_prices import MLSTACKS_INGRESS, MLSTACKS_SIZING, mlstacks_default_estimate
from provisioner.analysis.costs import estimate
from recipes import facts

from tests.analysis.estimate_items import items, one
from tests.conftest import spec_for

pytestmark = pytest.mark.filterwarnings(r"ignore::DeprecationWarning:pulumi_gcp\..*")


def bench_module() -> Any:
    """benchmarks/bench.py, imported from its path (it is a script)."""
    if "recipe_bench" not in sys.modules:
        path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench.py"
        module_spec = importlib.util.spec_from_file_location("recipe_bench", path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules["recipe_bench"] = module  # its dataclasses look their module up
        module_spec.loader.exec_module(module)
    return sys.modules["recipe_bench"]


def test_mlstacks_defaults_are_priced_from_the_table():
    # aws: EKS 73.00 + 3 x t3.xlarge 0.1664 $/h (364.42) + 3 x 20 GB gp2 x 0.10 (6.00) + NAT 32.85 + its EIP 3.65
    #      + 2 x (Classic LB 0.025 $/h 18.25 + 3 addresses x 0.005 $/h 10.95)
    aws = mlstacks_default_estimate("aws")
    assert aws.monthly_total_usd == 538.32
    # gcp: regional fee 73.00 + 3 x e2-standard-8 0.268 $/h (586.92) + 3 x 100 GB pd-balanced x 0.10 (30.00)
    #      + Cloud NAT 3 VMs x 0.0014 $/h (3.07) + the first 5 forwarding rules 0.025 $/h (18.25)
    gcp = mlstacks_default_estimate("gcp")
    assert gcp.monthly_total_usd == 711.24
    # azure: Standard tier 73.00 + 3 x Standard_D4s_v5 0.192 $/h (420.48) + 3 x P10 19.71 (59.13) + NAT 32.85
    #        + Standard Load Balancer 18.25 + 2 public IPs x 3.65
    azure = mlstacks_default_estimate("azure")
    assert azure.monthly_total_usd == 611.01
    assert any("no Azure recipe" in a for a in azure.assumptions)
    for est in (aws, gcp, azure):
        assert est.monthly_total_usd == round(sum(i.monthly_usd for i in est.items), 2)
        assert not any("conservative" in a for a in est.assumptions)
        assert any(a.startswith("not included: storage") and "data transfer" in a for a in est.assumptions)


def test_mlstacks_aws_has_two_classic_load_balancers_with_three_addresses_each():
    est = mlstacks_default_estimate("aws")
    assert one(est, "node root volumes (gp2)").monthly_usd == 6.0  # 3 nodes x 20 GB x 0.10 $/GB
    clbs = items(est, "Classic Load Balancer")
    assert len(clbs) == len(MLSTACKS_INGRESS) == 2 and all(i.monthly_usd == 18.25 for i in clbs)  # 0.025 $/h
    ips = items(est, "load balancer public IPv4")
    assert len(ips) == 2 and all(i.monthly_usd == 10.95 for i in ips)  # 3 addresses x 0.005 $/h
    assert one(est, "public IPv4 address (Elastic IP").monthly_usd == 3.65
    assert one(est, "NAT gateway").monthly_usd == 32.85
    assert one(est, "nodes").monthly_usd == 364.42  # 3 x 0.1664 $/h x 730 h = 364.416


def test_mlstacks_gcp_is_regional_with_two_forwarding_rules():
    est = mlstacks_default_estimate("gcp")
    assert one(est, "node boot disks (pd-balanced)").monthly_usd == 30.0  # 3 nodes x 100 GB x 0.10 $/GB
    rules = items(est, "load balancer forwarding rule")
    assert len(rules) == 2 and [i.monthly_usd for i in rules] == [18.25, 0.0]  # the first 5 bill together
    assert one(est, "Cloud NAT gateway").monthly_usd == 3.07  # 3 VMs x 0.0014 $/h x 730 h = 3.066
    assert one(est, "nodes").monthly_usd == 586.92  # 3 x 0.268 $/h x 730 h


def test_mlstacks_on_azure_is_its_aws_sizing_on_aks():
    est = mlstacks_default_estimate("azure")
    disks = one(est, "node OS disks (Premium_LRS)")
    assert disks.monthly_usd == 59.13 and "bills as P10 (128 GiB)" in disks.basis  # 3 x 19.71 $/month
    assert one(est, "Standard Load Balancer").monthly_usd == 18.25
    ips = items(est, "load balancer rules and public IP")
    assert len(ips) == 2 and all(i.monthly_usd == 3.65 for i in ips)
    assert one(est, "NAT gateway").monthly_usd == 32.85
    assert one(est, "nodes").monthly_usd == 420.48  # 3 x 0.192 $/h x 730 h


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure"])
def test_mlstacks_estimate_cites_its_sources_and_types(provider):
    est = mlstacks_default_estimate(provider)
    included = next(a for a in est.assumptions if a.startswith("included"))
    for name in MLSTACKS_SIZING[provider]["files"]:
        assert name in included
    if provider != "azure":
        assert "https://github.com/zenml-io/mlstacks" in included
    assert one(est, "nodes").type == facts.of(provider).NODE_POOL_TYPE
    assert est.items[0].type == facts.of(provider).CLUSTER_TYPE


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure"])
def test_default_stack_costs_at_most_35_percent_of_mlstacks_default(plans, provider):
    """The figure `benchmarks/bench.py` prints in (c), against its target.

    aws: holds once the tracker shares the deployer's ingress load balancer instead of its own.
    """
    bench = bench_module()
    cost = bench.measure_cost({provider: plans(spec_for(provider)).plan})[provider]
    ours = estimate(plans(spec_for(provider)).plan).monthly_total_usd
    assert cost["ours_usd"] == ours and cost["mlstacks_usd"] == mlstacks_default_estimate(provider).monthly_total_usd
    assert cost["ratio_pct"] <= 35.0, (provider, cost["ratio_pct"], cost["ours_usd"], cost["mlstacks_usd"])
    assert cost["result"] == "PASS"
