"""The GCP plans the GCP program tests share, from the one `plans` fixture (tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.recipes.gcp.helpers import gcp_spec
from tests.recipes.plans import ALLOW_CIDRS, USER_TAGS


@pytest.fixture(scope="session")
def gcp(plans):
    """Plans of GCP variants: `gcp(**flags)`."""

    def plan_of_flags(**values: Any):
        return plans(gcp_spec(**values))

    return plan_of_flags


@pytest.fixture(scope="module")
def gcp_plan(gcp):
    """The default GCP stack: every component, seldon, private network, zonal, no --allow-cidr."""
    return gcp()


@pytest.fixture(scope="module")
def restricted(gcp):
    return gcp(allow_cidrs=ALLOW_CIDRS, tags=USER_TAGS)


@pytest.fixture(scope="module")
def kms_plan(gcp):
    return gcp(kms=True)


@pytest.fixture(scope="module")
def kms_delete_data(plans):
    return plans(gcp_spec(kms=True).with_changes(delete_data=True))


@pytest.fixture(scope="module")
def private_endpoint_plan(gcp):
    return gcp(private_endpoint=True)
