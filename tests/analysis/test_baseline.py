"""The security baseline: every rule passes on each cloud's default stack and fails on a broken resource."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import pytest

from provisioner.analysis.baseline import RULES, RULES_BY_ID, evaluate
from provisioner.analysis.plan import Plan, PlannedResource, run_plan
from recipes.facts import aws, azure, gcp, any_cloud as k8s_facts
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


# Statuses each default stack must have: no rule fails; the weaker defaults are named. The MLflow
# image's digest is pending (T5 warns, recipes/kubernetes/versions.py); logs are prod options.
LOGS_OFF = {"L1": "option", "L2": "option"}
EXPECTED_DEFAULT = {
    "aws": {"R1": "option", "C1": "warn", "C3": "option", "T1": "warn", "B6": "n/a", "N3": "n/a", "B7": "n/a",
            "C7": "n/a", **LOGS_OFF, "L3": "option", "T5": "warn"},
    "gcp": {"R1": "option", "C1": "warn", "C3": "option", "T1": "warn", "B6": "n/a", "B7": "n/a", "N5": "n/a",
            "I3": "n/a", **LOGS_OFF, "L3": "n/a", "T5": "warn"},
    "azure": {"B2": "n/a", "R1": "n/a", "R2": "option", "R4": "option", "C1": "warn", "C2": "option", "C3": "option",
              "N2": "n/a", "T1": "warn", "B7": "option", "C7": "n/a", "N5": "n/a", "I3": "n/a", **LOGS_OFF,
              "L3": "n/a", "T5": "warn"},
}
# The prod profile turns the log and firewall options on: they pass (B7 warns: Azure's Key Vault stays open).
EXPECTED_PROD_CHANGES = {
    "aws": {"C3": "pass", "L1": "pass", "L2": "pass", "L3": "pass"},
    "gcp": {"C3": "pass", "L1": "pass", "L2": "pass"},
    "azure": {"C2": "pass", "C3": "pass", "L1": "pass", "L2": "pass", "B7": "warn"},
}


@pytest.mark.parametrize("provider", sorted(SPECS))
def test_default_stack_passes_every_rule(provider):
    results = {r.rule.id: r.verdict.status for r in evaluate(plan_for(provider))}
    assert set(results) == {rule.id for rule in RULES} and len(RULES) == 37
    expected = {rule.id: EXPECTED_DEFAULT[provider].get(rule.id, "pass") for rule in RULES}
    assert results == expected


@pytest.mark.parametrize("provider", sorted(SPECS))
def test_prod_turns_the_log_and_firewall_options_on(provider):
    results = {r.rule.id: r.verdict.status for r in evaluate(plan_for(provider, profile="prod"))}
    expected = {rule.id: EXPECTED_DEFAULT[provider].get(rule.id, "pass") for rule in RULES}
    assert results == {**expected, **EXPECTED_PROD_CHANGES[provider]}


@pytest.mark.parametrize("provider", sorted(SPECS))
def test_allow_cidr_turns_the_endpoint_warnings_into_passes(provider):
    plan = plan_for(provider, allow_cidrs=["203.0.113.0/24"])
    assert verdict(plan, "C1").status == "pass" and verdict(plan, "T1").status == "pass"


# --------------------------------------------------------------------------
# Each rule fails on a deliberately bad resource

Change = Callable[[PlannedResource, Plan], None]  # breaks one resource of the (copied) plan


def broken(plan: Plan, type_: str, change: Change, name: str | None = None, spec: dict | None = None) -> Plan:
    """A copy of `plan` with `change` applied to each `type_` resource (named `name`), and `spec` changed."""
    bad = copy.deepcopy(plan)
    if spec:
        bad.spec = bad.spec.with_changes(**spec)
    targets = [r for r in bad.resources if r.type == type_ and (name is None or r.name == name)]
    assert targets, f"no {type_} {name or ''} to break"
    for r in targets:
        change(r, bad)
    return bad


def added(plan: Plan, type_: str, inputs: dict, depends_on: str | None = None) -> Plan:
    bad = copy.deepcopy(plan)
    deps = [r.urn for r in bad.resources if r.type == depends_on] if depends_on else []
    bad.resources.append(PlannedResource(urn=f"urn:bad::{type_}::intruder", type=type_, name="intruder", parent=None,
                                         provider=None, dependencies=deps, inputs=inputs, custom=True))
    return bad


def setter(*path, value) -> Change:
    """Set the input at `path` (keys, or list indexes) to `value`."""
    def change(r: PlannedResource, plan: Plan) -> None:
        target = r.inputs
        for key in path[:-1]:
            target = target[key] if isinstance(key, int) else target.setdefault(key, {})
        target[path[-1]] = value
    return change


def attribute(name: str, value) -> Change:
    """Set a resource option (protect, retain_on_delete) rather than an input."""
    def change(r: PlannedResource, plan: Plan) -> None:
        setattr(r, name, value)
    return change


def unchanged(r: PlannedResource, plan: Plan) -> None:
    """The resource stays as it is: the break is the spec change (--kms, --immutable-tags) it ignores."""


def removed(r: PlannedResource, plan: Plan) -> None:
    plan.resources.remove(r)


def forget_secrecy(r: PlannedResource, plan: Plan) -> None:
    r.secret_inputs.clear()


def leak_tracker_password(r: PlannedResource, plan: Plan) -> None:
    r.inputs.setdefault("data", {})["leak"] = plan.raw_outputs["tracker"]["password"]


@dataclass(frozen=True)
class Intruder:
    """A resource of the break's type added to the plan (what the rule must catch), not a change to one."""

    inputs: dict
    depends_on: str | None = None


class Break(NamedTuple):
    """How to make `rule` fail on `provider`'s default plan."""

    rule: str
    provider: str
    type_: str
    change: Change | Intruder
    name: str | None = None
    spec: dict | None = None

    def apply(self, plan: Plan) -> Plan:
        if isinstance(self.change, Intruder):
            return added(plan, self.type_, self.change.inputs, self.change.depends_on)
        return broken(plan, self.type_, self.change, self.name, self.spec)


BREAKS: list[Break] = [
    Break("B1", "aws", aws.S3_PUBLIC_ACCESS_BLOCK, setter("blockPublicAcls", value=False)),
    Break("B1", "gcp", gcp.GCS_BUCKET, setter("publicAccessPrevention", value="inherited")),
    Break("B1", "azure", azure.STORAGE_ACCOUNT, setter("allowBlobPublicAccess", value=True)),
    Break("B2", "aws", aws.S3_OWNERSHIP_CONTROLS, setter("rule", "objectOwnership", value="ObjectWriter")),
    Break("B2", "gcp", gcp.GCS_BUCKET, setter("uniformBucketLevelAccess", value=False)),
    Break("B3", "aws", aws.S3_ENCRYPTION, removed),
    Break("B3", "gcp", gcp.GCS_BUCKET, unchanged, spec={"kms": True}),
    Break("B3", "azure", azure.STORAGE_ACCOUNT, unchanged, spec={"kms": True}),
    Break("B4", "aws", aws.S3_BUCKET_POLICY, removed),
    Break("B4", "azure", azure.STORAGE_ACCOUNT, setter("minimumTlsVersion", value="TLS1_0")),
    Break("B5", "aws", aws.S3_VERSIONING, setter("versioningConfiguration", "status", value="Suspended")),
    Break("B5", "gcp", gcp.GCS_BUCKET, setter("versioning", "enabled", value=False)),
    Break("B5", "azure", azure.BLOB_SERVICE_PROPERTIES, setter("isVersioningEnabled", value=False)),
    Break("B6", "azure", azure.STORAGE_ACCOUNT, setter("allowSharedKeyAccess", value=True)),
    Break("R1", "aws", aws.ECR_REPOSITORY, unchanged, spec={"immutable_tags": True}),
    Break("R1", "gcp", gcp.ARTIFACT_REGISTRY, unchanged, spec={"immutable_tags": True}),
    Break("R2", "aws", aws.ECR_REPOSITORY, setter("imageScanningConfiguration", "scanOnPush", value=False)),
    Break("R2", "gcp", gcp.PROJECT_SERVICE, setter("service", value="other.googleapis.com")),
    Break("R3", "aws", aws.ECR_REPOSITORY_POLICY, Intruder({"policy": json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}]})})),
    Break("R3", "gcp", gcp.ARTIFACT_REGISTRY_IAM_MEMBER, Intruder({"member": "allUsers", "role": "roles/artifactregistry.reader"})),
    Break("R3", "azure", azure.CONTAINER_REGISTRY, setter("adminUserEnabled", value=True)),
    Break("R4", "aws", aws.ECR_LIFECYCLE_POLICY, removed),
    Break("R4", "gcp", gcp.ARTIFACT_REGISTRY, setter("cleanupPolicies", value=[])),
    Break("C1", "aws", aws.EKS_CLUSTER, setter("vpcConfig", "publicAccessCidrs", value=["0.0.0.0/0"]), spec={"allow_cidrs": ("203.0.113.0/24",)}),
    Break("C1", "gcp", gcp.GKE_CLUSTER, setter("masterAuthorizedNetworksConfig", value={}), spec={"allow_cidrs": ("203.0.113.0/24",)}),
    Break("C1", "azure", azure.AKS_CLUSTER, setter("apiServerAccessProfile", value={}), spec={"private_endpoint": True}),
    Break("C2", "aws", aws.EKS_CLUSTER, setter("enabledClusterLogTypes", value=["api"])),
    Break("C2", "gcp", gcp.GKE_CLUSTER, setter("loggingConfig", "enableComponents", value=[])),
    Break("C3", "aws", aws.EKS_CLUSTER, setter("encryptionConfig", value={}), spec={"kms": True}),
    Break("C3", "gcp", gcp.GKE_CLUSTER, setter("databaseEncryption", value={"state": "DECRYPTED"}), spec={"kms": True}),
    Break("C3", "azure", azure.AKS_CLUSTER, setter("securityProfile", "azureKeyVaultKms", value={"enabled": False}), spec={"kms": True}),
    Break("C4", "aws", aws.EKS_CLUSTER, setter("accessConfig", "authenticationMode", value="CONFIG_MAP")),
    Break("C4", "gcp", gcp.GKE_CLUSTER, setter("enableLegacyAbac", value=True)),
    Break("C4", "azure", azure.AKS_CLUSTER, setter("disableLocalAccounts", value=False)),
    Break("C5", "aws", aws.EKS_ADDON, removed),
    Break("C5", "gcp", gcp.GKE_NODE_POOL, setter("nodeConfig", "workloadMetadataConfig", "mode", value="GCE_METADATA")),
    Break("C5", "azure", azure.AKS_CLUSTER, setter("securityProfile", "workloadIdentity", "enabled", value=False)),
    Break("C6", "aws", aws.EKS_CLUSTER, setter("upgradePolicy", "supportType", value="EXTENDED")),
    Break("C6", "gcp", gcp.GKE_CLUSTER, setter("releaseChannel", value={})),
    Break("C6", "azure", azure.AKS_CLUSTER, setter("autoUpgradeProfile", "upgradeChannel", value="none")),
    Break("N1", "aws", aws.EC2_LAUNCH_TEMPLATE, setter("metadataOptions", "httpTokens", value="optional")),
    Break("N1", "gcp", gcp.GKE_CLUSTER, setter("privateClusterConfig", "enablePrivateNodes", value=False)),
    Break("N1", "azure", azure.AKS_CLUSTER, setter("agentPoolProfiles", 0, "enableNodePublicIP", value=True)),
    Break("N2", "aws", aws.IAM_ROLE_POLICY_ATTACHMENT, Intruder({"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}, depends_on=aws.IAM_ROLE)),
    Break("N2", "gcp", gcp.GKE_NODE_POOL, setter("nodeConfig", "serviceAccount", value="123-compute@developer.gserviceaccount.com")),
    Break("N3", "gcp", gcp.GKE_NODE_POOL, setter("management", "autoRepair", value=False)),
    Break("N3", "azure", azure.AKS_CLUSTER, setter("autoUpgradeProfile", "nodeOSUpgradeChannel", value="None")),
    Break("I1", "aws", aws.IAM_ROLE_POLICY, Intruder({"policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})})),
    Break("I1", "gcp", gcp.PROJECT_IAM_MEMBER, Intruder({"role": "roles/editor", "member": "serviceAccount:x"})),
    Break("I1", "azure", azure.ROLE_ASSIGNMENT, Intruder({"roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
                                     "scope": "/subscriptions/0000"})),
    Break("I2", "aws", aws.IAM_ACCESS_KEY, Intruder({"user": "ci"})),
    Break("I2", "gcp", gcp.SERVICE_ACCOUNT_KEY, Intruder({"serviceAccountId": "x"})),
    Break("I2", "azure", azure.CONTAINER_REGISTRY_TOKEN, Intruder({"tokenName": "push"})),
    Break("T1", "aws", k8s_facts.DEPLOYMENT, setter("spec", "template", "spec", "containers", 0, "args", value=["server"]), name="tracker-server"),
    Break("T2", "gcp", k8s_facts.DEPLOYMENT, setter("spec", "template", "spec", "containers", 0, "image", value="docker.io/burakince/mlflow:latest"), name="tracker-server"),
    Break("T2", "azure", k8s_facts.DEPLOYMENT, setter("spec", "template", "spec", "containers", 0, "securityContext", "allowPrivilegeEscalation", value=True), name="tracker-db"),
    Break("S1", "aws", k8s_facts.SECRET, forget_secrecy, name="tracker-server"),
    Break("S1", "gcp", k8s_facts.CONFIG_MAP, leak_tracker_password),
    Break("D1", "aws", aws.S3_BUCKET, attribute("retain_on_delete", False)),
    Break("D1", "gcp", gcp.GKE_CLUSTER, setter("deletionProtection", value=True)),
    # Unprotected data is deleted by `recipe destroy`; a protected cluster could never be destroyed.
    Break("D1", "azure", azure.CONTAINER_REGISTRY, attribute("protect", False)),
    Break("D1", "aws", aws.EKS_CLUSTER, attribute("protect", True)),
    Break("N4", "aws", aws.EKS_ADDON, setter("configurationValues", value='{"enableNetworkPolicy": "false"}'), name="cluster-vpc-cni"),
    Break("N4", "gcp", gcp.GKE_CLUSTER, setter("datapathProvider", value="LEGACY_DATAPATH")),
    Break("N4", "azure", azure.AKS_CLUSTER, setter("networkProfile", "networkPolicy", value=None)),
    Break("N5", "aws", aws.EC2_DEFAULT_SECURITY_GROUP, setter("ingress", value=[{"protocol": "-1", "fromPort": 0, "toPort": 0, "self": True}])),
    Break("N6", "aws", k8s_facts.NETWORK_POLICY, removed, name="segmentation-mlflow-default-deny"),
    Break("I3", "aws", aws.IAM_ROLE_POLICY, Intruder({"policy": json.dumps({"Statement": [
        {"Effect": "Allow", "Action": "kms:CreateGrant", "Resource": "arn:aws:kms:eu-west-1:123456789012:key/x"}]})})),
    Break("C7", "gcp", gcp.GKE_CLUSTER, setter("binaryAuthorization", value={"evaluationMode": "DISABLED"})),
    Break("L1", "aws", aws.EKS_CLUSTER, unchanged, spec={"audit_logs": True}),
    Break("L1", "gcp", gcp.GKE_CLUSTER, unchanged, spec={"audit_logs": True}),
    Break("L1", "azure", azure.AKS_CLUSTER, unchanged, spec={"audit_logs": True}),
    Break("L2", "aws", aws.S3_BUCKET, unchanged, spec={"audit_logs": True}),
    Break("L2", "gcp", gcp.GCS_BUCKET, unchanged, spec={"audit_logs": True}),
    Break("L2", "azure", azure.STORAGE_ACCOUNT, unchanged, spec={"audit_logs": True}),
    Break("L3", "aws", aws.EKS_CLUSTER, unchanged, spec={"audit_logs": True}),
    Break("B7", "azure", azure.STORAGE_ACCOUNT, unchanged, spec={"network_rules": True}),
    Break("T3", "aws", k8s_facts.ISTIO_GATEWAY, setter("spec", "servers", 0, "tls", value={}), name="tracker-gateway"),
    Break("T4", "gcp", k8s_facts.NAMESPACE, setter("metadata", "labels", value={}), name="pipelines-ns"),
    Break("T5", "azure", k8s_facts.DEPLOYMENT, setter("spec", "template", "spec", "containers", 0, "image",
                                                       value="docker.io/library/postgres:16.10"), name="tracker-db"),
]


def test_every_rule_has_a_failing_case():
    assert {b.rule for b in BREAKS} == {rule.id for rule in RULES}


@pytest.mark.parametrize("break_", BREAKS, ids=[f"{b.rule}-{b.provider}" for b in BREAKS])
def test_rule_fails_on_a_broken_resource(break_):
    rule_id, provider = break_.rule, break_.provider
    good = plan_for(provider)
    assert verdict(good, rule_id).status != "fail"
    bad = verdict(break_.apply(good), rule_id)
    assert bad.status == "fail", bad
    assert bad.detail


KEY_TYPES = {"aws": aws.KMS_KEY, "gcp": gcp.KMS_CRYPTO_KEY, "azure": azure.KEY_VAULT}


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
    bad = broken(plan, KEY_TYPES[provider], attribute("retain_on_delete", False))
    assert verdict(bad, "D1").status == "fail"


@pytest.mark.parametrize("provider", sorted(SPECS))
def test_private_endpoint_passes_c1(provider):
    assert verdict(plan_for(provider, private_endpoint=True), "C1").detail == "private endpoint"


# --------------------------------------------------------------------------
# The `kubernetes` provider: a cluster the user has, where we create only in-cluster objects

OWN_CLUSTER = {"provider": "kubernetes", "context": "k3d-ml"}  # `recipe check kubernetes --context k3d-ml`
# The rules about what we deploy on the cluster, with the same predicates as on the clouds; the bucket rules judge
# the in-cluster store (D1: its volume; B1, B4, B5: provisioner/analysis/baseline/kubernetes.py); every other
# rule is about cloud resources, which such a stack has none of: n/a.
IN_CLUSTER_RULES = {"N6": "pass", "T1": "warn", "T2": "pass", "T3": "pass", "T4": "pass", "T5": "warn", "S1": "pass",
                    "D1": "pass", "B1": "pass", "B4": "warn", "B5": "warn"}
STORE_RULES = {"D1", "B1", "B4", "B5"}  # the in-cluster store's own predicates


def own_cluster_plan(**extra) -> Plan:
    return run_plan(load_spec(Layer("flags", {**OWN_CLUSTER, **extra})))


def test_a_users_cluster_is_judged_by_the_in_cluster_rules_with_the_clouds_predicates():
    results = {r.rule.id: r.verdict.status for r in evaluate(own_cluster_plan())}
    assert {rule_id: status for rule_id, status in results.items() if status != "n/a"} == IN_CLUSTER_RULES
    for rule_id in sorted(set(IN_CLUSTER_RULES) - STORE_RULES):
        assert RULES_BY_ID[rule_id].checks["kubernetes"] is RULES_BY_ID[rule_id].checks["aws"], rule_id


# The objects only this provider has (the in-cluster object store), each broken: the rule names it.
CONTAINER = ("spec", "template", "spec", "containers", 0)
OWN_CLUSTER_BREAKS = [
    ("N6", k8s_facts.NETWORK_POLICY, removed, "segmentation-objectstore-default-deny", "objectstore"),
    ("T4", k8s_facts.NAMESPACE, setter("metadata", "labels", value={}), "objectstore-ns", "objectstore"),
    # Only our own workloads run there: `baseline` is not enough.
    ("T4", k8s_facts.NAMESPACE, setter("metadata", "labels", "pod-security.kubernetes.io/enforce", value="baseline"),
     "objectstore-ns", "objectstore"),
    ("T2", k8s_facts.DEPLOYMENT, setter(*CONTAINER, "readinessProbe", value=None), "objectstore", "objectstore"),
    # A Job's containers are judged too (without probes): the store's bucket Job.
    ("T2", k8s_facts.JOB, setter(*CONTAINER, "securityContext", "allowPrivilegeEscalation", value=True),
     "objectstore-bucket", "objectstore-bucket"),
    ("T5", k8s_facts.JOB, setter(*CONTAINER, "image", value="docker.io/chrislusf/seaweedfs:4.47"), "objectstore-bucket",
     "docker.io/chrislusf/seaweedfs:4.47"),
    ("S1", k8s_facts.SECRET, forget_secrecy, "objectstore-credentials", "objectstore-credentials"),
    ("D1", k8s_facts.PERSISTENT_VOLUME_CLAIM, attribute("retain_on_delete", False), "objectstore", "objectstore"),
    # A store given an address outside the cluster.
    ("B1", k8s_facts.SERVICE, setter("spec", "type", value="LoadBalancer"), "objectstore-svc", "objectstore-svc"),
    ("T3", k8s_facts.ISTIO_GATEWAY, setter("spec", "servers", 0, "tls", value={}), "tracker-gateway", "tracker-gateway"),
]


@pytest.mark.parametrize("rule_id, type_, change, name, named", OWN_CLUSTER_BREAKS,
                         ids=[f"{b[0]}-{b[3]}-{n}" for n, b in enumerate(OWN_CLUSTER_BREAKS)])
def test_the_in_cluster_rules_catch_a_broken_object_of_a_users_cluster(rule_id, type_, change, name, named):
    good = own_cluster_plan()
    assert verdict(good, rule_id).status in ("pass", "warn")
    bad = verdict(broken(good, type_, change, name), rule_id)
    assert bad.status == "fail" and named in bad.resources, bad


def test_a_users_bucket_is_theirs_and_judged_by_its_endpoint():
    users = dict(bucket="s3://ml-artifacts", bucket_secret="ml-keys")
    over_https = {r.rule.id: r.verdict for r in evaluate(own_cluster_plan(**users, bucket_endpoint="https://minio.corp.example"))}
    assert over_https["B4"].status == "pass" and "https://minio.corp.example" in over_https["B4"].detail
    for rule_id in ("B1", "B5", "D1"):
        assert over_https[rule_id].status == "n/a" and "--bucket" in over_https[rule_id].detail, rule_id
    on_aws = {r.rule.id: r.verdict for r in evaluate(own_cluster_plan(**users))}
    assert on_aws["B4"].status == "pass" and "AWS S3" in on_aws["B4"].detail
    local = {r.rule.id: r.verdict for r in evaluate(own_cluster_plan(**users, bucket_endpoint="http://127.0.0.1:9000"))}
    assert local["B4"].status == "warn" and "plain HTTP" in local["B4"].detail
