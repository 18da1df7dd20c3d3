"""What GCP's hardening costs: --audit-logs' logs priced at their stated volumes, the rest free.

As in test_costs.py, every expected figure is worked out by hand from its list price
and written as the literal result; the volumes are the ones costs/gcp.py states
(FLOW_LOG_GIB_PER_VM, CONTROL_PLANE_LOG_GIB, ACCESS_LOG_GB) and every item's basis repeats.
"""

from __future__ import annotations

import pytest

from provisioner.analysis.costs import CostEstimate, estimate
from provisioner.analysis.costs.prices import PRICES
from provisioner.analysis.plan import Plan, PlannedResource
from recipes.facts import gcp

from tests.analysis.estimate_items import items, one
from tests.conftest import spec_for

pytestmark = pytest.mark.filterwarnings(r"ignore::DeprecationWarning:pulumi_gcp\..*")

LOGGING_PAGE = "https://cloud.google.com/stackdriver/pricing"


def gcp_estimate(plans, **values) -> CostEstimate:
    return estimate(plans(spec_for("gcp", **values)).plan)


def resource(type_: str, name: str, inputs: dict) -> PlannedResource:
    return PlannedResource(urn=f"urn::{type_}::{name}", type=type_, name=name, parent=None, provider=None,
                           dependencies=[], custom=True, inputs=inputs)


def test_log_prices_are_dated_rows_with_their_page():
    table = PRICES["gcp"]
    assert (table["logging_ingestion"].usd, table["logging_ingestion"].per) == (0.50, "GiB")
    assert (table["logging_free_gib"].usd, table["vended_network_logs"].usd) == (50, 0.25)
    assert {table[k].source for k in ("logging_ingestion", "logging_free_gib", "vended_network_logs")} == {LOGGING_PAGE}


def test_prod_prices_flow_logs_control_plane_logs_and_the_log_bucket(plans):
    est = gcp_estimate(plans, profile="prod")  # regional: 1 node per zone x 3 zones
    flow = one(est, "VPC flow logs (Cloud Logging)")
    assert flow.type == gcp.COMPUTE_SUBNETWORK
    assert flow.monthly_usd == 3.75  # 10 GiB/VM x 0.5 sampling x 3 VMs = 15 GiB x 0.25 $/GiB
    assert flow.basis == "10 GiB per VM assumed at full sampling x 0.5 sampling x 3 VMs = 15 GiB x $0.25/GiB"
    logs = one(est, "GKE control-plane logs (Cloud Logging)")
    assert logs.type == gcp.GKE_CLUSTER and logs.monthly_usd == 2.5  # 5 GiB x 0.50 $/GiB
    assert "APISERVER, CONTROLLER_MANAGER, SCHEDULER" in logs.basis
    log_bucket = one(est, "GCS Standard storage (access logs)")
    assert log_bucket.name == "bucket-access-logs" and log_bucket.monthly_usd == 0.02  # 1 GB x 0.02 $/GB-month
    (artifacts,) = [i for i in items(est, "GCS Standard storage") if i.name == "bucket"]
    assert artifacts.monthly_usd == 0.2  # the artifact bucket keeps its 10 GB x 0.02 $/GB-month
    assert any("first 50 GiB of Cloud Logging each month are free" in a for a in est.assumptions)
    assert any(a.startswith("network-nodes: flow logs grow with connections") for a in est.assumptions)


def test_audit_logs_add_exactly_their_logs_to_prod(plans):
    with_logs, without = gcp_estimate(plans, profile="prod"), gcp_estimate(plans, profile="prod", audit_logs=False)
    assert round(with_logs.monthly_total_usd - without.monthly_total_usd, 2) == 6.27  # 3.75 + 2.50 + 0.02
    assert one(without, "VPC subnet (flow logs off: --audit-logs)").monthly_usd == 0.0
    assert not items(without, "GKE control-plane logs") and not items(without, "GCS Standard storage (access logs)")


def test_audit_logs_on_the_dev_stack_bill_one_vms_flow_logs(plans):
    est = gcp_estimate(plans, audit_logs=True)  # zonal, one spot node
    assert one(est, "VPC flow logs (Cloud Logging)").monthly_usd == 1.25  # 10 GiB x 0.5 x 1 VM = 5 GiB x 0.25 $/GiB


def test_dataplane_v2_and_binary_authorization_cost_nothing(plans):
    """Both are on in the dev stack; the only item they could add is none: its items are the dev stack's own."""
    est = gcp_estimate(plans)
    assert [i.what for i in est.items if i.type == gcp.GKE_CLUSTER] == ["GKE cluster management fee (zonal, us-central1-b)"]
    assert one(est, "VPC subnet").monthly_usd == 0.0
    assert not items(est, "VPC flow logs")


def test_flow_logs_scale_with_sampling_and_the_vms_behind_the_subnet():
    """A hand-built plan: full sampling, a pool of 4 on-demand nodes, priced after the pool whatever the order."""
    subnet = resource(gcp.COMPUTE_SUBNETWORK, "nodes", {"logConfig": {"flowSampling": 1.0}})
    pool = resource(gcp.GKE_NODE_POOL, "pool", {"location": "us-central1-b", "autoscaling": {"minNodeCount": 4},
                                                 "nodeConfig": {"machineType": "e2-standard-2"}})
    est = estimate(Plan(spec=spec_for("gcp"), resources=[subnet, pool], outputs={}, secret_outputs=[]))
    flow = one(est, "VPC flow logs (Cloud Logging)")
    assert flow.monthly_usd == 10.0  # 10 GiB/VM x 1.0 sampling x 4 VMs = 40 GiB x 0.25 $/GiB
    assert flow.basis == "10 GiB per VM assumed at full sampling x 1 sampling x 4 VMs = 40 GiB x $0.25/GiB"
