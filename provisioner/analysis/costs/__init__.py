"""Estimated monthly cost of a plan, from a dated and sourced list-price table.

Why: a stack that is cheap to leave running is the point of stack-recipes, so
`recipe plan` should say what the plan costs and how that was worked out. The
estimate reads the plan's recorded resources (types and inputs as the Pulumi
mocks saw them) and prices only what bills by the hour or by the GB; every item
says its basis, and anything the table cannot price is reported, never guessed.

- `prices`: the table (as of `PRICES_AS_OF`, each figure with its source page);
  spot nodes are priced at an estimated discount off on-demand, their items also
  reporting the on-demand figure.
- `model`: the items, the shared arithmetic (`monthly`, `usd`, ...) and the state
  of pricing one plan; `estimator`: the walk over a plan.
- `aws`, `gcp`, `azure`: one pricing function per billed resource type;
  `kubernetes`: what LoadBalancer Services and volume claims share.

Data transfer, requests and load-balancer traffic beyond a light baseline are not
included. Nothing here imports Pulumi.
"""

from __future__ import annotations

from .estimator import estimate
from .model import CostEstimate, CostItem, monthly, usd
from .prices import PRICES_AS_OF

__all__ = ["PRICES_AS_OF", "CostEstimate", "CostItem", "estimate", "monthly", "usd"]
