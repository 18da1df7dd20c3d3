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
MLFLOW_IMAGE = "docker.io/burakince/mlflow:3.15.1"
POSTGRES_IMAGE = "docker.io/library/postgres:16.10"
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

# KServe in RawDeployment mode (no Knative); its webhooks need cert-manager.
CERT_MANAGER = Chart("cert-manager", "v1.18.2", "https://charts.jetstack.io")
KSERVE_CRD = Chart("kserve-crd", "v0.15.2", "oci://ghcr.io/kserve/charts")
KSERVE = Chart("kserve", "v0.15.2", "oci://ghcr.io/kserve/charts")
