"""The Azure plans the Azure program tests share, from the one `plans` fixture (tests/conftest.py)."""

from __future__ import annotations

import pytest

from recipes.spec import StackSpec

from tests.recipes.azure.helpers import azure_spec
from tests.recipes.plans import ALLOW_CIDRS, USER_TAGS


@pytest.fixture(scope="module")
def spec() -> StackSpec:
    return azure_spec()


@pytest.fixture(scope="module")
def plan(plans, spec):
    """The default Azure stack: every component, seldon, no --allow-cidr, no user tags."""
    return plans(spec)


@pytest.fixture(scope="module")
def restricted(plans):
    return plans(azure_spec(allow_cidrs=ALLOW_CIDRS, tags=USER_TAGS))


@pytest.fixture(scope="module")
def kms_spec() -> StackSpec:
    return azure_spec(kms=True)


@pytest.fixture(scope="module")
def kms_plan(plans, kms_spec):
    return plans(kms_spec)


@pytest.fixture(scope="module")
def prod_spec() -> StackSpec:
    """The prod profile (--kms, --audit-logs, --network-rules), restricted to --allow-cidr."""
    return azure_spec(profile="prod", allow_cidrs=ALLOW_CIDRS)


@pytest.fixture(scope="module")
def prod(plans, prod_spec):
    return plans(prod_spec)


@pytest.fixture(scope="module")
def prod_open(plans):
    """The prod profile without --allow-cidr: only the cluster's network passes the data's firewalls."""
    return plans(azure_spec(profile="prod"))
