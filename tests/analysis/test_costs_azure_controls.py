"""What --audit-logs and --network-rules cost on Azure, item by item.

As in test_costs.py, every figure is worked out by hand from the list price it stands on
(provisioner/analysis/costs/prices.py, "azure") and the stated monthly volume, and written as
the literal result. A month is 730 h or 365/12 = 30.4167 days.
"""

from __future__ import annotations

import pytest

from provisioner.analysis.costs import estimate
from provisioner.analysis.costs.prices import AZ_MONITOR, AZ_NETWORK_WATCHER, PRICES
from provisioner.analysis.plan import Plan, PlannedResource
from recipes.facts import azure

from tests.analysis.estimate_items import items, one
from tests.conftest import spec_for

AKS_URI = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks-ml-dev"
WORKSPACE_ID = "/subscriptions/s/resourceGroups/rg-data/providers/Microsoft.OperationalInsights/workspaces/log-ml-dev"


def azure_estimate(plans, **values):
    return estimate(plans(spec_for("azure", **values)).plan)


def resource(type_: str, name: str, inputs: dict) -> PlannedResource:
    return PlannedResource(urn=f"urn::{type_}::{name}", type=type_, name=name, parent=None, provider=None,
                           dependencies=[], custom=True, inputs=inputs)


def test_the_new_prices_are_dated_rows_with_their_sources():
    table = PRICES["azure"]
    assert (table["log_analytics_ingestion"].usd, table["log_analytics_ingestion"].per) == (2.30, "GB")
    assert (table["log_analytics_retention"].usd, table["log_analytics_retention"].per) == (0.10, "GB-month")
    assert (table["flow_logs_collected"].usd, table["flow_logs_collected"].per) == (0.50, "GB")
    assert table["log_analytics_ingestion"].source == table["log_analytics_retention"].source == AZ_MONITOR
    assert table["flow_logs_collected"].source == AZ_NETWORK_WATCHER


def test_audit_logs_items(plans):
    est = azure_estimate(plans, profile="prod")
    # 30 GB/month of AKS control-plane logs x 2.30 $/GB = 69.00
    assert one(est, "Log Analytics ingestion (AKS control-plane logs)").monthly_usd == 69.0
    # kept 90 days, 59 past the 31 included: 30 x 59 / 30.4167 = 58.19 GB x 0.10 $/GB-month = 5.82
    assert one(est, "Log Analytics retention (AKS control-plane logs)").monthly_usd == 5.82
    # 1 GB/month of blob access logs x 2.30 = 2.30; 1 x 59 / 30.4167 = 1.94 GB x 0.10 = 0.19
    assert one(est, "Log Analytics ingestion (blob access logs)").monthly_usd == 2.3
    assert one(est, "Log Analytics retention (blob access logs)").monthly_usd == 0.19
    # 5 GB/month of flow logs collected x 0.50 $/GB = 2.50 (the subscription's free 5 GB not credited)
    assert one(est, "VNet flow logs collected").monthly_usd == 2.5
    # ... kept 90 days in the log account: 5 x 90 / 30.4167 = 14.79 GB x 0.0184 $/GB-month = 0.27
    kept = one(est, "flow logs kept")
    assert kept.monthly_usd == 0.27 and kept.name == "audit-account"
    assert one(est, "Log Analytics workspace").monthly_usd == 0.0
    assert [i.name for i in items(est, "Blob storage")] == ["bucket"]  # the log account holds flow logs only
    assert any("30 GB/month of AKS control-plane logs assumed" in a for a in est.assumptions)


def test_audit_logs_add_their_items_and_nothing_else(plans):
    with_logs = azure_estimate(plans, profile="prod")
    without = azure_estimate(plans, profile="prod", audit_logs=False)
    # 69.00 + 5.82 + 2.30 + 0.19 + 2.50 + 0.27 = 80.08
    assert round(with_logs.monthly_total_usd - without.monthly_total_usd, 2) == 80.08
    assert not items(without, "Log Analytics") and not items(without, "VNet flow logs")


def test_network_rules_move_the_registry_to_premium_and_own_the_outbound_address(plans):
    dev = azure_estimate(plans)
    ruled = azure_estimate(plans, network_rules=True)
    assert one(dev, "Container Registry (Basic)").monthly_usd == 5.08  # 0.167 $/day x 30.4167 days = 5.0796
    assert one(ruled, "Container Registry (Premium)").monthly_usd == 50.7  # 1.667 $/day x 30.4167 = 50.7046
    assert "IP rules need Premium" in one(ruled, "Container Registry").what
    # The cluster's outbound address is the stack's own: priced once, on the address, not on the cluster.
    assert one(dev, "outbound public IP").monthly_usd == 3.65  # 0.005 $/h x 730 h
    assert not items(ruled, "outbound public IP")
    assert one(ruled, "public IP (Standard, static)").monthly_usd == 3.65
    # Premium is the only difference: 50.70 - 5.08 = 45.62
    assert round(ruled.monthly_total_usd - dev.monthly_total_usd, 2) == 45.62


def test_kms_and_network_rules_pay_for_premium_once(plans):
    both = azure_estimate(plans, kms=True, network_rules=True)
    assert [i.monthly_usd for i in items(both, "Container Registry")] == [50.7]


def plan_of(*resources: PlannedResource) -> Plan:
    return Plan(spec=spec_for("azure"), resources=list(resources), outputs={}, secret_outputs=[])


def test_logs_kept_no_longer_than_included_bill_no_retention():
    workspace = resource(azure.LOG_ANALYTICS_WORKSPACE, "w", {"workspaceName": "log-ml-dev", "retentionInDays": 31})
    setting = resource(azure.DIAGNOSTIC_SETTING, "s", {"resourceUri": AKS_URI, "workspaceId": WORKSPACE_ID})
    est = estimate(plan_of(workspace, setting))
    assert one(est, "Log Analytics ingestion").monthly_usd == 69.0 and not items(est, "Log Analytics retention")


def test_a_workspace_kept_a_year_bills_334_days_of_retention():
    workspace = resource(azure.LOG_ANALYTICS_WORKSPACE, "w", {"workspaceName": "log-ml-dev", "retentionInDays": 365})
    setting = resource(azure.DIAGNOSTIC_SETTING, "s", {"resourceUri": AKS_URI, "workspaceId": WORKSPACE_ID})
    # 30 GB x (365 - 31) / 30.4167 = 329.42 GB x 0.10 $/GB-month = 32.94
    assert one(estimate(plan_of(workspace, setting)), "Log Analytics retention").monthly_usd == 32.94


@pytest.mark.parametrize("inputs", [
    {"resourceUri": AKS_URI, "storageAccountId": "/x/storageAccounts/lg"},  # not a workspace
    {"resourceUri": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv", "workspaceId": WORKSPACE_ID},
], ids=["to-storage", "unknown-source"])
def test_logs_the_table_cannot_price_are_reported_not_guessed(inputs):
    est = estimate(plan_of(resource(azure.DIAGNOSTIC_SETTING, "s", inputs)))
    assert [i.what for i in est.unpriced] == ["diagnostic logs"] and est.monthly_total_usd == 0
