"""One context of the user's kubeconfig, read the way kubectl reads it, for a cluster we do not create.

--kubeconfig names one file; without it KUBECONFIG may list several (os.pathsep-separated, missing
ones skipped), merged with the first file winning per cluster/user/context name and for
current-context; without either, ~/.kube/config. Relative file paths in an entry are relative to
the file that entry came from, as in client-go. Nothing here touches the network: a wrong file or
context stops the deploy (exit 2) with the fix before anything is recorded.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from provisioner.operations.not_ready import NotReady

EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")


class KubeconfigError(NotReady):
    """The kubeconfig or the context in it cannot be used: nothing was touched."""


@dataclass(frozen=True)
class ExecPlugin:
    """A credential plugin (aws eks get-token, gke-gcloud-auth-plugin, kubelogin, ...)."""

    api_version: str
    command: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    install_hint: str = ""
    provide_cluster_info: bool = False
    interactive_mode: str = "IfAvailable"


@dataclass(frozen=True)
class UserCredentials:
    """How the context authenticates. Secrets are kept out of repr so no log or traceback shows them."""

    client_certificate_data: bytes | None = field(default=None, repr=False)
    client_certificate: str | None = None
    client_key_data: bytes | None = field(default=None, repr=False)
    client_key: str | None = None
    token: str | None = field(default=None, repr=False)
    token_file: str | None = None
    exec: ExecPlugin | None = None


@dataclass(frozen=True)
class ClusterContext:
    """The context a deploy would use: its API server, how to trust it and how to log in to it."""

    name: str
    server: str
    cluster: str
    user: str
    namespace: str | None
    certificate_authority_data: bytes | None = field(default=None, repr=False)
    certificate_authority: str | None = None
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    credentials: UserCredentials = UserCredentials()
    sources: tuple[str, ...] = ()  # the kubeconfig files read, in merge order

    @property
    def embedded_static_credentials(self) -> bool:
        """A client key or a token written in the file itself: an exported copy of this context carries a
        long-lived secret, so it must be written 0600 and the user told so."""
        return self.credentials.client_key_data is not None or self.credentials.token is not None


def kubeconfig_files(kubeconfig: str | None) -> tuple[list[Path], str]:
    """The files to merge and how to name them in a message (`--kubeconfig X`, `KUBECONFIG`, the default)."""
    if kubeconfig:
        path = Path(kubeconfig).expanduser()
        if not path.is_file():
            raise KubeconfigError(f"kubeconfig {path} does not exist; nothing was done. Pass --kubeconfig with the "
                                  "file your cluster tool wrote (k3d kubeconfig write NAME, kind get kubeconfig "
                                  "--name NAME > FILE, or your cloud's get-credentials)")
        return [path], str(path)
    listed = [Path(p).expanduser() for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p.strip()]
    if listed:
        present = [p for p in listed if p.is_file()]
        if not present:
            raise KubeconfigError(f"none of the files KUBECONFIG lists exists ({', '.join(map(str, listed))}); "
                                  "nothing was done. Point KUBECONFIG or --kubeconfig at your cluster's kubeconfig")
        return present, "KUBECONFIG (" + os.pathsep.join(map(str, present)) + ")"
    path = Path.home() / ".kube" / "config"
    if not path.is_file():
        raise KubeconfigError(f"no kubeconfig: {path} does not exist and KUBECONFIG is not set; nothing was done. "
                              "Create the cluster's context (k3d cluster create NAME, kind create cluster, or your "
                              "cloud's get-credentials) or pass --kubeconfig FILE")
    return [path], str(path)


def _read(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KubeconfigError(f"cannot read kubeconfig {path} ({type(exc).__name__}); nothing was done. "
                              "Check the file's permissions, or pass --kubeconfig with another file") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # Only the problem and its line: the parser's own message quotes the file, which may hold a token.
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise KubeconfigError(f"kubeconfig {path} is not valid YAML ({problem}{where}); nothing was done. Fix the "
                              "file or write it again with your cluster tool (k3d kubeconfig write NAME)") from None
    if data is None:
        return {}  # an empty file is an empty config, as for kubectl
    if not isinstance(data, dict):
        raise KubeconfigError(f"kubeconfig {path} is not a kubeconfig (its YAML is a {type(data).__name__}, not a "
                              "mapping with clusters, users and contexts); nothing was done. Pass --kubeconfig with "
                              "your cluster's kubeconfig")
    return data


def _entries(data: dict, key: str, path: Path) -> list[tuple[str, dict]]:
    """The named entries of one list (clusters: [{name, cluster}]), each marked with its file's folder."""
    found = []
    for item in data.get(key) or []:
        body = item.get(key[:-1]) or {} if isinstance(item, dict) else None
        if isinstance(body, dict) and isinstance(item.get("name"), str):
            found.append((item["name"], {**body, "__origin__": str(path.parent)}))
    return found


def merge(paths: list[Path]) -> dict:
    """Clusters, users and contexts of every file by name (the first file wins) and the first current-context."""
    merged: dict = {"clusters": {}, "users": {}, "contexts": {}, "current-context": ""}
    for path in paths:
        data = _read(path)
        for key in ("clusters", "users", "contexts"):
            for name, body in _entries(data, key, path):
                merged[key].setdefault(name, body)
        if not merged["current-context"] and isinstance(data.get("current-context"), str):
            merged["current-context"] = data["current-context"]
    return merged


def _decoded(body: dict, key: str, what: str) -> bytes | None:
    value = body.get(key)
    if value in (None, ""):
        return None
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise KubeconfigError(f"{key} of {what} is not base64; nothing was done. Write the kubeconfig again with "
                              "your cluster tool, or fix that field") from None


def _local(body: dict, key: str, what: str) -> str | None:
    """A file an entry names, made absolute against the kubeconfig it came from; it must exist."""
    value = body.get(key)
    if not value:
        return None
    path = Path(body["__origin__"], Path(str(value)).expanduser())
    if not path.is_file():
        raise KubeconfigError(f"{key} of {what} names {path}, which does not exist; nothing was done. Write the "
                              "kubeconfig again with your cluster tool, or fix that path")
    return str(path)


def _exec_plugin(body: dict, what: str, origin: str) -> ExecPlugin:
    api_version = body.get("apiVersion", "")
    if api_version not in EXEC_API_VERSIONS:
        raise KubeconfigError(f"the exec plugin of {what} asks for apiVersion {api_version or '(none)'}; only "
                              f"{' and '.join(EXEC_API_VERSIONS)} are supported (v1alpha1 was removed from kubectl "
                              "1.24); nothing was done. Update the plugin and write the kubeconfig again")
    command = str(body.get("command") or "")
    if not command:
        raise KubeconfigError(f"the exec plugin of {what} names no command; nothing was done. Write the kubeconfig "
                              "again with your cluster tool")
    if os.sep in command or (os.altsep and os.altsep in command):
        command = str(Path(origin, command))  # as client-go: only a command with a path is relative
    env = tuple((str(e.get("name")), str(e.get("value", ""))) for e in body.get("env") or [] if isinstance(e, dict))
    return ExecPlugin(api_version, command, tuple(str(a) for a in body.get("args") or []), env,
                      str(body.get("installHint") or ""), bool(body.get("provideClusterInfo")),
                      str(body.get("interactiveMode") or "IfAvailable"))


def _credentials(body: dict, what: str) -> UserCredentials:
    if body.get("username") or body.get("password"):
        raise KubeconfigError(f"{what} logs in with a username and password, which we do not support (removed from "
                              "most clusters); nothing was done. Use a context with a client certificate, a token or "
                              "an exec plugin")
    if body.get("auth-provider"):
        name = (body["auth-provider"] or {}).get("name", "?") if isinstance(body["auth-provider"], dict) else "?"
        raise KubeconfigError(f"{what} uses the auth-provider {name!r}, which kubectl no longer supports; nothing was "
                              "done. Switch it to its exec plugin (gke-gcloud-auth-plugin, kubelogin) and retry")
    creds = UserCredentials(
        client_certificate_data=_decoded(body, "client-certificate-data", what),
        client_certificate=_local(body, "client-certificate", what),
        client_key_data=_decoded(body, "client-key-data", what),
        client_key=_local(body, "client-key", what),
        token=str(body["token"]) if body.get("token") else None,
        token_file=_local(body, "tokenFile", what),
        exec=_exec_plugin(body["exec"], what, body["__origin__"]) if isinstance(body.get("exec"), dict) else None,
    )
    has_cert = creds.client_certificate_data is not None or creds.client_certificate is not None
    has_key = creds.client_key_data is not None or creds.client_key is not None
    if has_cert != has_key:
        missing = "client key" if has_cert else "client certificate"
        raise KubeconfigError(f"{what} has a client certificate or key without its {missing}; nothing was done. "
                              "Write the kubeconfig again with your cluster tool")
    if not (has_cert or creds.token or creds.token_file or creds.exec):
        raise KubeconfigError(f"{what} holds no credentials (no client certificate, token or exec plugin); nothing "
                              "was done. Use a context with credentials, or write the kubeconfig again")
    return creds


def load_context(kubeconfig: str | None, context: str | None) -> ClusterContext:
    """The context `context` (None: the current-context) of the kubeconfig, as kubectl would use it."""
    paths, source = kubeconfig_files(kubeconfig)
    merged = merge(paths)
    names = sorted(merged["contexts"])
    there = f"contexts there: {', '.join(names)}" if names else "it has no context"
    if context is None:
        context = merged["current-context"]
        if not context:
            raise KubeconfigError(f"{source} has no current-context and no --context was given ({there}); nothing "
                                  "was done. Pass --context NAME")
    if context not in merged["contexts"]:
        raise KubeconfigError(f"no context {context!r} in {source} ({there}); nothing was done. Pass --context with "
                              "one of them, or create it (k3d cluster create NAME makes k3d-NAME)")
    body = merged["contexts"][context]
    cluster_name, user_name = body.get("cluster"), body.get("user")
    for kind, name in (("cluster", cluster_name), ("user", user_name)):
        if not name:
            raise KubeconfigError(f"context {context!r} in {source} names no {kind}; nothing was done. Fix the "
                                  "context or write the kubeconfig again with your cluster tool")
        if name not in merged[kind + "s"]:
            raise KubeconfigError(f"context {context!r} names {kind} {name!r}, which is not in {source}; nothing was "
                                  "done. Write the kubeconfig again with your cluster tool")
    cluster = merged["clusters"][cluster_name]
    what = f"cluster {cluster_name!r}"
    server = str(cluster.get("server") or "")
    if not server.startswith(("https://", "http://")):
        raise KubeconfigError(f"{what} of context {context!r} has no https:// (or http://) server URL (found {server!r}); "
                              "nothing was done. Fix its server, or write the kubeconfig again")
    if cluster.get("proxy-url"):
        raise KubeconfigError(f"{what} of context {context!r} is reached through proxy-url, which the deploy "
                              "preflight does not support; nothing was done. Use a context reached directly "
                              "(a VPN, or kubectl port-forward to the API server)")
    if cluster.get("insecure-skip-tls-verify") and (cluster.get("certificate-authority-data")
                                                     or cluster.get("certificate-authority")):
        raise KubeconfigError(f"{what} of context {context!r} sets both a certificate authority and "
                              "insecure-skip-tls-verify, which kubectl refuses too; nothing was done. Remove one")
    return ClusterContext(
        name=context, server=server.rstrip("/"), cluster=str(cluster_name), user=str(user_name),
        namespace=body.get("namespace") or None,
        certificate_authority_data=_decoded(cluster, "certificate-authority-data", what),
        certificate_authority=_local(cluster, "certificate-authority", what),
        insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify")),
        tls_server_name=cluster.get("tls-server-name") or None,
        credentials=_credentials(merged["users"][user_name], f"user {user_name!r}"),
        sources=tuple(map(str, paths)),
    )
