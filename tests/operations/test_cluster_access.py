"""The `kubernetes` provider's deploy preflight: a context of the user's kubeconfig, read as kubectl reads it,
probed over HTTPS against a stand-in API server (tests/operations/kube_api.py) for its version and rights.

Every refusal is a NotReady (exit 2), one line, and never shows a token or a key."""

from __future__ import annotations

import json
import os
import socket
import ssl
import stat
import sys

import pytest
import yaml

from provisioner.operations import cluster_access
from provisioner.operations.cluster_access import ClusterRefused, ClusterUnreachable, load_context, require_access
from provisioner.operations.user_kubeconfig import KubeconfigError
from provisioner.operations.preflight import NotReady

from tests.operations.kube_api import StandInApi, issue, make_ca, serve

TOKEN = "s3cr3t-token-0123456789abcdef"
SUPPORTED = ["1.29", "1.30", "1.31", "1.32", "1.33"]


@pytest.fixture(scope="module")
def ca():
    return make_ca("stand-in cluster CA")


@pytest.fixture(scope="module")
def alice(ca):
    return issue(ca, "alice", server=False)


@pytest.fixture
def api(ca, tmp_path):
    folder = tmp_path / "server"
    folder.mkdir()
    stand_in = StandInApi(token=TOKEN, client_cn="alice")
    server = serve(stand_in, ca, folder)
    yield stand_in
    server.shutdown()
    server.server_close()


def write_config(path, server: str, ca_data: str | None, user: dict, *, context="k3d-ml", current=None,
                 cluster_extra: dict | None = None, context_body: dict | None = None):
    cluster = {"server": server, **({"certificate-authority-data": ca_data} if ca_data else {}), **(cluster_extra or {})}
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": current if current is not None else context,
        "clusters": [{"name": context, "cluster": cluster}],
        "users": [{"name": context, "user": user}],
        "contexts": [{"name": context, "context": context_body or {"cluster": context, "user": context}}],
    }))
    return path


def refused(excinfo, *parts: str, secrets: tuple[str, ...] = (TOKEN,)) -> str:
    """The message of an exit-2 refusal: one line, naming `parts`, showing no secret."""
    exc = excinfo.value
    assert isinstance(exc, NotReady) and exc.exit_code == 2
    message = exc.message
    assert "\n" not in message and "Traceback" not in message
    for part in parts:
        assert part in message, (part, message)
    for secret in secrets:
        assert secret not in message
    assert "PRIVATE KEY" not in message
    return message


def test_client_certificate_from_data(api, alice, ca, tmp_path, monkeypatch):
    loaded = []
    real_load = ssl.SSLContext.load_cert_chain

    def spy(self, certfile, keyfile=None, password=None):
        loaded.append((certfile, stat.S_IMODE(os.stat(certfile).st_mode), stat.S_IMODE(os.stat(keyfile).st_mode)))
        return real_load(self, certfile, keyfile, password)

    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", spy)
    config = write_config(tmp_path / "config", api.url, ca[0].b64("cert"),
                          {"client-certificate-data": alice.b64("cert"), "client-key-data": alice.b64("key")})
    ctx = load_context(str(config), "k3d-ml")
    assert ctx.embedded_static_credentials and ctx.server == api.url
    assert alice.b64("key") not in repr(ctx) and "PRIVATE" not in repr(ctx)

    access = require_access(ctx, SUPPORTED)
    assert (access.version, access.git_version, access.allowed) == ("1.31", "v1.31.4+k3s1", True)
    assert {s["user"] for s in api.seen} == {"alice"}
    asked = {(s["body"]["spec"]["resourceAttributes"]["group"], s["body"]["spec"]["resourceAttributes"]["resource"],
              s["body"]["spec"]["resourceAttributes"]["verb"]) for s in api.seen if s["method"] == "POST"}
    assert asked == {("", "namespaces", "create"), ("apiextensions.k8s.io", "customresourcedefinitions", "create"),
                     ("rbac.authorization.k8s.io", "clusterroles", "create"),
                     ("rbac.authorization.k8s.io", "clusterrolebindings", "create"),
                     ("admissionregistration.k8s.io", "mutatingwebhookconfigurations", "create")}
    # The key went through a private file that is gone once loaded.
    (certfile, cert_mode, key_mode), = [entry for entry in loaded if "recipe-kube-" in str(entry[0])]
    assert (cert_mode, key_mode) == (0o600, 0o600) and not os.path.exists(certfile)


def test_client_certificate_files_relative_to_the_kubeconfig(api, alice, ca, tmp_path, monkeypatch):
    folder = tmp_path / "kube"
    folder.mkdir()
    (folder / "ca.crt").write_bytes(ca[0].cert)
    (folder / "alice.crt").write_bytes(alice.cert)
    (folder / "alice.key").write_bytes(alice.key)
    config = write_config(folder / "config", api.url, None, {"client-certificate": "alice.crt",
                                                              "client-key": "alice.key"},
                          cluster_extra={"certificate-authority": "ca.crt"})
    monkeypatch.chdir(tmp_path)  # not the kubeconfig's folder: paths resolve against the file, as in kubectl
    ctx = load_context(str(config), None)
    assert not ctx.embedded_static_credentials
    assert require_access(ctx, SUPPORTED).allowed and api.seen[0]["user"] == "alice"


@pytest.mark.parametrize("inline", [True, False], ids=["token", "tokenFile"])
def test_token(api, ca, tmp_path, inline):
    (tmp_path / "token").write_text(TOKEN + "\n")
    user = {"token": TOKEN} if inline else {"tokenFile": str(tmp_path / "token")}
    ctx = load_context(str(write_config(tmp_path / "config", api.url, ca[0].b64("cert"), user)), "k3d-ml")
    assert ctx.embedded_static_credentials is inline
    assert TOKEN not in repr(ctx)
    assert require_access(ctx, SUPPORTED).allowed
    assert {s["user"] for s in api.seen} == {"token-user"}


def plugin(tmp_path, output: dict, *, exit_code: int = 0) -> str:
    """An exec plugin that records its KUBERNETES_EXEC_INFO and environment, then prints `output`."""
    script = tmp_path / "bin" / "get-token"
    script.parent.mkdir(exist_ok=True)
    script.write_text(f"#!{sys.executable}\nimport json, os, sys\n"
                      f"open({str(tmp_path / 'exec-info.json')!r}, 'w').write(json.dumps("
                      "{'info': json.loads(os.environ['KUBERNETES_EXEC_INFO']), 'region': os.environ.get('REGION')}))\n"
                      f"print({json.dumps(output)!r})\n"
                      f"print('login expired, run: corp-login', file=sys.stderr)\nsys.exit({exit_code})\n")
    script.chmod(0o755)
    return "bin/get-token"  # relative with a separator: resolved against the kubeconfig's folder


def exec_user(command: str, api_version="client.authentication.k8s.io/v1beta1", **extra) -> dict:
    return {"exec": {"apiVersion": api_version, "command": command, "args": ["--cluster", "ml"],
                     "env": [{"name": "REGION", "value": "eu-west-1"}], "interactiveMode": "Never", **extra}}


def test_exec_plugin_token(api, ca, tmp_path, monkeypatch):
    command = plugin(tmp_path, {"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                                "status": {"token": TOKEN}})
    monkeypatch.chdir("/")
    config = write_config(tmp_path / "config", api.url, ca[0].b64("cert"), exec_user(command, provideClusterInfo=True))
    ctx = load_context(str(config), "k3d-ml")
    assert not ctx.embedded_static_credentials
    assert require_access(ctx, SUPPORTED).allowed
    assert {s["user"] for s in api.seen} == {"token-user"}
    seen = json.loads((tmp_path / "exec-info.json").read_text())
    assert seen["region"] == "eu-west-1"
    assert seen["info"]["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    assert seen["info"]["spec"]["interactive"] is False and seen["info"]["spec"]["cluster"]["server"] == api.url


def test_exec_plugin_client_certificate(api, alice, ca, tmp_path):
    command = plugin(tmp_path, {"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                                "status": {"clientCertificateData": alice.cert.decode(),
                                           "clientKeyData": alice.key.decode()}})
    user = exec_user(command, "client.authentication.k8s.io/v1")
    ctx = load_context(str(write_config(tmp_path / "config", api.url, ca[0].b64("cert"), user)), "k3d-ml")
    assert require_access(ctx, SUPPORTED).allowed and api.seen[0]["user"] == "alice"


def test_exec_plugin_failing_or_missing(api, ca, tmp_path):
    command = plugin(tmp_path, {}, exit_code=1)
    ctx = load_context(str(write_config(tmp_path / "config", api.url, ca[0].b64("cert"), exec_user(command))), None)
    with pytest.raises(ClusterRefused) as excinfo:
        require_access(ctx, SUPPORTED)
    refused(excinfo, "failed (exit 1: login expired, run: corp-login)", "Log in again")
    user = exec_user("no-such-plugin-xyz", installHint="brew install no-such-plugin")
    ctx = load_context(str(write_config(tmp_path / "config2", api.url, ca[0].b64("cert"), user)), None)
    with pytest.raises(ClusterRefused) as excinfo:
        require_access(ctx, SUPPORTED)
    refused(excinfo, "not installed", "brew install no-such-plugin")
    assert api.seen == []


def test_kubeconfig_list_merges_first_file_wins(api, ca, tmp_path, monkeypatch):
    first = write_config(tmp_path / "first", api.url, ca[0].b64("cert"), {"token": TOKEN}, context="shared")
    second = yaml.safe_load(write_config(tmp_path / "second", "https://127.0.0.1:1", ca[0].b64("cert"),
                                         {"token": "other"}, context="shared").read_text())
    second["clusters"].append({"name": "lab", "cluster": {"server": api.url,
                                                          "certificate-authority-data": ca[0].b64("cert")}})
    second["contexts"].append({"name": "lab", "context": {"cluster": "lab", "user": "shared"}})
    (tmp_path / "second").write_text(yaml.safe_dump(second))
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(first), str(tmp_path / "absent"), str(tmp_path / "second")]))

    ctx = load_context(None, None)  # current-context of the first file
    assert (ctx.name, ctx.server, ctx.credentials.token) == ("shared", api.url, TOKEN)
    assert require_access(ctx, SUPPORTED).allowed
    lab = load_context(None, "lab")  # only in the second file; its user from the first
    assert (lab.server, lab.credentials.token) == (api.url, TOKEN)
    assert lab.sources == (str(first), str(tmp_path / "second"))


def test_default_kubeconfig_in_home(api, ca, tmp_path, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(KubeconfigError) as excinfo:
        load_context(None, None)
    refused(excinfo, str(tmp_path / ".kube" / "config"), "does not exist", "--kubeconfig")
    (tmp_path / ".kube").mkdir()
    write_config(tmp_path / ".kube" / "config", api.url, ca[0].b64("cert"), {"token": TOKEN})
    assert load_context(None, None).name == "k3d-ml"


def test_missing_files(tmp_path, monkeypatch):
    with pytest.raises(KubeconfigError) as excinfo:
        load_context(str(tmp_path / "nope"), "k3d-ml")
    refused(excinfo, f"kubeconfig {tmp_path / 'nope'} does not exist", "k3d kubeconfig write")
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")]))
    with pytest.raises(KubeconfigError) as excinfo:
        load_context(None, None)
    refused(excinfo, "none of the files KUBECONFIG lists exists", str(tmp_path / "b"))


@pytest.mark.parametrize("text, problem", [
    (f"users:\n- name: a\n  user: {{token: {TOKEN}\n", "line"),
    ("- just\n- a list\n", "not a kubeconfig"),
])
def test_not_a_kubeconfig(tmp_path, text, problem):
    (tmp_path / "config").write_text(text)
    with pytest.raises(KubeconfigError) as excinfo:
        load_context(str(tmp_path / "config"), None)
    refused(excinfo, str(tmp_path / "config"), problem)


def test_missing_context_lists_the_contexts(api, ca, tmp_path):
    config = write_config(tmp_path / "config", api.url, ca[0].b64("cert"), {"token": TOKEN}, current="")
    with pytest.raises(KubeconfigError) as excinfo:
        load_context(str(config), "prod-eu")
    refused(excinfo, "no context 'prod-eu'", "contexts there: k3d-ml")
    with pytest.raises(KubeconfigError) as excinfo:
        load_context(str(config), None)
    refused(excinfo, "no current-context", "contexts there: k3d-ml", "--context")


@pytest.mark.parametrize("body, expected", [
    ({"cluster": "k3d-ml"}, "names no user"),
    ({"user": "k3d-ml"}, "names no cluster"),
    ({"cluster": "k3d-ml", "user": "ghost"}, "names user 'ghost', which is not in"),
])
def test_context_without_cluster_or_user(ca, tmp_path, body, expected):
    config = write_config(tmp_path / "config", "https://127.0.0.1:6443", ca[0].b64("cert"), {"token": TOKEN},
                          context_body=body)
    with pytest.raises(KubeconfigError) as excinfo:
        load_context(str(config), "k3d-ml")
    refused(excinfo, "context 'k3d-ml'", expected)


def test_username_and_password_are_refused(ca, tmp_path):
    config = write_config(tmp_path / "config", "https://127.0.0.1:6443", ca[0].b64("cert"),
                          {"username": "admin", "password": "hunter2-password"})
    with pytest.raises(KubeconfigError) as excinfo:
        load_context(str(config), "k3d-ml")
    refused(excinfo, "username and password", "client certificate, a token or an exec plugin",
            secrets=("hunter2-password",))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_server(ca, tmp_path):
    server = f"https://127.0.0.1:{closed_port()}"
    ctx = load_context(str(write_config(tmp_path / "config", server, ca[0].b64("cert"), {"token": TOKEN})), None)
    with pytest.raises(ClusterUnreachable) as excinfo:
        require_access(ctx, SUPPORTED, timeout=2)
    refused(excinfo, f"cannot reach the API server {server} of context 'k3d-ml'", "Is the cluster running?",
            "k3d cluster start ml")


def test_host_name_that_does_not_resolve(ca, tmp_path, monkeypatch):
    def no_dns(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    config = write_config(tmp_path / "config", "https://api.corp.example:6443", ca[0].b64("cert"), {"token": TOKEN},
                          context="prod-eu")
    with pytest.raises(ClusterUnreachable) as excinfo:
        require_access(load_context(str(config), None), SUPPORTED)
    refused(excinfo, "https://api.corp.example:6443", "'prod-eu'", "does not resolve", "VPN")


def test_certificate_of_another_ca(api, tmp_path):
    other = make_ca("a recreated cluster's CA")
    ctx = load_context(str(write_config(tmp_path / "config", api.url, other[0].b64("cert"), {"token": TOKEN})), None)
    with pytest.raises(ClusterUnreachable) as excinfo:
        require_access(ctx, SUPPORTED)
    refused(excinfo, "does not trust", "write its kubeconfig again")
    assert api.seen == []  # nothing was sent to a server we could not verify


def test_rejected_credentials(api, ca, tmp_path):
    stale = "expired-token-abcdef0123456789"
    ctx = load_context(str(write_config(tmp_path / "config", api.url, ca[0].b64("cert"), {"token": stale})), None)
    with pytest.raises(ClusterRefused) as excinfo:
        require_access(ctx, SUPPORTED)
    refused(excinfo, "401", "Log in again", api.url, secrets=(stale, TOKEN))


@pytest.mark.parametrize("group, resource, spelled", [
    ("", "namespaces", "create namespaces"),
    ("apiextensions.k8s.io", "customresourcedefinitions", "create customresourcedefinitions.apiextensions.k8s.io"),
    ("rbac.authorization.k8s.io", "clusterroles", "create clusterroles.rbac.authorization.k8s.io"),
    ("rbac.authorization.k8s.io", "clusterrolebindings", "create clusterrolebindings.rbac.authorization.k8s.io"),
    ("admissionregistration.k8s.io", "mutatingwebhookconfigurations",
     "create mutatingwebhookconfigurations.admissionregistration.k8s.io"),
])
def test_each_denied_right(api, ca, tmp_path, group, resource, spelled):
    api.denied = {(group, resource)}
    ctx = load_context(str(write_config(tmp_path / "config", api.url, ca[0].b64("cert"), {"token": TOKEN})), None)
    access = cluster_access.probe(ctx)
    assert [r.describe() for r in access.denied] == [spelled] and not access.allowed
    with pytest.raises(ClusterRefused) as excinfo:
        require_access(ctx, SUPPORTED)
    message = refused(excinfo, f"may not {spelled} on", "cluster-admin", "a context that has these rights")
    assert message.count("create ") == 2  # the denied right, and the `kubectl auth can-i` that checks it


def test_several_denied_rights_named_together(api, ca, tmp_path):
    api.denied = {("", "namespaces"), ("rbac.authorization.k8s.io", "clusterroles")}
    ctx = load_context(str(write_config(tmp_path / "config", api.url, ca[0].b64("cert"), {"token": TOKEN})), None)
    with pytest.raises(ClusterRefused) as excinfo:
        require_access(ctx, SUPPORTED)
    refused(excinfo, "may not create namespaces, create clusterroles.rbac.authorization.k8s.io on")


@pytest.mark.parametrize("minor, git, expected", [
    ("28", "v1.28.9+k3s1", "older than the 1.29-1.33"),
    ("34+", "v1.34.1-eks-113cf36", "newer than the 1.29-1.33"),
])
def test_unsupported_version(api, ca, tmp_path, minor, git, expected):
    api.version = {"major": "1", "minor": minor, "gitVersion": git}
    ctx = load_context(str(write_config(tmp_path / "config", api.url, ca[0].b64("cert"), {"token": TOKEN})), None)
    with pytest.raises(ClusterRefused) as excinfo:
        require_access(ctx, SUPPORTED)
    refused(excinfo, f"runs Kubernetes 1.{minor.rstrip('+')} ({git})", expected, "rancher/k3s:v1.33")
    assert require_access(ctx, [f"1.{minor.rstrip('+')}"]).version == f"1.{minor.rstrip('+')}"  # managed "34+"
    assert require_access(ctx, []).git_version == git  # no version-bound chart in the stack


@pytest.mark.parametrize("cluster_extra, trusted", [
    ({"tls-server-name": "localhost"}, True),  # the name the certificate holds, not the URL's address
    ({"tls-server-name": "api.other.example"}, False),
    ({"insecure-skip-tls-verify": True}, True),
])
def test_tls_server_name_and_skip_verify(api, ca, tmp_path, cluster_extra, trusted):
    ca_data = None if cluster_extra.get("insecure-skip-tls-verify") else ca[0].b64("cert")
    config = write_config(tmp_path / "config", api.url, ca_data, {"token": TOKEN}, cluster_extra=cluster_extra)
    ctx = load_context(str(config), None)
    if trusted:
        assert require_access(ctx, SUPPORTED).allowed
    else:
        with pytest.raises(ClusterUnreachable) as excinfo:
            require_access(ctx, SUPPORTED)
        refused(excinfo, "does not trust", "api.other.example")
