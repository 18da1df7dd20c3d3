"""The rules of docs/security-rules.md, in its order and wording, each with one named predicate per cloud.

Why a table: the document and `recipe check` must list the same rules (tests/test_docs.py
compares them), and a reader finds a rule's check on a cloud by following one name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from provisioner.analysis.plan import Plan

from . import aws, azure, gcp, kubernetes
from .cluster_traffic import front_door_https, images_by_digest, namespaces_segmented, pod_security_everywhere
from .keys_secrets_data import data_survives, no_long_lived_keys, secrets_are_secret, store_survives
from .queries import Verdict
from .workloads import endpoints_authenticated, workloads_hardened

Check = Callable[[Plan], Verdict]
# The trade-off of an option that costs money: off in the dev profile, on in prod.
OFF_IN_DEV = "fails in dev, where {flag} is off (it costs money; plan --cost prices it), passes in prod"


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    anchors: tuple[str, ...]
    default: str  # "on", or "option" for rules that cost money (on in the prod profile)
    checks: dict[str, Check]
    not_applicable: dict[str, str] = field(default_factory=dict)  # provider -> why
    # Anchor -> when its scanner still reports a failure on our default or prod stacks, and why
    # that is the right trade-off (README's security table prints these next to the rule).
    trade_offs: dict[str, str] = field(default_factory=dict)

    def evaluate(self, plan: Plan) -> Verdict:
        provider = plan.spec.provider
        if provider in self.not_applicable:
            return Verdict("n/a", self.not_applicable[provider])
        check = self.checks.get(provider)
        if check is None and provider == "kubernetes":
            return Verdict("n/a", "about cloud resources, and a kubernetes stack creates none: your cluster's own "
                                  "settings decide it")
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
            "trade_offs": dict(self.rule.trade_offs),
            "status": self.verdict.status,
            "detail": self.verdict.detail,
            "resources": self.verdict.resources,
        }


def every_cloud(check: Check) -> dict[str, Check]:
    """A rule checked the same way on every cloud."""
    return {"aws": check, "gcp": check, "azure": check}


def every_provider(check: Check) -> dict[str, Check]:
    """A rule about the Kubernetes workloads: checked the same way on a cluster we did not create too."""
    return {**every_cloud(check), "kubernetes": check}


RULES: tuple[Rule, ...] = (
    Rule("B1", "bucket blocks all public access", ("CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56", "CKV_GCP_114"), "on",
         {"aws": aws.bucket_public_access_blocked, "gcp": gcp.bucket_public_access_prevented, "azure": azure.storage_private,
          "kubernetes": kubernetes.store_private}),
    Rule("B2", "ACLs off / uniform access", ("CKV2_AWS_65", "CKV_GCP_29"), "on",
         {"aws": aws.bucket_acls_off, "gcp": gcp.bucket_acls_off},
         {"azure": "Azure Blob Storage has no object ACLs (container access: B1)",
          "kubernetes": "the in-cluster object store grants by identity (B1), and a bucket of yours by its own settings"}),
    Rule("B3", "encryption at rest", ("CKV_AWS_19", "CKV_AWS_145"), "on",
         {"aws": aws.bucket_encrypted, "gcp": gcp.bucket_encrypted, "azure": azure.storage_encrypted},
         {"kubernetes": "the in-cluster object store's volume is as encrypted as your cluster's default storage class "
                        "makes it; a bucket of yours by its own settings"},
         trade_offs={"CKV_AWS_145": "asks for SSE-KMS: fails in dev, where --kms is off (SSE-S3 encrypts at rest, CKV_AWS_19 "
                                    "passes), and in prod on the access-log bucket, as S3 delivers access logs only to "
                                    "SSE-S3 buckets"}),
    Rule("B4", "HTTPS only, TLS >= 1.2", ("CKV_AZURE_3", "CKV_AZURE_44"), "on",
         {"aws": aws.bucket_https_only, "gcp": gcp.bucket_https_only, "azure": azure.storage_https_only,
          "kubernetes": kubernetes.store_https}),
    Rule("B5", "versioning / soft delete", ("CKV_AWS_21", "CKV_GCP_78"), "on",
         {"aws": aws.bucket_versioned, "gcp": gcp.bucket_versioned, "azure": azure.storage_versioned,
          "kubernetes": kubernetes.store_versioned}),
    Rule("B6", "no shared-key access on Azure storage", ("Azure Storage allowSharedKeyAccess false",), "on",
         {"azure": azure.storage_shared_keys_off},
         {"aws": "no shared keys on S3", "gcp": "no shared keys on GCS (HMAC keys: I2)"}),
    Rule("B7", "storage and registry admit only the stack's network and --allow-cidr",
         ("CKV_AZURE_35", "CKV_AZURE_36", "CKV_AZURE_109", "CKV_AZURE_189", "CKV_AZURE_139"), "option",
         {"azure": azure.service_firewalls},
         {"aws": "S3 and ECR are reached with IAM only (B1, R3)", "gcp": "GCS and Artifact Registry are reached with IAM only (B1, R3)"},
         trade_offs={
             "CKV_AZURE_35": OFF_IN_DEV.format(flag="--network-rules"),
             "CKV_AZURE_109": "fails: the Key Vault stays reachable from all networks, as AKS's KMS encryption with a "
                              "public vault and ACR's key access through a user-assigned identity require (B7 warns)",
             "CKV_AZURE_189": "fails for the same reason as CKV_AZURE_109",
             "CKV_AZURE_139": "fails: the registry keeps its public endpoint, open in dev, filtered by its IP rules "
                              "with --network-rules; closing it needs private endpoints (about $15.60/month more, not "
                              "built)",
         }),
    Rule("R1", "immutable image tags", ("CKV_AWS_51",), "option",
         {"aws": aws.registry_tags_immutable, "gcp": gcp.registry_tags_immutable},
         {"azure": "ACR has no registry-wide immutable tags (lock images with `az acr repository update --write-enabled false`)"},
         trade_offs={"CKV_AWS_51": "fails while --immutable-tags is off, the default: ZenML re-pushes the same tag for "
                                   "each build"}),
    Rule("R2", "scan images on push", ("CKV_AWS_163", "CIS 5.1.1"), "on",
         {"aws": aws.registry_scans_on_push, "gcp": gcp.registry_scans_on_push, "azure": azure.registry_scanning}),
    Rule("R3", "registry not public, ACR admin user off", ("CKV_AZURE_137",), "on",
         {"aws": aws.registry_private, "gcp": gcp.registry_private, "azure": azure.registry_private}),
    # No scanner checks registry lifecycle rules (CKV_AWS_136, once cited here, is ECR's KMS encryption).
    Rule("R4", "untagged images expire", ("AWS ECR lifecycle policy, Artifact Registry cleanup policy",), "on",
         {"aws": aws.untagged_images_expire, "gcp": gcp.untagged_images_expire, "azure": azure.registry_retention}),
    Rule("C1", "API endpoint restricted", ("CKV_AWS_38", "CKV_GCP_20", "CKV_AZURE_6"), "on",
         {"aws": aws.endpoint_restricted, "gcp": gcp.endpoint_restricted, "azure": azure.endpoint_restricted},
         trade_offs={anchor: "fails without --allow-cidr or --private-endpoint (the default: C1 warns), passes with either"
                     for anchor in ("CKV_AWS_38", "CKV_GCP_20", "CKV_AZURE_6")}),
    Rule("C2", "control-plane audit logging", ("CKV_GCP_1", "CKV_AZURE_4"), "on",
         {"aws": aws.control_plane_logged, "gcp": gcp.control_plane_logged, "azure": azure.control_plane_logged},
         trade_offs={"CKV_AZURE_4": "fails: it accepts only the Container Insights add-on (container logs and "
                                    "metrics, far costlier); --audit-logs sends AKS's audit and API-server logs "
                                    "through diagnostic settings instead, which it does not read"}),
    Rule("C3", "secrets envelope encryption", ("CKV_AWS_58", "CIS 5.3.1"), "option",
         {"aws": aws.secrets_envelope_encrypted, "gcp": gcp.secrets_envelope_encrypted,
          "azure": azure.secrets_envelope_encrypted},
         trade_offs={"CKV_AWS_58": OFF_IN_DEV.format(flag="--kms")}),
    Rule("C4", "RBAC only, no legacy auth", ("CKV_GCP_7", "CKV_GCP_13", "CKV_AZURE_5"), "on",
         {"aws": aws.rbac_only, "gcp": gcp.rbac_only, "azure": azure.rbac_only}),
    Rule("C5", "workload identity (no node-wide cloud creds)", ("CKV_GCP_69", "CIS 5.2.x"), "on",
         {"aws": aws.workload_identity, "gcp": gcp.workload_identity, "azure": azure.workload_identity}),
    Rule("C6", "release channel / supported version", ("CKV_GCP_70", "CKV_AZURE_171"), "on",
         {"aws": aws.supported_version, "gcp": gcp.supported_version, "azure": azure.supported_version}),
    Rule("C7", "only admitted images run (Binary Authorization)", ("CKV_GCP_66",), "on",
         {"gcp": gcp.binary_authorization},
         {"aws": "EKS has no built-in image admission; images come from the stack's own scanned registry (R2)",
          "azure": "AKS image integrity is in preview; images come from the stack's own registry (R3)"}),
    Rule("N1", "nodes private, no SSH from anywhere, IMDSv2", ("CKV_GCP_64", "CKV_AWS_100", "CKV_AWS_341"), "on",
         {"aws": aws.nodes_private, "gcp": gcp.nodes_private, "azure": azure.nodes_private}),
    Rule("N2", "dedicated least-privilege node identity", ("CIS GKE 5.2.1 (no default compute service account)",), "on",
         {"aws": aws.node_identity, "gcp": gcp.node_identity},
         {"azure": "the AKS kubelet identity is managed by AKS; it gets AcrPull on this registry only (R3)"}),
    Rule("N3", "node auto-repair/upgrade, shielded nodes", ("CKV_GCP_9", "CKV_GCP_10", "CKV_GCP_71"), "on",
         {"gcp": gcp.nodes_maintained, "azure": azure.nodes_maintained},
         {"aws": "EKS managed node groups replace unhealthy nodes; AMI updates come with node group updates"}),
    Rule("N4", "the cluster enforces NetworkPolicy", ("CKV_GCP_12", "CKV_AZURE_7"), "on",
         {"aws": aws.network_policy_enforced, "gcp": gcp.network_policy_enforced, "azure": azure.network_policy_enforced}),
    Rule("N5", "the network's default security group admits nothing", ("CKV2_AWS_12",), "on",
         {"aws": aws.default_security_group_closed},
         {"gcp": "a GCP network has no default firewall group; ours carries only the rules the stack needs",
          "azure": "an Azure VNet has no default security group"}),
    Rule("N6", "default-deny NetworkPolicy, then named flows, in every namespace of ours",
         ("CIS 5.3.2",), "on", every_provider(namespaces_segmented)),
    Rule("I1", "no wildcard or admin IAM; scoped to the stack's bucket/registry",
         ("CKV_AWS_62", "CKV_AWS_63", "CKV_AWS_355", "CKV_GCP_42", "CKV_GCP_117"), "on",
         {"aws": aws.iam_scoped, "gcp": gcp.iam_scoped, "azure": azure.iam_scoped}),
    Rule("I2", "no long-lived keys written anywhere", ("CKV_GCP_41",), "on", every_cloud(no_long_lived_keys),
         {"kubernetes": "a cluster we did not create has no workload identity to rely on: the bucket's static keys "
                        "are the object store's generated ones (Pulumi secrets) or in your --bucket-secret"}),
    # parliament's PERMISSIONS_MANAGEMENT_ACTIONS flags kms:CreateGrant whatever its condition: not an anchor.
    Rule("I3", "KMS grants only for AWS services", ("AWS KMS condition kms:GrantIsForAWSResource",), "on",
         {"aws": aws.kms_grants_scoped},
         {"gcp": "Cloud KMS has no grants: roles are bound to one key", "azure": "Key Vault has no grants: roles are bound to one vault"}),
    Rule("L1", "network flow logs", ("CKV2_AWS_11", "CKV_GCP_26", "CKV_GCP_61", "CKV_AZURE_12"), "option",
         {"aws": aws.flow_logs, "gcp": gcp.flow_logs, "azure": azure.flow_logs},
         trade_offs={anchor: OFF_IN_DEV.format(flag="--audit-logs") for anchor in ("CKV2_AWS_11", "CKV_GCP_26", "CKV_GCP_61")}),
    Rule("L2", "bucket access logs", ("CKV_AWS_18", "CKV_GCP_62"), "option",
         {"aws": aws.bucket_access_logs, "gcp": gcp.bucket_access_logs, "azure": azure.bucket_access_logs},
         trade_offs={"CKV_AWS_18": OFF_IN_DEV.format(flag="--audit-logs"),
                     "CKV_GCP_62": OFF_IN_DEV.format(flag="--audit-logs") + "; in prod it flags the log bucket itself, "
                                   "which logging to itself would break (CKV_GCP_63)"}),
    Rule("L3", "every control-plane log type", ("CKV_AWS_37",), "option",
         {"aws": aws.all_control_plane_logs},
         {"gcp": "GKE sends system-component and API-server logs on every stack (C2)",
          "azure": "AKS diagnostic settings (C2) carry every control-plane category it sends"},
         trade_offs={"CKV_AWS_37": OFF_IN_DEV.format(flag="--audit-logs") + " (dev sends api, audit, authenticator)"}),
    Rule("T1", "tracker and deployer endpoints authenticated", ("CIS 5.4.5", "Pulumi k8s LB policy"), "on",
         every_provider(endpoints_authenticated)),
    Rule("T2", "workloads hardened", ("CKV_K8S_8", "CKV_K8S_9", "CKV_K8S_10", "CKV_K8S_11", "CKV_K8S_12", "CKV_K8S_13",
                                      "CKV_K8S_14", "CKV_K8S_20", "CKV_K8S_22", "CKV_K8S_23", "CKV_K8S_38"), "on",
         every_provider(workloads_hardened)),
    Rule("T3", "the front door serves HTTPS only", ("CIS 5.4.5 (TLS at the edge)",), "on", every_provider(front_door_https)),
    Rule("T4", "Pod Security enforced in every namespace of ours", ("CIS 5.2.1",), "on", every_provider(pod_security_everywhere)),
    Rule("T5", "images pinned by digest", ("CKV_K8S_43",), "on", every_provider(images_by_digest),
         trade_offs={"CKV_K8S_43": "fails on the MLflow image until its digest is pinned (T5 warns): "
                                   "recipes/kubernetes/versions.py says how to read it"}),
    Rule("S1", "secrets never in plaintext at rest or on screen", ("mlstacks wrote passwords into YAML",), "on",
         every_provider(secrets_are_secret)),
    Rule("D1", "user data survives teardown", ("mlstacks force_destroy=true lost artifacts",), "on", {**every_cloud(data_survives), "kubernetes": store_survives}),
)
RULES_BY_ID = {rule.id: rule for rule in RULES}


def evaluate(plan: Plan) -> list[RuleResult]:
    return [RuleResult(rule, rule.evaluate(plan)) for rule in RULES]


def failures(results: Iterable[RuleResult]) -> list[RuleResult]:
    return [r for r in results if r.verdict.status == "fail"]
