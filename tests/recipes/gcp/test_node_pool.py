"""The GKE node pool as planned: size, hardening, its identity, and what waits for it."""

from __future__ import annotations

import pytest

from recipes.gcp import roles
from recipes.facts import gcp as facts
from recipes.facts import any_cloud as k8s_facts

from tests.recipes.gcp.helpers import gcp_spec
from tests.recipes.plans import USER_TAGS

pytestmark = pytest.mark.filterwarnings(r"ignore::DeprecationWarning:pulumi_gcp\..*")


def test_node_pool_default_size(gcp_plan):
    pool = gcp_plan.one(facts.GKE_NODE_POOL)
    assert pool.inputs["nodeConfig"]["machineType"] == "e2-standard-2"
    assert pool.inputs["autoscaling"] == {"minNodeCount": 1, "maxNodeCount": 3}
    assert pool.inputs["initialNodeCount"] == 1
    assert "nodeCount" not in pool.inputs  # the autoscaler owns the size
    assert "initialNodeCount" in pool.ignore_changes
    # No fixed name: a replacement (new machine type) is created before the old pool goes.
    assert "name" not in pool.inputs and "namePrefix" not in pool.inputs


def test_node_pool_custom_size(gcp):
    pool = gcp(node_type="n2-standard-4", min_nodes=2, max_nodes=5).one(facts.GKE_NODE_POOL)
    assert pool.inputs["nodeConfig"]["machineType"] == "n2-standard-4"
    assert pool.inputs["autoscaling"] == {"minNodeCount": 2, "maxNodeCount": 5}
    assert pool.inputs["initialNodeCount"] == 2
    assert "initialNodeCount" in pool.ignore_changes


def test_node_pool_is_hardened(gcp_plan):
    pool = gcp_plan.one(facts.GKE_NODE_POOL)
    assert pool.inputs["management"] == {"autoRepair": True, "autoUpgrade": True}  # N3
    config = pool.inputs["nodeConfig"]
    assert config["imageType"] == "COS_CONTAINERD"
    assert config["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}
    assert config["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}  # C5: pods never see the node identity
    assert config["metadata"] == {"disable-legacy-endpoints": "true"}
    assert config["oauthScopes"] == ["https://www.googleapis.com/auth/cloud-platform"]  # IAM decides
    assert config["diskSizeGb"] >= 30 and config["diskType"] == "pd-balanced"
    assert config["labels"] == {"recipe-stack": "ml-dev"}
    assert "tags" not in config  # no network tags: no firewall rule opens SSH to the nodes


def test_node_pool_runs_as_its_dedicated_service_account(gcp_plan):
    spec = gcp_spec()
    account = gcp_plan.one(facts.SERVICE_ACCOUNT, "cluster-nodes")
    assert account.inputs["accountId"] == spec.names.gcp_service_account("nodes")
    email = f"{account.inputs['accountId']}@demo-project.iam.gserviceaccount.com"
    pool = gcp_plan.one(facts.GKE_NODE_POOL)
    assert pool.inputs["nodeConfig"]["serviceAccount"] == email  # N2: not the Compute Engine default (Editor)
    assert account.urn in pool.dependencies


def test_node_vms_carry_the_stack_labels(restricted):
    labels = restricted.one(facts.GKE_NODE_POOL).inputs["nodeConfig"]["resourceLabels"]
    assert labels["recipe-stack"] == "ml-dev" and labels["managed-by"] == "stack-recipes"
    assert USER_TAGS.items() <= labels.items()


def test_node_pool_waits_for_its_roles(gcp_plan):
    pool = gcp_plan.one(facts.GKE_NODE_POOL)
    grants = gcp_plan.by_type(facts.PROJECT_IAM_MEMBER)
    assert len(grants) == len(roles.NODE_PROJECT_ROLES)
    assert {g.urn for g in grants} <= set(pool.dependencies)


def test_node_pool_is_spot_in_dev_and_on_demand_in_prod(gcp_plan, gcp):
    assert gcp_plan.one(facts.GKE_NODE_POOL).inputs["nodeConfig"]["spot"] is True  # the dev profile
    assert gcp(spot=False).one(facts.GKE_NODE_POOL).inputs["nodeConfig"]["spot"] is False
    prod = gcp(profile="prod")
    pool = prod.one(facts.GKE_NODE_POOL)
    assert pool.inputs["nodeConfig"]["spot"] is False and pool.inputs["nodeConfig"]["machineType"] == "e2-standard-4"
    assert prod.one(facts.GKE_CLUSTER).inputs["location"] == "us-central1"  # regional: a control plane in three zones
    # With a zone, prod stays zonal in that zone.
    assert gcp(profile="prod", zone="us-central1-c").one(facts.GKE_CLUSTER).inputs["location"] == "us-central1-c"


def test_workloads_wait_for_the_node_pool(gcp_plan):
    pool = gcp_plan.one(facts.GKE_NODE_POOL).urn
    for name in ("tracker-server", "tracker-db"):
        assert pool in gcp_plan.one(k8s_facts.DEPLOYMENT, name).dependencies, name
    assert pool in gcp_plan.one(k8s_facts.PERSISTENT_VOLUME_CLAIM, "tracker-db-data").dependencies
    for release in gcp_plan.by_type(k8s_facts.HELM_RELEASE):
        assert pool in release.dependencies, release.name


def test_kserve_releases_wait_for_the_node_pool(gcp):
    plan = gcp(deployer="kserve")
    pool = plan.one(facts.GKE_NODE_POOL).urn
    releases = plan.by_type(k8s_facts.HELM_RELEASE)
    assert {r.name for r in releases} == {"istio-base", "istiod", "istio-ingressgateway", "cert-manager", "kserve-crd", "kserve"}
    for release in releases:
        assert pool in release.dependencies, release.name
