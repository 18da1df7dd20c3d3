"""PulumiEngine against the real Automation API, with only the Pulumi CLI replaced.

`FakePulumi` (tests/support/pulumi_engine_fake.py) stands in for the CLI process: it
records every command line the Automation API builds and answers from a
script, including the engine events it streams back.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pulumi.automation import CommandResult
from tests.support.pulumi_engine_fake import FakePulumi, diagnostic, failed, outputs, pre, summary, urn

from provisioner import engine as eng
from provisioner import paths
from provisioner.engine import teardown
from provisioner.engine import (
    ConcurrentUpdate,
    EngineError,
    PulumiEngine,
    PulumiNotFound,
    RetainedResource,
    StackTarget,
)

STACK = "ml-dev"
BUCKET_T = "aws:s3/bucket:Bucket"
REPO_T = "aws:ecr/repository:Repository"
BUCKET_URN = urn(STACK, BUCKET_T, "bucket", ("recipes:aws:Bucket",))
REPO_URN = urn(STACK, REPO_T, "registry", ("recipes:aws:Registry",))
PAB_URN = urn(STACK, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "bucket-public-access", ("recipes:aws:Bucket",))
CLUSTER_URN = urn(STACK, "aws:eks/cluster:Cluster", "cluster", ("recipes:aws:Cluster",))
ROOT_URN = urn(STACK, "pulumi:pulumi:Stack", f"stack-recipes-{STACK}")
SDK_PLUGINS = [("aws", "pulumi_aws"), ("kubernetes", "pulumi_kubernetes"), ("random", "pulumi_random")]


def sdk_version(dist: str) -> str:
    import importlib.metadata

    return importlib.metadata.version(dist)


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


def resource(urn_: str, type_: str, *, custom: bool = True, parent: str | None = None, id_: str | None = None,
             retain: bool = False) -> dict:
    r = {"urn": urn_, "type": type_, "custom": custom}
    if parent:
        r["parent"] = parent
    if id_:
        r["id"] = id_
    if retain:
        r["retainOnDelete"] = True
    return r


def deployed_state() -> dict:
    bucket_component = urn(STACK, "recipes:aws:Bucket", "bucket")
    registry_component = urn(STACK, "recipes:aws:Registry", "registry")
    cluster_component = urn(STACK, "recipes:aws:Cluster", "cluster")
    return {
        "manifest": {"time": "2025-01-02T03:04:05Z", "magic": "", "version": "v3.272.0"},
        "resources": [
            resource(ROOT_URN, "pulumi:pulumi:Stack", custom=False),
            resource(bucket_component, "recipes:aws:Bucket", custom=False, parent=ROOT_URN),
            resource(BUCKET_URN, BUCKET_T, parent=bucket_component, id_="ml-dev-artifacts-abcd", retain=True),
            resource(PAB_URN, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", parent=bucket_component,
                     id_="ml-dev-artifacts-abcd", retain=True),
            resource(registry_component, "recipes:aws:Registry", custom=False, parent=ROOT_URN),
            resource(REPO_URN, REPO_T, parent=registry_component, id_="ml-dev-abcd", retain=True),
            resource(cluster_component, "recipes:aws:Cluster", custom=False, parent=ROOT_URN),
            resource(CLUSTER_URN, "aws:eks/cluster:Cluster", parent=cluster_component, id_="ml-dev-abcd"),
        ],
    }


def collect() -> tuple[list[eng.EngineEvent], eng.OnEvent]:
    seen: list[eng.EngineEvent] = []
    return seen, seen.append


def up_events() -> list[dict]:
    return [
        pre(ROOT_URN, "pulumi:pulumi:Stack"),
        pre(BUCKET_URN, BUCKET_T),
        diagnostic("\x1b[33mwarning: bucket names are global\x1b[0m  \n", "warning", BUCKET_URN),
        diagnostic("creating (5s)...", "info", BUCKET_URN, ephemeral=True),
        outputs(BUCKET_URN, BUCKET_T),
        pre(CLUSTER_URN, "aws:eks/cluster:Cluster", op="update"),
        outputs(CLUSTER_URN, "aws:eks/cluster:Cluster", op="update"),
        {"preludeEvent": {"config": {}}},
        summary(create=2, update=1, same=4),
    ]


# --- workspace, backend, passphrase ------------------------------------------------

def test_new_stack_gets_project_file_backend_dir_and_passphrase_provider(engine, cli, target):
    engine.up(target, lambda e: None)

    work_dir = paths.workspace_dir(STACK, target.backend)
    project = yaml.safe_load((work_dir / "Pulumi.yaml").read_text())
    assert project["name"] == "stack-recipes"
    assert project["runtime"] == "python"
    assert project["backend"] == {"url": target.backend}
    assert cli.commands()[:2] == ["stack select", "stack init"]
    init = cli.called("stack init")[0]
    assert init.args[2] == STACK
    assert init.value("--secrets-provider") == "passphrase"
    assert all(c.cwd == str(work_dir) for c in cli.calls)
    # the default backend is a file:// directory under the data dir, created before first use
    assert target.backend.startswith("file://")
    assert (paths.data_dir() / "state").is_dir()


def test_existing_stack_is_selected_not_created(engine, cli, target):
    cli.stacks.add(STACK)
    engine.up(target, lambda e: None)
    assert cli.called("stack select")[0].value("--stack") == STACK
    assert cli.called("stack init") == []


def test_every_command_gets_backend_and_passphrase(engine, cli, target):
    engine.up(target, lambda e: None)
    engine.outputs(target)
    passphrase = paths.passphrase_file().read_text()
    assert len(cli.calls) > 8
    for call in cli.calls:
        assert call.env["PULUMI_BACKEND_URL"] == target.backend, call.args
        assert call.env["PULUMI_CONFIG_PASSPHRASE"] == passphrase, call.args
        assert call.env["PULUMI_SKIP_UPDATE_CHECK"] == "true"


def test_other_backend_is_passed_and_no_local_dir_created(engine, cli, make_spec, home):
    target = StackTarget(spec=make_spec(), backend="s3://team-state/recipes")
    engine.up(target, lambda e: None)
    assert {c.env["PULUMI_BACKEND_URL"] for c in cli.calls} == {"s3://team-state/recipes"}
    project = yaml.safe_load((paths.workspace_dir(STACK, target.backend) / "Pulumi.yaml").read_text())
    assert project["backend"] == {"url": "s3://team-state/recipes"}
    assert not (paths.data_dir() / "state").exists()


def test_backend_local_dir():
    assert eng.backend_local_dir("file:///tmp/a%20b/state") == Path("/tmp/a b/state")
    assert eng.backend_local_dir("file://~/.pulumi") == Path(os.path.expanduser("~/.pulumi"))
    assert eng.backend_local_dir("s3://bucket") is None
    assert eng.backend_local_dir(Path("/x/y").as_uri()) == Path("/x/y")


def test_passphrase_generated_once_private_and_reused():
    env = eng.ensure_passphrase()
    path = paths.passphrase_file()
    value = env["PULUMI_CONFIG_PASSPHRASE"]
    assert len(value) >= 40 and path.read_text() == value
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert eng.ensure_passphrase() == env
    assert [p.name for p in path.parent.iterdir()] == ["passphrase"]  # no temp files left


def test_passphrase_file_is_never_overwritten():
    path = paths.passphrase_file()
    path.parent.mkdir(parents=True)
    path.write_text("chosen-by-the-user\n")
    assert eng.ensure_passphrase() == {"PULUMI_CONFIG_PASSPHRASE": "chosen-by-the-user"}
    assert path.read_text() == "chosen-by-the-user\n"


def test_passphrase_from_environment_wins(monkeypatch, engine, cli, target):
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "from-env")
    assert eng.ensure_passphrase() == {"PULUMI_CONFIG_PASSPHRASE": "from-env"}
    engine.up(target, lambda e: None)
    assert not paths.passphrase_file().exists()
    assert {c.env["PULUMI_CONFIG_PASSPHRASE"] for c in cli.calls} == {"from-env"}

    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "/secure/pass")
    assert eng.ensure_passphrase() == {"PULUMI_CONFIG_PASSPHRASE_FILE": "/secure/pass"}
    assert not paths.passphrase_file().exists()


# --- plugins ---------------------------------------------------------------------

def test_plugins_installed_at_the_sdk_versions(engine, cli, target):
    engine.up(target, lambda e: None)
    installs = [c.args[:5] for c in cli.called("plugin install")]
    assert installs == [
        ["plugin", "install", "resource", name, "v" + sdk_version(dist)] for name, dist in SDK_PLUGINS
    ]
    assert cli.commands().index("plugin install") < cli.commands().index("up")


def test_plugins_already_listed_are_not_installed_again(engine, cli, target):
    cli.plugins = [
        {"name": name, "kind": "resource", "version": sdk_version(dist), "size": 1,
         "lastUsedTime": "2025-01-02T03:04:05.000Z"}
        for name, dist in SDK_PLUGINS[:2]
    ]
    cli.plugins.append({"name": "random", "kind": "resource", "version": "0.0.1", "size": 1,
                        "lastUsedTime": "2025-01-02T03:04:05.000Z"})
    engine.up(target, lambda e: None)
    assert [c.args[3:5] for c in cli.called("plugin install")] == [["random", "v" + sdk_version("pulumi_random")]]
    cli.events["preview"] = [summary(same=3)]
    engine.preview(target, lambda e: None)
    assert len(cli.called("plugin ls")) == 1  # checked once per engine and provider


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure"])
def test_every_plugin_a_stack_uses_is_installed_first(plans, provider):
    # The plugins the program's resources really use (their type's package), with --kms too.
    from tests.conftest import spec_for

    used = {r.type.split(":", 1)[0] for variant in ({}, {"kms": True})
            for r in plans(spec_for(provider, **variant)).resources if r.custom}
    used -= {"pulumi"}  # provider resources: pulumi:providers:<plugin>
    assert used <= set(eng.PLUGINS[provider]), used - set(eng.PLUGINS[provider])
    assert eng.plugin_distribution("azure-native") == "pulumi_azure_native"


def test_community_plugins_install_from_their_own_server(engine, cli):
    from tests.conftest import spec_for

    target = StackTarget(spec=spec_for("gcp", suffix="a1b2c3"), backend=paths.default_backend())
    engine.up(target, lambda e: None)
    (time_install,) = [c for c in cli.called("plugin install") if c.args[3] == "time"]
    assert time_install.args[4] == "v" + sdk_version("pulumiverse_time")
    assert time_install.value("--server") == "github://api.github.com/pulumiverse/pulumi-time"


# --- up, preview, refresh, outputs, cancel ----------------------------------------------

def test_up_runs_without_parallel_cap_and_returns_outputs_and_changes(engine, cli, target):
    cli.stack_outputs = {"provider": "aws", "tracker": {"password": "s3cr3t", "uri": "http://x"}}
    cli.secret_outputs = {"tracker"}
    cli.changes = {"create": 12, "same": 3}

    result = engine.up(target, lambda e: None)

    up = cli.called("up")[0]
    assert up.args[:3] == ["up", "--yes", "--skip-preview"]
    assert "--parallel" not in up.args
    assert up.value("--color") == "never"
    assert "--suppress-progress" in up.args
    assert up.value("--stack") == STACK
    assert up.value("--exec-kind") == "auto.inline"
    assert result.outputs == {"provider": "aws", "tracker": {"password": "s3cr3t", "uri": "http://x"}}
    assert result.changes.counts == {"create": 12, "same": 3}
    assert result.changes.total_changes == 12


def test_up_program_builds_the_targets_spec(engine, cli, target, monkeypatch):
    import recipes

    engine.up(target, lambda e: None)
    built = []
    monkeypatch.setattr(recipes, "build", built.append)
    [(command, program)] = cli.programs
    program()
    assert command == "up" and built == [target.spec] and built[0].delete_data is False


def test_events_are_translated(engine, cli, target):
    cli.events["up"] = up_events()
    seen, on_event = collect()
    engine.up(target, on_event)

    assert [(e.kind, e.name, e.op) for e in seen if e.kind in ("start", "done")] == [
        ("start", f"stack-recipes-{STACK}", "create"),
        ("start", "bucket", "create"),
        ("done", "bucket", "create"),
        ("start", "cluster", "update"),
        ("done", "cluster", "update"),
    ]
    start = seen[1]
    assert (start.urn, start.type) == (BUCKET_URN, BUCKET_T)
    diags = [e for e in seen if e.kind == "diagnostic"]
    assert len(diags) == 1  # the ephemeral progress note is not reported
    assert diags[0].message == "warning: bucket names are global"
    assert (diags[0].severity, diags[0].name, diags[0].urn) == ("warning", "bucket", BUCKET_URN)
    assert seen[-1].kind == "summary" and seen[-1].counts == {"create": 2, "update": 1, "same": 4}
    assert {e.kind for e in seen} == {"start", "done", "diagnostic", "summary"}  # prelude ignored


def test_events_from_an_event_log_file_older_cli(make_spec):
    cli = FakePulumi(version="3.190.0")  # before 3.206 the CLI writes events to a file
    cli.events["up"] = up_events()
    seen, on_event = collect()
    PulumiEngine(lambda: cli).up(StackTarget(make_spec(), paths.default_backend()), on_event)
    assert not cli.called("up")[0].value("--event-log").startswith("tcp://")
    assert [e.kind for e in seen] == ["start", "start", "diagnostic", "done", "start", "done", "summary"]


def test_an_error_in_the_event_callback_is_not_swallowed(engine, cli, target):
    cli.events["up"] = up_events()
    calls = []

    def broken(event):
        calls.append(event)
        raise ValueError("display bug")

    with pytest.raises(ValueError, match="display bug"):
        engine.up(target, broken)
    assert len(calls) == 1  # not called again once broken


def test_preview_returns_the_change_summary(engine, cli, target):
    cli.events["preview"] = [pre(BUCKET_URN, BUCKET_T), summary(create=5, same=2)]
    seen, on_event = collect()
    changes = engine.preview(target, on_event)
    assert changes.counts == {"create": 5, "same": 2} and changes.total_changes == 5
    assert cli.called("preview")[0].value("--color") == "never"
    assert cli.called("up") == [] and cli.called("stack init")  # a preview of a new stack creates it
    assert [e.kind for e in seen] == ["start", "summary"]


def test_refresh_outputs_and_cancel_use_the_existing_stack(engine, cli, target):
    cli.stacks.add(STACK)
    cli.changes = {"update": 1, "same": 9}
    cli.stack_outputs = {"provider": "aws"}
    assert engine.refresh(target, lambda e: None).counts == {"update": 1, "same": 9}
    assert cli.called("refresh")[0].args[:3] == ["refresh", "--skip-preview", "--yes"]
    assert engine.outputs(target) == {"provider": "aws"}
    engine.cancel(target)
    assert cli.called("cancel")[0].args[-1] == STACK
    assert cli.called("stack init") == []


def test_unknown_stack(engine, cli, target):
    with pytest.raises(EngineError) as info:
        engine.outputs(target)
    assert info.value.message == f"no Pulumi stack {STACK} in {target.backend}"
    with pytest.raises(EngineError, match="no Pulumi stack"):
        engine.destroy(target, lambda e: None)
    assert cli.called("stack init") == [] and cli.called("destroy") == []


# --- destroy ---------------------------------------------------------------------------

def test_destroy_keeps_and_reports_the_data_resources(engine, cli, target):
    cli.stacks.add(STACK)
    cli.deployment = deployed_state()
    cli.changes = {"delete": 9}

    result = engine.destroy(target, lambda e: None)

    assert cli.called("up") == []
    assert len(cli.called("destroy")) == 1
    assert cli.called("destroy")[0].args[:3] == ["destroy", "--skip-preview", "--yes"]
    # Everything but the data (and its components) is targeted; the data stays in the state.
    cluster_component = urn(STACK, "recipes:aws:Cluster", "cluster")
    assert sorted(cli.called("destroy")[0].values("--target")) == sorted([cluster_component, CLUSTER_URN])
    assert cli.commands().index("stack export") < cli.commands().index("destroy")
    assert result.retained == [
        RetainedResource(BUCKET_T, "bucket", "ml-dev-artifacts-abcd", True),
        RetainedResource("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "bucket-public-access",
                         "ml-dev-artifacts-abcd", False),
        RetainedResource(REPO_T, "registry", "ml-dev-abcd", True),
    ]
    assert result.changes.counts == {"delete": 9}


def test_destroy_with_delete_data_releases_the_data_first(engine, cli, target, monkeypatch):
    """The sequence of provisioner.engine.teardown: the unkept part, then the data released by a
    data-only program targeted at exactly the kept state, then the rest."""
    import recipes

    cli.stacks.add(STACK)
    cli.deployment = deployed_state()

    result = engine.destroy(target, lambda e: None, delete_data=True)

    assert [c for c in cli.commands() if c in ("up", "destroy")] == ["destroy", "up", "destroy"]
    first, final = cli.called("destroy")
    cluster_component = urn(STACK, "recipes:aws:Cluster", "cluster")
    assert sorted(first.values("--target")) == sorted([cluster_component, CLUSTER_URN])
    up = cli.called("up")[0]
    kept = [urn(STACK, "recipes:aws:Bucket", "bucket"), BUCKET_URN, PAB_URN, urn(STACK, "recipes:aws:Registry", "registry"), REPO_URN]
    assert up.values("--target") == sorted(kept)
    assert "--target-dependents" not in up.args
    assert final.values("--target") == []  # everything left goes
    assert result.retained == []

    built = []
    monkeypatch.setattr(recipes, "build", built.append)
    programs = dict(cli.programs)
    programs["up"]()
    assert built[0].delete_data is True
    # Only the data components, so nothing the kept state lacks (the cluster) is declared.
    assert built[0].components == ("bucket", "registry")
    assert built[0].to_mapping() == {**target.spec.to_mapping(), "components": ["bucket", "registry"]}


def test_destroy_with_delete_data_reports_what_the_update_did_not_release(engine, cli, target):
    cli.stacks.add(STACK)
    cli.deployment = deployed_state()
    cli.release_targets = False  # the update leaves retainOnDelete in the state
    result = engine.destroy(target, lambda e: None, delete_data=True)
    assert [r.name for r in result.retained] == ["bucket", "bucket-public-access", "registry"]


def test_destroy_of_an_empty_stack(engine, cli, target):
    cli.stacks.add(STACK)
    cli.deployment = None  # never deployed: no deployment at all
    assert engine.destroy(target, lambda e: None, delete_data=True).retained == []
    cli.deployment = {"manifest": {}}  # deployed once, nothing left
    assert engine.destroy(target, lambda e: None).retained == []
    assert cli.called("up") == [] and cli.called("destroy") == []  # nothing to run


# --- errors -----------------------------------------------------------------------------

def test_failed_up_reports_the_error_and_the_resource(engine, cli, target):
    cli.events["up"] = [
        pre(BUCKET_URN, BUCKET_T),
        diagnostic("sdk-v2/provider2.go:520: sdk.helper_schema: creating S3 Bucket (ml-dev-artifacts-abcd): "
                   "BucketAlreadyExists: provider=aws@7.51.1\n", "error", BUCKET_URN),
        failed(BUCKET_URN, BUCKET_T),
        diagnostic("update failed", "error", ROOT_URN),
        summary(create=1),
    ]
    cli.failures["up"] = CommandResult(stdout="Updating (ml-dev)\n" * 200, stderr="error: update failed", code=255)

    with pytest.raises(EngineError) as info:
        engine.up(target, lambda e: None)

    error = info.value
    assert error.resource == BUCKET_URN
    assert "bucket: creating S3 Bucket (ml-dev-artifacts-abcd): BucketAlreadyExists" in error.message
    assert "provider2.go" not in error.message
    assert "update failed" not in error.message
    assert error.message.startswith(f"could not deploy stack {STACK}:")
    assert len(error.diagnostics) == 1
    assert not isinstance(error, ConcurrentUpdate)


def test_failed_command_without_diagnostics_uses_stderr_errors(engine, cli, target):
    stderr = "\n".join(
        ["\x1b[31merror:\x1b[0m could not load plugin for aws provider 'default': no resource plugin 'aws' found"]
        + [f"  noise line {i}" for i in range(100)]
    )
    cli.failures["up"] = CommandResult(stdout="", stderr=stderr, code=255)
    with pytest.raises(EngineError) as info:
        engine.up(target, lambda e: None)
    assert info.value.message.splitlines() == [
        f"could not deploy stack {STACK}:",
        "  could not load plugin for aws provider 'default': no resource plugin 'aws' found",
    ]
    assert info.value.resource is None

    cli.events["up"] = [pre(REPO_URN, REPO_T), failed(REPO_URN, REPO_T)]  # a failure event, no diagnostic
    with pytest.raises(EngineError) as info:
        engine.up(target, lambda e: None)
    assert info.value.resource == REPO_URN


def test_error_messages_stay_short(engine, cli, target):
    long_traceback = "python inline source runtime error: boom\nTraceback (most recent call last):\n" + "  frame\n" * 300 + "KeyError: 'region'"
    cli.events["up"] = [diagnostic(long_traceback, "error", ROOT_URN)] + [
        diagnostic(f"error {i}", "error", BUCKET_URN) for i in range(40)
    ]
    cli.failures["up"] = CommandResult(stdout="python inline source runtime error: boom", stderr="x" * 10000, code=1)
    with pytest.raises(EngineError) as info:
        engine.up(target, lambda e: None)
    lines = info.value.message.splitlines()
    assert len(lines) <= eng.MAX_MESSAGE_LINES
    assert "  python inline source runtime error: boom" in lines and "  KeyError: 'region'" in lines
    assert "frame" not in info.value.message
    assert lines[-1].strip().startswith("...")


def test_concurrent_update(engine, cli, target):
    cli.failures["up"] = CommandResult(
        stdout="", stderr="error: [409] Conflict: Another update is currently in progress.", code=255
    )
    with pytest.raises(ConcurrentUpdate) as info:
        engine.up(target, lambda e: None)
    assert f"recipe repair {STACK} --unlock" in info.value.message
    assert "another process" in info.value.message


def test_locked_file_backend_is_a_concurrent_update(engine, cli, target):
    cli.stacks.add(STACK)
    cli.deployment = deployed_state()
    cli.failures["destroy"] = CommandResult(
        stdout="",
        stderr="error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end "
        "or delete the lock file with `pulumi cancel`.\n  file:///x/.pulumi/locks/ml-dev/1.json: created by "
        "ana@laptop (pid 4242) at 2025-01-02T03:04:05Z",
        code=255,
    )
    with pytest.raises(ConcurrentUpdate) as info:
        engine.destroy(target, lambda e: None)
    assert "ana@laptop (pid 4242)" in info.value.message


# --- finding and installing the CLI -------------------------------------------------------

def fake_cli(path: Path, version: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho v{version}\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def no_cli_on_path(monkeypatch):
    monkeypatch.setattr(eng.shutil, "which", lambda name: None)


def test_missing_cli_says_how_to_install(no_cli_on_path, target):
    assert eng.find_pulumi_cli() is None
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
    assert eng.find_pulumi_cli() == str(newest)

    command = eng.default_pulumi_command()  # the real PulumiCommand, running the stand-in script
    assert command.command == str(newest) and str(command.version) == "3.272.0"

    installed = fake_cli(home / "user-home" / ".pulumi" / "bin" / "pulumi", "3.200.0")
    assert eng.find_pulumi_cli() == str(installed)


@pytest.mark.skipif(os.name == "nt", reason="shell script stands in for the CLI")
def test_too_old_cli_is_reported(no_cli_on_path, home):
    fake_cli(home / "user-home" / ".pulumi" / "bin" / "pulumi", "3.100.0")
    with pytest.raises(PulumiNotFound) as info:
        eng.default_pulumi_command()
    assert "3.181.0" in info.value.message and "recipe doctor --install-pulumi" in info.value.message


def test_install_pulumi_cli_uses_pulumi_command_install(monkeypatch):
    from pulumi.automation import PulumiCommand

    installed = FakePulumi("3.272.0")
    installed.command = "/home/u/.pulumi/versions/3.272.0/bin/pulumi"
    monkeypatch.setattr(PulumiCommand, "install", classmethod(lambda cls, *a, **k: installed))
    assert eng.install_pulumi_cli() == "Pulumi CLI v3.272.0 at /home/u/.pulumi/versions/3.272.0/bin/pulumi"

    def offline(cls, *a, **k):
        raise OSError("network is unreachable")

    monkeypatch.setattr(PulumiCommand, "install", classmethod(offline))
    with pytest.raises(EngineError, match="could not install the Pulumi CLI: network is unreachable"):
        eng.install_pulumi_cli()


def test_importing_the_engine_stays_light():
    code = (
        "import sys, provisioner.engine\n"
        "heavy = [m for m in sys.modules if m.startswith(('pulumi', 'grpc'))]\n"
        "assert not heavy, heavy\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=root, timeout=60)


def test_retained_resources_from_a_deployment():
    assert teardown.retained_resources(None) == []
    assert teardown.retained_resources({"resources": None}) == []
    kept = teardown.retained_resources(deployed_state())
    assert [(r.name, r.primary) for r in kept] == [("bucket", True), ("bucket-public-access", False), ("registry", True)]
    assert json.loads(json.dumps([r.to_json() for r in kept]))[0]["id"] == "ml-dev-artifacts-abcd"


def test_same_stack_name_in_two_backends_gets_two_workspaces(engine, cli, make_spec, home):
    first = StackTarget(spec=make_spec(), backend="s3://team-a/state")
    second = StackTarget(spec=make_spec(), backend="s3://team-b/state")
    engine.up(first, lambda e: None)
    engine.up(second, lambda e: None)
    assert paths.workspace_dir(STACK, first.backend) != paths.workspace_dir(STACK, second.backend)
    for target in (first, second):
        project = yaml.safe_load((paths.workspace_dir(STACK, target.backend) / "Pulumi.yaml").read_text())
        assert project["backend"] == {"url": target.backend}


def test_relative_file_backend_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert paths.normalize_backend("file://./state") == (tmp_path / "state").as_uri()
    assert paths.normalize_backend("file:///abs/state") == "file:///abs/state"
    assert paths.normalize_backend("s3://bucket/x") == "s3://bucket/x"


def test_kept_data_brings_its_providers_parents_and_dependencies():
    provider = urn(STACK, "pulumi:providers:aws", "aws")
    api = urn(STACK, "gcp:projects/service:Service", "storage-api")
    state = deployed_state()
    state["resources"].insert(1, resource(provider, "pulumi:providers:aws", parent=ROOT_URN, id_="p1"))
    state["resources"].insert(2, resource(api, "gcp:projects/service:Service", parent=ROOT_URN, id_="storage"))
    bucket = next(r for r in state["resources"] if r["urn"] == BUCKET_URN)
    bucket["provider"] = f"{provider}::p1"
    bucket["dependencies"] = [api]
    keep = teardown.kept_urns(state)
    assert {BUCKET_URN, PAB_URN, REPO_URN, provider, api, urn(STACK, "recipes:aws:Bucket", "bucket")} <= keep
    assert CLUSTER_URN not in keep and ROOT_URN not in keep


def test_second_plain_destroy_with_only_data_left_does_nothing(engine, cli, target):
    cli.stacks.add(STACK)
    state = deployed_state()
    state["resources"] = [r for r in state["resources"] if "Cluster" not in r["type"]]
    cli.deployment = state
    result = engine.destroy(target, lambda e: None)
    assert cli.called("destroy") == []
    assert [r.name for r in result.retained if r.primary] == ["bucket", "registry"]


def test_delete_data_after_a_plain_destroy_deletes_the_kept_data(engine, cli, target):
    """After a plain destroy the data is still in the state, so --delete-data can release and delete it."""
    cli.stacks.add(STACK)
    state = deployed_state()
    state["resources"] = [r for r in state["resources"] if "Cluster" not in r["type"]]
    cli.deployment = state
    result = engine.destroy(target, lambda e: None, delete_data=True)
    kept = [urn(STACK, "recipes:aws:Bucket", "bucket"), BUCKET_URN, PAB_URN, urn(STACK, "recipes:aws:Registry", "registry"), REPO_URN]
    assert cli.called("up")[0].values("--target") == sorted(kept)
    assert [c for c in cli.commands() if c in ("up", "destroy")] == ["up", "destroy"]  # nothing unkept left first
    assert cli.called("destroy")[0].values("--target") == []  # the whole rest goes
    assert result.retained == []



# --- faults people can fix: passphrase, credentials, locks ------------------------------

def test_wrong_passphrase_names_the_variable_and_the_file(engine, cli, target):
    stderr = "error: failed to decrypt encrypted configuration value 'aws:secret': incorrect passphrase"
    cli.failures["up"] = CommandResult(stdout="", stderr=stderr, code=255)
    with pytest.raises(eng.PassphraseError) as info:
        engine.up(target, lambda e: None)
    assert "PULUMI_CONFIG_PASSPHRASE" in info.value.message
    assert str(paths.passphrase_file()) in info.value.message


def test_lost_passphrase_is_never_regenerated_over_existing_state(home, monkeypatch):
    for name in eng.PASSPHRASE_ENV:
        monkeypatch.delenv(name, raising=False)
    workspace = paths.data_dir() / "workspaces" / "ml-dev-12345678"
    workspace.mkdir(parents=True)
    (workspace / "Pulumi.ml-dev.yaml").write_text("encryptionsalt: v1:abc:def\n")
    with pytest.raises(eng.PassphraseError) as info:
        eng.ensure_passphrase()
    assert "ml-dev-12345678" in info.value.message and "PULUMI_CONFIG_PASSPHRASE" in info.value.message
    assert not paths.passphrase_file().exists()
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "the-old-one")
    assert eng.ensure_passphrase() == {"PULUMI_CONFIG_PASSPHRASE": "the-old-one"}


@pytest.mark.parametrize(
    "provider,error,fix",
    [
        ("aws", "operation error STS: GetCallerIdentity, https response error StatusCode: 403, api error ExpiredToken", "aws sso login"),
        ("gcp", "oauth2: cannot fetch token: 400 Bad Request Response: invalid_grant", "gcloud auth application-default login"),
        ("azure", "AzureCLICredential: ERROR: AADSTS700082: The refresh token has expired", "az login"),
    ],
)
def test_expired_credentials_come_with_the_fix(engine, cli, make_spec, provider, error, fix):
    from recipes.spec import Layer, load_spec

    flags = {"aws": {}, "gcp": {"project": "demo-project"}, "azure": {}}[provider]
    target = StackTarget(spec=load_spec(Layer("flags", {"provider": provider, "suffix": "a1b2c3", **flags})), backend="s3://state")
    cli.failures["up"] = CommandResult(stdout="", stderr=f"error: {error}", code=255)
    with pytest.raises(EngineError) as info:
        engine.up(target, lambda e: None)
    assert fix in info.value.message and error[:20] in info.value.message


def test_lock_time_is_read_from_the_lock_error():
    text = ("error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end\n"
            "  file:///s/.pulumi/locks/organization/stack-recipes/ml-dev/a.json: created by ana@box (pid 42) at 2025-01-02T09:41:05Z")
    assert eng.lock_time(text) == "2025-01-02 09:41 UTC"
    assert eng.lock_time("no time here") is None


def test_pending_operations_are_read_from_the_state(engine, cli, target):
    cli.stacks.add(STACK)
    state = deployed_state()
    state["pending_operations"] = [{"resource": {"urn": CLUSTER_URN, "type": "aws:eks/cluster:Cluster"}, "type": "creating"}]
    cli.deployment = state
    assert engine.pending_operations(target) == [
        eng.PendingOperation(type="aws:eks/cluster:Cluster", name="cluster", urn=CLUSTER_URN, operation="creating")
    ]


def test_refresh_can_clear_pending_creates(engine, cli, target):
    cli.stacks.add(STACK)
    engine.refresh(target, lambda e: None)
    engine.refresh(target, lambda e: None, clear_pending_creates=True)
    first, second = cli.called("refresh")
    assert "--clear-pending-creates" not in first.args and "--clear-pending-creates" in second.args



def test_refresh_adopts_pending_creates_by_their_ids_and_clears_the_rest(engine, cli, target):
    """The SDK has no argument for --import-pending-creates: the same refresh command line,
    with each URN and its id, through the stack's own runner (its --stack, backend, env)."""
    cli.stacks.add(STACK)
    engine.refresh(target, lambda e: None, clear_pending_creates=True,
                   import_pending_creates={CLUSTER_URN: "ml-dev-abcd", BUCKET_URN: "ml-dev-artifacts-abcd"})
    [call] = cli.called("refresh")
    assert call.values("--import-pending-creates") == [CLUSTER_URN, "ml-dev-abcd", BUCKET_URN, "ml-dev-artifacts-abcd"]
    assert "--clear-pending-creates" in call.args and "--yes" in call.args and "--skip-preview" in call.args
    assert call.values("--stack") == [STACK]


def test_pending_creates_with_deterministic_names_get_an_adopt_id(engine, cli, target):
    cli.stacks.add(STACK)
    cli.deployment = {"resources": [], "pending_operations": [
        {"type": "creating", "resource": {"urn": CLUSTER_URN, "type": "aws:eks/cluster:Cluster", "inputs": {"name": "ml-dev-abcd"}}},
        {"type": "creating", "resource": {"urn": urn(STACK, "aws:ec2/vpc:Vpc", "vpc"), "type": "aws:ec2/vpc:Vpc", "inputs": {}}},
    ]}
    cluster, vpc = engine.pending_operations(target)
    assert cluster.adopt_id == "ml-dev-abcd" and vpc.adopt_id is None  # AWS picks a VPC's id

# ---------------------------------------------------------------------------
# The stack's global-name suffix travels with its state


def test_a_deployed_stack_keeps_its_suffix_in_its_config(engine, cli, target):
    engine.up(target, lambda e: None)
    assert cli.config[STACK]["recipe:suffix"] == "a1b2c3"
    # A teammate on the same backend (no registry record of theirs) reads it back.
    assert engine.assigned_suffix(StackTarget(spec=target.spec.with_changes(suffix=""), backend=target.backend)) == "a1b2c3"


def test_no_stack_in_the_backend_has_no_suffix(engine, cli, target):
    assert engine.assigned_suffix(target) is None
    assert "stack init" not in cli.commands()  # looking never creates a stack


def test_a_stack_deployed_before_random_suffixes_finds_its_old_names(engine, cli, target):
    from recipes import naming

    cli.stacks.add(STACK)
    cli.deployment = deployed_state()  # resources, and no recipe:suffix in its config
    legacy = engine.assigned_suffix(target)
    assert legacy == naming.legacy_suffix("aws", "ml-dev", target.spec.region) == "ab18f7"
    cli.deployment = {"resources": []}  # created but never deployed: a new stack after all
    assert engine.assigned_suffix(target) is None


def test_the_engine_refuses_a_spec_without_its_suffix(engine, cli, target):
    with pytest.raises(EngineError, match="no suffix"):
        engine.up(StackTarget(spec=target.spec.with_changes(suffix=""), backend=target.backend), lambda e: None)
    assert "up" not in cli.commands()


def test_destroy_drops_an_unreachable_clusters_objects_only_when_told(engine, cli, target):
    cli.stacks.add(STACK)
    cli.deployment = deployed_state()
    engine.destroy(target, lambda e: None)
    assert "PULUMI_K8S_DELETE_UNREACHABLE" not in cli.called("destroy")[-1].env
    cli.deployment = deployed_state()
    engine.destroy(target, lambda e: None, cluster_gone=True)
    assert cli.called("destroy")[-1].env["PULUMI_K8S_DELETE_UNREACHABLE"] == "true"


def test_an_unreachable_cluster_comes_with_the_fix(engine, cli, target):
    cli.failures["up"] = CommandResult(
        stdout="", code=255,
        stderr="error: configured Kubernetes cluster is unreachable: unable to load schema information from the API "
               "server: Get \"https://10.0.0.7/openapi/v2\": dial tcp 10.0.0.7:443: i/o timeout",
    )
    with pytest.raises(EngineError) as info:
        engine.up(target, lambda e: None)
    message = info.value.message
    assert "not reachable from this machine" in message and "--cluster-gone" in message
    assert "Nothing was dropped from the state" in message
