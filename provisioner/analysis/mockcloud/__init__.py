"""Mock answers for `recipe plan` and the tests: what a cloud would hand back.

Under Pulumi's mock runtime every resource's outputs are its inputs plus what
the module for its package (`aws`, `gcp`, `azure-native`, `kubernetes`,
`random`, `tls`) computes here: plausible, deterministic values for exactly what the
programs read back (ARNs, endpoints, generated passwords, load balancer
addresses). Data-source calls are answered the same way; an unanswered call
is an error, so a program never silently plans with a missing value. A read of an
existing object (`Resource.get`) is answered only for what the mock cloud knows
exists; anything else fails as the engine fails a read of nothing.
"""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass, field
from typing import Any

from recipes.spec import StackSpec

FAKE_AWS_ACCOUNT = "123456789012"
FAKE_AZURE_SUBSCRIPTION = "00000000-0000-4000-8000-000000000001"
FAKE_AZURE_TENANT = "00000000-0000-4000-8000-000000000002"
FAKE_AZURE_DEPLOYER_OBJECT_ID = "00000000-0000-4000-8000-000000000003"  # who runs the deploy (azure.py)
FAKE_GCP_PROJECT_NUMBER = "123456789012"

# How `recipe plan` shows the values above and the other ones only the real cloud knows: the
# CLI's views and documents substitute these (pattern -> placeholder); the answers here stay
# realistic, so programs and validations read what the cloud would give them.
PLACEHOLDERS: dict[str, tuple[tuple[str, str], ...]] = {
    "aws": (
        (rf"(?<!\d){FAKE_AWS_ACCOUNT}(?!\d)", "<account-id>"),
        (r"\b[0-9A-F]{16}\.gr7\.[a-z0-9-]+\.eks\.amazonaws\.com", "<cluster-hostname>"),  # aws.py's EKS endpoint
        (r"(?<![\d.])52\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d.])", "<public-ip>"),  # aws.py's Elastic IPs (the NAT's)
    ),
    "gcp": (
        (rf"(?<!\d){FAKE_GCP_PROJECT_NUMBER}(?!\d)", "<project-number>"),
        (r"(?<![\d.])34\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d./])", "<public-ip>"),  # gcp.py's GKE endpoint and NAT addresses
        (r"\bgke-[0-9a-f]{32}-[0-9a-f]{6}\.[a-z0-9-]+\.gke\.goog", "<cluster-dns-endpoint>"),
    ),
    "azure": (
        (FAKE_AZURE_SUBSCRIPTION, "<subscription-id>"),
        (FAKE_AZURE_TENANT, "<tenant-id>"),
        (FAKE_AZURE_DEPLOYER_OBJECT_ID, "<deployer-object-id>"),
        (r"(\.oic\.prod-aks\.azure\.com/[^/]+/)[0-9a-f-]{36}", r"\1<oidc-issuer-id>"),
        (r"\b[a-z0-9-]+-[0-9a-f]{8}\.(?:hcp|portal\.hcp|[0-9a-f-]{36}\.privatelink)\.[a-z0-9]+\.azmk8s\.io",
         "<cluster-hostname>"),  # azure.py's AKS FQDNs
    ),
}
# Values the cloud generates, by the input key they are handed to (azure.py's fake_guid answers).
PLACEHOLDER_KEYS: dict[str, dict[str, str]] = {
    "azure": {"principalId": "<principal-id>", "clientId": "<client-id>", "azure.workload.identity/client-id": "<client-id>"},
}

# Pulumi package name -> module of this package answering for it.
MODULES = {"aws": "aws", "gcp": "gcp", "azure-native": "azure", "kubernetes": "kubernetes", "random": "randomness", "time": "clock",
           "tls": "certificates"}


@dataclass(frozen=True)
class Context:
    """What the answers may depend on: the stack being planned."""

    spec: StackSpec
    # What this plan registered so far, per cloud module: an answer that depends on another
    # resource (the zone of each subnet a node group is given) looks it up here. One per plan.
    state: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def region(self) -> str:
        return self.spec.region


def digest(*parts: str, length: int = 8) -> str:
    return hashlib.sha1("/".join(parts).encode()).hexdigest()[:length]


def fake_id(type_: str, name: str) -> str:
    return f"{name}-{digest(type_, name)}"


def _module(token: str):
    package = token.split(":", 1)[0]
    name = MODULES.get(package)
    return importlib.import_module(f"{__name__}.{name}") if name else None


def computed(type_: str, name: str, inputs: dict[str, Any], context: Context) -> dict[str, Any]:
    module = _module(type_)
    return module.computed(type_, name, inputs, context) if module else {}


def call(token: str, args: dict[str, Any], context: Context) -> dict[str, Any]:
    module = _module(token)
    answer = module.call(token, args, context) if module and hasattr(module, "call") else None
    if answer is None:
        raise NotImplementedError(f"the plan has no mock answer for data source {token}")
    return answer


class NotFound(Exception):
    """A read of an object that does not exist, as the Pulumi engine words it (a ReadStep with no outputs)."""


def read(type_: str, resource_id: str, inputs: dict[str, Any], context: Context) -> dict[str, Any]:
    """The state of an existing object the program reads (`Resource.get`), or NotFound."""
    module = _module(type_)
    answer = module.read(type_, resource_id, inputs, context) if module and hasattr(module, "read") else None
    if answer is None:
        raise NotFound(f"reading {type_}: resource '{resource_id}' does not exist")
    return answer
