"""Monthly cost estimates (provisioner.analysis.costs) of the real plans.

Every expected figure is worked out by hand from the list price it stands on, and
written as the literal result ("0.045 $/h x 730 h = 32.85"): a changed price or a
changed program (a node type, a second NAT gateway) shows up as a failing item, and
nothing here re-implements the estimate's arithmetic. Hand-built plans are in
test_costs_hand_built.py, mlstacks' defaults in test_mlstacks_prices.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from provisioner.analysis.costs import PRICES_AS_OF, CostEstimate, estimate
from provisioner.analysis.costs.estimator import PRICERS
from provisioner.analysis.costs.prices import MACHINE_HOURLY, MACHINE_SOURCE, PRICES, SPOT_DISCOUNT, SPOT_SOURCE
from provisioner.analysis.plan import Plan, PlannedResource
from recipes import facts
from recipes.facts import aws, gcp
from recipes.facts.any_cloud import SERVICE

from tests.analysis.estimate_items import items, one
from tests.conftest import spec_for

pytestmark = pytest.mark.filterwarnings(r"ignore::DeprecationWarning:pulumi_gcp\..*")
PROVIDERS = ("aws", "gcp", "azure")


def load_balancer_services(plan: Plan) -> list[PlannedResource]:
    return [r for r in plan.resources if r.type == SERVICE and (r.inputs.get("spec") or {}).get("type") == "LoadBalancer"]


def default_estimate(plans, provider: str, **values) -> CostEstimate:
    return estimate(plans(spec_for(provider, **values)).plan)


# ---------------------------------------------------------------------------
# The table


def test_prices_are_dated_and_every_price_names_its_source():
    assert re.fullmatch(r"20\d\d-(0[1-9]|1[0-2])", PRICES_AS_OF)
    for provider in PROVIDERS:
        for key, price in PRICES[provider].items():
            assert price.source.startswith("https://"), (provider, key)
            assert price.usd >= 0
        assert MACHINE_SOURCE[provider].startswith("https://")
        assert MACHINE_HOURLY[provider] and all(hourly > 0 for hourly in MACHINE_HOURLY[provider].values())


def test_every_spot_estimate_is_a_sourced_discount_below_on_demand():
    """A spot estimate is cheaper than on-demand and cites where its range comes from; Azure makes none."""
    assert set(SPOT_DISCOUNT) == set(SPOT_SOURCE) == {"aws", "gcp"}  # AKS system pools cannot be spot
    for provider, discount in SPOT_DISCOUNT.items():
        assert 0 < discount < 1 and SPOT_SOURCE[provider].startswith("https://")


def test_the_modules_import_no_pulumi():
    """The CLI imports these at startup: no cloud SDK, no Pulumi."""
    code = ("import sys, provisioner.analysis.costs, provisioner.analysis.critical_path; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('pulumi', 'pulumi_aws', 'pulumi_gcp', "
            "'pulumi_azure_native', 'pulumi_kubernetes', 'grpc')]; print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------------------
# Default stacks


def test_aws_default_total_is_the_sum_of_its_items_and_includes_the_eks_control_plane(plans):
    est = default_estimate(plans, "aws")
    assert est.monthly_total_usd == round(sum(i.monthly_usd for i in est.items), 2)
    plane = one(est, "EKS control plane")
    assert plane.monthly_usd == 73.0 and plane.type == aws.EKS_CLUSTER  # 0.10 $/h x 730 h
    # The dev profile's nodes are spot: the estimate, with the on-demand figure alongside.
    nodes = one(est, "EKS nodes (spot)")
    assert nodes.monthly_usd == 21.26  # t3.large 0.0832 $/h x 35% = 0.02912 $/h x 730 h = 21.2576
    assert nodes.on_demand_usd == 60.74  # 0.0832 $/h x 730 h = 60.736
    assert "1 node (min size)" in nodes.basis and "t3.large" in nodes.basis
    assert one(est, "node root volumes").monthly_usd == 4.0  # the launch template's 50 GB gp3 x 0.08 $/GB
    assert one(est, "NAT gateway").monthly_usd == 32.85  # 0.045 $/h x 730 h
    # Every LoadBalancer Service in the plan is an NLB (how many depends on the recipes: counted from the plan).
    services = load_balancer_services(plans(spec_for("aws")).plan)
    nlbs = items(est, "Network Load Balancer")
    assert "ingress-lb" in [s.name for s in services]
    assert sorted(i.name for i in nlbs) == sorted(s.name for s in services)
    assert all(i.monthly_usd == 20.8 for i in nlbs)  # (0.0225 + one LCU 0.006) $/h x 730 h = 20.805
    assert len(items(est, "load balancer public IPv4")) == len(services)
    assert one(est, "persistent volume").monthly_usd == 1.6  # the tracker database's 20Gi claim x 0.08 $/GB
    assert one(est, "S3").monthly_usd == 0.23  # 10 GB assumed x 0.023 $/GB
    assert "10 GB assumed" in one(est, "ECR").basis
    assert est.prices_as_of == PRICES_AS_OF
    assert "us-east-1" in est.region_note


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_item_is_priced_and_explained(plans, provider):
    est = default_estimate(plans, provider)
    assert est.items and not est.unpriced
    assert est.monthly_total_usd == round(sum(i.monthly_usd for i in est.items), 2) > 0
    for item in est.items:
        assert item.basis and item.what and item.name
        assert item.monthly_usd == round(item.monthly_usd, 2) >= 0
    assert any(i.type == facts.of(provider).CLUSTER_TYPE for i in est.items)


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("profile", ["dev", "prod"])
def test_every_priced_resource_type_of_the_plan_has_an_item(plans, provider, profile):
    """Each resource type the cloud's table prices, present in the plan, shows up priced (nothing skipped)."""
    plan = plans(spec_for(provider, profile=profile)).plan
    est = estimate(plan)
    priced_types = {r.type for r in plan.resources if r.type in PRICERS[provider]}
    assert priced_types - {i.type for i in est.items} == set()
    assert not est.unpriced


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_dev_stack_costs_less_than_prod(plans, provider):
    assert default_estimate(plans, provider).monthly_total_usd < default_estimate(plans, provider, profile="prod").monthly_total_usd


def test_to_json_has_the_documented_shape(plans):
    data = default_estimate(plans, "azure").to_json()
    assert {"monthly_total_usd", "items", "prices_as_of", "assumptions"} <= set(data)
    assert data["prices_as_of"] == PRICES_AS_OF
    assert set(data["items"][0]) == {"name", "type", "what", "monthly_usd", "basis", "on_demand_usd"}
    assert all(i["on_demand_usd"] is None for i in data["items"])  # no spot nodes on Azure
    assert json.loads(json.dumps(data)) == data


def test_zonal_gke_management_fee_is_covered_by_the_free_tier(plans):
    est = default_estimate(plans, "gcp")
    fee = one(est, "GKE cluster management fee")
    assert fee.monthly_usd == 0.0
    assert "zonal" in fee.what and "free tier" in fee.basis and "$73.00" in fee.basis
    assert any("free tier" in a for a in est.assumptions)


def test_regional_gke_costs_more_than_zonal_by_the_fee_and_the_extra_zones(plans):
    zonal = default_estimate(plans, "gcp")
    regional = default_estimate(plans, "gcp", regional=True)
    fee = one(regional, "GKE cluster management fee")
    assert fee.monthly_usd == 73.0 and "regional" in fee.what  # 0.10 $/h x 730 h, no free tier
    assert fee.monthly_usd - one(zonal, "GKE cluster management fee").monthly_usd == 73.0
    # One node per zone in three zones instead of one node in one zone.
    assert one(regional, "GKE nodes").monthly_usd == 51.36  # 3 x e2-standard-2 spot 17.1185 = 51.3555
    assert one(zonal, "GKE nodes").monthly_usd == 17.12
    assert regional.monthly_total_usd - zonal.monthly_total_usd > 73.0


def test_gcp_load_balancers_share_the_first_five_forwarding_rules(plans):
    plan = plans(spec_for("gcp")).plan
    est = estimate(plan)
    services = load_balancer_services(plan)
    ports = sum(len(s.inputs["spec"].get("ports") or []) or 1 for s in services)
    rules = items(est, "load balancer forwarding rule")
    assert sorted(i.name for i in rules) == sorted(s.name for s in services) and rules
    # The first 5 rules bill together, once (0.025 $/h x 730 h); beyond 5: test_costs_hand_built.py.
    assert ports <= 5
    assert round(sum(i.monthly_usd for i in rules), 2) == 18.25
    assert rules[0].monthly_usd == 18.25 and all(i.monthly_usd == 0.0 for i in rules[1:])


def test_cloud_nat_is_billed_per_vm(plans):
    assert one(default_estimate(plans, "gcp"), "Cloud NAT gateway").monthly_usd == 1.02  # 0.0014 $/VM-h x 1 x 730 h
    regional = default_estimate(plans, "gcp", regional=True)
    assert one(regional, "Cloud NAT gateway").monthly_usd == 3.07  # x 3 VMs = 3.066


def test_azure_default_prices_the_free_tier_the_system_pool_and_basic_acr(plans):
    est = default_estimate(plans, "azure")
    assert one(est, "AKS control plane").monthly_usd == 0.0
    assert one(est, "AKS nodes").monthly_usd == 70.08  # Standard_D2s_v5 0.096 $/h x 730 h
    assert one(est, "Container Registry (Basic)").monthly_usd == 5.08  # 0.167 $/day x 365/12 days = 5.0796
    # Outbound goes through the cluster's Standard Load Balancer: no NAT gateway.
    assert not items(est, "NAT gateway")
    assert one(est, "Standard Load Balancer").monthly_usd == 18.25  # 0.025 $/h x 730 h


def test_azure_kms_moves_the_registry_to_premium(plans):
    est = default_estimate(plans, "azure", kms=True)
    assert one(est, "Container Registry (Premium)").monthly_usd == 50.7  # 1.667 $/day x 365/12 days = 50.7046


def test_min_nodes_scale_the_node_items(plans):
    one_node = default_estimate(plans, "aws")
    two_nodes = default_estimate(plans, "aws", min_nodes=2)
    assert one(one_node, "EKS nodes").monthly_usd == 21.26
    assert one(two_nodes, "EKS nodes").monthly_usd == 42.52  # 2 x 0.02912 $/h x 730 h = 42.5152
    assert one(two_nodes, "EKS nodes").on_demand_usd == 121.47  # 2 x 0.0832 $/h x 730 h = 121.472
    assert "2 nodes (min size)" in one(two_nodes, "EKS nodes").basis


@pytest.mark.parametrize("provider", PROVIDERS)
def test_without_cluster_removes_control_plane_nodes_and_network(plans, provider):
    est = default_estimate(plans, provider, without="cluster,tracker,deployer")
    assert not any(i.type == facts.of(provider).CLUSTER_TYPE for i in est.items)
    assert not [i for i in est.items if any(w in i.what.lower() for w in ("nodes", "nat", "load balancer"))]
    # What is left is the bucket and the registry.
    assert len(est.items) == 2 and est.monthly_total_usd < 10


def test_public_network_trades_the_nat_gateway_for_node_addresses(plans):
    est = default_estimate(plans, "aws", network="public")
    assert not items(est, "NAT gateway")
    assert one(est, "node public IPv4").monthly_usd == 3.65  # 1 address x 0.005 $/h x 730 h


def test_an_unknown_node_type_is_reported_not_priced(plans):
    est = default_estimate(plans, "aws", node_type="m7i.large")
    nodes = one(est, "EKS nodes")
    assert nodes.monthly_usd is None
    assert nodes.basis == "no price in table for m7i.large"
    assert any("m7i.large" in a and "excludes" in a for a in est.assumptions)
    assert est.monthly_total_usd == round(sum(i.monthly_usd for i in est.items if i.monthly_usd is not None), 2)
    assert json.dumps(est.to_json())  # None serialises as null


def test_gke_spot_nodes_from_the_dev_profile_are_priced_at_the_estimated_discount(plans):
    est = default_estimate(plans, "gcp")
    nodes = one(est, "GKE nodes (spot)")
    assert nodes.monthly_usd == 17.12  # e2-standard-2 0.067 $/h x 35% = 0.02345 $/h x 730 h = 17.1185
    assert nodes.on_demand_usd == 48.91  # 0.067 $/h x 730 h
    assert "spot: est. 35% of on-demand $0.067/h (spot prices float, 60-91% off per Google Cloud Spot VM pricing)" \
        in nodes.basis
    assert any("move with the market" in a and "https://cloud.google.com/spot-vms/pricing" in a for a in est.assumptions)
    assert [i for i in est.items if i.on_demand_usd is not None] == [nodes]


@pytest.mark.parametrize(("provider", "what", "list_price"), [("aws", "EKS nodes", 60.74),  # t3.large 0.0832 $/h
                                                              ("gcp", "GKE nodes", 48.91)])  # e2-standard-2 0.067 $/h
def test_on_demand_nodes_are_priced_at_the_list_price(plans, provider, what, list_price):
    """`--on-demand` (spec field spot=False): the list price, and no on-demand figure beside it."""
    on_demand_spec = spec_for(provider, spot=False)
    assert on_demand_spec.spot is False and spec_for(provider).spot is True
    on_demand = estimate(plans(on_demand_spec).plan)
    nodes = one(on_demand, what)
    assert nodes.what == what and nodes.monthly_usd == list_price
    assert nodes.on_demand_usd is None and "spot" not in nodes.basis
    assert not any("move with the market" in a or "upper bound" in a for a in on_demand.assumptions)
    # Everything else is the same stack: the totals differ by the node items alone, and spot is cheaper.
    spot = default_estimate(plans, provider)
    spot_nodes = one(spot, f"{what} (spot)")
    assert spot_nodes.monthly_usd < nodes.monthly_usd and spot.monthly_total_usd < on_demand.monthly_total_usd
    assert round(on_demand.monthly_total_usd - spot.monthly_total_usd, 2) == round(nodes.monthly_usd - spot_nodes.monthly_usd, 2)
    assert spot_nodes.on_demand_usd == nodes.monthly_usd


def test_gke_cluster_items_come_first_and_storage_last(plans):
    """Items read control plane, nodes, network, load balancers, volumes, then storage."""
    types = [i.type for i in default_estimate(plans, "gcp").items]
    assert types[0] == gcp.GKE_CLUSTER and types[1] == gcp.GKE_NODE_POOL
    assert types.index(gcp.ROUTER_NAT) < types.index(SERVICE) < types.index(gcp.GCS_BUCKET)
