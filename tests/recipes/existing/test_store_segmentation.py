"""The `kubernetes` provider's NetworkPolicies, judged by what they let through (tests/recipes/kubernetes/netpol.py):
the in-cluster object store reached by its clients alone (the tracker, the steps, the model servers), and a bucket endpoint of the user's on
its own port."""

from __future__ import annotations


from recipes.facts import any_cloud as k8s_facts
from recipes.spec import Layer, load_spec

from tests.recipes.kubernetes.netpol import Cluster, address, pod
from tests.recipes.kubernetes.test_segmentation import plan_pods, policies_of
from tests.recipes.plans import fresh_plan

STORE_PORT = 8333
STEP = pod("step", "zenml", {"zenml-run": "train"})
MODEL = pod("model", "seldon", {"seldon-deployment-id": "iris"})
STRANGER = pod("stranger", "default", {"app.kubernetes.io/name": "objectstore",
                                       "app.kubernetes.io/component": "object-store-bucket"})
INTERNET = address("93.184.216.34", "internet")


def judged(**values):
    plan = fresh_plan(load_spec(Layer("flags", {"provider": "kubernetes", "context": "k3d-ml",
                                                "without": ["registry"], **values})))
    namespaces = {r.inputs["metadata"]["name"]: r.inputs["metadata"].get("labels") or {}
                  for r in plan.by_type(k8s_facts.NAMESPACE)}
    pods = {p.name: p for p in plan_pods(plan)}
    return Cluster(policies_of(plan), namespaces), pods


def test_the_store_admits_its_clients_alone_on_its_port():
    cluster, pods = judged()
    store = pods["objectstore"]
    everyone = [*pods.values(), STEP, MODEL, STRANGER, INTERNET]
    admitted = {e.name for e in everyone if e is not store and cluster.allows(e, store, STORE_PORT)}
    # The model servers' storage initializers download the models pipeline steps wrote there.
    assert admitted == {"tracker-server", "objectstore-bucket", "step", "model"}
    assert not [e.name for e in everyone if e is not store and cluster.allows(e, store, 8080)]
    # The store itself reaches nothing but DNS.
    assert not cluster.allows(store, INTERNET, 443)


def test_with_kserve_its_models_namespace_reaches_the_store_and_seldons_does_not():
    cluster, pods = judged(deployer="kserve")
    store = pods["objectstore"]
    kserve_model = pod("predictor", "kserve-models", {"serving.kserve.io/inferenceservice": "iris"})
    assert cluster.allows(kserve_model, store, STORE_PORT)
    assert not cluster.allows(MODEL, store, STORE_PORT)  # a namespace the stack does not own
    assert not cluster.allows(kserve_model, store, 8080)


def test_a_bucket_endpoint_on_its_own_port_is_reachable_from_the_tracker_and_steps_only():
    values = {"bucket": "s3://ml-artifacts", "bucket_secret": "ml-keys"}
    cluster, pods = judged(**values, bucket_endpoint="https://minio.corp.example:9000")
    tracker = pods["tracker-server"]
    assert cluster.allows(tracker, INTERNET, 9000) and cluster.allows(STEP, INTERNET, 9000)
    # The model servers' storage initializers download from it too; the database does not.
    assert cluster.allows(MODEL, INTERNET, 9000) and not cluster.allows(pods["tracker-db"], INTERNET, 9000)
    # On 443 (or AWS S3) nothing beyond HTTPS is opened.
    cluster, pods = judged(**values, bucket_endpoint="https://minio.corp.example")
    assert not cluster.allows(pods["tracker-server"], INTERNET, 9000) and cluster.allows(pods["tracker-server"], INTERNET, 443)
