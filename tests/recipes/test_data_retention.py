"""What a destroy keeps, on every cloud (D1): the data, retained and protected; with
--delete-data nothing (but what the cloud cannot delete); with --kms the key, as long as the data.
And what a destroy must remove first: the load balancers, before the network they use.

`recipe destroy` leaves what is protected (provisioner/engine/teardown.py), so protected and
retained must name the same resources. The per-cloud sets are spelled out below.
"""

from __future__ import annotations

import pytest

from recipes.facts import aws as aws_facts
from recipes.facts import azure as azure_facts
from recipes.facts import gcp as gcp_facts

from tests.recipes.aws import helpers as aws
from tests.recipes.plans import PROVIDERS, STORAGE_ONLY, load_balancers, program_spec, protected, retained

AWS_BUCKET_CONFIG = {
    (aws_facts.S3_PUBLIC_ACCESS_BLOCK, "bucket-public-access"),
    (aws_facts.S3_OWNERSHIP_CONTROLS, "bucket-ownership"),
    (aws_facts.S3_ENCRYPTION, "bucket-encryption"),
    (aws_facts.S3_VERSIONING, "bucket-versioning"),
    ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "bucket-lifecycle"),
    (aws_facts.S3_BUCKET_POLICY, "bucket-tls-only"),
}
RETAINED = {
    "aws": {(aws_facts.S3_BUCKET, "bucket"), *AWS_BUCKET_CONFIG,
            (aws_facts.ECR_REPOSITORY, "registry"), (aws_facts.ECR_LIFECYCLE_POLICY, "registry-lifecycle")},
    "gcp": {(gcp_facts.GCS_BUCKET, "bucket"), (gcp_facts.ARTIFACT_REGISTRY, "registry")},
    "azure": {
        (azure_facts.RESOURCE_GROUP, "data-group"),
        (azure_facts.STORAGE_ACCOUNT, "bucket"),
        (azure_facts.BLOB_SERVICE_PROPERTIES, "bucket-blob-service"),
        (azure_facts.STORAGE_MANAGEMENT_POLICY, "bucket-lifecycle"),
        (azure_facts.BLOB_CONTAINER, "bucket-container"),
        (azure_facts.ROLE_ASSIGNMENT, "bucket-deployer-data"),  # the user keeps access to the data that is kept
        (azure_facts.CONTAINER_REGISTRY, "registry"),
    },
}
# With --kms, the key (and what lets the kept data use it) is kept too.
KMS_RETAINED = {
    "aws": RETAINED["aws"] | {(aws_facts.KMS_KEY, "encryption"), (aws_facts.KMS_ALIAS, "encryption-alias")},
    "gcp": RETAINED["gcp"] | {(gcp_facts.KMS_KEY_RING, "encryption-ring"), (gcp_facts.KMS_CRYPTO_KEY, "encryption-key"),
                              (gcp_facts.KMS_CRYPTO_KEY_IAM_MEMBER, "encryption-bucket-agent"),
                              (gcp_facts.KMS_CRYPTO_KEY_IAM_MEMBER, "encryption-registry-agent")},
    "azure": RETAINED["azure"] | {
        (azure_facts.KEY_VAULT, "kms-vault"), (azure_facts.KEY_VAULT_KEY, "kms-key"), (azure_facts.USER_ASSIGNED_IDENTITY, "kms-identity"),
        (azure_facts.ROLE_ASSIGNMENT, "kms-deployer-crypto-officer"), (azure_facts.ROLE_ASSIGNMENT, "kms-encryption-user"),
    },
}
# What even --delete-data keeps: GCP cannot delete a key ring, so the stack only forgets it.
UNDELETABLE_WITH_KMS = {"aws": set(), "gcp": {(gcp_facts.KMS_KEY_RING, "encryption-ring")}, "azure": set()}
# What a LoadBalancer Service must outlive (destroy runs in reverse dependency order), by type, by
# name, and how many: on AWS the internet and NAT gateways and the route tables (or the gateway
# detach fails while the load balancer still maps public addresses in the VPC); on GCP the network,
# subnet, router and NAT (GKE's forwarding and firewall rules use them); on Azure the cluster, its
# subnet and VNet, and the control plane's right to use that subnet.
LOAD_BALANCER_OUTLIVES = {
    "aws": ((aws.IGW, aws_facts.EC2_NAT_GATEWAY, aws.RT_ASSOC), (), 6),
    "gcp": ((gcp_facts.COMPUTE_NETWORK, gcp_facts.COMPUTE_SUBNETWORK, gcp_facts.COMPUTE_ROUTER, gcp_facts.ROUTER_NAT), (), 4),
    "azure": ((azure_facts.AKS_CLUSTER, azure_facts.SUBNET, azure_facts.VIRTUAL_NETWORK),
              ((azure_facts.ROLE_ASSIGNMENT, "cluster-subnet-network-contributor"),), 4),
}

pytestmark = pytest.mark.parametrize("provider", PROVIDERS)


def test_the_data_is_retained_and_protected_by_default(plans, provider):
    plan = plans(program_spec(provider))
    assert retained(plan) == RETAINED[provider]
    assert protected(plan) == RETAINED[provider]


def test_delete_data_retains_and_protects_nothing(plans, provider):
    spec = program_spec(provider)
    plan = plans(spec.with_changes(delete_data=True))
    assert retained(plan) == set() and protected(plan) == set()
    # Same resources otherwise: --delete-data changes only what a destroy keeps.
    assert plan.keys() == plans(spec).keys()


def test_a_storage_only_stack_keeps_the_same_data(plans, provider):
    plan = plans(program_spec(provider, **STORAGE_ONLY))
    assert retained(plan) == protected(plan) == RETAINED[provider]


def test_the_key_is_kept_as_long_as_the_data(plans, provider):
    plan = plans(program_spec(provider, kms=True))
    assert retained(plan) == KMS_RETAINED[provider]
    assert protected(plan) == KMS_RETAINED[provider]


def test_delete_data_releases_the_key_with_the_data(plans, provider):
    spec = program_spec(provider, kms=True)
    released = plans(spec.with_changes(delete_data=True))
    assert retained(released) == UNDELETABLE_WITH_KMS[provider]
    assert protected(released) == set()
    assert released.keys() == plans(spec).keys()


def test_load_balancers_are_destroyed_before_the_network_they_use(plans, provider):
    plan = plans(program_spec(provider))
    types, named, count = LOAD_BALANCER_OUTLIVES[provider]
    network = {r.urn for type_ in types for r in plan.by_type(type_)} | {plan.one(*key).urn for key in named}
    assert len(network) == count
    services = load_balancers(plan)
    assert {s.name for s in services} == {"ingress-lb"}  # the tracker shares it
    for service in services:
        missing = network - plan.deps_closure(service)
        assert not missing, f"{service.name} does not wait for {sorted(m.rsplit('::', 1)[-1] for m in missing)}"
