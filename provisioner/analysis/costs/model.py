"""What an estimate is made of: its items, the arithmetic and wording every figure shares, and
the running state of pricing one plan.

Why here: the per-cloud pricing modules (aws, gcp, azure) and the benchmark's mlstacks
model all state figures the same way ("730 h x $0.10/h"), so they share these helpers
instead of each rounding and formatting on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .prices import HOURS_PER_MONTH, MACHINE_HOURLY, PRICES, PRICES_AS_OF, SPOT_DISCOUNT, SPOT_RANGE, SPOT_SOURCE

if TYPE_CHECKING:
    from provisioner.analysis.plan import Plan, PlannedResource


@dataclass
class CostItem:
    name: str  # the resource's name in the plan
    type: str  # its type token
    what: str  # what is billed, in words
    monthly_usd: float | None  # None: the table has no price for it
    basis: str  # how the figure was worked out
    on_demand_usd: float | None = None  # spot nodes only: the same nodes at the on-demand list price

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "what": self.what,
                "monthly_usd": self.monthly_usd, "basis": self.basis, "on_demand_usd": self.on_demand_usd}


@dataclass
class CostEstimate:
    items: list[CostItem]
    prices_as_of: str = PRICES_AS_OF
    region_note: str = ""
    assumptions: list[str] = field(default_factory=list)

    @property
    def monthly_total_usd(self) -> float:
        """The sum of the priced items (unpriced ones are listed in `assumptions`)."""
        return round(sum(i.monthly_usd for i in self.items if i.monthly_usd is not None), 2)

    @property
    def unpriced(self) -> list[CostItem]:
        return [i for i in self.items if i.monthly_usd is None]

    def to_json(self) -> dict[str, Any]:
        return {
            "monthly_total_usd": self.monthly_total_usd,
            "items": [i.to_json() for i in self.items],
            "prices_as_of": self.prices_as_of,
            "region_note": self.region_note,
            "assumptions": list(self.assumptions),
        }


# --------------------------------------------------------------------------
# Arithmetic and wording


def monthly(hourly: float, count: float = 1) -> float:
    """A month of `count` things billed `hourly`, in USD to the cent."""
    return round(hourly * HOURS_PER_MONTH * count, 2)


def spot_hourly(on_demand_hourly: float, discount: float) -> float:
    """The estimated spot price per hour: on-demand x (1 - discount)."""
    return on_demand_hourly * (1 - discount)


def usd(value: float, places: int = 4) -> str:
    """$0.10, $0.0832, $1.00: at least cents, at most the table's precision (or `places`)."""
    text = f"{value:.{places}f}".rstrip("0")
    whole, _, cents = text.partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


def number(value: Any, default: float | None = None) -> float | None:
    """A recorded input as a number; `default` when it is none (booleans are not numbers here)."""
    if isinstance(value, bool):
        return default
    if isinstance(value, (int, float)):
        return float(value)
    return default


_QUANTITY_GIB = {None: 1 / 2**30, "Ki": 1 / 2**20, "Mi": 1 / 2**10, "Gi": 1, "Ti": 2**10,
                 "K": 1e3 / 2**30, "M": 1e6 / 2**30, "G": 1e9 / 2**30, "T": 1e12 / 2**30}


def gib(quantity: Any) -> float | None:
    """A Kubernetes storage quantity ("20Gi", "500Mi", "1Ti", "10G") in GiB."""
    if not isinstance(quantity, str):
        return number(quantity)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti|K|M|G|T)?\s*", quantity)
    if not match:
        return None
    return float(match.group(1)) * _QUANTITY_GIB[match.group(2)]


def count_text(count: float) -> str:
    """2, not 2.0; 1.5 stays 1.5."""
    return str(int(count)) if float(count).is_integer() else f"{count:g}"


def plural(count: float, word: str) -> str:
    suffix = "" if count == 1 else ("es" if word.endswith("s") else "s")
    return f"{count_text(count)} {word}{suffix}"


def hours(hourly: float) -> str:
    """The basis of a figure billed by the hour: "730 h x $0.10/h"."""
    return f"{HOURS_PER_MONTH} h x {usd(hourly)}/h"


# --------------------------------------------------------------------------
# Pricing one plan


class PlanPricer:
    """What pricing one plan has found so far, and what the per-cloud pricing functions share.

    The counters are there because some prices depend on the rest of the plan: Cloud NAT
    bills per VM behind it, the first five load-balancer rules of a region bill together,
    and the GKE free tier covers one zonal cluster.
    """

    def __init__(self, plan: Plan):
        self.plan = plan
        self.provider = plan.spec.provider
        self.prices = PRICES.get(self.provider, {})  # none for `kubernetes`: nothing of a cloud's is created
        self.items: list[CostItem] = []
        self.assumptions: list[str] = []
        self.free_credit_used = False
        self.node_count = 0.0  # VMs behind the NAT (GCP bills Cloud NAT per VM)
        self.lb_rules = 0  # GCP forwarding rules / Azure LB rules counted so far

    def add(self, r: PlannedResource, what: str, monthly_usd: float | None, basis: str,
            on_demand: float | None = None) -> None:
        self.items.append(CostItem(r.name, r.type, what, None if monthly_usd is None else round(monthly_usd, 2), basis,
                                   None if on_demand is None else round(on_demand, 2)))

    def unpriced(self, r: PlannedResource, what: str, missing: str, note: str = "") -> None:
        """An item the table has no price for: listed, left out of the total, and said so."""
        self.add(r, what, None, f"no price in table for {missing}")
        self.assumptions.append(f"{r.name}: no price in table for {missing}{note}; the total excludes it")

    def nodes(self, r: PlannedResource, what: str, machine: str | None, count: float, count_note: str,
              spot: bool = False) -> None:
        """`count` VMs of type `machine`: on-demand list price, or spot at the estimated discount."""
        if spot:
            what += " (spot)"
        hourly = MACHINE_HOURLY[self.provider].get(machine or "")
        if hourly is None:
            self.unpriced(r, what, str(machine), f" ({plural(count, 'node')})")
            return
        on_demand = monthly(hourly, count)
        listed = f"{HOURS_PER_MONTH} h x {usd(hourly)}/h x {plural(count, 'node')} ({count_note}), {machine}"
        discount = SPOT_DISCOUNT.get(self.provider) if spot else None
        if spot and discount is None:
            self.assumptions.append(
                f"{r.name}: spot nodes are priced at the on-demand list price (an upper bound): spot prices float "
                "with the market and the table has no spot estimate for this cloud")
            self.add(r, what, on_demand, f"{listed}; spot capacity priced at the on-demand rate, an upper bound",
                     on_demand=on_demand)
            return
        if discount is None:
            self.add(r, what, on_demand, listed)
            return
        spot_rate = spot_hourly(hourly, discount)
        share = f"{round((1 - discount) * 100):g}%"
        rate = usd(round(spot_rate, 5), places=5)  # 5 places: the basis multiplies out to the figure
        basis = (f"{HOURS_PER_MONTH} h x {rate}/h x {plural(count, 'node')} ({count_note}), {machine}; "
                 f"spot: est. {share} of on-demand {usd(hourly)}/h (spot prices float, {SPOT_RANGE[self.provider]})")
        self.assumptions.append(
            f"{r.name}: spot prices are estimates that move with the market: priced at an assumed "
            f"{round(discount * 100):g}% off the on-demand list price ({SPOT_SOURCE[self.provider]}); "
            f"at on-demand prices these nodes cost ${on_demand:.2f}/month")
        self.add(r, what, monthly(spot_rate, count), basis, on_demand=on_demand)
