"""Fixtures of the PulumiEngine tests: a fresh home, the stand-in CLI, an engine on it, an AWS target.

`FakePulumi` (tests/support/pulumi_engine_fake.py) stands in for the CLI process: it
records every command line the Automation API builds and answers from a script,
including the engine events it streams back. Everything else is the real adapter.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.pulumi_engine_fake import FakePulumi

from provisioner import paths
from provisioner.engine import StackTarget
from provisioner.engine.pulumi import PulumiEngine


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("RECIPE_HOME", str(tmp_path / "recipe-home"))
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))
    for name in ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "PULUMI_BACKEND_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def cli() -> FakePulumi:
    return FakePulumi()


@pytest.fixture
def engine(cli) -> PulumiEngine:
    return PulumiEngine(command_factory=lambda: cli)


@pytest.fixture
def make_spec():
    """Specs as the engine gets them: a deployed stack always has its suffix (operations.assign_suffix)."""
    from tests.conftest import aws_spec

    return lambda **values: aws_spec(**{"suffix": "a1b2c3", **values})


@pytest.fixture
def target(make_spec) -> StackTarget:
    return StackTarget(spec=make_spec(), backend=paths.default_backend())
