"""Switches, on every cloud: `--without X` removes exactly X's subtree (and what only X needed),
--kms adds exactly the key and its grants, --private-endpoint changes only the control plane.

One test body per behaviour, parametrized over the clouds; what differs between clouds is
the data below (type tokens, resource names), not a copied test.
"""

from __future__ import annotations

import json

import pytest

from recipes import outputs
from recipes.facts import gcp as gcp_facts
from recipes.facts import any_cloud as k8s_facts
from recipes.facts import aws as aws_facts
from recipes.facts import azure as azure_facts

from tests.conftest import CONTROL_PLANE
from tests.recipes.aws import helpers as aws
from tests.recipes.gcp import helpers as gcp
from tests.recipes.plans import (
    ALLOW_CIDRS, PROGRAM_REGION, PROVIDERS, STACK_PROVIDER, STORAGE_ONLY, TRACKER_FRONT_DOOR,
    bound_service_accounts, component, program_spec, removed_and_added, retained, subtree_keys,
)

API = gcp_facts.PROJECT_SERVICE
EVERY_COMPONENT = {"cluster", "bucket", "registry", "tracker", "deployer"}

# The (namespace, service account) pairs a cloud identity is bound to in the default stack.
BOUND = {
    "aws": {("mlflow", "mlflow"), ("zenml", "zenml-service-account"), ("kube-system", "cluster-autoscaler")},
    "gcp": {("mlflow", "mlflow"), ("zenml", "zenml-service-account")},
    "azure": {("mlflow", "mlflow"), ("zenml", "zenml-service-account")},
}
# What one workload's identity (a BucketAccess component) holds.
IDENTITY_TYPES = {
    "aws": {aws_facts.IAM_ROLE, aws_facts.IAM_ROLE_POLICY, aws_facts.EKS_POD_IDENTITY_ASSOCIATION},
    "gcp": {gcp_facts.SERVICE_ACCOUNT, gcp_facts.GCS_BUCKET_IAM_MEMBER, gcp.ACCOUNT_IAM},
    "azure": {azure_facts.USER_ASSIGNED_IDENTITY, azure_facts.FEDERATED_IDENTITY_CREDENTIAL, azure_facts.ROLE_ASSIGNMENT},
}
# What the registry component holds: the registry, and its lifecycle policy or the nodes' pull grant.
REGISTRY_TYPES = {
    "aws": {aws_facts.ECR_REPOSITORY, aws_facts.ECR_LIFECYCLE_POLICY},
    "gcp": {gcp_facts.ARTIFACT_REGISTRY, gcp_facts.ARTIFACT_REGISTRY_IAM_MEMBER},
    "azure": {azure_facts.CONTAINER_REGISTRY, azure_facts.ROLE_ASSIGNMENT},
}
# The project APIs only one component needs, turned off with it (GCP's; the other clouds have none).
APIS_ONLY_FOR = {
    ("gcp", "registry"): {"artifactregistry.googleapis.com", "containerscanning.googleapis.com"},
    ("gcp", "bucket"): {"storage.googleapis.com"},
}
# What a stack of data only holds besides its bucket and registry: the provider, and where they live.
STORAGE_ONLY_EXTRA = {
    "aws": set(),
    "gcp": {("recipes:gcp:Apis", "apis"), (API, "apis-storage"), (API, "apis-artifactregistry"), (API, "apis-containerscanning")},
    "azure": {(azure_facts.RESOURCE_GROUP, "data-group")},
}
BUCKET_ONLY_EXTRA = {
    "aws": set(),
    "gcp": {("recipes:gcp:Apis", "apis"), (API, "apis-storage")},
    "azure": {(azure_facts.RESOURCE_GROUP, "data-group")},
}
# Types of the cluster and its network, none of which a stack of data only has.
CLUSTER_PREFIXES = {
    "aws": ("aws:eks", "aws:ec2"),
    "gcp": ("gcp:container", "gcp:compute", "gcp:serviceaccount", "gcp:projects/iAMMember"),
    "azure": (azure_facts.AKS_CLUSTER, azure_facts.VIRTUAL_NETWORK, azure_facts.USER_ASSIGNED_IDENTITY),
}
# The nodes (AKS's system pool is part of the cluster).
NODES = {"aws": aws_facts.EKS_NODE_GROUP, "gcp": gcp_facts.GKE_NODE_POOL, "azure": azure_facts.AKS_CLUSTER}
# The identities a stack without a bucket keeps: the cluster's own.
CLUSTER_IDENTITIES = {
    "aws": (aws_facts.IAM_ROLE, ["cluster-autoscaler-role", "cluster-control-plane", "cluster-ebs-csi", "cluster-nodes"]),
    "gcp": (gcp_facts.SERVICE_ACCOUNT, ["cluster-nodes"]),
    "azure": (azure_facts.USER_ASSIGNED_IDENTITY, ["cluster-identity"]),
}


@pytest.fixture(params=PROVIDERS)
def provider(request) -> str:
    return request.param


@pytest.fixture
def stack(plans, provider):
    """Plans of this cloud's variants: `stack(**flags)`."""

    def plan_of_flags(**flags):
        return plans(program_spec(provider, **flags))

    return plan_of_flags


def apis_in(plan, keys) -> set[str]:
    """The project APIs among `keys` (GCP's Service resources), by their service name."""
    return {plan.one(type_, name).inputs["service"] for type_, name in keys if type_ == API}


# ---------------------------------------------------------------------------
# --without


def test_without_deployer_removes_exactly_the_deployer(stack):
    default, plan = stack(), stack(without=["deployer"])
    removed, added = removed_and_added(default, plan)
    assert added == set()
    expected = subtree_keys(default, "recipes:kubernetes:ModelDeployer", "deployer")
    # The front door stays: the tracker is served through it.
    assert ("recipes:kubernetes:IstioIngress", "ingress") not in expected and TRACKER_FRONT_DOOR <= plan.keys()
    assert removed == expected
    assert set(plan.raw_outputs) == set(default.raw_outputs) - {"deployer"}


def test_without_tracker_removes_mlflow_its_database_and_identity(stack, provider):
    default, plan = stack(), stack(without=["tracker"])
    removed, added = removed_and_added(default, plan)
    assert added == set()
    tracker = subtree_keys(default, "recipes:kubernetes:MlflowServer", "tracker")
    assert ("recipes:kubernetes:Postgres", "tracker-db") in tracker
    identity = subtree_keys(default, component(provider, "BucketAccess"), "mlflow-identity")
    assert {t for t, _ in identity} == IDENTITY_TYPES[provider] | {component(provider, "BucketAccess")}
    assert removed == tracker | identity
    assert "tracker" not in plan.raw_outputs
    plan.one(component(provider, "Bucket"), "bucket")
    plan.one(CONTROL_PLANE[provider])
    plan.one(component(provider, "BucketAccess"), "pipelines-identity")
    assert bound_service_accounts(default) == BOUND[provider]
    assert bound_service_accounts(plan) == BOUND[provider] - {("mlflow", "mlflow")}


def test_without_registry_removes_the_registry_and_what_only_it_needs(stack, provider):
    default, plan = stack(), stack(without=["registry"])
    removed, added = removed_and_added(default, plan)
    assert added == set()
    registry = subtree_keys(default, component(provider, "Registry"), "registry")
    assert {t for t, _ in registry} == REGISTRY_TYPES[provider] | {component(provider, "Registry")}
    assert removed == registry | {key for key in removed if key[0] == API}
    assert apis_in(default, removed) == APIS_ONLY_FOR.get((provider, "registry"), set())
    assert "registry" not in plan.raw_outputs
    plan.one(component(provider, "Bucket"), "bucket")
    # What a destroy keeps is the bucket's part of the data (on Azure, in the same data group).
    assert retained(plan) == retained(default) - removed


def test_storage_only_stack(stack, provider):
    plan = stack(**STORAGE_ONLY)
    data = subtree_keys(plan, component(provider, "Bucket"), "bucket") | subtree_keys(plan, component(provider, "Registry"), "registry")
    assert plan.keys() - data == {STACK_PROVIDER[provider]} | STORAGE_ONLY_EXTRA[provider]
    assert not plan.of_prefix("kubernetes:") and not plan.of_prefix("pulumi:providers:kubernetes")
    for prefix in CLUSTER_PREFIXES[provider]:
        assert not plan.of_prefix(prefix), prefix
    assert set(outputs.components(plan.raw_outputs)) == {"bucket", "registry"}


def test_bucket_only_stack(stack, provider):
    plan = stack(components=["bucket"])
    bucket = subtree_keys(plan, component(provider, "Bucket"), "bucket")
    assert plan.keys() == bucket | {STACK_PROVIDER[provider]} | BUCKET_ONLY_EXTRA[provider]


def test_without_bucket_keeps_the_cluster_but_no_workload_identities(stack, provider):
    default, plan = stack(), stack(without=["bucket", "tracker"])
    removed, added = removed_and_added(default, plan)
    assert added == set()
    expected = (
        subtree_keys(default, component(provider, "Bucket"), "bucket")
        | subtree_keys(default, component(provider, "BucketAccess"), "mlflow-identity")
        | subtree_keys(default, component(provider, "BucketAccess"), "pipelines-identity")
        | subtree_keys(default, "recipes:kubernetes:MlflowServer", "tracker")
    )
    assert removed == expected | {key for key in removed if key[0] == API}
    assert apis_in(default, removed) == APIS_ONLY_FOR.get((provider, "bucket"), set())
    # Only the cluster's own identities are left: nothing reaches a bucket.
    assert bound_service_accounts(plan) == BOUND[provider] - {("mlflow", "mlflow"), ("zenml", "zenml-service-account")}
    type_, names = CLUSTER_IDENTITIES[provider]
    assert sorted(r.name for r in plan.by_type(type_)) == names
    assert not plan.one("kubernetes:core/v1:ServiceAccount", "pipelines-sa").inputs["metadata"].get("annotations")
    plan.one(CONTROL_PLANE[provider])
    plan.one(NODES[provider])
    plan.one("recipes:kubernetes:PipelinesNamespace", "pipelines")
    # What a destroy keeps is the registry's part of the data.
    assert retained(plan) == retained(default) - removed
    assert set(outputs.components(plan.raw_outputs)) == {"cluster", "registry", "deployer"}


VARIANTS = [
    ({}, EVERY_COMPONENT),
    ({"without": ["deployer"]}, EVERY_COMPONENT - {"deployer"}),
    ({"without": ["tracker"]}, EVERY_COMPONENT - {"tracker"}),
    ({"without": ["registry"]}, EVERY_COMPONENT - {"registry"}),
    (STORAGE_ONLY, {"bucket", "registry"}),
    ({"without": ["bucket", "tracker"]}, {"cluster", "registry", "deployer"}),
    ({"components": ["bucket"]}, {"bucket"}),
]
OWN_VARIANTS = {
    "aws": [({"deployer": "kserve", "network": "public"}, EVERY_COMPONENT)],
    "gcp": [({"deployer": "kserve", "network": "public"}, EVERY_COMPONENT), ({"regional": True}, EVERY_COMPONENT)],
    "azure": [({"deployer": "kserve", "allow_cidrs": ALLOW_CIDRS}, EVERY_COMPONENT), ({"components": ["registry"]}, {"registry"})],
}
BUCKET_SCHEME = {"aws": "s3", "gcp": "gs", "azure": "az"}


def bucket_account(spec) -> str | None:
    """The storage account a bucket output names: Azure's containers live in one."""
    return spec.names.storage_account() if spec.provider == "azure" else None


@pytest.mark.parametrize(
    "provider,variant,present",
    [(p, variant, present) for p in PROVIDERS for variant, present in VARIANTS + OWN_VARIANTS[p]],
    ids=[f"{p}-{json.dumps(variant)}" for p in PROVIDERS for variant, _ in VARIANTS + OWN_VARIANTS[p]],
)
def test_canonical_outputs_complete_for_every_variant(plans, provider, variant, present):
    plan = plans(program_spec(provider, **variant))
    clean = outputs.validate(plan.raw_outputs)
    assert set(outputs.components(clean)) == present
    assert (clean["provider"], clean["region"], clean["stack_name"]) == (provider, PROGRAM_REGION[provider], "ml-dev")
    if "bucket" in present:
        assert clean["bucket"]["uri"] == f"{BUCKET_SCHEME[provider]}://{clean['bucket']['name']}"
        assert clean["bucket"].get("account") == bucket_account(plan.spec)
    if "cluster" in present:
        assert clean["cluster"]["endpoint"].startswith("https://")
    expected_secrets = {p for p in ("cluster.kubeconfig", "tracker.password") if p.split(".")[0] in present}
    assert set(plan.secret_outputs) == expected_secrets
    for path in expected_secrets:
        component_, field = path.split(".")
        assert plan.outputs[component_][field] == outputs.MASK


# ---------------------------------------------------------------------------
# --kms and --private-endpoint

PROPAGATION, SLEEP = "recipes:cloud:Propagation", k8s_facts.TIME_SLEEP
GCP_GRANTS = ("encryption-bucket-agent", "encryption-cluster-agent", "encryption-registry-agent")
AZURE_ROLES = ("cluster-kms-crypto-user", "kms-deployer-crypto-officer", "kms-encryption-user")
KMS_ADDS = {
    "aws": {(aws.ENCRYPTION, "encryption"), (aws_facts.KMS_KEY, "encryption"), (aws_facts.KMS_ALIAS, "encryption-alias"),
            (aws_facts.IAM_ROLE_POLICY, "cluster-control-plane-kms")},
    "gcp": {(gcp.ENCRYPTION, "encryption"), (gcp_facts.KMS_KEY_RING, "encryption-ring"), (gcp_facts.KMS_CRYPTO_KEY, "encryption-key"),
            (k8s_facts.RANDOM_STRING, "encryption-ring-suffix"), (API, "apis-cloudkms"),
            (gcp_facts.PROJECT_SERVICE_IDENTITY, "encryption-registry-identity"),
            *((gcp_facts.KMS_CRYPTO_KEY_IAM_MEMBER, grant) for grant in GCP_GRANTS), *((PROPAGATION, grant) for grant in GCP_GRANTS),
            *((SLEEP, f"{grant}-wait") for grant in GCP_GRANTS)},
    "azure": {("recipes:azure:Kms", "kms"), (azure_facts.KEY_VAULT, "kms-vault"), (azure_facts.KEY_VAULT_KEY, "kms-key"),
              (azure_facts.USER_ASSIGNED_IDENTITY, "kms-identity"),
              # and the waits for the roles to take effect (tests/recipes/test_propagation.py)
              *((azure_facts.ROLE_ASSIGNMENT, role) for role in AZURE_ROLES), *((PROPAGATION, role) for role in AZURE_ROLES),
              *((SLEEP, f"{role}-wait") for role in AZURE_ROLES)},
}
# The control plane's inputs --private-endpoint changes, and the outputs that change with them.
PRIVATE_ENDPOINT_CHANGES = {
    "aws": ({"vpcConfig"}, set()),
    "gcp": ({"privateClusterConfig", "masterAuthorizedNetworksConfig", "controlPlaneEndpointsConfig"}, {"cluster"}),
    "azure": ({"apiServerAccessProfile"}, set()),
}


def test_kms_adds_exactly_the_key_and_its_grants(stack, provider):
    default, plan = stack(), stack(kms=True)
    removed, added = removed_and_added(default, plan)
    assert removed == set()
    assert added == KMS_ADDS[provider]
    # The outputs (and so the ZenML stack) do not change.
    assert plan.raw_outputs == default.raw_outputs
    outputs.validate(plan.raw_outputs)


def test_private_endpoint_changes_only_the_control_plane(stack, provider):
    default, plan = stack(), stack(private_endpoint=True)
    assert plan.keys() == default.keys()
    changed = {(r.type, r.name) for r in plan.resources if r.inputs != default.one(r.type, r.name).inputs}
    (control_plane,) = default.by_type(CONTROL_PLANE[provider])
    assert changed == {(control_plane.type, control_plane.name)}
    before, after = control_plane.inputs, plan.one(CONTROL_PLANE[provider]).inputs
    fields, changed_outputs = PRIVATE_ENDPOINT_CHANGES[provider]
    assert {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)} == fields
    assert {k for k in default.raw_outputs if default.raw_outputs[k] != plan.raw_outputs.get(k)} == changed_outputs
