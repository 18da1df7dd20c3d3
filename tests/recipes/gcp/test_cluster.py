"""The GKE cluster as planned: location, baseline, endpoint, release channel, kubeconfig."""

from __future__ import annotations

import ipaddress

import pytest
import yaml

from recipes.facts import kubernetes as k8s_facts
from recipes.facts import gcp as facts

from tests.recipes.gcp.helpers import gcp_spec
from tests.recipes.plans import ALLOW_CIDRS

pytestmark = pytest.mark.filterwarnings(r"ignore::DeprecationWarning:pulumi_gcp\..*")


def test_cluster_is_zonal_by_default(gcp_plan):
    spec = gcp_spec()
    cluster, pool = gcp_plan.one(facts.GKE_CLUSTER), gcp_plan.one(facts.GKE_NODE_POOL)
    assert cluster.inputs["name"] == spec.names.gke_cluster() == "ml-dev"
    assert cluster.inputs["location"] == spec.zone == "us-central1-b"
    assert pool.inputs["location"] == "us-central1-b"
    assert pool.inputs["cluster"] == "ml-dev"


def test_cluster_in_the_chosen_zone(gcp):
    plan = gcp(zone="us-central1-f")
    assert plan.one(facts.GKE_CLUSTER).inputs["location"] == "us-central1-f"
    assert plan.one(facts.GKE_NODE_POOL).inputs["location"] == "us-central1-f"


def test_regional_cluster_on_request(gcp):
    plan = gcp(regional=True, min_nodes=1, max_nodes=2)
    assert plan.one(facts.GKE_CLUSTER).inputs["location"] == "us-central1"
    pool = plan.one(facts.GKE_NODE_POOL)
    assert pool.inputs["location"] == "us-central1"
    # Counts are per zone on a regional pool: the spec's bounds apply to every zone.
    assert pool.inputs["autoscaling"] == {"minNodeCount": 1, "maxNodeCount": 2}
    assert "nodeLocations" not in pool.inputs


def test_cluster_baseline(gcp_plan):
    inputs = gcp_plan.one(facts.GKE_CLUSTER).inputs
    assert inputs["deletionProtection"] is False  # `recipe destroy` works; data is retained elsewhere
    assert inputs["removeDefaultNodePool"] is True and inputs["initialNodeCount"] == 1
    assert inputs["releaseChannel"] == {"channel": "REGULAR"}  # C6
    assert inputs["workloadIdentityConfig"] == {"workloadPool": "demo-project.svc.id.goog"}  # C5
    assert {"SYSTEM_COMPONENTS", "WORKLOADS"} <= set(inputs["loggingConfig"]["enableComponents"])  # C2
    assert "SYSTEM_COMPONENTS" in inputs["monitoringConfig"]["enableComponents"]
    assert inputs["enableLegacyAbac"] is False  # C4
    assert inputs["masterAuth"]["clientCertificateConfig"] == {"issueClientCertificate": False}
    assert "username" not in inputs["masterAuth"] and "password" not in inputs["masterAuth"]
    assert inputs["enableShieldedNodes"] is True  # N3
    assert inputs["addonsConfig"]["gcePersistentDiskCsiDriverConfig"] == {"enabled": True}
    assert "minMasterVersion" not in inputs  # the release channel's default
    assert "databaseEncryption" not in inputs  # C3 is an option (KMS costs)
    assert "nodePools" not in inputs and inputs["removeDefaultNodePool"] is True  # our own node pool only
    # (its nodeConfig is the temporary default pool's: tests/recipes/gcp/test_service_agents.py)


def test_cluster_endpoint_open_without_allow_cidr(gcp_plan):
    assert "masterAuthorizedNetworksConfig" not in gcp_plan.one(facts.GKE_CLUSTER).inputs


def test_cluster_endpoint_restricted_to_allow_cidrs(restricted):
    config = restricted.one(facts.GKE_CLUSTER).inputs["masterAuthorizedNetworksConfig"]
    assert [b["cidrBlock"] for b in config["cidrBlocks"]] == ALLOW_CIDRS
    assert all(b["displayName"] for b in config["cidrBlocks"])
    assert config["gcpPublicCidrsAccessEnabled"] is False


def test_kubernetes_version_pins_the_control_plane(gcp):
    assert gcp(kubernetes_version="1.33").one(facts.GKE_CLUSTER).inputs["minMasterVersion"] == "1.33"


@pytest.mark.parametrize("flags", [{}, {"kubernetes_version": "1.33"}], ids=["cloud-default", "pinned"])
def test_release_channel_never_moves_the_minor_version(gcp, flags):
    """The channel patches the cluster; a new minor (which the pinned charts may not support)
    arrives only when the stack asks for it, pinned or not."""
    plan = gcp(**flags)
    cluster = plan.one(facts.GKE_CLUSTER)
    policy = cluster.inputs["maintenancePolicy"]
    [exclusion] = policy["maintenanceExclusions"]
    assert exclusion["exclusionOptions"] == {"scope": "NO_MINOR_UPGRADES", "endTimeBehavior": "UNTIL_END_OF_SUPPORT"}
    assert "endTime" not in exclusion  # GKE takes exactly one of the two
    # It starts when the stack was first deployed, a time recorded once and kept: the
    # cluster never changes on a redeploy because the clock moved.
    [since] = [r for r in plan.resources if r.type == k8s_facts.TIME_STATIC]
    assert since.parent == cluster.parent and since.urn in cluster.dependencies
    assert exclusion["startTime"] == since.outputs["rfc3339"]
    assert policy["dailyMaintenanceWindow"] == {"startTime": "03:00"}


@pytest.mark.parametrize("policy, error", [
    ({"maintenanceExclusions": [{"exclusionName": "x", "startTime": "2026-01-01T00:00:00Z",
                                 "exclusionOptions": {"scope": "NO_MINOR_UPGRADES"}}],
      "dailyMaintenanceWindow": {"startTime": "03:00"}}, "exactly one of end_time"),
    ({"maintenanceExclusions": [{"exclusionName": "x", "startTime": "2026-01-01T00:00:00Z", "endTime": "2026-02-01T00:00:00Z"}]},
     "daily_maintenance_window, recurring_window"),
], ids=["no-end", "no-window"])
def test_mock_gke_rejects_what_gke_rejects(policy, error):
    from provisioner.analysis.mockcloud import gcp as mock_gcp

    with pytest.raises(mock_gcp.GcpError, match=error):
        mock_gcp._check_maintenance("c", {"maintenancePolicy": policy, "releaseChannel": {"channel": "REGULAR"}})


def test_gke_needs_no_cluster_autoscaler_release(gcp_plan):
    # The node pool's autoscaling bounds are acted on by GKE itself.
    releases = {r.name for r in gcp_plan.by_type(k8s_facts.HELM_RELEASE)}
    assert "cluster-autoscaler" not in releases
    assert releases == {"istio-base", "istiod", "istio-ingressgateway", "seldon-core"}


def test_kubeconfig_reaches_the_clusters_ip_with_its_ca(gcp_plan):
    """What is GKE's own in the kubeconfig; the rest is every cloud's (tests/recipes/test_secrets.py)."""
    config = yaml.safe_load(gcp_plan.raw_outputs["cluster"]["kubeconfig"])
    endpoint = gcp_plan.raw_outputs["cluster"]["endpoint"]
    assert endpoint.startswith("https://") and ipaddress.ip_address(endpoint.removeprefix("https://"))
    (cluster,) = config["clusters"]
    assert cluster["cluster"]["server"] == endpoint
    assert cluster["cluster"]["certificate-authority-data"]  # the cluster's CA, read back from GKE
