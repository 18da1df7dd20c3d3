"""What the cloud-agnostic Kubernetes resources bill: LoadBalancer Services and volume claims.

Why separate: the workloads are the same on every cloud, but what they cost is the
cloud's (a Service of type LoadBalancer is an NLB on EKS, a forwarding rule on GKE, a
rule on AKS's load balancer). The clouds' pricing modules price them with these helpers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from recipes.facts.any_cloud import PERSISTENT_VOLUME_CLAIM, SERVICE

from .model import PlanPricer, count_text, gib, usd

if TYPE_CHECKING:
    from provisioner.analysis.plan import PlannedResource


class Claim(NamedTuple):
    gib: float  # the storage request, in GiB
    storage_class: str | None  # None: the cluster's default class


def is_load_balancer(r: PlannedResource) -> bool:
    """Only a Service of type LoadBalancer bills: it is a cloud load balancer."""
    return (r.inputs.get("spec") or {}).get("type") == "LoadBalancer"


def annotations(r: PlannedResource) -> dict[str, Any]:
    return (r.inputs.get("metadata") or {}).get("annotations") or {}


def ports(r: PlannedResource) -> int:
    """The Service's ports: each is a load-balancer rule (at least one)."""
    return len((r.inputs.get("spec") or {}).get("ports") or []) or 1


def added_rules(pricer: PlanPricer, r: PlannedResource) -> tuple[int, int]:
    """Count this Service's rules in: (the rules before it, how many of its own are beyond the first 5)."""
    before, pricer.lb_rules = pricer.lb_rules, pricer.lb_rules + ports(r)
    return before, max(pricer.lb_rules - 5, 0) - max(before - 5, 0)


def claimed_volume(pricer: PlanPricer, r: PlannedResource) -> Claim | None:
    """The claim's size and class; None (reported, not priced) when it requests no storage."""
    spec = r.inputs.get("spec") or {}
    size = gib(((spec.get("resources") or {}).get("requests") or {}).get("storage"))
    if size is None:
        pricer.add(r, "persistent volume", None, "no storage request in the claim")
        pricer.assumptions.append(f"{r.name}: the claim has no storage request; the total excludes it")
        return None
    return Claim(size, spec.get("storageClassName"))


def price_per_gb(pricer: PlanPricer, r: PlannedResource, claim: Claim, disk: str) -> None:
    """A claim provisioned as a `disk` volume billed per GB-month."""
    price = pricer.prices[disk].usd
    pricer.add(r, f"persistent volume ({claim.storage_class or 'default class'})", price * claim.gib,
               f"{count_text(round(claim.gib, 2))} GiB x {usd(price)}/GB-month ({disk})")


# Display order after the clouds' control plane, nodes and network: load balancers, then volumes.
DISPLAY_RANK = {SERVICE: 30, PERSISTENT_VOLUME_CLAIM: 40}


# --- the `kubernetes` provider: a cluster we do not create, so no list price applies to anything in it.

def existing_volume(pricer: PlanPricer, r: PlannedResource) -> None:
    """A claim on the user's cluster: its disk is the cluster's (a laptop's, or already paid for), priced at 0."""
    claim = claimed_volume(pricer, r)
    if claim is None:
        return
    pricer.add(r, f"persistent volume ({claim.storage_class or 'default class'})", 0.0,
               f"{count_text(round(claim.gib, 2))} GiB on your cluster's storage, priced at $0")
    if not any(a.startswith("persistent volumes on your cluster") for a in pricer.assumptions):
        pricer.assumptions.append("persistent volumes on your cluster are priced at $0: they use the cluster's own "
                                  "storage (free on a laptop cluster; on a cloud-hosted cluster its provider bills the "
                                  "disks at its rates)")


def existing_load_balancer(pricer: PlanPricer, r: PlannedResource) -> None:
    """A LoadBalancer Service on the user's cluster: what it costs is the cluster's load balancer's business."""
    if not is_load_balancer(r):
        return
    pricer.add(r, "load balancer (your cluster's)", None, "not priced: depends on your cluster's load balancer")
    pricer.assumptions.append(f"{r.name}: not priced and left out of the total: k3d's built-in load balancer and "
                              "MetalLB are free, a cloud-hosted cluster's provider bills a cloud load balancer")


EXISTING_PRICERS = {PERSISTENT_VOLUME_CLAIM: existing_volume, SERVICE: existing_load_balancer}
