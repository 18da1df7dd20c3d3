"""The baseline's AWS predicates: one function per rule (its id in the docstring), read by rules.RULES."""

from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatchcase

from provisioner.analysis.plan import Plan, PlannedResource
from recipes.facts.aws import (
    EC2_DEFAULT_SECURITY_GROUP,
    EC2_FLOW_LOG,
    EC2_LAUNCH_TEMPLATE,
    EC2_SUBNET,
    EC2_VPC,
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
    KMS_KEY,
    S3_BUCKET,
    S3_BUCKET_LOGGING,
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


def _sse(config: PlannedResource) -> dict:
    return get(config.inputs, "rules", 0, "applyServerSideEncryptionByDefault") or {}


def _access_log_targets(plan: Plan) -> set[str]:
    """The buckets (names) that receive other buckets' server access logs."""
    return {r.inputs.get("targetBucket") for r in of(plan, S3_BUCKET_LOGGING)}


def bucket_encrypted(plan: Plan) -> Verdict:
    """B3: SSE-S3 by default, SSE-KMS with the stack's key under --kms; an access-log bucket SSE-S3
    always (S3 delivers no server access logs to a bucket encrypted with SSE-KMS by default)."""
    kms, targets = plan.spec.kms, _access_log_targets(plan)

    def ok(bucket: PlannedResource, config: PlannedResource) -> bool:
        rule = _sse(config)
        if bucket.inputs.get("bucket") in targets:
            return rule.get("sseAlgorithm") == "AES256"
        if kms:
            return rule.get("sseAlgorithm") == "aws:kms" and bool(rule.get("kmsMasterKeyId"))
        return rule.get("sseAlgorithm") in ("AES256", "aws:kms")

    return each(of(plan, S3_BUCKET), lambda b: any(ok(b, c) for c in linked(plan, b, S3_ENCRYPTION)),
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


# --------------------------------------------------------------------------
# Segmentation, audit logs, key grants

ALL_LOG_TYPES = {"api", "audit", "authenticator", "controllerManager", "scheduler"}  # every EKS control-plane log type
SECURITY_GROUP_RULE_TYPES = ("SecurityGroupRule", "SecurityGroupIngressRule", "SecurityGroupEgressRule")


def _enforces_network_policy(addon: PlannedResource) -> bool:
    values = policy_doc(addon.inputs.get("configurationValues"))
    return addon.inputs.get("addonName") == "vpc-cni" and values.get("enableNetworkPolicy") == "true"


def network_policy_enforced(plan: Plan) -> Verdict:
    """N4: the VPC CNI add-on enforces NetworkPolicy, and every node group starts after it."""
    agents = [a.urn for a in of(plan, EKS_ADDON) if _enforces_network_policy(a)]
    return each_of(plan, EKS_NODE_GROUP, lambda g: any(a in g.dependencies for a in agents),
                   "VPC CNI network policy agent on every node from its start",
                   "NetworkPolicy not enforced: no vpc-cni add-on with enableNetworkPolicy before the nodes")


def default_security_group_closed(plan: Plan) -> Verdict:
    """N5: every VPC's default security group is adopted with no ingress and no egress rules, and gets none elsewhere."""

    def closed(group: PlannedResource) -> bool:
        rules = [r for r in plan.resources if r.type.endswith(SECURITY_GROUP_RULE_TYPES) and group.urn in r.dependencies]
        return group.inputs.get("ingress") == [] and group.inputs.get("egress") == [] and not rules

    return each_of(plan, EC2_VPC, lambda vpc: any(closed(g) for g in linked(plan, vpc, EC2_DEFAULT_SECURITY_GROUP)),
                   "default security group admits and sends nothing", "default security group open (or not managed)")


def _audit_option(plan: Plan, resources: list[PlannedResource], ok: Callable[[PlannedResource], bool],
                  good: str, bad: str, what: str) -> Verdict:
    """L1-L3: pass when every resource is logged; without --audit-logs an option (log storage costs money)."""
    if not resources:
        return Verdict("n/a", NOT_IN_STACK)
    failing = [r.name for r in resources if not ok(r)]
    if not failing:
        return Verdict("pass", good)
    option = Verdict("option", f"{what} cost money (log delivery and storage): --audit-logs")
    return Verdict("fail", bad, failing) if plan.spec.audit_logs else option


def flow_logs(plan: Plan) -> Verdict:
    """L1: every VPC's accepted and rejected traffic is logged to a destination."""

    def ok(vpc: PlannedResource) -> bool:
        return any(f.inputs.get("logDestination") and f.inputs.get("trafficType") == "ALL" for f in linked(plan, vpc, EC2_FLOW_LOG))

    return _audit_option(plan, of(plan, EC2_VPC), ok, "VPC flow logs (all traffic)", "a VPC without flow logs", "flow logs")


def _receives_access_logs(plan: Plan, name: str, source_arn: str) -> bool:
    """The bucket `name` exists, is SSE-S3, and its policy lets S3 write `source_arn`'s access logs."""
    for bucket in (b for b in of(plan, S3_BUCKET) if b.inputs.get("bucket") == name):
        sse_s3 = any(_sse(c).get("sseAlgorithm") == "AES256" for c in linked(plan, bucket, S3_ENCRYPTION))
        admits = any(s.get("Effect") == "Allow" and get(s, "Principal", "Service") == "logging.s3.amazonaws.com"
                     and source_arn in as_list(get(s, "Condition", "ArnLike", "aws:SourceArn"))
                     for p in linked(plan, bucket, S3_BUCKET_POLICY) for s in statements(policy_doc(p.inputs.get("policy"))))
        return sse_s3 and admits
    return False


def bucket_access_logs(plan: Plan) -> Verdict:
    """L2: every bucket but the log bucket sends its server access logs to another bucket that accepts them."""
    destinations = {str(f.inputs.get("logDestination")).removeprefix("arn:aws:s3:::").split("/")[0] for f in of(plan, EC2_FLOW_LOG)}
    log_buckets = {lg.inputs.get("targetBucket") for lg in of(plan, S3_BUCKET_LOGGING)
                   if lg.inputs.get("targetBucket") != lg.inputs.get("bucket")} | destinations

    def ok(bucket: PlannedResource) -> bool:
        name = bucket.inputs.get("bucket")
        return any(lg.inputs.get("bucket") == name and lg.inputs.get("targetBucket") != name
                   and _receives_access_logs(plan, lg.inputs.get("targetBucket"), f"arn:aws:s3:::{name}")
                   for lg in of(plan, S3_BUCKET_LOGGING))

    buckets = [b for b in of(plan, S3_BUCKET) if b.inputs.get("bucket") not in log_buckets]
    return _audit_option(plan, buckets, ok, "server access logs to the log bucket", "a bucket without access logs", "access logs")


def all_control_plane_logs(plan: Plan) -> Verdict:
    """L3: every control-plane log type (api, audit, authenticator, controllerManager, scheduler) is sent."""
    return _audit_option(plan, of(plan, EKS_CLUSTER), lambda c: ALL_LOG_TYPES <= set(as_list(c.inputs.get("enabledClusterLogTypes"))),
                         "every control-plane log type", "control-plane log types missing", "controllerManager and scheduler logs")


def _unscoped_grant(statement: dict, account_root: str | None) -> bool:
    """An Allow of kms:CreateGrant (named or by wildcard) without kms:GrantIsForAWSResource. In a
    key policy, the statement for the key's own account root is the account delegating to IAM."""
    actions = [a.lower() for a in as_list(statement.get("Action"))]
    if statement.get("Effect") != "Allow" or not any(fnmatchcase("kms:creategrant", a) for a in actions):
        return False
    if account_root is not None and as_list(get(statement, "Principal", "AWS")) == [account_root]:
        return False
    return get(statement, "Condition", "Bool", "kms:GrantIsForAWSResource") not in ("true", True)


def _account_root(key: PlannedResource) -> str | None:
    """The root of the key's account (its ARN: arn:aws:kms:<region>:<account>:...), None if unknown."""
    parts = str(key.outputs.get("arn") or "").split(":")
    return f"arn:aws:iam::{parts[4]}:root" if len(parts) > 4 else None


def kms_grants_scoped(plan: Plan) -> Verdict:
    """I3: kms:CreateGrant only for AWS resources (Bool kms:GrantIsForAWSResource), in IAM and key policies."""
    documents = [(r, None) for t in (IAM_ROLE_POLICY, IAM_POLICY) for r in of(plan, t)]
    documents += [(k, _account_root(k)) for k in of(plan, KMS_KEY)]
    bad = [r.name for r, root in documents for s in statements(policy_doc(r.inputs.get("policy"))) if _unscoped_grant(s, root)]
    if bad:
        return Verdict("fail", "kms:CreateGrant without kms:GrantIsForAWSResource", sorted(set(bad)))
    return Verdict("pass", "kms:CreateGrant only for AWS resources")
