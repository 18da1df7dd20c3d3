"""What this machine needs before any command that runs the Pulumi engine: the Pulumi CLI
(present, at least MIN_PULUMI_VERSION) and credentials for the stack's cloud.

Checked first, before a stack record is written or a passphrase generated, so a machine
that cannot deploy gets the fix (exit 2) instead of a "failed" stack that never existed.
Only local facts are read (PATH, ~/.pulumi, the cloud's credential variables and files:
recipes/facts/<cloud>.py DOCTOR_*); nothing goes over the network, except for provider `kubernetes`,
whose "credentials" are a cluster we did not create: its context is read and its API server asked
(require_cluster, cluster_access.py). `recipe doctor` shows the same local checks for every provider.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from recipes import facts

from provisioner.operations.not_ready import NotReady

__all__ = ["AMBIENT_CREDENTIALS_ENV", "Credentials", "NotReady", "credentials_fix", "local_credentials",
           "require_cluster", "require_credentials", "require_ready"]

# Credentials a machine gets from where it runs (an EC2 instance role, a GCE service account,
# an Azure managed identity) leave no variable or file to find: this says they are there.
AMBIENT_CREDENTIALS_ENV = "RECIPE_AMBIENT_CREDENTIALS"


@dataclass(frozen=True)
class Credentials:
    """Where a cloud's credentials were found on this machine (empty: none)."""

    provider: str
    found: tuple[str, ...]
    ambient: bool = False

    @property
    def missing(self) -> bool:
        return not self.found and not self.ambient


def local_credentials(provider: str) -> Credentials:
    """The cloud's credential variables set and credential files present under the home directory."""
    cloud = facts.of(provider)
    env = [k for k in cloud.DOCTOR_CREDENTIAL_ENV if os.environ.get(k)]
    home = Path.home()
    files = [str(home / f) for f in cloud.DOCTOR_CREDENTIAL_FILES if (home / f).exists()]
    ambient = os.environ.get(AMBIENT_CREDENTIALS_ENV, "").strip().lower() in ("1", "true", "yes")
    return Credentials(provider, tuple(env + files), ambient)


def credentials_fix(provider: str) -> str:
    cloud = facts.of(provider)
    return (f"{cloud.DOCTOR_CREDENTIAL_FIX}; on a machine whose {provider} credentials come from where it runs "
            f"(instance role, managed identity), set {AMBIENT_CREDENTIALS_ENV}=1")


def require_credentials(provider: str) -> Credentials | None:
    if provider not in facts.PROVIDERS:
        return None  # a record registered with another provider: its own checks say so
    found = local_credentials(provider)
    if found.missing:
        raise NotReady(f"no {provider} credentials on this machine ({facts.of(provider).DOCTOR_CREDENTIALS_MISSING}); "
                       f"nothing was done. Set them up with: {credentials_fix(provider)}")
    return found


def require_cluster(spec, operation: str | None = None) -> None:
    """A `kubernetes` stack's cluster, instead of a cloud's credentials: its kubeconfig context
    (spec.kubeconfig, spec.context) exists and is usable, its API server answers, runs a Kubernetes
    version the stack's pinned charts support, and lets this context do what the deploy does.
    `operation` ("deploy", "preview", "refresh"; None: any other) adds what it needs of the cluster
    (cluster_tenancy.py): the user's --bucket-secret, and for a deploy one stack per cluster.
    This one goes over the network (to the user's API server only), or NotReady with the fix."""
    from recipes.kubernetes.versions import kubernetes_range

    from provisioner.operations.cluster_access import load_context, require_access, session
    from provisioner.operations.cluster_tenancy import require_tenancy

    ctx = load_context(spec.kubeconfig or None, spec.context or None)
    supported = kubernetes_range(spec.components, spec.deployer)
    with session(ctx) as api:  # one session: the context's credentials (an exec plugin) resolved once
        require_access(ctx, supported.versions() if supported is not None else [], api=api)
        require_tenancy(ctx, spec, operation, api=api)


def require_ready(provider: str, pulumi_cli: Callable[[], str], *, stack: str | None = None,
                  never_deployed: bool = False, spec=None, operation: str | None = None) -> None:
    """Stop (exit 2) unless `provider`'s Pulumi SDK (SdkMissing), a usable Pulumi CLI (`pulumi_cli`: the
    engine's discovery, raising PulumiNotFound) and credentials for `provider` (NotReady) are on this machine.

    `never_deployed`: the stack's record knows of nothing in the cloud, so the message also
    says how to drop the record instead. `spec`: the stack's; for provider `kubernetes` its
    cluster is checked (require_cluster, for `operation`) in place of credentials (without it: a
    kubeconfig is found).
    """
    from provisioner.engine import PulumiNotFound

    try:
        facts.require_sdk(provider)
        try:
            pulumi_cli()
        except PulumiNotFound as exc:
            raise NotReady(exc.message) from None
        if provider == "kubernetes" and spec is not None:
            require_cluster(spec, operation)
        else:
            require_credentials(provider)
    except NotReady as exc:
        if stack and never_deployed:
            exc.message += (f"\nIf {stack} never created anything in the cloud, remove its record instead: "
                            f"recipe forget {stack}")
        raise
