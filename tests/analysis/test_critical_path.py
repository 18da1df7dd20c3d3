"""Deploy-time estimate (provisioner.analysis.critical_path) and the independence the recipes promise.

The algorithm is checked on small hand-built plans first, then on each
provider's real plan: the data components (bucket, registry, identities, keys)
never wait for the cluster, and the tracker and deployer wait for nodes but not
for each other, so a deploy takes as long as its slowest chain only.
"""

from __future__ import annotations

import functools
import graphlib

import pytest

from provisioner.analysis.critical_path import analyse, seconds_for, waits_for, waits_on
from provisioner.analysis.plan import Plan, PlannedResource
from recipes import facts
from recipes.facts import aws, azure, gcp, any_cloud as k8s_facts

from tests.conftest import spec_for

pytestmark = pytest.mark.filterwarnings(r"ignore::DeprecationWarning:pulumi_gcp\..*")

# What schedules pods: AKS's system pool is part of the ManagedCluster.
NODES = {"aws": aws.EKS_NODE_GROUP, "gcp": gcp.GKE_NODE_POOL, "azure": azure.AKS_CLUSTER}
# Resources that must never wait for the cluster (with --kms, so the keys are there too).
INDEPENDENT = {
    "aws": [aws.S3_BUCKET, aws.ECR_REPOSITORY, aws.IAM_ROLE, aws.KMS_KEY, aws.KMS_ALIAS],
    "gcp": [gcp.GCS_BUCKET, gcp.ARTIFACT_REGISTRY, gcp.SERVICE_ACCOUNT, gcp.KMS_KEY_RING, gcp.KMS_CRYPTO_KEY],
    "azure": [azure.STORAGE_ACCOUNT, azure.BLOB_CONTAINER, azure.CONTAINER_REGISTRY, azure.USER_ASSIGNED_IDENTITY,
              azure.KEY_VAULT, azure.KEY_VAULT_KEY],
}
WORKLOADS = (k8s_facts.DEPLOYMENT, k8s_facts.HELM_RELEASE)



# ---------------------------------------------------------------------------
# Hand-built plans: the algorithm on its own

def res(name: str, type_: str, deps: tuple[str, ...] = (), *, parent: str | None = None,
        provider: str | None = None, custom: bool = True, inputs: dict | None = None) -> PlannedResource:
    return PlannedResource(urn=f"urn:{name}", type=type_, name=name, parent=parent and f"urn:{parent}",
                           provider=provider and f"urn:{provider}::id-{provider}",
                           dependencies=[f"urn:{d}" for d in deps], inputs=inputs or {}, custom=custom)


def tiny(make_spec, *resources: PlannedResource) -> Plan:
    return Plan(spec=make_spec(), resources=list(resources), outputs={}, secret_outputs=[])


def test_longest_chain_of_a_tiny_plan(make_spec):
    plan = tiny(
        make_spec,
        res("eks", aws.EKS_CLUSTER),  # 660
        res("nodes", aws.EKS_NODE_GROUP, ("eks",)),  # 240
        res("bucket", aws.S3_BUCKET),  # 5
        res("k8s", k8s_facts.KUBERNETES_PROVIDER, ("eks",)),  # 0
        res("app", k8s_facts.DEPLOYMENT, ("nodes", "bucket"), provider="k8s"),  # 90
    )
    deploy = analyse(plan)
    assert deploy.critical_seconds == 660 + 240 + 90
    assert [s.name for s in deploy.critical_path] == ["eks", "nodes", "app"]
    assert sum(s.seconds for s in deploy.critical_path) == deploy.critical_seconds
    assert deploy.sum_seconds == 660 + 240 + 5 + 90
    assert waits_for(plan, "app", "eks") and waits_for(plan, "app", "bucket")
    assert not waits_for(plan, "bucket", "eks") and not waits_for(plan, "eks", "app")


def test_a_resource_waits_for_its_provider_and_the_providers_dependencies(make_spec):
    plan = tiny(
        make_spec,
        res("gke", gcp.GKE_CLUSTER),  # 300
        res("k8s", k8s_facts.KUBERNETES_PROVIDER, ("gke",)),
        res("ns", k8s_facts.NAMESPACE, provider="k8s"),  # 5, no recorded dependency at all
    )
    assert waits_for(plan, "ns", "gke")
    assert analyse(plan).critical_seconds == 305


def test_components_cost_nothing_and_a_dependency_on_one_waits_for_its_children(make_spec):
    plan = tiny(
        make_spec,
        res("net", "recipes:aws:Network", custom=False),
        res("nat", aws.EC2_NAT_GATEWAY, parent="net"),  # 90
        res("web", "recipes:app:Web", ("net",), custom=False),  # a component that depends on a component
        res("role", aws.IAM_ROLE, parent="web"),  # 10: waits through its parent
    )
    deploy = analyse(plan)
    assert waits_for(plan, "role", "nat")
    assert deploy.critical_seconds == 100
    assert [s.name for s in deploy.critical_path] == ["nat", "role"]  # components (0 s) left out
    assert seconds_for(plan.resources[0]) == 0


def test_durations_by_type_and_inputs(make_spec):
    lb = res("lb", k8s_facts.SERVICE, inputs={"spec": {"type": "LoadBalancer"}})
    internal = res("svc", k8s_facts.SERVICE, inputs={"spec": {"ports": []}})
    zonal = res("z", gcp.GKE_CLUSTER, inputs={"location": "us-central1-b"})
    regional = res("r", gcp.GKE_CLUSTER, inputs={"location": "us-central1"})
    assert seconds_for(lb) > seconds_for(internal) == 5
    assert seconds_for(regional) > seconds_for(zonal) == 300  # a zonal GKE control plane: 5 min
    assert seconds_for(res("p", "pulumi:providers:aws")) == 0
    assert seconds_for(res("x", aws.EC2_VPC)) == 5  # the default for an unlisted type


def test_a_cycle_is_an_error_not_a_hang(make_spec):
    plan = tiny(make_spec, res("a", aws.IAM_ROLE, ("b",)), res("b", aws.IAM_ROLE, ("a",)))
    with pytest.raises(graphlib.CycleError):
        analyse(plan)


def test_waits_for_refuses_a_selector_that_matches_nothing(make_spec):
    plan = tiny(make_spec, res("a", aws.IAM_ROLE))
    with pytest.raises(LookupError):
        waits_for(plan, "a", aws.EKS_CLUSTER)


# ---------------------------------------------------------------------------
# The real plans


def longest_chain(plan: Plan) -> float:
    """The longest chain by plain recursion over the same edges: an independent check of `analyse`."""
    graph = waits_on(plan)
    by_urn = {r.urn: r for r in plan.resources}

    @functools.lru_cache(maxsize=None)
    def finish(urn: str) -> float:
        return seconds_for(by_urn[urn]) + max((finish(p) for p in graph[urn]), default=0)

    return max(finish(urn) for urn in by_urn)


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure"])
def test_critical_path_of_the_default_stack_is_its_longest_chain(plans, provider):
    plan = plans(spec_for(provider)).plan
    deploy = analyse(plan)
    assert deploy.critical_seconds > 0
    assert deploy.critical_seconds == longest_chain(plan)
    assert deploy.critical_seconds == sum(s.seconds for s in deploy.critical_path)
    assert deploy.critical_seconds < deploy.sum_seconds
    types = [s.type for s in deploy.critical_path]
    assert facts.of(provider).CLUSTER_TYPE in types and NODES[provider] in types
    # Each step waits for the one before it.
    for before, after in zip(deploy.critical_path, deploy.critical_path[1:]):
        a = next(r for r in plan.resources if (r.name, r.type) == (after.name, after.type))
        b = next(r for r in plan.resources if (r.name, r.type) == (before.name, before.type))
        assert waits_for(plan, a, b)


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure"])
def test_data_and_identity_resources_do_not_wait_for_the_cluster(plans, provider):
    plan = plans(spec_for(provider, kms=True)).plan
    for type_ in INDEPENDENT[provider]:
        found = plan.by_type(type_)
        assert found, type_
        for resource in found:
            assert not waits_for(plan, resource, facts.of(provider).CLUSTER_TYPE), (resource.name, type_)


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure"])
@pytest.mark.parametrize("deployer", ["seldon", "kserve"])
def test_tracker_and_deployer_wait_for_nodes_but_not_for_each_other(plans, provider, deployer):
    plan = plans(spec_for(provider, deployer=deployer)).plan
    for component in ("tracker", "deployer"):
        workloads = [r for r in _subtree(plan, component) if r.type in WORKLOADS]
        assert workloads, component
        for resource in workloads:
            assert waits_for(plan, resource, NODES[provider]), (component, resource.name)
        for resource in _subtree(plan, component):
            if resource.custom and resource.type.startswith("kubernetes:"):
                assert waits_for(plan, resource, facts.of(provider).CLUSTER_TYPE), resource.name
    # MLflow and its database start as soon as the nodes are ready: only the tracker's route
    # through the shared ingress waits for Istio, and nothing of the tracker waits for the
    # model-serving operator; the deployer waits for nothing of the tracker.
    operator = "seldon-core" if deployer == "seldon" else "kserve"
    assert not waits_for(plan, "tracker", operator)
    for resource in _subtree(plan, "tracker"):
        if resource.name not in ("tracker-gateway", "tracker-route") and resource.custom:
            assert not waits_for(plan, resource, "deployer"), resource.name
    assert waits_for(plan, "tracker-route", "istio-ingressgateway")
    assert not waits_for(plan, "deployer", "tracker")


def _subtree(plan: Plan, name: str) -> list[PlannedResource]:
    (root,) = [r for r in plan.resources if r.name == name and not r.custom]
    out, todo = [], [root.urn]
    while todo:
        urn = todo.pop()
        kids = [r for r in plan.resources if r.parent == urn]
        out.extend(kids)
        todo.extend(r.urn for r in kids)
    return out


def _minutes(value: str) -> float:
    return float(value[:-1]) / (60 if value.endswith("s") else 1) if value[-1] in "ms" else float(value) / 60


# What each slow resource may take before Pulumi gives up on it, in minutes: long enough
# for the cloud's slowest normal case, short enough that a stuck deploy fails the same hour.
TIMEOUT_BOUNDS = {
    aws.EKS_CLUSTER: (20, 60), aws.EKS_NODE_GROUP: (20, 60),
    gcp.GKE_CLUSTER: (20, 60), gcp.GKE_NODE_POOL: (20, 60),
    azure.AKS_CLUSTER: (20, 60),
    k8s_facts.DEPLOYMENT: (5, 15),
}


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure"])
def test_every_wait_has_a_timeout_that_fits_the_resource(plans, provider):
    plan = plans(spec_for(provider)).plan
    for r in plan.resources:
        if r.type in TIMEOUT_BOUNDS:
            low, high = TIMEOUT_BOUNDS[r.type]
            assert "create" in r.custom_timeouts, r.name
            assert low <= _minutes(r.custom_timeouts["create"]) <= high, (r.name, r.custom_timeouts)
        if r.type == k8s_facts.HELM_RELEASE:  # Helm waits for the chart's workloads
            assert 2 <= float(r.inputs["timeout"]) / 60 <= 10, (r.name, r.inputs["timeout"])
        if r.type == k8s_facts.SERVICE and r.inputs["spec"].get("type") == "LoadBalancer":
            assert r.custom_timeouts == {"create": "15m", "delete": "15m"}, r.name
