"""Cost estimates of hand-built plans: the edge cases the default stacks never reach.

As in test_costs.py, every expected figure is worked out by hand from its list price
and written as the literal result.
"""

from __future__ import annotations

import pytest

from provisioner.analysis.costs import estimate, monthly, usd
from provisioner.analysis.plan import Plan, PlannedResource
from recipes.facts import aws, azure, gcp
from recipes.facts.any_cloud import PERSISTENT_VOLUME_CLAIM, SERVICE

from tests.analysis.estimate_items import one
from tests.conftest import spec_for


def resource(type_: str, name: str, inputs: dict) -> PlannedResource:
    return PlannedResource(urn=f"urn::{type_}::{name}", type=type_, name=name, parent=None, provider=None,
                           dependencies=[], custom=True, inputs=inputs)


def plan_of(spec, *resources: PlannedResource) -> Plan:
    return Plan(spec=spec, resources=list(resources), outputs={}, secret_outputs=[])


def test_a_month_is_730_hours_and_prices_read_as_the_table_states_them():
    assert monthly(0.192) == 140.16  # an m6i.xlarge on-demand: 0.192 $/h x 730 h
    assert monthly(0.005, 3) == 10.95  # three public IPv4 addresses
    assert usd(0.1) == "$0.10" and usd(0.0832) == "$0.0832" and usd(1) == "$1.00"
    assert usd(0.02912, places=5) == "$0.02912"


def test_an_on_demand_node_group_is_priced_at_its_list_price(make_spec):
    group = resource(aws.EKS_NODE_GROUP, "nodes", {"instanceTypes": ["m6i.xlarge"], "scalingConfig": {"minSize": 1}})
    nodes = one(estimate(plan_of(make_spec(), group)), "EKS nodes")
    assert nodes.monthly_usd == 140.16 and nodes.on_demand_usd is None  # 0.192 $/h x 730 h
    assert nodes.basis == "730 h x $0.192/h x 1 node (min size), m6i.xlarge"


def test_a_hand_built_plan_prices_claims_in_any_unit(make_spec):
    def claim(name: str, size: str) -> PlannedResource:
        return resource(PERSISTENT_VOLUME_CLAIM, name,
                        {"spec": {"resources": {"requests": {"storage": size}}, "storageClassName": "gp3"}})

    est = estimate(plan_of(make_spec(), claim("a", "1Ti"), claim("b", "512Mi"), claim("c", "lots")))
    # 1 TiB = 1024 GiB x 0.08 $/GB = 81.92; 512 MiB = 0.5 GiB x 0.08 = 0.04; "lots" is no quantity.
    assert [i.monthly_usd for i in est.items] == [81.92, 0.04, None]
    assert est.monthly_total_usd == 81.96


def test_spot_nodes_are_priced_at_the_estimated_discount_and_report_on_demand(make_spec):
    group = resource(aws.EKS_NODE_GROUP, "nodes",
                     {"capacityType": "SPOT", "instanceTypes": ["t3.large", "t3a.large"],
                      "scalingConfig": {"minSize": 2, "desiredSize": 2, "maxSize": 3}})
    est = estimate(plan_of(make_spec(), group))
    nodes = one(est, "EKS nodes (spot)")
    assert nodes.monthly_usd == 42.52  # t3.large 0.0832 $/h x 35% = 0.02912 $/h x 2 nodes x 730 h = 42.5152
    assert nodes.on_demand_usd == 121.47  # 0.0832 $/h x 2 x 730 h = 121.472
    assert nodes.to_json()["on_demand_usd"] == nodes.on_demand_usd
    assert "spot: est. 35% of on-demand $0.0832/h (spot prices float, 60-90% off per AWS Spot Instance Advisor)" \
        in nodes.basis
    assert "upper bound" not in nodes.basis
    assert any("spot prices are estimates that move with the market" in a
               and "https://aws.amazon.com/ec2/spot/instance-advisor/" in a for a in est.assumptions)
    assert any("t3a.large" in a for a in est.assumptions)
    assert one(est, "node root volumes").monthly_usd == 3.2  # EKS's default 20 GB root volume x 2 x 0.08 $/GB
    assert one(est, "node root volumes").on_demand_usd is None


def test_spot_without_an_estimate_stays_priced_at_on_demand_as_an_upper_bound():
    """Azure has no spot estimate (its system pool cannot be spot): a spot user pool is priced at on-demand."""
    pool = resource(azure.AKS_AGENT_POOL, "spotpool",
                    {"vmSize": "Standard_D2s_v5", "count": 2, "scaleSetPriority": "Spot", "osDiskType": "Ephemeral"})
    est = estimate(plan_of(spec_for("azure"), pool))
    nodes = one(est, "AKS nodes (pool spotpool) (spot)")
    assert nodes.monthly_usd == nodes.on_demand_usd == 140.16  # 0.096 $/h x 2 x 730 h
    assert "upper bound" in nodes.basis
    assert any("upper bound" in a and "move with the market" not in a for a in est.assumptions)


def test_forwarding_rules_beyond_the_first_five_bill_one_by_one():
    """Seven ports on GKE: the first 5 rules together (0.025 $/h), the 2 beyond at 0.01 $/h each."""
    ports = [{"port": 8000 + n} for n in range(7)]
    service = resource(SERVICE, "lb", {"spec": {"type": "LoadBalancer", "ports": ports}})
    rule = one(estimate(plan_of(spec_for("gcp"), service)), "load balancer forwarding rule (7 rules)")
    assert rule.monthly_usd == 32.85  # (0.025 + 2 x 0.01) $/h x 730 h
    assert rule.basis == "730 h x ($0.025/h for the region's first 5 forwarding rules + 2 rule(s) beyond 5 x $0.01/h)"


def test_a_service_that_is_no_load_balancer_costs_nothing():
    service = resource(SERVICE, "internal", {"spec": {"type": "ClusterIP", "ports": [{"port": 80}]}})
    for provider in ("aws", "gcp", "azure"):
        assert estimate(plan_of(spec_for(provider), service)).items == []


@pytest.mark.parametrize(
    "provider,type_,inputs,missing",
    [
        ("gcp", gcp.GCS_BUCKET, {"storageClass": "NEARLINE"}, "GCS NEARLINE"),
        ("azure", azure.STORAGE_ACCOUNT, {"sku": {"name": "Standard_GRS"}, "accessTier": "Cool"}, "Blob Cool Standard_GRS"),
        ("azure", azure.CONTAINER_REGISTRY, {"sku": {"name": "Classic"}}, "ACR Classic"),
    ],
)
def test_what_the_table_cannot_price_is_listed_not_guessed(provider, type_, inputs, missing):
    est = estimate(plan_of(spec_for(provider), resource(type_, "x", inputs)))
    [item] = est.items
    assert item.monthly_usd is None and item.basis == f"no price in table for {missing}"
    assert f"x: no price in table for {missing}; the total excludes it" in est.assumptions
    assert est.monthly_total_usd == 0
