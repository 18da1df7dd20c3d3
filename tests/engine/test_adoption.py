"""`recipe repair` adopts half-created resources whose cloud id follows from their inputs.

The ids are computed from the real program's planned inputs, the way repair computes
them from a pending create's inputs in the state."""

from __future__ import annotations

from typing import Any

import pytest

from provisioner.engine import adoption
from provisioner.analysis.mockcloud import FAKE_AZURE_SUBSCRIPTION
from recipes.spec import Layer, load_spec

FLAGS: dict[str, dict[str, Any]] = {
    "aws": {"provider": "aws", "region": "eu-west-1", "name": "ml-dev", "suffix": "abc123"},
    "gcp": {"provider": "gcp", "region": "us-central1", "project": "demo-project", "name": "ml-dev", "suffix": "abc123"},
    "azure": {"provider": "azure", "region": "westeurope", "name": "ml-dev", "suffix": "abc123"},
}
# What costs money while orphaned, or blocks the next deploy by its name: each must be adoptable.
MUST_ADOPT = {
    "aws": ["aws:eks/cluster:Cluster", "aws:eks/nodeGroup:NodeGroup", "aws:s3/bucket:Bucket", "aws:ecr/repository:Repository",
            "aws:iam/role:Role", "aws:cloudwatch/logGroup:LogGroup"],
    "gcp": ["gcp:container/cluster:Cluster", "gcp:container/nodePool:NodePool", "gcp:storage/bucket:Bucket",
            "gcp:artifactregistry/repository:Repository", "gcp:serviceaccount/account:Account", "gcp:compute/network:Network"],
    "azure": ["azure-native:containerservice:ManagedCluster", "azure-native:storage:StorageAccount",
              "azure-native:containerregistry:Registry", "azure-native:resources:ResourceGroup",
              "azure-native:managedidentity:UserAssignedIdentity", "azure-native:network:VirtualNetwork"],
}


# Names Pulumi generates at `check` (auto-naming: the logical name and a random suffix) and
# records in the state's inputs, which the mock runtime never runs: added here as Pulumi would.
AUTONAMED = {"aws:eks/nodeGroup:NodeGroup": "nodeGroupName", "gcp:container/nodePool:NodePool": "name"}


def checked_inputs(resource) -> dict[str, Any]:
    field = AUTONAMED.get(resource.type)
    if field and field not in resource.inputs:
        return {**resource.inputs, field: f"{resource.name}-1a2b3c4"}
    return resource.inputs


def _context(provider: str, plan) -> dict[str, str]:
    spec = plan.spec
    deployment = {"resources": [{"id": f"/subscriptions/{FAKE_AZURE_SUBSCRIPTION}/resourceGroups/x"}]} if provider == "azure" else None
    return adoption.context_of(deployment, provider, {"project": spec.project or "", "region": spec.region})


@pytest.mark.parametrize("provider", sorted(FLAGS))
def test_the_billed_and_named_resources_of_every_cloud_are_adoptable(plans, provider):
    plan = plans(load_spec(Layer("flags", FLAGS[provider])))
    context = _context(provider, plan)
    for type_ in MUST_ADOPT[provider]:
        resources = [r for r in plan.resources if r.type == type_]
        assert resources, f"the program declares no {type_}"
        for r in resources:
            assert adoption.import_id(provider, r.type, checked_inputs(r), context), f"{r.name} ({type_}) has no import id"


def test_ids_have_each_providers_import_format(plans):
    aws = plans(load_spec(Layer("flags", FLAGS["aws"])))
    [cluster] = [r for r in aws.resources if r.type == "aws:eks/cluster:Cluster"]
    assert adoption.import_id("aws", cluster.type, cluster.inputs, {}) == cluster.inputs["name"]
    [group] = [r for r in aws.resources if r.type == "aws:eks/nodeGroup:NodeGroup"]
    inputs = checked_inputs(group)
    assert adoption.import_id("aws", group.type, inputs, {}) == f"{inputs['clusterName']}:{inputs['nodeGroupName']}"

    gcp = plans(load_spec(Layer("flags", FLAGS["gcp"])))
    [gke] = [r for r in gcp.resources if r.type == "gcp:container/cluster:Cluster"]
    assert adoption.import_id("gcp", gke.type, gke.inputs, _context("gcp", gcp)) == (
        f"projects/demo-project/locations/{gke.inputs['location']}/clusters/{gke.inputs['name']}")

    azure = plans(load_spec(Layer("flags", FLAGS["azure"])))
    [aks] = [r for r in azure.resources if r.type == "azure-native:containerservice:ManagedCluster"]
    assert adoption.import_id("azure", aks.type, aks.inputs, _context("azure", azure)) == (
        f"/subscriptions/{FAKE_AZURE_SUBSCRIPTION}/resourceGroups/{aks.inputs['resourceGroupName']}"
        f"/providers/Microsoft.ContainerService/managedClusters/{aks.inputs['resourceName']}")


def test_generated_ids_and_missing_inputs_are_not_guessed():
    assert adoption.import_id("aws", "aws:ec2/vpc:Vpc", {"cidrBlock": "10.0.0.0/16"}, {}) is None  # AWS picks vpc-…
    assert adoption.import_id("aws", "aws:eks/cluster:Cluster", {}, {}) is None  # no name: auto-named
    assert adoption.import_id("gcp", "gcp:container/cluster:Cluster", {"name": "c", "location": "x"}, {}) is None  # no project
    assert adoption.import_id("azure", "azure-native:storage:StorageAccount", {"accountName": "st"}, {}) is None


def test_an_input_wins_over_the_stacks_context_and_the_context_fills_the_rest():
    template = "projects/{project}/regions/{region}/routers/{name}"
    context = {"project": "stack-project", "region": "europe-west1"}
    assert adoption.fill(template, {"name": "r1"}, context) == "projects/stack-project/regions/europe-west1/routers/r1"
    assert adoption.fill(template, {"name": "r1", "project": "other"}, context) == "projects/other/regions/europe-west1/routers/r1"
    assert adoption.fill(template, {"name": ""}, context) is None  # an empty input is no input
    assert adoption.import_id("openstack", "aws:eks/cluster:Cluster", {"name": "c"}, {}) is None  # no such cloud
