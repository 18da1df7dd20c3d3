"""The renderers give the scanners everything, in the shape their checks read.

A renderer that puts an input where no check looks makes that check pass by default or skip,
and proves nothing. So besides counting what was not rendered or not parsed, the last test
breaks one setting per check in the plan's own inputs (Pulumi's names), renders that plan with
the same code and runs Checkov on it: each check must then fail where it passed before. The
checks and what their source reads:
- CKV_AWS_53, checkov/terraform/checks/resource/aws/S3BlockPublicACLs.py: block_public_acls is true;
- CKV2_AWS_6, .../graph_checks/aws/S3BucketHasPublicAccessBlock.json: an aws_s3_bucket connected to an
  aws_s3_bucket_public_access_block whose block_public_acls and block_public_policy are true (the
  connection is the rendered reference `bucket = aws_s3_bucket.bucket.id`);
- CKV_AWS_341, .../aws/LaunchTemplateMetadataHop.py: metadata_options/[0]/http_put_response_hop_limit <= 1;
- CKV_GCP_7, .../gcp/GKEDisableLegacyAuth.py: enable_legacy_abac is not true;
- CKV_GCP_29, .../gcp/GoogleStorageBucketUniformAccess.py: uniform_bucket_level_access is true;
- CKV_AZURE_3, checkov/arm/checks/resource/StorageAccountsTransportEncryption.py:
  properties.supportsHttpsTrafficOnly (the wire name of the SDK's enableHttpsTrafficOnly; absent, it
  passes by the API version's default, which is why the rename needs this test);
- CKV_AZURE_137, .../ACRAdminAccountDisabled.py: properties/adminUserEnabled is false;
- CKV_AZURE_5, .../AKSRbacEnabled.py: properties.enableRBAC is true;
- CKV_K8S_16 and CKV_K8S_20, checkov/kubernetes/checks/resource/k8s/PrivilegedContainers.py and
  AllowPrivilegeEscalation.py: a container's securityContext.privileged / allowPrivilegeEscalation;
- on the `kubernetes` provider's object store (objects no cloud stack has): CKV_K8S_43, .../ImageDigest.py:
  "@" in a container's image; CKV_K8S_31, .../Seccomp.py: the pod template's
  securityContext.seccompProfile.type is RuntimeDefault.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest

from .scanners import run_checkov
from .stacks import STACKS, render_plan

# stack -> [(type, name, path of the input to set, value, check id, resource as Checkov names it)]
BREAKS = {
    "aws-dev": [
        ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "bucket-public-access", ("blockPublicAcls",), False,
         "CKV_AWS_53", "aws_s3_bucket_public_access_block.bucket-public-access"),
        ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "bucket-public-access", ("blockPublicAcls",), False,
         "CKV2_AWS_6", "aws_s3_bucket.bucket"),
        ("aws:ec2/launchTemplate:LaunchTemplate", "cluster-nodes", ("metadataOptions", "httpPutResponseHopLimit"), 2.0,
         "CKV_AWS_341", "aws_launch_template.cluster-nodes"),
        ("kubernetes:apps/v1:Deployment", "tracker-db", ("spec", "template", "spec", "containers", 0, "securityContext",
         "privileged"), True, "CKV_K8S_16", "Deployment.mlflow.tracker-db"),
        ("kubernetes:apps/v1:Deployment", "tracker-db", ("spec", "template", "spec", "containers", 0, "securityContext",
         "allowPrivilegeEscalation"), True, "CKV_K8S_20", "Deployment.mlflow.tracker-db"),
    ],
    "gcp-dev": [
        ("gcp:container/cluster:Cluster", "cluster", ("enableLegacyAbac",), True, "CKV_GCP_7",
         "google_container_cluster.cluster"),
        ("gcp:storage/bucket:Bucket", "bucket", ("uniformBucketLevelAccess",), False, "CKV_GCP_29",
         "google_storage_bucket.bucket"),
    ],
    "kubernetes-dev": [
        ("kubernetes:apps/v1:Deployment", "objectstore", ("spec", "template", "spec", "containers", 0, "image"),
         "docker.io/chrislusf/seaweedfs:4.47", "CKV_K8S_43", "Deployment.objectstore.objectstore"),
        ("kubernetes:apps/v1:Deployment", "objectstore", ("spec", "template", "spec", "securityContext",
         "seccompProfile", "type"), "Unconfined", "CKV_K8S_31", "Deployment.objectstore.objectstore"),
    ],
    "azure-dev": [
        ("azure-native:storage:StorageAccount", "bucket", ("enableHttpsTrafficOnly",), False, "CKV_AZURE_3",
         "Microsoft.Storage/storageAccounts.*"),
        ("azure-native:containerregistry:Registry", "registry", ("adminUserEnabled",), True, "CKV_AZURE_137",
         "Microsoft.ContainerRegistry/registries.*"),
        ("azure-native:containerservice:ManagedCluster", "cluster", ("enableRBAC",), False, "CKV_AZURE_5",
         "Microsoft.ContainerService/managedClusters.*"),
    ],
}


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_has_a_scanner_form(scans, stack):
    """No cloud resource without a Terraform or ARM type, no list whose Terraform name is a guess."""
    rendered = scans.rendered(stack)
    assert not rendered.unmapped(), f"add these types to render_terraform.TF_TYPES or render_arm: {rendered.unmapped()}"
    if rendered.terraform is not None:
        assert not rendered.terraform.unverified, (
            f"check these list names against the bridge metadata, then add them to LIST_NAMES: {rendered.terraform.unverified}")
        assert rendered.terraform.references, "no input became a reference: Checkov's graph connects nothing"


@pytest.mark.parametrize("stack", STACKS)
def test_checkov_parses_everything_and_skips_nothing(scans, stack):
    report = scans.checkov(stack)
    rendered = scans.rendered(stack)
    cloud = rendered.cloud_framework  # None: the plan has no cloud resources (the `kubernetes` provider)
    assert set(report.summaries) == {"kubernetes", *([cloud] if cloud else [])}, report.summaries
    assert not any(report.parsing_errors.values()), report.parsing_errors
    assert not report.of(result="skipped"), [f"{c.check_id} {c.resource}" for c in report.of(result="skipped")]
    addresses = rendered.terraform.addresses if rendered.terraform else rendered.arm.addresses if rendered.arm else {}
    named = {c.resource for c in report.checks if c.framework != "kubernetes"}
    assert named <= set(addresses), f"results for resources we did not render: {sorted(named - set(addresses))}"


def test_checks_read_what_we_render(scans, venv, tmp_path):
    import fnmatch

    folders = {}
    for stack, breaks in BREAKS.items():
        plan = copy.deepcopy(scans.rendered(stack).plan)
        for type_, name, path, value, _, _ in breaks:
            target = plan.one(type_, name).inputs
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
        folders[stack] = render_plan(stack, tmp_path / stack, plan, scans.rendered(stack).revealed)
    broken = run_checkov(venv, SimpleNamespace(folder=tmp_path, source_of=lambda framework, resource: None))
    for stack, breaks in BREAKS.items():
        before = scans.checkov(stack).checks
        after = [c for c in broken.checks if c.file.lstrip("/").startswith(f"{stack}/")]
        for *_, check_id, resource in breaks:
            def results(checks):
                return {c.result for c in checks if c.check_id == check_id and fnmatch.fnmatchcase(c.resource, resource)}
            assert results(before) == {"passed"}, f"{stack} {check_id} {resource} before: {results(before)}"
            assert results(after) == {"failed"}, f"{stack} {check_id} {resource} broken: {results(after)}"
