"""The AWS network as planned: VPC, subnets, NAT, and the order they are created and destroyed in."""

from __future__ import annotations

import pytest

from recipes.facts import aws as facts

from tests.recipes.aws.helpers import IGW, MOCK_ZONES, RT_ASSOC, subnets


def test_vpc_has_dns_support_and_hostnames(aws_plan):
    vpc = aws_plan.one(facts.EC2_VPC)
    assert vpc.inputs["enableDnsSupport"] is True
    assert vpc.inputs["enableDnsHostnames"] is True


def test_two_public_and_two_private_subnets_in_distinct_zones(aws_plan):
    cluster_tag = "kubernetes.io/cluster/ml-dev"
    public, private = subnets(aws_plan, "public"), subnets(aws_plan, "private")
    assert len(public) == 2 and len(private) == 2
    assert len(aws_plan.by_type(facts.EC2_SUBNET)) == 4
    for subnet in public:
        assert subnet.inputs["tags"]["kubernetes.io/role/elb"] == "1"
        assert "kubernetes.io/role/internal-elb" not in subnet.inputs["tags"]
        assert subnet.inputs["tags"][cluster_tag] == "shared"
    for subnet in private:
        assert subnet.inputs["tags"]["kubernetes.io/role/internal-elb"] == "1"
        assert "kubernetes.io/role/elb" not in subnet.inputs["tags"]
        assert subnet.inputs["mapPublicIpOnLaunch"] is False
    for group in (public, private):
        zones = [s.inputs["availabilityZone"] for s in group]
        assert len(set(zones)) == 2, zones
        assert set(zones) <= MOCK_ZONES
    # CIDRs are carved from the VPC without overlap.
    import ipaddress

    vpc = ipaddress.ip_network(aws_plan.one(facts.EC2_VPC).inputs["cidrBlock"])
    nets = [ipaddress.ip_network(s.inputs["cidrBlock"]) for s in public + private]
    assert all(n.subnet_of(vpc) for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])


def test_private_network_has_exactly_one_nat_gateway(aws_plan):
    assert len(aws_plan.by_type(facts.EC2_NAT_GATEWAY)) == 1
    assert len(aws_plan.by_type(facts.EC2_EIP)) == 1
    nat = aws_plan.one(facts.EC2_NAT_GATEWAY)
    eip = aws_plan.one(facts.EC2_EIP)
    public0 = subnets(aws_plan, "public")[0]
    assert eip.urn in nat.dependencies
    assert public0.urn in nat.dependencies  # the NAT lives in a public subnet


def test_nodes_run_in_private_subnets_by_default(aws_plan):
    node_group = aws_plan.one(facts.EKS_NODE_GROUP)
    private = [s.urn for s in subnets(aws_plan, "private")]
    public = {s.urn for s in subnets(aws_plan, "public")}
    # One zone for the nodes (the tracker's zonal volume): the first private subnet only.
    assert private[0] in node_group.dependencies
    assert not (public | {private[1]}) & set(node_group.dependencies)
    assert len(node_group.inputs["subnetIds"]) == 1


def test_public_network_has_no_nat_and_nodes_in_public_subnets(plans):
    plan = plans(network="public")
    assert plan.by_type(facts.EC2_NAT_GATEWAY) == []
    assert plan.by_type(facts.EC2_EIP) == []
    assert subnets(plan, "private") == []
    public = subnets(plan, "public")
    assert len(public) == 2
    assert all(s.inputs["mapPublicIpOnLaunch"] is True for s in public)
    node_group = plan.one(facts.EKS_NODE_GROUP)
    assert public[0].urn in node_group.dependencies and public[1].urn not in node_group.dependencies
    # The node group's subnet id is the first public subnet's (as the route table associations name them):
    # one zone for the nodes.
    public_ids = {a.name: a.inputs["subnetId"] for a in plan.by_type(RT_ASSOC) if a.name.startswith("network-public-")}
    assert node_group.inputs["subnetIds"] == [public_ids["network-public-0"]]
    assert len(public_ids) == 2


@pytest.mark.parametrize("network,node_subnets", [("private", "network-private-"), ("public", "network-public-")])
def test_nodes_start_after_their_route_out(plans, network, node_subnets):
    plan = plans(network=network)
    closure = plan.deps_closure(plan.one(facts.EKS_NODE_GROUP))
    node_routes = [a for a in plan.by_type(RT_ASSOC) if a.name.startswith(node_subnets)]
    assert len(node_routes) == 2
    assert {a.urn for a in node_routes} <= closure
    assert {r.urn for r in plan.by_type(IGW) + plan.by_type(facts.EC2_NAT_GATEWAY)} <= closure
