"""Finding a cost estimate's items by what they bill, for the cost tests."""

from __future__ import annotations

from provisioner.analysis.costs import CostEstimate, CostItem


def items(estimate_: CostEstimate, what: str) -> list[CostItem]:
    """The items whose description starts with `what`."""
    return [i for i in estimate_.items if i.what.startswith(what)]


def one(estimate_: CostEstimate, what: str) -> CostItem:
    """The one item whose description starts with `what` (failing, with every item listed, otherwise)."""
    found = items(estimate_, what)
    assert len(found) == 1, [i.what for i in estimate_.items]
    return found[0]
