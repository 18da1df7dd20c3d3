"""Mock answers for pulumi-random: deterministic stand-ins for generated values."""

from __future__ import annotations

import hashlib
from typing import Any

from recipes.facts.any_cloud import RANDOM_ID, RANDOM_PASSWORD, RANDOM_STRING

from . import Context


def computed(type_: str, name: str, inputs: dict[str, Any], context: Context) -> dict[str, Any]:
    length = int(inputs.get("length") or 16)
    value = (hashlib.sha256(f"{type_}/{name}".encode()).hexdigest() * 4)[:length]
    if type_ in (RANDOM_PASSWORD, RANDOM_STRING):
        return {"result": value}
    if type_ == RANDOM_ID:
        return {"hex": value, "b64Url": value, "dec": str(int(value, 16))}
    return {}
