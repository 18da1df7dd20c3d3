"""Known regions per cloud, so a typo is caught before any cloud call.

The lists are the public commercial regions as of 2026-11 (AWS GovCloud and
China partitions are left out: their ARNs and endpoints differ). A new region
that is missing here is a one-line change.
"""

from __future__ import annotations

import difflib

REGIONS: dict[str, frozenset[str]] = {
    "aws": frozenset(
        {
            "us-east-1", "us-east-2", "us-west-1", "us-west-2",
            "af-south-1",
            "ap-east-1", "ap-east-2", "ap-south-1", "ap-south-2",
            "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
            "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
            "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
            "ca-central-1", "ca-west-1",
            "eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2", "eu-west-3",
            "eu-south-1", "eu-south-2", "eu-north-1",
            "il-central-1", "me-south-1", "me-central-1", "mx-central-1",
            "sa-east-1",
        }
    ),
}

DEFAULT_REGION: dict[str, str] = {
    "aws": "us-east-1",
}


def check_region(provider: str, region: str) -> str | None:
    """Return an error message for an unknown region, or None when it is known."""
    known = REGIONS[provider]
    if region in known:
        return None
    close = difflib.get_close_matches(region, sorted(known), n=3, cutoff=0.6)
    if close:
        return f"unknown {provider} region {region!r}; did you mean {' or '.join(close)}?"
    return f"unknown {provider} region {region!r}; known regions: {', '.join(sorted(known))}"
