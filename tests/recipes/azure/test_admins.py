"""--admin on AKS: one role assignment per principal and role, named after the principal; kubelogin as the deploy signs in."""

from __future__ import annotations

import pytest

from provisioner.analysis.mockcloud import azure as azure_mock
from recipes import kubeconfig
from recipes.facts import azure as facts

from tests.conftest import spec_for
from tests.recipes.plans import ALICE, AZURE_ADMINS, BOB, CREATOR, TEAMMATE, fresh_plan, planned_under


SUB = "/subscriptions/00000000-0000-4000-8000-000000000001"
CLUSTER = f"{SUB}/resourceGroups/rg-ml-dev-xxxxxx/providers/Microsoft.ContainerService/managedClusters/aks-ml-dev"
ACCOUNT = f"{SUB}/resourceGroups/rg-ml-dev-data-xxxxxx/providers/Microsoft.Storage/storageAccounts/stmldevxxxxxx"
CONTAINER = ACCOUNT + "/blobServices/default/containers/artifacts"
REGISTRY = f"{SUB}/resourceGroups/rg-ml-dev-data-xxxxxx/providers/Microsoft.ContainerRegistry/registries/crmldevxxxxxx"
DEFINITIONS = f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/"
AKS_RBAC_CLUSTER_ADMIN = DEFINITIONS + "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
STORAGE_BLOB_DATA_CONTRIBUTOR = DEFINITIONS + "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
ACR_PUSH = DEFINITIONS + "8311e382-0749-4cb8-b61a-304f252e45ec"
AKS_SERVER = "6dae42f8-4368-4678-94ff-3960e28e3630"


def assignments(plan, definition: str) -> dict[str, tuple[str, str, str]]:
    """resource name -> (principal, scope, assignment name) of every assignment of one role."""
    return {r.name: (r.inputs["principalId"], r.inputs["scope"], r.inputs["roleAssignmentName"])
            for r in plan.by_type(facts.ROLE_ASSIGNMENT) if r.inputs["roleDefinitionId"] == definition}


def test_aks_admins_get_cluster_admin_blob_data_and_acr_push(plans):
    plan = plans(spec_for("azure", admins=AZURE_ADMINS))
    assert assignments(plan, AKS_RBAC_CLUSTER_ADMIN) == {
        f"cluster-admin-{ALICE}": (ALICE, CLUSTER, "908e170d-3c35-59e0-96c9-bd2a77750626"),
        f"cluster-admin-{BOB}": (BOB, CLUSTER, "e28b0c8f-4ad7-543b-8be0-96420f91516c"),
        f"cluster-admin-{CREATOR}": (CREATOR, CLUSTER, "d2765107-b1bb-5082-9f91-74f0d91a87c4"),  # the deployer's own
    }
    assert assignments(plan, STORAGE_BLOB_DATA_CONTRIBUTOR) == {
        f"bucket-admin-{ALICE}": (ALICE, CONTAINER, "c97fa325-c2f6-56a6-bf60-6c7b9a59acf3"),
        f"bucket-admin-{BOB}": (BOB, CONTAINER, "312d58ed-93fd-596a-8ee9-1fcb12340792"),
        # The deployer's own, on the account (bucket.py), and the workloads' identities.
        "bucket-deployer-data": (CREATOR, ACCOUNT, "5b101f1c-adb6-58d5-bb2c-9264c28788dc"),
        **{n: v for n, v in assignments(plan, STORAGE_BLOB_DATA_CONTRIBUTOR).items() if n.endswith("-identity-blob-data")},
    }
    assert assignments(plan, ACR_PUSH) == {
        f"registry-admin-{ALICE}": (ALICE, REGISTRY, "4a9855df-7c31-5c16-a84b-bbd211841177"),
        f"registry-admin-{BOB}": (BOB, REGISTRY, "6ae92005-26e0-5f3d-97a7-46d2473e945c"),
    }
    # user: sets the principal type; a bare object id lets Azure look it up (no principalType sent).
    for kind in ("cluster", "bucket", "registry"):
        assert plan.one(facts.ROLE_ASSIGNMENT, f"{kind}-admin-{ALICE}").inputs["principalType"] == "User"
        assert "principalType" not in plan.one(facts.ROLE_ASSIGNMENT, f"{kind}-admin-{BOB}").inputs
    # Dropping someone from --admin revokes theirs: nothing granted to an admin is retained.
    assert not any(r.retain_on_delete for r in plan.by_type(facts.ROLE_ASSIGNMENT) if "-admin-" in r.name)


def test_every_assignment_name_is_unique_and_stable_across_plans(plans):
    first = plans(spec_for("azure", admins=AZURE_ADMINS))
    names = [r.inputs["roleAssignmentName"] for r in first.by_type(facts.ROLE_ASSIGNMENT)]
    # The stack's 5 (subnet, kubelet pull, the deployer's data, two workloads), 3 cluster admins
    # (two --admins and the deployer), 2 blob and 2 push grants.
    assert len(names) == len(set(names)) == 12
    again = fresh_plan(spec_for("azure", admins=list(reversed(AZURE_ADMINS))))
    assert {r.name: r.inputs["roleAssignmentName"] for r in again.by_type(facts.ROLE_ASSIGNMENT)} == {
        r.name: r.inputs["roleAssignmentName"] for r in first.by_type(facts.ROLE_ASSIGNMENT)}


def test_a_listed_deployer_has_one_cluster_admin_assignment(plans):
    plan = plans(spec_for("azure", admins=[CREATOR, BOB]))
    assert assignments(plan, AKS_RBAC_CLUSTER_ADMIN) == {
        f"cluster-admin-{CREATOR}": (CREATOR, CLUSTER, "d2765107-b1bb-5082-9f91-74f0d91a87c4"),
        f"cluster-admin-{BOB}": (BOB, CLUSTER, "e28b0c8f-4ad7-543b-8be0-96420f91516c"),
    }
    # The Kubernetes provider waits for the deployer's own.
    provider = next(r for r in plan.resources if r.type == "pulumi:providers:kubernetes" and r.name == "cluster-k8s")
    assert plan.one(facts.ROLE_ASSIGNMENT, f"cluster-admin-{CREATOR}").urn in provider.dependencies


def test_a_teammates_deploy_adds_theirs_and_takes_no_ones(plans, clean_env):
    creator = plans(spec_for("azure", admins=[CREATOR, TEAMMATE]))
    clean_env.setattr(azure_mock, "FAKE_DEPLOYER_OBJECT_ID", TEAMMATE)
    teammate = fresh_plan(spec_for("azure", admins=[CREATOR, TEAMMATE]))
    expected = {
        f"cluster-admin-{CREATOR}": (CREATOR, CLUSTER, "d2765107-b1bb-5082-9f91-74f0d91a87c4"),
        f"cluster-admin-{TEAMMATE}": (TEAMMATE, CLUSTER, "bd1a7b0a-31e5-5c02-ad52-faed91ce18f7"),
    }
    # Whoever of the two deploys, the same assignments exist: nothing moves from one to the other,
    # and nothing in them changes when listed teammates take turns.
    assert assignments(creator, AKS_RBAC_CLUSTER_ADMIN) == expected
    assert assignments(teammate, AKS_RBAC_CLUSTER_ADMIN) == expected
    assert {r.name: r.inputs for r in creator.by_type(facts.ROLE_ASSIGNMENT) if r.name.startswith("cluster-admin-")} == {
        r.name: r.inputs for r in teammate.by_type(facts.ROLE_ASSIGNMENT) if r.name.startswith("cluster-admin-")}
    assert creator.one(facts.ROLE_ASSIGNMENT, f"cluster-admin-{TEAMMATE}").inputs["description"] == (
        "stack-recipes ml-dev: an --admin administers AKS aks-ml-dev")


def test_a_deployer_and_a_teammate_get_different_names(plans, clean_env):
    alone = plans(spec_for("azure"))
    clean_env.setattr(azure_mock, "FAKE_DEPLOYER_OBJECT_ID", TEAMMATE)
    other = fresh_plan(spec_for("azure"))
    assert assignments(alone, AKS_RBAC_CLUSTER_ADMIN) == {
        f"cluster-admin-{CREATOR}": (CREATOR, CLUSTER, "d2765107-b1bb-5082-9f91-74f0d91a87c4")}
    assert assignments(other, AKS_RBAC_CLUSTER_ADMIN) == {
        f"cluster-admin-{TEAMMATE}": (TEAMMATE, CLUSTER, "bd1a7b0a-31e5-5c02-ad52-faed91ce18f7")}
    # The deployer's retained data grant: named after its principal too, and it stays with whoever
    # created it (a teammate's deploy neither moves it nor fails on it; teammates use --admin).
    mine, theirs = alone.one(facts.ROLE_ASSIGNMENT, "bucket-deployer-data"), other.one(facts.ROLE_ASSIGNMENT, "bucket-deployer-data")
    assert (mine.inputs["principalId"], mine.inputs["roleAssignmentName"]) == (CREATOR, "5b101f1c-adb6-58d5-bb2c-9264c28788dc")
    assert (theirs.inputs["principalId"], theirs.inputs["roleAssignmentName"]) == (TEAMMATE, "5611e2ca-3ba3-577e-b2a7-768134957b06")
    assert theirs.retain_on_delete and theirs.ignore_changes == ["roleAssignmentName", "principalId"]
    # A new name deletes the old assignment first: Azure refuses two for one role, scope and principal.
    assert all(r.delete_before_replace for r in other.by_type(facts.ROLE_ASSIGNMENT))


def test_kubelogin_follows_a_service_principal_and_keeps_its_secret_out(clean_env):
    plan, exec_ = planned_under(clean_env, "azure", ARM_CLIENT_ID="44444444-4444-4444-8444-444444444444",
                                ARM_CLIENT_SECRET="not-a-real-client-secret", ARM_TENANT_ID="00000000-0000-4000-8000-000000000002")
    assert exec_["command"] == "kubelogin"
    assert exec_["args"] == ["get-token", "--login", "spn", "--server-id", AKS_SERVER, "--use-azurerm-env-vars"]
    assert "env" not in exec_
    assert "not-a-real-client-secret" not in plan.raw_outputs["cluster"]["kubeconfig"]


@pytest.mark.parametrize("environ,args", [
    ({}, ["get-token", "--login", "azurecli", "--server-id", AKS_SERVER]),
    ({"ARM_CLIENT_ID": "app", "ARM_CLIENT_SECRET": "s3cret"},
     ["get-token", "--login", "spn", "--server-id", AKS_SERVER, "--use-azurerm-env-vars"]),
    ({"ARM_CLIENT_ID": "app", "ARM_CLIENT_CERTIFICATE_PATH": "/ci/sp.pfx"},
     ["get-token", "--login", "spn", "--server-id", AKS_SERVER, "--use-azurerm-env-vars"]),
    ({"ARM_CLIENT_ID": "app"}, ["get-token", "--login", "azurecli", "--server-id", AKS_SERVER]),  # no secret: the CLI
    ({"ARM_USE_OIDC": "true", "ARM_CLIENT_ID": "app", "ARM_OIDC_TOKEN_FILE_PATH": "/var/run/oidc/token"},
     ["get-token", "--login", "workloadidentity", "--server-id", AKS_SERVER, "--use-azurerm-env-vars",
      "--federated-token-file", "/var/run/oidc/token"]),
    ({"AZURE_FEDERATED_TOKEN_FILE": "/var/run/secrets/azure/tokens/azure-identity-token", "AZURE_CLIENT_ID": "app"},
     ["get-token", "--login", "workloadidentity", "--server-id", AKS_SERVER]),
    ({"ARM_USE_OIDC": "false", "ARM_CLIENT_ID": "app", "ARM_CLIENT_SECRET": "s3cret"},
     ["get-token", "--login", "spn", "--server-id", AKS_SERVER, "--use-azurerm-env-vars"]),
    ({"ARM_USE_MSI": "true", "ARM_CLIENT_ID": "mi-client"},
     ["get-token", "--login", "msi", "--server-id", AKS_SERVER, "--client-id", "mi-client"]),
])
def test_kubelogin_login_mode_per_credential_kind(environ, args):
    auth = kubeconfig.aks_exec(environ)
    assert (auth.command, auth.args, auth.env) == ("kubelogin", args, {})
    assert "s3cret" not in auth.args
