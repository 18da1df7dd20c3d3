"""The rules of docs/security-baseline.md, in its order and wording, each with one named predicate per cloud.

Why a table: the document and `recipe check` must list the same rules (tests/test_docs.py
compares them), and a reader finds a rule's check on a cloud by following one name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from provisioner.analysis.plan import Plan

from . import aws, azure, gcp
from .keys_secrets_data import data_survives, no_long_lived_keys, secrets_are_secret
from .queries import Verdict
from .workloads import endpoints_authenticated, workloads_hardened

Check = Callable[[Plan], Verdict]


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    anchors: tuple[str, ...]
    default: str  # "on", or "option" for rules that cost money
    checks: dict[str, Check]
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


def every_cloud(check: Check) -> dict[str, Check]:
    """A rule checked the same way on every cloud."""
    return {"aws": check, "gcp": check, "azure": check}


RULES: tuple[Rule, ...] = (
    Rule("B1", "bucket blocks all public access", ("CKV_AWS_53-56", "CKV_GCP_114", "CKV_AZURE_190"), "on",
         {"aws": aws.bucket_public_access_blocked, "gcp": gcp.bucket_public_access_prevented, "azure": azure.storage_private}),
    Rule("B2", "ACLs off / uniform access", ("CKV2_AWS_65", "CKV_GCP_29"), "on",
         {"aws": aws.bucket_acls_off, "gcp": gcp.bucket_acls_off},
         {"azure": "Azure Blob Storage has no object ACLs (container access: B1)"}),
    Rule("B3", "encryption at rest", ("CKV_AWS_19", "CKV_AWS_145"), "on",
         {"aws": aws.bucket_encrypted, "gcp": gcp.bucket_encrypted, "azure": azure.storage_encrypted}),
    Rule("B4", "HTTPS only, TLS >= 1.2", ("CKV_AZURE_3", "CKV_AZURE_44"), "on",
         {"aws": aws.bucket_https_only, "gcp": gcp.bucket_https_only, "azure": azure.storage_https_only}),
    Rule("B5", "versioning / soft delete", ("CKV_AWS_21", "CKV_GCP_78", "CKV2_AZURE_38"), "on",
         {"aws": aws.bucket_versioned, "gcp": gcp.bucket_versioned, "azure": azure.storage_versioned}),
    Rule("B6", "no shared-key access on Azure storage", ("CKV2_AZURE_40",), "on",
         {"azure": azure.storage_shared_keys_off},
         {"aws": "no shared keys on S3", "gcp": "no shared keys on GCS (HMAC keys: I2)"}),
    Rule("R1", "immutable image tags", ("CKV_AWS_51",), "option",
         {"aws": aws.registry_tags_immutable, "gcp": gcp.registry_tags_immutable},
         {"azure": "ACR has no registry-wide immutable tags (lock images with `az acr repository update --write-enabled false`)"}),
    Rule("R2", "scan images on push", ("CKV_AWS_163", "CIS 5.1.1"), "on",
         {"aws": aws.registry_scans_on_push, "gcp": gcp.registry_scans_on_push, "azure": azure.registry_scanning}),
    Rule("R3", "registry not public, ACR admin user off", ("CKV_AWS_32", "CKV_AZURE_137"), "on",
         {"aws": aws.registry_private, "gcp": gcp.registry_private, "azure": azure.registry_private}),
    Rule("R4", "untagged images expire", ("CKV_AWS_136",), "on",
         {"aws": aws.untagged_images_expire, "gcp": gcp.untagged_images_expire, "azure": azure.registry_retention}),
    Rule("C1", "API endpoint restricted", ("CKV_AWS_38", "CKV_AWS_39", "CKV_GCP_20", "CKV_AZURE_6"), "on",
         {"aws": aws.endpoint_restricted, "gcp": gcp.endpoint_restricted, "azure": azure.endpoint_restricted}),
    Rule("C2", "control-plane audit logging", ("CKV_AWS_37", "CKV_GCP_1", "CKV_AZURE_4"), "on",
         {"aws": aws.control_plane_logged, "gcp": gcp.control_plane_logged, "azure": azure.control_plane_logged}),
    Rule("C3", "secrets envelope encryption", ("CKV_AWS_58", "CIS 5.3.1"), "option",
         {"aws": aws.secrets_envelope_encrypted, "gcp": gcp.secrets_envelope_encrypted,
          "azure": azure.secrets_envelope_encrypted}),
    Rule("C4", "RBAC only, no legacy auth", ("CKV_GCP_7", "CKV_GCP_13", "CKV_AZURE_5"), "on",
         {"aws": aws.rbac_only, "gcp": gcp.rbac_only, "azure": azure.rbac_only}),
    Rule("C5", "workload identity (no node-wide cloud creds)", ("CKV_GCP_69", "CIS 5.2.x"), "on",
         {"aws": aws.workload_identity, "gcp": gcp.workload_identity, "azure": azure.workload_identity}),
    Rule("C6", "release channel / supported version", ("CKV_GCP_70", "CKV_AZURE_171"), "on",
         {"aws": aws.supported_version, "gcp": gcp.supported_version, "azure": azure.supported_version}),
    Rule("N1", "nodes private, no SSH from anywhere, IMDSv2", ("CKV_GCP_64", "CKV_AZURE_143", "CKV_AWS_100", "CKV_AWS_341"), "on",
         {"aws": aws.nodes_private, "gcp": gcp.nodes_private, "azure": azure.nodes_private}),
    Rule("N2", "dedicated least-privilege node identity", ("CKV2_GCP_1",), "on",
         {"aws": aws.node_identity, "gcp": gcp.node_identity},
         {"azure": "the AKS kubelet identity is managed by AKS; it gets AcrPull on this registry only (R3)"}),
    Rule("N3", "node auto-repair/upgrade, shielded nodes", ("CKV_GCP_9", "CKV_GCP_10", "CKV_GCP_71"), "on",
         {"gcp": gcp.nodes_maintained, "azure": azure.nodes_maintained},
         {"aws": "EKS managed node groups replace unhealthy nodes; AMI updates come with node group updates"}),
    Rule("I1", "no wildcard or admin IAM; scoped to the stack's bucket/registry",
         ("CKV_AWS_62", "CKV_AWS_63", "CKV_AWS_355", "CKV_GCP_42", "CKV_GCP_117"), "on",
         {"aws": aws.iam_scoped, "gcp": gcp.iam_scoped, "azure": azure.iam_scoped}),
    Rule("I2", "no long-lived keys written anywhere", ("CKV_AWS_273", "CKV_GCP_41"), "on", every_cloud(no_long_lived_keys)),
    Rule("T1", "tracker and deployer endpoints authenticated", ("CIS 5.4.5", "Pulumi k8s LB policy"), "on",
         every_cloud(endpoints_authenticated)),
    Rule("T2", "workloads hardened", ("CKV_K8S_8-14/20/22/23/38/43",), "on", every_cloud(workloads_hardened)),
    Rule("S1", "secrets never in plaintext at rest or on screen", ("mlstacks wrote passwords into YAML",), "on",
         every_cloud(secrets_are_secret)),
    Rule("D1", "user data survives teardown", ("mlstacks force_destroy=true lost artifacts",), "on", every_cloud(data_survives)),
)
RULES_BY_ID = {rule.id: rule for rule in RULES}


def evaluate(plan: Plan) -> list[RuleResult]:
    return [RuleResult(rule, rule.evaluate(plan)) for rule in RULES]


def failures(results: Iterable[RuleResult]) -> list[RuleResult]:
    return [r for r in results if r.verdict.status == "fail"]
