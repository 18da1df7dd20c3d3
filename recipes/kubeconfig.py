"""Kubeconfigs that authenticate through the cloud CLI (exec), never with a static key."""

from __future__ import annotations

from typing import Any

import yaml


def render(context: str, server: str, ca_data: str | None, command: str, args: list[str], env: dict[str, str] | None = None) -> str:
    """A standalone kubeconfig with one cluster, one user (exec plugin) and one context.

    Without `ca_data` the server's certificate is checked against the system's trusted roots
    (GKE's DNS endpoint has a publicly trusted certificate)."""
    exec_spec: dict[str, Any] = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": command,
        "args": args,
        "interactiveMode": "IfAvailable",
        "provideClusterInfo": False,
    }
    if env:
        exec_spec["env"] = [{"name": k, "value": v} for k, v in sorted(env.items())]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server, **({"certificate-authority-data": ca_data} if ca_data else {})}}],
        "users": [{"name": context, "user": {"exec": exec_spec}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        "current-context": context,
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)
