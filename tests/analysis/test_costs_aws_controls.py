"""What --audit-logs costs on AWS: flow-log delivery, the log bucket's storage, the added control-plane
log types. The always-on controls (network policy, the closed default security group, scoped key
grants) cost nothing.

As in test_costs.py, every expected figure is worked out by hand from the list prices below (as of
the table's date) and the volumes the estimate assumes, and written as the literal result:
  vended logs delivered to S3        0.25 $/GB       (https://aws.amazon.com/cloudwatch/pricing/)
  CloudWatch Logs ingestion          0.50 $/GB
  CloudWatch Logs storage            0.03 $/GB-month
  S3 Standard                        0.023 $/GB-month (https://aws.amazon.com/s3/pricing/)
  assumed a month: 5 GB of flow logs per VPC, 1 GB of access logs per bucket, 1 GB per added log type
  a month is 365/12 = 30.4167 days
"""

from __future__ import annotations

import pytest

from provisioner.analysis.costs import estimate
from provisioner.analysis.plan import Plan, PlannedResource
from recipes.facts import aws

from tests.analysis.estimate_items import items, one


@pytest.fixture(scope="module")
def prod(plans):
    return estimate(plans(profile="prod").plan)


def test_prod_prices_every_log_audit_logs_adds(prod):
    flow = one(prod, "VPC flow logs")
    assert flow.monthly_usd == 1.25 and flow.type == aws.EC2_FLOW_LOG  # 5 GB x 0.25 $/GB, S3 half CloudWatch's 0.50
    # 2 types x 1 GB = 2 GB x 0.50 $/GB = 1.00, kept 90 days: 2 GB x 90 / 30.4167 = 5.918 GB x 0.03 = 0.1775
    control_plane = one(prod, "EKS control-plane logs (controllerManager, scheduler)")
    assert control_plane.monthly_usd == 1.18 and control_plane.type == aws.EKS_CLUSTER
    assert "5.92 GB kept (90 days)" in control_plane.basis
    # (5 GB flow + 1 GB access) a month, kept 90 days then 30 as old versions: 6 x 120 / 30.4167 = 23.671 GB x 0.023 = 0.5444
    storage = one(prod, "S3 Standard storage (logs)")
    assert (storage.name, storage.monthly_usd) == ("logs", 0.54)
    assert "kept 120 days: 23.67 GB" in storage.basis
    (artifacts,) = [i for i in items(prod, "S3 Standard storage") if i.name == "bucket"]
    assert artifacts.monthly_usd == 0.23  # the artifact bucket as before: 10 GB x 0.023


def test_audit_logs_add_exactly_their_items_to_prod(plans, prod):
    without = estimate(plans(profile="prod", audit_logs=False).plan)
    assert not items(without, "VPC flow logs") and not items(without, "EKS control-plane logs")
    assert not items(without, "S3 Standard storage (logs)")
    assert round(prod.monthly_total_usd - without.monthly_total_usd, 2) == 2.97  # 1.25 + 1.18 + 0.54


def test_dev_with_audit_logs_keeps_logs_a_month(plans):
    est = estimate(plans(audit_logs=True).plan)
    # 2 GB x 0.50 = 1.00 + 2 GB x 30 / 30.4167 = 1.973 GB x 0.03 = 0.0592
    assert one(est, "EKS control-plane logs").monthly_usd == 1.06
    # 6 GB x (30 + 30) / 30.4167 = 11.836 GB x 0.023 = 0.2722
    assert one(est, "S3 Standard storage (logs)").monthly_usd == 0.27
    assert one(est, "VPC flow logs").monthly_usd == 1.25
    assert not est.unpriced
    # The volumes are assumptions, and the estimate says so.
    assumed = " ".join(est.assumptions)
    assert "5 GB of flow-log records a month assumed" in assumed and "1 GB of access-log records" in assumed


def test_the_always_on_controls_cost_nothing(plans, aws_plan):
    est = estimate(aws_plan.plan)
    free = {aws.EKS_ADDON, aws.EC2_DEFAULT_SECURITY_GROUP}
    assert free <= aws_plan.types() and not [i for i in est.items if i.type in free]
    assert not items(est, "EKS control-plane logs") and not items(est, "S3 Standard storage (logs)")


# ---------------------------------------------------------------------------
# Hand-built plans: what the stacks never do


def resource(type_: str, name: str, inputs: dict, dependencies: tuple[str, ...] = ()) -> PlannedResource:
    return PlannedResource(urn=f"urn::{type_}::{name}", type=type_, name=name, parent=None, provider=None,
                           dependencies=[f"urn::{aws.S3_BUCKET}::{d}" for d in dependencies], custom=True, inputs=inputs)


def plan_of(spec, *resources: PlannedResource) -> Plan:
    return Plan(spec=spec, resources=list(resources), outputs={}, secret_outputs=[])


def test_flow_logs_to_cloudwatch_cost_its_ingestion_and_firehose_is_unpriced(make_spec):
    to_cloudwatch = resource(aws.EC2_FLOW_LOG, "cw", {"logDestinationType": "cloud-watch-logs", "logGroupName": "flows"})
    to_firehose = resource(aws.EC2_FLOW_LOG, "fh", {"logDestinationType": "kinesis-data-firehose", "logDestination": "arn:x"})
    est = estimate(plan_of(make_spec(), to_cloudwatch, to_firehose))
    assert one(est, "VPC flow logs delivered to CloudWatch Logs").monthly_usd == 2.5  # 5 GB x 0.50 $/GB
    (unpriced,) = est.unpriced
    assert unpriced.name == "fh" and "kinesis-data-firehose" in unpriced.basis


def test_a_log_bucket_is_priced_by_what_it_keeps(make_spec):
    logs = resource(aws.S3_BUCKET, "logs", {"bucket": "logs"})
    sources = [resource(aws.S3_BUCKET_LOGGING, f"to-logs-{i}", {"bucket": f"b{i}", "targetBucket": "logs"}) for i in (1, 2)]
    yearly = resource(aws.S3_LIFECYCLE, "logs-lifecycle", {"rules": [{"status": "Enabled", "expiration": {"days": 365},
                                                                       "noncurrentVersionExpiration": {"noncurrentDays": 30}}]},
                      dependencies=("logs",))
    # Unversioned, so no old versions: 2 GB a month x 365 / 30.4167 days = 24 GB x 0.023 = 0.552
    assert one(estimate(plan_of(make_spec(), logs, *sources, yearly)), "S3 Standard storage (logs)").monthly_usd == 0.55
    # Without an expiry the logs grow forever: no figure, and said so.
    forever = estimate(plan_of(make_spec(), logs, *sources))
    (unpriced,) = forever.unpriced
    assert unpriced.what == "S3 Standard storage (logs)" and "without expiry" in unpriced.basis
