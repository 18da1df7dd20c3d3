"""Who may talk to whom inside the cluster: the stack's network flows, one row per flow, as data.

`segmentation.py` renders each row as one NetworkPolicy in the row's namespace, beside a
`default-deny` (every pod, both directions, no rules) in every namespace the stack owns: a
pod of ours sends or receives only what a row here allows. Traffic needs the sender's egress
and the receiver's ingress, so a flow between two of our namespaces is two rows.

Peers that are not pods are admitted from or to anywhere (the rule names no peer), each
for a reason its row gives: the cloud load balancer's source addresses (clients, or the
load balancer's own nodes), the API server's address (a control plane outside the pod
network whose IPs differ per cloud and change), and the internet (buckets, registries,
identity and ACME endpoints, reached at addresses that change). Not an `ipBlock` of
0.0.0.0/0: whether an ipBlock matches pod addresses (a load balancer's address that
kube-proxy short-circuits to the gateway pod) is left to each network plugin, and it
would leave IPv6 out. The receiving side still decides: every namespace of ours denies
what its own rows do not admit.

Pure data (no Pulumi): the tests read the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import namespaces

INGRESS = "Ingress"
EGRESS = "Egress"
# The label the API server puts on every namespace (Kubernetes 1.21+): namespaces by name.
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"

Selector = dict[str, Any]  # a Kubernetes LabelSelector, with the Pulumi SDK's (snake_case) keys


def labelled(**labels: str) -> Selector:
    return {"match_labels": dict(labels)}


def labelled_any(key: str, *values: str) -> Selector:
    """Pods whose label `key` has one of `values`."""
    return {"match_expressions": [{"key": key, "operator": "In", "values": list(values)}]}


EVERY_POD: Selector = {}


@dataclass(frozen=True)
class Pods:
    """Pods by label in one namespace: the policy's own (None), or another by its name."""

    selector: Selector
    namespace: str | None = None


# A peer that is not a pod: the rule names no peer (see the module's docstring).
ANYWHERE = "anywhere"
# The cloud's link-local identity endpoints (recipes/facts/<cloud>.py IDENTITY_ENDPOINTS), each
# with its own port: one rule per endpoint, so that no endpoint is open on another's port.
IDENTITY_ENDPOINTS = "identity endpoints"

Peer = Pods | str
Port = tuple[str, int]  # (protocol, port)


def tcp(*ports: int | None) -> tuple[Port, ...]:
    """TCP ports (a None is left out: a port the stack does not open)."""
    return tuple(("TCP", p) for p in ports if p is not None)


@dataclass(frozen=True)
class Flow:
    namespace: str  # where the policy lives
    name: str  # the NetworkPolicy's name, unique in its namespace
    pods: Selector  # the pods of `namespace` it applies to
    direction: str  # INGRESS (peers are sources) or EGRESS (peers are destinations)
    peers: tuple[Peer, ...]
    ports: tuple[Port, ...]  # (): every port
    why: str


# --- the stack's namespaces -------------------------------------------------------------
ISTIO = namespaces.ISTIO_NAMESPACE
CERT_MANAGER = namespaces.CERT_MANAGER_NAMESPACE
MLFLOW = namespaces.MLFLOW_NAMESPACE
PIPELINES = namespaces.PIPELINES_NAMESPACE
OBJECTSTORE = namespaces.OBJECTSTORE_NAMESPACE
SELDON_OPERATOR_NS, SELDON_MODELS = namespaces.DEPLOYER_NAMESPACES["seldon"]
KSERVE_OPERATOR_NS, KSERVE_MODELS = namespaces.DEPLOYER_NAMESPACES["kserve"]
KUBE_SYSTEM = "kube-system"  # not ours: a peer only

# --- pods, by the labels their charts and our workloads give them -------------------------
GATEWAY = labelled(istio="ingressgateway")  # ingress.GATEWAY_SELECTOR
ISTIOD = labelled(app="istiod")
# The gateway and istiod, both of which read the API server.
ISTIO_CONTROL = labelled_any("app", "istiod", "istio-ingressgateway")
ACME_SOLVER = labelled(**{"acme.cert-manager.io/http01-solver": "true"})  # cert-manager's HTTP-01 solver pods
CERT_MANAGER_CONTROLLER = labelled(**{"app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/component": "controller"})
CERT_MANAGER_WEBHOOK = labelled(**{"app.kubernetes.io/name": "webhook", "app.kubernetes.io/component": "webhook"})
MLFLOW_SERVER = labelled(**{"app.kubernetes.io/name": "mlflow"})  # mlflow.py
TRACKER_DB = labelled(**{"app.kubernetes.io/name": "tracker-db"})  # postgres.py, named after the tracker
MLFLOW_BACKUP = labelled(**{"app.kubernetes.io/name": "mlflow-backup"})  # history.py's backup Job
# The database's clients: the server (and its restore init containers) and the backup Job.
TRACKER_CLIENTS = labelled_any("app.kubernetes.io/name", "mlflow", "mlflow-backup")
SELDON_MANAGER = labelled(**{"control-plane": "seldon-controller-manager"})  # seldon-core-operator 1.17.1
KSERVE_MANAGER = labelled(**{"control-plane": "kserve-controller-manager"})  # kserve 0.15.2
# recipes/existing/objectstore.py: the S3 gateway's pods, and the Job that creates the bucket.
OBJECT_STORE = labelled(**{"app.kubernetes.io/name": "objectstore", "app.kubernetes.io/component": "object-store"})
OBJECT_STORE_BUCKET_JOB = labelled(**{"app.kubernetes.io/name": "objectstore",
                                      "app.kubernetes.io/component": "object-store-bucket"})
KUBE_DNS = Pods(labelled(**{"k8s-app": "kube-dns"}), KUBE_SYSTEM)  # CoreDNS / kube-dns on EKS, GKE and AKS

# --- ports (the pods' own ports: a policy sees traffic after the Service's translation) ----
API_SERVER_PORTS = tcp(443, 6443)
HTTPS = 443
HTTP = 80
MLFLOW_PORT = 5000  # mlflow.PORT
DATABASE_PORT = 5432  # postgres.PORT
ISTIOD_XDS = 15012
ISTIOD_WEBHOOK = 15017
GATEWAY_HEALTH = 15021
ACME_SOLVER_PORT = 8089
OBJECT_STORE_PORT = 8333  # objectstore.PORT
CERT_MANAGER_WEBHOOK_PORT = 10250  # the chart's webhook.securePort
SELDON_WEBHOOK_PORT = 4443  # the chart's webhook.port
KSERVE_WEBHOOK_PORT = 9443  # the controller's webhook-server port

DNS_WHY = "name resolution: CoreDNS/kube-dns in kube-system, UDP and TCP 53"
API_WHY = ("the Kubernetes API server, which is not a pod: its address differs per cloud (EKS's cross-account "
           "interfaces, GKE's and AKS's control planes) and changes, so 443 and 6443 go anywhere")
WEBHOOK_WHY = "the API server calls this admission webhook; its source address is not a pod and differs per cloud"

# Every namespace a stack may own, and the operator and models namespace of each model deployer.
STACK_NAMESPACES = frozenset({ISTIO, CERT_MANAGER, MLFLOW, PIPELINES, SELDON_OPERATOR_NS, SELDON_MODELS,
                              KSERVE_OPERATOR_NS, KSERVE_MODELS, OBJECTSTORE})
DEPLOYERS = ((SELDON_OPERATOR_NS, SELDON_MANAGER, SELDON_WEBHOOK_PORT, SELDON_MODELS),
             (KSERVE_OPERATOR_NS, KSERVE_MANAGER, KSERVE_WEBHOOK_PORT, KSERVE_MODELS))


# Beside its flows, every namespace of ours gets this policy: every pod, both directions, no rule.
DEFAULT_DENY = "default-deny"
DEFAULT_DENY_WHY = "every pod of the namespace, both directions, no rule: only what a flow admits gets through"


def dns(namespace: str) -> Flow:
    """The one flow every namespace of ours has."""
    return Flow(namespace, "allow-dns", EVERY_POD, EGRESS, (KUBE_DNS,), (("UDP", 53), ("TCP", 53)), DNS_WHY)


def flows(tracker_port_beside_models: int | None = None, acme_http01: bool = False,
          bucket_port: int | None = None) -> tuple[Flow, ...]:
    """The flows of the stack's topology. `tracker_port_beside_models`: MLflow's own port on the
    gateway's load balancer beside the models' (None: no such port); `acme_http01`: the front
    door's certificate comes from Let's Encrypt through HTTP-01 (--domain); `bucket_port`: the port of
    a bucket endpoint of the user's (--bucket-endpoint) when it is not HTTPS's 443 (None: 443 or none)."""
    tracker_port = tracker_port_beside_models
    gateway = Pods(GATEWAY, ISTIO)
    rows = [
        # --- istio-system: the front door
        Flow(ISTIO, "gateway-from-anywhere", GATEWAY, INGRESS, (ANYWHERE,), tcp(HTTP, HTTPS, tracker_port, GATEWAY_HEALTH),
             "the cloud load balancer forwards clients (and probes 15021) from addresses no policy can predict; "
             "its source ranges (--allow-cidr) do the restricting"),
        Flow(ISTIO, "gateway-to-mlflow", GATEWAY, EGRESS, (Pods(MLFLOW_SERVER, MLFLOW),), tcp(MLFLOW_PORT),
             "the gateway routes the tracker's port to the MLflow server"),
        Flow(ISTIO, "gateway-to-istiod", GATEWAY, EGRESS, (Pods(ISTIOD),), tcp(ISTIOD_XDS),
             "the gateway's proxy gets its routes and certificates from istiod (xDS)"),
        Flow(ISTIO, "istiod-from-gateway", ISTIOD, INGRESS, (gateway,), tcp(ISTIOD_XDS),
             "istiod serves the gateway's proxy its configuration (xDS)"),
        Flow(ISTIO, "istiod-webhook", ISTIOD, INGRESS, (ANYWHERE,), tcp(ISTIOD_WEBHOOK), WEBHOOK_WHY),
        Flow(ISTIO, "istio-to-api-server", ISTIO_CONTROL, EGRESS, (ANYWHERE,), API_SERVER_PORTS,
             "istiod watches the cluster and the gateway reads its certificates' Secrets; " + API_WHY),
        # --- cert-manager
        Flow(CERT_MANAGER, "webhook-from-api-server", CERT_MANAGER_WEBHOOK, INGRESS, (ANYWHERE,),
             tcp(CERT_MANAGER_WEBHOOK_PORT), WEBHOOK_WHY),
        Flow(CERT_MANAGER, "cert-manager-to-api-server", EVERY_POD, EGRESS, (ANYWHERE,), API_SERVER_PORTS,
             "the controller, cainjector, webhook and the chart's start-up check all work through the API; " + API_WHY),
        # --- mlflow: the tracker and its database
        Flow(MLFLOW, "mlflow-from-gateway", MLFLOW_SERVER, INGRESS, (gateway,), tcp(MLFLOW_PORT),
             "MLflow is served only through the gateway"),
        Flow(MLFLOW, "db-from-tracker", TRACKER_DB, INGRESS, (Pods(MLFLOW_SERVER), Pods(MLFLOW_BACKUP)),
             tcp(DATABASE_PORT), "only the MLflow server (and its restore) and the backup Job use the database"),
        Flow(MLFLOW, "tracker-to-db", TRACKER_CLIENTS, EGRESS, (Pods(TRACKER_DB),), tcp(DATABASE_PORT),
             "MLflow's metadata, and the backup's dump, are in PostgreSQL"),
        Flow(MLFLOW, "tracker-to-https", TRACKER_CLIENTS, EGRESS, (ANYWHERE,), tcp(HTTPS),
             "artifacts and backups go to the stack's bucket, credentials come from the cloud's identity service"),
        Flow(MLFLOW, "tracker-to-identity", TRACKER_CLIENTS, EGRESS, (IDENTITY_ENDPOINTS,), (),
             "the cloud's workload identity endpoint on the node gives the bucket credentials"),
        # --- zenml: users' pipeline steps
        Flow(PIPELINES, "steps-to-api-server", EVERY_POD, EGRESS, (ANYWHERE,), API_SERVER_PORTS,
             "ZenML's orchestrator pod creates one pod per step; " + API_WHY),
        Flow(PIPELINES, "steps-to-internet", EVERY_POD, EGRESS, (ANYWHERE,), tcp(HTTPS, tracker_port),
             "steps reach the bucket, the registry, the ZenML server and MLflow at its public load balancer URL"),
        Flow(PIPELINES, "steps-to-identity", EVERY_POD, EGRESS, (IDENTITY_ENDPOINTS,), (),
             "the cloud's workload identity endpoint on the node gives steps the bucket's credentials"),
        # --- objectstore: the in-cluster bucket of a `kubernetes` stack, reached by its clients alone
        Flow(OBJECTSTORE, "store-from-tracker", OBJECT_STORE, INGRESS, (Pods(TRACKER_CLIENTS, MLFLOW),),
             tcp(OBJECT_STORE_PORT), "MLflow's artifacts and the backup Job's dumps are in the in-cluster bucket"),
        Flow(OBJECTSTORE, "store-from-steps", OBJECT_STORE, INGRESS, (Pods(EVERY_POD, PIPELINES),),
             tcp(OBJECT_STORE_PORT), "pipeline steps read and write their artifacts in the in-cluster bucket"),
        Flow(OBJECTSTORE, "store-from-bucket-job", OBJECT_STORE, INGRESS, (Pods(OBJECT_STORE_BUCKET_JOB),),
             tcp(OBJECT_STORE_PORT), "the Job that creates the bucket calls the S3 API"),
        Flow(OBJECTSTORE, "bucket-job-to-store", OBJECT_STORE_BUCKET_JOB, EGRESS, (Pods(OBJECT_STORE),),
             tcp(OBJECT_STORE_PORT), "the Job creates the stack's bucket through the S3 API"),
        Flow(MLFLOW, "tracker-to-objectstore", TRACKER_CLIENTS, EGRESS, (Pods(OBJECT_STORE, OBJECTSTORE),),
             tcp(OBJECT_STORE_PORT), "artifacts and backups go to the in-cluster bucket"),
        Flow(PIPELINES, "steps-to-objectstore", EVERY_POD, EGRESS, (Pods(OBJECT_STORE, OBJECTSTORE),),
             tcp(OBJECT_STORE_PORT), "steps' artifacts go to the in-cluster bucket"),
    ]
    for operator_ns, manager, webhook_port, models in DEPLOYERS:
        rows += [
            Flow(ISTIO, f"gateway-to-{models}", GATEWAY, EGRESS, (Pods(EVERY_POD, models),), (),
                 "the gateway routes inference requests to the model servers, on whatever port they serve"),
            Flow(operator_ns, "webhook-from-api-server", manager, INGRESS, (ANYWHERE,), tcp(webhook_port), WEBHOOK_WHY),
            Flow(operator_ns, "operator-to-api-server", EVERY_POD, EGRESS, (ANYWHERE,), API_SERVER_PORTS,
                 "the operator turns model resources into Deployments and Services; " + API_WHY),
            Flow(models, "models-from-gateway", EVERY_POD, INGRESS, (gateway,), (),
                 "users' model servers are reached only through the gateway"),
            Flow(models, "models-to-https", EVERY_POD, EGRESS, (ANYWHERE,), tcp(HTTPS),
                 "model servers download their artifacts from the bucket and get credentials over HTTPS"),
            Flow(models, "models-to-identity", EVERY_POD, EGRESS, (IDENTITY_ENDPOINTS,), (),
                 "the cloud's workload identity endpoint on the node gives model servers the bucket's credentials"),
            # The in-cluster bucket (a `kubernetes` stack): the model servers' storage initializers download there.
            Flow(models, "models-to-objectstore", EVERY_POD, EGRESS, (Pods(OBJECT_STORE, OBJECTSTORE),),
                 tcp(OBJECT_STORE_PORT), "model servers download the models' artifacts from the in-cluster bucket"),
            Flow(OBJECTSTORE, f"store-from-{models}", OBJECT_STORE, INGRESS, (Pods(EVERY_POD, models),),
                 tcp(OBJECT_STORE_PORT), "model servers read the models' artifacts pipeline steps wrote there"),
        ]
    if bucket_port is not None:
        why = "the bucket's S3 endpoint (--bucket-endpoint) listens on its own port, at an address only the user knows"
        rows += [
            Flow(MLFLOW, "tracker-to-bucket-endpoint", TRACKER_CLIENTS, EGRESS, (ANYWHERE,), tcp(bucket_port), why),
            Flow(PIPELINES, "steps-to-bucket-endpoint", EVERY_POD, EGRESS, (ANYWHERE,), tcp(bucket_port), why),
            *(Flow(models, "models-to-bucket-endpoint", EVERY_POD, EGRESS, (ANYWHERE,), tcp(bucket_port), why)
              for *_, models in DEPLOYERS),
        ]
    if acme_http01:
        rows += [
            Flow(ISTIO, "gateway-to-acme-solver", GATEWAY, EGRESS, (Pods(ACME_SOLVER),), tcp(ACME_SOLVER_PORT),
                 "Let's Encrypt's HTTP-01 challenge arrives at the gateway, which routes it to cert-manager's solver"),
            Flow(ISTIO, "acme-solver-from-gateway", ACME_SOLVER, INGRESS, (gateway,), tcp(ACME_SOLVER_PORT),
                 "the solver answers the challenge the gateway routes to it"),
            Flow(CERT_MANAGER, "controller-to-acme", CERT_MANAGER_CONTROLLER, EGRESS, (ANYWHERE,), tcp(HTTPS, HTTP),
                 "Let's Encrypt's API (443), and the controller's own HTTP-01 check through the load balancer (80)"),
        ]
    return tuple(rows)


def peer_namespaces(flow: Flow) -> set[str]:
    """The namespaces of ours a flow's peers are in: a flow to a namespace the stack lacks is not made."""
    return {p.namespace for p in flow.peers if isinstance(p, Pods) and p.namespace in STACK_NAMESPACES}
