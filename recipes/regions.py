"""Known regions per cloud, so a typo is caught before any cloud call.

The lists themselves are per-cloud facts (`REGIONS`, `DEFAULT_REGION` in
recipes/facts/<cloud>.py): the public commercial regions as of 2026-11. A new
region that is missing there is a one-line change.
"""

from __future__ import annotations

import difflib
import re

from recipes import facts

REGIONS: dict[str, frozenset[str]] = {provider: facts.of(provider).REGIONS for provider in facts.CLOUDS}
# A provider without a regions list (`kubernetes`: the user's cluster) takes any label of this form.
REGION_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
DEFAULT_REGION: dict[str, str] = {provider: facts.of(provider).DEFAULT_REGION for provider in facts.PROVIDERS}


def default_zone(gcp_region: str) -> str:
    """A zone of a GCP region for a zonal cluster: every region has a `-b` zone
    (not every one has `-a`: europe-west1 and us-east1 start at b)."""
    return f"{gcp_region}-b"


def check_region(provider: str, region: str) -> str | None:
    """Return an error message for an unknown region, or None when it is known."""
    known = facts.of(provider).REGIONS
    if known is None:
        if REGION_LABEL.match(region):
            return None
        return f"{region!r} is not a region label: 1-63 lowercase letters, digits and hyphens (e.g. {DEFAULT_REGION[provider]})"
    if region in known:
        return None
    close = difflib.get_close_matches(region, sorted(known), n=3, cutoff=0.6)
    if close:
        return f"unknown {provider} region {region!r}; did you mean {' or '.join(close)}?"
    return f"unknown {provider} region {region!r}; known regions: {', '.join(sorted(known))}"
