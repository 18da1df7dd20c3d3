"""Pinned Helm charts and container images, with their real repositories.

Exact versions only: a stack deployed today and redeployed next month must get
the same software. Upgrading is a reviewed change to this file.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chart:
    name: str
    version: str
    repo: str  # an https Helm repository, or an oci:// registry path

    @property
    def is_oci(self) -> bool:
        return self.repo.startswith("oci://")


# MLflow with psycopg2, boto3, google-cloud-storage and azure-storage-blob
# (the official ghcr.io/mlflow/mlflow image has no database or cloud drivers).
# Pinned by tag only: its digest could not be read where this release was cut (no registry
# access); `docker buildx imagetools inspect docker.io/burakince/mlflow:3.15.1` gives it, and
# the image then becomes "...:3.15.1@sha256:<digest>" like PostgreSQL's. `recipe check` T5 warns.
MLFLOW_IMAGE = "docker.io/burakince/mlflow:3.15.1"
# postgres:16.10, the multi-architecture index digest (read 2026-12-01 from public manifests
# that pin it; verify with `docker buildx imagetools inspect docker.io/library/postgres:16.10`).
# The tag stays for readers; with both, the runtime pulls by digest.
POSTGRES_IMAGE = "docker.io/library/postgres:16.10@sha256:21f6013073bc6b92830a2129570e2f5ec42a6c734b5a985a41e83aa58f54c3c1"
# SeaweedFS 4.47 (Apache-2.0), the `kubernetes` provider's in-cluster object store (recipes/existing/
# objectstore.py): the multi-architecture index digest, read 2026-12-02 from public manifests of several
# projects that pin it (one records Docker Hub's tags API answer for 4.47 and the registry manifest's
# sha256; another the binary's `weed version`: 4.47 c50733600). Verify with
# `docker buildx imagetools inspect docker.io/chrislusf/seaweedfs:4.47`.
SEAWEEDFS_IMAGE = (
    "docker.io/chrislusf/seaweedfs:4.47@sha256:ce9e796f1fe6f06968f4c04bdaf8f678dad9c8acdfef3d244133d71bfa6bf882"
)
# Not the image's seaweed user (1000): a UID above 10000 never matches a host account (Checkov CKV_K8S_40),
# `weed` needs no passwd entry, and the volume is writable through fsGroup.
SEAWEEDFS_UID = 10001
# Images still pinned by tag alone, each until its digest can be read (`recipe check` T5 warns
# for these and fails for any other image without a digest).
DIGEST_PENDING: tuple[str, ...] = (MLFLOW_IMAGE,)
POSTGRES_UID = 999  # the postgres user of the official Debian-based image

ISTIO_REPO = "https://istio-release.storage.googleapis.com/charts"
ISTIO_VERSION = "1.27.3"
ISTIO_BASE = Chart("base", ISTIO_VERSION, ISTIO_REPO)
ISTIOD = Chart("istiod", ISTIO_VERSION, ISTIO_REPO)
ISTIO_GATEWAY = Chart("gateway", ISTIO_VERSION, ISTIO_REPO)

# Seldon Core v1: the operator ZenML's `seldon` model deployer drives.
# 1.17.1 is the last release under Apache-2.0 (1.18 moved to the BSL).
SELDON_CORE = Chart("seldon-core-operator", "1.17.1", "https://storage.googleapis.com/seldon-charts")

# EKS only: GKE and AKS scale node pools themselves. The image tag is set to the
# cluster's own minor version at deploy time.
CLUSTER_AUTOSCALER = Chart("cluster-autoscaler", "9.53.0", "https://kubernetes.github.io/autoscaler")

# cert-manager issues the front door's certificate (ingress/certificates.py); KServe's webhooks use it too.
CERT_MANAGER = Chart("cert-manager", "v1.18.2", "https://charts.jetstack.io")
# KServe in RawDeployment mode (no Knative).
KSERVE_CRD = Chart("kserve-crd", "v0.15.2", "oci://ghcr.io/kserve/charts")
KSERVE = Chart("kserve", "v0.15.2", "oci://ghcr.io/kserve/charts")


# --------------------------------------------------------------------------
# Kubernetes versions
#
# The Kubernetes minor versions each pinned component supports, as its own docs state
# them (each read on 2026-12-01, in the docs' sources: the istio.io, cert-manager.io and
# KServe websites' repositories and the Seldon Core repository at v1.17.1). A stack may
# only ask for a version that every component it deploys supports: `recipes.spec` checks
# --kubernetes-version and `recipe plan` prints the range. Bumping a pin above means
# re-reading its row here.


@dataclass(frozen=True)
class KubernetesSupport:
    """The Kubernetes minor versions one pinned component supports."""

    name: str  # as the user knows it: "Istio"
    release: str  # the release its docs describe: "1.27"
    chart: Chart  # the pinned chart of that release
    oldest: int  # a minor version: 29 means 1.29
    newest: int | None  # None: its docs name no newest version

    @property
    def label(self) -> str:
        return f"{self.name} {self.release}"

    def describe(self) -> str:
        """Like 1.29-1.33, or 1.30 or later."""
        return f"1.{self.oldest}-1.{self.newest}" if self.newest is not None else f"1.{self.oldest} or later"

    def supports(self, minor: int) -> bool:
        return minor >= self.oldest and (self.newest is None or minor <= self.newest)


KUBERNETES_SUPPORT: dict[str, KubernetesSupport] = {
    # istio.io, "Announcing Istio 1.27.0" (release notes): "Istio 1.27.0 is officially
    # supported on Kubernetes versions 1.29 to 1.33".
    "istio": KubernetesSupport("Istio", "1.27", ISTIOD, 29, 33),
    # Seldon Core docs at v1.17.1, "Install Seldon-Core" (doc/source/workflow/install.rst):
    # "Kubernetes cluster >= 1.23". Its compatibility matrix stops at Seldon Core 1.16
    # (Kubernetes 1.23-1.26) and names no newest version for 1.17: none is written here.
    "seldon-core": KubernetesSupport("Seldon Core", "1.17.1", SELDON_CORE, 23, None),
    # cert-manager.io, "Supported Releases": 1.18 supports Kubernetes 1.29 → 1.33
    # (the page also lists 1.18 as end of life since 2026-03-10).
    "cert-manager": KubernetesSupport("cert-manager", "1.18", CERT_MANAGER, 29, 33),
    # KServe 0.15 docs, "Kubernetes Deployment Installation Guide" (RawDeployment mode):
    # "Kubernetes 1.30 is the minimally required version"; its recommended Istio matrix
    # lists Kubernetes 1.30-1.32 but names no newest version: none is written here.
    "kserve": KubernetesSupport("KServe", "0.15", KSERVE, 30, None),
}

# The version-bound components a stack installs: its front door (Istio and cert-manager, with a
# tracker or a model deployer: ingress/) and each model deployer's own (see deployer.py). The
# other workloads (MLflow, PostgreSQL, the EKS Cluster Autoscaler, whose image follows the
# cluster's own version) limit no version.
FRONT_DOOR_COMPONENTS: tuple[str, ...] = ("istio", "cert-manager")
DEPLOYER_COMPONENTS: dict[str, tuple[str, ...]] = {
    "seldon": ("seldon-core",),
    "kserve": ("kserve",),
}


@dataclass(frozen=True)
class KubernetesRange:
    """The Kubernetes minor versions every version-bound component of one stack supports."""

    oldest: int
    newest: int
    components: tuple[KubernetesSupport, ...]

    def versions(self) -> list[str]:
        """Every supported version, oldest first: ["1.29", "1.30", ...]."""
        return [f"1.{minor}" for minor in range(self.oldest, self.newest + 1)]

    def describe(self) -> str:
        return f"1.{self.oldest}-1.{self.newest}"

    def rejecting(self, minor: int) -> list[KubernetesSupport]:
        """The components that do not support 1.<minor> (none: it is supported)."""
        return [c for c in self.components if not c.supports(minor)]


def kubernetes_range(components: tuple[str, ...] | list[str], deployer: str) -> KubernetesRange | None:
    """The Kubernetes versions a stack of `components` supports; None when none of its
    components is version-bound (only the front door and the deployer bring such charts)."""
    keys: list[str] = []
    if "tracker" in components or "deployer" in components:
        keys.extend(FRONT_DOOR_COMPONENTS)
    if "deployer" in components:
        keys.extend(DEPLOYER_COMPONENTS[deployer])
    if not keys:
        return None
    support = tuple(KUBERNETES_SUPPORT[key] for key in keys)
    oldest = max(c.oldest for c in support)
    newest = min((c.newest for c in support if c.newest is not None), default=None)
    if newest is None or newest < oldest:
        # A table error, not a user's: every front door brings Istio, which names both ends.
        raise RuntimeError(
            "the pinned charts of this stack share no bounded Kubernetes range: "
            + ", ".join(f"{c.label} {c.describe()}" for c in support)
        )
    return KubernetesRange(oldest, newest, support)
