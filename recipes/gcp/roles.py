"""The IAM roles the GCP stack grants: few, predefined, and named here so they can be tested."""

from __future__ import annotations

# N2: what a node needs to run (write logs and metrics, report metadata), nothing more.
# The `roles/container.defaultNodeServiceAccount` role bundles the same permissions;
# the four roles are listed so every grant is visible in `recipe plan`.
NODE_PROJECT_ROLES: tuple[str, ...] = (
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
)
# Nodes pull pipeline images: read on the stack's repository only, never project-wide.
REGISTRY_READER = "roles/artifactregistry.reader"
# I1: objects of the stack's bucket only (create, read, update, delete, list).
BUCKET_OBJECTS = "roles/storage.objectUser"
# Lets one Kubernetes service account act as one Google service account.
WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"
# --admin: the least that gives a listed member cluster-admin. Reading the cluster (get-credentials)
# and reaching its DNS endpoint (container.clusters.connect), project-wide as GKE has no per-cluster
# IAM; Kubernetes' own cluster-admin comes from a ClusterRoleBinding in the cluster, not from IAM.
CLUSTER_VIEWER = "roles/container.clusterViewer"
KUBERNETES_CLUSTER_ADMIN = "cluster-admin"
# --admin on the stack's data: the bucket's objects (the same role as the workloads: I1) and
# pushing and pulling images of the stack's repository.
REGISTRY_WRITER = "roles/artifactregistry.writer"
# --kms: a Google service agent (GCS, Artifact Registry, GKE) may encrypt and decrypt
# with the stack's key, granted on that one key, never on the project.
KMS_ENCRYPTER_DECRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"

# Never granted by a stack: tests check every binding against these.
FORBIDDEN: frozenset[str] = frozenset(
    {"roles/owner", "roles/editor", "roles/viewer", "roles/storage.admin", "roles/iam.serviceAccountAdmin",
     "roles/iam.serviceAccountTokenCreator", "roles/iam.serviceAccountUser", "roles/artifactregistry.admin",
     "roles/container.admin", "roles/cloudkms.admin"}
)


def admin_slug(member: str) -> str:
    """A stable, readable logical name part per --admin member: reordering them changes nothing."""
    return member.replace(":", "-")


def workload_pool(project: str) -> str:
    """The workload identity pool of every GKE cluster of a project."""
    return f"{project}.svc.id.goog"


def kubernetes_member(project: str, namespace: str, service_account: str) -> str:
    """The IAM principal of one Kubernetes service account under workload identity."""
    return f"serviceAccount:{workload_pool(project)}[{namespace}/{service_account}]"
