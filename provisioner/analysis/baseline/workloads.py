"""The baseline's Kubernetes workload checks (T1, T2): the same on every cloud, since the workloads are."""

from __future__ import annotations

from typing import Any

from provisioner.analysis.internal_sources import own_sources
from provisioner.analysis.plan import Plan, PlannedResource
from recipes.facts.any_cloud import DEPLOYMENT, JOB, SERVICE

from .queries import OPEN_CIDR_NOTE, Verdict, as_list, each, get, of, open_to_internet


def endpoints_authenticated(plan: Plan) -> Verdict:
    """T1: MLflow asks for a password, and the load balancers admit only --allow-cidr and the stack's own sources.
    On a cluster we did not create (--expose), node ports admit whoever reaches a node; a forwarded port only
    those the cluster's RBAC lets run kubectl port-forward."""
    balancers = [s for s in of(plan, SERVICE) if get(s.inputs, "spec", "type") == "LoadBalancer"]
    node_ports = [s for s in of(plan, SERVICE) if get(s.inputs, "spec", "type") == "NodePort"]
    forwarded = plan.spec.expose == "port-forward" and (plan.spec.has("tracker") or plan.spec.has("deployer"))
    if not (balancers or node_ports or forwarded):
        return Verdict("n/a", "no tracker or deployer endpoint in this stack")
    trackers = [d for d in of(plan, DEPLOYMENT) if get(d.inputs, "metadata", "name") == "mlflow"]
    unauthenticated = [d.name for d in trackers
                       if "basic-auth" not in as_list(get(d.inputs, "spec", "template", "spec", "containers", 0, "args"))]
    if unauthenticated:
        return Verdict("fail", "MLflow runs without authentication", unauthenticated)
    if node_ports and not balancers:
        return Verdict("warn", "authentication on, but the node ports accept any address that reaches your nodes; "
                               "--expose port-forward keeps the front door inside the cluster")
    if forwarded and not balancers:
        return Verdict("pass", "authentication on; the front door is reached only through kubectl port-forward, "
                               "which your cluster's RBAC grants")
    if open_to_internet(plan.spec.allow_cidrs):
        return Verdict("warn", f"authentication on, but the load balancers are open to the internet ({OPEN_CIDR_NOTE}); "
                               "restrict with --allow-cidr YOUR.IP.ADDRESS/32")
    if plan.spec.allow_cidrs:
        # Beyond --allow-cidr, only the stack's own nodes, pods and NAT address (internal_sources).
        allowed, own = set(plan.spec.allow_cidrs), own_sources(plan)
        ranges = {s.name: set(as_list(get(s.inputs, "spec", "loadBalancerSourceRanges"))) for s in balancers}
        unrestricted = [name for name, found in ranges.items() if not allowed <= found]
        if unrestricted:
            return Verdict("fail", "load balancer ignores --allow-cidr", unrestricted)
        foreign = [name for name, found in ranges.items() if found - allowed - set(own)]
        if foreign:
            return Verdict("fail", "load balancer admits sources that are neither --allow-cidr nor the stack's own", foreign)
        extra = set().union(*ranges.values()) - allowed
        return Verdict("pass", "authentication on, load balancers limited to --allow-cidr"
                       + (" and the stack's own nodes, pods or NAT address" if extra else ""))
    return Verdict("warn", "authentication on, but the load balancers accept any address; restrict with --allow-cidr")


def hardened(container: dict[str, Any], init: bool) -> bool:
    """One container of a pod: no escalation, capabilities dropped, limits, a pinned image, and probes unless `init`."""
    context = container.get("securityContext") or {}
    image = str(container.get("image", ""))
    tag = image.rsplit("/", 1)[-1]
    return (
        context.get("allowPrivilegeEscalation") is False
        and "ALL" in as_list(get(context, "capabilities", "drop"))
        and context.get("privileged") is not True
        and bool(get(container, "resources", "limits"))
        and ":" in tag and not tag.endswith(":latest")
        and (init or (bool(container.get("readinessProbe")) and bool(container.get("livenessProbe"))))
    )


def _pod_hardened(workload: PlannedResource) -> bool:
    """A Deployment's or a Job's pod. A Job's containers run to completion: no probes asked of them, as
    Checkov's CKV_K8S_8/9 ask none (checkov/kubernetes/checks/resource/k8s/LivenessProbe.py skips Job)."""
    pod = get(workload.inputs, "spec", "template", "spec") or {}
    if get(pod, "securityContext", "runAsNonRoot") is not True:
        return False
    runs_to_completion = workload.type == JOB
    return all(hardened(c, runs_to_completion) for c in pod.get("containers") or []) and all(
        hardened(c, True) for c in pod.get("initContainers") or []
    )


def workloads_hardened(plan: Plan) -> Verdict:
    """T2: every Deployment and Job of ours (the `kubernetes` provider's bucket Job, the tracker's backup)
    runs non-root and hardened."""
    workloads = [*of(plan, DEPLOYMENT), *of(plan, JOB)]
    if not workloads:
        return Verdict("n/a", "no workloads of ours in this stack")
    return each(workloads, _pod_hardened, "non-root, no escalation, capabilities dropped, limits, probes, pinned images",
                "a workload misses a hardening setting")
