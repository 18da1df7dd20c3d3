"""StackSpec: the validated description of one stack.

Every way of describing a stack (CLI flags, a stack file, Pulumi stack config)
ends here, so every check runs before any cloud call and every error names the
field, the bad value and how to fix it. This module imports nothing from
Pulumi: the CLI validates input without loading a cloud SDK.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from . import naming, regions
from .errors import BadInput

PROVIDERS: tuple[str, ...] = ("aws", "gcp", "azure")
COMPONENTS: tuple[str, ...] = ("cluster", "bucket", "registry", "tracker", "deployer")
# What a component cannot run without.
NEEDS: dict[str, tuple[str, ...]] = {"tracker": ("cluster", "bucket"), "deployer": ("cluster",)}
DEPLOYERS: tuple[str, ...] = ("seldon", "kserve")
NETWORKS: tuple[str, ...] = ("private", "public")
MAX_NODES_LIMIT = 100

# Profiles: defaults for sizes and cost-bearing options; every field can still be set
# on its own (flags and files win over the profile).
# dev (the default): sized for a small team, two or three people training and serving
# small models: one 2 vCPU / 8 GiB node, on spot capacity where the cluster's only node
# pool may be spot (EKS, GKE; an AKS system pool may not), zonal GKE (free tier).
# prod: on-demand nodes, two or more (one per zone on regional GKE) of 4 vCPU / 16 GiB,
# a regional GKE control plane, customer-managed keys.
PROFILES = ("dev", "prod")
PROFILE_DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {
    "dev": {
        "aws": {"node_type": "t3.large", "min_nodes": 1, "max_nodes": 3, "spot": True},
        "gcp": {"node_type": "e2-standard-2", "min_nodes": 1, "max_nodes": 3, "spot": True},
        "azure": {"node_type": "Standard_D2s_v5", "min_nodes": 1, "max_nodes": 3, "spot": False},
    },
    "prod": {
        "aws": {"node_type": "m6i.xlarge", "min_nodes": 2, "max_nodes": 6, "spot": False, "kms": True},
        "gcp": {"node_type": "e2-standard-4", "min_nodes": 1, "max_nodes": 3, "spot": False, "kms": True, "regional": True},
        "azure": {"node_type": "Standard_D4s_v5", "min_nodes": 2, "max_nodes": 6, "spot": False, "kms": True},
    },
}
# Clouds whose only node pool may run on spot capacity.
SPOT_PROVIDERS = ("aws", "gcp")
NODE_TYPE_RE: dict[str, re.Pattern[str]] = {
    "aws": re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$"),
    "gcp": re.compile(r"^[a-z][a-z0-9]*-[a-z0-9-]+$"),
    "azure": re.compile(r"^Standard_[A-Za-z0-9_]+$"),
}
NODE_TYPE_EXAMPLE = {"aws": "t3.large", "gcp": "e2-standard-2", "azure": "Standard_D2s_v5"}
# Network modes each cloud offers. AKS nodes never get public IPs (outbound goes
# through the cluster's own load balancer), so Azure has only the private mode.
NETWORKS_BY_PROVIDER: dict[str, tuple[str, ...]] = {"aws": NETWORKS, "gcp": NETWORKS, "azure": ("private",)}
GCP_PROJECT_RE = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
# Fields that only mean something on one cloud.
PROVIDER_ONLY = {"project": "gcp", "zone": "gcp", "regional": "gcp"}
K8S_VERSION_RE = re.compile(r"^1\.\d{2}$")
RESERVED_TAGS = (naming.STACK_TAG, naming.MANAGED_BY_TAG)
# --admin: who besides the deployer administers the cluster and uses the bucket and registry,
# as each cloud names a principal (see README, "Team access").
_IAM_NAME = r"[\w+=,.@-]+"
AWS_ADMIN_RE = re.compile(rf"^arn:aws:iam::(\d{{12}}):(role|user)/((?:{_IAM_NAME}/)*{_IAM_NAME})$")
AWS_SESSION_RE = re.compile(rf"^arn:aws:sts::(\d{{12}}):assumed-role/({_IAM_NAME})/[^/]+$")
AWS_SSO_PATH_RE = re.compile(r"^aws-reserved/sso\.amazonaws\.com/(?:[a-z0-9-]+/)?")
GCP_ADMIN_RE = re.compile(r"^(user|group|serviceAccount):([^@\s:]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)$")
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
AZURE_ADMIN_RE = re.compile(rf"^(?:(user|group|serviceprincipal):)?({_UUID})$", re.IGNORECASE)
AZURE_ADMIN_KINDS = {"user": "user", "group": "group", "serviceprincipal": "servicePrincipal"}


class SpecError(BadInput, ValueError):
    """Input that does not describe a valid stack. The message is one line for the user."""


@dataclass(frozen=True)
class StackSpec:
    provider: str
    name: str
    region: str
    components: tuple[str, ...] = COMPONENTS
    profile: str = "dev"
    node_type: str = ""
    min_nodes: int = 1
    max_nodes: int = 3
    # Nodes on spot capacity: far cheaper, but the cloud may reclaim a node (pods move).
    spot: bool = False
    network: str = "private"
    allow_cidrs: tuple[str, ...] = ()
    deployer: str = "seldon"
    kubernetes_version: str | None = None
    immutable_tags: bool = False
    suffix: str = ""
    tags: tuple[tuple[str, str], ...] = ()
    # Customer-managed keys for the bucket, the registry and the cluster's secrets (costs money).
    kms: bool = False
    # The Kubernetes API reachable only from inside the network (deploy from there: VPN, bastion).
    private_endpoint: bool = False
    # GCP only: the project, the zone of a zonal cluster, and regional instead of zonal.
    project: str | None = None
    zone: str | None = None
    regional: bool = False
    # Principals given cluster-admin and the operators' data access besides the deployer
    # (--admin): IAM role/user ARNs, IAM members, or Entra object ids (see `_admins`).
    admins: tuple[str, ...] = ()
    # Not a stack-file field: set for the update that precedes `destroy --delete-data`,
    # so the bucket and registry stop being retained and can be emptied.
    delete_data: bool = field(default=False, compare=False)
    # Not a stack-file field either: a backup id (a lowercase UTC stamp, e.g. 20261201t061500z)
    # for the update that backs up the tracker's database to the bucket (kubernetes/history.py).
    tracker_backup: str = field(default="", compare=False)

    def has(self, component: str) -> bool:
        return component in self.components

    @property
    def names(self) -> naming.Names:
        """The stack's resource names; with no suffix assigned yet, global ones show the placeholder."""
        return naming.Names(self.name, self.suffix)

    def labels(self) -> dict[str, str]:
        """Tags/labels every resource of the stack carries."""
        return {**dict(self.tags), naming.STACK_TAG: self.name, naming.MANAGED_BY_TAG: naming.MANAGED_BY}

    def to_mapping(self) -> dict[str, Any]:
        """The stack-file form of this spec; `load_spec` of it gives the same spec back."""
        data = asdict(self)
        data.pop("delete_data")
        data.pop("tracker_backup")
        for key, provider in PROVIDER_ONLY.items():
            if provider != self.provider:
                data.pop(key)
        data["components"] = list(self.components)
        data["allow_cidrs"] = list(self.allow_cidrs)
        data["admins"] = list(self.admins)
        data["tags"] = dict(self.tags)
        if not self.suffix:
            data.pop("suffix")  # not assigned yet (a stack that was never deployed)
        return data

    def with_changes(self, **changes: Any) -> StackSpec:
        return replace(self, **changes)


# --------------------------------------------------------------------------
# Loading

FILE_FIELDS = (
    "provider", "name", "region", "location", "components", "without", "profile", "spot", "node_type", "min_nodes",
    "max_nodes", "network", "allow_cidrs", "deployer", "kubernetes_version",
    "immutable_tags", "suffix", "tags", "project", "zone", "regional", "kms", "private_endpoint", "admins",
)


@dataclass(frozen=True)
class Layer:
    """One source of spec values: `origin` says where they came from in errors."""

    origin: str  # "flags", a file path, or "pulumi config"
    values: Mapping[str, Any]
    notes: tuple[str, ...] = ()  # what the user should know about how the source was read


# Stack-file fields whose command-line flag is not simply --field-name.
FLAG_NAMES = {"allow_cidrs": "--allow-cidr", "tags": "--tag", "provider": "provider", "admins": "--admin"}


def _label(key: str, origin: str) -> str:
    if origin == "flags":
        return FLAG_NAMES.get(key, f"--{key.replace('_', '-')}")
    return f"{origin}: {key}"


def load_spec(*layers: Layer, recorded: bool = False) -> StackSpec:
    """Merge layers (later wins) and validate them into a StackSpec.

    `recorded`: the spec of a stack as it was deployed (its registry record). Rules that
    gate a new deploy (the Kubernetes versions today's charts support) do not apply to it:
    a stack deployed under older rules must still be shown, exported and destroyed."""
    merged: dict[str, tuple[Any, str]] = {}
    for layer in layers:
        if not isinstance(layer.values, Mapping):
            raise SpecError(f"{layer.origin}: expected a mapping of fields, got {_kind(layer.values)}")
        for key, value in layer.values.items():
            if not isinstance(key, str) or key not in FILE_FIELDS:
                raise SpecError(
                    f"{layer.origin}: unknown field {key!r}; known fields: {', '.join(FILE_FIELDS)}"
                )
            if value is None:
                continue
            if key == "provider" and "provider" in merged:
                prev, prev_origin = merged["provider"]
                if str(value) != str(prev):
                    raise SpecError(
                        f"{layer.origin} says provider {value!r} but {prev_origin} says {prev!r}; "
                        "use one provider"
                    )
            merged[key] = (value, layer.origin)
    return _validate(merged, recorded)


def _validate(raw: dict[str, tuple[Any, str]], recorded: bool = False) -> StackSpec:
    def get(key: str) -> tuple[Any, str] | None:
        return raw.get(key)

    provider_raw = get("provider")
    if provider_raw is None:
        raise SpecError(f"no provider given; use one of: {', '.join(PROVIDERS)} (e.g. `recipe plan aws`)")
    provider = _choice(provider_raw, "provider", PROVIDERS)

    name = _string(get("name"), "name", "ml-dev")
    if (problem := naming.check_stack_name(name)) is not None:
        raise SpecError(_where(get("name"), "name") + problem)

    for key, only in PROVIDER_ONLY.items():
        if get(key) is not None and provider != only:
            raise SpecError(_where(get(key), key) + f"only applies to {only} stacks (this one is {provider})")
    region_raw = _region_raw(get("region"), get("location"))
    region_key = "location" if get("region") is None and get("location") is not None else "region"
    region = _string(region_raw, region_key, regions.DEFAULT_REGION[provider])
    if (problem := regions.check_region(provider, region)) is not None:
        raise SpecError(_where(region_raw, region_key) + problem)

    profile = _choice(get("profile"), "profile", PROFILES, default="dev")
    defaults = PROFILE_DEFAULTS[profile][provider]
    project = zone = None
    regional = False
    if provider == "gcp":
        project = _string(get("project"), "project", "")
        if not project:
            raise SpecError(
                "gcp stacks need a project: pass --project, set GOOGLE_CLOUD_PROJECT, "
                "or `gcloud config set project PROJECT_ID`"
            )
        if not GCP_PROJECT_RE.match(project):
            raise SpecError(_where(get("project"), "project") + f"{project!r} is not a project ID (6-30 lowercase letters, digits, hyphens)")
        # A zone given with the prod profile means a zonal cluster in that zone.
        regional = _bool(get("regional"), "regional", defaults.get("regional", False) and get("zone") is None)
        zone = _string(get("zone"), "zone", regions.default_zone(region))
        if not re.fullmatch(re.escape(region) + r"-[a-z]", zone):
            raise SpecError(_where(get("zone"), "zone") + f"{zone!r} is not a zone of {region} (e.g. {regions.default_zone(region)})")
        if regional and get("zone") is not None:
            raise SpecError(_where(get("zone"), "zone") + "a regional cluster spans every zone of its region; drop --zone or --regional")

    components = _components(get("components"), get("without"))

    node_type = _string(get("node_type"), "node_type", defaults["node_type"])
    if not NODE_TYPE_RE[provider].match(node_type):
        raise SpecError(
            _where(get("node_type"), "node_type")
            + f"{node_type!r} is not a {provider} machine type (e.g. {NODE_TYPE_EXAMPLE[provider]})"
        )
    min_nodes = _int(get("min_nodes"), "min_nodes", defaults["min_nodes"])
    max_nodes = _int(get("max_nodes"), "max_nodes", defaults["max_nodes"])
    if min_nodes < 1:
        raise SpecError(_where(get("min_nodes"), "min_nodes") + f"must be at least 1 (got {min_nodes}): the tracker and deployer need a node")
    if max_nodes > MAX_NODES_LIMIT:
        raise SpecError(_where(get("max_nodes"), "max_nodes") + f"must be at most {MAX_NODES_LIMIT} (got {max_nodes})")
    if min_nodes > max_nodes:
        raise SpecError(
            f"min_nodes ({min_nodes}) is greater than max_nodes ({max_nodes}); "
            f"raise --max-nodes or lower --min-nodes"
        )

    network = _choice(get("network"), "network", NETWORKS_BY_PROVIDER[provider], default="private")
    if provider == "gcp" and network == "public" and _bool(get("private_endpoint"), "private_endpoint", False):
        raise SpecError("on gcp a private endpoint needs private nodes: drop --network public or --private-endpoint")
    allow_cidrs = tuple(_cidr(c, get("allow_cidrs")) for c in _list(get("allow_cidrs"), "allow_cidrs"))
    if provider == "aws" and network == "public" and allow_cidrs and "tracker" in components:
        # Pipeline pods reach MLflow at its load balancer's public hostname; without a NAT
        # gateway there is no stable address of theirs to admit (GKE and AKS need none:
        # their load balancers are addressed by IP, and in-cluster traffic never leaves).
        raise SpecError(
            "--allow-cidr with --network public would lock the cluster's own pipelines out of MLflow "
            "(nodes reach the load balancer from random public IPs): use --network private (the default) "
            "or drop --allow-cidr"
        )
    deployer = _choice(get("deployer"), "deployer", DEPLOYERS, default="seldon")

    k8s_raw = get("kubernetes_version")
    kubernetes_version = None
    if k8s_raw is not None:
        kubernetes_version = _kubernetes_version(k8s_raw, components, deployer, recorded)

    immutable_tags = _bool(get("immutable_tags"), "immutable_tags", False)
    kms = _bool(get("kms"), "kms", defaults.get("kms", False))
    spot = _bool(get("spot"), "spot", defaults["spot"])
    if spot and provider not in SPOT_PROVIDERS:
        raise SpecError(_where(get("spot"), "spot") + f"spot nodes are offered on {', '.join(SPOT_PROVIDERS)}: "
                        "an AKS cluster's system node pool cannot run on spot VMs; drop --spot")
    private_endpoint = _bool(get("private_endpoint"), "private_endpoint", False)
    if private_endpoint and allow_cidrs:
        raise SpecError("--private-endpoint closes the API endpoint to the internet, so --allow-cidr has nothing to open; give one or the other")

    # Empty until the stack's first deploy picks one (operations.assign_suffix).
    suffix = _string(get("suffix"), "suffix", "")
    if suffix and not naming.SUFFIX_RE.match(suffix):
        raise SpecError(_where(get("suffix"), "suffix") + f"{suffix!r} must be 4-8 lowercase letters or digits")

    tags = _tags(get("tags"), provider)
    admins = _admins(get("admins"), provider)

    spec = StackSpec(
        provider=provider, name=name, region=region, components=components,
        profile=profile, spot=spot, node_type=node_type, min_nodes=min_nodes, max_nodes=max_nodes, network=network,
        allow_cidrs=allow_cidrs, deployer=deployer, kubernetes_version=kubernetes_version,
        immutable_tags=immutable_tags, suffix=suffix, tags=tags,
        project=project, zone=zone, regional=regional, kms=kms, private_endpoint=private_endpoint,
        admins=admins,
    )
    try:  # every derived cloud name must be acceptable too
        spec.names.check(provider)
    except naming.InvalidName as exc:
        raise SpecError(str(exc)) from None
    return spec


def _kubernetes_version(raw: tuple[Any, str], components: tuple[str, ...], deployer: str, recorded: bool) -> str:
    """A Kubernetes minor version that every pinned chart the stack deploys supports
    (recipes/kubernetes/versions.py: Istio and the model deployer's charts)."""
    from .kubernetes.versions import kubernetes_range  # no Pulumi: a table of versions

    supported = kubernetes_range(components, deployer)
    pick = f": pick one of {', '.join(supported.versions())}" if supported else ""
    version = _string(raw, "kubernetes_version", "")
    if not K8S_VERSION_RE.match(version):
        # YAML reads an unquoted 1.30 as the number 1.3.
        quote = " (quote it in YAML: \"1.30\", not 1.30)" if isinstance(raw[0], float) else ""
        raise SpecError(_where(raw, "kubernetes_version") + f"{version!r} is not a version like 1.33{quote}{pick}")
    # A stack already deployed is read back from the registry as it was recorded: a version
    # accepted then must not stop its status or destroy (a deploy validates the user's flags).
    if supported is None or recorded:
        return version
    rejecting = supported.rejecting(int(version.split(".")[1]))
    if rejecting:
        pinned = " and ".join(f"{c.label} ({c.describe()})" for c in rejecting)
        raise SpecError(_where(raw, "kubernetes_version") + f"Kubernetes {version} is not supported by the pinned {pinned}{pick}")
    return version


def _region_raw(region: tuple[Any, str] | None, location: tuple[Any, str] | None) -> tuple[Any, str] | None:
    """`location` is Azure's word for region: accepted as an alias, never both different."""
    if region is not None and location is not None and str(region[0]) != str(location[0]):
        raise SpecError(f"region {region[0]!r} and location {location[0]!r} disagree; give one of them")
    return region if region is not None else location


# --------------------------------------------------------------------------
# Field coercion: every branch ends in a value or a SpecError, never a traceback.

def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", bool: "a boolean", int: "a number",
            float: "a number", str: "text"}.get(type(value), type(value).__name__)


def _where(raw: tuple[Any, str] | None, key: str) -> str:
    return _label(key, raw[1] if raw else "flags") + ": "


def _string(raw: tuple[Any, str] | None, key: str, default: str) -> str:
    if raw is None:
        return default
    value, _ = raw
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise SpecError(_where(raw, key) + f"expected text, got {_kind(value)}")
    text = str(value).strip()
    if not text:
        raise SpecError(_where(raw, key) + "must not be empty")
    return text


def _int(raw: tuple[Any, str] | None, key: str, default: int) -> int:
    if raw is None:
        return default
    value, _ = raw
    if isinstance(value, bool):
        raise SpecError(_where(raw, key) + f"expected a whole number, got {_kind(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,6}\s*", value):
        return int(value)
    raise SpecError(_where(raw, key) + f"expected a whole number, got {value!r}")


def _bool(raw: tuple[Any, str] | None, key: str, default: bool) -> bool:
    if raw is None:
        return default
    value, _ = raw
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no"):
        return value.strip().lower() in ("true", "yes")
    raise SpecError(_where(raw, key) + f"expected true or false, got {value!r}")


def _choice(raw: tuple[Any, str] | None, key: str, choices: Iterable[str], default: str | None = None) -> str:
    choices = tuple(choices)
    value = _string(raw, key, default or "")
    if value not in choices:
        raise SpecError(_where(raw, key) + f"{value!r} is not one of: {', '.join(choices)}")
    return value


def _list(raw: tuple[Any, str] | None, key: str) -> list[str]:
    """A list given as a YAML list, or as comma-separated text (flags, Pulumi config)."""
    if raw is None:
        return []
    value, _ = raw
    items: list[Any]
    if isinstance(value, str):
        items = [part for part in (p.strip() for p in value.split(",")) if part]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise SpecError(_where(raw, key) + f"expected a list, got {_kind(value)}")
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise SpecError(_where(raw, key) + f"expected a list of text, found {_kind(item)}")
        out.append(str(item).strip())
    return out


def _components(components_raw: tuple[Any, str] | None, without_raw: tuple[Any, str] | None) -> tuple[str, ...]:
    chosen = set(COMPONENTS)
    if components_raw is not None:
        chosen = set()
        for item in _list(components_raw, "components"):
            if item not in COMPONENTS:
                raise SpecError(_where(components_raw, "components") + f"unknown component {item!r}; components are: {', '.join(COMPONENTS)}")
            chosen.add(item)
    for item in _list(without_raw, "without"):
        if item not in COMPONENTS:
            raise SpecError(_where(without_raw, "without") + f"unknown component {item!r}; components are: {', '.join(COMPONENTS)}")
        chosen.discard(item)
    if not chosen:
        raise SpecError("no components left to deploy; keep at least one of: " + ", ".join(COMPONENTS))
    for component in sorted(chosen):
        missing = [need for need in NEEDS.get(component, ()) if need not in chosen]
        if missing:
            raise SpecError(
                f"the {component} needs the {' and the '.join(missing)}; "
                f"keep {', '.join(missing)} or also pass --without {component}"
            )
    return tuple(c for c in COMPONENTS if c in chosen)


def _cidr(text: str, raw: tuple[Any, str] | None) -> str:
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError:
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise SpecError(_where(raw, "allow_cidrs") + f"{text!r} is not a CIDR like 203.0.113.0/24") from None
        raise SpecError(
            _where(raw, "allow_cidrs") + f"{text!r} has host bits set; did you mean {loose}?"
        ) from None
    if network.version != 4:
        raise SpecError(_where(raw, "allow_cidrs") + f"{text!r} is IPv6; the API endpoint and load balancers take IPv4 ranges")
    return str(network)  # a bare address becomes an explicit /32


_AWS_TAG_RE = re.compile(r"^[\w\s+\-=.:/@]*$")


def _tags(raw: tuple[Any, str] | None, provider: str) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    value, _ = raw
    pairs: list[tuple[Any, Any]]
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, (list, tuple, str)):
        pairs = []
        for item in _list(raw, "tags"):
            key, sep, val = item.partition("=")
            if not sep:
                raise SpecError(_where(raw, "tags") + f"{item!r} is not KEY=VALUE")
            pairs.append((key.strip(), val.strip()))
    else:
        raise SpecError(_where(raw, "tags") + f"expected a mapping of tags, got {_kind(value)}")
    out: dict[str, str] = {}
    for key, val in pairs:
        if not isinstance(key, str) or isinstance(val, (bool, dict, list)) or val is None:
            raise SpecError(_where(raw, "tags") + f"tag {key!r} must map text to text")
        val = str(val)
        if key in RESERVED_TAGS:
            raise SpecError(_where(raw, "tags") + f"tag {key!r} is set by stack-recipes and cannot be overridden")
        problem = _tag_problem(provider, key, val)
        if problem:
            raise SpecError(_where(raw, "tags") + problem)
        out[key] = val
    return tuple(sorted(out.items()))


def _admins(raw: tuple[Any, str] | None, provider: str) -> tuple[str, ...]:
    """--admin principals in the one form each cloud's grants take; duplicates refused."""
    out: list[str] = []
    seen: set[str] = set()
    for item in _list(raw, "admins"):
        admin = _admin(item, provider, raw)
        key = admin.rsplit(":", 1)[-1] if provider == "azure" else admin  # an object id is one principal
        if key in seen:
            raise SpecError(_where(raw, "admins") + f"{item!r} is listed twice")
        seen.add(key)
        out.append(admin)
    return tuple(out)


def _admin(text: str, provider: str, raw: tuple[Any, str] | None) -> str:
    where = _where(raw, "admins")
    if provider == "aws":
        if (session := AWS_SESSION_RE.match(text)) is not None:
            raise SpecError(where + f"{text!r} is a role session, not a principal: give the role's ARN, "
                            f"arn:aws:iam::{session[1]}:role/{session[2]} (with its path, if it has one)")
        match = AWS_ADMIN_RE.match(text)
        if match is None:
            raise SpecError(where + f"{text!r} is not an IAM role or user ARN "
                            "(e.g. arn:aws:iam::123456789012:role/ml-admins)")
        if match[2] == "role" and (sso := AWS_SSO_PATH_RE.match(match[3])) is not None:
            # EKS matches an access entry against the role ARN without the SSO path.
            raise SpecError(where + "EKS access entries take an IAM Identity Center (SSO) role's ARN without its "
                            f"{sso[0]} path: use arn:aws:iam::{match[1]}:role/{match[3][sso.end():]}")
        return text
    if provider == "gcp":
        match = GCP_ADMIN_RE.match(text)
        if match is None:
            hint = f"user:{text}" if "@" in text and ":" not in text else "user:alice@example.com"
            raise SpecError(where + f"{text!r} is not an IAM member: write user:EMAIL, group:EMAIL or "
                            f"serviceAccount:EMAIL (e.g. {hint})")
        return f"{match[1]}:{match[2].lower()}"
    match = AZURE_ADMIN_RE.match(text)
    if match is None:
        lookup = f" (az ad user show --id {text} --query id -o tsv)" if "@" in text else ""
        raise SpecError(where + f"{text!r} is not an Entra object id: give the principal's object id{lookup}, "
                        "optionally as user:<id>, group:<id> or servicePrincipal:<id>")
    kind = AZURE_ADMIN_KINDS[match[1].lower()] + ":" if match[1] else ""
    return kind + match[2].lower()


_GCP_LABEL_KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_GCP_LABEL_VALUE_RE = re.compile(r"^[a-z0-9_-]{0,63}$")
_AZURE_TAG_FORBIDDEN = set('<>%&\\?/')


def _tag_problem(provider: str, key: str, value: str) -> str | None:
    if provider == "gcp":
        if not _GCP_LABEL_KEY_RE.match(key) or not _GCP_LABEL_VALUE_RE.match(value):
            return (f"label {key}={value!r}: GCP labels are lowercase letters, digits, _ and -, "
                    "at most 63 characters, and keys start with a letter")
        return None
    if provider == "azure":
        if not 1 <= len(key) <= 512 or len(value) > 256:
            return f"tag {key!r}: keys are 1-512 characters and values at most 256"
        if _AZURE_TAG_FORBIDDEN & set(key):
            return f"tag {key!r}: keys cannot contain < > % & \\ ? /"
        return None
    if provider == "aws":
        if not 1 <= len(key) <= 128 or len(value) > 256:
            return f"tag {key!r}: keys are 1-128 characters and values at most 256"
        if key.lower().startswith("aws:"):
            return f"tag {key!r}: the aws: prefix is reserved by AWS"
        if not _AWS_TAG_RE.match(key) or not _AWS_TAG_RE.match(value):
            return f"tag {key!r}: use letters, digits, spaces and + - = . _ : / @ only"
    return None
