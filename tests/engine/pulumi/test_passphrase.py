"""The secrets passphrase: generated once, private, never overwritten or regenerated over old state;
the environment's wins; a wrong one says where it is read from. And the local backend's directory."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from pulumi.automation import CommandResult

from provisioner import paths
from provisioner.engine import PassphraseError
from provisioner.engine.pulumi.passphrase import PASSPHRASE_ENV, backend_local_dir, ensure_passphrase


def test_backend_local_dir():
    assert backend_local_dir("file:///tmp/a%20b/state") == Path("/tmp/a b/state")
    assert backend_local_dir("file://~/.pulumi") == Path(os.path.expanduser("~/.pulumi"))
    assert backend_local_dir("s3://bucket") is None
    assert backend_local_dir(Path("/x/y").as_uri()) == Path("/x/y")


def test_passphrase_generated_once_private_and_reused():
    env = ensure_passphrase()
    path = paths.passphrase_file()
    value = env["PULUMI_CONFIG_PASSPHRASE"]
    assert len(value) >= 40 and path.read_text() == value
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert ensure_passphrase() == env
    assert [p.name for p in path.parent.iterdir()] == ["passphrase"]  # no temp files left


def test_passphrase_file_is_never_overwritten():
    path = paths.passphrase_file()
    path.parent.mkdir(parents=True)
    path.write_text("chosen-by-the-user\n")
    assert ensure_passphrase() == {"PULUMI_CONFIG_PASSPHRASE": "chosen-by-the-user"}
    assert path.read_text() == "chosen-by-the-user\n"


def test_passphrase_from_environment_wins(monkeypatch, engine, cli, target):
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "from-env")
    assert ensure_passphrase() == {"PULUMI_CONFIG_PASSPHRASE": "from-env"}
    engine.up(target, lambda e: None)
    assert not paths.passphrase_file().exists()
    assert {c.env["PULUMI_CONFIG_PASSPHRASE"] for c in cli.calls} == {"from-env"}

    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "/secure/pass")
    assert ensure_passphrase() == {"PULUMI_CONFIG_PASSPHRASE_FILE": "/secure/pass"}
    assert not paths.passphrase_file().exists()


def test_wrong_passphrase_names_the_variable_and_the_file(engine, cli, target):
    stderr = "error: failed to decrypt encrypted configuration value 'aws:secret': incorrect passphrase"
    cli.failures["up"] = CommandResult(stdout="", stderr=stderr, code=255)
    with pytest.raises(PassphraseError) as info:
        engine.up(target, lambda e: None)
    assert "PULUMI_CONFIG_PASSPHRASE" in info.value.message
    assert str(paths.passphrase_file()) in info.value.message


def test_lost_passphrase_is_never_regenerated_over_existing_state(home, monkeypatch):
    for name in PASSPHRASE_ENV:
        monkeypatch.delenv(name, raising=False)
    workspace = paths.data_dir() / "workspaces" / "ml-dev-12345678"
    workspace.mkdir(parents=True)
    (workspace / "Pulumi.ml-dev.yaml").write_text("encryptionsalt: v1:abc:def\n")
    with pytest.raises(PassphraseError) as info:
        ensure_passphrase()
    assert "ml-dev-12345678" in info.value.message and "PULUMI_CONFIG_PASSPHRASE" in info.value.message
    assert not paths.passphrase_file().exists()
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "the-old-one")
    assert ensure_passphrase() == {"PULUMI_CONFIG_PASSPHRASE": "the-old-one"}
