"""Plans the AWS program tests share beyond the default one (tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def kms_plan(plans):
    return plans(kms=True)
