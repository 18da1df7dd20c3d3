"""The canonical outputs every provider exports, and the rules for reading them.

This schema is the contract between the Pulumi programs and everything
downstream (registry, exporters, `recipe outputs`): those never look at a
provider-specific key. Which fields are secrets is declared here, once, so a
secret is recognised as such whatever Pulumi's own secret flag says. What each
value must look like is data too (`VALUES`): what our programs emit, per cloud where
they differ, so an outputs file of another program (`recipe register`) is refused
with the key and an example rather than exported as something it is not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import BadInput
from .spec import DEPLOYERS

MASK = "********"
TOP_LEVEL = ("provider", "region", "stack_name")


@dataclass(frozen=True)
class Field:
    name: str
    secret: bool = False
    required: bool = True


SCHEMA: dict[str, tuple[Field, ...]] = {
    # `port_forward`: the command a `--expose port-forward` stack's localhost URLs need running (kubernetes).
    "cluster": (Field("name"), Field("endpoint"), Field("kubeconfig", secret=True), Field("context"),
                Field("port_forward", required=False)),
    # `account` is the Azure storage account that holds the container. `endpoint`: the S3 API of an
    # S3-compatible bucket (the `kubernetes` provider's), as the stack's pods reach it; the keys: where we
    # generated them (the in-cluster store), absent where they are the user's own (--bucket-secret).
    "bucket": (Field("name"), Field("uri"), Field("account", required=False), Field("endpoint", required=False),
               Field("access_key_id", secret=True, required=False),
               Field("secret_access_key", secret=True, required=False)),
    "registry": (Field("uri"),),
    # `ca_certificate`: the PEM of the stack's own CA that signed the front door's certificate
    # (recipes/kubernetes/ingress/tls.py); absent when a public CA (Let's Encrypt, --domain) did.
    "tracker": (Field("flavor"), Field("uri"), Field("username"), Field("password", secret=True),
                Field("ca_certificate", required=False)),
    # `storage_secret`: the Secret in the models namespace that holds the bucket's keys for the model servers'
    # storage initializer, where the cluster gives pods none (the `kubernetes` provider); with KServe, the
    # ServiceAccount an InferenceService names to get it (`storage_service_account`). Names, not values.
    "deployer": (Field("flavor"), Field("namespace"), Field("base_url"), Field("ca_certificate", required=False),
                 Field("storage_secret", required=False), Field("storage_service_account", required=False)),
}
SECRET_PATHS: tuple[tuple[str, str], ...] = tuple(
    (component, f.name) for component, fields in SCHEMA.items() for f in fields if f.secret
)


@dataclass(frozen=True)
class Value:
    """What one output must be: a regex the whole value matches (`{region}`: the stack's region)
    or a reader ("kubeconfig"), and the expectation an error states, with an example."""

    expected: str
    pattern: str | None = None
    reader: str | None = None


_HOST = r"[^\s/?#@]+"  # a host[:port]; the rest of a URL is the server's business
PEM = Value("a PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)",
            r"\s*-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\s*")
HTTP_URL = Value("an http(s) URL (e.g. https://203.0.113.7:5000)", rf"https?://{_HOST}(?:[/?#][\s\S]*)?")
ANY = "*"
K8S_NAME = Value("a Kubernetes object name (DNS-1123 subdomain, e.g. model-storage)",
                 r"[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?")
# By (component, field), then by provider (ANY: every cloud). What the programs emit: buckets in
# recipes/<cloud>/bucket.py, registries in registry.py (ECR's host, Artifact Registry's repository
# path, ACR's login server), endpoints in cluster.py, the rest in recipes/kubernetes/.
VALUES: dict[tuple[str, str], dict[str, Value]] = {
    ("cluster", "endpoint"): {ANY: Value("an https URL (e.g. https://203.0.113.7)", rf"https://{_HOST}(?:/[\s\S]*)?"),
                              # the user's own cluster, as their kubeconfig reaches it (a laptop's may be http)
                              "kubernetes": Value("an http(s) URL (e.g. https://127.0.0.1:6443)",
                                                  rf"https?://{_HOST}(?:/[\s\S]*)?")},
    ("cluster", "port_forward"): {"kubernetes": Value(
        "a kubectl port-forward command (e.g. kubectl port-forward -n istio-system svc/ingress-lb 8443:443)",
        r"kubectl (?:--context \S+ )?port-forward -n [a-z0-9-]+ svc/[a-z0-9-]+(?: \d+:\d+)+")},
    ("cluster", "kubeconfig"): {ANY: Value("a kubeconfig (YAML: apiVersion v1, kind Config, a context named by "
                                           "'cluster.context')", reader="kubeconfig")},
    ("bucket", "uri"): {
        "aws": Value("an s3:// URI (e.g. s3://ml-dev-artifacts-abc123)", r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"),
        "gcp": Value("a gs:// URI (e.g. gs://ml-dev-artifacts-abc123)", r"gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]"),
        "azure": Value("an az:// URI of a blob container (e.g. az://artifacts)", r"az://[a-z0-9][a-z0-9-]{1,61}[a-z0-9]"),
        # an S3-compatible bucket: the in-cluster store's, or the user's (--bucket)
        "kubernetes": Value("an s3:// URI (e.g. s3://ml-local-artifacts)", r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"),
    },
    ("bucket", "account"): {"azure": Value("a storage account name (e.g. stmldevabc123)", r"[a-z0-9]{3,24}")},
    ("bucket", "endpoint"): {"kubernetes": HTTP_URL},
    ("registry", "uri"): {
        "aws": Value("the ECR registry host of {region}, no scheme (e.g. 123456789012.dkr.ecr.{region}.amazonaws.com)",
                     r"\d{12}\.dkr\.ecr\.{region}\.amazonaws\.com"),
        "gcp": Value("an Artifact Registry repository in {region}, no scheme (e.g. {region}-docker.pkg.dev/my-project/ml-dev)",
                     r"{region}-docker\.pkg\.dev/[a-z][a-z0-9-]{4,28}[a-z0-9]/[a-z][a-z0-9-]{0,62}"),
        # `-<hash>`: a registry with a domain name label scope (our program leaves the default, none).
        "azure": Value("an ACR login server, no scheme (e.g. crmldevabc123.azurecr.io)",
                       r"[a-z0-9]{5,50}(?:-[a-z0-9]{1,16})?\.azurecr\.io"),
        # the user's registry (--registry, recipes/spec_values.py REGISTRY_RE): HOST[:PORT][/PATH]
        "kubernetes": Value("a registry, HOST[:PORT][/PATH], no scheme (e.g. registry.example.com/ml)",
                            r"[A-Za-z0-9][A-Za-z0-9.-]*(?::\d{1,5})?(?:/[a-z0-9._-]+)*"),
    },
    ("tracker", "flavor"): {ANY: Value("mlflow (the tracker stack-recipes deploys)", r"mlflow")},
    ("tracker", "uri"): {ANY: HTTP_URL},
    ("tracker", "ca_certificate"): {ANY: PEM},
    ("deployer", "flavor"): {ANY: Value(f"{' or '.join(DEPLOYERS)} (the model deployers stack-recipes deploys)",
                                        "|".join(DEPLOYERS))},
    ("deployer", "base_url"): {ANY: HTTP_URL},
    ("deployer", "ca_certificate"): {ANY: PEM},
    ("deployer", "storage_secret"): {ANY: K8S_NAME},
    ("deployer", "storage_service_account"): {ANY: K8S_NAME},
}


class OutputsError(BadInput, ValueError):
    """Outputs that do not follow the canonical schema; the message names the key."""


def validate(data: Any, *, source: str = "outputs", with_secrets: bool = True, forms: bool = True) -> dict[str, Any]:
    """Check a canonical-outputs mapping and return a normalised copy.

    Components absent from the mapping are simply not part of the stack; a
    component that is present must carry every required field (without
    `with_secrets`, the secret ones may be missing: a record's public copy).
    `forms`: also each value's form (`VALUES`). Off only where our own program's outputs of a
    deploy that succeeded are recorded: a form the real cloud emits and the table does not
    know must not turn a live stack into a failed one (tests hold the program to the table).
    """
    from . import facts, regions

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
    if (problem := regions.check_region(out["provider"], out["region"])) is not None:  # as a spec's region
        raise OutputsError(f"{source}: 'region': {problem}")
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
    for (component, name), by_cloud in (VALUES.items() if forms else ()):
        value = out.get(component, {}).get(name)
        rule = by_cloud.get(out["provider"]) or by_cloud.get(ANY)
        # A secret is checked where it enters (register, deploy: with_secrets); the public-copy
        # checks (records, exports) are no reader of secrets.
        if value is None or rule is None or ((component, name) in SECRET_PATHS and not with_secrets):
            continue
        problem = _value_problem(rule, value, out)
        if problem:
            shown = "" if (component, name) in SECRET_PATHS else f" is {_short(value)};"
            raise OutputsError(f"{source}: '{component}.{name}'{shown} {problem}")
    return out


def _value_problem(rule: Value, value: str, data: Mapping[str, Any]) -> str | None:
    """What is wrong with `value` under `rule` (one line), or None."""
    if rule.reader == "kubeconfig":
        return _kubeconfig_problem(value, data["cluster"].get("context", ""), rule)
    if re.fullmatch(rule.pattern.replace("{region}", re.escape(data["region"])), value):
        return None
    return "expected " + rule.expected.replace("{region}", data["region"])


def _kubeconfig_problem(text: str, context: str, rule: Value) -> str | None:
    import yaml

    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = " ".join(str(getattr(exc, "problem", None) or "invalid").split())
        return f"is not YAML ({problem}{where}); expected {rule.expected}"
    except (ValueError, TypeError, RecursionError):  # a date that is no date, nesting too deep
        return f"is unreadable YAML; expected {rule.expected}"
    if not isinstance(config, Mapping) or config.get("apiVersion") != "v1" or config.get("kind") != "Config":
        return f"is not a kubeconfig; expected {rule.expected}"
    contexts = config.get("contexts")
    names = [c.get("name") for c in contexts if isinstance(c, Mapping)] if isinstance(contexts, list) else []
    if context not in names:
        return f"has no context named {context!r} ('cluster.context'); expected {rule.expected}"
    return None


def _short(value: str, limit: int = 60) -> str:
    return repr(value) if len(value) <= limit else repr(value[:limit]) + "..."


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
