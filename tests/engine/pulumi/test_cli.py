"""Finding the Pulumi CLI (PATH, ~/.pulumi), refusing one too old, installing one; importing stays light."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.pulumi_engine_fake import FakePulumi

from provisioner.engine import EngineError, PulumiNotFound
from provisioner.engine.pulumi import PulumiEngine, cli as pulumi_cli
from provisioner.engine.pulumi.cli import default_pulumi_command, find_pulumi_cli, install_pulumi_cli


def fake_cli(path: Path, version: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho v{version}\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def no_cli_on_path(monkeypatch):
    monkeypatch.setattr(pulumi_cli.shutil, "which", lambda name: None)


def test_missing_cli_says_how_to_install(no_cli_on_path, target):
    assert find_pulumi_cli() is None
    with pytest.raises(PulumiNotFound) as info:
        PulumiEngine().up(target, lambda e: None)
    message = info.value.message
    assert "recipe doctor --install-pulumi" in message
    assert "recipe plan" in message
    assert "https://www.pulumi.com/docs/install/" in message


def test_command_factory_file_not_found_is_pulumi_not_found(target):
    def factory():
        raise FileNotFoundError("pulumi")

    with pytest.raises(PulumiNotFound, match="install-pulumi"):
        PulumiEngine(factory).preview(target, lambda e: None)


@pytest.mark.skipif(os.name == "nt", reason="shell script stands in for the CLI")
def test_cli_found_in_pulumi_home_newest_version_first(no_cli_on_path, home):
    versions = home / "user-home" / ".pulumi" / "versions"
    fake_cli(versions / "3.99.0" / "bin" / "pulumi", "3.99.0")
    newest = fake_cli(versions / "3.272.0" / "bin" / "pulumi", "3.272.0")
    fake_cli(versions / "3.9.0" / "bin" / "pulumi", "3.9.0")
    assert find_pulumi_cli() == str(newest)

    command = default_pulumi_command()  # the real PulumiCommand, running the stand-in script
    assert command.command == str(newest) and str(command.version) == "3.272.0"

    installed = fake_cli(home / "user-home" / ".pulumi" / "bin" / "pulumi", "3.200.0")
    assert find_pulumi_cli() == str(installed)


@pytest.mark.skipif(os.name == "nt", reason="shell script stands in for the CLI")
def test_too_old_cli_is_reported(no_cli_on_path, home):
    fake_cli(home / "user-home" / ".pulumi" / "bin" / "pulumi", "3.100.0")
    with pytest.raises(PulumiNotFound) as info:
        default_pulumi_command()
    assert "3.181.0" in info.value.message and "recipe doctor --install-pulumi" in info.value.message


def test_install_pulumi_cli_uses_pulumi_command_install(monkeypatch):
    from pulumi.automation import PulumiCommand

    installed = FakePulumi("3.272.0")
    installed.command = "/home/u/.pulumi/versions/3.272.0/bin/pulumi"
    monkeypatch.setattr(PulumiCommand, "install", classmethod(lambda cls, *a, **k: installed))
    assert install_pulumi_cli() == "Pulumi CLI v3.272.0 at /home/u/.pulumi/versions/3.272.0/bin/pulumi"

    def offline(cls, *a, **k):
        raise OSError("network is unreachable")

    monkeypatch.setattr(PulumiCommand, "install", classmethod(offline))
    with pytest.raises(EngineError, match="could not install the Pulumi CLI: network is unreachable"):
        install_pulumi_cli()


def test_importing_the_engine_stays_light():
    code = (
        "import sys, provisioner.engine, provisioner.engine.pulumi\n"
        "heavy = [m for m in sys.modules if m.startswith(('pulumi', 'grpc'))]\n"
        "assert not heavy, heavy\n"
    )
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=root, timeout=60)
