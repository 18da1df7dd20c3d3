"""The scanner checks `recipe check` cites really pass on the stacks it judges.

Each rule of provisioner/analysis/baseline/rules.py names anchors: the Checkov checks it stands
for. Every cited Checkov id of a cloud (CKV_AWS_*/CKV2_AWS_* on AWS, CKV_GCP_*/CKV2_GCP_* on GCP,
CKV_AZURE_*/CKV2_AZURE_* on Azure, CKV_K8S_*/CKV2_K8S_* on the Kubernetes objects of every stack,
the `kubernetes` provider's included; "CIS 5.1.1" and other prose are not Checkov's) must have no
FAILED result on the cloud's default and prod stacks, and at least one PASSED among them: an anchor
nothing evaluates proves nothing.
KNOWN holds the exceptions of today, each with its reason.
"""

from __future__ import annotations

import fnmatch
import re

import pytest

from provisioner.analysis.baseline.rules import RULES_BY_ID

from .stacks import STACKS, provider_of

ANCHOR = re.compile(r"^(CKV2?_(AWS|GCP|AZURE|K8S)_)(\d+(?:-\d+)?(?:/\d+(?:-\d+)?)*)$")
CLOUD_OF = {"AWS": "aws", "GCP": "gcp", "AZURE": "azure", "K8S": "kubernetes"}
FRAMEWORK_OF = {"aws": "terraform", "gcp": "terraform", "azure": "arm", "kubernetes": "kubernetes"}

# (check id, stack pattern) -> why it fails or is not evaluated there. A stack pattern is an fnmatch
# of "<cloud>-<profile>". "not evaluated" entries name a check no stack of that cloud reaches.
KNOWN: dict[tuple[str, str], str] = {
    # Rules that are options (on in the prod profile, off in dev for cost): `recipe check` says "option".
    ("CKV2_AWS_11", "aws-dev"): "L1 is an option: VPC flow logs come with --audit-logs (prod profile), not in dev",
    ("CKV_GCP_26", "gcp-dev"): "L1 is an option: subnet flow logs come with --audit-logs (prod profile), not in dev",
    ("CKV_GCP_61", "gcp-dev"): "L1 is an option: intranode visibility (flow logs of pod traffic) comes with --audit-logs "
                               "(prod profile), not in dev",
    ("CKV_AWS_18", "aws-dev"): "L2 is an option: bucket access logs come with --audit-logs (prod profile), not in dev",
    ("CKV_GCP_62", "gcp-dev"): "L2 is an option: bucket access logs come with --audit-logs (prod profile), not in dev",
    ("CKV_AWS_37", "aws-dev"): "L3 is an option: every control-plane log type comes with --audit-logs (prod profile); "
                               "dev ships api, audit and authenticator",
    ("CKV_AWS_58", "aws-dev"): "C3 is an option: secrets envelope encryption needs --kms (prod profile)",
    ("CKV_AWS_51", "aws-*"): "R1 is an option (--immutable-tags): off by default, `recipe check` says so",
    ("CKV_AZURE_35", "azure-dev"): "B7 is an option: the storage firewall comes with --network-rules (prod profile)",
    ("CKV_AZURE_139", "azure-dev"): "B7 is an option: the registry firewall comes with --network-rules (prod profile)",
    # The default and prod stacks are planned without --allow-cidr: `recipe check` says C1 "warn".
    ("CKV_AWS_38", "aws-*"): "no --allow-cidr: the API endpoint is open to 0.0.0.0/0; C1 warns (recipe plan too)",
    ("CKV_GCP_20", "gcp-*"): "no --allow-cidr: no master authorized networks; C1 warns (recipe plan too)",
    ("CKV_AZURE_6", "azure-*"): "no --allow-cidr: no authorized IP ranges on the API server; C1 warns (recipe plan too)",
    # The anchor asks for more than the rule, on purpose.
    ("CKV_AWS_145", "aws-dev"): "B3 holds with SSE-S3 (CKV_AWS_19 passes); CKV_AWS_145 asks for SSE-KMS, which is --kms "
                                "(prod profile)",
    ("CKV_AWS_145", "aws-prod"): "the access-log bucket (`logs`) keeps SSE-S3: S3 server access logging cannot deliver "
                                 "to a bucket whose default encryption is SSE-KMS; the artifacts bucket passes",
    ("CKV_GCP_62", "gcp-prod"): "the access-log bucket itself: logging it into itself would loop; the artifacts bucket passes",
    ("CKV_AZURE_139", "azure-prod"): "CKV_AZURE_139 wants publicNetworkAccess Disabled (private endpoints only); B7 "
                                     "admits the stack's network and --allow-cidr through the registry's firewall "
                                     "(defaultAction Deny), which needs public network access Enabled",
    ("CKV_AZURE_4", "azure-*"): "CKV_AZURE_4 asks for the Container Insights add-on (addonProfiles.omsagent); C2 ships "
                                "the control plane's audit logs by a diagnostic setting instead (prod), or not at all (dev)",
    # Real gaps, to fix.
    ("CKV_AZURE_109", "azure-*"): "the key vault stays reachable from all networks: AKS's KMS in public key-vault mode "
                                  "and ACR's user-assigned key identity cannot pass its firewall (B7 warns); dev has "
                                  "no key vault (it comes with --kms)",
    ("CKV_AZURE_189", "azure-*"): "as CKV_AZURE_109: the key vault's public network access stays Enabled (B7 warns)",
    ("CKV_K8S_43", "*"): "T5 warns: the MLflow image's digest could not be read offline (no registry access); "
                         "recipes/kubernetes/versions.py DIGEST_PENDING says how to pin it",
}


def expand(anchor: str) -> list[str]:
    """CKV_AWS_53-56 -> CKV_AWS_53..56; CKV_K8S_8-14/20 -> 8..14 and 20; prose -> []."""
    found = ANCHOR.match(anchor.strip())
    if found is None:
        return []
    prefix, _, numbers = found.groups()
    out = []
    for part in numbers.split("/"):
        low, _, high = part.partition("-")
        out += [f"{prefix}{n}" for n in range(int(low), int(high or low) + 1)]
    return out


def cited() -> dict[str, list[str]]:
    """Every cited Checkov id, with the rules that cite it."""
    from provisioner.analysis.baseline.rules import RULES

    out: dict[str, list[str]] = {}
    for rule in RULES:
        for anchor in rule.anchors:
            for check_id in expand(anchor):
                out.setdefault(check_id, []).append(rule.id)
    return out


def cloud_of(check_id: str) -> str:
    return CLOUD_OF[ANCHOR.match(check_id).group(2)]


def known(check_id: str, stack: str) -> str | None:
    for (known_id, pattern), reason in KNOWN.items():
        if known_id == check_id and fnmatch.fnmatchcase(stack, pattern):
            return reason
    return None


def stacks_of(cloud: str) -> list[str]:
    """A cloud's stacks; for CKV_K8S checks every stack's objects, the `kubernetes` provider's included."""
    return [s for s in STACKS if cloud == "kubernetes" or provider_of(s) == cloud]


CITED = cited()


def test_anchors_are_read():
    """The reader of anchors finds the baseline's checks (a format change would empty this test)."""
    assert expand("CKV_AWS_53-56") == ["CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56"]
    assert expand("CKV_K8S_8-10/20") == ["CKV_K8S_8", "CKV_K8S_9", "CKV_K8S_10", "CKV_K8S_20"]
    assert expand("CIS 5.1.1") == [] and expand("CKV2_GCP_1") == ["CKV2_GCP_1"]
    assert {cloud_of(c) for c in CITED} == {"aws", "gcp", "azure", "kubernetes"}


@pytest.mark.parametrize("check_id", sorted(CITED, key=lambda c: (cloud_of(c), c)))
def test_cited_check_passes(scans, check_id):
    cloud = cloud_of(check_id)
    framework = FRAMEWORK_OF[cloud]
    failed, passed = [], []
    for stack in stacks_of(cloud):
        for check in scans.checkov(stack).of(framework):
            if check.check_id != check_id:
                continue
            if check.result == "failed" and known(check_id, stack) is None:
                failed.append(f"{stack}: {check.resource}")
            elif check.result == "failed":
                # A tolerated failure is a trade-off README's security table states next to the rule.
                assert any(check_id in RULES_BY_ID[rule].trade_offs for rule in CITED[check_id]), (
                    f"{check_id} fails on {stack} (KNOWN) but no rule citing it states the trade-off")
            if check.result == "passed":
                passed.append(stack)
    rules = ", ".join(CITED[check_id])
    assert not failed, f"{check_id} (cited by {rules}) fails: {'; '.join(failed)}"
    if not passed:
        assert all(known(check_id, stack) for stack in stacks_of(cloud)), (
            f"{check_id} (cited by {rules}) passes on no {cloud} stack: nothing shows this anchor holds")


def test_every_known_exception_is_still_needed(scans):
    """A KNOWN entry for a check that now passes everywhere it matches is a fix to record: remove it."""
    stale = []
    for (check_id, pattern), _ in KNOWN.items():
        cloud = cloud_of(check_id)
        matching = [s for s in stacks_of(cloud) if fnmatch.fnmatchcase(s, pattern)]
        results = [c.result for s in matching for c in scans.checkov(s).of(FRAMEWORK_OF[cloud]) if c.check_id == check_id]
        if "failed" not in results and "passed" in results:
            stale.append((check_id, pattern))
    assert not stale, f"these pass now, drop them from KNOWN: {stale}"
