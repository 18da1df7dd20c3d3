"""--admin on GKE: cluster viewer in IAM, cluster-admin in RBAC, the bucket's objects, push to the repository."""

from __future__ import annotations

import pytest

from provisioner.analysis.baseline import evaluate
from recipes.facts import gcp as facts

from tests.conftest import spec_for
from tests.recipes.plans import GCP_ADMINS, inputs_of, planned_under

pytestmark = pytest.mark.filterwarnings(r"ignore::DeprecationWarning:pulumi_gcp\..*")


BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"


def test_gke_admins_get_cluster_viewer_and_a_cluster_admin_binding(plans):
    plan = plans(spec_for("gcp", admins=GCP_ADMINS))
    viewers = {name: i for name, i in inputs_of(plan, facts.PROJECT_IAM_MEMBER).items() if not i["member"].startswith("serviceAccount:")}
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


# The principals of GCP_ADMINS as the grants' resource names spell them.
GKE_ADMINS = {"user-alice@example.com": "user:alice@example.com", "group-ml-team@example.com": "group:ml-team@example.com"}


def admin_grants(plan, type_: str, prefix: str) -> dict[str, dict]:
    return {n: i for n, i in inputs_of(plan, type_).items() if n.startswith(prefix)}


def test_gke_admins_get_the_buckets_objects_and_push_to_the_repository(plans):
    plan = plans(spec_for("gcp", admins=GCP_ADMINS))
    assert admin_grants(plan, facts.GCS_BUCKET_IAM_MEMBER, "bucket-admin-") == {
        f"bucket-admin-{name}": {"bucket": "ml-dev-artifacts-xxxxxx", "role": "roles/storage.objectUser", "member": member}
        for name, member in GKE_ADMINS.items()
    }
    repository = "projects/demo-project/locations/us-central1/repositories/ml-dev"
    assert admin_grants(plan, facts.ARTIFACT_REGISTRY_IAM_MEMBER, "registry-admin-") == {
        f"registry-admin-{name}": {"project": "demo-project", "location": "us-central1", "repository": repository,
                                   "role": "roles/artifactregistry.writer", "member": member}
        for name, member in GKE_ADMINS.items()
    }


def test_gke_admins_keep_the_baseline(plans):
    plan = plans(spec_for("gcp", admins=GCP_ADMINS))
    grant_types = (facts.PROJECT_IAM_MEMBER, facts.GCS_BUCKET_IAM_MEMBER, facts.ARTIFACT_REGISTRY_IAM_MEMBER)
    roles = {i["role"] for t in grant_types for i in inputs_of(plan, t).values()}
    assert "roles/container.admin" not in roles and "roles/storage.objectAdmin" not in roles
    verdicts = {r.rule.id: r.verdict.status for r in evaluate(plan.plan)}
    assert verdicts["N2"] == "pass" and verdicts["I1"] == "pass"
    assert "fail" not in verdicts.values()


def test_gke_kubeconfig_uses_application_default_credentials(clean_env):
    # gcloud's active account is not used.
    _, exec_ = planned_under(clean_env, "gcp", CLOUDSDK_CORE_ACCOUNT="someone-else@example.com")
    assert exec_["command"] == "gke-gcloud-auth-plugin"
    assert exec_["args"] == ["--use_application_default_credentials"]
    assert "env" not in exec_
