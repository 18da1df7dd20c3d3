"""GCP facts: constants only (see recipes/facts/__init__.py). Sections are headed by what reads them."""

from __future__ import annotations

import re

PROGRAM_PACKAGE = "recipes.gcp"  # the Pulumi program's package (recipes/program.py)

# --- stack spec: profiles, node types, networks, tags, admins (read by recipes/spec.py, recipes/spec_values.py)
# Profile defaults; dev: one 2 vCPU / 8 GiB node on spot, zonal (free tier); prod: regional, on-demand, keys.
PROFILE_DEFAULTS = {
    "dev": {"node_type": "e2-standard-2", "min_nodes": 1, "max_nodes": 3, "spot": True},
    "prod": {"node_type": "e2-standard-4", "min_nodes": 1, "max_nodes": 3, "spot": False, "kms": True, "regional": True, "audit_logs": True},
}
SPOT_NODES = True  # the cluster's only node pool may run on spot capacity
NODE_TYPE_RE = re.compile(r"^[a-z][a-z0-9]*-[a-z0-9-]+$")
NODE_TYPE_EXAMPLE = "e2-standard-2"
NETWORK_MODES = ("private", "public")
PROJECT_RE = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")  # a project ID
# Labels: the patterns carry the length limits (63), so no separate maximum.
TAG_KEY_MAX = TAG_VALUE_MAX = None
TAG_KEY_FORBIDDEN = ""
TAG_RESERVED_PREFIX = None
TAG_KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
TAG_VALUE_RE = re.compile(r"^[a-z0-9_-]{0,63}$")
TAG_PATTERN_PROBLEM = ("label {key}={value!r}: GCP labels are lowercase letters, digits, _ and -, "
                       "at most 63 characters, and keys start with a letter")
# --admin: IAM members, KIND:EMAIL.
ADMIN_RE = re.compile(r"^(user|group|serviceAccount):([^@\s:]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)$")
ADMIN_SESSION_RE = None
ADMIN_SSO_PATH_RE = None
ADMIN_KINDS = None

# --- deploy refusals (read by provisioner/operations/refusals.py)
# GKE's private endpoint has an IAM-authorized DNS endpoint a deploy from anywhere reaches.
PRIVATE_API_ONLY_FROM_NETWORK: tuple[str, str] | None = None
REGION_WIDE_REGISTRY: str | None = None

# --- resource types (read by baseline, costs, critical_path, mockcloud, adoption, tests)
# Pulumi type tokens of what the GCP recipe declares, named once so no module restates the
# string. Cloud-specific names; the role names after them are the same in every cloud module.
GKE_CLUSTER = "gcp:container/cluster:Cluster"
GKE_NODE_POOL = "gcp:container/nodePool:NodePool"
PROJECT_SERVICE = "gcp:projects/service:Service"
PROJECT_SERVICE_IDENTITY = "gcp:projects/serviceIdentity:ServiceIdentity"
PROJECT_IAM_MEMBER = "gcp:projects/iAMMember:IAMMember"
PROJECT_IAM_BINDING = "gcp:projects/iAMBinding:IAMBinding"
COMPUTE_NETWORK = "gcp:compute/network:Network"
COMPUTE_SUBNETWORK = "gcp:compute/subnetwork:Subnetwork"
COMPUTE_ROUTER = "gcp:compute/router:Router"
ROUTER_NAT = "gcp:compute/routerNat:RouterNat"
COMPUTE_ADDRESS = "gcp:compute/address:Address"
SERVICE_ACCOUNT = "gcp:serviceaccount/account:Account"
SERVICE_ACCOUNT_KEY = "gcp:serviceaccount/key:Key"
GCS_BUCKET = "gcp:storage/bucket:Bucket"
GCS_BUCKET_IAM_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"
GCS_HMAC_KEY = "gcp:storage/hmacKey:HmacKey"
ARTIFACT_REGISTRY = "gcp:artifactregistry/repository:Repository"
ARTIFACT_REGISTRY_IAM_MEMBER = "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember"
KMS_KEY_RING = "gcp:kms/keyRing:KeyRing"
KMS_CRYPTO_KEY = "gcp:kms/cryptoKey:CryptoKey"
KMS_CRYPTO_KEY_IAM_MEMBER = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
# Role names (the same in every cloud module), for code that reads them through facts.of(provider).
CLUSTER_TYPE = GKE_CLUSTER
NODE_POOL_TYPE = GKE_NODE_POOL
NAT_GATEWAY_TYPE = ROUTER_NAT
# What holds the user's data, and (with --kms) the key without which it cannot be read.
DATA_TYPES = (GCS_BUCKET, ARTIFACT_REGISTRY, KMS_CRYPTO_KEY)
# Long-lived credentials no recipe may create (baseline rule I2).
LONG_LIVED_KEY_TYPES = (SERVICE_ACCOUNT_KEY, GCS_HMAC_KEY)

# --- creation times (read by critical_path)
# Typical seconds to create each type; anything not listed is one API call (critical_path's default).
# Sources: the providers' documented create timeouts (an upper bound) and Google's create guides.
CREATE_SECONDS = {
    # Zonal GKE cluster: ~4-6 min (https://cloud.google.com/kubernetes-engine/docs/how-to/creating-a-zonal-cluster;
    # Terraform google_container_cluster create timeout 40m). Take 5 min; regional: REGIONAL_CLUSTER_CREATE_SECONDS.
    GKE_CLUSTER: 300,
    # Node pool: ~2-4 min (https://cloud.google.com/kubernetes-engine/docs/how-to/node-pools; timeout 30m).
    GKE_NODE_POOL: 180,
    # Enabling a service API: tens of seconds (https://cloud.google.com/service-usage/docs/enable-disable).
    PROJECT_SERVICE: 30,
    # VPC network, subnetwork, router and Cloud NAT: long-running compute operations, ~10-30 s each
    # (https://cloud.google.com/vpc/docs/create-modify-vpc-networks, https://cloud.google.com/nat/docs/set-up-manage-network-address-translation).
    COMPUTE_NETWORK: 30,
    COMPUTE_SUBNETWORK: 20,
    COMPUTE_ROUTER: 15,
    ROUTER_NAT: 30,
    # Service accounts and IAM bindings: one call plus propagation (https://cloud.google.com/iam/docs/access-change-propagation).
    SERVICE_ACCOUNT: 10,
    GCS_BUCKET: 5,
    ARTIFACT_REGISTRY: 10,
    KMS_KEY_RING: 5,
    KMS_CRYPTO_KEY: 10,
}
# A regional GKE control plane spans three zones and takes longer: ~7-10 min.
REGIONAL_CLUSTER_CREATE_SECONDS = 480

# --- regions (read by recipes/regions.py, spec, costs)
DEFAULT_REGION = "us-central1"
# Public commercial regions as of 2026-11.
REGIONS = frozenset({
    "africa-south1",
    "asia-east1", "asia-east2", "asia-northeast1", "asia-northeast2", "asia-northeast3",
    "asia-south1", "asia-south2", "asia-southeast1", "asia-southeast2",
    "australia-southeast1", "australia-southeast2",
    "europe-central2", "europe-north1", "europe-north2", "europe-southwest1",
    "europe-west1", "europe-west2", "europe-west3", "europe-west4", "europe-west6",
    "europe-west8", "europe-west9", "europe-west10", "europe-west12",
    "me-central1", "me-central2", "me-west1",
    "northamerica-northeast1", "northamerica-northeast2", "northamerica-south1",
    "southamerica-east1", "southamerica-west1",
    "us-central1", "us-east1", "us-east4", "us-east5", "us-south1",
    "us-west1", "us-west2", "us-west3", "us-west4",
})
# The region whose list prices costs' table holds.
PRICE_REFERENCE_REGION = "us-central1"

# --- ZenML stack components (read by stacks/exporters)
ZENML_ARTIFACT_STORE_FLAVOR = "gcp"
ZENML_CONTAINER_REGISTRY_FLAVOR = "gcp"
# Labels and the storage-account variable ZenML's pipeline pods need to reach the bucket without keys.
PIPELINE_POD_LABELS = None
STORAGE_ACCOUNT_ENV = None
BUCKET_STATIC_KEYS = False  # pipeline pods reach the bucket through workload identity

# --- The cloud's Pulumi SDK: the one distribution that only this cloud needs, installed with the
# `stack-recipes[gcp]` extra (pyproject.toml); recipes.facts.missing_sdk reads it.
SDK_DISTRIBUTION = "pulumi-gcp"
SDK_MODULE = "pulumi_gcp"

# --- Pulumi plugins and the errors a user can fix (read by provisioner/engine/pulumi/plugins.py, messages.py)
# The resource plugins the program uses. The plugin for `x` comes from the Python SDK distribution
# `pulumi_x` (`-` becomes `_`), at that SDK's version; community plugins published elsewhere are
# listed with (their SDK distribution, their plugin server): time, for recipes/propagation.py.
PULUMI_PLUGINS = ("gcp", "kubernetes", "random", "time", "tls")
COMMUNITY_PLUGINS: dict[str, tuple[str, str]] = {
    "time": ("pulumiverse_time", "github://api.github.com/pulumiverse/pulumi-time"),
}
# Errors that mean the credentials are missing or expired, and what the user runs then.
EXPIRED_CREDENTIAL_ERRORS = ("invalid_grant", "could not find default credentials", "Reauthentication",
                             "oauth2: cannot fetch token", "Request had invalid authentication credentials")
EXPIRED_CREDENTIAL_FIX = ("Your Google credentials are missing or expired: run `gcloud auth application-default login`, "
                          "then re-run the same command.")
# The error a missing one-time prerequisite of the project gives (a regex), what in it names the
# missing piece (a regex, one group), the command per piece ("{}") and the hint around the
# commands ("{commands}"): the two APIs a deploy needs before it can enable the others.
PREREQUISITE_ERROR_RE: str | None = r"(Service Usage|Cloud Resource Manager) API has not been used in project"
PREREQUISITE_MISSING_RE: str | None = r"has not been used in project ([\w-]+)"
PREREQUISITE_FIX_COMMAND: str | None = (
    "gcloud services enable serviceusage.googleapis.com cloudresourcemanager.googleapis.com --project {}")
PREREQUISITE_HINT: str | None = (
    "The project must have the Service Usage and Cloud Resource Manager APIs on before a deploy can enable the "
    "others: run {commands}, then re-run the same command.")

# --- import ids of pending creates (read by provisioner/engine/adoption.py)
# Resource type -> the provider's documented import id, a template of the pending create's
# inputs (and of the stack's project, region, subscription). Types whose ids the cloud
# generates are not here: `recipe repair` cannot find those.
COMPUTE_FIREWALL = "gcp:compute/firewall:Firewall"
IMPORT_ID_FORMATS = {
    GKE_CLUSTER: "projects/{project}/locations/{location}/clusters/{name}",
    GKE_NODE_POOL: "{project}/{location}/{cluster}/{name}",
    SERVICE_ACCOUNT: "projects/{project}/serviceAccounts/{accountId}@{project}.iam.gserviceaccount.com",
    GCS_BUCKET: "{name}",
    ARTIFACT_REGISTRY: "projects/{project}/locations/{location}/repositories/{repositoryId}",
    COMPUTE_NETWORK: "projects/{project}/global/networks/{name}",
    COMPUTE_SUBNETWORK: "projects/{project}/regions/{region}/subnetworks/{name}",
    COMPUTE_ROUTER: "projects/{project}/regions/{region}/routers/{name}",
    COMPUTE_ADDRESS: "projects/{project}/regions/{region}/addresses/{name}",
    COMPUTE_FIREWALL: "projects/{project}/global/firewalls/{name}",
    KMS_CRYPTO_KEY: "{keyRing}/cryptoKeys/{name}",
}

# --- this machine's tools and credentials (read by provisioner/cli/doctor.py)
# (name, command, why it is needed, how to get it)
DOCTOR_TOOLS = (("gcloud CLI", "gcloud", "needed for gcp stacks (credentials, project)", "https://cloud.google.com/sdk/docs/install"),
                ("gke-gcloud-auth-plugin", "gke-gcloud-auth-plugin", "needed by kubeconfigs of GKE clusters",
                 "gcloud components install gke-gcloud-auth-plugin"))
DOCTOR_CREDENTIAL_ENV = ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CREDENTIALS")
DOCTOR_CREDENTIAL_FILES = (".config/gcloud/application_default_credentials.json",)  # under the home directory
DOCTOR_CREDENTIALS_MISSING = "none found"
DOCTOR_CREDENTIAL_FIX = "gcloud auth application-default login"
DOCTOR_IDENTITY_COMMAND = None  # found credentials are reported, not verified

# --- pod egress the stack's NetworkPolicies allow besides DNS and HTTPS (recipes/kubernetes/segmentation.py)
# GKE Workload Identity: the GKE metadata server (169.254.169.254:80, served through 169.254.169.252:988
# under Dataplane V2; GKE's network policy docs name both).
IDENTITY_ENDPOINTS: tuple[tuple[str, int], ...] = (("169.254.169.254/32", 80), ("169.254.169.252/32", 988))
