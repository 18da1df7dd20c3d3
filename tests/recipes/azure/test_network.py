"""The VNet, the API server's reach and the load balancers, as planned on Azure."""

from __future__ import annotations

import gc
import ipaddress

import pytest

from provisioner.analysis.mockcloud import azure as azure_mock
from recipes.spec import SpecError
from recipes.facts import azure as facts
from recipes.facts import any_cloud as k8s_facts

from tests.recipes.azure.helpers import azure, azure_spec, mock_outputs
from tests.recipes.plans import ALLOW_CIDRS


def test_vnet_with_one_private_node_subnet(plan, spec):
    vnet, subnet = plan.one(facts.VIRTUAL_NETWORK), plan.one(facts.SUBNET)
    assert vnet.inputs["virtualNetworkName"] == f"vnet-{spec.name}"
    assert "subnets" not in vnet.inputs  # standalone subnet: VNet updates leave it alone
    (space,) = vnet.inputs["addressSpace"]["addressPrefixes"]
    assert subnet.inputs["virtualNetworkName"] == vnet.inputs["virtualNetworkName"]
    assert vnet.urn in subnet.dependencies
    nodes = ipaddress.ip_network(subnet.inputs["addressPrefix"])
    assert nodes.subnet_of(ipaddress.ip_network(space))
    assert nodes.num_addresses >= 1024
    assert subnet.inputs["defaultOutboundAccess"] is False
    # Overlay pod and service ranges must not collide with the VNet.
    profile = plan.one(facts.AKS_CLUSTER).inputs["networkProfile"]
    for cidr in (profile["podCidr"], profile["serviceCidr"]):
        assert not ipaddress.ip_network(cidr).overlaps(ipaddress.ip_network(space)), cidr
    assert ipaddress.ip_address(profile["dnsServiceIP"]) in ipaddress.ip_network(profile["serviceCidr"])


def test_no_nat_gateway_public_ip_or_paid_network_extras(plan):
    for forbidden in ("natGateway", "publicIPAddress", "bastion", "firewall", "ddosProtection", "privateEndpoint"):
        assert not [r for r in plan.resources if forbidden.lower() in r.type.lower()], forbidden
    assert plan.one(facts.VIRTUAL_NETWORK).inputs.get("enableDdosProtection") is not True


def test_azure_cni_overlay_with_load_balancer_outbound(plan):
    profile = plan.one(facts.AKS_CLUSTER).inputs["networkProfile"]
    assert profile["networkPlugin"] == "azure"
    assert profile["networkPluginMode"] == "overlay"
    assert profile["outboundType"] == "loadBalancer"
    assert profile["loadBalancerSku"] == "standard"


def test_api_server_open_without_allow_cidr(plan):
    profile = plan.one(facts.AKS_CLUSTER).inputs.get("apiServerAccessProfile") or {}
    assert not profile.get("authorizedIPRanges")
    assert not profile.get("enablePrivateCluster")  # a private cluster only with --private-endpoint


def test_api_server_restricted_to_allow_cidrs(restricted):
    assert restricted.one(facts.AKS_CLUSTER).inputs["apiServerAccessProfile"]["authorizedIPRanges"] == ALLOW_CIDRS


# ---------------------------------------------------------------------------
# Load balancers


def test_load_balancers_have_no_aws_annotations_and_report_an_ip(plan):
    services = [s for s in plan.by_type(k8s_facts.SERVICE) if s.inputs["spec"].get("type") == "LoadBalancer"]
    assert {s.name for s in services} == {"ingress-lb"}  # the tracker shares it
    for service in services:
        annotations = service.inputs["metadata"].get("annotations") or {}
        assert not any("aws" in key for key in annotations), service.name
        assert "loadBalancerSourceRanges" not in service.inputs["spec"]
    assert plan.raw_outputs["tracker"]["uri"].startswith("https://203.0.113.")
    assert plan.raw_outputs["deployer"]["base_url"].startswith("https://203.0.113.")


def test_load_balancers_restricted_to_allow_cidrs(restricted):
    for name in ("ingress-lb",):
        # --allow-cidr, then the stack's own node subnet and pod range (see test_internal_sources).
        ranges = restricted.one(k8s_facts.SERVICE, name).inputs["spec"]["loadBalancerSourceRanges"]
        assert ranges == [*ALLOW_CIDRS, "10.224.0.0/20", "10.244.0.0/16"]


# ---------------------------------------------------------------------------
# --private-endpoint: the Kubernetes API only from inside the VNet (C1)


def test_private_endpoint_makes_a_private_cluster(plans):
    plan = azure(plans, private_endpoint=True)
    assert plan.one(facts.AKS_CLUSTER).inputs["apiServerAccessProfile"] == {
        "enablePrivateCluster": True,
        "enablePrivateClusterPublicFQDN": True,  # the kubeconfig's name; it resolves to the private address
    }
    # The kubeconfig still points at the cluster's FQDN.
    fqdn = mock_outputs(plan, plan.one(facts.AKS_CLUSTER))["fqdn"]
    assert plan.raw_outputs["cluster"]["endpoint"] == f"https://{fqdn}:443"


def test_private_endpoint_never_sends_authorized_ranges(plans):
    # The spec refuses --private-endpoint with --allow-cidr; AKS takes no authorized ranges on a
    # private endpoint either, so the recipe leaves them out even for a spec built past validation.
    with pytest.raises(SpecError, match="--private-endpoint"):
        azure_spec(private_endpoint=True, allow_cidrs=ALLOW_CIDRS)
    plan = plans(azure_spec(private_endpoint=True).with_changes(allow_cidrs=tuple(ALLOW_CIDRS)))
    profile = plan.one(facts.AKS_CLUSTER).inputs["apiServerAccessProfile"]
    assert profile["enablePrivateCluster"] is True
    assert "authorizedIPRanges" not in profile


def test_private_endpoint_and_kms_together(plans, kms_spec):
    plan = azure(plans, kms=True, private_endpoint=True)
    cluster = plan.one(facts.AKS_CLUSTER).inputs
    assert cluster["apiServerAccessProfile"]["enablePrivateCluster"] is True
    assert cluster["securityProfile"]["azureKeyVaultKms"]["enabled"] is True
    # The vault stays reachable for AKS KMS in its "Public" mode.
    assert plan.one(facts.KEY_VAULT).inputs["properties"]["publicNetworkAccess"] == "Enabled"


# ---------------------------------------------------------------------------
# NetworkPolicy enforcement (N4): Azure CNI powered by Cilium, on every profile


@pytest.mark.parametrize("fixture", ["plan", "prod"])
def test_network_policies_are_enforced_by_cilium_on_the_overlay(request, fixture):
    profile = request.getfixturevalue(fixture).one(facts.AKS_CLUSTER).inputs["networkProfile"]
    assert (profile["networkPlugin"], profile["networkPluginMode"]) == ("azure", "overlay")
    # AKS takes the Cilium policy engine only with the Cilium dataplane, and the reverse.
    assert (profile["networkDataplane"], profile["networkPolicy"]) == ("cilium", "cilium")


def test_an_existing_cluster_is_never_recreated_to_switch_its_policy_engine(plan):
    # azure-native replaces a cluster whose dataplane or policy changes; AKS itself switches in place
    # (az aks update --network-dataplane cilium --network-policy cilium), so a deploy leaves both alone.
    ignored = plan.one(facts.AKS_CLUSTER).ignore_changes
    assert {"networkProfile.networkDataplane", "networkProfile.networkPolicy"} <= set(ignored)
    assert not {"networkProfile", "networkProfile.loadBalancerProfile"} & set(ignored)  # egress moves in place


@pytest.mark.parametrize("profile, error", [
    ({"networkPlugin": "azure", "networkPluginMode": "overlay", "networkPolicy": "cilium"},
     "NetworkPolicyNotSupported: Network Policy cilium requires NetworkDataplane cilium"),
    ({"networkPlugin": "azure", "networkDataplane": "cilium", "networkPolicy": "azure"},
     "Cilium dataplane requires network policy cilium"),
    ({"networkPlugin": "azure", "networkDataplane": "cilium"}, "Cilium dataplane requires network policy cilium"),
    ({"networkPlugin": "kubenet", "networkPolicy": "azure"}, "requires network plugin azure"),
], ids=["cilium-policy-on-azure-dataplane", "npm-on-cilium-dataplane", "cilium-dataplane-no-policy", "npm-on-kubenet"])
def test_the_mock_refuses_policy_engines_aks_refuses(profile, error):
    with pytest.raises(azure_mock.AzureError, match=error):
        azure_mock._check_network_profile("aks", profile)


def test_the_mock_takes_what_aks_takes():
    # Azure NPM runs on Azure CNI Overlay (Linux; retired 2028), Calico too; Cilium with its dataplane.
    for profile in ({"networkPlugin": "azure", "networkPluginMode": "overlay", "networkPolicy": "azure"},
                    {"networkPlugin": "azure", "networkPluginMode": "overlay", "networkPolicy": "calico"},
                    {"networkPlugin": "azure", "networkPluginMode": "overlay"}):
        azure_mock._check_network_profile("aks", profile)


def test_a_program_asking_for_cilium_policies_without_the_dataplane_is_refused(monkeypatch):
    from provisioner.analysis.plan import run_plan
    from recipes import build
    from recipes.azure import cluster

    monkeypatch.setattr(cluster, "NETWORK_DATAPLANE", "azure")
    with pytest.raises(azure_mock.AzureError, match=r"creating ManagedCluster \(cluster\): NetworkPolicyNotSupported"):
        run_plan(azure_spec(without=["tracker", "deployer", "registry", "bucket"]), program=build)
    gc.collect()  # the failed run's futures, now rather than inside a later parse (CPython's AST check)
