"""Cloud resource names: one place for every cloud's rules and the unique suffix.

Names are computed from the stack spec before anything runs, so a name a cloud
would refuse is caught up front. Globally unique names (S3 and GCS buckets,
storage accounts, registries, key vaults, IAM roles) carry the stack's suffix:
six random characters chosen at its first deploy and kept with it (in the
registry and in the Pulumi stack's config), so two users' stacks of the same
name never collide and the same stack always finds its names again. Until a
stack has one, `recipe plan` shows PLACEHOLDER_SUFFIX in its place.
"""

from __future__ import annotations

import hashlib
import re
import secrets

STACK_NAME_RE = re.compile(r"^[a-z](?:[a-z0-9]|-(?!-))*[a-z0-9]$")
STACK_NAME_MIN, STACK_NAME_MAX = 3, 20
SUFFIX_RE = re.compile(r"^[a-z0-9]{4,8}$")

# The tag every resource carries so a user can find what a stack owns.
STACK_TAG = "recipe-stack"
MANAGED_BY_TAG = "managed-by"
MANAGED_BY = "stack-recipes"


# What each cloud accepts, by the kind of name: (pattern, the rule as the error states it).
AWS_NAME_RULES: dict[str, tuple[str, str]] = {
    "S3 bucket": (r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", "3-63 lowercase letters, digits, hyphens"),
    "IAM role": (r"^[\w+=,.@-]{1,64}$", "at most 64 characters"),
    "EKS cluster": (r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$", "1-100 alphanumerics, hyphens, underscores"),
}
GCP_NAME_RULES: dict[str, tuple[str, str]] = {
    "GCS bucket": (r"^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$", "3-63 lowercase letters, digits, - and _"),
    "GKE cluster": (r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$", "at most 40 lowercase letters, digits, hyphens"),
    "GCP service account": (r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$", "6-30 lowercase letters, digits, hyphens"),
    "Artifact Registry repository": (r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", "lowercase letters, digits, hyphens"),
}
AZURE_NAME_RULES: dict[str, tuple[str, str]] = {
    "resource group": (r"^[-\w.()]{1,89}[-\w()]$", "at most 90 letters, digits, - _ . ( )"),
    "AKS cluster": (r"^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$", "1-63 letters, digits, - and _"),
    "storage account": (r"^[a-z0-9]{3,24}$", "3-24 lowercase letters and digits"),
    "container registry": (r"^[a-zA-Z0-9]{5,50}$", "5-50 letters and digits"),
    "key vault": (r"^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$", "3-24 letters, digits, hyphens"),
    "managed identity": (r"^[a-zA-Z0-9][-_a-zA-Z0-9]{2,127}$", "3-128 letters, digits, - and _"),
}
NAME_RULES: dict[str, tuple[str, str]] = {**AWS_NAME_RULES, **GCP_NAME_RULES, **AZURE_NAME_RULES}


class InvalidName(ValueError):
    """A name a cloud would refuse."""


def check_stack_name(name: object) -> str | None:
    """Return why `name` is not a valid stack name, or None."""
    if not isinstance(name, str) or not name:
        return "the stack name is empty; pass --name, e.g. --name ml-dev"
    if not (STACK_NAME_MIN <= len(name) <= STACK_NAME_MAX) or not STACK_NAME_RE.match(name):
        return (
            f"invalid stack name {name!r}: use {STACK_NAME_MIN}-{STACK_NAME_MAX} lowercase letters, "
            "digits and single hyphens, starting with a letter and not ending with a hyphen "
            "(e.g. ml-dev); the name is part of cloud resource names with strict rules"
        )
    return None


# Stands for the suffix a stack gets at its first deploy ('x' is never a hex digit).
PLACEHOLDER_SUFFIX = "xxxxxx"


def new_suffix() -> str:
    """A fresh suffix for a new stack: 6 random hex characters (16.7 million values)."""
    return secrets.token_hex(3)


def legacy_suffix(provider: str, name: str, region: str) -> str:
    """The suffix stacks deployed before suffixes were random got: the same for everyone
    who used the same provider, region and name. Only ever used to find such a stack's
    existing names again, never for a new stack."""
    digest = hashlib.sha256(f"stack-recipes/{provider}/{region}/{name}".encode()).hexdigest()
    return digest[:6]


class Names:
    """The names of one stack's resources, derived from its name and suffix."""

    def __init__(self, stack: str, suffix: str):
        self.stack = stack
        self.suffix = suffix or PLACEHOLDER_SUFFIX

    def resource(self, part: str) -> str:
        """A name unique within the account: `<stack>-<part>`."""
        return f"{self.stack}-{part}"

    def global_(self, part: str) -> str:
        """A name unique across all accounts: `<stack>-<part>-<suffix>`."""
        return f"{self.stack}-{part}-{self.suffix}"

    # --- AWS ---------------------------------------------------------------
    def s3_bucket(self) -> str:
        return _checked(self.global_("artifacts"), "S3 bucket")

    def s3_log_bucket(self) -> str:
        """--audit-logs: the bucket the stack's access and flow logs are delivered to."""
        return _checked(self.global_("logs"), "S3 bucket")

    def iam_role(self, part: str) -> str:
        # IAM is global to the account: the suffix keeps same-named stacks in
        # two regions apart.
        return _checked(self.global_(part), "IAM role")

    def eks_cluster(self) -> str:
        return _checked(self.stack, "EKS cluster")

    def ecr_repository(self) -> str:
        # ZenML pushes every pipeline image to `<registry>/zenml:<tag>`, so the
        # repository must be called exactly `zenml` (see docs/zenml-export.md).
        return "zenml"

    def kube_context(self) -> str:
        return f"recipe-{self.stack}"

    @property
    def alnum(self) -> str:
        """The stack name without hyphens, for names that allow letters and digits only."""
        return self.stack.replace("-", "")

    # --- GCP ---------------------------------------------------------------
    def gcs_bucket(self) -> str:
        return _checked(self.global_("artifacts"), "GCS bucket")

    def gcs_log_bucket(self) -> str:
        """--audit-logs: where the artifact bucket's access logs go (globally unique, like it)."""
        return _checked(self.global_("access-logs"), "GCS bucket")

    def gke_cluster(self) -> str:
        return _checked(self.stack, "GKE cluster")

    def gcp_service_account(self, part: str) -> str:
        """Service account IDs are 6-30 characters and unique in the project: the stack is
        shortened (never the part or suffix) so two stacks never share one."""
        tail = f"-{part}-{self.suffix[:4]}"
        return _checked(self.stack[: 30 - len(tail)].rstrip("-") + tail, "GCP service account")

    def artifact_registry(self) -> str:
        return _checked(self.stack, "Artifact Registry repository")

    # --- Azure -------------------------------------------------------------
    def resource_group(self, part: str = "") -> str:
        # Unique in the subscription: the suffix keeps same-named stacks in two regions apart.
        return _checked(f"rg-{self.stack}{'-' + part if part else ''}-{self.suffix}", "resource group")

    def aks_cluster(self) -> str:
        return _checked(f"aks-{self.stack}", "AKS cluster")

    def storage_account(self) -> str:
        """3-24 lowercase letters and digits, globally unique."""
        return _checked("st" + self.alnum[: 24 - 2 - len(self.suffix)] + self.suffix, "storage account")

    def blob_container(self) -> str:
        return "artifacts"

    def container_registry(self) -> str:
        """ACR: 5-50 letters and digits, globally unique."""
        return _checked("cr" + self.alnum[: 50 - 2 - len(self.suffix)] + self.suffix, "container registry")

    def key_vault(self) -> str:
        """3-24 letters, digits and hyphens, globally unique (and kept for days once deleted)."""
        return _checked(f"kv-{self.stack[: 24 - 4 - len(self.suffix)].rstrip('-')}-{self.suffix}", "key vault")

    def managed_identity(self, part: str) -> str:
        return _checked(f"id-{self.stack}-{part}", "managed identity")

    # --- kubernetes (a cluster that exists) -----------------------------------
    def objectstore_bucket(self) -> str:
        """The in-cluster object store's bucket: the store is the stack's own, so no suffix."""
        return _checked(f"{self.stack}-artifacts", "S3 bucket")

    # --- every name of a provider's stack, checked up front -------------------
    def check(self, provider: str) -> dict[str, str]:
        """Compute every name `provider`'s stack uses, so a bad one fails before any cloud call."""
        if provider == "aws":
            return {"bucket": self.s3_bucket(), "cluster": self.eks_cluster(), "role": self.iam_role("autoscaler")}
        if provider == "gcp":
            return {
                "bucket": self.gcs_bucket(), "log-bucket": self.gcs_log_bucket(), "cluster": self.gke_cluster(),
                "registry": self.artifact_registry(),
                **{f"sa-{p}": self.gcp_service_account(p) for p in ("nodes", "mlflow", "pipes")},
            }
        if provider == "azure":
            return {
                "group": self.resource_group(), "data-group": self.resource_group("data"), "cluster": self.aks_cluster(),
                "storage": self.storage_account(), "registry": self.container_registry(), "vault": self.key_vault(),
                **{f"id-{p}": self.managed_identity(p) for p in ("mlflow", "pipelines")},
            }
        if provider == "kubernetes":
            return {"bucket": self.objectstore_bucket()}
        raise InvalidName(f"unknown provider {provider!r}")


def _checked(name: str, what: str) -> str:
    """`name`, if the cloud accepts it as a `what` (NAME_RULES); else InvalidName stating the rule."""
    pattern, rule = NAME_RULES[what]
    if not re.match(pattern, name):
        raise InvalidName(f"{what} name {name!r} is invalid: {rule}")
    return name
