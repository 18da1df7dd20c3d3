"""Estimated deploy time of a plan: the longest chain of creations in its dependency graph.

Why: Pulumi creates independent resources in parallel, so a deploy takes as long
as its slowest chain, not the sum of its parts. Weighting the plan's recorded
graph with typical creation times shows that chain, and which resources sit on
it; `waits_for` answers whether one resource (transitively) waits for another,
so tests can pin the independence the recipes promise (the bucket never waits
for the cluster, ...). This module imports nothing from Pulumi.

Edges are what the Pulumi SDK waits for before it registers a resource:
- its recorded `dependencies` (explicit `depends_on` and the resources its input
  Outputs come from); a dependency on a component means all of its descendants;
- its explicit provider (`PlannedResource.provider` is `<provider urn>::<id>`),
  e.g. the Kubernetes provider built from the cluster's kubeconfig;
- its parent: the SDK awaits the parent's URN, which a custom resource only has
  once created and a component once its own dependencies are met. A component
  takes no time itself and does not wait for its children.
"""

from __future__ import annotations

import graphlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, Union

from recipes.facts import aws, azure, gcp, any_cloud as k8s_facts

if TYPE_CHECKING:
    from provisioner.analysis.plan import Plan, PlannedResource

# Typical creation times in seconds, per resource type token: each cloud's CREATE_SECONDS and the
# cloud-agnostic ones (recipes/facts/, where each figure names its source).
SECONDS: dict[str, float] = {
    **aws.CREATE_SECONDS, **gcp.CREATE_SECONDS, **azure.CREATE_SECONDS, **k8s_facts.CREATE_SECONDS,
}
LOAD_BALANCER_SERVICE_SECONDS = k8s_facts.LOAD_BALANCER_SERVICE_CREATE_SECONDS
# A regional GKE control plane spans three zones and takes longer.
GKE_REGIONAL_SECONDS = gcp.REGIONAL_CLUSTER_CREATE_SECONDS
# Any other cloud resource: a single API call.
DEFAULT_SECONDS = 5
# Configured locally, never created in the cloud.
INSTANT_PREFIXES = (k8s_facts.PROVIDER_PREFIX, k8s_facts.RANDOM_PREFIX)


class Step(NamedTuple):
    name: str
    type: str
    seconds: float


@dataclass
class DeployTime:
    critical_path: list[Step]  # the longest chain, first created first; steps of 0 s left out
    critical_seconds: float  # its length: the estimated wall time of a deploy
    sum_seconds: float  # every creation one after another
    finish_seconds: dict[str, float] = field(default_factory=dict, repr=False)  # urn -> earliest finish

    @property
    def parallel_speedup(self) -> float:
        return self.sum_seconds / self.critical_seconds if self.critical_seconds else 1.0

    def to_json(self) -> dict:
        return {
            "critical_seconds": self.critical_seconds,
            "sum_seconds": self.sum_seconds,
            "critical_path": [step._asdict() for step in self.critical_path],
        }


def seconds_for(resource: PlannedResource) -> float:
    """Typical time to create `resource`."""
    if not resource.custom or resource.type.startswith(INSTANT_PREFIXES):
        return 0
    if resource.type == k8s_facts.SERVICE:
        is_lb = (resource.inputs.get("spec") or {}).get("type") == "LoadBalancer"
        return LOAD_BALANCER_SERVICE_SECONDS if is_lb else DEFAULT_SECONDS
    if resource.type == k8s_facts.TIME_SLEEP:  # a propagation wait lasts what it says
        return _go_duration_seconds(str(resource.inputs.get("createDuration") or "0s"))
    if resource.type == gcp.GKE_CLUSTER:
        location = str(resource.inputs.get("location") or "")
        if location and location.count("-") == 1:  # a region (us-central1), not a zone (us-central1-b)
            return GKE_REGIONAL_SECONDS
    return SECONDS.get(resource.type, DEFAULT_SECONDS)


def _go_duration_seconds(text: str) -> float:
    """Seconds of a Go duration such as "2m", "90s", "1m30s"."""
    import re

    units = {"h": 3600, "m": 60, "s": 1}
    return float(sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)([hms])", text)))


def provider_urn(ref: str) -> str:
    """A provider reference is `<urn>::<id>`."""
    return ref.rsplit("::", 1)[0]


def _children(plan: Plan) -> dict[str, list[str]]:
    """Each parent's urn, with the urns of its children."""
    children: dict[str, list[str]] = {}
    for r in plan.resources:
        if r.parent:
            children.setdefault(r.parent, []).append(r.urn)
    return children


def waits_on(plan: Plan) -> dict[str, set[str]]:
    """For each resource urn, the urns it waits for directly (see the module docstring)."""
    by_urn = {r.urn: r for r in plan.resources}
    children = _children(plan)

    def expand(urn: str) -> set[str]:
        """A dependency on a component is a dependency on everything under it."""
        out, todo = set(), [urn]
        while todo:
            node = todo.pop()
            if node in out:
                continue
            out.add(node)
            if not by_urn[node].custom:
                todo.extend(children.get(node, []))
        return out

    graph: dict[str, set[str]] = {}
    for r in plan.resources:
        preds: set[str] = set()
        for dep in r.dependencies:
            if dep in by_urn:
                preds |= expand(dep)
        if r.provider and provider_urn(r.provider) in by_urn:
            preds.add(provider_urn(r.provider))
        if r.parent and r.parent in by_urn:
            preds.add(r.parent)
        preds.discard(r.urn)
        graph[r.urn] = preds
    return graph


def analyse(plan: Plan) -> DeployTime:
    """The critical path of `plan`: longest chain of creation times through its graph."""
    by_urn = {r.urn: r for r in plan.resources}
    # Ties go to the name that sorts first: the mocks register in no fixed order.
    order = {r.urn: (r.name, r.type, r.urn) for r in plan.resources}
    graph = waits_on(plan)
    finish: dict[str, float] = {}
    via: dict[str, str | None] = {}
    for urn in graphlib.TopologicalSorter(graph).static_order():  # raises CycleError on a cycle
        preds = sorted(graph[urn], key=lambda u: (-finish[u], order[u]))
        via[urn] = preds[0] if preds else None
        finish[urn] = seconds_for(by_urn[urn]) + (finish[preds[0]] if preds else 0)
    end = min(finish, key=lambda u: (-finish[u], order[u]), default=None)
    chain: list[Step] = []
    node = end
    while node is not None:
        r = by_urn[node]
        if seconds_for(r) > 0:
            chain.append(Step(r.name, r.type, seconds_for(r)))
        node = via[node]
    chain.reverse()
    return DeployTime(
        critical_path=chain,
        critical_seconds=finish[end] if end else 0,
        sum_seconds=sum(seconds_for(r) for r in plan.resources),
        finish_seconds=finish,
    )


Selector = Union[str, "PlannedResource"]


def _select(plan: Plan, selector: Selector) -> set[str]:
    """Resources named or typed `selector` (or the resource itself); components mean their subtree."""
    if not isinstance(selector, str):
        roots = [selector]
    else:
        roots = [r for r in plan.resources if selector in (r.type, r.name)]
    if not roots:
        raise LookupError(f"no resource named or typed {selector!r} in the plan")
    by_parent = _children(plan)
    out, todo = set(), [r.urn for r in roots]
    while todo:
        urn = todo.pop()
        if urn not in out:
            out.add(urn)
            todo.extend(by_parent.get(urn, []))
    custom = {r.urn for r in plan.resources if r.custom}
    return out & custom or out


def closure(plan: Plan, urn: str, graph: dict[str, set[str]] | None = None) -> set[str]:
    """Every urn `urn` waits for, directly or transitively."""
    graph = graph if graph is not None else waits_on(plan)
    seen: set[str] = set()
    todo = list(graph.get(urn, ()))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return seen


def waits_for(plan: Plan, a: Selector, b: Selector) -> bool:
    """Whether any resource selected by `a` transitively waits for any selected by `b`.

    A selector is a type token, a resource name, or a PlannedResource; a component
    stands for the custom resources under it. Nothing matching is an error, so a
    renamed resource cannot make an independence check pass by accident.
    """
    graph = waits_on(plan)
    targets = _select(plan, b)
    return any(closure(plan, urn, graph) & targets for urn in _select(plan, a))
