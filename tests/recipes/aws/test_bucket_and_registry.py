"""The S3 bucket and the ECR repository as planned: names, hardening, retention."""

from __future__ import annotations

import json
import re

from recipes.facts import aws as facts

from tests.recipes.aws.helpers import bucket_subtree


def test_bucket_name_is_unique_and_valid(aws_plan, make_spec):
    spec = make_spec()
    name = aws_plan.one(facts.S3_BUCKET).inputs["bucket"]
    assert name == spec.names.s3_bucket()
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", name)
    assert name.endswith(spec.names.suffix)
    assert aws_plan.raw_outputs["bucket"] == {"name": name, "uri": f"s3://{name}"}


def test_bucket_security_configuration(aws_plan):
    bucket = aws_plan.one(facts.S3_BUCKET)
    name = bucket.inputs["bucket"]
    arn = f"arn:aws:s3:::{name}"
    configs = {r.type: r for r in bucket_subtree(aws_plan) if r.custom and r.type != facts.S3_BUCKET}
    for config in configs.values():
        assert bucket.urn in config.dependencies  # each one configures this bucket

    block = configs["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"].inputs
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block[flag] is True, flag
    ownership = configs["aws:s3/bucketOwnershipControls:BucketOwnershipControls"].inputs
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    sse = configs["aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"].inputs
    assert sse["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    versioning = configs["aws:s3/bucketVersioning:BucketVersioning"].inputs
    assert versioning["versioningConfiguration"]["status"] == "Enabled"

    bucket_policy = json.loads(configs["aws:s3/bucketPolicy:BucketPolicy"].inputs["policy"])
    (deny,) = bucket_policy["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert set(deny["Resource"]) == {arn, f"{arn}/*"}

    lifecycle = configs["aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"].inputs
    rules = [r for r in lifecycle["rules"] if r["status"] == "Enabled"]
    assert any(r.get("noncurrentVersionExpiration", {}).get("noncurrentDays", 0) > 0 for r in rules)
    assert configs["aws:s3/bucketVersioning:BucketVersioning"].urn in configs[
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    ].dependencies


def test_bucket_and_its_configuration_are_retained_by_default(aws_plan):
    resources = [r for r in bucket_subtree(aws_plan) if r.custom]
    assert len(resources) == 7  # bucket + public access, ownership, encryption, versioning, lifecycle, policy
    assert all(r.retain_on_delete for r in resources), [r.name for r in resources if not r.retain_on_delete]
    assert aws_plan.one(facts.S3_BUCKET).inputs["forceDestroy"] is False


def test_delete_data_releases_bucket(plans, make_spec):
    plan = plans(make_spec().with_changes(delete_data=True))
    resources = [r for r in bucket_subtree(plan) if r.custom]
    assert len(resources) == 7
    assert not any(r.retain_on_delete for r in resources)
    assert plan.one(facts.S3_BUCKET).inputs["forceDestroy"] is True


# ---------------------------------------------------------------------------
# Registry


def test_registry_repository_for_zenml(aws_plan):
    repo = aws_plan.one(facts.ECR_REPOSITORY)
    assert repo.inputs["name"] == "zenml"
    assert repo.inputs["imageScanningConfiguration"]["scanOnPush"] is True
    assert repo.inputs["imageTagMutability"] == "MUTABLE"
    assert repo.inputs["forceDelete"] is False
    assert repo.retain_on_delete is True
    lifecycle = aws_plan.one(facts.ECR_LIFECYCLE_POLICY)
    assert lifecycle.retain_on_delete is True
    assert lifecycle.inputs["repository"] == "zenml"
    rules = json.loads(lifecycle.inputs["policy"])["rules"]
    assert any(r["selection"]["tagStatus"] == "untagged" and r["action"]["type"] == "expire" for r in rules)


def test_registry_uri_is_the_host_only(aws_plan):
    uri = aws_plan.raw_outputs["registry"]["uri"]
    assert "/" not in uri
    assert re.fullmatch(r"\d{12}\.dkr\.ecr\.eu-west-1\.amazonaws\.com", uri)


def test_immutable_tags_option(plans):
    assert plans(immutable_tags=True).one(facts.ECR_REPOSITORY).inputs["imageTagMutability"] == "IMMUTABLE"


def test_delete_data_releases_registry(plans, make_spec):
    plan = plans(make_spec().with_changes(delete_data=True))
    repo = plan.one(facts.ECR_REPOSITORY)
    assert repo.inputs["forceDelete"] is True
    assert not repo.retain_on_delete
    assert not plan.one(facts.ECR_LIFECYCLE_POLICY).retain_on_delete


def test_data_resources_do_not_depend_on_the_cluster(aws_plan):
    eks_urns = {r.urn for r in aws_plan.resources if r.type.startswith("aws:eks") or r.type.startswith("recipes:aws:Cluster")}
    eks_urns |= {r.urn for r in aws_plan.resources if r.type.startswith("aws:ec2")}
    data = [r for r in aws_plan.subtree(aws_plan.one("recipes:aws:Bucket", "bucket")) if r.custom]
    data += [r for r in aws_plan.subtree(aws_plan.one("recipes:aws:Registry", "registry")) if r.custom]
    assert len(data) == 9
    for r in data:
        assert not aws_plan.deps_closure(r) & eks_urns, r.name
