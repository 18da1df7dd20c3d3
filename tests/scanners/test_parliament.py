"""Every IAM policy document of the AWS stacks, linted by parliament (with its community auditors).

The documents: roles' trust policies, inline role policies, managed policies, the KMS key
policy and bucket policies (render_terraform.POLICY_INPUTS). A finding outside ALLOWED fails.
"""

from __future__ import annotations

import fnmatch

import pytest

from .render_terraform import PolicyDocument
from .scanners import run_parliament

AWS_STACKS = ("aws-dev", "aws-prod")

# (issue, document pattern, finding detail pattern) -> why. Document: PolicyDocument.label,
# "<Kind> <resource name> (<input>)". Patterns are fnmatch patterns.
ALLOWED: dict[tuple[str, str, str], str] = {
    ("MALFORMED", "Role * (assumeRolePolicy)", "Statement contains neither Resource nor NotResource"):
        "a trust policy has no Resource element by AWS's grammar; parliament lints identity and resource "
        "policies and says so itself (parliament/statement.py, analyze_statement's comment on trust policies)",
    ("RESOURCE_STAR", "Key encryption (policy)", "*"):
        "a key policy's Resource is \"*\": it means this key (AWS KMS, \"Key policies\")",
    ("PERMISSIONS_MANAGEMENT_ACTIONS", "Key encryption (policy)", "*"):
        "the account root's kms:* statement is AWS's default key policy: without it the key could become "
        "unmanageable (AWS KMS, \"Default key policy\")",
    ("MISMATCHED_TYPE", "Key encryption (policy)", "*ArnEquals*"):
        "kms:EncryptionContext:aws:logs:arn holds a log group's ARN; AWS documents ARN operators on it "
        "(CloudWatch Logs, \"Encrypt log data using AWS KMS\")",
    ("UNKNOWN_CONDITION_FOR_ACTION", "Key encryption (policy)", "*kms:DescribeKey*"):
        "CloudWatch Logs' key statement is AWS's own documented shape (kms:Describe* under the log group's "
        "encryption-context condition, CloudWatch Logs, \"Encrypt log data using AWS KMS\"); Logs works with it",
    ("PERMISSIONS_MANAGEMENT_ACTIONS", "RolePolicy cluster-control-plane-kms (policy)", "*"):
        "kms:CreateGrant, for EKS's secrets encryption, only with kms:GrantIsForAWSResource (recipe check I3); "
        "parliament's community auditor flags the action whatever its condition "
        "(parliament/community_auditors/permissions_management.py)",
}


def allowed(finding) -> str | None:
    for (issue, document, detail), reason in ALLOWED.items():
        if finding.issue == issue and fnmatch.fnmatchcase(finding.document, document) \
                and fnmatch.fnmatchcase(finding.detail, detail):
            return reason
    return None


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_policy_documents_pass_parliament(scans, stack):
    rendered = scans.rendered(stack)
    kinds = {d.kind for d in rendered.policies}
    assert {"trust", "identity", "resource"} <= kinds, f"documents of every kind are linted: {kinds}"
    findings = scans.findings(stack)
    unexpected = [f"{f.issue} ({f.severity}) {f.document}: {f.detail}" for f in findings if allowed(f) is None]
    assert not unexpected, "\n".join(unexpected)


def test_every_allowed_finding_is_still_found(scans):
    """An ALLOWED entry no document triggers any more is a fix to record: remove it."""
    found = [f for stack in AWS_STACKS for f in scans.findings(stack)]
    unused = [key for key in ALLOWED if not any(
        f.issue == key[0] and fnmatch.fnmatchcase(f.document, key[1]) and fnmatch.fnmatchcase(f.detail, key[2])
        for f in found)]
    assert not unused, f"no longer found: {unused}"


def test_parliament_reports_what_it_finds(tmp_path, venv):
    """The harness's own check: an unknown action and an admin grant come back as findings, so an
    empty report above means clean documents, not a linter that read nothing."""
    bad = PolicyDocument("aws:iam/rolePolicy:RolePolicy", "bad", "policy", "identity", {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObjekt"], "Resource": "arn:aws:s3:::b/*"},
                      {"Effect": "Allow", "Action": "iam:*", "Resource": "*"}],
    })
    issues = {f.issue for f in run_parliament(venv, [bad], tmp_path / "iam")}
    assert {"UNKNOWN_ACTION", "RESOURCE_STAR"} <= issues, issues
