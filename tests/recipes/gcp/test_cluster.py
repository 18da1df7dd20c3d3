"""The GKE cluster as planned: location, baseline, endpoint, release channel, kubeconfig."""

from __future__ import annotations

import ipaddress

import pytest
import yaml

from recipes.facts import any_cloud as k8s_facts
from recipes.facts import gcp as facts

from tests.recipes.gcp.helpers import gcp_spec
from tests.recipes.plans import ALLOW_CIDRS, fresh_plan

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
    assert releases == {"istio-base", "istiod", "istio-ingressgateway", "cert-manager", "seldon-core"}


def test_kubeconfig_reaches_the_clusters_ip_with_its_ca(gcp_plan):
    """What is GKE's own in the kubeconfig; the rest is every cloud's (tests/recipes/test_secrets.py)."""
    config = yaml.safe_load(gcp_plan.raw_outputs["cluster"]["kubeconfig"])
    endpoint = gcp_plan.raw_outputs["cluster"]["endpoint"]
    assert endpoint.startswith("https://") and ipaddress.ip_address(endpoint.removeprefix("https://"))
    (cluster,) = config["clusters"]
    assert cluster["cluster"]["server"] == endpoint
    assert cluster["cluster"]["certificate-authority-data"]  # the cluster's CA, read back from GKE


# ---------------------------------------------------------------------------
# NetworkPolicy (N4), Binary Authorization (C7), control-plane logs (--audit-logs)


@pytest.mark.parametrize("flags", [{}, {"profile": "prod"}], ids=["dev", "prod"])
def test_dataplane_v2_and_binary_authorization_on_every_profile(gcp, flags):
    plan = gcp(**flags)
    inputs = plan.one(facts.GKE_CLUSTER).inputs
    assert inputs["datapathProvider"] == "ADVANCED_DATAPATH"  # N4: NetworkPolicy enforced, at no charge
    assert inputs["networkPolicy"] == {"enabled": False}  # the legacy (Calico) enforcement GKE refuses beside it
    assert inputs["binaryAuthorization"] == {"evaluationMode": "PROJECT_SINGLETON_POLICY_ENFORCE"}  # C7
    from provisioner.analysis.baseline import gcp as baseline

    assert baseline.network_policy_enforced(plan.plan).status == "pass"
    assert baseline.binary_authorization(plan.plan).status == "pass"


def test_n4_and_c7_fail_on_a_cluster_without_them(gcp_plan):
    from copy import deepcopy

    from provisioner.analysis.baseline import gcp as baseline

    plan = deepcopy(gcp_plan.plan)
    cluster = plan.one(facts.GKE_CLUSTER)
    del cluster.inputs["datapathProvider"]
    assert baseline.network_policy_enforced(plan).status == "fail"
    cluster.inputs["networkPolicy"] = {"enabled": True}
    cluster.inputs["addonsConfig"]["networkPolicyConfig"] = {"disabled": False}
    assert baseline.network_policy_enforced(plan).status == "pass"  # the legacy (Calico) enforcement counts
    plan.resources = [r for r in plan.resources if r.inputs.get("service") != "binaryauthorization.googleapis.com"]
    assert baseline.binary_authorization(plan).detail.startswith("Binary Authorization enforced but its API is not")
    cluster.inputs["binaryAuthorization"] = {"evaluationMode": "DISABLED"}
    assert baseline.binary_authorization(plan).status == "fail"


def test_an_existing_clusters_datapath_and_network_policy_are_never_changed(gcp_plan):
    """GKE sets the datapath only at creation (the provider replaces the cluster to change it, deleting it first
    since its name is fixed): a cluster created before Dataplane V2 keeps its own, and legacy enforcement someone
    turned on stays on."""
    cluster = gcp_plan.one(facts.GKE_CLUSTER)
    assert sorted(cluster.ignore_changes) == ["datapathProvider", "networkPolicy", "nodeConfig"]


@pytest.mark.parametrize("datapath, calico, warned", [
    ("ADVANCED_DATAPATH", False, False), ("LEGACY_DATAPATH", False, True), (None, False, True),
    ("LEGACY_DATAPATH", True, False),
])
def test_the_owner_of_a_legacy_datapath_cluster_is_told_how_to_get_enforcement(datapath, calico, warned):
    from recipes.gcp.cluster import legacy_datapath_notice

    notice = legacy_datapath_notice("ml-prod", datapath, calico)
    assert (notice is not None) == warned
    if warned:
        assert "ml-prod" in notice and "does not enforce NetworkPolicy" in notice
        assert "`recipe destroy`" in notice and "`recipe deploy`" in notice


def test_a_deploy_over_a_legacy_datapath_cluster_warns(monkeypatch, caplog):
    """What GKE reads back for a cluster created before Dataplane V2 reaches the deploy's output as a warning."""
    import logging

    from provisioner.analysis.mockcloud import gcp as mock_gcp

    answer = mock_gcp.computed

    def legacy(type_, name, inputs, context):
        out = answer(type_, name, inputs, context)
        return {**out, "datapathProvider": "LEGACY_DATAPATH"} if type_ == facts.GKE_CLUSTER else out

    monkeypatch.setattr(mock_gcp, "computed", legacy)
    with caplog.at_level(logging.WARNING):
        fresh_plan(gcp_spec())
    assert [r for r in caplog.records if "runs the legacy datapath (LEGACY_DATAPATH)" in r.getMessage()]


def test_a_new_cluster_deploys_without_the_datapath_warning(caplog):
    import logging

    with caplog.at_level(logging.WARNING):
        fresh_plan(gcp_spec())
    assert not [r for r in caplog.records if "legacy datapath" in r.getMessage()]


@pytest.mark.parametrize("flags, audit", [({}, False), ({"audit_logs": True}, True), ({"profile": "prod"}, True),
                                          ({"profile": "prod", "audit_logs": False}, False)],
                         ids=["dev", "audit-logs", "prod", "prod-no-audit-logs"])
def test_audit_logs_add_control_plane_logs_and_intranode_visibility(gcp, flags, audit):
    inputs = gcp(**flags).one(facts.GKE_CLUSTER).inputs
    components = inputs["loggingConfig"]["enableComponents"]
    assert components[:2] == ["SYSTEM_COMPONENTS", "WORKLOADS"]  # C2, on every profile
    assert ({"APISERVER", "CONTROLLER_MANAGER", "SCHEDULER"} <= set(components)) is audit
    assert len(components) == (5 if audit else 2)
    assert "loggingService" not in inputs  # CKV_GCP_1: only "none" fails; GKE's default is Cloud Logging
    assert inputs["enableIntranodeVisibility"] is audit  # CKV_GCP_61: same-node pod traffic in the flow logs


@pytest.mark.parametrize("cluster, error, accepted", [
    ({"datapathProvider": "ADVANCED_DATAPATH", "networkPolicy": {"enabled": True, "provider": "CALICO"}},
     "Enabling NetworkPolicy for clusters with DatapathProvider=ADVANCED_DATAPATH is not allowed",
     [{"datapathProvider": "ADVANCED_DATAPATH", "networkPolicy": {"enabled": False}},
      {"networkPolicy": {"enabled": True, "provider": "CALICO"}}]),
    ({"binaryAuthorization": {"enabled": True, "evaluationMode": "PROJECT_SINGLETON_POLICY_ENFORCE"}},
     "conflicts with binary_authorization.0.evaluation_mode",
     [{"binaryAuthorization": {"evaluationMode": "DISABLED"}}, {"binaryAuthorization": {"enabled": False}}]),
], ids=["dataplane-v2-and-calico", "binauthz-enabled-and-mode"])
def test_mock_gke_rejects_what_gke_rejects_in_networking_and_admission(cluster, error, accepted):
    from provisioner.analysis.mockcloud import Context
    from provisioner.analysis.mockcloud import gcp as mock_gcp

    with pytest.raises(mock_gcp.GcpError, match=error):
        mock_gcp.computed(facts.GKE_CLUSTER, "c", cluster, Context(gcp_spec()))
    for inputs in accepted:
        assert mock_gcp.computed(facts.GKE_CLUSTER, "c", inputs, Context(gcp_spec()))["endpoint"]
