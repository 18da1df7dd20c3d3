"""Fixtures of the prerequisite tests: cloud CLI stand-ins on PATH, and the CLI runner."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from provisioner import cli
from provisioner.operations import prerequisites

from tests.operations.cloud_clis import BOOTSTRAP, FRESH, StandIn


@pytest.fixture
def bin_dir(tmp_path, monkeypatch):
    path = tmp_path / "bin"
    path.mkdir()
    monkeypatch.setenv("PATH", f"{path}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.delenv("ARM_SUBSCRIPTION_ID", raising=False)
    monkeypatch.setattr(prerequisites, "POLL_SECONDS", 0)
    return path


@pytest.fixture
def az(bin_dir):
    return StandIn(bin_dir, "az", {"providers": dict(FRESH)})


@pytest.fixture
def gcloud(bin_dir):
    return StandIn(bin_dir, "gcloud", {"enabled": [*BOOTSTRAP, "storage.googleapis.com"], "project": "demo-project"})


@pytest.fixture
def run():
    runner = CliRunner()
    return lambda *args, input=None: runner.invoke(cli.app, list(args), input=input, catch_exceptions=False)

