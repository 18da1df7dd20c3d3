"""IAM as planned (I1, I2): least-privilege roles, pod identities, no long-lived keys; the provider's tags."""

from __future__ import annotations

import json

import pytest

from recipes.aws import policies
from recipes.kubernetes import namespaces
from recipes.facts import aws as facts

from tests.recipes.aws.helpers import AWS_PROVIDER, policy_documents
from tests.recipes.plans import as_list


@pytest.mark.parametrize("variant", [{}, {"network": "public", "deployer": "kserve"}])
def test_no_wildcard_allow_anywhere(plans, variant):
    plan = plans(**variant)
    docs = policy_documents(plan)
    assert len(docs) == 10  # 3 inline, 6 trust, 1 bucket policy
    for where, doc in docs:
        for statement in doc["Statement"]:
            if statement["Effect"] != "Allow":
                continue
            actions = as_list(statement.get("Action", []))
            for action in actions:
                assert "*" not in action, f"{where}: wildcard action {action!r}"
            for resource in as_list(statement.get("Resource", [])):
                # "*" only for read calls AWS cannot scope to a resource (CKV_AWS_355 allows these).
                if resource == "*":
                    assert all(a.split(":", 1)[1].startswith(("Describe", "Get")) for a in actions), f"{where}: {actions} on '*'"
            assert statement.get("Principal") != "*", f"{where}: principal '*'"
            assert "NotAction" not in statement and "NotResource" not in statement, where


def test_only_expected_managed_policies_are_attached(aws_plan):
    attached = {a.inputs["policyArn"] for a in aws_plan.by_type(facts.IAM_ROLE_POLICY_ATTACHMENT)}
    assert attached == set(policies.EKS_CLUSTER_POLICIES + policies.EKS_NODE_POLICIES + policies.EBS_CSI_POLICIES)
    assert not any("Administrator" in arn or "PowerUser" in arn or "FullAccess" in arn for arn in attached)


@pytest.mark.parametrize(
    "purpose,namespace,service_account",
    [
        ("mlflow", namespaces.MLFLOW_NAMESPACE, namespaces.MLFLOW_SERVICE_ACCOUNT),
        ("pipelines", namespaces.PIPELINES_NAMESPACE, namespaces.PIPELINES_SERVICE_ACCOUNT),
    ],
)
def test_pod_roles_reach_only_this_bucket(aws_plan, make_spec, purpose, namespace, service_account):
    spec = make_spec()
    arn = f"arn:aws:s3:::{spec.names.s3_bucket()}"
    identity = aws_plan.one("recipes:aws:BucketAccess", f"{purpose}-identity")
    children = {r.type: r for r in aws_plan.children(identity.urn)}
    assert set(children) == {facts.IAM_ROLE, facts.IAM_ROLE_POLICY, facts.EKS_POD_IDENTITY_ASSOCIATION}

    role = children[facts.IAM_ROLE]
    assert role.inputs["name"] == spec.names.iam_role(f"{purpose}-pod")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "pods.eks.amazonaws.com"}]

    inline = children[facts.IAM_ROLE_POLICY]
    assert role.urn in inline.dependencies
    resources = set()
    for statement in json.loads(inline.inputs["policy"])["Statement"]:
        assert statement["Effect"] == "Allow"
        assert all(a.startswith("s3:") for a in as_list(statement["Action"]))
        resources |= set(as_list(statement["Resource"]))
    assert resources == {arn, f"{arn}/*"}

    association = children[facts.EKS_POD_IDENTITY_ASSOCIATION]
    assert association.inputs["namespace"] == namespace
    assert association.inputs["serviceAccount"] == service_account
    assert association.inputs["clusterName"] == spec.names.eks_cluster()
    assert association.inputs["roleArn"].endswith(f":role/{role.inputs['name']}")


def test_pod_identity_associations_are_exactly_mlflow_and_pipelines(aws_plan):
    pairs = {(a.inputs["namespace"], a.inputs["serviceAccount"]) for a in aws_plan.by_type(facts.EKS_POD_IDENTITY_ASSOCIATION)}
    assert pairs == {("mlflow", "mlflow"), ("zenml", "zenml-service-account"), ("kube-system", "cluster-autoscaler")}


def test_iam_role_names_carry_the_stacks_suffix(aws_plan, plans, make_spec):
    spec = make_spec()
    names = [r.inputs["name"] for r in aws_plan.by_type(facts.IAM_ROLE)]
    assert len(names) == len(set(names)) == 6  # control plane, nodes, ebs-csi, autoscaler, mlflow pods, pipelines pods
    assert all(n.startswith("ml-dev-") and n.endswith(f"-{spec.names.suffix}") for n in names)
    assert all(len(n) <= 64 for n in names)
    # IAM is global to the account: another instance of ml-dev (another region, or a second
    # deploy after a destroy --delete-data) has another suffix, so other role names.
    other = plans(region="us-west-2", suffix="a1b2c3")
    other_names = {r.inputs["name"] for r in other.by_type(facts.IAM_ROLE)}
    assert len(other_names) == 6
    assert not other_names & set(names), "two instances of a stack name must not share IAM role names"


def test_no_long_lived_keys(plans):
    for variant in ({}, {"without": ["tracker", "deployer", "cluster"]}):
        types = plans(**variant).types()
        assert "aws:iam/accessKey:AccessKey" not in types
        assert "aws:iam/user:User" not in types
        assert "aws:iam/userLoginProfile:UserLoginProfile" not in types


# ---------------------------------------------------------------------------
# The provider's region and default tags


def aws_provider_tags(plan) -> dict:
    provider = plan.one(AWS_PROVIDER, "aws")
    tags = provider.inputs["defaultTags"]
    tags = json.loads(tags) if isinstance(tags, str) else tags
    return tags["tags"]


def test_aws_provider_region_and_default_tags(restricted_plan, user_tags):
    provider = restricted_plan.one(AWS_PROVIDER, "aws")
    assert provider.inputs["region"] == "eu-west-1"
    tags = aws_provider_tags(restricted_plan)
    assert tags["recipe-stack"] == "ml-dev"
    assert tags["managed-by"] == "stack-recipes"
    assert user_tags.items() <= tags.items()
