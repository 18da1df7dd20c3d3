"""Team access (--admin): more than the creator can reach the cluster, the bucket and the registry.

On the rendered inputs of the real programs (Pulumi's mock runtime), all three clouds: the exact
grants two admins get, names that are one per principal and stable across plans, a deployer and a
teammate who never take each other's access (Azure), refused admins, and kubeconfigs whose exec
plugin signs in the way the deploy's own credentials do.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from provisioner import cli
from provisioner.analysis.baseline import evaluate
from provisioner.analysis.mockcloud import azure as azure_mock
from recipes import kubeconfig
from recipes.spec import Layer, SpecError, load_spec

from tests.conftest import spec_for

ROLE = "azure-native:authorization:RoleAssignment"
ENTRY = "aws:eks/accessEntry:AccessEntry"
ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
PROJECT_IAM = "gcp:projects/iAMMember:IAMMember"
BUCKET_IAM = "gcp:storage/bucketIAMMember:BucketIAMMember"
REPOSITORY_IAM = "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember"
BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"

AWS_ADMINS = ["arn:aws:iam::123456789012:role/ml-admins", "arn:aws:iam::210987654321:user/alice"]
GCP_ADMINS = ["user:alice@example.com", "group:ml-team@example.com"]
ALICE = "11111111-1111-4111-8111-111111111111"
BOB = "22222222-2222-4222-8222-222222222222"
AZURE_ADMINS = [f"user:{ALICE}", BOB]
CREATOR = "00000000-0000-4000-8000-000000000003"  # what the mock's getClientConfig answers
TEAMMATE = "33333333-3333-4333-8333-333333333333"

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

CREDENTIAL_VARIABLES = (
    "AWS_PROFILE", "ARM_CLIENT_ID", "ARM_CLIENT_SECRET", "ARM_CLIENT_CERTIFICATE_PATH", "ARM_TENANT_ID",
    "ARM_USE_OIDC", "ARM_USE_MSI", "ARM_OIDC_TOKEN_FILE_PATH", "AZURE_FEDERATED_TOKEN_FILE",
)


@pytest.fixture
def clean_env(monkeypatch):
    """No credential variable of the machine running the tests decides a kubeconfig here."""
    for variable in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


def fresh_plan(spec):
    """A plan of the real program, never a cached one: these depend on the environment and on
    who deploys, not on the spec alone."""
    from pulumi.runtime import settings

    from provisioner.analysis.plan import run_plan
    from recipes import build

    settings.ROOT.set(None)
    return run_plan(spec, program=build)


def inputs_of(plan, type_: str) -> dict[str, dict[str, Any]]:
    return {r.name: r.inputs for r in plan.by_type(type_)}


def exec_of(plan) -> dict[str, Any]:
    (user,) = yaml.safe_load(plan.raw_outputs["cluster"]["kubeconfig"])["users"]
    return user["user"]["exec"]


def assignments(plan, definition: str) -> dict[str, tuple[str, str, str]]:
    """resource name -> (principal, scope, assignment name) of every assignment of one role."""
    return {r.name: (r.inputs["principalId"], r.inputs["scope"], r.inputs["roleAssignmentName"])
            for r in plan.by_type(ROLE) if r.inputs["roleDefinitionId"] == definition}


# ---------------------------------------------------------------------------
# The spec: one line with the fix, before any cloud call


def error(provider: str, admins: Any, origin: str = "flags") -> str:
    extra = {"project": "demo-project"} if provider == "gcp" else {}
    with pytest.raises(SpecError) as info:
        load_spec(Layer(origin, {"provider": provider, **extra, "admins": admins}))
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("provider,admins,expected", [
    ("aws", ["arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123abcd"],
     ("--admin: EKS access entries take an IAM Identity Center (SSO) role's ARN without its "
     "aws-reserved/sso.amazonaws.com/eu-west-1/ path: use arn:aws:iam::123456789012:role/AWSReservedSSO_Admin_0123abcd")),
    ("aws", ["arn:aws:sts::123456789012:assumed-role/ml-admins/alice"],
     ("--admin: 'arn:aws:sts::123456789012:assumed-role/ml-admins/alice' is a role session, not a principal: "
     "give the role's ARN, arn:aws:iam::123456789012:role/ml-admins (with its path, if it has one)")),
    ("aws", ["alice"], "--admin: 'alice' is not an IAM role or user ARN (e.g. arn:aws:iam::123456789012:role/ml-admins)"),
    ("aws", ["arn:aws:iam::1234:role/ml-admins"],
     "--admin: 'arn:aws:iam::1234:role/ml-admins' is not an IAM role or user ARN (e.g. arn:aws:iam::123456789012:role/ml-admins)"),
    ("gcp", ["alice@example.com"],
     ("--admin: 'alice@example.com' is not an IAM member: write user:EMAIL, group:EMAIL or serviceAccount:EMAIL "
     "(e.g. user:alice@example.com)")),
    ("gcp", ["domain:example.com"],
     ("--admin: 'domain:example.com' is not an IAM member: write user:EMAIL, group:EMAIL or serviceAccount:EMAIL "
     "(e.g. user:alice@example.com)")),
    ("azure", ["alice@contoso.com"],
     ("--admin: 'alice@contoso.com' is not an Entra object id: give the principal's object id "
     "(az ad user show --id alice@contoso.com --query id -o tsv), optionally as user:<id>, group:<id> or servicePrincipal:<id>")),
    ("azure", [f"device:{ALICE}"],
     (f"--admin: 'device:{ALICE}' is not an Entra object id: give the principal's object id, "
     "optionally as user:<id>, group:<id> or servicePrincipal:<id>")),
    ("azure", [f"user:{ALICE}", ALICE.upper()], f"--admin: '{ALICE.upper()}' is listed twice"),
    ("aws", [AWS_ADMINS[0], AWS_ADMINS[0]], "--admin: 'arn:aws:iam::123456789012:role/ml-admins' is listed twice"),
])
def test_invalid_admins_are_refused_with_the_fix(provider, admins, expected):
    assert error(provider, admins) == expected


def test_a_stack_file_names_its_field():
    assert error("gcp", ["bob@example.com"], origin="team.yaml") == (
        "team.yaml: admins: 'bob@example.com' is not an IAM member: write user:EMAIL, group:EMAIL or "
        "serviceAccount:EMAIL (e.g. user:bob@example.com)")
    assert error("aws", {"a": "b"}, origin="team.yaml") == "team.yaml: admins: expected a list, got a mapping"


def test_admins_are_kept_in_each_clouds_own_form():
    assert spec_for("aws", admins=AWS_ADMINS).admins == (
        "arn:aws:iam::123456789012:role/ml-admins", "arn:aws:iam::210987654321:user/alice")
    # Roles with a path keep it (only the SSO path is one EKS does not match).
    assert spec_for("aws", admins=["arn:aws:iam::123456789012:role/teams/ml-admins"]).admins == (
        "arn:aws:iam::123456789012:role/teams/ml-admins",)
    assert spec_for("gcp", admins=["user:Alice@Example.com", "serviceAccount:ci@demo-project.iam.gserviceaccount.com"]).admins == (
        "user:alice@example.com", "serviceAccount:ci@demo-project.iam.gserviceaccount.com")
    assert spec_for("azure", admins=[f"User:{ALICE.upper()}", BOB, f"servicePrincipal:{TEAMMATE}"]).admins == (
        f"user:{ALICE}", BOB, f"servicePrincipal:{TEAMMATE}")
    # Pulumi config and --admin a,b give comma-separated text.
    assert spec_for("azure", admins=f"{ALICE}, {BOB}").admins == (ALICE, BOB)
    assert spec_for("aws").admins == ()


def test_admins_round_trip_through_the_stack_file():
    spec = spec_for("gcp", admins=GCP_ADMINS)
    mapping = spec.to_mapping()
    assert mapping["admins"] == ["user:alice@example.com", "group:ml-team@example.com"]
    assert load_spec(Layer("stack.yaml", mapping)) == spec


def test_the_cli_takes_repeatable_admin_flags(home):
    runner = CliRunner()
    result = runner.invoke(cli.app, ["plan", "aws", "--admin", AWS_ADMINS[0], "--admin", AWS_ADMINS[1], "--output", "json"],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    entries = sorted(r["inputs"]["principalArn"] for r in json.loads(result.stdout)["resources"] if r["type"] == ENTRY)
    assert entries == ["arn:aws:iam::123456789012:role/ml-admins", "arn:aws:iam::210987654321:user/alice"]

    bad = runner.invoke(cli.app, ["plan", "azure", "--admin", "alice@contoso.com"], catch_exceptions=False)
    assert bad.exit_code == 2
    lines = [line for line in bad.stderr.splitlines() if line.strip()]
    assert lines == [("error: --admin: 'alice@contoso.com' is not an Entra object id: give the principal's object id "
                     "(az ad user show --id alice@contoso.com --query id -o tsv), optionally as user:<id>, group:<id> "
                     "or servicePrincipal:<id>")]


# ---------------------------------------------------------------------------
# AWS: an access entry and the cluster-admin policy per admin


def test_eks_gives_each_admin_an_access_entry_with_cluster_admin(plans):
    plan = plans(spec_for("aws", admins=AWS_ADMINS))
    assert inputs_of(plan, ENTRY) == {
        "cluster-admin-123456789012-role-ml-admins":
            {"clusterName": "ml-dev", "principalArn": "arn:aws:iam::123456789012:role/ml-admins", "type": "STANDARD"},
        "cluster-admin-210987654321-user-alice":
            {"clusterName": "ml-dev", "principalArn": "arn:aws:iam::210987654321:user/alice", "type": "STANDARD"},
    }
    policy = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert inputs_of(plan, ASSOCIATION) == {
        "cluster-admin-123456789012-role-ml-admins": {
            "clusterName": "ml-dev", "principalArn": "arn:aws:iam::123456789012:role/ml-admins",
            "policyArn": policy, "accessScope": {"type": "cluster"}},
        "cluster-admin-210987654321-user-alice": {
            "clusterName": "ml-dev", "principalArn": "arn:aws:iam::210987654321:user/alice",
            "policyArn": policy, "accessScope": {"type": "cluster"}},
    }
    # The policy is associated once the entry exists.
    for association in plan.by_type(ASSOCIATION):
        assert plan.one(ENTRY, association.name).urn in association.dependencies
    # Access entries need the API authentication mode; the creator keeps its bootstrapped entry
    # (changing that flag would replace the cluster).
    assert plan.one("aws:eks/cluster:Cluster").inputs["accessConfig"] == {
        "authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": True}


def test_eks_admin_names_do_not_depend_on_order(plans):
    forward = plans(spec_for("aws", admins=AWS_ADMINS))
    backward = plans(spec_for("aws", admins=list(reversed(AWS_ADMINS))))
    assert inputs_of(forward, ENTRY) == inputs_of(backward, ENTRY)
    assert inputs_of(forward, ASSOCIATION) == inputs_of(backward, ASSOCIATION)


def test_no_admins_no_entries(plans):
    plan = plans(spec_for("aws"))
    assert not plan.by_type(ENTRY) and not plan.by_type(ASSOCIATION)


def test_eks_kubeconfig_keeps_the_deploys_profile_and_no_key(clean_env):
    clean_env.setenv("AWS_PROFILE", "ml-team")
    clean_env.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEKEYID0000")
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret-access-key")
    plan = fresh_plan(spec_for("aws"))
    exec_ = exec_of(plan)
    assert exec_["command"] == "aws"
    assert exec_["args"] == ["eks", "get-token", "--cluster-name", "ml-dev", "--region", "us-east-1", "--output", "json"]
    assert exec_["env"] == [{"name": "AWS_PROFILE", "value": "ml-team"}]
    kubeconfig_text = plan.raw_outputs["cluster"]["kubeconfig"]
    assert "not-a-real-secret-access-key" not in kubeconfig_text and "AKIAEXAMPLEKEYID0000" not in kubeconfig_text


def test_eks_kubeconfig_without_a_profile_uses_the_default_chain(clean_env):
    assert kubeconfig.eks_exec("ml-dev", "eu-west-1", {}) == kubeconfig.ExecAuth(
        "aws", ["eks", "get-token", "--cluster-name", "ml-dev", "--region", "eu-west-1", "--output", "json"], {})
    assert "env" not in exec_of(fresh_plan(spec_for("aws")))


# ---------------------------------------------------------------------------
# GCP: cluster viewer in IAM, cluster-admin in RBAC, the bucket's objects, push to the repository


def test_gke_admins_get_cluster_viewer_and_a_cluster_admin_binding(plans):
    plan = plans(spec_for("gcp", admins=GCP_ADMINS))
    viewers = {name: i for name, i in inputs_of(plan, PROJECT_IAM).items() if not i["member"].startswith("serviceAccount:")}
    assert viewers == {
        "cluster-admin-user-alice@example.com":
            {"project": "demo-project", "role": "roles/container.clusterViewer", "member": "user:alice@example.com"},
        "cluster-admin-group-ml-team@example.com":
            {"project": "demo-project", "role": "roles/container.clusterViewer", "member": "group:ml-team@example.com"},
    }
    labels = {"managed-by": "stack-recipes", "recipe-stack": "ml-dev"}
    role_ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"}
    assert inputs_of(plan, BINDING) == {
        "cluster-admin-user-alice@example.com": {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "recipe-admin-user-alice-example.com-91c465", "labels": labels},
            "roleRef": role_ref,
            "subjects": [{"kind": "User", "name": "alice@example.com", "apiGroup": "rbac.authorization.k8s.io"}]},
        "cluster-admin-group-ml-team@example.com": {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "recipe-admin-group-ml-team-example.com-258d06", "labels": labels},
            "roleRef": role_ref,
            "subjects": [{"kind": "Group", "name": "ml-team@example.com", "apiGroup": "rbac.authorization.k8s.io"}]},
    }
    # Created in the cluster with the stack's own Kubernetes provider.
    (k8s_provider,) = [r for r in plan.resources if r.type == "pulumi:providers:kubernetes" and r.name == "cluster-k8s"]
    for binding in plan.by_type(BINDING):
        assert binding.provider.startswith(k8s_provider.urn + "::"), binding.name


def test_gke_admins_get_the_buckets_objects_and_push_to_the_repository(plans):
    plan = plans(spec_for("gcp", admins=GCP_ADMINS))
    assert inputs_of(plan, BUCKET_IAM) == {
        **{n: i for n, i in inputs_of(plan, BUCKET_IAM).items() if not n.startswith("bucket-admin-")},
        "bucket-admin-user-alice@example.com":
            {"bucket": "ml-dev-artifacts-xxxxxx", "role": "roles/storage.objectUser", "member": "user:alice@example.com"},
        "bucket-admin-group-ml-team@example.com":
            {"bucket": "ml-dev-artifacts-xxxxxx", "role": "roles/storage.objectUser", "member": "group:ml-team@example.com"},
    }
    repository = "projects/demo-project/locations/us-central1/repositories/ml-dev"
    assert {n: i for n, i in inputs_of(plan, REPOSITORY_IAM).items() if n.startswith("registry-admin-")} == {
        "registry-admin-user-alice@example.com": {
            "project": "demo-project", "location": "us-central1", "repository": repository,
            "role": "roles/artifactregistry.writer", "member": "user:alice@example.com"},
        "registry-admin-group-ml-team@example.com": {
            "project": "demo-project", "location": "us-central1", "repository": repository,
            "role": "roles/artifactregistry.writer", "member": "group:ml-team@example.com"},
    }


def test_gke_admins_keep_the_baseline(plans):
    plan = plans(spec_for("gcp", admins=GCP_ADMINS))
    roles = {i["role"] for t in (PROJECT_IAM, BUCKET_IAM, REPOSITORY_IAM) for i in inputs_of(plan, t).values()}
    assert "roles/container.admin" not in roles and "roles/storage.objectAdmin" not in roles
    verdicts = {r.rule.id: r.verdict.status for r in evaluate(plan.plan)}
    assert verdicts["N2"] == "pass" and verdicts["I1"] == "pass"
    assert "fail" not in verdicts.values()


def test_gke_kubeconfig_uses_application_default_credentials(clean_env):
    clean_env.setenv("CLOUDSDK_CORE_ACCOUNT", "someone-else@example.com")  # gcloud's active account: not used
    exec_ = exec_of(fresh_plan(spec_for("gcp")))
    assert exec_["command"] == "gke-gcloud-auth-plugin"
    assert exec_["args"] == ["--use_application_default_credentials"]
    assert "env" not in exec_


# ---------------------------------------------------------------------------
# Azure: one assignment per principal and role, named after the principal


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
        assert plan.one(ROLE, f"{kind}-admin-{ALICE}").inputs["principalType"] == "User"
        assert "principalType" not in plan.one(ROLE, f"{kind}-admin-{BOB}").inputs
    # Dropping someone from --admin revokes theirs: nothing granted to an admin is retained.
    assert not any(r.retain_on_delete for r in plan.by_type(ROLE) if "-admin-" in r.name)


def test_every_assignment_name_is_unique_and_stable_across_plans(plans):
    first = plans(spec_for("azure", admins=AZURE_ADMINS))
    names = [r.inputs["roleAssignmentName"] for r in first.by_type(ROLE)]
    # The stack's 5 (subnet, kubelet pull, the deployer's data, two workloads), 3 cluster admins
    # (two --admins and the deployer), 2 blob and 2 push grants.
    assert len(names) == len(set(names)) == 12
    again = fresh_plan(spec_for("azure", admins=list(reversed(AZURE_ADMINS))))
    assert {r.name: r.inputs["roleAssignmentName"] for r in again.by_type(ROLE)} == {
        r.name: r.inputs["roleAssignmentName"] for r in first.by_type(ROLE)}


def test_a_listed_deployer_has_one_cluster_admin_assignment(plans):
    plan = plans(spec_for("azure", admins=[CREATOR, BOB]))
    assert assignments(plan, AKS_RBAC_CLUSTER_ADMIN) == {
        f"cluster-admin-{CREATOR}": (CREATOR, CLUSTER, "d2765107-b1bb-5082-9f91-74f0d91a87c4"),
        f"cluster-admin-{BOB}": (BOB, CLUSTER, "e28b0c8f-4ad7-543b-8be0-96420f91516c"),
    }
    # The Kubernetes provider waits for the deployer's own.
    provider = next(r for r in plan.resources if r.type == "pulumi:providers:kubernetes" and r.name == "cluster-k8s")
    assert plan.one(ROLE, f"cluster-admin-{CREATOR}").urn in provider.dependencies


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
    assert {r.name: r.inputs for r in creator.by_type(ROLE) if r.name.startswith("cluster-admin-")} == {
        r.name: r.inputs for r in teammate.by_type(ROLE) if r.name.startswith("cluster-admin-")}
    assert creator.one(ROLE, f"cluster-admin-{TEAMMATE}").inputs["description"] == (
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
    mine, theirs = alone.one(ROLE, "bucket-deployer-data"), other.one(ROLE, "bucket-deployer-data")
    assert (mine.inputs["principalId"], mine.inputs["roleAssignmentName"]) == (CREATOR, "5b101f1c-adb6-58d5-bb2c-9264c28788dc")
    assert (theirs.inputs["principalId"], theirs.inputs["roleAssignmentName"]) == (TEAMMATE, "5611e2ca-3ba3-577e-b2a7-768134957b06")
    assert theirs.retain_on_delete and theirs.ignore_changes == ["roleAssignmentName", "principalId"]
    # A new name deletes the old assignment first: Azure refuses two for one role, scope and principal.
    assert all(r.delete_before_replace for r in other.by_type(ROLE))


def test_kubelogin_follows_a_service_principal_and_keeps_its_secret_out(clean_env):
    clean_env.setenv("ARM_CLIENT_ID", "44444444-4444-4444-8444-444444444444")
    clean_env.setenv("ARM_CLIENT_SECRET", "not-a-real-client-secret")
    clean_env.setenv("ARM_TENANT_ID", "00000000-0000-4000-8000-000000000002")
    plan = fresh_plan(spec_for("azure"))
    exec_ = exec_of(plan)
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
