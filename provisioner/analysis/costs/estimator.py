"""The walk over a plan: each resource to its cloud's pricing function, then the items in order.

Why a dispatch table: each billed resource type has one named pricing function in its
cloud's module (aws, gcp, azure), so adding a priced type is adding one function and one
table entry, never another branch on the provider.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from recipes import facts

from . import aws, azure, gcp, kubernetes
from .model import CostEstimate, CostItem, PlanPricer
from .prices import BASELINE_GB, HOURS_PER_MONTH, PRICES_AS_OF

if TYPE_CHECKING:
    from provisioner.analysis.plan import Plan, PlannedResource

Pricer = Callable[[PlanPricer, "PlannedResource"], None]
# Each cloud's pricing functions by type token (its own types, and the Kubernetes ones it prices its way).
PRICERS: dict[str, dict[str, Pricer]] = {"aws": aws.PRICERS, "gcp": gcp.PRICERS, "azure": azure.PRICERS,
                                         "kubernetes": kubernetes.EXISTING_PRICERS}
# Resources are priced in passes (default 1) where a price depends on others; see gcp.PRICING_PASS.
PRICING_PASS: dict[str, int] = {**gcp.PRICING_PASS}
# Items are listed by rank (default 50): control plane, nodes, network, load balancers, volumes, storage.
DISPLAY_RANK: dict[str, int] = {**aws.DISPLAY_RANK, **gcp.DISPLAY_RANK, **azure.DISPLAY_RANK, **kubernetes.DISPLAY_RANK}
UNRANKED = 50


def _pass(r: PlannedResource) -> int:
    return PRICING_PASS.get(r.type, 1)


def _rank(item: CostItem) -> int:
    return DISPLAY_RANK.get(item.type, UNRANKED)


def estimate(plan: Plan) -> CostEstimate:
    """The estimated monthly cost of `plan`, item by item."""
    pricer = PlanPricer(plan)
    pricers = PRICERS[pricer.provider]
    for r in sorted(plan.resources, key=_pass):
        price = pricers.get(r.type)
        if price is not None:
            price(pricer, r)
    pricer.items.sort(key=_rank)
    reference = facts.of(pricer.provider).PRICE_REFERENCE_REGION
    if reference is None:  # `kubernetes`: the user's cluster; we create nothing a cloud bills
        return CostEstimate(items=pricer.items, region_note="your own cluster: no cloud list prices apply", assumptions=[
            "nothing is priced for the cluster itself: stack-recipes does not create it (its nodes, control plane "
            "and network are billed, if at all, by whoever runs it)", *pricer.assumptions])
    region = plan.spec.region
    note = f"list prices for {reference}; " + (f"{region} may differ" if region != reference else "other regions differ")
    common = [
        f"on-demand list prices as of {PRICES_AS_OF}, {HOURS_PER_MONTH} hours a month, no discounts or credits "
        "except the GKE free tier and estimated spot discounts where stated",
        "autoscaled node pools are priced at their minimum size",
        f"{BASELINE_GB} GB assumed stored in the bucket and in the registry",
        "data transfer, NAT and load-balancer data processing, and API requests are not included",
    ]
    return CostEstimate(items=pricer.items, region_note=note, assumptions=common + pricer.assumptions)
