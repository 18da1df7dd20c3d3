"""The user's kubeconfig, read as kubectl merges it, in the Pulumi program (which may not import provisioner/).

Short on purpose: a deploy runs provisioner/operations/user_kubeconfig.py first, which explains every problem
with its fix. Here a missing file or context is not an error: `recipe plan` works with no cluster at all, so
the caller gets None and plans with placeholders.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

# File paths an entry may name, made absolute against the kubeconfig they came from (as kubectl resolves them).
PATH_KEYS = {"clusters": ("certificate-authority",), "users": ("client-certificate", "client-key", "tokenFile")}


@dataclass(frozen=True)
class Context:
    name: str
    cluster: str  # the cluster's name in the kubeconfig
    server: str
    kubeconfig: str  # YAML: this one context, its cluster and its user, as the user's files have them


def files(kubeconfig: str) -> list[Path]:
    """--kubeconfig's file, else every file $KUBECONFIG lists that exists, else ~/.kube/config."""
    if kubeconfig:
        return [Path(kubeconfig).expanduser()]
    listed = [Path(p).expanduser() for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p.strip()]
    return [p for p in listed if p.is_file()] if listed else [Path.home() / ".kube" / "config"]


def provider_path(kubeconfig: str) -> str:
    """What the Kubernetes provider is given: --kubeconfig's path, else $KUBECONFIG as it is, else ~/.kube/config."""
    if kubeconfig:
        return str(Path(kubeconfig).expanduser())
    return os.environ.get("KUBECONFIG", "").strip() or str(Path.home() / ".kube" / "config")


def _entries(data: dict, key: str, origin: Path) -> dict[str, dict]:
    found = {}
    for item in data.get(key) or []:
        body = item.get(key[:-1]) if isinstance(item, dict) else None
        if isinstance(body, dict) and isinstance(item.get("name"), str):
            body = dict(body)
            for path_key in PATH_KEYS.get(key, ()):
                if body.get(path_key):
                    body[path_key] = str(origin.parent / Path(str(body[path_key])).expanduser())
            found[item["name"]] = body
    return found


def read_context(kubeconfig: str, context: str) -> Context | None:
    """The context `context` ("": the current-context) of the merged files (the first file to name an entry
    wins, as in kubectl); None when there is no such file or context, or a file cannot be read."""
    merged: dict[str, dict[str, dict]] = {"clusters": {}, "users": {}, "contexts": {}}
    current = ""
    for path in files(kubeconfig):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            return None
        if not isinstance(data, dict):
            continue
        for key in merged:
            for name, body in _entries(data, key, path).items():
                merged[key].setdefault(name, body)
        current = current or (data.get("current-context") if isinstance(data.get("current-context"), str) else "")
    name = context or current
    body = merged["contexts"].get(name)
    if body is None or body.get("cluster") not in merged["clusters"] or body.get("user") not in merged["users"]:
        return None
    cluster, user = merged["clusters"][body["cluster"]], merged["users"][body["user"]]
    single = {
        "apiVersion": "v1", "kind": "Config", "current-context": name, "preferences": {},
        "clusters": [{"name": body["cluster"], "cluster": cluster}],
        "contexts": [{"name": name, "context": body}],
        "users": [{"name": body["user"], "user": user}],
    }
    return Context(name=name, cluster=body["cluster"], server=str(cluster.get("server") or "").rstrip("/"),
                   kubeconfig=yaml.safe_dump(single, sort_keys=False))


def placeholder(context: str, server: str) -> str:
    """The kubeconfig a plan shows without the user's file: the context by name, nothing to sign in with."""
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": context, "preferences": {},
        "clusters": [{"name": context, "cluster": {"server": server}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        "users": [{"name": context, "user": {}}],
    }, sort_keys=False)
