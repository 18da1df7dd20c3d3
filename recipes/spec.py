"""StackSpec: the validated description of one stack.

Every way of describing a stack (CLI flags, a stack file, Pulumi stack config)
ends here, so every check runs before any cloud call and every error names the
field, the bad value and how to fix it. This module imports nothing from
Pulumi: the CLI validates input without loading a cloud SDK.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from . import facts, naming, regions, spec_values
from .spec_values import Raw, SpecError, boolean, choice, kind_of, string, tags, text_list, where, whole_number
from .spec_values import admins as admin_principals
from .spec_values import cidr as ipv4_cidr
from .stack_fields import CLOUD_ONLY, CLOUDS, FIELDS, FILE_FIELDS, PROVIDERS

__all__ = ["COMPONENTS", "FILE_FIELDS", "PROVIDERS", "Layer", "SpecError", "StackSpec", "load_spec"]

COMPONENTS: tuple[str, ...] = ("cluster", "bucket", "registry", "tracker", "deployer")
# What a component cannot run without.
NEEDS: dict[str, tuple[str, ...]] = {"tracker": ("cluster", "bucket"), "deployer": ("cluster",)}
DEPLOYERS: tuple[str, ...] = ("seldon", "kserve")
MAX_NODES_LIMIT = 100

# Profiles: defaults for sizes and cost-bearing options (each cloud's PROFILE_DEFAULTS in
# recipes/facts/); every field can still be set on its own (flags and files win over the profile).
# dev (the default): sized for a small team, two or three people training and serving
# small models: one 2 vCPU / 8 GiB node, on spot capacity where the cluster's only node
# pool may be spot (EKS, GKE; an AKS system pool may not), zonal GKE (free tier).
# prod: on-demand nodes, two or more (one per zone on regional GKE) of 4 vCPU / 16 GiB,
# a regional GKE control plane, customer-managed keys.
PROFILES = ("dev", "prod")
# Clouds whose only node pool may run on spot capacity.
SPOT_PROVIDERS = tuple(p for p in PROVIDERS if facts.of(p).SPOT_NODES)
K8S_VERSION_RE = re.compile(r"^1\.\d{2}$")


@dataclass(frozen=True)
class StackSpec:
    """A valid stack: one attribute per field of recipes/stack_fields.py that is `in_spec`."""

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
    # A DNS name the front door is served at, with a Let's Encrypt certificate ("": the load
    # balancer's address and the stack's own CA, recipes/kubernetes/ingress/tls.py).
    domain: str = ""
    acme_email: str = ""
    # Flow logs, bucket access logs and every control-plane log type (prod; costs log storage).
    audit_logs: bool = False
    # Azure only: storage account, Key Vault and registry firewalls (prod).
    network_rules: bool = False
    # The Kubernetes API reachable only from inside the network (deploy from there: VPN, bastion).
    private_endpoint: bool = False
    # GCP only: the project, the zone of a zonal cluster, and regional instead of zonal.
    project: str | None = None
    zone: str | None = None
    regional: bool = False
    # Principals given cluster-admin and the operators' data access besides the deployer
    # (--admin): IAM role/user ARNs, IAM members, or Entra object ids (see spec_values.admins).
    admins: tuple[str, ...] = ()
    # The `kubernetes` provider (a cluster that exists): the kubeconfig context ("": its current-context) and
    # file ("": $KUBECONFIG, else ~/.kube/config); an existing S3-compatible bucket (s3://NAME, "": an object
    # store in the cluster), its endpoint and the Secret holding its keys; an existing registry (HOST[/PATH]).
    context: str = ""
    kubeconfig: str = ""
    bucket: str = ""
    bucket_endpoint: str = ""
    bucket_secret: str = ""
    registry: str = ""
    # How the front door is reached (kubernetes/ingress/exposure.py): loadbalancer, nodeport or port-forward.
    expose: str = "loadbalancer"
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
        """The stack-file form of this spec; `load_spec` of it gives the same spec back.
        Fields of other clouds are left out, lists and tags as plain YAML/JSON data."""
        data: dict[str, Any] = {}
        for stack_field in FIELDS:
            if stack_field.in_spec and stack_field.in_file and self.provider in stack_field.clouds:
                value = getattr(self, stack_field.name)
                if value == "":
                    continue  # not set: a suffix not assigned yet, no --domain
                data[stack_field.name] = PLAIN_FORMS.get(stack_field.kind, _as_is)(value)
        return data

    def with_changes(self, **changes: Any) -> StackSpec:
        return replace(self, **changes)


def _as_is(value: Any) -> Any:
    return value


def _as_list(value: tuple[str, ...]) -> list[str]:
    return list(value)


def _as_dict(pairs: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return dict(pairs)


# A spec value as plain data, by field kind (tuples are the spec's, lists and dicts a file's).
PLAIN_FORMS = {"list": _as_list, "mapping": _as_dict}


# --------------------------------------------------------------------------
# Loading

@dataclass(frozen=True)
class Layer:
    """One source of spec values: `origin` says where they came from in errors."""

    origin: str  # "flags", a file path, or "pulumi config"
    values: Mapping[str, Any]
    notes: tuple[str, ...] = ()  # what the user should know about how the source was read


def load_spec(*layers: Layer, recorded: bool = False) -> StackSpec:
    """Merge layers (later wins) and validate them into a StackSpec.

    `recorded`: the spec of a stack as it was deployed (its registry record). Rules that
    gate a new deploy (the Kubernetes versions today's charts support) do not apply to it:
    a stack deployed under older rules must still be shown, exported and destroyed."""
    merged: dict[str, tuple[Any, str]] = {}
    for layer in layers:
        if not isinstance(layer.values, Mapping):
            raise SpecError(f"{layer.origin}: expected a mapping of fields, got {kind_of(layer.values)}")
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
    def get(key: str) -> Raw | None:
        return raw.get(key)

    provider_raw = get("provider")
    if provider_raw is None:
        raise SpecError(f"no provider given; use one of: {', '.join(PROVIDERS)} (e.g. `recipe plan aws`)")
    provider = choice(provider_raw, "provider", PROVIDERS)

    name = string(get("name"), "name", "ml-dev")
    if (problem := naming.check_stack_name(name)) is not None:
        raise SpecError(where(get("name"), "name") + problem)

    for only in CLOUD_ONLY:
        if get(only.name) is not None and provider not in only.clouds:
            if only.clouds == CLOUDS:  # what a cluster we create is made of: the user's cluster already is
                raise SpecError(where(get(only.name), only.name) + f"only applies to stacks whose cluster stack-recipes "
                                f"creates ({', '.join(CLOUDS)}); a {provider} stack deploys to your cluster as it is: "
                                "drop it")
            raise SpecError(where(get(only.name), only.name)
                            + f"only applies to {' and '.join(only.clouds)} stacks (this one is {provider})")
    region_raw = _region_raw(get("region"), get("location"))
    region_key = "location" if get("region") is None and get("location") is not None else "region"
    region = string(region_raw, region_key, regions.DEFAULT_REGION[provider])
    if (problem := regions.check_region(provider, region)) is not None:
        raise SpecError(where(region_raw, region_key) + problem)

    profile = choice(get("profile"), "profile", PROFILES, default="dev")
    cloud = facts.of(provider)
    defaults = cloud.PROFILE_DEFAULTS[profile]
    project = zone = None
    regional = False
    if provider == "gcp":
        project = string(get("project"), "project", "")
        if not project:
            raise SpecError(
                "gcp stacks need a project: pass --project, set GOOGLE_CLOUD_PROJECT, "
                "or `gcloud config set project PROJECT_ID`"
            )
        if not cloud.PROJECT_RE.match(project):
            raise SpecError(where(get("project"), "project") + f"{project!r} is not a project ID (6-30 lowercase letters, digits, hyphens)")
        # A zone given with the prod profile means a zonal cluster in that zone.
        regional = boolean(get("regional"), "regional", defaults.get("regional", False) and get("zone") is None)
        zone = string(get("zone"), "zone", regions.default_zone(region))
        if not re.fullmatch(re.escape(region) + r"-[a-z]", zone):
            raise SpecError(where(get("zone"), "zone") + f"{zone!r} is not a zone of {region} (e.g. {regions.default_zone(region)})")
        if regional and get("zone") is not None:
            raise SpecError(where(get("zone"), "zone") + "a regional cluster spans every zone of its region; drop --zone or --regional")

    components = _components(get("components"), get("without"))
    if provider == "kubernetes" and get("components") is None and get("registry") is None:
        # The user's cluster has no registry of ours to default to: without --registry, none (spec_notes says how).
        components = tuple(c for c in components if c != "registry")

    node_type = string(get("node_type"), "node_type", defaults["node_type"])
    if cloud.NODE_TYPE_RE is not None and not cloud.NODE_TYPE_RE.match(node_type):
        raise SpecError(
            where(get("node_type"), "node_type")
            + f"{node_type!r} is not {'an' if provider[0] in 'aeiou' else 'a'} {provider} machine type (e.g. {cloud.NODE_TYPE_EXAMPLE})"
        )
    min_nodes = whole_number(get("min_nodes"), "min_nodes", defaults["min_nodes"])
    max_nodes = whole_number(get("max_nodes"), "max_nodes", defaults["max_nodes"])
    if min_nodes < 1:
        raise SpecError(where(get("min_nodes"), "min_nodes") + f"must be at least 1 (got {min_nodes}): the tracker and deployer need a node")
    if max_nodes > MAX_NODES_LIMIT:
        raise SpecError(where(get("max_nodes"), "max_nodes") + f"must be at most {MAX_NODES_LIMIT} (got {max_nodes})")
    if min_nodes > max_nodes:
        raise SpecError(
            f"min_nodes ({min_nodes}) is greater than max_nodes ({max_nodes}); "
            f"raise --max-nodes or lower --min-nodes"
        )

    network = choice(get("network"), "network", cloud.NETWORK_MODES, default="private")
    if provider == "gcp" and network == "public" and boolean(get("private_endpoint"), "private_endpoint", False):
        raise SpecError("on gcp a private endpoint needs private nodes: drop --network public or --private-endpoint")
    allow_cidrs = tuple(ipv4_cidr(c, get("allow_cidrs")) for c in text_list(get("allow_cidrs"), "allow_cidrs"))
    if provider == "aws" and network == "public" and allow_cidrs and "tracker" in components:
        # Pipeline pods reach MLflow at its load balancer's public hostname; without a NAT
        # gateway there is no stable address of theirs to admit (GKE and AKS need none:
        # their load balancers are addressed by IP, and in-cluster traffic never leaves).
        raise SpecError(
            "--allow-cidr with --network public would lock the cluster's own pipelines out of MLflow "
            "(nodes reach the load balancer from random public IPs): use --network private (the default) "
            "or drop --allow-cidr"
        )
    deployer = choice(get("deployer"), "deployer", DEPLOYERS, default="seldon")

    k8s_raw = get("kubernetes_version")
    kubernetes_version = None
    if k8s_raw is not None:
        kubernetes_version = _kubernetes_version(k8s_raw, components, deployer, recorded)

    immutable_tags = boolean(get("immutable_tags"), "immutable_tags", False)
    kms = boolean(get("kms"), "kms", defaults.get("kms", False))
    spot = boolean(get("spot"), "spot", defaults["spot"])
    if spot and provider not in SPOT_PROVIDERS:
        raise SpecError(where(get("spot"), "spot") + f"spot nodes are offered on {', '.join(SPOT_PROVIDERS)}: "
                        "an AKS cluster's system node pool cannot run on spot VMs; drop --spot")
    private_endpoint = boolean(get("private_endpoint"), "private_endpoint", False)
    domain_name = spec_values.domain(get("domain"))
    if domain_name and not ({"tracker", "deployer"} & set(components)):
        raise SpecError(where(get("domain"), "domain") + "--domain names the tracker's and models' front door; "
                        "this stack has neither")
    email = spec_values.acme_email(get("acme_email"), domain_name)
    if domain_name and allow_cidrs:
        # Let's Encrypt validates HTTP-01 from addresses it does not publish; the load balancer's
        # source ranges would turn it away and the certificate would never be issued.
        raise SpecError(where(get("domain"), "domain") + "Let's Encrypt must reach the load balancer's port 80 from "
                        "anywhere, which --allow-cidr closes: drop --allow-cidr or --domain")
    audit_logs = boolean(get("audit_logs"), "audit_logs", defaults.get("audit_logs", False))
    network_rules = provider == "azure" and boolean(get("network_rules"), "network_rules", defaults.get("network_rules", False))
    if private_endpoint and allow_cidrs:
        raise SpecError("--private-endpoint closes the API endpoint to the internet, so --allow-cidr has nothing to open; give one or the other")

    # Empty until the stack's first deploy picks one (operations.assign_suffix).
    suffix = string(get("suffix"), "suffix", "")
    if suffix and not naming.SUFFIX_RE.match(suffix):
        raise SpecError(where(get("suffix"), "suffix") + f"{suffix!r} must be 4-8 lowercase letters or digits")

    tags_given = tags(get("tags"), provider)
    admins = admin_principals(get("admins"), provider)
    existing = spec_values.existing(get, provider, components) if provider == "kubernetes" else {}

    spec = StackSpec(
        provider=provider, name=name, region=region, components=components,
        profile=profile, spot=spot, node_type=node_type, min_nodes=min_nodes, max_nodes=max_nodes, network=network,
        allow_cidrs=allow_cidrs, deployer=deployer, kubernetes_version=kubernetes_version,
        immutable_tags=immutable_tags, suffix=suffix, tags=tags_given,
        project=project, zone=zone, regional=regional, kms=kms, private_endpoint=private_endpoint,
        audit_logs=audit_logs, network_rules=network_rules, domain=domain_name, acme_email=email,
        admins=admins, **existing,
    )
    try:  # every derived cloud name must be acceptable too
        spec.names.check(provider)
    except naming.InvalidName as exc:
        raise SpecError(str(exc)) from None
    return spec


def _kubernetes_version(raw: Raw, components: tuple[str, ...], deployer: str, recorded: bool) -> str:
    """A Kubernetes minor version that every pinned chart the stack deploys supports
    (recipes/kubernetes/versions.py: Istio and the model deployer's charts)."""
    from .kubernetes.versions import kubernetes_range  # no Pulumi: a table of versions

    supported = kubernetes_range(components, deployer)
    pick = f": pick one of {', '.join(supported.versions())}" if supported else ""
    version = string(raw, "kubernetes_version", "")
    if not K8S_VERSION_RE.match(version):
        # YAML reads an unquoted 1.30 as the number 1.3.
        quote = " (quote it in YAML: \"1.30\", not 1.30)" if isinstance(raw[0], float) else ""
        raise SpecError(where(raw, "kubernetes_version") + f"{version!r} is not a version like 1.33{quote}{pick}")
    # A stack already deployed is read back from the registry as it was recorded: a version
    # accepted then must not stop its status or destroy (a deploy validates the user's flags).
    if supported is None or recorded:
        return version
    rejecting = supported.rejecting(int(version.split(".")[1]))
    if rejecting:
        pinned = " and ".join(f"{c.label} ({c.describe()})" for c in rejecting)
        raise SpecError(where(raw, "kubernetes_version") + f"Kubernetes {version} is not supported by the pinned {pinned}{pick}")
    return version


def _region_raw(region: Raw | None, location: Raw | None) -> Raw | None:
    """`location` is Azure's word for region: accepted as an alias, never both different."""
    if region is not None and location is not None and str(region[0]) != str(location[0]):
        raise SpecError(f"region {region[0]!r} and location {location[0]!r} disagree; give one of them")
    return region if region is not None else location


def _components(components_raw: Raw | None, without_raw: Raw | None) -> tuple[str, ...]:
    chosen = set(COMPONENTS)
    if components_raw is not None:
        chosen = set()
        for item in text_list(components_raw, "components"):
            if item not in COMPONENTS:
                raise SpecError(where(components_raw, "components") + f"unknown component {item!r}; components are: {', '.join(COMPONENTS)}")
            chosen.add(item)
    for item in text_list(without_raw, "without"):
        if item not in COMPONENTS:
            raise SpecError(where(without_raw, "without") + f"unknown component {item!r}; components are: {', '.join(COMPONENTS)}")
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


