"""--private-endpoint on GCP: no public API endpoint (C1), reached through the IAM-authorized DNS endpoint."""

from __future__ import annotations

import ipaddress

import pytest
import yaml

from recipes.spec import SpecError
from recipes.facts import gcp as facts

from tests.recipes.gcp.helpers import gcp_spec

pytestmark = pytest.mark.filterwarnings(r"ignore::DeprecationWarning:pulumi_gcp\..*")


def test_private_endpoint_removes_the_public_endpoint(private_endpoint_plan):
    inputs = private_endpoint_plan.one(facts.GKE_CLUSTER).inputs
    assert inputs["privateClusterConfig"] == {"enablePrivateNodes": True, "enablePrivateEndpoint": True}


def test_private_endpoint_reachable_only_from_the_node_subnet(private_endpoint_plan):
    subnet = private_endpoint_plan.one(facts.COMPUTE_SUBNETWORK).inputs
    pods = {r["rangeName"]: r["ipCidrRange"] for r in subnet["secondaryIpRanges"]}["pods"]
    config = private_endpoint_plan.one(facts.GKE_CLUSTER).inputs["masterAuthorizedNetworksConfig"]
    # The subnet's primary range (nodes, a bastion there) and its pod range (in-cluster controllers).
    assert [b["cidrBlock"] for b in config["cidrBlocks"]] == [subnet["ipCidrRange"], pods]
    assert all(b["displayName"] for b in config["cidrBlocks"])
    assert all(ipaddress.ip_network(b["cidrBlock"]).is_private for b in config["cidrBlocks"])
    assert config["privateEndpointEnforcementEnabled"] is True  # the list applies to the internal endpoint
    assert config["gcpPublicCidrsAccessEnabled"] is False


def test_private_endpoint_is_reached_through_the_iam_authorized_dns_endpoint(private_endpoint_plan, gcp_plan):
    # The IP endpoint is internal only, so the deploy that creates the cluster could never reach
    # it from outside; the DNS endpoint takes external traffic, each request authorized by IAM.
    inputs = private_endpoint_plan.one(facts.GKE_CLUSTER).inputs
    assert inputs["controlPlaneEndpointsConfig"] == {"dnsEndpointConfig": {"allowExternalTraffic": True}}
    endpoint = private_endpoint_plan.raw_outputs["cluster"]["endpoint"]
    assert endpoint.startswith("https://gke-") and endpoint.endswith(".gke.goog")
    config = yaml.safe_load(private_endpoint_plan.raw_outputs["cluster"]["kubeconfig"])
    cluster = config["clusters"][0]["cluster"]
    # A publicly trusted certificate: no cluster CA pinned for it.
    assert cluster == {"server": endpoint}
    assert config["users"][0]["user"]["exec"]["command"] == "gke-gcloud-auth-plugin"
    # Without --private-endpoint, the public IP endpoint and the cluster's CA, as before.
    assert "controlPlaneEndpointsConfig" not in gcp_plan.one(facts.GKE_CLUSTER).inputs
    public = yaml.safe_load(gcp_plan.raw_outputs["cluster"]["kubeconfig"])["clusters"][0]["cluster"]
    assert "certificate-authority-data" in public and not public["server"].endswith(".gke.goog")


def test_no_kubernetes_provider_drops_an_unreachable_cluster_from_the_state(private_endpoint_plan, gcp_plan):
    for plan in (gcp_plan, private_endpoint_plan):
        provider = plan.one("pulumi:providers:kubernetes")
        assert provider.inputs.get("deleteUnreachable") in (None, "false"), provider.inputs


def test_private_endpoint_needs_private_nodes(plans):
    # Refused up front by the spec, before any program runs.
    with pytest.raises(SpecError, match="private endpoint needs private nodes"):
        gcp_spec(network="public", private_endpoint=True)


def test_private_endpoint_with_kms_and_regional(gcp):
    plan = gcp(private_endpoint=True, kms=True, regional=True)
    cluster = plan.one(facts.GKE_CLUSTER).inputs
    assert cluster["privateClusterConfig"]["enablePrivateEndpoint"] is True
    assert cluster["databaseEncryption"]["state"] == "ENCRYPTED"
    assert cluster["location"] == "us-central1" == plan.one(facts.KMS_KEY_RING).inputs["location"]
