"""`recipe deploy kubernetes`'s preflight: the user's context, instead of a cloud's credentials, checked
before any record or passphrase (the real PulumiEngine, the stand-in `pulumi` CLI and the stand-in API
server of kube_api.py); and `recipe doctor kubernetes`, whose credentials are a kubeconfig context."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from provisioner import cli
from provisioner.operations import preflight
from recipes.kubernetes.versions import kubernetes_range
from recipes.spec import Layer, load_spec

from tests.cli import test_preflight
from tests.cli.test_preflight import assert_nothing_written, pulumi_standin
from tests.operations.kube_api import StandInApi, make_ca, serve
from tests.operations.test_cluster_access import closed_port, write_config

TOKEN = "k3d-token-0123456789abcdef"
bare = test_preflight.bare  # the fixture: an empty PATH and home, no credentials


@pytest.fixture(scope="module")
def ca():
    return make_ca("stand-in cluster CA")


@pytest.fixture
def api(ca, tmp_path):
    folder = tmp_path / "server"
    folder.mkdir()
    stand_in = StandInApi(token=TOKEN)
    server = serve(stand_in, ca, folder)
    yield stand_in
    server.shutdown()
    server.server_close()


@pytest.fixture
def machine(bare, monkeypatch):
    """A machine with a usable Pulumi CLI and no kubeconfig anywhere but where a test writes one."""
    pulumi_standin(bare, monkeypatch)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    return bare


def recipe(*args: str):
    return CliRunner().invoke(cli.app, list(args), catch_exceptions=False)


def deploy(config, context: str = "k3d-ml"):
    return recipe("deploy", "kubernetes", "--name", "ml-local", "--kubeconfig", str(config), "--context", context, "--yes")


def stopped(result, *parts: str) -> str:
    """Exit 2 with a one-line error naming `parts`, before anything was recorded or a passphrase made."""
    assert result.exit_code == 2, result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    for part in parts:
        assert part in errors[0], (part, errors[0])
    assert TOKEN not in result.stderr + result.stdout
    assert "Deploying" not in result.stderr
    assert json.loads(recipe("stacks", "-o", "json").stdout) == []
    assert_nothing_written()
    return errors[0]


def test_a_missing_context_names_the_contexts_there(machine, api, ca, tmp_path):
    config = write_config(tmp_path / "config", api.url, ca[0].b64("cert"), {"token": TOKEN})
    stopped(deploy(config, context="k3d-other"), "no context 'k3d-other'", "contexts there: k3d-ml", "--context")
    assert api.seen == []


def test_a_missing_kubeconfig_says_how_to_write_one(machine, tmp_path):
    stopped(deploy(tmp_path / "absent"), f"kubeconfig {tmp_path / 'absent'} does not exist", "k3d kubeconfig write")


def test_an_unreachable_server_says_to_start_the_cluster(machine, ca, tmp_path):
    server = f"https://127.0.0.1:{closed_port()}"
    config = write_config(tmp_path / "config", server, ca[0].b64("cert"), {"token": TOKEN})
    stopped(deploy(config), f"cannot reach the API server {server}", "k3d cluster start ml")


def test_a_denied_right_names_it_and_who_can_grant_it(machine, api, ca, tmp_path):
    api.denied = {("apiextensions.k8s.io", "customresourcedefinitions")}
    config = write_config(tmp_path / "config", api.url, ca[0].b64("cert"), {"token": TOKEN})
    stopped(deploy(config), "may not create customresourcedefinitions.apiextensions.k8s.io", "cluster-admin",
            "kubectl auth can-i")


def test_an_unsupported_version_is_refused_with_the_stacks_range(machine, api, ca, tmp_path):
    api.version = {"major": "1", "minor": "27", "gitVersion": "v1.27.16+k3s1"}
    config = write_config(tmp_path / "config", api.url, ca[0].b64("cert"), {"token": TOKEN})
    supported = kubernetes_range(("cluster", "tracker", "deployer"), "seldon").versions()
    stopped(deploy(config), "runs Kubernetes 1.27", f"older than the {supported[0]}-{supported[-1]}")


def test_a_reachable_cluster_with_every_right_passes(machine, api, ca, tmp_path):
    from provisioner.engine.pulumi.cli import usable_pulumi_cli

    config = write_config(tmp_path / "config", api.url, ca[0].b64("cert"), {"token": TOKEN})
    spec = load_spec(Layer("flags", {"provider": "kubernetes", "name": "ml-local", "kubeconfig": str(config),
                                     "context": "k3d-ml"}))
    preflight.require_ready("kubernetes", usable_pulumi_cli, spec=spec)
    asked = [(r["method"], r["path"]) for r in api.seen]
    assert asked[0] == ("GET", "/version") and len(asked) == 1 + len(preflight_rights())
    assert all(r["user"] == "token-user" for r in api.seen)
    # Without a spec (a record's command), a kubeconfig found is what is asked, as for a cloud's credentials.
    with pytest.raises(preflight.NotReady, match="no kubeconfig"):
        preflight.require_ready("kubernetes", usable_pulumi_cli)
    assert_nothing_written()


def preflight_rights():
    from provisioner.operations.cluster_access import REQUIRED_RIGHTS

    return REQUIRED_RIGHTS


def test_a_cloud_stack_still_asks_for_its_credentials_not_a_cluster(machine, api):
    result = recipe("deploy", "aws", "--name", "ml-dev", "--yes")
    assert result.exit_code == 2 and "no aws credentials on this machine" in result.stderr
    assert api.seen == []


# --------------------------------------------------------------------------
# recipe doctor kubernetes

def test_doctor_without_a_kubeconfig_is_not_ready(machine):
    result = recipe("doctor", "kubernetes", "--output", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    check = {c["name"]: c for c in doc["checks"]}["kubernetes credentials"]
    assert check["status"] == "missing" and "does not exist and KUBECONFIG is not set" in check["detail"]
    assert "k3d cluster create" in check["fix"] and "nothing was done" not in check["detail"] + check["fix"]
    assert "kubernetes credentials" in doc["blocking"]


def test_doctor_without_the_current_context_is_not_ready(machine, api, ca, tmp_path, monkeypatch):
    config = write_config(tmp_path / "config", api.url, ca[0].b64("cert"), {"token": TOKEN}, current="k3d-gone")
    monkeypatch.setenv("KUBECONFIG", str(config))
    result = recipe("doctor", "kubernetes", "--output", "json")
    assert result.exit_code == 1
    check = {c["name"]: c for c in json.loads(result.stdout)["checks"]}["kubernetes credentials"]
    assert check["status"] == "missing" and "no context 'k3d-gone'" in check["detail"]


def test_doctor_with_a_kubeconfig_and_its_context_is_ready(machine, api, ca, tmp_path, monkeypatch):
    config = write_config(tmp_path / "config", api.url, ca[0].b64("cert"), {"token": TOKEN})
    monkeypatch.setenv("KUBECONFIG", str(config))
    result = recipe("doctor", "kubernetes", "--output", "json")
    check = {c["name"]: c for c in json.loads(result.stdout)["checks"]}["kubernetes credentials"]
    assert check["status"] == "ok" and "current-context k3d-ml" in check["detail"] and api.url in check["detail"]
    assert result.exit_code == 0, result.stdout
    assert api.seen == []  # the doctor reads the file; only the deploy asks the cluster


def test_commands_on_a_recorded_stack_check_its_recorded_context(machine, ca, tmp_path):
    from provisioner.stacks.records import StackRecord, StackRecords

    server = f"https://127.0.0.1:{closed_port()}"
    config = write_config(tmp_path / "config", server, ca[0].b64("cert"), {"token": TOKEN})
    spec = load_spec(Layer("flags", {"provider": "kubernetes", "name": "ml-local", "kubeconfig": str(config),
                                     "context": "k3d-ml"}))
    record = StackRecord(name="ml-local", provider="kubernetes", region="in-cluster", status="failed", source="deploy",
                         backend="file:///nowhere", pulumi_stack="ml-local", spec=spec.to_mapping())
    record.start("deploy")
    record.finish("failed", "creating resource: connection refused")
    StackRecords().save(record)
    before = StackRecords().get("ml-local").to_json()
    result = recipe("destroy", "ml-local", "--yes")
    assert result.exit_code == 2, result.stderr
    assert f"cannot reach the API server {server}" in result.stderr and "recipe forget ml-local" in result.stderr
    assert StackRecords().get("ml-local").to_json() == before
