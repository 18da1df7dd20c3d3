"""The stack's own sources that a load balancer restricted with --allow-cidr admits too.

ZenML gives a laptop and a pipeline pod one MLflow tracking URI: the load
balancer's public URL. So with --allow-cidr each cloud's cluster adds the
addresses its own pods and nodes arrive from (`ClusterHandle.internal_sources`)
to the load balancer's source ranges. This module reads them back from a plan
and names each by what in the stack it is and why it is there: `recipe plan`
lists them, and rule T1 of `recipe check` admits exactly these beyond
--allow-cidr.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from provisioner.analysis.plan import Plan, PlannedResource
from recipes.facts import aws, azure, gcp, any_cloud as k8s_facts

# Why each kind of source reaches the load balancer.
SHORT_CIRCUIT = ("the load balancer is addressed by IP, so kube-proxy keeps in-cluster traffic to it inside the "
                 "cluster and checks the source ranges against the {who}'s own address")
WHY_NODES = SHORT_CIRCUIT.format(who="node")
WHY_PODS = SHORT_CIRCUIT.format(who="pod")
WHY_AWS_NAT = ("pods resolve the load balancer's hostname to its public addresses and reach it through the "
               "NAT gateway, so they arrive from this address")
WHY_GCP_NAT = "traffic from the cluster that does leave through Cloud NAT arrives from this address"


@dataclass(frozen=True)
class InternalSource:
    cidr: str
    what: str  # which part of the stack: "node subnet", "pod range", a NAT address
    why: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)


def load_balancers(plan: Plan) -> list[PlannedResource]:
    return [s for s in plan.by_type(k8s_facts.SERVICE) if (s.inputs.get("spec") or {}).get("type") == "LoadBalancer"]


def source_ranges(service: PlannedResource) -> list[str]:
    return list((service.inputs.get("spec") or {}).get("loadBalancerSourceRanges") or [])


def own_sources(plan: Plan) -> dict[str, tuple[str, str]]:
    """Every range of the stack's own nodes and pods, and its own NAT addresses: cidr -> (what, why)."""
    own: dict[str, tuple[str, str]] = {}
    pod_ranges = {_get(c.inputs, "ipAllocationPolicy", "clusterSecondaryRangeName")
                  for c in plan.by_type(gcp.GKE_CLUSTER)}
    for r in plan.resources:
        if r.type == aws.EC2_EIP and r.outputs.get("publicIp"):
            own[f"{r.outputs['publicIp']}/32"] = ("the NAT gateway's Elastic IP", WHY_AWS_NAT)
        elif r.type == gcp.COMPUTE_ADDRESS and r.inputs.get("addressType", "EXTERNAL") == "EXTERNAL":
            if address := r.outputs.get("address") or r.inputs.get("address"):
                own[f"{address}/32"] = ("Cloud NAT's reserved address", WHY_GCP_NAT)
        elif r.type == gcp.COMPUTE_SUBNETWORK:
            own[r.inputs["ipCidrRange"]] = ("node subnet", WHY_NODES)
            for secondary in r.inputs.get("secondaryIpRanges") or []:
                if secondary.get("rangeName") in pod_ranges:
                    own[secondary["ipCidrRange"]] = ("pod range", WHY_PODS)
        elif r.type == azure.SUBNET and r.inputs.get("addressPrefix"):
            own[r.inputs["addressPrefix"]] = ("node subnet", WHY_NODES)
        elif r.type == azure.AKS_CLUSTER:
            if pods := _get(r.inputs, "networkProfile", "podCidr"):
                own[pods] = ("pod range (overlay)", WHY_PODS)
    return own


def internal_sources(plan: Plan) -> list[InternalSource]:
    """The source ranges of the plan's load balancers beyond --allow-cidr, in order, each named."""
    if not plan.spec.allow_cidrs:
        return []  # no source ranges at all: the load balancer is open
    own = own_sources(plan)
    seen = set(plan.spec.allow_cidrs)
    found: list[InternalSource] = []
    for service in load_balancers(plan):
        for cidr in source_ranges(service):
            if cidr not in seen:
                seen.add(cidr)
                what, why = own.get(cidr, ("not one of the stack's own sources", ""))
                found.append(InternalSource(cidr, what, why))
    return found


def note_lines(sources: list[InternalSource]) -> list[str]:
    """What `recipe plan` says about them, one line each after a heading."""
    if not sources:
        return []
    return [
        "--allow-cidr: the load balancer also admits the stack's own pods and nodes, so pipeline steps reach "
        "MLflow at the same public URL as a laptop:",
        *(f"  {s.cidr} ({s.what}): {s.why}" for s in sources),
    ]


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
