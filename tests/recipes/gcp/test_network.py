"""The GCP network as planned: custom-mode VPC, Cloud NAT, load balancers and the order of create and destroy."""

from __future__ import annotations

import ipaddress

import pytest

from recipes.facts import gcp as facts
from recipes.facts import any_cloud as k8s_facts

from tests.recipes.gcp.helpers import gcp_spec
from tests.recipes.plans import ALLOW_CIDRS

pytestmark = pytest.mark.filterwarnings(r"ignore::DeprecationWarning:pulumi_gcp\..*")


def test_custom_mode_vpc_with_a_vpc_native_subnet(gcp_plan):
    network, subnet = gcp_plan.one(facts.COMPUTE_NETWORK), gcp_plan.one(facts.COMPUTE_SUBNETWORK)
    assert network.inputs["autoCreateSubnetworks"] is False
    assert subnet.inputs["region"] == "us-central1"
    assert subnet.inputs["privateIpGoogleAccess"] is True
    ranges = {r["rangeName"]: r["ipCidrRange"] for r in subnet.inputs["secondaryIpRanges"]}
    assert set(ranges) == {"pods", "services"}
    nets = [ipaddress.ip_network(c) for c in [subnet.inputs["ipCidrRange"], *ranges.values()]]
    assert all(n.is_private for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])
    assert ipaddress.ip_network(ranges["pods"]).prefixlen <= 16  # a /24 per node, hundreds of nodes
    # The cluster is VPC-native in exactly this network and subnet.
    cluster = gcp_plan.one(facts.GKE_CLUSTER)
    assert cluster.inputs["networkingMode"] == "VPC_NATIVE"
    assert cluster.inputs["ipAllocationPolicy"] == {"clusterSecondaryRangeName": "pods", "servicesSecondaryRangeName": "services"}
    assert cluster.inputs["network"].endswith(f"/global/networks/{network.inputs['name']}")
    assert cluster.inputs["subnetwork"].endswith(f"/regions/us-central1/subnetworks/{subnet.inputs['name']}")
    assert subnet.inputs["network"] == cluster.inputs["network"]


def test_network_names_are_unique_per_stack(gcp_plan):
    spec = gcp_spec()
    # A VPC is global to the project: the suffix keeps same-named stacks in two regions apart.
    assert gcp_plan.one(facts.COMPUTE_NETWORK).inputs["name"] == f"ml-dev-vpc-{spec.names.suffix}"
    assert gcp_plan.one(facts.COMPUTE_SUBNETWORK).inputs["name"].startswith("ml-dev-")


def test_private_network_has_a_cloud_nat_for_the_node_subnet(gcp_plan):
    router, nat = gcp_plan.one(facts.COMPUTE_ROUTER), gcp_plan.one(facts.ROUTER_NAT)
    assert router.inputs["region"] == nat.inputs["region"] == "us-central1"
    assert router.inputs["network"] == gcp_plan.one(facts.GKE_CLUSTER).inputs["network"]
    assert nat.inputs["router"] == router.inputs["name"]
    # Its address is reserved (a fixed address --allow-cidr admits): see test_internal_sources.
    address = gcp_plan.one("gcp:compute/address:Address")
    assert nat.inputs["natIpAllocateOption"] == "MANUAL_ONLY"
    assert nat.inputs["natIps"] == [address.outputs["selfLink"]]
    assert address.inputs["region"] == "us-central1" and address.inputs["addressType"] == "EXTERNAL"
    assert nat.inputs["sourceSubnetworkIpRangesToNat"] == "LIST_OF_SUBNETWORKS"
    (subnetwork,) = nat.inputs["subnetworks"]
    assert subnetwork["name"] == gcp_plan.one(facts.GKE_CLUSTER).inputs["subnetwork"]
    assert subnetwork["sourceIpRangesToNats"] == ["ALL_IP_RANGES"]  # pods too, not only nodes


def test_private_nodes_by_default(gcp_plan):
    config = gcp_plan.one(facts.GKE_CLUSTER).inputs["privateClusterConfig"]
    assert config["enablePrivateNodes"] is True
    # The control plane keeps a public endpoint (restricted with --allow-cidr): `recipe` reaches it.
    assert config["enablePrivateEndpoint"] is False


def test_public_network_has_no_nat_and_public_nodes(gcp):
    plan = gcp(network="public")
    assert plan.by_type(facts.COMPUTE_ROUTER) == [] and plan.by_type(facts.ROUTER_NAT) == []
    assert plan.by_type(facts.COMPUTE_ADDRESS) == []
    plan.one(facts.COMPUTE_NETWORK)
    plan.one(facts.COMPUTE_SUBNETWORK)
    # Nodes get public IPs: the provider recommends omitting the block entirely.
    assert "privateClusterConfig" not in plan.one(facts.GKE_CLUSTER).inputs


@pytest.mark.parametrize("network", ["private", "public"])
def test_nodes_start_after_their_route_out(gcp, network):
    plan = gcp(network=network)
    closure = plan.deps_closure(plan.one(facts.GKE_NODE_POOL))
    assert {plan.one(facts.COMPUTE_SUBNETWORK).urn, plan.one(facts.COMPUTE_NETWORK).urn} <= closure
    assert {r.urn for r in plan.by_type(facts.COMPUTE_ROUTER) + plan.by_type(facts.ROUTER_NAT)} <= closure
    assert len(plan.by_type(facts.ROUTER_NAT)) == (1 if network == "private" else 0)


def test_workloads_use_gke_storage_and_load_balancers(restricted):
    claim = restricted.one(k8s_facts.PERSISTENT_VOLUME_CLAIM, "tracker-db-data")
    assert claim.inputs["spec"]["storageClassName"] == "standard-rwo"  # GKE's own class: nothing to install
    assert not restricted.by_type("kubernetes:storage.k8s.io/v1:StorageClass")
    for name in ("ingress-lb",):
        service = restricted.one(k8s_facts.SERVICE, name)
        assert service.inputs["spec"]["type"] == "LoadBalancer"
        # --allow-cidr first, then the stack's own nodes, pods and NAT address (test_internal_sources).
        assert service.inputs["spec"]["loadBalancerSourceRanges"][: len(ALLOW_CIDRS)] == ALLOW_CIDRS, name
        assert not service.inputs["metadata"].get("annotations"), name  # GKE's default external load balancer
    # Addresses are IPs on GCP.
    for url in (restricted.raw_outputs["tracker"]["uri"].removesuffix(":5000"), restricted.raw_outputs["deployer"]["base_url"]):
        assert ipaddress.ip_address(url.removeprefix("https://"))


# ---------------------------------------------------------------------------
# Flow logs (--audit-logs, L1)


@pytest.mark.parametrize("flags, audit", [({}, False), ({"audit_logs": True}, True), ({"profile": "prod"}, True),
                                          ({"profile": "prod", "audit_logs": False}, False)],
                         ids=["dev", "audit-logs", "prod", "prod-no-audit-logs"])
def test_audit_logs_turn_on_the_subnets_flow_logs(gcp, flags, audit):
    from provisioner.analysis.baseline import gcp as baseline

    plan = gcp(**flags)
    subnet = plan.one(facts.COMPUTE_SUBNETWORK)
    if audit:
        # CKV_GCP_26 reads log_config's presence; GCP's own defaults, stated.
        assert subnet.inputs["logConfig"] == {"aggregationInterval": "INTERVAL_5_SEC", "flowSampling": 0.5,
                                              "metadata": "INCLUDE_ALL_METADATA"}
        assert subnet.outputs["logConfig"]["enable"] is True  # what GCP reads back
        assert baseline.flow_logs(plan.plan).status == "pass"
    else:
        assert "logConfig" not in subnet.inputs
        assert baseline.flow_logs(plan.plan).status == "option"


def test_flow_logs_without_intranode_visibility_fail_l1_under_audit_logs(gcp):
    """L1 asks for both: flow logs on the subnet, and the cluster sending same-node pod traffic through the VPC."""
    from copy import deepcopy

    from provisioner.analysis.baseline import gcp as baseline

    plan = deepcopy(gcp(audit_logs=True).plan)
    plan.one(facts.GKE_CLUSTER).inputs["enableIntranodeVisibility"] = False
    verdict = baseline.flow_logs(plan)
    assert verdict.status == "fail" and verdict.resources == ["cluster"]
    plan.one(facts.COMPUTE_SUBNETWORK).inputs.pop("logConfig")
    assert baseline.flow_logs(plan).resources == ["network-nodes", "cluster"]
