"""The baseline's AWS predicates: one function per rule (its id in the docstring), read by rules.RULES."""

from __future__ import annotations

from collections.abc import Callable

from provisioner.analysis.plan import Plan, PlannedResource
from recipes.facts.aws import (
    EC2_LAUNCH_TEMPLATE,
    EC2_SUBNET,
    ECR_LIFECYCLE_POLICY,
    ECR_REPOSITORY,
    ECR_REPOSITORY_POLICY,
    EKS_ADDON,
    EKS_CLUSTER,
    EKS_NODE_GROUP,
    IAM_POLICY,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_ROLE_POLICY_ATTACHMENT,
    S3_BUCKET,
    S3_BUCKET_POLICY,
    S3_ENCRYPTION,
    S3_OWNERSHIP_CONTROLS,
    S3_PUBLIC_ACCESS_BLOCK,
    S3_VERSIONING,
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
    linked,
    of,
    policy_doc,
    restricted_endpoint,
    secrets_encryption,
    statements,
)

# The managed policies an EKS node role needs, and nothing more (N2).
EKS_NODE_POLICIES = {"AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryPullOnly"}
ADMIN_POLICY_SUFFIXES = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")
READ_ACTION_PREFIXES = ("Describe", "Get", "List")  # the read calls AWS cannot scope to a resource


def _every_bucket_has(plan: Plan, type_: str, ok: Callable[[PlannedResource], bool], good: str, bad: str) -> Verdict:
    """Every S3 bucket has a linked `type_` resource (its public access block, policy, ...) satisfying `ok`."""
    return each(of(plan, S3_BUCKET), lambda b: any(ok(x) for x in linked(plan, b, type_)), good, bad)


# --------------------------------------------------------------------------
# Buckets


def _blocks_all_public_access(r: PlannedResource) -> bool:
    return all(r.inputs.get(k) is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))


def bucket_public_access_blocked(plan: Plan) -> Verdict:
    """B1"""
    return _every_bucket_has(plan, S3_PUBLIC_ACCESS_BLOCK, _blocks_all_public_access,
                             "public access block, all four settings", "no complete public access block")


def _owner_enforced(r: PlannedResource) -> bool:
    return get(r.inputs, "rule", "objectOwnership") == "BucketOwnerEnforced"


def bucket_acls_off(plan: Plan) -> Verdict:
    """B2"""
    return _every_bucket_has(plan, S3_OWNERSHIP_CONTROLS, _owner_enforced, "BucketOwnerEnforced", "object ACLs still possible")


def bucket_encrypted(plan: Plan) -> Verdict:
    """B3: SSE-S3 by default, SSE-KMS with the stack's key under --kms."""
    kms = plan.spec.kms

    def ok(config: PlannedResource) -> bool:
        rule = get(config.inputs, "rules", 0, "applyServerSideEncryptionByDefault") or {}
        if kms:
            return rule.get("sseAlgorithm") == "aws:kms" and bool(rule.get("kmsMasterKeyId"))
        return rule.get("sseAlgorithm") in ("AES256", "aws:kms")

    return _every_bucket_has(plan, S3_ENCRYPTION, ok,
                             "SSE-KMS with the stack's key" if kms else "SSE-S3 (--kms for a customer-managed key)",
                             "no (or the wrong) default encryption")


def _denies_plain_http(r: PlannedResource) -> bool:
    return any(
        s.get("Effect") == "Deny" and get(s, "Condition", "Bool", "aws:SecureTransport") in ("false", False)
        for s in statements(policy_doc(r.inputs.get("policy")))
    )


def bucket_https_only(plan: Plan) -> Verdict:
    """B4"""
    return _every_bucket_has(plan, S3_BUCKET_POLICY, _denies_plain_http, "policy denies non-TLS requests",
                             "no policy denying plain HTTP")


def _versioning_enabled(r: PlannedResource) -> bool:
    return get(r.inputs, "versioningConfiguration", "status") == "Enabled"


def bucket_versioned(plan: Plan) -> Verdict:
    """B5"""
    return _every_bucket_has(plan, S3_VERSIONING, _versioning_enabled, "versioning enabled", "versioning off")


# --------------------------------------------------------------------------
# Registry


def _tags_immutable(r: PlannedResource) -> bool:
    return r.inputs.get("imageTagMutability") == "IMMUTABLE"


def registry_tags_immutable(plan: Plan) -> Verdict:
    """R1"""
    return immutable_tags(plan, ECR_REPOSITORY, _tags_immutable)


def _scans_on_push(r: PlannedResource) -> bool:
    return get(r.inputs, "imageScanningConfiguration", "scanOnPush") is True


def registry_scans_on_push(plan: Plan) -> Verdict:
    """R2"""
    return each_of(plan, ECR_REPOSITORY, _scans_on_push, "scan on push", "no scan on push")


def registry_private(plan: Plan) -> Verdict:
    """R3: no repository policy lets anyone in."""
    if not of(plan, ECR_REPOSITORY):
        return Verdict("n/a", NOT_IN_STACK)
    public = [r.name for r in of(plan, ECR_REPOSITORY_POLICY)
              if any(s.get("Effect") == "Allow" and s.get("Principal") in ("*", {"AWS": "*"})
                     for s in statements(policy_doc(r.inputs.get("policy"))))]
    return Verdict("fail", "repository policy allows anyone", public) if public else Verdict("pass", "no public repository policy")


def untagged_images_expire(plan: Plan) -> Verdict:
    """R4: a lifecycle rule for untagged images."""

    def ok(repo: PlannedResource) -> bool:
        for policy in linked(plan, repo, ECR_LIFECYCLE_POLICY):
            rules = policy_doc(policy.inputs.get("policy")).get("rules") or []
            if any(get(r, "selection", "tagStatus") == "untagged" for r in rules):
                return True
        return False

    return each(of(plan, ECR_REPOSITORY), ok, "untagged images expire", "no lifecycle rule for untagged images")


# --------------------------------------------------------------------------
# Cluster


def _endpoint_private(c: PlannedResource) -> bool:
    return get(c.inputs, "vpcConfig", "endpointPublicAccess") is False


def _endpoint_restricted(c: PlannedResource) -> bool:
    public_cidrs = as_list(get(c.inputs, "vpcConfig", "publicAccessCidrs")) or ["0.0.0.0/0"]
    return "0.0.0.0/0" not in public_cidrs


def endpoint_restricted(plan: Plan) -> Verdict:
    """C1"""
    return restricted_endpoint(plan, EKS_CLUSTER, _endpoint_private, _endpoint_restricted)


def _logs_audited(c: PlannedResource) -> bool:
    return {"api", "audit", "authenticator"} <= set(as_list(c.inputs.get("enabledClusterLogTypes")))


def control_plane_logged(plan: Plan) -> Verdict:
    """C2"""
    return each_of(plan, EKS_CLUSTER, _logs_audited, "api, audit and authenticator logs", "control-plane logs missing")


def _secrets_encrypted(c: PlannedResource) -> bool:
    return "secrets" in as_list(get(c.inputs, "encryptionConfig", "resources"))


def secrets_envelope_encrypted(plan: Plan) -> Verdict:
    """C3"""
    return secrets_encryption(plan, EKS_CLUSTER, _secrets_encrypted)


def _access_entries_only(c: PlannedResource) -> bool:
    return get(c.inputs, "accessConfig", "authenticationMode") == "API"


def rbac_only(plan: Plan) -> Verdict:
    """C4"""
    return each_of(plan, EKS_CLUSTER, _access_entries_only, "access entries only", "aws-auth ConfigMap allowed")


def workload_identity(plan: Plan) -> Verdict:
    """C5: the EKS Pod Identity agent is installed."""
    agent = any(a.inputs.get("addonName") == "eks-pod-identity-agent" for a in of(plan, EKS_ADDON))
    return each_of(plan, EKS_CLUSTER, lambda c: agent, "EKS Pod Identity", "no pod identity agent")


def _standard_support(c: PlannedResource) -> bool:
    return get(c.inputs, "upgradePolicy", "supportType") == "STANDARD"


def supported_version(plan: Plan) -> Verdict:
    """C6"""
    return each_of(plan, EKS_CLUSTER, _standard_support, "standard support only", "extended support (outdated versions)")


# --------------------------------------------------------------------------
# Nodes and identity


def nodes_private(plan: Plan) -> Verdict:
    """N1: IMDSv2 only with a hop limit of 1, no SSH, and private subnets (public ones only warn)."""
    groups = of(plan, EKS_NODE_GROUP)
    if not groups:
        return Verdict("n/a", NO_CLUSTER)
    bad = [t.name for t in of(plan, EC2_LAUNCH_TEMPLATE) if get(t.inputs, "metadataOptions", "httpTokens") != "required"
           or (get(t.inputs, "metadataOptions", "httpPutResponseHopLimit") or 1) > 1]
    bad += [g.name for g in groups if g.inputs.get("remoteAccess") or not g.inputs.get("launchTemplate")]
    if bad:
        return Verdict("fail", "IMDSv1 allowed, hop limit above 1, or SSH access", bad)
    subnets = {r.urn: r for r in of(plan, EC2_SUBNET)}
    public = [subnets[d].name for g in groups for d in g.dependencies if d in subnets and subnets[d].inputs.get("mapPublicIpOnLaunch")]
    if public:
        return Verdict("warn", "nodes in public subnets with public IPs (--network public)")
    return Verdict("pass", "private subnets, IMDSv2 only, no SSH")


def node_identity(plan: Plan) -> Verdict:
    """N2: the node role has the EKS node policies and nothing more."""
    if not of(plan, EKS_NODE_GROUP):
        return Verdict("n/a", NO_CLUSTER)
    node_roles = [r for r in of(plan, IAM_ROLE) if "ec2.amazonaws.com" in str(r.inputs.get("assumeRolePolicy"))]
    attached = [a for a in of(plan, IAM_ROLE_POLICY_ATTACHMENT) if any(role.urn in a.dependencies for role in node_roles)]
    extra = [a.name for a in attached if str(a.inputs.get("policyArn")).rsplit("/", 1)[-1] not in EKS_NODE_POLICIES]
    return Verdict("fail", "node role has more than the EKS node policies", extra) if extra else Verdict("pass", "node role with the EKS node policies only")


def iam_scoped(plan: Plan) -> Verdict:
    """I1: no wildcard actions, '*' resources only for read calls, no admin managed policies."""
    bad: list[str] = []
    documents = [(r.name, r.inputs.get("policy")) for r in of(plan, IAM_ROLE_POLICY)]
    documents += [(r.name, r.inputs.get("policy")) for r in of(plan, IAM_POLICY)]
    for name, document in documents:
        for s in statements(policy_doc(document)):
            if s.get("Effect") != "Allow":
                continue
            actions = as_list(s.get("Action"))
            if any("*" in a for a in actions) or "NotAction" in s or "NotResource" in s:
                bad.append(name)
            elif "*" in as_list(s.get("Resource")) and not all(a.split(":", 1)[-1].startswith(READ_ACTION_PREFIXES) for a in actions):
                bad.append(name)
    bad += [a.name for a in of(plan, IAM_ROLE_POLICY_ATTACHMENT) if str(a.inputs.get("policyArn")).endswith(ADMIN_POLICY_SUFFIXES)]
    if bad:
        return Verdict("fail", "wildcard or admin permissions", sorted(set(bad)))
    return Verdict("pass", "every policy names its resources; '*' only for read calls AWS cannot scope")
