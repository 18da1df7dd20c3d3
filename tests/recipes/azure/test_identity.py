"""Azure roles and workload identities as planned (I1, I2), and the pods that use them."""

from __future__ import annotations

import uuid

import pytest

from provisioner.analysis.mockcloud import FAKE_AZURE_SUBSCRIPTION as SUB
from provisioner.analysis.mockcloud import FAKE_AZURE_TENANT as TENANT
from recipes.azure import roles
from recipes.kubernetes import namespaces
from recipes.facts import azure as facts
from recipes.facts import any_cloud as k8s_facts

from tests.recipes.azure.helpers import azure, cluster_side, mock_outputs, role_assignments, role_definition, storage_id
from tests.recipes.plans import SERVICE_ACCOUNT, container


# Built-in roles that would give far more than a stack needs.
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
USER_ACCESS_ADMIN = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"


def test_role_assignment_names_are_deterministic_guids(plan, plans, spec):
    assigned = plan.by_type(facts.ROLE_ASSIGNMENT)
    assert len(assigned) == 6
    names = [r.inputs["roleAssignmentName"] for r in assigned]
    assert len(set(names)) == len(names)
    for r in assigned:
        name = r.inputs["roleAssignmentName"]
        assert str(uuid.UUID(name)) == name
        # Named after what Azure keys an assignment on (role, scope, principal): a new principal
        # is a new assignment, never the creator's moved to someone else.
        role = r.inputs["roleDefinitionId"].rsplit("/", 1)[-1]
        assert name == roles.assignment_name(SUB, spec.name, spec.names.suffix, role, r.inputs["scope"], r.inputs["principalId"])
        assert r.delete_before_replace  # Azure refuses a second name for the same role, scope and principal
    # Another stack instance has another suffix, so other names: same-named stacks never collide.
    other = azure(plans, suffix="a1b2c3")
    assert not set(names) & {r.inputs["roleAssignmentName"] for r in other.by_type(facts.ROLE_ASSIGNMENT)}


def test_no_owner_contributor_or_wide_scope_anywhere(plans):
    allowed = {roles.ACR_PULL, roles.STORAGE_BLOB_DATA_CONTRIBUTOR, roles.AKS_RBAC_CLUSTER_ADMIN, roles.NETWORK_CONTRIBUTOR}
    for variant in ({}, {"without": ["cluster", "tracker", "deployer"]}):
        plan = azure(plans, **variant)
        for r in plan.by_type(facts.ROLE_ASSIGNMENT):
            definition = r.inputs["roleDefinitionId"]
            assert definition.startswith(f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/")
            role = definition.rsplit("/", 1)[-1]
            assert role in allowed and role not in (OWNER, CONTRIBUTOR, USER_ACCESS_ADMIN), r.name
            # One resource, never a subscription or a whole resource group.
            assert "/providers/" in r.inputs["scope"], r.name
            assert r.inputs["scope"].startswith(f"/subscriptions/{SUB}/resourceGroups/"), r.name


KEY_TYPES = {
    "azure-native:containerregistry:Token",
    "azure-native:containerregistry:ScopeMap",
    "azure-native:storage:LocalUser",
    "azure-native:storage:EncryptionScope",
}


def test_no_long_lived_keys(plans):
    # Listing storage or registry keys would be a data-source call the mock does not answer,
    # so the plan itself fails on it; here: no key-bearing resource, keys and admin user off.
    for variant in ({}, {"without": ["cluster", "tracker", "deployer"]}):
        plan = azure(plans, **variant)
        assert not plan.types() & KEY_TYPES
        assert plan.one(facts.STORAGE_ACCOUNT).inputs["allowSharedKeyAccess"] is False
        assert plan.one(facts.CONTAINER_REGISTRY).inputs["adminUserEnabled"] is False
        assert plan.one(facts.CONTAINER_REGISTRY).inputs["anonymousPullEnabled"] is False


# ---------------------------------------------------------------------------
# Workload identities


@pytest.mark.parametrize(
    "purpose,namespace,service_account",
    [
        ("mlflow", namespaces.MLFLOW_NAMESPACE, namespaces.MLFLOW_SERVICE_ACCOUNT),
        ("pipelines", namespaces.PIPELINES_NAMESPACE, namespaces.PIPELINES_SERVICE_ACCOUNT),
    ],
)
def test_workload_identity_reaches_only_this_storage_account(plan, spec, purpose, namespace, service_account):
    component = plan.one("recipes:azure:BucketAccess", f"{purpose}-identity")
    children = {r.type: r for r in plan.children(component.urn)}
    assert set(children) == {facts.USER_ASSIGNED_IDENTITY, facts.FEDERATED_IDENTITY_CREDENTIAL, facts.ROLE_ASSIGNMENT}

    identity = children[facts.USER_ASSIGNED_IDENTITY]
    assert identity.inputs["resourceName"] == spec.names.managed_identity(purpose)

    federation = children[facts.FEDERATED_IDENTITY_CREDENTIAL]
    issuer = mock_outputs(plan, plan.one(facts.AKS_CLUSTER))["oidcIssuerProfile"]["issuerURL"]
    assert federation.inputs["issuer"] == issuer
    assert issuer.startswith(f"https://westeurope.oic.prod-aks.azure.com/{TENANT}/")
    assert federation.inputs["subject"] == f"system:serviceaccount:{namespace}:{service_account}"
    assert federation.inputs["audiences"] == ["api://AzureADTokenExchange"]
    assert federation.inputs["resourceName"] == identity.inputs["resourceName"]

    role = children[facts.ROLE_ASSIGNMENT]
    assert role.inputs["roleDefinitionId"] == role_definition(roles.STORAGE_BLOB_DATA_CONTRIBUTOR)
    assert role.inputs["scope"] == storage_id(spec)  # I1: this account, not its group or subscription
    assert role.inputs["principalId"] == mock_outputs(plan, identity)["principalId"]
    assert role.inputs["principalType"] == "ServicePrincipal"


def test_federated_subjects_are_exactly_mlflow_and_pipelines(plan):
    subjects = sorted(f.inputs["subject"] for f in plan.by_type(facts.FEDERATED_IDENTITY_CREDENTIAL))
    assert subjects == ["system:serviceaccount:mlflow:mlflow", "system:serviceaccount:zenml:zenml-service-account"]


def test_blob_data_role_only_on_the_storage_account(plan, spec):
    blob = role_assignments(plan, roles.STORAGE_BLOB_DATA_CONTRIBUTOR)
    assert len(blob) == 3  # mlflow, pipelines, the deployer
    assert {r.inputs["scope"] for r in blob} == {storage_id(spec)}


def test_identities_need_the_cluster_only_for_its_oidc_issuer(plan):
    for purpose in ("mlflow", "pipelines"):
        identity = plan.one(facts.USER_ASSIGNED_IDENTITY, f"{purpose}-identity-identity")
        role = plan.one(facts.ROLE_ASSIGNMENT, f"{purpose}-identity-blob-data")
        federation = plan.one(facts.FEDERATED_IDENTITY_CREDENTIAL, f"{purpose}-identity-federation")
        assert not plan.deps_closure(identity) & cluster_side(plan) - {plan.one(facts.RESOURCE_GROUP, "group").urn}, identity.name
        assert not plan.deps_closure(role) & cluster_side(plan) - {plan.one(facts.RESOURCE_GROUP, "group").urn}, role.name
        assert plan.one(facts.AKS_CLUSTER).urn in federation.dependencies  # the issuer URL is the cluster's


# ---------------------------------------------------------------------------
# The pods that use them


def test_mlflow_pods_use_workload_identity(plan, spec):
    deployment = plan.one(k8s_facts.DEPLOYMENT, "tracker-server")
    template = deployment.inputs["spec"]["template"]
    assert template["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert template["spec"]["serviceAccountName"] == "mlflow"
    account = plan.one(SERVICE_ACCOUNT, "tracker-sa")
    identity = plan.one(facts.USER_ASSIGNED_IDENTITY, "mlflow-identity-identity")
    assert account.inputs["metadata"]["annotations"] == {
        "azure.workload.identity/client-id": mock_outputs(plan, identity)["clientId"]
    }
    server = container(deployment, "mlflow")
    env = {e["name"]: e.get("value") for e in server["env"]}
    assert env["AZURE_STORAGE_ACCOUNT"] == spec.names.storage_account()
    assert env["PYTHONPATH"] == "/opt/recipe/python"
    # No key, secret or connection string: the webhook injects the federated token.
    assert not {"AZURE_CLIENT_SECRET", "AZURE_STORAGE_KEY", "AZURE_STORAGE_ACCESS_KEY", "AZURE_STORAGE_CONNECTION_STRING"} & set(env)
    args = server["args"]
    assert args[args.index("--artifacts-destination") + 1] == (
        f"wasbs://artifacts@{spec.names.storage_account()}.blob.core.windows.net/mlflow"
    )


def test_mlflow_gets_its_azure_credential_from_a_config_map_not_the_internet(plan):
    spec_ = plan.one(k8s_facts.DEPLOYMENT, "tracker-server").inputs["spec"]["template"]["spec"]
    # None installs anything: the history's restore (tests/engine/test_history.py), then `prepare`.
    assert [c["name"] for c in spec_["initContainers"]] == ["fetch-history", "restore-history", "prepare"]
    mounts = {m["name"]: m for m in container(plan.one(k8s_facts.DEPLOYMENT, "tracker-server"), "mlflow")["volumeMounts"]}
    assert mounts["python"]["readOnly"] is True and mounts["python"]["mountPath"] == "/opt/recipe/python"
    python = plan.one("kubernetes:core/v1:ConfigMap", "tracker-python")
    volume = next(v for v in spec_["volumes"] if v["name"] == "python")
    assert volume["configMap"]["name"] == python.inputs["metadata"]["name"]


def test_mlflow_starts_after_its_identity_and_the_cluster(plan):
    deployment = plan.one(k8s_facts.DEPLOYMENT, "tracker-server")
    federation = plan.one(facts.FEDERATED_IDENTITY_CREDENTIAL, "mlflow-identity-federation")
    blob_role = plan.one(facts.ROLE_ASSIGNMENT, "mlflow-identity-blob-data")
    (admin,) = role_assignments(plan, roles.AKS_RBAC_CLUSTER_ADMIN)
    assert {federation.urn, blob_role.urn, plan.one(facts.AKS_CLUSTER).urn, admin.urn} <= set(deployment.dependencies)
    # Not the other service account's binding.
    assert plan.one(facts.FEDERATED_IDENTITY_CREDENTIAL, "pipelines-identity-federation").urn not in deployment.dependencies


def test_pipelines_service_account_is_bound_to_its_identity(plan):
    account = plan.one(SERVICE_ACCOUNT, "pipelines-sa")
    assert account.inputs["metadata"]["name"] == "zenml-service-account"
    assert account.inputs["metadata"]["namespace"] == "zenml"
    identity = plan.one(facts.USER_ASSIGNED_IDENTITY, "pipelines-identity-identity")
    assert account.inputs["metadata"]["annotations"] == {
        "azure.workload.identity/client-id": mock_outputs(plan, identity)["clientId"]
    }
    # The service account exists only once pods using it can get a token and reach the blobs.
    assert plan.one(facts.FEDERATED_IDENTITY_CREDENTIAL, "pipelines-identity-federation").urn in account.dependencies
    assert plan.one(facts.ROLE_ASSIGNMENT, "pipelines-identity-blob-data").urn in account.dependencies
