"""The project's APIs and the GCP provider as planned: what is enabled, what waits for it, the default labels."""

from __future__ import annotations

import pytest

from recipes.facts import gcp as facts

from tests.recipes.gcp.helpers import ACCOUNT_IAM, ALL_APIS, GCP_PROVIDER, as_map, gcp_spec, service_urns
from tests.recipes.plans import USER_TAGS, fresh_plan

pytestmark = pytest.mark.filterwarnings(r"ignore::DeprecationWarning:pulumi_gcp\..*")


def test_needed_apis_are_enabled_and_never_disabled(gcp_plan):
    services = gcp_plan.by_type(facts.PROJECT_SERVICE)
    assert {s.inputs["service"] for s in services} == ALL_APIS
    assert len(services) == len(ALL_APIS)
    for s in services:
        assert s.inputs["project"] == "demo-project", s.name
        assert s.inputs["disableOnDestroy"] is False, s.name
        assert s.inputs["disableDependentServices"] is False, s.name
        assert s.parent == gcp_plan.one("recipes:gcp:Apis", "apis").urn


@pytest.mark.parametrize(
    "variant,expected",
    [
        ({"without": ["cluster", "tracker", "deployer"]}, {"storage", "artifactregistry", "containerscanning"}),
        ({"components": ["bucket"]}, {"storage"}),
        ({"without": ["bucket", "tracker"]}, ALL_APIS - {"storage.googleapis.com"}),
    ],
    ids=["storage-only", "bucket-only", "no-bucket"],
)
def test_only_the_apis_of_present_components_are_enabled(gcp, variant, expected):
    # A storage-only stack must not turn on Compute Engine (it creates a default network and service account).
    expected = {a if "." in a else f"{a}.googleapis.com" for a in expected}
    assert {s.inputs["service"] for s in gcp(**variant).by_type(facts.PROJECT_SERVICE)} == expected


@pytest.mark.parametrize(
    "type_,apis",
    [
        (facts.COMPUTE_NETWORK, ["compute"]), (facts.COMPUTE_SUBNETWORK, ["compute"]),
        (facts.COMPUTE_ROUTER, ["compute"]), (facts.ROUTER_NAT, ["compute"]),
        # GKE refuses a cluster that enforces Binary Authorization while its API is off (a fresh project).
        (facts.GKE_CLUSTER, ["container", "compute", "binaryauthorization"]), (facts.GKE_NODE_POOL, ["container", "compute"]),
        (facts.SERVICE_ACCOUNT, ["iam"]), (facts.PROJECT_IAM_MEMBER, ["cloudresourcemanager"]), (ACCOUNT_IAM, ["iam"]),
        (facts.GCS_BUCKET, ["storage"]), (facts.GCS_BUCKET_IAM_MEMBER, ["storage"]),
        (facts.ARTIFACT_REGISTRY, ["artifactregistry", "containerscanning"]), (facts.ARTIFACT_REGISTRY_IAM_MEMBER, ["artifactregistry"]),
    ],
)
def test_resources_wait_for_their_apis(gcp_plan, type_, apis):
    resources = gcp_plan.by_type(type_)
    assert resources, type_
    needed = service_urns(gcp_plan, *(f"{a}.googleapis.com" for a in apis))
    assert len(needed) == len(apis)
    for r in resources:
        assert needed <= gcp_plan.deps_closure(r), r.name


def test_a_cluster_enforcing_binary_authorization_without_its_api_is_refused(monkeypatch):
    """The mock cloud refuses, as GKE does, a cluster enforcing Binary Authorization in a project where nothing
    enabled the API: drop the API from the program's list and the plan fails with GKE's error."""
    from provisioner.analysis.mockcloud.gcp import GcpError
    from recipes.gcp import apis

    cluster_apis = tuple(a for a in apis.APIS_BY_COMPONENT["cluster"] if a != "binaryauthorization.googleapis.com")
    monkeypatch.setitem(apis.APIS_BY_COMPONENT, "cluster", cluster_apis)
    with pytest.raises(GcpError, match=r"Binary Authorization API has not been used in project \d+ before or it is "
                                       r"disabled\. Enable it by visiting .*binaryauthorization\.googleapis\.com"):
        fresh_plan(gcp_spec())


# ---------------------------------------------------------------------------
# Provider and labels


def test_gcp_provider_project_region_and_default_labels(restricted):
    provider = restricted.one(GCP_PROVIDER, "gcp")
    assert provider.inputs["project"] == "demo-project"
    assert provider.inputs["region"] == "us-central1"
    labels = as_map(provider.inputs["defaultLabels"])
    assert labels["recipe-stack"] == "ml-dev"
    assert labels["managed-by"] == "stack-recipes"
    assert USER_TAGS.items() <= labels.items()
    # GCP label rules: lowercase keys and values, letters, digits, - and _.
    for key, value in labels.items():
        assert key == key.lower() and len(key) <= 63 and value == value.lower() and len(value) <= 63
