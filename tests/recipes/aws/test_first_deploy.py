"""What a first `recipe deploy` on AWS meets that the plan used not to: each test
reads the inputs the program registered, and the mock cloud
(`provisioner.analysis.mockcloud.aws`) refuses what AWS refuses.

1. Zones: opted-in Local / Wavelength Zones are listed as available, and not
   every zone offers every instance type (use1-az3 has no t3 or m5): the node
   group's zones must be standard zones that offer each type it may launch.
2. The control plane's log group `/aws/eks/<cluster>/cluster`: declared by the
   stack (retention, the --kms key, deleted with the stack), not left to EKS.
3. The nodes in one zone: PostgreSQL's EBS volume is zonal.
"""

from __future__ import annotations

import json

import pytest

from provisioner.analysis import mockcloud
from provisioner.analysis.mockcloud import aws as mock
from provisioner.analysis.plan import run_plan
from recipes import build
from recipes.aws import encryption, network, policies
from recipes.facts import aws as facts

from tests.conftest import aws_spec
from tests.recipes.aws.helpers import MOCK_ACCOUNT, RT_ASSOC


# The zone-type filter the recipe must ask with, as AWS spells it.
STANDARD_ONLY = {"filters": [{"name": "zone-type", "values": ["availability-zone"]}]}


def fresh_plan(**flags):
    """A plan of the real program, run now (not the session cache: the test patches the program)."""
    return run_plan(aws_spec(**flags), program=build)


def refused_plan(error: type[BaseException], match: str, **flags) -> BaseException:
    """A plan that must fail with `error` (the plan runner drops the failed run's leftovers,
    so the next plan of the session runs clean: test_a_failed_plan_leaves_the_next_one_clean)."""
    with pytest.raises(error, match=match) as refused:
        fresh_plan(**flags)
    return refused.value


def zone_of_subnet_ids(plan) -> dict[str, str]:
    """Subnet id -> its zone. A subnet's id is what its route table association names."""
    zones = {s.name: s.inputs["availabilityZone"] for s in plan.by_type(facts.EC2_SUBNET)}
    return {a.inputs["subnetId"]: zones[a.name] for a in plan.by_type(RT_ASSOC)}


def mock_zone(region: str, name: str) -> mock.Zone:
    (zone,) = [z for z in mock.zones(region) if z.name == name]
    return zone


# ---------------------------------------------------------------------------
# 1. Zones: standard zones that offer every type the node group may launch


def test_mock_lists_local_zones_and_a_zone_without_t3_and_m5():
    # What AWS answers in us-east-1: a Local Zone and a Wavelength Zone listed (and sorted)
    # before the standard zones, and one standard zone (use1-az3) with no t3 or m5.
    context = mockcloud.Context(aws_spec(region="us-east-1"))
    listed = mockcloud.call("aws:index/getAvailabilityZones:getAvailabilityZones", {"state": "available"}, context)
    assert listed["names"][:2] == ["us-east-1-bos-1a", "us-east-1-wl1-bos-wlz-1"]
    standard = mockcloud.call("aws:index/getAvailabilityZones:getAvailabilityZones", {"state": "available", **STANDARD_ONLY}, context)
    assert standard["names"] == [f"us-east-1{letter}" for letter in "abcdef"]
    assert dict(zip(standard["names"], standard["zoneIds"]))["us-east-1a"] == "use1-az3"
    offerings = mockcloud.call(
        "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings",
        {"locationType": "availability-zone", "filters": [{"name": "instance-type", "values": ["t3.large", "m5.large", "m6i.large"]}]},
        context,
    )
    offered = set(zip(offerings["instanceTypes"], offerings["locations"]))
    assert ("m6i.large", "us-east-1a") in offered
    assert ("t3.large", "us-east-1a") not in offered and ("m5.large", "us-east-1a") not in offered
    assert {("t3.large", z) for z in standard["names"][1:]} <= offered
    assert not {(t, z) for t, z in offered if z == "us-east-1-bos-1a"}  # the Local Zone: none of these


@pytest.mark.parametrize("region", ["eu-west-1", "us-east-1"])
def test_chosen_zones_exclude_local_zones_and_the_zone_without_t3(plans, region):
    plan = plans(region=region)
    local = {z.name for z in mock.zones(region) if z.zone_type != "availability-zone"}
    node_group = plan.one(facts.EKS_NODE_GROUP)
    types = node_group.inputs["instanceTypes"]
    assert types == ["t3.large", "t3a.large", "m5.large", "m6i.large"]  # the dev profile: spot, diversified
    lacking = {z.name for z in mock.zones(region) if not all(z.offers(t) for t in types)}
    assert f"{region}a" in lacking and local <= lacking  # what a blind choice would pick first
    chosen = sorted({s.inputs["availabilityZone"] for s in plan.by_type(facts.EC2_SUBNET)})
    assert chosen == [f"{region}b", f"{region}c"]  # sorted: the first two that qualify
    assert not set(chosen) & (local | lacking)


@pytest.mark.parametrize("flags", [{"spot": False}, {"profile": "prod"}, {"node_type": "m7g.large"}, {"region": "us-east-1", "profile": "prod"}])
def test_every_zone_of_the_stack_offers_every_node_type(plans, flags):
    plan = plans(**flags)
    region = plan.spec.region
    types = plan.one(facts.EKS_NODE_GROUP).inputs["instanceTypes"]
    for subnet in plan.by_type(facts.EC2_SUBNET):
        zone = mock_zone(region, subnet.inputs["availabilityZone"])
        assert zone.zone_type == "availability-zone", subnet.name
        assert all(zone.offers(t) for t in types), (subnet.name, zone.name, types)


def test_choose_zones_is_sorted_and_needs_every_type():
    offerings = [("t3.large", "z-c"), ("m5.large", "z-c"), ("t3.large", "z-b"), ("m5.large", "z-b"),
                 ("t3.large", "z-a"), ("m5.large", "z-d"), ("t3.large", "z-d")]
    zones = ["z-d", "z-c", "z-b", "z-a"]
    assert network.choose_zones("r", zones, offerings, ["t3.large", "m5.large"]) == ["z-b", "z-c"]
    assert network.choose_zones("r", list(reversed(zones)), reversed(offerings), ["t3.large", "m5.large"]) == ["z-b", "z-c"]
    assert network.choose_zones("r", zones, offerings, ["t3.large"]) == ["z-a", "z-b"]
    with pytest.raises(network.ZoneSelectionError, match=r"^r: 1 availability zone\(s\) \(z-c\) .*p5\.48xlarge"):
        network.choose_zones("r", zones, offerings + [("p5.48xlarge", "z-c")], ["p5.48xlarge"])


def test_fewer_than_two_zones_fail_the_plan_naming_region_and_types():
    # p5.48xlarge: offered in one zone of the (mock) region only.
    message = str(refused_plan(network.ZoneSelectionError, r"^us-east-1: 1 availability zone\(s\) \(us-east-1c\) offer",
                               region="us-east-1", node_type="p5.48xlarge"))
    assert "(p5.48xlarge)" in message and "--node-type" in message
    assert "us-east-1-bos-1a" not in message  # only standard zones were considered


def old_zone_choice(standard_only: bool):
    """The program before the fix: the first two zones listed (optionally standard ones only)."""

    def patch(monkeypatch):
        monkeypatch.setattr(network, "choose_zones", lambda region, zones, offerings, types, count=2: list(zones)[:count])
        if not standard_only:
            monkeypatch.setattr(network, "STANDARD_ZONES", None)

    return patch


@pytest.mark.parametrize(
    "standard_only,refused_zone",
    [(False, "eu-west-1-lcl-1a"), (True, "eu-west-1a")],
    ids=["first-two-zones", "first-two-standard-zones"],
)
def test_the_mock_refuses_a_node_group_in_zones_picked_blindly(monkeypatch, standard_only, refused_zone):
    old_zone_choice(standard_only)(monkeypatch)
    refused = str(refused_plan(mock.AwsError, r"not supported in your requested Availability Zone"))
    assert f"({refused_zone})" in refused
    assert "creating EKS Node Group (ml-dev:" in refused


def test_the_mock_refuses_a_node_group_in_a_zone_lacking_one_of_its_types():
    context = mockcloud.Context(aws_spec())
    for i, zone in enumerate(["eu-west-1a", "eu-west-1b"]):
        mockcloud.computed(facts.EC2_SUBNET, f"s{i}", {"availabilityZone": zone}, context)
    ids = [mockcloud.fake_id(facts.EC2_SUBNET, f"s{i}") for i in range(2)]
    ok = {"clusterName": "c", "subnetIds": ids[1:], "instanceTypes": ["t3.large", "m5.large"]}
    mockcloud.computed(facts.EKS_NODE_GROUP, "ng", ok, context)
    mockcloud.computed(facts.EKS_NODE_GROUP, "ng", {**ok, "subnetIds": ids, "instanceTypes": ["m6i.large"]}, context)
    with pytest.raises(mock.AwsError, match=r"instance type \(m5\.large\) is not supported .* \(eu-west-1a\)"):
        mockcloud.computed(facts.EKS_NODE_GROUP, "ng", {**ok, "subnetIds": ids, "instanceTypes": ["m6i.large", "m5.large"]}, context)
    with pytest.raises(mock.AwsError, match=r"Value \(eu-west-1z\) for parameter availabilityZone is invalid"):
        mockcloud.computed(facts.EC2_SUBNET, "bad", {"availabilityZone": "eu-west-1z"}, context)


# ---------------------------------------------------------------------------
# 2. The control plane's log group


def test_log_group_is_the_one_eks_writes_to_and_the_cluster_waits_for_it(aws_plan):
    cluster = aws_plan.one(facts.EKS_CLUSTER)
    log_group = aws_plan.one(facts.CLOUDWATCH_LOG_GROUP)
    assert log_group.inputs["name"] == f"/aws/eks/{cluster.inputs['name']}/cluster" == "/aws/eks/ml-dev/cluster"
    # Created before the cluster (before EKS would create it), deleted after it.
    assert log_group.urn in cluster.dependencies
    # Logs are not data kept on destroy: the log group goes with the stack.
    assert not log_group.retain_on_delete and not log_group.protect
    assert log_group.parent == aws_plan.one("recipes:aws:Cluster", "cluster").urn
    assert "kmsKeyId" not in log_group.inputs  # without --kms: CloudWatch's own encryption


@pytest.mark.parametrize("profile,days", [("dev", 30), ("prod", 90)])
def test_log_group_retention_follows_the_profile(plans, profile, days):
    assert plans(profile=profile).one(facts.CLOUDWATCH_LOG_GROUP).inputs["retentionInDays"] == days


def test_log_group_follows_delete_data_never(plans):
    # Not retained with or without --delete-data: only data outlives the stack.
    plan = plans(aws_spec().with_changes(delete_data=True))
    assert not plan.one(facts.CLOUDWATCH_LOG_GROUP).retain_on_delete


def test_kms_log_group_uses_the_stack_key(kms_plan):
    log_group = kms_plan.one(facts.CLOUDWATCH_LOG_GROUP)
    key = kms_plan.one(facts.KMS_KEY)
    arn = kms_plan.one(facts.KMS_ALIAS).inputs["targetKeyId"]
    assert log_group.inputs["kmsKeyId"] == arn
    assert key.urn in log_group.dependencies


def test_kms_key_policy_lets_cloudwatch_logs_use_it_for_this_log_group_only(kms_plan):
    log_group = kms_plan.one(facts.CLOUDWATCH_LOG_GROUP)
    arn = f"arn:aws:logs:eu-west-1:{MOCK_ACCOUNT}:log-group:/aws/eks/ml-dev/cluster"
    assert log_group.outputs["arn"] == arn
    statements = json.loads(kms_plan.one(facts.KMS_KEY).inputs["policy"])["Statement"]
    (logs,) = [s for s in statements if s["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}]
    assert logs["Effect"] == "Allow" and logs["Resource"] == "*"
    assert {"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"} <= set(logs["Action"])
    assert not any("*" in a for a in logs["Action"])
    assert logs["Condition"] == {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": [arn]}}
    # The account's own statement is unchanged.
    assert [s for s in statements if s is not logs] == json.loads(policies.key_policy(MOCK_ACCOUNT))["Statement"]


def test_kms_key_policy_without_a_cluster_names_no_log_group(plans):
    statements = json.loads(plans(kms=True, components=["bucket"]).one(facts.KMS_KEY).inputs["policy"])["Statement"]
    assert [s["Principal"] for s in statements] == [{"AWS": f"arn:aws:iam::{MOCK_ACCOUNT}:root"}]


def test_the_mock_refuses_a_log_group_on_a_key_logs_may_not_use(monkeypatch):
    # Without the statement for CloudWatch Logs, AWS refuses to create the log group on the key.
    monkeypatch.setattr(encryption, "key_policy", lambda account, region, log_groups=(): policies.key_policy(account))
    refused_plan(mock.AwsError, r"not allowed to be used with Arn 'arn:aws:logs:eu-west-1:\d+:log-group:/aws/eks/ml-dev/cluster'",
                 kms=True)


# ---------------------------------------------------------------------------
# 3. Nodes in one zone, the control plane in two


@pytest.mark.parametrize("flags", [{}, {"network": "public"}, {"profile": "prod"}, {"region": "us-east-1"}])
def test_node_group_is_in_one_zone_and_the_control_plane_in_two(plans, flags):
    plan = plans(**flags)
    zone_of = zone_of_subnet_ids(plan)
    node_zones = [zone_of[s] for s in plan.one(facts.EKS_NODE_GROUP).inputs["subnetIds"]]
    assert len(set(node_zones)) == 1, node_zones
    control_plane_zones = {zone_of[s] for s in plan.one(facts.EKS_CLUSTER).inputs["vpcConfig"]["subnetIds"]}
    assert len(control_plane_zones) == 2  # EKS requires two
    # The nodes' zone is the first chosen one, where the NAT gateway (if any) lives too.
    assert node_zones[0] == min(control_plane_zones)
    for nat in plan.by_type(facts.EC2_NAT_GATEWAY):
        assert zone_of[nat.inputs["subnetId"]] == node_zones[0]


def test_node_group_subnet_is_the_network_kind_of_the_stack(plans):
    for network_kind, flags in (("private", {}), ("public", {"network": "public"})):
        plan = plans(**flags)
        ids = {a.name: a.inputs["subnetId"] for a in plan.by_type(RT_ASSOC)}
        assert plan.one(facts.EKS_NODE_GROUP).inputs["subnetIds"] == [ids[f"network-{network_kind}-0"]]


def test_the_mock_refuses_a_control_plane_in_one_zone():
    context = mockcloud.Context(aws_spec())
    for i, zone in enumerate(["eu-west-1b", "eu-west-1b", "eu-west-1c"]):
        mockcloud.computed(facts.EC2_SUBNET, f"s{i}", {"availabilityZone": zone}, context)
    ids = [mockcloud.fake_id(facts.EC2_SUBNET, f"s{i}") for i in range(3)]
    mockcloud.computed(facts.EKS_CLUSTER, "c", {"name": "c", "vpcConfig": {"subnetIds": [ids[0], ids[2]]}}, context)
    with pytest.raises(mock.AwsError, match="Subnets specified must be in at least two different AZs"):
        mockcloud.computed(facts.EKS_CLUSTER, "c", {"name": "c", "vpcConfig": {"subnetIds": ids[:2]}}, context)


def test_subnets_never_move_when_the_zone_choice_changes(aws_plan):
    plan = aws_plan
    for subnet in plan.by_type("aws:ec2/subnet:Subnet"):
        assert subnet.ignore_changes == ["availabilityZone"], subnet.name
    provider = plan.one("pulumi:providers:kubernetes")
    assert provider.inputs.get("deleteUnreachable") in (None, "false")


def test_a_failed_plan_leaves_the_next_one_clean(plans):
    refused_plan(Exception, "not supported|fewer than two|offer", node_type="p5.48xlarge")
    assert fresh_plan().one("aws:eks/cluster:Cluster")


def test_plan_reports_a_refused_stack_in_one_line(home):
    from typer.testing import CliRunner

    from provisioner import cli

    result = CliRunner().invoke(cli.app, ["plan", "aws", "--node-type", "p5.48xlarge", "--output", "json"])
    assert result.exit_code == 1
    message = json.loads(result.stdout)["error"]["message"]
    assert message.startswith("the stack cannot be planned: ") and "\n" not in message
    assert "Traceback" not in result.output
