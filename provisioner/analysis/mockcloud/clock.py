"""Mock answers for pulumiverse-time: a fixed clock, so that a plan is reproducible."""

from __future__ import annotations

from typing import Any

from recipes.facts.any_cloud import TIME_STATIC

from . import Context

# What time:Static records at its creation (the real one: the time of the first deploy).
PLAN_TIME = "2026-01-01T00:00:00Z"


def computed(type_: str, name: str, inputs: dict[str, Any], context: Context) -> dict[str, Any]:
    if type_ == TIME_STATIC:
        return {"rfc3339": inputs.get("rfc3339") or PLAN_TIME}
    return {}
