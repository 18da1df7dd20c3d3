"""The scanners' session: their virtualenv, and each stack rendered and scanned once.

Every test here is marked `scanners` (tests/conftest.py; deselect them with -m "not scanners").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from . import stacks
from .scanners import scanner_venv


@pytest.fixture(scope="session")
def venv() -> Path:
    """The scanners' virtualenv (built once; CI builds it before the tests)."""
    return scanner_venv()


@pytest.fixture(scope="session")
def scans(tmp_path_factory, venv) -> stacks.Scans:
    return stacks.Scans(tmp_path_factory.mktemp("scanners"), venv)
