"""--admin on EKS: an access entry and the cluster-admin policy per admin; kubeconfigs that sign in as the deploy does."""

from __future__ import annotations

from recipes import kubeconfig
from recipes.facts import aws as facts

from tests.conftest import spec_for
from tests.recipes.aws.helpers import EKS_ACCESS_POLICY
from tests.recipes.plans import AWS_ADMINS, exec_of, fresh_plan, inputs_of, planned_under


# The access entry (and its policy association) of each --admin, by resource name.
EKS_ADMINS = {
    "cluster-admin-123456789012-role-ml-admins": "arn:aws:iam::123456789012:role/ml-admins",
    "cluster-admin-210987654321-user-alice": "arn:aws:iam::210987654321:user/alice",
}
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


def test_eks_gives_each_admin_an_access_entry_with_cluster_admin(plans):
    plan = plans(spec_for("aws", admins=AWS_ADMINS))
    assert inputs_of(plan, facts.EKS_ACCESS_ENTRY) == {
        name: {"clusterName": "ml-dev", "principalArn": arn, "type": "STANDARD"} for name, arn in EKS_ADMINS.items()
    }
    assert inputs_of(plan, EKS_ACCESS_POLICY) == {
        name: {"clusterName": "ml-dev", "principalArn": arn, "policyArn": CLUSTER_ADMIN_POLICY, "accessScope": {"type": "cluster"}}
        for name, arn in EKS_ADMINS.items()
    }
    # The policy is associated once the entry exists.
    for association in plan.by_type(EKS_ACCESS_POLICY):
        assert plan.one(facts.EKS_ACCESS_ENTRY, association.name).urn in association.dependencies
    # Access entries need the API authentication mode; the creator keeps its bootstrapped entry
    # (changing that flag would replace the cluster).
    assert plan.one("aws:eks/cluster:Cluster").inputs["accessConfig"] == {
        "authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": True}


def test_eks_admin_names_do_not_depend_on_order(plans):
    forward = plans(spec_for("aws", admins=AWS_ADMINS))
    backward = plans(spec_for("aws", admins=list(reversed(AWS_ADMINS))))
    assert inputs_of(forward, facts.EKS_ACCESS_ENTRY) == inputs_of(backward, facts.EKS_ACCESS_ENTRY)
    assert inputs_of(forward, EKS_ACCESS_POLICY) == inputs_of(backward, EKS_ACCESS_POLICY)


def test_no_admins_no_entries(plans):
    plan = plans(spec_for("aws"))
    assert not plan.by_type(facts.EKS_ACCESS_ENTRY) and not plan.by_type(EKS_ACCESS_POLICY)


def test_eks_kubeconfig_keeps_the_deploys_profile_and_no_key(clean_env):
    plan, exec_ = planned_under(clean_env, "aws", AWS_PROFILE="ml-team", AWS_ACCESS_KEY_ID="AKIAEXAMPLEKEYID0000",
                                AWS_SECRET_ACCESS_KEY="not-a-real-secret-access-key")
    assert exec_["command"] == "aws"
    assert exec_["args"] == ["eks", "get-token", "--cluster-name", "ml-dev", "--region", "us-east-1", "--output", "json"]
    assert exec_["env"] == [{"name": "AWS_PROFILE", "value": "ml-team"}]
    kubeconfig_text = plan.raw_outputs["cluster"]["kubeconfig"]
    assert "not-a-real-secret-access-key" not in kubeconfig_text and "AKIAEXAMPLEKEYID0000" not in kubeconfig_text


def test_eks_kubeconfig_without_a_profile_uses_the_default_chain(clean_env):
    assert kubeconfig.eks_exec("ml-dev", "eu-west-1", {}) == kubeconfig.ExecAuth(
        "aws", ["eks", "get-token", "--cluster-name", "ml-dev", "--region", "eu-west-1", "--output", "json"], {})
    assert "env" not in exec_of(fresh_plan(spec_for("aws")))
