"""The stack's fields: the one place each is declared.

A field is a stack-file key, a `recipe:<field>` Pulumi-config key, usually a
command-line option and an attribute of `StackSpec`. Everything that lists
fields derives from `FIELDS`: the stack-file reader's known fields, the labels
errors name a field by, the per-cloud fields, `StackSpec.to_mapping`, the
Pulumi program's config reader and the CLI's options (provisioner/cli/options.py).
Pure data and a few lookups: no Pulumi, no Typer, so the CLI's --help stays fast.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import NamedTuple

from .facts import CLOUDS, PROVIDERS
# Value kinds: how a value is given (flags, YAML, config text) and written back.
KINDS = ("text", "int", "bool", "list", "choice", "mapping")


class StackField(NamedTuple):
    """One field (a NamedTuple, not a dataclass: the CLI builds its options from these at every start)."""

    name: str  # the stack-file key, the Pulumi-config key recipe:<name>, the StackSpec attribute
    kind: str  # one of KINDS
    help: str = ""  # the option's --help text, without its default
    default: str = ""  # what applies when the field is not given, in words
    profile_default: bool = False  # that default comes from --profile (dev's shown)
    clouds: tuple[str, ...] = PROVIDERS  # the clouds where the field means something
    flags: tuple[str, ...] = ()  # its command-line option: long name first; "--on/--off" for a bool
    argument: bool = False  # given as the commands' positional argument instead of an option
    in_file: bool = True  # a stack-file and Pulumi-config field
    in_spec: bool = True  # an attribute of StackSpec (False: it only feeds other fields)

    @property
    def label(self) -> str:
        """How an error names the field when it came from the command line."""
        if self.argument:
            return self.name
        if self.flags:
            return self.flags[0].split("/")[0]
        return "--" + self.name.replace("_", "-")

    @property
    def help_text(self) -> str:
        """The --help line: what the field is, then its default as today's --help says it."""
        if not self.default:
            return self.help
        return f"{self.help} [default{' (dev)' if self.profile_default else ''}: {self.default}]"


FIELDS: tuple[StackField, ...] = (
    StackField("provider", "choice", "Provider: aws, gcp, azure, or kubernetes (a cluster you already have).", argument=True),
    StackField("name", "text", "Stack name: 3-20 lowercase letters, digits, hyphens.", "ml-dev", flags=("--name", "-n")),
    StackField("region", "text", "Cloud region.", "us-east-1, us-central1, eastus", flags=("--region", "-r")),
    StackField("location", "text", "Azure's name for --region.", flags=("--location",), in_spec=False),
    StackField("project", "text", "GCP project ID.", "GOOGLE_CLOUD_PROJECT, else gcloud's configured project",
               clouds=("gcp",), flags=("--project",)),
    StackField("zone", "text", "GCP zone of a zonal cluster.", "<region>-b", clouds=("gcp",), flags=("--zone",)),
    StackField("regional", "bool", "GCP: a regional cluster (control plane in three zones; has a management fee) "
               "instead of a zonal one.", "zonal", clouds=("gcp",), flags=("--regional/--zonal",)),
    StackField("components", "list", "The components to deploy: cluster, bucket, registry, tracker, deployer."),
    StackField("without", "list", "Leave a component out: cluster, bucket, registry, tracker, deployer. Repeatable.",
               flags=("--without",), in_spec=False),
    StackField("profile", "choice", "dev (one small node, spot capacity on aws/gcp, cheapest) or prod (on-demand, "
               "2+ bigger nodes, regional GKE, --kms). Flags override it.", "dev", flags=("--profile",)),
    StackField("spot", "bool", "Nodes on spot capacity (aws, gcp): far cheaper, but the cloud may reclaim a node.",
               "the profile's", clouds=CLOUDS, flags=("--spot/--on-demand",)),
    StackField("node_type", "text", "Machine type of the nodes.", "t3.large, e2-standard-2, Standard_D2s_v5",
               profile_default=True, clouds=CLOUDS, flags=("--node-type",)),
    StackField("min_nodes", "int", "Fewest nodes (per zone on regional GKE).", "1", profile_default=True,
               clouds=CLOUDS, flags=("--min-nodes",)),
    StackField("max_nodes", "int", "Most nodes (per zone on regional GKE).", "3", profile_default=True,
               clouds=CLOUDS, flags=("--max-nodes",)),
    StackField("network", "choice", "private (nodes behind a NAT gateway) or public (no NAT, cheapest, dev only; "
               "aws and gcp).", "private", clouds=CLOUDS, flags=("--network",)),
    StackField("allow_cidrs", "list", "Only these CIDRs reach the Kubernetes API and the load balancers. Repeatable.",
               flags=("--allow-cidr",)),
    StackField("deployer", "choice", "Model deployer: seldon or kserve.", "seldon", flags=("--deployer",)),
    StackField("kubernetes_version", "text", "Kubernetes minor version, e.g. 1.33.", "the cloud's default",
               clouds=CLOUDS, flags=("--kubernetes-version",)),
    StackField("immutable_tags", "bool", "Refuse to overwrite image tags in the registry (ZenML re-pushes tags: "
               "see README).", "mutable", flags=("--immutable-tags/--mutable-tags",)),
    StackField("tags", "mapping", "Extra tag KEY=VALUE on every resource. Repeatable.", flags=("--tag",)),
    StackField("suffix", "text", "Override the unique suffix of global names (4-8 lowercase letters/digits).",
               flags=("--suffix",)),
    StackField("kms", "bool", "Customer-managed keys for the bucket, the registry and the cluster's secrets (costs "
               "money; Azure also moves the registry to Premium).", "off", clouds=CLOUDS, flags=("--kms/--no-kms",)),
    StackField("domain", "text", "Serve the tracker and models at this DNS name with a Let's Encrypt certificate "
               "(plan prints the DNS record to create).", "the load balancer's address, stack CA",
               flags=("--domain",)),
    StackField("acme_email", "text", "With --domain: the contact address of the Let's Encrypt account.",
               flags=("--acme-email",)),
    StackField("audit_logs", "bool", "Flow logs, bucket access logs and every control-plane log type (costs money: "
               "log storage; see plan --cost).", "off", profile_default=True, clouds=CLOUDS,
               flags=("--audit-logs/--no-audit-logs",)),
    StackField("network_rules", "bool", "Azure: the storage account, Key Vault and registry admit only the cluster's "
               "network and --allow-cidr (moves the registry to Premium).", "off", profile_default=True,
               clouds=("azure",), flags=("--network-rules/--no-network-rules",)),
    StackField("private_endpoint", "bool", "Kubernetes API reachable only from inside the network: deploy from "
               "there (VPN, bastion).", "public, restrict with --allow-cidr",
               clouds=CLOUDS, flags=("--private-endpoint/--public-endpoint",)),
    StackField("admins", "list", "Also give this principal cluster-admin and the bucket and registry: an IAM "
               "role/user ARN (aws), user:/group:/serviceAccount:EMAIL (gcp), an Entra object id (azure). "
               "Repeatable; see README, Team access.", clouds=CLOUDS, flags=("--admin",)),
    # The `kubernetes` provider: a cluster that exists, reached through the user's kubeconfig; the bucket and
    # registry the user's own or (the bucket) an in-cluster object store. No key is ever a field: the bucket's
    # come from a Secret the user created (--bucket-secret), so they are never in our records (in the Pulumi
    # state only, as secrets).
    StackField("context", "text", "kubernetes: the kubeconfig context of the cluster to deploy to.",
               "the kubeconfig's current-context", clouds=("kubernetes",), flags=("--context",)),
    StackField("kubeconfig", "text", "kubernetes: the kubeconfig file.", "$KUBECONFIG, else ~/.kube/config",
               clouds=("kubernetes",), flags=("--kubeconfig",)),
    StackField("bucket", "text", "kubernetes: an existing S3-compatible bucket, s3://NAME.",
               "an object store in the cluster", clouds=("kubernetes",), flags=("--bucket",)),
    StackField("bucket_endpoint", "text", "kubernetes: the S3 endpoint of --bucket, an https URL (required unless "
               "the bucket is on AWS S3).", clouds=("kubernetes",), flags=("--bucket-endpoint",)),
    StackField("bucket_secret", "text", "kubernetes: your Secret holding AWS_ACCESS_KEY_ID and "
               "AWS_SECRET_ACCESS_KEY for --bucket, as [NAMESPACE/]NAME (NAME alone: namespace default). The deploy "
               "reads it (never changes it) and copies the keys, as Pulumi secrets, to where the pods run.",
               clouds=("kubernetes",), flags=("--bucket-secret",)),
    StackField("registry", "text", "kubernetes: an existing container registry, HOST[:PORT][/PATH].",
               "none (the stack has no registry)", clouds=("kubernetes",), flags=("--registry",)),
    StackField("expose", "choice", "kubernetes: how the front door is reached: loadbalancer (the cluster's "
               "load balancers: k3d, MetalLB, a cloud), nodeport (every node's ports 30080/30443/30500), or "
               "port-forward (kubectl port-forward to localhost).", "loadbalancer", clouds=("kubernetes",),
               flags=("--expose",)),
    # Set by commands, never described by the user: the update before `destroy --delete-data`
    # releases the data, and a backup id names the tracker's backup (kubernetes/history.py).
    StackField("delete_data", "bool", in_file=False),
    StackField("tracker_backup", "text", in_file=False),
)

BY_NAME: dict[str, StackField] = {f.name: f for f in FIELDS}
# What a stack file (and Pulumi config) may say.
FILE_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.in_file)
# The fields the CLI has an option for (the provider is the commands' argument).
FLAG_FIELDS: tuple[StackField, ...] = tuple(f for f in FIELDS if f.flags)
# Fields that only mean something on some providers.
CLOUD_ONLY: tuple[StackField, ...] = tuple(f for f in FIELDS if f.clouds != PROVIDERS)


def label(name: str, origin: str) -> str:
    """A field as an error names it: the flag for the command line, `origin: name` for a file."""
    if origin == "flags":
        return BY_NAME[name].label if name in BY_NAME else "--" + name.replace("_", "-")
    return f"{origin}: {name}"


def flag_argv(values: Mapping[str, object], defaults: Mapping[str, object] | None = None) -> list[str]:
    """The command-line flags that say `values` (by field name, CLI or stack-file forms),
    leaving out what equals `defaults`: the spelling a suggested command repeats a stack in.
    A bool is its --on or --off half; a list or mapping one flag per item, tags as KEY=VALUE."""
    argv: list[str] = []
    for stack_field in FLAG_FIELDS:
        value = values.get(stack_field.name)
        if value is None or value == "" or (defaults is not None and value == defaults.get(stack_field.name)):
            continue
        flag = stack_field.flags[0]
        if stack_field.kind == "bool":
            on, _, off = flag.partition("/")
            argv += [on] if value else [off] if off else []
        elif stack_field.kind in ("list", "mapping"):
            items = [f"{k}={v}" for k, v in value.items()] if isinstance(value, Mapping) else list(value)
            for item in items:
                argv += [flag, str(item)]
        else:
            argv += [flag, str(value)]
    return argv


def config_values(read: Callable[[str], str | None]) -> dict[str, object]:
    """The stack-file fields found in Pulumi config (`read("region")` is recipe:region's text).

    Config values are text; a list or mapping set with `pulumi config set --path`, or
    as JSON, arrives as JSON and is decoded (comma-separated text stays text: the spec
    splits it)."""
    values: dict[str, object] = {}
    for name in FILE_FIELDS:
        raw = read(name)
        if raw is not None:
            values[name] = _decoded(raw) if BY_NAME[name].kind in ("list", "mapping") else raw
    return values


def _decoded(raw: str) -> object:
    text = raw.strip()
    if text[:1] in ("[", "{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return raw
    return raw
