"""Type tokens and small readers the AWS program tests share."""

from __future__ import annotations

import json

from recipes.facts import aws as facts

from tests.recipes.plans import as_list


IGW = "aws:ec2/internetGateway:InternetGateway"
RT_ASSOC = "aws:ec2/routeTableAssociation:RouteTableAssociation"
AWS_PROVIDER = "pulumi:providers:aws"


ENCRYPTION = "recipes:aws:Encryption"
MOCK_ACCOUNT = "123456789012"  # provisioner.analysis.mockcloud's account


EKS_ACCESS_POLICY = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"


MOCK_ZONES = {"eu-west-1a", "eu-west-1b", "eu-west-1c"}  # provisioner.analysis.plan's getAvailabilityZones answer


def subnets(plan, kind: str):
    return sorted((s for s in plan.by_type(facts.EC2_SUBNET) if s.name.startswith(f"network-{kind}-")), key=lambda s: s.name)


def bucket_subtree(plan):
    return plan.subtree(plan.one("recipes:aws:Bucket", "bucket"))


def policy_documents(plan):
    """Every IAM policy document the stack writes, with where it came from."""
    docs = []
    for r in plan.by_type(facts.IAM_ROLE_POLICY):
        docs.append((r.name, json.loads(r.inputs["policy"])))
    for r in plan.by_type(facts.IAM_ROLE):
        docs.append((r.name, json.loads(r.inputs["assumeRolePolicy"])))
    for r in plan.by_type("aws:s3/bucketPolicy:BucketPolicy"):
        docs.append((r.name, json.loads(r.inputs["policy"])))
    return docs


def stack_key(plan):
    """The stack's key and its ARN (as the alias, which names it, received it)."""
    key = plan.one(facts.KMS_KEY)
    alias = plan.one(facts.KMS_ALIAS)
    assert key.urn in alias.dependencies
    arn = alias.inputs["targetKeyId"]
    assert arn.startswith(f"arn:aws:kms:eu-west-1:{MOCK_ACCOUNT}:"), arn
    return key, arn


def kms_statements(document):
    return [s for s in document["Statement"] if any(a.startswith("kms:") for a in as_list(s["Action"]))]
