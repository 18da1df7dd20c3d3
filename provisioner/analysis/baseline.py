"""The security baseline (docs/security-baseline.md) as checks over a plan.

Each rule is data (id, title, anchors, default) plus one small predicate per
cloud over the resource graph the real program declares under mocks, the same
graph `recipe plan` shows. `recipe check` prints the verdicts and `recipe
deploy` refuses a stack with a failing rule unless --skip-checks.

Verdicts: pass; fail (the program breaks the rule: a bug, or a deliberately
bad resource); warn (the user chose the weaker setting, e.g. no --allow-cidr
or --network public); option (a rule that costs money and is off, e.g. KMS);
n/a (the rule has nothing to check on this cloud or in this stack).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from provisioner.analysis.internal_sources import own_sources
from provisioner.analysis.plan import Plan, PlannedResource

STATUSES = ("pass", "fail", "warn", "option", "n/a")


@dataclass
class Verdict:
    status: str
    detail: str = ""
    resources: list[str] = field(default_factory=list)  # names of failing resources


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    anchors: tuple[str, ...]
    default: str  # "on", or "option" for rules that cost money
    checks: dict[str, Callable[[Plan], Verdict]]
    not_applicable: dict[str, str] = field(default_factory=dict)  # provider -> why

    def evaluate(self, plan: Plan) -> Verdict:
        provider = plan.spec.provider
        if provider in self.not_applicable:
            return Verdict("n/a", self.not_applicable[provider])
        check = self.checks.get(provider)
        if check is None:
            return Verdict("n/a", f"no {provider} equivalent")
        return check(plan)


@dataclass
class RuleResult:
    rule: Rule
    verdict: Verdict

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.rule.id,
            "title": self.rule.title,
            "anchors": list(self.rule.anchors),
            "default": self.rule.default,
            "status": self.verdict.status,
            "detail": self.verdict.detail,
            "resources": self.verdict.resources,
        }


def evaluate(plan: Plan) -> list[RuleResult]:
    return [RuleResult(rule, rule.evaluate(plan)) for rule in RULES]


def failures(results: Iterable[RuleResult]) -> list[RuleResult]:
    return [r for r in results if r.verdict.status == "fail"]


# --------------------------------------------------------------------------
# Small vocabulary for predicates

def of(plan: Plan, type_: str) -> list[PlannedResource]:
    return plan.by_type(type_)


def linked(plan: Plan, resource: PlannedResource, type_: str) -> list[PlannedResource]:
    """Resources of `type_` that reference `resource` (it is among their dependencies)."""
    return [r for r in of(plan, type_) if resource.urn in r.dependencies]


def get(value: Any, *path: str | int, default: Any = None) -> Any:
    for key in path:
        if isinstance(key, int):
            value = value[key] if isinstance(value, list) and len(value) > key else None
        else:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            return default
    return value


def each(resources: list[PlannedResource], ok: Callable[[PlannedResource], bool], good: str, bad: str) -> Verdict:
    """pass when every resource satisfies `ok`; n/a when there is none."""
    if not resources:
        return Verdict("n/a", "not in this stack")
    failing = [r.name for r in resources if not ok(r)]
    return Verdict("fail", bad, failing) if failing else Verdict("pass", good)


def policy_doc(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return {}
    return value if isinstance(value, dict) else {}


def statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    found = doc.get("Statement") or []
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


# Resource types
S3 = "aws:s3/bucket:Bucket"
ECR = "aws:ecr/repository:Repository"
EKS = "aws:eks/cluster:Cluster"
GCS = "gcp:storage/bucket:Bucket"
GAR = "gcp:artifactregistry/repository:Repository"
GKE = "gcp:container/cluster:Cluster"
GKE_POOL = "gcp:container/nodePool:NodePool"
AZ_STORAGE = "azure-native:storage:StorageAccount"
AZ_CONTAINER = "azure-native:storage:BlobContainer"
ACR = "azure-native:containerregistry:Registry"
AKS = "azure-native:containerservice:ManagedCluster"
# What holds the user's data, and (with --kms) the keys without which it cannot be read.
DATA_TYPES = {
    "aws": (S3, ECR, "aws:kms/key:Key"),
    "gcp": (GCS, GAR, "gcp:kms/cryptoKey:CryptoKey"),
    "azure": (AZ_STORAGE, ACR, "azure-native:storage:BlobContainer", "azure-native:keyvault:Vault", "azure-native:keyvault:Key"),
}


def _s3_linked(type_: str, ok: Callable[[PlannedResource], bool], good: str, bad: str) -> Callable[[Plan], Verdict]:
    """Every S3 bucket has a linked `type_` resource satisfying `ok`."""

    def check(plan: Plan) -> Verdict:
        return each(of(plan, S3), lambda b: any(ok(x) for x in linked(plan, b, type_)), good, bad)

    return check


# --------------------------------------------------------------------------
# Buckets

def _aws_public_block(r: PlannedResource) -> bool:
    return all(r.inputs.get(k) is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))


def _azure_public(plan: Plan) -> Verdict:
    accounts = each(of(plan, AZ_STORAGE), lambda r: r.inputs.get("allowBlobPublicAccess") is False,
                    "blob public access off", "allowBlobPublicAccess is not false")
    if accounts.status != "pass":
        return accounts
    return each(of(plan, AZ_CONTAINER), lambda r: r.inputs.get("publicAccess", "None") == "None",
                "storage account and containers private", "container publicAccess is not None")


def _aws_sse(plan: Plan) -> Verdict:
    kms = plan.spec.kms

    def ok(config: PlannedResource) -> bool:
        rule = get(config.inputs, "rules", 0, "applyServerSideEncryptionByDefault") or {}
        if kms:
            return rule.get("sseAlgorithm") == "aws:kms" and bool(rule.get("kmsMasterKeyId"))
        return rule.get("sseAlgorithm") in ("AES256", "aws:kms")

    type_ = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    verdict = each(of(plan, S3), lambda b: any(ok(x) for x in linked(plan, b, type_)),
                   "SSE-KMS with the stack's key" if kms else "SSE-S3 (--kms for a customer-managed key)",
                   "no (or the wrong) default encryption")
    return verdict


def _gcp_cmk(plan: Plan) -> Verdict:
    if not plan.spec.kms:
        return each(of(plan, GCS), lambda r: True, "Google-managed keys (--kms for a customer-managed key)", "")
    return each(of(plan, GCS), lambda r: bool(get(r.inputs, "encryption", "defaultKmsKeyName")),
                "Cloud KMS key", "--kms given but the bucket has no default KMS key")


def _azure_cmk(plan: Plan) -> Verdict:
    if not plan.spec.kms:
        return each(of(plan, AZ_STORAGE), lambda r: True, "Microsoft-managed keys (--kms for a customer-managed key)", "")
    return each(of(plan, AZ_STORAGE), lambda r: get(r.inputs, "encryption", "keySource") == "Microsoft.Keyvault",
                "Key Vault key", "--kms given but the storage account does not use a Key Vault key")


def _aws_tls_policy(r: PlannedResource) -> bool:
    return any(
        s.get("Effect") == "Deny" and get(s, "Condition", "Bool", "aws:SecureTransport") in ("false", False)
        for s in statements(policy_doc(r.inputs.get("policy")))
    )


def _azure_https(r: PlannedResource) -> bool:
    return r.inputs.get("enableHttpsTrafficOnly") is True and r.inputs.get("minimumTlsVersion") == "TLS1_2"


def _azure_versioning(plan: Plan) -> Verdict:
    props = "azure-native:storage:BlobServiceProperties"
    return each(of(plan, AZ_STORAGE),
                lambda a: any(p.inputs.get("isVersioningEnabled") is True and get(p.inputs, "deleteRetentionPolicy", "enabled") is True
                              for p in linked(plan, a, props)),
                "blob versioning and soft delete", "no blob versioning or delete retention")


# --------------------------------------------------------------------------
# Registries

def _ecr_lifecycle(plan: Plan) -> Verdict:
    def ok(repo: PlannedResource) -> bool:
        for policy in linked(plan, repo, "aws:ecr/lifecyclePolicy:LifecyclePolicy"):
            rules = policy_doc(policy.inputs.get("policy")).get("rules") or []
            if any(get(r, "selection", "tagStatus") == "untagged" for r in rules):
                return True
        return False

    return each(of(plan, ECR), ok, "untagged images expire", "no lifecycle rule for untagged images")


def _immutable(plan: Plan, resources: list[PlannedResource], ok: Callable[[PlannedResource], bool]) -> Verdict:
    if not resources:
        return Verdict("n/a", "not in this stack")
    if all(ok(r) for r in resources):
        return Verdict("pass", "immutable tags")
    if plan.spec.immutable_tags:
        return Verdict("fail", "--immutable-tags given but tags are mutable", [r.name for r in resources if not ok(r)])
    return Verdict("option", "mutable tags: ZenML re-pushes the same tag for each build; --immutable-tags if you tag yourself")


def _gcp_scanning(plan: Plan) -> Verdict:
    if not of(plan, GAR):
        return Verdict("n/a", "not in this stack")
    enabled = any(r.inputs.get("service") == "containerscanning.googleapis.com" for r in of(plan, "gcp:projects/service:Service"))
    return Verdict("pass", "container scanning API enabled") if enabled else Verdict("fail", "container scanning API not enabled")


def _gcp_registry_private(plan: Plan) -> Verdict:
    public = [r.name for r in of(plan, "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember")
              if r.inputs.get("member") in ("allUsers", "allAuthenticatedUsers")]
    if not of(plan, GAR):
        return Verdict("n/a", "not in this stack")
    return Verdict("fail", "repository readable by anyone", public) if public else Verdict("pass", "no public members")


def _aws_registry_private(plan: Plan) -> Verdict:
    if not of(plan, ECR):
        return Verdict("n/a", "not in this stack")
    public = [r.name for r in of(plan, "aws:ecr/repositoryPolicy:RepositoryPolicy")
              if any(s.get("Effect") == "Allow" and s.get("Principal") in ("*", {"AWS": "*"})
                     for s in statements(policy_doc(r.inputs.get("policy"))))]
    return Verdict("fail", "repository policy allows anyone", public) if public else Verdict("pass", "no public repository policy")


# --------------------------------------------------------------------------
# Clusters

def _endpoint(plan: Plan, private: Callable[[PlannedResource], bool], restricted: Callable[[PlannedResource], bool], type_: str) -> Verdict:
    clusters = of(plan, type_)
    if not clusters:
        return Verdict("n/a", "no cluster in this stack")
    if all(private(c) for c in clusters):
        return Verdict("pass", "private endpoint")
    if all(restricted(c) for c in clusters):
        return Verdict("pass", "endpoint restricted to --allow-cidr")
    if plan.spec.allow_cidrs or plan.spec.private_endpoint:
        return Verdict("fail", "the endpoint ignores --allow-cidr / --private-endpoint", [c.name for c in clusters])
    return Verdict("warn", "the Kubernetes API endpoint is open to the internet (authentication only); restrict it with --allow-cidr")


def _eks_public_cidrs(c: PlannedResource) -> list[str]:
    return as_list(get(c.inputs, "vpcConfig", "publicAccessCidrs")) or ["0.0.0.0/0"]


def _secrets_encryption(plan: Plan, type_: str, ok: Callable[[PlannedResource], bool]) -> Verdict:
    clusters = of(plan, type_)
    if not clusters:
        return Verdict("n/a", "no cluster in this stack")
    if not plan.spec.kms:
        return Verdict("option", "envelope encryption of secrets needs a KMS key (costs money): --kms")
    return each(clusters, ok, "secrets encrypted with the stack's key", "--kms given but secrets are not envelope-encrypted")


def _gke_workload_identity(plan: Plan) -> Verdict:
    verdict = each(of(plan, GKE), lambda c: bool(get(c.inputs, "workloadIdentityConfig", "workloadPool")),
                   "workload identity", "no workload identity pool")
    if verdict.status != "pass":
        return verdict
    return each(of(plan, GKE_POOL), lambda p: get(p.inputs, "nodeConfig", "workloadMetadataConfig", "mode") == "GKE_METADATA",
                "workload identity on every node pool", "node pool exposes the node's metadata")


def _aws_nodes(plan: Plan) -> Verdict:
    groups = of(plan, "aws:eks/nodeGroup:NodeGroup")
    if not groups:
        return Verdict("n/a", "no cluster in this stack")
    templates = of(plan, "aws:ec2/launchTemplate:LaunchTemplate")
    bad = [t.name for t in templates if get(t.inputs, "metadataOptions", "httpTokens") != "required"
           or (get(t.inputs, "metadataOptions", "httpPutResponseHopLimit") or 1) > 1]
    bad += [g.name for g in groups if g.inputs.get("remoteAccess") or not g.inputs.get("launchTemplate")]
    if bad:
        return Verdict("fail", "IMDSv1 allowed, hop limit above 1, or SSH access", bad)
    subnets = {r.urn: r for r in of(plan, "aws:ec2/subnet:Subnet")}
    public = [subnets[d].name for g in groups for d in g.dependencies if d in subnets and subnets[d].inputs.get("mapPublicIpOnLaunch")]
    if public:
        return Verdict("warn", "nodes in public subnets with public IPs (--network public)")
    return Verdict("pass", "private subnets, IMDSv2 only, no SSH")


def _gke_private_nodes(plan: Plan) -> Verdict:
    clusters = of(plan, GKE)
    if not clusters:
        return Verdict("n/a", "no cluster in this stack")
    if all(get(c.inputs, "privateClusterConfig", "enablePrivateNodes") for c in clusters):
        return Verdict("pass", "private nodes")
    if plan.spec.network == "public":
        return Verdict("warn", "nodes with public IPs (--network public)")
    return Verdict("fail", "nodes are not private", [c.name for c in clusters])


GKE_NODE_ROLES = {
    "roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer", "roles/artifactregistry.reader",
}
EKS_NODE_POLICIES = {"AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryPullOnly"}


def _gke_node_identity(plan: Plan) -> Verdict:
    pools = of(plan, GKE_POOL)
    if not pools:
        return Verdict("n/a", "no cluster in this stack")
    default = [p.name for p in pools if not get(p.inputs, "nodeConfig", "serviceAccount")
               or "-compute@developer.gserviceaccount.com" in str(get(p.inputs, "nodeConfig", "serviceAccount"))]
    if default:
        return Verdict("fail", "nodes run as the default compute service account", default)
    # The nodes' own project roles: other members' (--admin's cluster viewers) are I1's to judge.
    nodes = {f"serviceAccount:{get(p.inputs, 'nodeConfig', 'serviceAccount')}" for p in pools}
    extra = [m.name for m in of(plan, "gcp:projects/iAMMember:IAMMember")
             if m.inputs.get("member") in nodes and m.inputs.get("role") not in GKE_NODE_ROLES]
    return Verdict("fail", "project roles beyond the node minimum", extra) if extra else Verdict("pass", "dedicated node service account, minimal roles")


def _eks_node_identity(plan: Plan) -> Verdict:
    if not of(plan, "aws:eks/nodeGroup:NodeGroup"):
        return Verdict("n/a", "no cluster in this stack")
    node_roles = [r for r in of(plan, "aws:iam/role:Role") if "ec2.amazonaws.com" in str(r.inputs.get("assumeRolePolicy"))]
    attached = [a for a in of(plan, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if any(role.urn in a.dependencies for role in node_roles)]
    extra = [a.name for a in attached if str(a.inputs.get("policyArn")).rsplit("/", 1)[-1] not in EKS_NODE_POLICIES]
    return Verdict("fail", "node role has more than the EKS node policies", extra) if extra else Verdict("pass", "node role with the EKS node policies only")


# --------------------------------------------------------------------------
# Identity

ADMIN_GCP_ROLES = ("roles/owner", "roles/editor", "roles/iam.", "roles/resourcemanager.", "roles/storage.admin")
AZURE_BROAD_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
}


def _aws_iam(plan: Plan) -> Verdict:
    bad: list[str] = []
    documents = [(r.name, r.inputs.get("policy")) for r in of(plan, "aws:iam/rolePolicy:RolePolicy")]
    documents += [(r.name, r.inputs.get("policy")) for r in of(plan, "aws:iam/policy:Policy")]
    for name, document in documents:
        for s in statements(policy_doc(document)):
            if s.get("Effect") != "Allow":
                continue
            actions = as_list(s.get("Action"))
            if any("*" in a for a in actions) or "NotAction" in s or "NotResource" in s:
                bad.append(name)
            elif "*" in as_list(s.get("Resource")) and not all(a.split(":", 1)[-1].startswith(("Describe", "Get", "List")) for a in actions):
                bad.append(name)
    bad += [a.name for a in of(plan, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            if str(a.inputs.get("policyArn")).endswith(("AdministratorAccess", "PowerUserAccess", "IAMFullAccess"))]
    if bad:
        return Verdict("fail", "wildcard or admin permissions", sorted(set(bad)))
    return Verdict("pass", "every policy names its resources; '*' only for read calls AWS cannot scope")


def _gcp_iam(plan: Plan) -> Verdict:
    members = of(plan, "gcp:projects/iAMMember:IAMMember") + of(plan, "gcp:projects/iAMBinding:IAMBinding")
    bad = [m.name for m in members if str(m.inputs.get("role", "")).startswith(ADMIN_GCP_ROLES)]
    bad += [b.name for b in of(plan, "gcp:storage/bucketIAMMember:BucketIAMMember")
            if b.inputs.get("role") not in ("roles/storage.objectUser", "roles/storage.objectViewer", "roles/storage.legacyBucketReader")]
    if bad:
        return Verdict("fail", "admin or broad roles", bad)
    return Verdict("pass", "bucket access on this bucket only; no admin roles")


def _azure_iam(plan: Plan) -> Verdict:
    bad = []
    for r in of(plan, "azure-native:authorization:RoleAssignment"):
        definition = str(r.inputs.get("roleDefinitionId", "")).rsplit("/", 1)[-1]
        scope = str(r.inputs.get("scope", ""))
        if definition in AZURE_BROAD_ROLES or scope.count("/") <= 2:  # "/subscriptions/<id>" or broader
            bad.append(r.name)
    if bad:
        return Verdict("fail", "Owner/Contributor-style roles or subscription-wide scopes", bad)
    return Verdict("pass", "every role assignment scoped to one resource")


LONG_LIVED_KEYS = {
    "aws": ("aws:iam/accessKey:AccessKey", "aws:iam/userLoginProfile:UserLoginProfile"),
    "gcp": ("gcp:serviceaccount/key:Key", "gcp:storage/hmacKey:HmacKey"),
    "azure": ("azure-native:containerregistry:Token", "azure-native:storage:StorageAccountKey"),
}


def _no_keys(plan: Plan) -> Verdict:
    found = [r.name for r in plan.resources if r.type in LONG_LIVED_KEYS[plan.spec.provider]]
    return Verdict("fail", "long-lived keys", found) if found else Verdict("pass", "no access keys or key files")


# --------------------------------------------------------------------------
# Workloads and secrets (the same on every cloud)

LB_SERVICE = "kubernetes:core/v1:Service"


def _endpoints_authenticated(plan: Plan) -> Verdict:
    balancers = [s for s in of(plan, LB_SERVICE) if get(s.inputs, "spec", "type") == "LoadBalancer"]
    if not balancers:
        return Verdict("n/a", "no tracker or deployer endpoint in this stack")
    trackers = [d for d in of(plan, "kubernetes:apps/v1:Deployment") if get(d.inputs, "metadata", "name") == "mlflow"]
    unauthenticated = [d.name for d in trackers
                       if "basic-auth" not in as_list(get(d.inputs, "spec", "template", "spec", "containers", 0, "args"))]
    if unauthenticated:
        return Verdict("fail", "MLflow runs without authentication", unauthenticated)
    if plan.spec.allow_cidrs:
        # Beyond --allow-cidr, only the stack's own nodes, pods and NAT address (internal_sources).
        allowed, own = set(plan.spec.allow_cidrs), own_sources(plan)
        ranges = {s.name: set(as_list(get(s.inputs, "spec", "loadBalancerSourceRanges"))) for s in balancers}
        unrestricted = [name for name, found in ranges.items() if not allowed <= found]
        if unrestricted:
            return Verdict("fail", "load balancer ignores --allow-cidr", unrestricted)
        foreign = [name for name, found in ranges.items() if found - allowed - set(own)]
        if foreign:
            return Verdict("fail", "load balancer admits sources that are neither --allow-cidr nor the stack's own", foreign)
        extra = set().union(*ranges.values()) - allowed
        return Verdict("pass", "authentication on, load balancers limited to --allow-cidr"
                       + (" and the stack's own nodes, pods or NAT address" if extra else ""))
    return Verdict("warn", "authentication on, but the load balancers accept any address; restrict with --allow-cidr")


def _hardened(container: dict[str, Any], init: bool) -> bool:
    context = container.get("securityContext") or {}
    image = str(container.get("image", ""))
    tag = image.rsplit("/", 1)[-1]
    return (
        context.get("allowPrivilegeEscalation") is False
        and "ALL" in as_list(get(context, "capabilities", "drop"))
        and context.get("privileged") is not True
        and bool(get(container, "resources", "limits"))
        and ":" in tag and not tag.endswith(":latest")
        and (init or (bool(container.get("readinessProbe")) and bool(container.get("livenessProbe"))))
    )


def _workloads_hardened(plan: Plan) -> Verdict:
    deployments = of(plan, "kubernetes:apps/v1:Deployment")
    if not deployments:
        return Verdict("n/a", "no workloads of ours in this stack")

    def ok(d: PlannedResource) -> bool:
        pod = get(d.inputs, "spec", "template", "spec") or {}
        if get(pod, "securityContext", "runAsNonRoot") is not True:
            return False
        return all(_hardened(c, False) for c in pod.get("containers") or []) and all(
            _hardened(c, True) for c in pod.get("initContainers") or []
        )

    return each(deployments, ok, "non-root, no escalation, capabilities dropped, limits, probes, pinned images",
                "a workload misses a hardening setting")


def _secrets_secret(plan: Plan) -> Verdict:
    bad = [s.name for s in of(plan, "kubernetes:core/v1:Secret")
           if ("stringData" in s.inputs and "stringData" not in s.secret_inputs)
           or ("data" in s.inputs and "data" not in s.secret_inputs)]
    bad += [p.name for p in of(plan, "pulumi:providers:kubernetes") if "kubeconfig" in p.inputs and "kubeconfig" not in p.secret_inputs]
    expected = {f"{c}.{f}" for c, f in (("cluster", "kubeconfig"), ("tracker", "password")) if c in plan.raw_outputs}
    missing = sorted(expected - set(plan.secret_outputs))
    if missing:
        bad += missing
    # No generated secret may appear in clear in any recorded input.
    raw = json.dumps([r.inputs for r in plan.resources], default=str)
    password = (plan.raw_outputs.get("tracker") or {}).get("password")
    if password and password in raw:
        bad.append("a plaintext password in resource inputs")
    return Verdict("fail", "a secret is not a Pulumi secret", bad) if bad else Verdict("pass", "passwords, kubeconfigs and Secret data are Pulumi secrets")


def _data_survives(plan: Plan) -> Verdict:
    data = [r for t in DATA_TYPES[plan.spec.provider] for r in of(plan, t)]
    # `recipe destroy` removes everything unprotected and keeps what is protected: protection
    # on anything that is not kept data would make the stack impossible to destroy.
    stuck = [r.name for r in plan.resources if r.protect and not r.retain_on_delete]
    if stuck:
        return Verdict("fail", "protected resources that destroy would never remove", stuck)
    blocking = [c.name for c in of(plan, GKE) if c.inputs.get("deletionProtection") is not False]
    blocking += [c.name for c in of(plan, EKS) if c.inputs.get("deletionProtection") is True]
    if blocking:
        return Verdict("fail", "deletion protection would make destroy fail", blocking)
    if not data:
        return Verdict("n/a", "no bucket or registry in this stack")
    if plan.spec.delete_data:
        return Verdict("option", "--delete-data: the bucket and registry go with the stack")
    return each(data, lambda r: r.retain_on_delete and r.protect,
                "bucket and registry protected and kept on destroy (--delete-data removes them)",
                "a data resource is not protected and retained on destroy")


# --------------------------------------------------------------------------
# The rules (order and wording of docs/security-baseline.md)

def _on(resources_type: str, ok: Callable[[PlannedResource], bool], good: str, bad: str) -> Callable[[Plan], Verdict]:
    return lambda plan: each(of(plan, resources_type), ok, good, bad)


RULES: tuple[Rule, ...] = (
    Rule("B1", "bucket blocks all public access", ("CKV_AWS_53-56", "CKV_GCP_114", "CKV_AZURE_190"), "on", {
        "aws": _s3_linked("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", _aws_public_block,
                          "public access block, all four settings", "no complete public access block"),
        "gcp": _on(GCS, lambda r: r.inputs.get("publicAccessPrevention") == "enforced", "public access prevention enforced", "public access prevention not enforced"),
        "azure": _azure_public,
    }),
    Rule("B2", "ACLs off / uniform access", ("CKV2_AWS_65", "CKV_GCP_29"), "on", {
        "aws": _s3_linked("aws:s3/bucketOwnershipControls:BucketOwnershipControls",
                          lambda r: get(r.inputs, "rule", "objectOwnership") == "BucketOwnerEnforced", "BucketOwnerEnforced", "object ACLs still possible"),
        "gcp": _on(GCS, lambda r: r.inputs.get("uniformBucketLevelAccess") is True, "uniform bucket-level access", "fine-grained ACLs on"),
    }, {"azure": "Azure Blob Storage has no object ACLs (container access: B1)"}),
    Rule("B3", "encryption at rest", ("CKV_AWS_19", "CKV_AWS_145"), "on", {"aws": _aws_sse, "gcp": _gcp_cmk, "azure": _azure_cmk}),
    Rule("B4", "HTTPS only, TLS >= 1.2", ("CKV_AZURE_3", "CKV_AZURE_44"), "on", {
        "aws": _s3_linked("aws:s3/bucketPolicy:BucketPolicy", _aws_tls_policy, "policy denies non-TLS requests", "no policy denying plain HTTP"),
        "gcp": lambda plan: each(of(plan, GCS), lambda r: True, "GCS serves HTTPS only", ""),
        "azure": _on(AZ_STORAGE, _azure_https, "HTTPS only, TLS 1.2", "HTTP allowed or TLS below 1.2"),
    }),
    Rule("B5", "versioning / soft delete", ("CKV_AWS_21", "CKV_GCP_78", "CKV2_AZURE_38"), "on", {
        "aws": _s3_linked("aws:s3/bucketVersioning:BucketVersioning",
                          lambda r: get(r.inputs, "versioningConfiguration", "status") == "Enabled", "versioning enabled", "versioning off"),
        "gcp": _on(GCS, lambda r: get(r.inputs, "versioning", "enabled") is True, "versioning enabled", "versioning off"),
        "azure": _azure_versioning,
    }),
    Rule("B6", "no shared-key access on Azure storage", ("CKV2_AZURE_40",), "on", {
        "azure": _on(AZ_STORAGE, lambda r: r.inputs.get("allowSharedKeyAccess") is False, "shared keys off", "shared key access allowed"),
    }, {"aws": "no shared keys on S3", "gcp": "no shared keys on GCS (HMAC keys: I2)"}),
    Rule("R1", "immutable image tags", ("CKV_AWS_51",), "option", {
        "aws": lambda plan: _immutable(plan, of(plan, ECR), lambda r: r.inputs.get("imageTagMutability") == "IMMUTABLE"),
        "gcp": lambda plan: _immutable(plan, of(plan, GAR), lambda r: get(r.inputs, "dockerConfig", "immutableTags") is True),
    }, {"azure": "ACR has no registry-wide immutable tags (lock images with `az acr repository update --write-enabled false`)"}),
    Rule("R2", "scan images on push", ("CKV_AWS_163", "CIS 5.1.1"), "on", {
        "aws": _on(ECR, lambda r: get(r.inputs, "imageScanningConfiguration", "scanOnPush") is True, "scan on push", "no scan on push"),
        "gcp": _gcp_scanning,
        "azure": lambda plan: Verdict("option", "ACR scanning needs Microsoft Defender for Containers (costs money)") if of(plan, ACR) else Verdict("n/a", "not in this stack"),
    }),
    Rule("R3", "registry not public, ACR admin user off", ("CKV_AWS_32", "CKV_AZURE_137"), "on", {
        "aws": _aws_registry_private,
        "gcp": _gcp_registry_private,
        "azure": _on(ACR, lambda r: r.inputs.get("adminUserEnabled") is False and r.inputs.get("anonymousPullEnabled") is False,
                     "admin user and anonymous pull off", "admin user or anonymous pull on"),
    }),
    Rule("R4", "untagged images expire", ("CKV_AWS_136",), "on", {
        "aws": _ecr_lifecycle,
        "gcp": _on(GAR, lambda r: any(get(p, "condition", "tagState") == "UNTAGGED" and p.get("action") == "DELETE"
                                       for p in as_list(r.inputs.get("cleanupPolicies"))), "untagged images deleted", "no cleanup policy"),
        "azure": lambda plan: Verdict("option", "ACR retention needs the Premium tier (or an `acr purge` task)") if of(plan, ACR) else Verdict("n/a", "not in this stack"),
    }),
    Rule("C1", "API endpoint restricted", ("CKV_AWS_38", "CKV_AWS_39", "CKV_GCP_20", "CKV_AZURE_6"), "on", {
        "aws": lambda plan: _endpoint(plan, lambda c: get(c.inputs, "vpcConfig", "endpointPublicAccess") is False,
                                      lambda c: "0.0.0.0/0" not in _eks_public_cidrs(c), EKS),
        "gcp": lambda plan: _endpoint(plan, lambda c: get(c.inputs, "privateClusterConfig", "enablePrivateEndpoint") is True,
                                      lambda c: bool(get(c.inputs, "masterAuthorizedNetworksConfig", "cidrBlocks")), GKE),
        "azure": lambda plan: _endpoint(plan, lambda c: get(c.inputs, "apiServerAccessProfile", "enablePrivateCluster") is True,
                                        lambda c: bool(get(c.inputs, "apiServerAccessProfile", "authorizedIPRanges")), AKS),
    }),
    Rule("C2", "control-plane audit logging", ("CKV_AWS_37", "CKV_GCP_1", "CKV_AZURE_4"), "on", {
        "aws": _on(EKS, lambda c: {"api", "audit", "authenticator"} <= set(as_list(c.inputs.get("enabledClusterLogTypes"))),
                   "api, audit and authenticator logs", "control-plane logs missing"),
        "gcp": _on(GKE, lambda c: "SYSTEM_COMPONENTS" in as_list(get(c.inputs, "loggingConfig", "enableComponents")),
                   "Cloud Logging on (audit logs are always on)", "cluster logging off"),
        "azure": lambda plan: Verdict("option", "AKS control-plane logs go to Log Analytics, billed per GB") if of(plan, AKS) else Verdict("n/a", "no cluster in this stack"),
    }),
    Rule("C3", "secrets envelope encryption", ("CKV_AWS_58", "CIS 5.3.1"), "option", {
        "aws": lambda plan: _secrets_encryption(plan, EKS, lambda c: "secrets" in as_list(get(c.inputs, "encryptionConfig", "resources"))),
        "gcp": lambda plan: _secrets_encryption(plan, GKE, lambda c: get(c.inputs, "databaseEncryption", "state") == "ENCRYPTED"),
        "azure": lambda plan: _secrets_encryption(plan, AKS, lambda c: get(c.inputs, "securityProfile", "azureKeyVaultKms", "enabled") is True),
    }),
    Rule("C4", "RBAC only, no legacy auth", ("CKV_GCP_7", "CKV_GCP_13", "CKV_AZURE_5"), "on", {
        "aws": _on(EKS, lambda c: get(c.inputs, "accessConfig", "authenticationMode") == "API", "access entries only", "aws-auth ConfigMap allowed"),
        "gcp": _on(GKE, lambda c: not c.inputs.get("enableLegacyAbac") and get(c.inputs, "masterAuth", "clientCertificateConfig", "issueClientCertificate") is False,
                   "no ABAC, no client certificates", "legacy ABAC or client certificates"),
        "azure": _on(AKS, lambda c: c.inputs.get("enableRBAC") is True and c.inputs.get("disableLocalAccounts") is True and get(c.inputs, "aadProfile", "enableAzureRBAC") is True,
                     "Entra ID + Azure RBAC, local accounts off", "local accounts or no RBAC"),
    }),
    Rule("C5", "workload identity (no node-wide cloud creds)", ("CKV_GCP_69", "CIS 5.2.x"), "on", {
        "aws": lambda plan: each(of(plan, EKS), lambda c: any(a.inputs.get("addonName") == "eks-pod-identity-agent" for a in of(plan, "aws:eks/addon:Addon")),
                                 "EKS Pod Identity", "no pod identity agent"),
        "gcp": _gke_workload_identity,
        "azure": _on(AKS, lambda c: get(c.inputs, "oidcIssuerProfile", "enabled") is True and get(c.inputs, "securityProfile", "workloadIdentity", "enabled") is True,
                     "OIDC issuer + workload identity", "no workload identity"),
    }),
    Rule("C6", "release channel / supported version", ("CKV_GCP_70", "CKV_AZURE_171"), "on", {
        "aws": _on(EKS, lambda c: get(c.inputs, "upgradePolicy", "supportType") == "STANDARD", "standard support only", "extended support (outdated versions)"),
        "gcp": _on(GKE, lambda c: get(c.inputs, "releaseChannel", "channel") in ("RAPID", "REGULAR", "STABLE"), "release channel", "no release channel"),
        "azure": _on(AKS, lambda c: get(c.inputs, "autoUpgradeProfile", "upgradeChannel") not in (None, "none"), "auto-upgrade channel", "no auto-upgrade channel"),
    }),
    Rule("N1", "nodes private, no SSH from anywhere, IMDSv2", ("CKV_GCP_64", "CKV_AZURE_143", "CKV_AWS_100", "CKV_AWS_341"), "on", {
        "aws": _aws_nodes,
        "gcp": _gke_private_nodes,
        "azure": _on(AKS, lambda c: all(p.get("enableNodePublicIP") is False for p in as_list(c.inputs.get("agentPoolProfiles"))),
                     "no node public IPs", "nodes with public IPs"),
    }),
    Rule("N2", "dedicated least-privilege node identity", ("CKV2_GCP_1",), "on", {
        "aws": _eks_node_identity, "gcp": _gke_node_identity,
    }, {"azure": "the AKS kubelet identity is managed by AKS; it gets AcrPull on this registry only (R3)"}),
    Rule("N3", "node auto-repair/upgrade, shielded nodes", ("CKV_GCP_9", "CKV_GCP_10", "CKV_GCP_71"), "on", {
        "gcp": _on(GKE_POOL, lambda p: get(p.inputs, "management", "autoRepair") is True and get(p.inputs, "management", "autoUpgrade") is True
                   and get(p.inputs, "nodeConfig", "shieldedInstanceConfig", "enableSecureBoot") is True,
                   "auto-repair, auto-upgrade, secure boot", "node pool not self-healing or not shielded"),
        "azure": _on(AKS, lambda c: get(c.inputs, "autoUpgradeProfile", "nodeOSUpgradeChannel") not in (None, "None"), "node image upgrades", "no node OS upgrades"),
    }, {"aws": "EKS managed node groups replace unhealthy nodes; AMI updates come with node group updates"}),
    Rule("I1", "no wildcard or admin IAM; scoped to the stack's bucket/registry", ("CKV_AWS_62", "CKV_AWS_63", "CKV_AWS_355", "CKV_GCP_42", "CKV_GCP_117"), "on", {
        "aws": _aws_iam, "gcp": _gcp_iam, "azure": _azure_iam,
    }),
    Rule("I2", "no long-lived keys written anywhere", ("CKV_AWS_273", "CKV_GCP_41"), "on", {p: _no_keys for p in ("aws", "gcp", "azure")}),
    Rule("T1", "tracker and deployer endpoints authenticated", ("CIS 5.4.5", "Pulumi k8s LB policy"), "on",
         {p: _endpoints_authenticated for p in ("aws", "gcp", "azure")}),
    Rule("T2", "workloads hardened", ("CKV_K8S_8-14/20/22/23/38/43",), "on", {p: _workloads_hardened for p in ("aws", "gcp", "azure")}),
    Rule("S1", "secrets never in plaintext at rest or on screen", ("mlstacks wrote passwords into YAML",), "on",
         {p: _secrets_secret for p in ("aws", "gcp", "azure")}),
    Rule("D1", "user data survives teardown", ("mlstacks force_destroy=true lost artifacts",), "on", {p: _data_survives for p in ("aws", "gcp", "azure")}),
)
RULES_BY_ID = {rule.id: rule for rule in RULES}
