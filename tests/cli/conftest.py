"""The `run` fixture of the CLI's end-to-end tests: `recipe ARGS...` in-process, exceptions not caught."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from provisioner import cli


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli.app, list(args), catch_exceptions=False)

    return invoke
