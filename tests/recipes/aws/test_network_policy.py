"""Segmentation and key grants on AWS, always on: NetworkPolicy enforced by the VPC CNI (N4), the VPC's
default security group closed (N5), kms:CreateGrant only for AWS resources (I4).

Each is asserted on the inputs the program registers, on the mock cloud refusing what AWS refuses,
and on the baseline predicate failing a plan that lacks it.
"""

from __future__ import annotations

import copy
import json

import pytest

from provisioner.analysis import mockcloud
from provisioner.analysis.baseline import aws as baseline
from provisioner.analysis.mockcloud import aws as mock
from provisioner.analysis.plan import PlannedResource, run_plan
from recipes import build
from recipes.aws import cluster as cluster_module
from recipes.facts import aws as facts
from recipes.facts import any_cloud as k8s_facts

from tests.conftest import aws_spec

NETWORK_POLICY = {"enableNetworkPolicy": "true"}  # the add-on's documented switch (a string, not a JSON boolean)


def vpc_cni(plan):
    return plan.one(facts.EKS_ADDON, "cluster-vpc-cni")


def changed(plan, type_: str, change, name: str | None = None):
    """A copy of `plan` whose `type_` resources (named `name`) went through `change`."""
    bad = copy.deepcopy(plan.plan if hasattr(plan, "plan") else plan)
    targets = [r for r in bad.resources if r.type == type_ and name in (None, r.name)]
    assert targets
    for r in targets:
        change(r)
    return bad


def default_group_id(group) -> str:
    """The id the mock cloud gave the adopted group (as AWS's: sg-<17 hex>)."""
    return f"sg-{mockcloud.digest(group.name, length=17)}"


def addon_inputs(**inputs) -> dict:
    return {"clusterName": "ml-dev", "addonName": "vpc-cni", **inputs}


# ---------------------------------------------------------------------------
# N4: the VPC CNI enforces NetworkPolicy objects


@pytest.mark.parametrize("flags", [{}, {"profile": "prod"}, {"network": "public"}])
def test_vpc_cni_is_a_managed_addon_with_network_policy_on(plans, flags):
    addon = vpc_cni(plans(**flags))
    assert addon.inputs["addonName"] == "vpc-cni"
    assert json.loads(addon.inputs["configurationValues"]) == NETWORK_POLICY
    # No pinned version: EKS picks its default for the cluster's version, v1.14+ on every version
    # in standard support (C6), the first with network policy.
    assert "addonVersion" not in addon.inputs
    # Adopts EKS's own install on create (NONE stops on its fields), keeps the declared
    # configuration on update, and leaves aws-node running should the add-on ever be deleted.
    assert addon.inputs["resolveConflictsOnCreate"] == "OVERWRITE"
    assert addon.inputs["resolveConflictsOnUpdate"] == "OVERWRITE"
    assert addon.inputs["preserve"] is True
    assert not addon.retain_on_delete and not addon.protect


@pytest.mark.parametrize("flags", [{}, {"network": "public"}, {"kms": True}])
def test_vpc_cni_comes_after_the_control_plane_and_before_the_nodes(plans, flags):
    plan = plans(**flags)
    addon, node_group, cluster = vpc_cni(plan), plan.one(facts.EKS_NODE_GROUP), plan.one(facts.EKS_CLUSTER)
    assert cluster.urn in addon.dependencies
    assert addon.urn in node_group.dependencies  # every node's aws-node starts with the policy agent
    assert node_group.urn not in plan.deps_closure(addon)  # a DaemonSet needs no node to become active
    # The other add-ons still wait for the nodes they run on.
    for other in plan.by_type(facts.EKS_ADDON):
        if other is not addon:
            assert node_group.urn in other.dependencies, other.name


def test_workloads_wait_for_enforcement(aws_plan):
    addon = vpc_cni(aws_plan).urn
    workloads = aws_plan.by_type(k8s_facts.DEPLOYMENT) + aws_plan.by_type(k8s_facts.HELM_RELEASE)
    assert workloads
    for workload in workloads:
        assert addon in aws_plan.deps_closure(workload), workload.name
    # Directly, through the cluster handle's `ready`: not only because the nodes happen to wait.
    assert addon in aws_plan.one(k8s_facts.DEPLOYMENT, "tracker-server").dependencies


def test_mock_refuses_what_the_addon_schema_refuses():
    context = mockcloud.Context(aws_spec())
    mockcloud.computed(facts.EKS_ADDON, "ok", addon_inputs(configurationValues=json.dumps(NETWORK_POLICY)), context)
    mockcloud.computed(facts.EKS_ADDON, "ok", addon_inputs(configurationValues=json.dumps(NETWORK_POLICY),
                                                           addonVersion="v1.19.2-eksbuild.1"), context)
    refusals = {
        "boolean": ({"enableNetworkPolicy": True}, None, r"\[\$\.enableNetworkPolicy: boolean found, string expected\]"),
        "typo": ({"enableNetworkpolicy": "true"}, None, r"\$\.enableNetworkpolicy: is not defined in the schema"),
        "too old": (NETWORK_POLICY, "v1.13.4-eksbuild.1", r"\$\.enableNetworkPolicy: is not defined in the schema"),
    }
    for values, version, message in refusals.values():
        inputs = addon_inputs(configurationValues=json.dumps(values), **({"addonVersion": version} if version else {}))
        with pytest.raises(mock.AwsError, match=r"^creating EKS Add-On \(ml-dev:vpc-cni\): InvalidParameterException: "
                                                r"ConfigurationValue provided in request is not supported.*" + message):
            mockcloud.computed(facts.EKS_ADDON, "bad", inputs, context)


def test_a_json_boolean_switch_fails_the_plan(monkeypatch):
    # The classic slip (json.dumps({"enableNetworkPolicy": True})) is refused before any deploy.
    monkeypatch.setattr(cluster_module, "NETWORK_POLICY_CONFIGURATION", {"enableNetworkPolicy": True})
    with pytest.raises(mock.AwsError, match="boolean found, string expected"):
        run_plan(aws_spec(), program=build)


def test_n4_passes_the_stack_and_fails_without_enforcement_before_the_nodes(aws_plan):
    assert baseline.network_policy_enforced(aws_plan.plan).status == "pass"
    off = changed(aws_plan, facts.EKS_ADDON, lambda r: r.inputs.update(configurationValues='{"enableNetworkPolicy": "false"}'),
                  "cluster-vpc-cni")
    late = changed(aws_plan, facts.EKS_NODE_GROUP, lambda r: r.dependencies.remove(vpc_cni(aws_plan).urn))
    for bad in (off, late):
        verdict = baseline.network_policy_enforced(bad)
        assert (verdict.status, verdict.resources) == ("fail", ["cluster-nodes"])
    assert baseline.network_policy_enforced(run_plan(aws_spec(components=["bucket"]))).status == "n/a"


# ---------------------------------------------------------------------------
# N5: the default security group closed, and used by nothing


@pytest.mark.parametrize("flags", [{}, {"network": "public"}, {"profile": "prod"}])
def test_default_security_group_admits_and_sends_nothing(plans, flags):
    plan = plans(**flags)
    vpc, group = plan.one(facts.EC2_VPC), plan.one(facts.EC2_DEFAULT_SECURITY_GROUP)
    assert group.inputs["vpcId"] == mockcloud.fake_id(facts.EC2_VPC, vpc.name) and vpc.urn in group.dependencies
    # Empty lists, not omitted: the rules stay empty on every deploy, not only after adoption.
    assert group.inputs["ingress"] == [] and group.inputs["egress"] == []
    assert group.parent == plan.one("recipes:aws:Network", "network").urn
    assert not group.retain_on_delete and not group.protect


def test_nothing_of_the_stack_uses_the_default_security_group(aws_plan):
    group = aws_plan.one(facts.EC2_DEFAULT_SECURITY_GROUP)
    assert group.outputs["name"] == "default"  # the VPC's own group, adopted
    assert default_group_id(group) not in aws_plan.inputs_json()
    # EKS puts control plane and nodes in its own cluster security group when given none.
    assert "securityGroupIds" not in aws_plan.one(facts.EKS_CLUSTER).inputs["vpcConfig"]
    template = aws_plan.one(facts.EC2_LAUNCH_TEMPLATE).inputs
    assert not {"vpcSecurityGroupIds", "securityGroupNames", "networkInterfaces"} & set(template)
    assert not [r for r in aws_plan.resources if "ecurityGroup" in r.type and r.type != facts.EC2_DEFAULT_SECURITY_GROUP]


def test_mock_refuses_a_default_security_group_of_an_unknown_vpc():
    context = mockcloud.Context(aws_spec())
    mockcloud.computed(facts.EC2_VPC, "vpc", {"cidrBlock": "10.0.0.0/16"}, context)
    mockcloud.computed(facts.EC2_DEFAULT_SECURITY_GROUP, "sg", {"vpcId": mockcloud.fake_id(facts.EC2_VPC, "vpc")}, context)
    with pytest.raises(mock.AwsError, match=r"^InvalidVpcID\.NotFound: The vpc ID 'vpc-0abc' does not exist$"):
        mockcloud.computed(facts.EC2_DEFAULT_SECURITY_GROUP, "sg", {"vpcId": "vpc-0abc"}, context)


def test_n5_fails_an_open_or_ruled_default_group(aws_plan):
    assert baseline.default_security_group_closed(aws_plan.plan).status == "pass"
    rule = {"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}
    egress = changed(aws_plan, facts.EC2_DEFAULT_SECURITY_GROUP, lambda r: r.inputs.update(egress=[rule]))
    unmanaged = changed(aws_plan, facts.EC2_DEFAULT_SECURITY_GROUP, lambda r: r.inputs.pop("ingress"))
    extra = copy.deepcopy(aws_plan.plan)
    group = extra.one(facts.EC2_DEFAULT_SECURITY_GROUP)
    extra.resources.append(PlannedResource(urn="urn:x::rule", type="aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                                           name="rule", parent=None, provider=None, dependencies=[group.urn],
                                           inputs={"securityGroupId": default_group_id(group)}, custom=True))
    for bad in (egress, unmanaged, extra):
        verdict = baseline.default_security_group_closed(bad)
        assert (verdict.status, verdict.resources) == ("fail", ["network-vpc"])


# ---------------------------------------------------------------------------
# I4: kms:CreateGrant only for AWS resources


def test_i4_passes_every_key_policy_and_role_policy_of_the_stack(plans):
    for flags in ({}, {"kms": True}, {"profile": "prod"}):
        assert baseline.kms_grants_scoped(plans(**flags).plan).status == "pass", flags


def test_i4_fails_an_unconditioned_grant_anywhere(kms_plan):
    def unconditioned(r):
        document = json.loads(r.inputs["policy"])
        for statement in document["Statement"]:
            statement.pop("Condition", None)
        r.inputs["policy"] = json.dumps(document)

    role = changed(kms_plan, facts.IAM_ROLE_POLICY, unconditioned, "cluster-control-plane-kms")
    assert (baseline.kms_grants_scoped(role).status, baseline.kms_grants_scoped(role).resources) == ("fail", ["cluster-control-plane-kms"])

    def wildcard_to_a_role(r):
        document = json.loads(r.inputs["policy"])
        document["Statement"].append({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/ci"},
                                      "Action": "kms:Create*", "Resource": "*"})
        r.inputs["policy"] = json.dumps(document)

    key = changed(kms_plan, facts.KMS_KEY, wildcard_to_a_role)
    assert baseline.kms_grants_scoped(key).resources == ["encryption"]
    # The key policy's own statement (the account's root, kms:*) delegates to IAM: not a grant to judge.
    statements = json.loads(kms_plan.one(facts.KMS_KEY).inputs["policy"])["Statement"]
    assert any(s["Action"] == "kms:*" and s["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"} for s in statements)
