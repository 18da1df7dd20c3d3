"""The stack's NetworkPolicies (recipes/kubernetes/segmentation.py), judged by what they let through.

Two sets: the component alone under Pulumi's mocks with stand-in Namespaces (every namespace,
or a subset), and the whole program's plan (the AWS default stack with Seldon, a KServe
stack, a stack taking a backup), whose Deployments' and Jobs' pod templates are the pods of
ours. Traffic is judged by netpol.py's evaluator, never by reading the policies' text.
"""

from __future__ import annotations

import functools
import re

import pulumi
import pytest

from provisioner.analysis.plan import run_plan
from recipes.facts import aws as aws_facts
from recipes.facts import gcp as gcp_facts
from recipes.facts import any_cloud as k8s_facts
from recipes.kubernetes import namespaces as stack_namespaces
from recipes.kubernetes import segmentation_flows as flows

from tests.conftest import PlanView, aws_spec, spec_for
from tests.recipes.kubernetes.netpol import Cluster, address, pod

NETWORK_POLICY = k8s_facts.NETWORK_POLICY
JOB = "kubernetes:batch/v1:Job"
BACKUP_ID = "20261201t061500z"

# The pods of the topology, with the labels their charts and our workloads give them.
GATEWAY = pod("gateway", "istio-system", {"istio": "ingressgateway", "app": "istio-ingressgateway"})
ISTIOD = pod("istiod", "istio-system", {"app": "istiod", "istio": "pilot"})
SOLVER = pod("solver", "istio-system", {"acme.cert-manager.io/http01-solver": "true"})
CM = {"app.kubernetes.io/instance": "cert-manager"}
CM_CONTROLLER = pod("cm-controller", "cert-manager", {**CM, "app.kubernetes.io/name": "cert-manager",
                                                      "app.kubernetes.io/component": "controller"})
CM_WEBHOOK = pod("cm-webhook", "cert-manager", {**CM, "app.kubernetes.io/name": "webhook", "app.kubernetes.io/component": "webhook"})
CM_CAINJECTOR = pod("cm-cainjector", "cert-manager", {**CM, "app.kubernetes.io/name": "cainjector",
                                                      "app.kubernetes.io/component": "cainjector"})
PART_OF = {"app.kubernetes.io/part-of": "mlflow"}
MLFLOW = pod("mlflow", "mlflow", {**PART_OF, "app.kubernetes.io/name": "mlflow"})
DB = pod("db", "mlflow", {**PART_OF, "app.kubernetes.io/name": "tracker-db", "app.kubernetes.io/component": "database"})
BACKUP = pod("backup", "mlflow", {**PART_OF, "app.kubernetes.io/name": "mlflow-backup", "app.kubernetes.io/component": "backup"})
STEP = pod("step", "zenml", {"zenml-run": "train"})
SELDON_MANAGER = pod("seldon-manager", "seldon-system", {"app": "seldon", "control-plane": "seldon-controller-manager"})
SELDON_MODEL = pod("seldon-model", "seldon", {"seldon-deployment-id": "iris"})
KSERVE_MANAGER = pod("kserve-manager", "kserve", {"control-plane": "kserve-controller-manager"})
KSERVE_MODEL = pod("kserve-model", "kserve-models", {"serving.kserve.io/inferenceservice": "iris"})
COREDNS = pod("coredns", "kube-system", {"k8s-app": "kube-dns"})
STRANGER = pod("stranger", "default", {"app": "mlflow"})  # a pod of someone else's, labelled like ours
OURS = [GATEWAY, ISTIOD, SOLVER, CM_CONTROLLER, CM_WEBHOOK, CM_CAINJECTOR, MLFLOW, DB, BACKUP, STEP,
        SELDON_MANAGER, SELDON_MODEL, KSERVE_MANAGER, KSERVE_MODEL]
INTERNET = address("93.184.216.34", "internet")
API_SERVER = address("172.20.0.1", "api-server")  # not a pod
EVERYONE = [*OURS, COREDNS, STRANGER, INTERNET, API_SERVER]
MODELS = [SELDON_MODEL, KSERVE_MODEL]
EKS_IDENTITY = aws_facts.IDENTITY_ENDPOINTS
GKE_IDENTITY = gcp_facts.IDENTITY_ENDPOINTS


def admitted(cluster: Cluster, destination, port: int, protocol: str = "TCP", among=EVERYONE) -> set[str]:
    return {e.name for e in among if e is not destination and cluster.allows(e, destination, port, protocol)}


def reaching(cluster: Cluster, destination, port: int, among=OURS) -> set[str]:
    return {e.name for e in among if e is not destination and cluster.allows(e, destination, port)}


def policies_of(plan) -> list[dict]:
    return [r.inputs for r in plan.resources if r.type == NETWORK_POLICY]


# ---------------------------------------------------------------------------
# The component alone


@functools.cache
def segmented(namespaces: tuple[str, ...] = tuple(sorted(flows.STACK_NAMESPACES)), **options):
    """A plan of the component with stand-in Namespaces, and its policies as an evaluator."""
    import pulumi_kubernetes as k8s

    from recipes.cloud import ClusterHandle
    from recipes.kubernetes.segmentation import Segmentation, SegmentationArgs

    def program(spec):
        provider = k8s.Provider("k8s", kubeconfig="{}")
        given = {ns: k8s.core.v1.Namespace(f"ns-{ns}", metadata={"name": ns}, opts=pulumi.ResourceOptions(provider=provider))
                 for ns in namespaces}
        cluster = ClusterHandle(name=pulumi.Output.from_input("c"), endpoint=pulumi.Output.from_input("https://c"),
                                kubeconfig=pulumi.Output.from_input("{}"), context="c", provider=provider, ready=[],
                                storage_class="standard")
        Segmentation("segmentation", SegmentationArgs(cluster=cluster, labels={"stack": "ml-dev"}, namespaces=given,
                                                      **{"identity_endpoints": EKS_IDENTITY, **options}))
        return {}

    plan = PlanView(run_plan(spec_for("aws"), program=program))
    return plan, Cluster(policies_of(plan))


FULL = {"tracker_port_beside_models": 5000, "acme_http01": True}


def test_every_namespace_given_gets_default_deny_and_dns():
    plan, cluster = segmented(**FULL)
    names = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in policies_of(plan)}
    for ns in flows.STACK_NAMESPACES:
        assert {(ns, "default-deny"), (ns, "allow-dns")} <= names
    for own in OURS:
        assert cluster.isolated(own, "Ingress") and cluster.isolated(own, "Egress"), own.name
        assert cluster.allows(own, COREDNS, 53, "UDP") and cluster.allows(own, COREDNS, 53, "TCP"), own.name
        assert not cluster.allows(own, COREDNS, 9153), own.name  # DNS, not the rest of kube-system
        assert not cluster.allows(own, pod("dns-lookalike", "default", {"k8s-app": "kube-dns"}), 53, "UDP")


def test_the_database_accepts_only_mlflow_and_the_backup_job_on_its_port():
    _, cluster = segmented(**FULL)
    assert admitted(cluster, DB, 5432) == {"mlflow", "backup"}
    assert admitted(cluster, DB, 5000) == set()


def test_mlflow_accepts_only_the_gateway_on_its_port():
    _, cluster = segmented(**FULL)
    assert admitted(cluster, MLFLOW, 5000) == {"gateway"}
    assert admitted(cluster, MLFLOW, 5432) == set()


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_model_servers_accept_only_the_gateway_and_reach_nothing_of_ours(model):
    _, cluster = segmented(**FULL)
    for port in (8080, 9000, 8000):
        assert admitted(cluster, model, port) == {"gateway"}
    assert not cluster.allows(model, MLFLOW, 5000) and not cluster.allows(model, DB, 5432)
    # Of ours, only the front door's public port, as from anywhere.
    assert {e.name for e in OURS if cluster.allows(model, e, 443)} == {"gateway"}
    assert cluster.allows(model, INTERNET, 443) and not cluster.allows(model, INTERNET, 80)


def test_pipeline_steps_accept_nothing():
    _, cluster = segmented(**FULL)
    for port in (80, 443, 5000, 8080):
        assert admitted(cluster, STEP, port) == set()


def test_the_gateway_takes_its_ports_from_anywhere_and_sends_only_to_its_routes():
    _, cluster = segmented(**FULL)
    for port in (80, 443, 5000, 15021):
        assert cluster.allows(INTERNET, GATEWAY, port), port
    assert not cluster.allows(INTERNET, GATEWAY, 15000)
    sent = {e.name for e in OURS if e is not GATEWAY and any(cluster.allows(GATEWAY, e, p) for p in (5000, 8080, 8089, 15012))}
    assert sent == {"mlflow", "seldon-model", "kserve-model", "solver", "istiod"}
    assert admitted(cluster, ISTIOD, 15012) == {"gateway"}
    assert admitted(cluster, SOLVER, 8089) == {"gateway"}


def test_without_a_tracker_port_beside_the_models_or_acme_those_stay_shut():
    _, cluster = segmented()
    assert cluster.allows(INTERNET, GATEWAY, 443) and not cluster.allows(INTERNET, GATEWAY, 5000)
    assert cluster.allows(STEP, INTERNET, 443) and not cluster.allows(STEP, INTERNET, 5000)
    assert not cluster.allows(GATEWAY, SOLVER, 8089) and not cluster.allows(CM_CONTROLLER, INTERNET, 80)
    _, full = segmented(**FULL)
    assert full.allows(STEP, INTERNET, 5000) and full.allows(CM_CONTROLLER, INTERNET, 80)


def test_only_the_api_server_calls_the_webhooks():
    _, cluster = segmented(**FULL)
    for webhook, port in ((ISTIOD, 15017), (CM_WEBHOOK, 10250), (SELDON_MANAGER, 4443), (KSERVE_MANAGER, 9443)):
        assert cluster.allows(API_SERVER, webhook, port), webhook.name
    assert not cluster.allows(API_SERVER, CM_CAINJECTOR, 10250) and not cluster.allows(API_SERVER, MLFLOW, 5000)


def test_only_the_control_planes_and_pipeline_steps_reach_the_api_server():
    _, cluster = segmented(**FULL)
    assert {e.name for e in OURS if cluster.allows(e, API_SERVER, 6443)} == {
        "gateway", "istiod", "cm-controller", "cm-webhook", "cm-cainjector", "seldon-manager", "kserve-manager", "step"}
    # HTTPS is open to the internet for most; the database and the solver have no business there.
    assert {e.name for e in OURS if not cluster.allows(e, INTERNET, 443)} == {"db", "solver"}


@pytest.mark.parametrize("endpoints", [EKS_IDENTITY, GKE_IDENTITY], ids=["eks", "gke"])
def test_identity_endpoints_open_each_on_its_own_port_for_the_pods_with_cloud_identities(endpoints):
    _, cluster = segmented(identity_endpoints=endpoints)
    for cidr, port in endpoints:
        endpoint = address(cidr.split("/")[0])
        assert reaching(cluster, endpoint, port) == {"mlflow", "backup", "step", "seldon-model", "kserve-model"}
        assert not any(cluster.allows(MLFLOW, endpoint, other) for _, other in endpoints if other != port)


def test_a_cloud_without_link_local_identity_gets_no_identity_policy():
    plan, _ = segmented(identity_endpoints=())
    assert not [p for p in policies_of(plan) if p["metadata"]["name"].endswith("-to-identity")]


def test_policies_are_made_only_in_and_towards_the_namespaces_given():
    given = ("istio-system", "mlflow", "zenml", "seldon-system", "seldon")
    plan, cluster = segmented(given, **FULL)
    assert {p["metadata"]["namespace"] for p in policies_of(plan)} == set(given)
    assert "kserve-models" not in str(policies_of(plan))
    assert cluster.allows(GATEWAY, SELDON_MODEL, 9000)


def test_policies_are_children_on_the_clusters_provider_waiting_for_their_namespace():
    plan, _ = segmented(**FULL)
    (component,) = [r for r in plan.resources if r.type == "recipes:kubernetes:Segmentation"]
    (provider,) = plan.by_type(k8s_facts.KUBERNETES_PROVIDER)
    namespace_urns = {r.inputs["metadata"]["name"]: r.urn for r in plan.by_type(k8s_facts.NAMESPACE)}
    for policy in [r for r in plan.resources if r.type == NETWORK_POLICY]:
        assert policy.parent == component.urn and policy.provider.startswith(provider.urn)
        assert namespace_urns[policy.inputs["metadata"]["namespace"]] in policy.dependencies
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", policy.inputs["metadata"]["name"])


def test_a_namespace_without_known_flows_is_refused():
    with pytest.raises(Exception, match="no network flows are known for namespace.*monitoring"):
        segmented(("mlflow", "monitoring"))


# ---------------------------------------------------------------------------
# The whole program's plan (the Segmentation wired into recipes/program.py)


def plan_pods(plan) -> list:
    """The pods of our Deployments and Jobs, with their templates' labels."""
    return [pod(r.name, r.inputs["metadata"]["namespace"], r.inputs["spec"]["template"]["metadata"]["labels"])
            for r in plan.resources if r.type in (k8s_facts.DEPLOYMENT, JOB)]


def container_port(plan, name: str) -> int:
    (resource,) = [r for r in plan.resources if r.type == k8s_facts.DEPLOYMENT and r.name == name]
    return int(resource.inputs["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"])


def judged(plan) -> tuple[Cluster, list, list]:
    """The plan's policies, its pods, and everyone else: the topology's stand-ins in the plan's namespaces."""
    namespaces = {r.inputs["metadata"]["name"]: r.inputs["metadata"].get("labels") or {}
                  for r in plan.by_type(k8s_facts.NAMESPACE)}
    pods = plan_pods(plan)
    # The gateway's pods carry the labels the program gives its chart.
    (release,) = [r for r in plan.by_type(k8s_facts.HELM_RELEASE) if r.name == "istio-ingressgateway"]
    gateway = pod("gateway", release.inputs["namespace"], release.inputs["values"]["labels"])
    others = [e for e in [*OURS, COREDNS, STRANGER, INTERNET, API_SERVER]
              if e.namespace is None or e.namespace in namespaces or e.namespace in ("kube-system", "default")]
    others = [e for e in others if e.name not in ("mlflow", "db", "backup", "gateway")]
    return Cluster(policies_of(plan), namespaces), pods, [*pods, gateway, *others]


@functools.cache
def program_plan(kind: str) -> PlanView:
    if kind == "backup":
        return PlanView(run_plan(aws_spec().with_changes(tracker_backup=BACKUP_ID)))
    return PlanView(run_plan(aws_spec(**({"deployer": "kserve"} if kind == "kserve" else {}))))


PLANS = ("seldon", "kserve", "backup")


@pytest.mark.parametrize("kind", PLANS)
def test_every_pod_and_namespace_of_the_plan_is_segmented(kind):
    plan = program_plan(kind)
    cluster, pods, _ = judged(plan)
    assert {p.name for p in pods} >= {"tracker-server", "tracker-db"}
    for own in pods:
        assert cluster.isolated(own, "Ingress") and cluster.isolated(own, "Egress"), own.name
        assert cluster.allows(own, COREDNS, 53, "UDP"), own.name
    names = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in policies_of(plan)}
    for namespace in plan.by_type(k8s_facts.NAMESPACE):
        ns = namespace.inputs["metadata"]["name"]
        assert {(ns, "default-deny"), (ns, "allow-dns")} <= names, ns


def test_the_planned_database_accepts_only_mlflow_and_the_backup_job():
    plan = program_plan("backup")
    cluster, pods, everyone = judged(plan)
    (db,) = [p for p in pods if p.name == "tracker-db"]
    backup_jobs = {p.name for p in pods if p.name.startswith("tracker-backup-")}
    assert backup_jobs, "the backup plan holds the backup Job"
    assert admitted(cluster, db, container_port(plan, "tracker-db"), among=everyone) == {"tracker-server", *backup_jobs}


@pytest.mark.parametrize("kind", ["seldon", "kserve"])
def test_planned_mlflow_accepts_only_the_gateway_and_models_reach_none_of_it(kind):
    plan = program_plan(kind)
    cluster, pods, everyone = judged(plan)
    (server,) = [p for p in pods if p.name == "tracker-server"]
    (db,) = [p for p in pods if p.name == "tracker-db"]
    assert admitted(cluster, server, container_port(plan, "tracker-server"), among=everyone) == {"gateway"}
    models_ns = stack_namespaces.DEPLOYER_NAMESPACES[kind][1]
    model = pod("model", models_ns, {"app": "model"})
    assert admitted(cluster, model, 8080, among=everyone) == {"gateway"}
    assert not cluster.allows(model, server, 5000) and not cluster.allows(model, db, 5432)
    step = pod("step", stack_namespaces.PIPELINES_NAMESPACE, {"zenml-run": "train"})
    assert admitted(cluster, step, 8080, among=[*everyone, model]) == set()
