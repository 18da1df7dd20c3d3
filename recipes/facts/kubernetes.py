"""Facts of the `kubernetes` provider: a cluster that already exists (recipes/existing/). Constants only (see
recipes/facts/__init__.py), the same names as the clouds', with values that mean "we create no cloud resource":
no node types, no regions list, no cloud types, no creation times, no cloud credentials but a kubeconfig."""

from __future__ import annotations

import re

# The program package (recipes/kubernetes/ is the workloads every provider shares).
PROGRAM_PACKAGE = "recipes.existing"

# --- stack spec: profiles, node types, networks, tags, admins (read by recipes/spec.py, recipes/spec_values.py)
# The cluster's nodes are the user's: node fields are refused for this provider (stack_fields.CLOUDS), so the
# profile decides nothing here; these values only fill the spec's fields.
PROFILE_DEFAULTS = {
    "dev": {"node_type": "", "min_nodes": 1, "max_nodes": 1, "spot": False},
    "prod": {"node_type": "", "min_nodes": 1, "max_nodes": 1, "spot": False},
}
SPOT_NODES = False
NODE_TYPE_RE = None  # no machine type to name
NODE_TYPE_EXAMPLE = ""
NETWORK_MODES = ("private",)  # no network of ours: --network is refused
PROJECT_RE = None
# --tag becomes a Kubernetes label on every object: a label's key (optional DNS prefix, then a 63-character
# name) and value rules (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set).
TAG_KEY_MAX = TAG_VALUE_MAX = None
TAG_KEY_FORBIDDEN = ""
TAG_RESERVED_PREFIX = "kubernetes.io/"
TAG_KEY_RE = re.compile(r"^(?:[a-z0-9]([-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                        r"(?=.{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
TAG_VALUE_RE = re.compile(r"^(?:(?=.{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
TAG_PATTERN_PROBLEM = ("label {key}={value!r}: Kubernetes label names and values are at most 63 letters, digits, "
                       "- _ . starting and ending with a letter or digit (a key may have a DNS prefix/)")
ADMIN_RE = ADMIN_SESSION_RE = ADMIN_SSO_PATH_RE = None  # --admin is refused: the cluster's RBAC is the user's
ADMIN_KINDS = None

# --- deploy refusals (read by provisioner/operations/refusals.py)
PRIVATE_API_ONLY_FROM_NETWORK: tuple[str, str] | None = None
REGION_WIDE_REGISTRY: str | None = None

# --- resource types (read by baseline, costs, critical_path, mockcloud, adoption, tests)
# Ours, not a cloud's: the cluster component (a provider and a handle) in place of a control plane.
EXISTING_CLUSTER = "recipes:existing:Cluster"
CLUSTER_TYPE = EXISTING_CLUSTER
IN_CLUSTER_STORE = "recipes:existing:InClusterObjectStore"  # the default bucket (recipes/existing/objectstore.py)
# The user's data lives in the in-cluster store's volume (a Kubernetes type, kept like the clouds' buckets).
DATA_TYPES: tuple[str, ...] = ()
LONG_LIVED_KEY_TYPES: tuple[str, ...] = ()

# --- creation times (read by critical_path): no cloud resource is created.
CREATE_SECONDS: dict[str, int] = {}
REGIONAL_CLUSTER_CREATE_SECONDS = None

# --- regions (read by recipes/regions.py, spec, costs)
# No regions list: the region is a free label (lowercase letters, digits, hyphens) saying where the cluster is.
DEFAULT_REGION = "in-cluster"
REGIONS = None  # recipes/regions.py checks the label's form
PRICE_REFERENCE_REGION = None  # nothing priced

# --- ZenML stack components (read by stacks/exporters)
ZENML_ARTIFACT_STORE_FLAVOR = "s3"  # with the endpoint in client_kwargs
ZENML_CONTAINER_REGISTRY_FLAVOR = "default"
PIPELINE_POD_LABELS = None
STORAGE_ACCOUNT_ENV = None
# No workload identity on a cluster we did not create: ZenML reaches the bucket with its keys (a ZenML secret)
# and its endpoint (client_kwargs), see provisioner/stacks/bucket_keys.py.
BUCKET_STATIC_KEYS = True

# --- The Pulumi SDK: pulumi-kubernetes is a dependency of every install, so no extra to name.
SDK_DISTRIBUTION = "pulumi-kubernetes"
SDK_MODULE = "pulumi_kubernetes"

# --- Pulumi plugins and the errors a user can fix (read by provisioner/engine/pulumi/plugins.py, messages.py)
PULUMI_PLUGINS = ("kubernetes", "random", "tls")
COMMUNITY_PLUGINS: dict[str, tuple[str, str]] = {}
# What a kubeconfig whose credentials have expired or are refused gives (client-go's and the provider's words).
EXPIRED_CREDENTIAL_ERRORS = ("Unauthorized", "the server has asked for the client to provide credentials",
                             "provide credentials", "x509: certificate has expired")
EXPIRED_CREDENTIAL_FIX = ("The kubeconfig context's credentials are missing or expired: check with `kubectl --context "
                          "CONTEXT auth whoami` (refresh your login to the cluster), then re-run the same command.")
PREREQUISITE_ERROR_RE: str | None = None
PREREQUISITE_MISSING_RE: str | None = None
PREREQUISITE_FIX_COMMAND: str | None = None
PREREQUISITE_HINT: str | None = None

# --- import ids of pending creates (read by provisioner/engine/adoption.py): no cloud resource.
IMPORT_ID_FORMATS: dict[str, str] = {}

# --- this machine's tools and credentials (read by provisioner/cli/doctor.py)
DOCTOR_TOOLS = ()  # kubectl: the doctor checks it for every provider
DOCTOR_CREDENTIAL_ENV = ("KUBECONFIG",)
DOCTOR_CREDENTIAL_FILES = (".kube/config",)  # under the home directory
DOCTOR_CREDENTIALS_MISSING = "no kubeconfig ($KUBECONFIG or ~/.kube/config)"
DOCTOR_CREDENTIAL_FIX = "k3d cluster create ml (a laptop cluster), or ask your cluster's admins for a kubeconfig"
DOCTOR_IDENTITY_COMMAND = None  # a found kubeconfig is reported; the deploy's preflight asks the cluster

# --- pod egress the stack's NetworkPolicies allow besides DNS and HTTPS (recipes/kubernetes/segmentation.py)
# Static keys to the bucket, no identity agent.
IDENTITY_ENDPOINTS: tuple[tuple[str, int], ...] = ()
