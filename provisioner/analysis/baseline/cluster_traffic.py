"""The baseline's in-cluster checks (N6, T3, T4, T5): the same on every cloud, since the workloads are.

Segmentation, TLS at the front door, Pod Security admission and image pinning are all
declared by the cloud-agnostic workloads (recipes/kubernetes/), so one predicate each.
"""

from __future__ import annotations

from typing import Any

from provisioner.analysis.plan import Plan, PlannedResource
from recipes.facts.any_cloud import DEPLOYMENT, ISTIO_GATEWAY, JOB, NAMESPACE, NETWORK_POLICY
from recipes.kubernetes.namespaces import MLFLOW_NAMESPACE, OBJECTSTORE_NAMESPACE
from recipes.kubernetes.versions import DIGEST_PENDING

from .queries import Verdict, as_list, get, of

ENFORCE = "pod-security.kubernetes.io/enforce"
LEVELS = ("privileged", "baseline", "restricted")
# Namespaces where only our own workloads run: `restricted`, nothing less (the `kubernetes` provider's
# in-cluster object store included).
OWN_WORKLOAD_NAMESPACES = (MLFLOW_NAMESPACE, OBJECTSTORE_NAMESPACE)


def _name(resource: PlannedResource) -> str:
    return str(get(resource.inputs, "metadata", "name") or resource.name)


def _namespace_of(resource: PlannedResource) -> str:
    return str(get(resource.inputs, "metadata", "namespace") or "")


def _denies_all(policy: PlannedResource) -> bool:
    spec = get(policy.inputs, "spec") or {}
    return (not (spec.get("podSelector") or {}) and set(as_list(spec.get("policyTypes"))) == {"Ingress", "Egress"}
            and not spec.get("ingress") and not spec.get("egress"))


def namespaces_segmented(plan: Plan) -> Verdict:
    """N6: every namespace of the stack denies all traffic by default (then allows its flows, recipes/kubernetes/segmentation_flows.py)."""
    namespaces = [_name(n) for n in of(plan, NAMESPACE)]
    if not namespaces:
        return Verdict("n/a", "no namespaces of ours in this stack")
    denied = {_namespace_of(p) for p in of(plan, NETWORK_POLICY) if _denies_all(p)}
    open_ = sorted(set(namespaces) - denied)
    if open_:
        return Verdict("fail", "namespaces without a default-deny NetworkPolicy", open_)
    return Verdict("pass", f"default-deny NetworkPolicy, then named flows, in all {len(namespaces)} namespaces")


def _server_secure(server: dict[str, Any]) -> bool:
    tls = server.get("tls") or {}
    protocol = get(server, "port", "protocol")
    if protocol == "HTTPS":
        return tls.get("mode") in ("SIMPLE", "MUTUAL") and bool(tls.get("credentialName"))
    return protocol == "HTTP" and tls.get("httpsRedirect") is True


def front_door_https(plan: Plan) -> Verdict:
    """T3: the front door terminates TLS on every port; plain HTTP only redirects."""
    gateways = of(plan, ISTIO_GATEWAY)
    if not gateways:
        return Verdict("n/a", "no tracker or deployer endpoint in this stack")
    insecure = [g.name for g in gateways if not all(_server_secure(s) for s in as_list(get(g.inputs, "spec", "servers")))]
    if insecure:
        return Verdict("fail", "a gateway port serves plain HTTP", insecure)
    if plan.spec.has("deployer") and plan.spec.deployer == "kserve":
        return Verdict("warn", "tracker over HTTPS; KServe's models are plain HTTP on port 80 (KServe 0.15 raw "
                               "deployments route through Ingress objects without TLS): --deployer seldon serves HTTPS")
    issuer = "Let's Encrypt for --domain" if plan.spec.domain else "the stack's own CA (an output clients trust)"
    return Verdict("pass", f"HTTPS with TLS >= 1.2 on every port, HTTP redirects; certificate from {issuer}")


def pod_security_everywhere(plan: Plan) -> Verdict:
    """T4: Pod Security admission enforced in every namespace: `restricted` where only our workloads run."""
    namespaces = of(plan, NAMESPACE)
    if not namespaces:
        return Verdict("n/a", "no namespaces of ours in this stack")
    levels = {_name(n): get(n.inputs, "metadata", "labels", ENFORCE) for n in namespaces}
    unenforced = sorted(name for name, level in levels.items() if level not in ("baseline", "restricted"))
    if unenforced:
        return Verdict("fail", "namespaces without Pod Security enforcement", unenforced)
    weak = sorted(name for name in OWN_WORKLOAD_NAMESPACES if name in levels and levels[name] != "restricted")
    if weak:
        return Verdict("fail", "namespaces of our own workloads not `restricted`", weak)
    return Verdict("pass", "restricted where only our workloads run; baseline for charts and users' containers")


def _images(resource: PlannedResource) -> list[str]:
    template = get(resource.inputs, "spec", "template", "spec")  # a Deployment's or a Job's pod
    containers = [*as_list(get(template, "initContainers")), *as_list(get(template, "containers"))]
    return [str(c.get("image", "")) for c in containers]


def images_by_digest(plan: Plan) -> Verdict:
    """T5: every image of ours is pinned by digest (its tag kept for readers)."""
    workloads = [*of(plan, DEPLOYMENT), *of(plan, JOB)]
    if not workloads:
        return Verdict("n/a", "no workloads of ours in this stack")
    images = sorted({image for w in workloads for image in _images(w)})
    by_tag = [image for image in images if "@sha256:" not in image]
    unpinned = [image for image in by_tag if image not in DIGEST_PENDING]
    if unpinned:
        return Verdict("fail", "images without a digest: " + ", ".join(unpinned), unpinned)
    if by_tag:
        # An exact release tag (T2 refuses :latest and untagged images) whose digest could not be read
        # when the release was cut: recipes/kubernetes/versions.py says how to read it.
        return Verdict("warn", "pinned by exact tag, digest pending: " + ", ".join(by_tag), by_tag)
    return Verdict("pass", f"all {len(images)} images pinned by digest")
