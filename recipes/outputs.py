"""The canonical outputs every provider exports, and the rules for reading them.

This schema is the contract between the Pulumi programs and everything
downstream (registry, exporters, `recipe outputs`): those never look at a
provider-specific key. Which fields are secrets is declared here, once, so a
secret is recognised as such whatever Pulumi's own secret flag says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import BadInput

MASK = "********"
TOP_LEVEL = ("provider", "region", "stack_name")


@dataclass(frozen=True)
class Field:
    name: str
    secret: bool = False
    required: bool = True


SCHEMA: dict[str, tuple[Field, ...]] = {
    "cluster": (Field("name"), Field("endpoint"), Field("kubeconfig", secret=True), Field("context")),
    # `account` is the Azure storage account that holds the container.
    "bucket": (Field("name"), Field("uri"), Field("account", required=False)),
    "registry": (Field("uri"),),
    # `ca_certificate`: the PEM of the stack's own CA that signed the front door's certificate
    # (recipes/kubernetes/ingress/tls.py); absent when a public CA (Let's Encrypt, --domain) did.
    "tracker": (Field("flavor"), Field("uri"), Field("username"), Field("password", secret=True),
                Field("ca_certificate", required=False)),
    "deployer": (Field("flavor"), Field("namespace"), Field("base_url"), Field("ca_certificate", required=False)),
}
SECRET_PATHS: tuple[tuple[str, str], ...] = tuple(
    (component, f.name) for component, fields in SCHEMA.items() for f in fields if f.secret
)


class OutputsError(BadInput, ValueError):
    """Outputs that do not follow the canonical schema; the message names the key."""


def validate(data: Any, *, source: str = "outputs", with_secrets: bool = True) -> dict[str, Any]:
    """Check a canonical-outputs mapping and return a normalised copy.

    Components absent from the mapping are simply not part of the stack; a
    component that is present must carry every required field (without
    `with_secrets`, the secret ones may be missing: a record's public copy).
    """
    from . import facts

    if not isinstance(data, Mapping):
        raise OutputsError(f"{source}: expected a JSON object of stack outputs")
    out: dict[str, Any] = {}
    for key in TOP_LEVEL:
        value = data.get(key)
        if not isinstance(value, str) or not value:
            raise OutputsError(f"{source}: missing key {key!r} (a non-empty string)")
        out[key] = value
    if out["provider"] not in facts.PROVIDERS:  # nothing downstream knows how to use another cloud's stack
        raise OutputsError(f"{source}: unknown provider {out['provider']!r}; stack-recipes knows {', '.join(facts.PROVIDERS)}")
    for component, fields in SCHEMA.items():
        if component not in data or data[component] is None:
            continue
        section = data[component]
        if not isinstance(section, Mapping):
            raise OutputsError(f"{source}: {component!r} must be an object with keys {', '.join(f.name for f in fields)}")
        clean: dict[str, Any] = {}
        for f in fields:
            value = section.get(f.name)
            if value is None or value == "":
                if f.required and (with_secrets or not f.secret):
                    raise OutputsError(f"{source}: missing key '{component}.{f.name}'")
                continue
            if not isinstance(value, str):
                raise OutputsError(f"{source}: '{component}.{f.name}' must be a string")
            clean[f.name] = value
        out[component] = clean
    if not any(c in out for c in SCHEMA):
        raise OutputsError(f"{source}: no stack components found (expected some of: {', '.join(SCHEMA)})")
    return out


def components(data: Mapping[str, Any]) -> list[str]:
    return [c for c in SCHEMA if c in data]


def public(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy without secret values: what may be stored or shown unmasked."""
    return _map_secrets(data, drop=True)


def masked(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy with secret values replaced by a mask: what is shown by default."""
    return _map_secrets(data, drop=False)


def secrets(data: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Only the secret values, by component."""
    out: dict[str, dict[str, str]] = {}
    for component, name in SECRET_PATHS:
        value = (data.get(component) or {}).get(name)
        if value:
            out.setdefault(component, {})[name] = value
    return out


def merge_secrets(data: Mapping[str, Any], secret_values: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """Put secret values back into a public copy (for --show-secrets)."""
    out = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in data.items()}
    for component, values in secret_values.items():
        if isinstance(out.get(component), dict):
            out[component].update({k: v for k, v in values.items() if (component, k) in SECRET_PATHS})
    return out


def _map_secrets(data: Mapping[str, Any], *, drop: bool) -> dict[str, Any]:
    out = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in data.items()}
    for component, name in SECRET_PATHS:
        section = out.get(component)
        if isinstance(section, dict) and name in section:
            if drop:
                del section[name]
            else:
                section[name] = MASK
    return out


def export(values: Mapping[str, Any]) -> dict[str, Any]:
    """Export canonical outputs from a Pulumi program (values may be Outputs).

    Secret fields are wrapped with `pulumi.Output.secret` here, so no
    provider can forget to.
    """
    import pulumi

    exported: dict[str, Any] = {}
    for key in TOP_LEVEL:
        exported[key] = values[key]
    for component, fields in SCHEMA.items():
        section = values.get(component)
        if section is None:
            continue
        item: dict[str, Any] = {}
        for f in fields:
            if f.name not in section:
                if f.required:
                    raise KeyError(f"canonical output {component}.{f.name} was not provided")
                continue
            item[f.name] = pulumi.Output.secret(section[f.name]) if f.secret else section[f.name]
        exported[component] = item
    for key, value in exported.items():
        pulumi.export(key, value)
    return exported
