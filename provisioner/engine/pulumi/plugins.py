"""The resource plugins a stack's program needs, at the versions its Python SDKs expect.

Installed before the first operation of a provider (not left to Pulumi's own install on
demand, which picks the newest plugin, not the one the installed SDK registers with).
Which plugins each cloud's program uses are facts (recipes/facts/<cloud>.py).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
from pathlib import Path
from typing import Any

from recipes import facts

from provisioner.engine import EngineError
from provisioner.engine.pulumi.messages import command_output, limit, stderr_errors


def community_plugins() -> dict[str, tuple[str, str]]:
    """Every community plugin any cloud's program uses: name -> (SDK distribution, plugin server)."""
    return {name: source for provider in facts.PROVIDERS for name, source in facts.of(provider).COMMUNITY_PLUGINS.items()}


def plugin_distribution(plugin: str) -> str:
    """The Python SDK distribution that ships the resource plugin `plugin`."""
    community = community_plugins()
    if plugin in community:
        return community[plugin][0]
    return "pulumi_" + plugin.replace("-", "_")


def plugin_version(plugin: str) -> str:
    """The plugin version ("v1.2.3") matching the installed Python SDK for `plugin`."""
    dist = plugin_distribution(plugin)
    # The SDK's own pulumi-plugin.json is what it registers resources with; found without importing the SDK.
    spec = importlib.util.find_spec(dist)
    for location in (spec.submodule_search_locations or []) if spec else []:
        try:
            data = json.loads((Path(location) / "pulumi-plugin.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("version"):
            return "v" + str(data["version"]).lstrip("v")
    try:
        return "v" + importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        raise EngineError(
            f"the Python package {dist} is not installed; it is needed for the {plugin} resources "
            f"(pip install {dist.replace('_', '-')})"
        ) from None


def required_plugins(provider: str) -> list[tuple[str, str]]:
    """(plugin, "vX.Y.Z") for every resource plugin a `provider` stack needs."""
    if provider not in facts.PROVIDERS:
        raise EngineError(f"no Pulumi plugins known for provider {provider!r}")
    return [(name, plugin_version(name)) for name in facts.of(provider).PULUMI_PLUGINS]


def install_missing(workspace: Any, provider: str) -> None:
    """Install into the workspace's Pulumi the plugins a `provider` stack needs that it lacks."""
    wanted = required_plugins(provider)
    servers = {name: server for name, (_, server) in facts.of(provider).COMMUNITY_PLUGINS.items()}
    try:
        have = {(p.name, (p.version or "").lstrip("v")) for p in workspace.list_plugins() if p.kind == "resource"}
    except (KeyError, ValueError, TypeError):  # a `plugin ls --json` this SDK cannot parse: install anyway
        have = set()
    for name, version in wanted:
        if (name, version.lstrip("v")) in have:
            continue
        try:
            if name in servers:
                workspace.install_plugin_from_server(name, version, servers[name])
            else:
                workspace.install_plugin(name, version)
        except Exception as exc:
            from pulumi.automation import CommandError

            if not isinstance(exc, CommandError):
                raise
            stdout, stderr = command_output(exc)
            raise EngineError(
                limit(f"could not install the Pulumi {name} plugin {version}:", stderr_errors(stderr, stdout))
            ) from exc
