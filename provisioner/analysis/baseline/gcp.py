"""The baseline's GCP predicates: one function per rule (its id in the docstring), read by rules.RULES."""

from __future__ import annotations

from provisioner.analysis.plan import Plan, PlannedResource
from recipes.facts.gcp import (
    ARTIFACT_REGISTRY,
    ARTIFACT_REGISTRY_IAM_MEMBER,
    COMPUTE_SUBNETWORK,
    GCS_BUCKET,
    GCS_BUCKET_IAM_MEMBER,
    GKE_CLUSTER,
    GKE_NODE_POOL,
    PROJECT_IAM_BINDING,
    PROJECT_IAM_MEMBER,
    PROJECT_SERVICE,
)

from .queries import (
    NO_CLUSTER,
    NOT_IN_STACK,
    Verdict,
    as_list,
    each,
    each_of,
    get,
    immutable_tags,
    of,
    present,
    restricted_endpoint,
    secrets_encryption,
)

# The project roles a GKE node service account needs, and nothing more (N2).
GKE_NODE_ROLES = {
    "roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer", "roles/artifactregistry.reader",
}
ADMIN_ROLE_PREFIXES = ("roles/owner", "roles/editor", "roles/iam.", "roles/resourcemanager.", "roles/storage.admin")
# objectCreator: what Cloud Storage's log writer gets on the access-log bucket (L2); it creates objects only.
BUCKET_OBJECT_ROLES = ("roles/storage.objectUser", "roles/storage.objectViewer", "roles/storage.legacyBucketReader",
                       "roles/storage.objectCreator")
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
DEFAULT_COMPUTE_ACCOUNT = "-compute@developer.gserviceaccount.com"
DATAPLANE_V2 = "ADVANCED_DATAPATH"
BINARY_AUTHORIZATION_ENFORCED = "PROJECT_SINGLETON_POLICY_ENFORCE"
BINARY_AUTHORIZATION_API = "binaryauthorization.googleapis.com"
# Cloud Storage writes usage logs as this group; without a create grant on the log bucket it drops them.
LOG_WRITER = "group:cloud-storage-analytics@google.com"
LOG_WRITER_ROLES = ("roles/storage.objectCreator", "roles/storage.objectUser", "roles/storage.objectAdmin")


# --------------------------------------------------------------------------
# Bucket


def _public_access_prevented(r: PlannedResource) -> bool:
    return r.inputs.get("publicAccessPrevention") == "enforced"


def bucket_public_access_prevented(plan: Plan) -> Verdict:
    """B1"""
    return each_of(plan, GCS_BUCKET, _public_access_prevented, "public access prevention enforced",
                   "public access prevention not enforced")


def _uniform_access(r: PlannedResource) -> bool:
    return r.inputs.get("uniformBucketLevelAccess") is True


def bucket_acls_off(plan: Plan) -> Verdict:
    """B2"""
    return each_of(plan, GCS_BUCKET, _uniform_access, "uniform bucket-level access", "fine-grained ACLs on")


def bucket_encrypted(plan: Plan) -> Verdict:
    """B3: Google-managed keys by default; the stack's Cloud KMS key under --kms."""
    if not plan.spec.kms:
        return present(plan, GCS_BUCKET, "Google-managed keys (--kms for a customer-managed key)")
    return each_of(plan, GCS_BUCKET, lambda r: bool(get(r.inputs, "encryption", "defaultKmsKeyName")),
                   "Cloud KMS key", "--kms given but the bucket has no default KMS key")


def bucket_https_only(plan: Plan) -> Verdict:
    """B4: nothing to configure."""
    return present(plan, GCS_BUCKET, "GCS serves HTTPS only")


def _versioning_enabled(r: PlannedResource) -> bool:
    return get(r.inputs, "versioning", "enabled") is True


def bucket_versioned(plan: Plan) -> Verdict:
    """B5"""
    return each_of(plan, GCS_BUCKET, _versioning_enabled, "versioning enabled", "versioning off")


# --------------------------------------------------------------------------
# Registry


def _tags_immutable(r: PlannedResource) -> bool:
    return get(r.inputs, "dockerConfig", "immutableTags") is True


def registry_tags_immutable(plan: Plan) -> Verdict:
    """R1"""
    return immutable_tags(plan, ARTIFACT_REGISTRY, _tags_immutable)


def registry_scans_on_push(plan: Plan) -> Verdict:
    """R2: the container scanning API is enabled."""
    if not of(plan, ARTIFACT_REGISTRY):
        return Verdict("n/a", NOT_IN_STACK)
    enabled = any(r.inputs.get("service") == "containerscanning.googleapis.com" for r in of(plan, PROJECT_SERVICE))
    return Verdict("pass", "container scanning API enabled") if enabled else Verdict("fail", "container scanning API not enabled")


def registry_private(plan: Plan) -> Verdict:
    """R3: no public member on the repository."""
    if not of(plan, ARTIFACT_REGISTRY):
        return Verdict("n/a", NOT_IN_STACK)
    public = [r.name for r in of(plan, ARTIFACT_REGISTRY_IAM_MEMBER) if r.inputs.get("member") in PUBLIC_MEMBERS]
    return Verdict("fail", "repository readable by anyone", public) if public else Verdict("pass", "no public members")


def _deletes_untagged(r: PlannedResource) -> bool:
    return any(get(p, "condition", "tagState") == "UNTAGGED" and p.get("action") == "DELETE"
               for p in as_list(r.inputs.get("cleanupPolicies")))


def untagged_images_expire(plan: Plan) -> Verdict:
    """R4"""
    return each_of(plan, ARTIFACT_REGISTRY, _deletes_untagged, "untagged images deleted", "no cleanup policy")


# --------------------------------------------------------------------------
# Cluster


def _endpoint_private(c: PlannedResource) -> bool:
    return get(c.inputs, "privateClusterConfig", "enablePrivateEndpoint") is True


def _endpoint_restricted(c: PlannedResource) -> bool:
    return bool(get(c.inputs, "masterAuthorizedNetworksConfig", "cidrBlocks"))


def endpoint_restricted(plan: Plan) -> Verdict:
    """C1"""
    return restricted_endpoint(plan, GKE_CLUSTER, _endpoint_private, _endpoint_restricted)


def _logging_on(c: PlannedResource) -> bool:
    return "SYSTEM_COMPONENTS" in as_list(get(c.inputs, "loggingConfig", "enableComponents"))


def control_plane_logged(plan: Plan) -> Verdict:
    """C2"""
    return each_of(plan, GKE_CLUSTER, _logging_on, "Cloud Logging on (audit logs are always on)", "cluster logging off")


def _secrets_encrypted(c: PlannedResource) -> bool:
    return get(c.inputs, "databaseEncryption", "state") == "ENCRYPTED"


def secrets_envelope_encrypted(plan: Plan) -> Verdict:
    """C3"""
    return secrets_encryption(plan, GKE_CLUSTER, _secrets_encrypted)


def _no_legacy_auth(c: PlannedResource) -> bool:
    return not c.inputs.get("enableLegacyAbac") \
        and get(c.inputs, "masterAuth", "clientCertificateConfig", "issueClientCertificate") is False


def rbac_only(plan: Plan) -> Verdict:
    """C4"""
    return each_of(plan, GKE_CLUSTER, _no_legacy_auth, "no ABAC, no client certificates", "legacy ABAC or client certificates")


def _has_workload_pool(c: PlannedResource) -> bool:
    return bool(get(c.inputs, "workloadIdentityConfig", "workloadPool"))


def _pool_uses_gke_metadata(p: PlannedResource) -> bool:
    return get(p.inputs, "nodeConfig", "workloadMetadataConfig", "mode") == "GKE_METADATA"


def workload_identity(plan: Plan) -> Verdict:
    """C5: a workload identity pool, and every node pool serving it instead of the node's metadata."""
    verdict = each_of(plan, GKE_CLUSTER, _has_workload_pool, "workload identity", "no workload identity pool")
    if verdict.status != "pass":
        return verdict
    return each_of(plan, GKE_NODE_POOL, _pool_uses_gke_metadata, "workload identity on every node pool",
                   "node pool exposes the node's metadata")


def _on_release_channel(c: PlannedResource) -> bool:
    return get(c.inputs, "releaseChannel", "channel") in ("RAPID", "REGULAR", "STABLE")


def supported_version(plan: Plan) -> Verdict:
    """C6"""
    return each_of(plan, GKE_CLUSTER, _on_release_channel, "release channel", "no release channel")


# --------------------------------------------------------------------------
# Nodes and identity


def nodes_private(plan: Plan) -> Verdict:
    """N1: private nodes (public ones only warn under --network public)."""
    clusters = of(plan, GKE_CLUSTER)
    if not clusters:
        return Verdict("n/a", NO_CLUSTER)
    if all(get(c.inputs, "privateClusterConfig", "enablePrivateNodes") for c in clusters):
        return Verdict("pass", "private nodes")
    if plan.spec.network == "public":
        return Verdict("warn", "nodes with public IPs (--network public)")
    return Verdict("fail", "nodes are not private", [c.name for c in clusters])


def node_identity(plan: Plan) -> Verdict:
    """N2: a dedicated node service account with the minimal project roles."""
    pools = of(plan, GKE_NODE_POOL)
    if not pools:
        return Verdict("n/a", NO_CLUSTER)
    default = [p.name for p in pools if not get(p.inputs, "nodeConfig", "serviceAccount")
               or DEFAULT_COMPUTE_ACCOUNT in str(get(p.inputs, "nodeConfig", "serviceAccount"))]
    if default:
        return Verdict("fail", "nodes run as the default compute service account", default)
    # The nodes' own project roles: other members' (--admin's cluster viewers) are I1's to judge.
    nodes = {f"serviceAccount:{get(p.inputs, 'nodeConfig', 'serviceAccount')}" for p in pools}
    extra = [m.name for m in of(plan, PROJECT_IAM_MEMBER)
             if m.inputs.get("member") in nodes and m.inputs.get("role") not in GKE_NODE_ROLES]
    return Verdict("fail", "project roles beyond the node minimum", extra) if extra else Verdict("pass", "dedicated node service account, minimal roles")


def _self_healing_and_shielded(p: PlannedResource) -> bool:
    return get(p.inputs, "management", "autoRepair") is True and get(p.inputs, "management", "autoUpgrade") is True \
        and get(p.inputs, "nodeConfig", "shieldedInstanceConfig", "enableSecureBoot") is True


def nodes_maintained(plan: Plan) -> Verdict:
    """N3"""
    return each_of(plan, GKE_NODE_POOL, _self_healing_and_shielded, "auto-repair, auto-upgrade, secure boot",
                   "node pool not self-healing or not shielded")


def iam_scoped(plan: Plan) -> Verdict:
    """I1: no admin project roles; bucket roles on objects only."""
    members = of(plan, PROJECT_IAM_MEMBER) + of(plan, PROJECT_IAM_BINDING)
    bad = [m.name for m in members if str(m.inputs.get("role", "")).startswith(ADMIN_ROLE_PREFIXES)]
    bad += [b.name for b in of(plan, GCS_BUCKET_IAM_MEMBER) if b.inputs.get("role") not in BUCKET_OBJECT_ROLES]
    if bad:
        return Verdict("fail", "admin or broad roles", bad)
    return Verdict("pass", "bucket access on this bucket only; no admin roles")


# --------------------------------------------------------------------------
# NetworkPolicy, admission, logs


def _enforces_network_policy(c: PlannedResource) -> bool:
    if c.inputs.get("datapathProvider") == DATAPLANE_V2:
        return True
    # The legacy way: Calico on the nodes, and its add-on in the control plane.
    return get(c.inputs, "networkPolicy", "enabled") is True \
        and get(c.inputs, "addonsConfig", "networkPolicyConfig", "disabled") is False


def network_policy_enforced(plan: Plan) -> Verdict:
    """N4: NetworkPolicy objects are enforced (GKE Dataplane V2), not just stored."""
    clusters = of(plan, GKE_CLUSTER)
    if not clusters:
        return Verdict("n/a", NO_CLUSTER)
    return each(clusters, _enforces_network_policy, "GKE Dataplane V2 enforces NetworkPolicy",
                "NetworkPolicy is not enforced (legacy datapath, no Calico)")


def binary_authorization(plan: Plan) -> Verdict:
    """C7: GKE admits pods by the project's Binary Authorization policy, its API enabled by the stack."""
    clusters = of(plan, GKE_CLUSTER)
    if not clusters:
        return Verdict("n/a", NO_CLUSTER)
    off = [c.name for c in clusters if get(c.inputs, "binaryAuthorization", "evaluationMode") != BINARY_AUTHORIZATION_ENFORCED]
    if off:
        return Verdict("fail", "Binary Authorization not enforced", off)
    if not any(s.inputs.get("service") == BINARY_AUTHORIZATION_API for s in of(plan, PROJECT_SERVICE)):
        return Verdict("fail", "Binary Authorization enforced but its API is not enabled (GKE refuses the cluster)",
                       [c.name for c in clusters])
    return Verdict("pass", "enforced with the project's policy (it admits every image until the project owner sets one)")


def _flow_logged(subnet: PlannedResource) -> bool:
    config = subnet.inputs.get("logConfig")
    return bool(config) and config.get("enable") is not False


def flow_logs(plan: Plan) -> Verdict:
    """L1: VPC flow logs on every subnet, and intranode visibility so they see pod-to-pod traffic on one node."""
    subnets = of(plan, COMPUTE_SUBNETWORK)
    if not subnets:
        return Verdict("n/a", NOT_IN_STACK)
    missing = [s.name for s in subnets if not _flow_logged(s)]
    missing += [c.name for c in of(plan, GKE_CLUSTER) if c.inputs.get("enableIntranodeVisibility") is not True]
    if not missing:
        return Verdict("pass", "flow logs on every subnet, intranode visibility on")
    if plan.spec.audit_logs:
        return Verdict("fail", "--audit-logs given but flow logs or intranode visibility are off", missing)
    return Verdict("option", "flow logs cost money (Cloud Logging): --audit-logs")


def bucket_access_logs(plan: Plan) -> Verdict:
    """L2: each bucket's access logs go to another bucket, where Cloud Storage may write them."""
    buckets = of(plan, GCS_BUCKET)
    if not buckets:
        return Verdict("n/a", NOT_IN_STACK)
    log_buckets = {get(b.inputs, "logging", "logBucket") for b in buckets} - {None}
    logged = [b for b in buckets if b.inputs.get("name") not in log_buckets]  # a log bucket does not log itself
    writable = {m.inputs.get("bucket") for m in of(plan, GCS_BUCKET_IAM_MEMBER)
                if m.inputs.get("member") == LOG_WRITER and m.inputs.get("role") in LOG_WRITER_ROLES}
    dropped = [b.name for b in logged
               if get(b.inputs, "logging", "logBucket") and get(b.inputs, "logging", "logBucket") not in writable]
    if dropped:
        return Verdict("fail", "access logs go to a bucket Cloud Storage may not write: they are dropped", dropped)
    unlogged = [b.name for b in logged if not get(b.inputs, "logging", "logBucket")]
    if not unlogged:
        return Verdict("pass", "access logs in a log bucket of their own")
    if plan.spec.audit_logs:
        return Verdict("fail", "--audit-logs given but a bucket has no access logs", unlogged)
    return Verdict("option", "access logs cost money (log storage): --audit-logs")
