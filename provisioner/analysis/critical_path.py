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

if TYPE_CHECKING:
    from provisioner.analysis.plan import Plan, PlannedResource

# Typical creation times in seconds, per resource type token. Sources: the
# providers' documented create timeouts (an upper bound) and the ranges AWS,
# Google and Microsoft give in their create-cluster guides; where a resource is
# a single API call we use a few seconds.
SECONDS: dict[str, float] = {
    # AWS
    # EKS control plane: ~9-14 min ("Cluster provisioning takes several minutes",
    # https://docs.aws.amazon.com/eks/latest/userguide/create-cluster.html; Terraform
    # aws_eks_cluster create timeout 30m). Take 11 min.
    "aws:eks/cluster:Cluster": 660,
    # Managed node group: ~3-5 min until nodes are Ready
    # (https://docs.aws.amazon.com/eks/latest/userguide/create-managed-node-group.html; timeout 60m).
    "aws:eks/nodeGroup:NodeGroup": 240,
    # EKS add-ons wait for ACTIVE: ~1-2 min (https://docs.aws.amazon.com/eks/latest/userguide/creating-an-add-on.html).
    "aws:eks/addon:Addon": 90,
    # NAT gateway: ~1-2 min from pending to available
    # (https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-working-with.html; Terraform timeout 10m).
    "aws:ec2/natGateway:NatGateway": 90,
    # IAM roles: one API call plus ~10 s of propagation the providers wait out
    # (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency).
    "aws:iam/role:Role": 10,
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": 10,
    "aws:kms/key:Key": 10,
    "aws:s3/bucket:Bucket": 5,
    "aws:ecr/repository:Repository": 5,
    # GCP
    # Zonal GKE cluster: ~4-6 min (https://cloud.google.com/kubernetes-engine/docs/how-to/creating-a-zonal-cluster;
    # Terraform google_container_cluster create timeout 40m). Take 5 min; regional: see `seconds_for`.
    "gcp:container/cluster:Cluster": 300,
    # Node pool: ~2-4 min (https://cloud.google.com/kubernetes-engine/docs/how-to/node-pools; timeout 30m).
    "gcp:container/nodePool:NodePool": 180,
    # Enabling a service API: tens of seconds (https://cloud.google.com/service-usage/docs/enable-disable).
    "gcp:projects/service:Service": 30,
    # VPC network, subnetwork, router and Cloud NAT: long-running compute operations, ~10-30 s each
    # (https://cloud.google.com/vpc/docs/create-modify-vpc-networks, https://cloud.google.com/nat/docs/set-up-manage-network-address-translation).
    "gcp:compute/network:Network": 30,
    "gcp:compute/subnetwork:Subnetwork": 20,
    "gcp:compute/router:Router": 15,
    "gcp:compute/routerNat:RouterNat": 30,
    # Service accounts and IAM bindings: one call plus propagation (https://cloud.google.com/iam/docs/access-change-propagation).
    "gcp:serviceaccount/account:Account": 10,
    "gcp:storage/bucket:Bucket": 5,
    "gcp:artifactregistry/repository:Repository": 10,
    "gcp:kms/keyRing:KeyRing": 5,
    "gcp:kms/cryptoKey:CryptoKey": 10,
    # Azure
    # AKS with its system node pool: ~5-18 min (https://learn.microsoft.com/azure/aks/learn/quick-kubernetes-deploy-cli
    # "takes a few minutes"; azure-native/Terraform create timeout 90m). Take 8 min.
    "azure-native:containerservice:ManagedCluster": 480,
    "azure-native:containerservice:AgentPool": 240,
    "azure-native:network:NatGateway": 60,
    # Storage account and registry: ARM long-running operations, ~20-40 s.
    "azure-native:storage:StorageAccount": 30,
    "azure-native:containerregistry:Registry": 30,
    "azure-native:keyvault:Vault": 30,
    # Role assignments and identities: one ARM call, replication waited out by the provider.
    "azure-native:authorization:RoleAssignment": 10,
    "azure-native:managedidentity:UserAssignedIdentity": 10,
    "azure-native:managedidentity:FederatedIdentityCredential": 10,
    "azure-native:network:VirtualNetwork": 10,
    "azure-native:network:Subnet": 10,
    # Kubernetes
    # Helm releases wait for their workloads: ~1-3 min (pulumi-kubernetes Release waits unless skipAwait;
    # https://www.pulumi.com/registry/packages/kubernetes/api-docs/helm/v3/release/). Take 2 min.
    "kubernetes:helm.sh/v3:Release": 120,
    # Deployments wait for readiness: ~1-2 min incl. image pull
    # (https://www.pulumi.com/registry/packages/kubernetes/api-docs/apps/v1/deployment/, default timeout 10m).
    "kubernetes:apps/v1:Deployment": 90,
}
# A Service of type LoadBalancer waits for the cloud's load balancer address: ~1-3 min
# (https://www.pulumi.com/registry/packages/kubernetes/api-docs/core/v1/service/, default timeout 10m).
LOAD_BALANCER_SERVICE_SECONDS = 120
# A regional GKE control plane spans three zones and takes longer: ~7-10 min.
GKE_REGIONAL_SECONDS = 480
# Any other cloud resource: a single API call.
DEFAULT_SECONDS = 5
# Configured locally, never created in the cloud.
INSTANT_PREFIXES = ("pulumi:providers:", "random:")


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
    if resource.type == "kubernetes:core/v1:Service":
        is_lb = (resource.inputs.get("spec") or {}).get("type") == "LoadBalancer"
        return LOAD_BALANCER_SERVICE_SECONDS if is_lb else DEFAULT_SECONDS
    if resource.type == "time:index/sleep:Sleep":  # a propagation wait lasts what it says
        return _go_duration_seconds(str(resource.inputs.get("createDuration") or "0s"))
    if resource.type == "gcp:container/cluster:Cluster":
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
