"""Known regions per cloud, so a typo is caught before any cloud call.

The lists are the public commercial regions as of 2026-11 (AWS GovCloud and
China partitions, Azure sovereign clouds are left out: their endpoints differ). A new region
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
    "gcp": frozenset(
        {
            "africa-south1",
            "asia-east1", "asia-east2", "asia-northeast1", "asia-northeast2", "asia-northeast3",
            "asia-south1", "asia-south2", "asia-southeast1", "asia-southeast2",
            "australia-southeast1", "australia-southeast2",
            "europe-central2", "europe-north1", "europe-north2", "europe-southwest1",
            "europe-west1", "europe-west2", "europe-west3", "europe-west4", "europe-west6",
            "europe-west8", "europe-west9", "europe-west10", "europe-west12",
            "me-central1", "me-central2", "me-west1",
            "northamerica-northeast1", "northamerica-northeast2", "northamerica-south1",
            "southamerica-east1", "southamerica-west1",
            "us-central1", "us-east1", "us-east4", "us-east5", "us-south1",
            "us-west1", "us-west2", "us-west3", "us-west4",
        }
    ),
    "azure": frozenset(
        {
            "eastus", "eastus2", "centralus", "northcentralus", "southcentralus", "westcentralus",
            "westus", "westus2", "westus3", "canadacentral", "canadaeast", "mexicocentral",
            "brazilsouth", "brazilsoutheast", "chilecentral",
            "northeurope", "westeurope", "uksouth", "ukwest", "francecentral", "francesouth",
            "germanywestcentral", "germanynorth", "switzerlandnorth", "switzerlandwest",
            "norwayeast", "norwaywest", "swedencentral", "polandcentral", "italynorth", "spaincentral",
            "israelcentral", "qatarcentral", "uaenorth", "uaecentral", "southafricanorth", "southafricawest",
            "centralindia", "southindia", "westindia", "eastasia", "southeastasia", "japaneast", "japanwest",
            "koreacentral", "koreasouth", "australiaeast", "australiasoutheast", "australiacentral",
            "newzealandnorth", "indonesiacentral", "malaysiawest",
        }
    ),
}

DEFAULT_REGION: dict[str, str] = {
    "aws": "us-east-1",
    "gcp": "us-central1",
    "azure": "eastus",
}


def default_zone(gcp_region: str) -> str:
    """A zone of a GCP region for a zonal cluster: every region has a `-b` zone
    (not every one has `-a`: europe-west1 and us-east1 start at b)."""
    return f"{gcp_region}-b"


def check_region(provider: str, region: str) -> str | None:
    """Return an error message for an unknown region, or None when it is known."""
    known = REGIONS[provider]
    if region in known:
        return None
    close = difflib.get_close_matches(region, sorted(known), n=3, cutoff=0.6)
    if close:
        return f"unknown {provider} region {region!r}; did you mean {' or '.join(close)}?"
    return f"unknown {provider} region {region!r}; known regions: {', '.join(sorted(known))}"
