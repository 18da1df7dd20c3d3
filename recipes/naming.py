"""Cloud resource names: one place for every cloud's rules and the unique suffix.

Names are computed from the stack spec before anything runs, so `recipe plan`
shows the exact names a deploy will use and a name a cloud would refuse is
caught up front. Globally unique names (S3 buckets) carry a deterministic
suffix: the same stack always gets the same name, two stacks never share one.
"""

from __future__ import annotations

import hashlib
import re

STACK_NAME_RE = re.compile(r"^[a-z](?:[a-z0-9]|-(?!-))*[a-z0-9]$")
STACK_NAME_MIN, STACK_NAME_MAX = 3, 20
SUFFIX_RE = re.compile(r"^[a-z0-9]{4,8}$")

# The tag every resource carries so a user can find what a stack owns.
STACK_TAG = "recipe-stack"
MANAGED_BY_TAG = "managed-by"
MANAGED_BY = "stack-recipes"


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


def default_suffix(provider: str, name: str, region: str) -> str:
    """Deterministic 6-character suffix that makes global names unique per stack."""
    digest = hashlib.sha256(f"stack-recipes/{provider}/{region}/{name}".encode()).hexdigest()
    return digest[:6]


class Names:
    """The names of one stack's resources, derived from its name and suffix."""

    def __init__(self, stack: str, suffix: str):
        self.stack = stack
        self.suffix = suffix

    def resource(self, part: str) -> str:
        """A name unique within the account: `<stack>-<part>`."""
        return f"{self.stack}-{part}"

    def global_(self, part: str) -> str:
        """A name unique across all accounts: `<stack>-<part>-<suffix>`."""
        return f"{self.stack}-{part}-{self.suffix}"

    # --- AWS ---------------------------------------------------------------
    def s3_bucket(self) -> str:
        name = self.global_("artifacts")
        _check(name, r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", "S3 bucket", "3-63 lowercase letters, digits, hyphens")
        return name

    def iam_role(self, part: str) -> str:
        # IAM is global to the account: the suffix keeps same-named stacks in
        # two regions apart.
        name = self.global_(part)
        _check(name, r"^[\w+=,.@-]{1,64}$", "IAM role", "at most 64 characters")
        return name

    def eks_cluster(self) -> str:
        name = self.stack
        _check(name, r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$", "EKS cluster", "1-100 alphanumerics, hyphens, underscores")
        return name

    def ecr_repository(self) -> str:
        # ZenML pushes every pipeline image to `<registry>/zenml:<tag>`, so the
        # repository must be called exactly `zenml` (see zenml-stack-format.md).
        return "zenml"

    def kube_context(self) -> str:
        return f"recipe-{self.stack}"


def _check(name: str, pattern: str, what: str, rule: str) -> None:
    if not re.match(pattern, name):
        raise InvalidName(f"{what} name {name!r} is invalid: {rule}")
