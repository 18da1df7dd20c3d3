"""The security baseline: every rule passes on each cloud's default stack and fails on a broken resource."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

import pytest

from provisioner.analysis.baseline import RULES, RULES_BY_ID, evaluate
from provisioner.analysis.plan import Plan, PlannedResource, run_plan
from recipes.spec import Layer, load_spec

SPECS = {
    "aws": {"provider": "aws", "region": "eu-west-1"},
    "gcp": {"provider": "gcp", "project": "demo-project", "region": "us-central1"},
    "azure": {"provider": "azure", "region": "westeurope"},
}
def plan_for(provider: str, **extra) -> Plan:
    """The plan of a variant (run_plan computes each spec once per process; copy before changing)."""
    return run_plan(load_spec(Layer("flags", {**SPECS[provider], **extra})))


def verdict(plan: Plan, rule_id: str):
    return RULES_BY_ID[rule_id].evaluate(plan)


# Statuses each default stack must have: no rule fails; the weaker defaults are named.
EXPECTED_DEFAULT = {
    "aws": {"R1": "option", "C1": "warn", "C3": "option", "T1": "warn", "B6": "n/a", "N3": "n/a"},
    "gcp": {"R1": "option", "C1": "warn", "C3": "option", "T1": "warn", "B6": "n/a"},
    "azure": {"B2": "n/a", "R1": "n/a", "R2": "option", "R4": "option", "C1": "warn", "C2": "option", "C3": "option",
              "N2": "n/a", "T1": "warn"},
}


@pytest.mark.parametrize("provider", sorted(SPECS))
def test_default_stack_passes_every_rule(provider):
    results = {r.rule.id: r.verdict.status for r in evaluate(plan_for(provider))}
    assert set(results) == {rule.id for rule in RULES} and len(RULES) == 25
    expected = {rule.id: EXPECTED_DEFAULT[provider].get(rule.id, "pass") for rule in RULES}
    assert results == expected


@pytest.mark.parametrize("provider", sorted(SPECS))
def test_allow_cidr_turns_the_endpoint_warnings_into_passes(provider):
    plan = plan_for(provider, allow_cidrs=["203.0.113.0/24"])
    assert verdict(plan, "C1").status == "pass" and verdict(plan, "T1").status == "pass"


# --------------------------------------------------------------------------
# Each rule fails on a deliberately bad resource

def broken(plan: Plan, type_: str, change: Callable[[PlannedResource], None], name: str | None = None, spec: dict | None = None) -> Plan:
    bad = copy.deepcopy(plan)
    if spec:
        bad.spec = bad.spec.with_changes(**spec)
    targets = [r for r in bad.resources if r.type == type_ and (name is None or r.name == name)]
    assert targets, f"no {type_} {name or ''} to break"
    for r in targets:
        change(r)
    return bad


def added(plan: Plan, type_: str, inputs: dict, depends_on: str | None = None) -> Plan:
    bad = copy.deepcopy(plan)
    deps = [r.urn for r in bad.resources if r.type == depends_on] if depends_on else []
    bad.resources.append(PlannedResource(urn=f"urn:bad::{type_}::intruder", type=type_, name="intruder", parent=None,
                                         provider=None, dependencies=deps, inputs=inputs, custom=True))
    return bad


def removed(plan: Plan, type_: str) -> Plan:
    bad = copy.deepcopy(plan)
    bad.resources = [r for r in bad.resources if r.type != type_]
    return bad


def setter(*path, value):
    def change(r: PlannedResource) -> None:
        target = r.inputs
        for key in path[:-1]:
            target = target[key] if isinstance(key, int) else target.setdefault(key, {})
        target[path[-1]] = value
    return change


S3_PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
EKS = "aws:eks/cluster:Cluster"
GKE = "gcp:container/cluster:Cluster"
POOL = "gcp:container/nodePool:NodePool"
AKS = "azure-native:containerservice:ManagedCluster"
STORAGE = "azure-native:storage:StorageAccount"
MLFLOW = "kubernetes:apps/v1:Deployment"
NODE_ROLE_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"

BREAKS: list[tuple[str, str, Callable[[Plan], Plan]]] = [
    ("B1", "aws", lambda p: broken(p, S3_PAB, setter("blockPublicAcls", value=False))),
    ("B1", "gcp", lambda p: broken(p, "gcp:storage/bucket:Bucket", setter("publicAccessPrevention", value="inherited"))),
    ("B1", "azure", lambda p: broken(p, STORAGE, setter("allowBlobPublicAccess", value=True))),
    ("B2", "aws", lambda p: broken(p, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", setter("rule", "objectOwnership", value="ObjectWriter"))),
    ("B2", "gcp", lambda p: broken(p, "gcp:storage/bucket:Bucket", setter("uniformBucketLevelAccess", value=False))),
    ("B3", "aws", lambda p: removed(p, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")),
    ("B3", "gcp", lambda p: broken(p, "gcp:storage/bucket:Bucket", lambda r: None, spec={"kms": True})),
    ("B3", "azure", lambda p: broken(p, STORAGE, lambda r: None, spec={"kms": True})),
    ("B4", "aws", lambda p: removed(p, "aws:s3/bucketPolicy:BucketPolicy")),
    ("B4", "azure", lambda p: broken(p, STORAGE, setter("minimumTlsVersion", value="TLS1_0"))),
    ("B5", "aws", lambda p: broken(p, "aws:s3/bucketVersioning:BucketVersioning", setter("versioningConfiguration", "status", value="Suspended"))),
    ("B5", "gcp", lambda p: broken(p, "gcp:storage/bucket:Bucket", setter("versioning", "enabled", value=False))),
    ("B5", "azure", lambda p: broken(p, "azure-native:storage:BlobServiceProperties", setter("isVersioningEnabled", value=False))),
    ("B6", "azure", lambda p: broken(p, STORAGE, setter("allowSharedKeyAccess", value=True))),
    ("R1", "aws", lambda p: broken(p, "aws:ecr/repository:Repository", lambda r: None, spec={"immutable_tags": True})),
    ("R1", "gcp", lambda p: broken(p, "gcp:artifactregistry/repository:Repository", lambda r: None, spec={"immutable_tags": True})),
    ("R2", "aws", lambda p: broken(p, "aws:ecr/repository:Repository", setter("imageScanningConfiguration", "scanOnPush", value=False))),
    ("R2", "gcp", lambda p: broken(p, "gcp:projects/service:Service", setter("service", value="other.googleapis.com"))),
    ("R3", "aws", lambda p: added(p, "aws:ecr/repositoryPolicy:RepositoryPolicy",
                                  {"policy": json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}]})})),
    ("R3", "gcp", lambda p: added(p, "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember", {"member": "allUsers", "role": "roles/artifactregistry.reader"})),
    ("R3", "azure", lambda p: broken(p, "azure-native:containerregistry:Registry", setter("adminUserEnabled", value=True))),
    ("R4", "aws", lambda p: removed(p, "aws:ecr/lifecyclePolicy:LifecyclePolicy")),
    ("R4", "gcp", lambda p: broken(p, "gcp:artifactregistry/repository:Repository", setter("cleanupPolicies", value=[]))),
    ("C1", "aws", lambda p: broken(p, EKS, setter("vpcConfig", "publicAccessCidrs", value=["0.0.0.0/0"]), spec={"allow_cidrs": ("203.0.113.0/24",)})),
    ("C1", "gcp", lambda p: broken(p, GKE, setter("masterAuthorizedNetworksConfig", value={}), spec={"allow_cidrs": ("203.0.113.0/24",)})),
    ("C1", "azure", lambda p: broken(p, AKS, setter("apiServerAccessProfile", value={}), spec={"private_endpoint": True})),
    ("C2", "aws", lambda p: broken(p, EKS, setter("enabledClusterLogTypes", value=["api"]))),
    ("C2", "gcp", lambda p: broken(p, GKE, setter("loggingConfig", "enableComponents", value=[]))),
    ("C3", "aws", lambda p: broken(p, EKS, setter("encryptionConfig", value={}), spec={"kms": True})),
    ("C3", "gcp", lambda p: broken(p, GKE, setter("databaseEncryption", value={"state": "DECRYPTED"}), spec={"kms": True})),
    ("C3", "azure", lambda p: broken(p, AKS, setter("securityProfile", "azureKeyVaultKms", value={"enabled": False}), spec={"kms": True})),
    ("C4", "aws", lambda p: broken(p, EKS, setter("accessConfig", "authenticationMode", value="CONFIG_MAP"))),
    ("C4", "gcp", lambda p: broken(p, GKE, setter("enableLegacyAbac", value=True))),
    ("C4", "azure", lambda p: broken(p, AKS, setter("disableLocalAccounts", value=False))),
    ("C5", "aws", lambda p: removed(p, "aws:eks/addon:Addon")),
    ("C5", "gcp", lambda p: broken(p, POOL, setter("nodeConfig", "workloadMetadataConfig", "mode", value="GCE_METADATA"))),
    ("C5", "azure", lambda p: broken(p, AKS, setter("securityProfile", "workloadIdentity", "enabled", value=False))),
    ("C6", "aws", lambda p: broken(p, EKS, setter("upgradePolicy", "supportType", value="EXTENDED"))),
    ("C6", "gcp", lambda p: broken(p, GKE, setter("releaseChannel", value={}))),
    ("C6", "azure", lambda p: broken(p, AKS, setter("autoUpgradeProfile", "upgradeChannel", value="none"))),
    ("N1", "aws", lambda p: broken(p, "aws:ec2/launchTemplate:LaunchTemplate", setter("metadataOptions", "httpTokens", value="optional"))),
    ("N1", "gcp", lambda p: broken(p, GKE, setter("privateClusterConfig", "enablePrivateNodes", value=False))),
    ("N1", "azure", lambda p: broken(p, AKS, setter("agentPoolProfiles", 0, "enableNodePublicIP", value=True))),
    ("N2", "aws", lambda p: added(p, NODE_ROLE_ATTACHMENT, {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}, depends_on="aws:iam/role:Role")),
    ("N2", "gcp", lambda p: broken(p, POOL, setter("nodeConfig", "serviceAccount", value="123-compute@developer.gserviceaccount.com"))),
    ("N3", "gcp", lambda p: broken(p, POOL, setter("management", "autoRepair", value=False))),
    ("N3", "azure", lambda p: broken(p, AKS, setter("autoUpgradeProfile", "nodeOSUpgradeChannel", value="None"))),
    ("I1", "aws", lambda p: added(p, "aws:iam/rolePolicy:RolePolicy",
                                  {"policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})})),
    ("I1", "gcp", lambda p: added(p, "gcp:projects/iAMMember:IAMMember", {"role": "roles/editor", "member": "serviceAccount:x"})),
    ("I1", "azure", lambda p: added(p, "azure-native:authorization:RoleAssignment",
                                    {"roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
                                     "scope": "/subscriptions/0000"})),
    ("I2", "aws", lambda p: added(p, "aws:iam/accessKey:AccessKey", {"user": "ci"})),
    ("I2", "gcp", lambda p: added(p, "gcp:serviceaccount/key:Key", {"serviceAccountId": "x"})),
    ("I2", "azure", lambda p: added(p, "azure-native:containerregistry:Token", {"tokenName": "push"})),
    ("T1", "aws", lambda p: broken(p, MLFLOW, setter("spec", "template", "spec", "containers", 0, "args", value=["server"]), name="tracker-server")),
    ("T2", "gcp", lambda p: broken(p, MLFLOW, setter("spec", "template", "spec", "containers", 0, "image", value="docker.io/burakince/mlflow:latest"), name="tracker-server")),
    ("T2", "azure", lambda p: broken(p, MLFLOW, setter("spec", "template", "spec", "containers", 0, "securityContext", "allowPrivilegeEscalation", value=True), name="tracker-db")),
    ("S1", "aws", lambda p: broken(p, "kubernetes:core/v1:Secret", lambda r: r.secret_inputs.clear(), name="tracker-server")),
    ("S1", "gcp", lambda p: broken(p, "kubernetes:core/v1:ConfigMap", setter("data", "leak", value=p.raw_outputs["tracker"]["password"]))),
    ("D1", "aws", lambda p: broken(p, "aws:s3/bucket:Bucket", lambda r: setattr(r, "retain_on_delete", False))),
    ("D1", "gcp", lambda p: broken(p, GKE, setter("deletionProtection", value=True))),
    # Unprotected data is deleted by `recipe destroy`; a protected cluster could never be destroyed.
    ("D1", "azure", lambda p: broken(p, "azure-native:containerregistry:Registry", lambda r: setattr(r, "protect", False))),
    ("D1", "aws", lambda p: broken(p, "aws:eks/cluster:Cluster", lambda r: setattr(r, "protect", True))),
]


def test_every_rule_has_a_failing_case():
    assert {rule for rule, _, _ in BREAKS} == {rule.id for rule in RULES}


@pytest.mark.parametrize("rule_id,provider,break_", BREAKS, ids=[f"{r}-{p}" for r, p, _ in BREAKS])
def test_rule_fails_on_a_broken_resource(rule_id, provider, break_):
    good = plan_for(provider)
    assert verdict(good, rule_id).status != "fail"
    bad = verdict(break_(good), rule_id)
    assert bad.status == "fail", bad
    assert bad.detail


KEY_TYPES = {"aws": "aws:kms/key:Key", "gcp": "gcp:kms/cryptoKey:CryptoKey", "azure": "azure-native:keyvault:Vault"}


@pytest.mark.parametrize("provider", sorted(SPECS))
def test_kms_turns_the_encryption_options_into_passes(provider):
    plan = plan_for(provider, kms=True)
    assert verdict(plan, "B3").status == "pass" and verdict(plan, "C3").status == "pass"
    assert "key" in verdict(plan, "B3").detail.lower()


@pytest.mark.parametrize("provider", sorted(SPECS))
def test_a_key_that_dies_with_the_stack_fails_d1(provider):
    """Kept data encrypted with a deleted key is lost data: the key must be retained too."""
    plan = plan_for(provider, kms=True)
    assert verdict(plan, "D1").status == "pass"
    bad = broken(plan, KEY_TYPES[provider], lambda r: setattr(r, "retain_on_delete", False))
    assert verdict(bad, "D1").status == "fail"


@pytest.mark.parametrize("provider", sorted(SPECS))
def test_private_endpoint_passes_c1(provider):
    assert verdict(plan_for(provider, private_endpoint=True), "C1").detail == "private endpoint"
