"""Waits where a cloud is eventually consistent: what needs a grant waits until it is in effect.

Each wait is a `time:Sleep` created after the grants (recipes/propagation.py); these tests
check, on the rendered graph, that every resource that uses a grant depends on the wait,
and that the wait depends on every grant it stands for.
"""

from __future__ import annotations

import pytest

from provisioner.analysis.critical_path import analyse, seconds_for
from recipes.facts import any_cloud as k8s_facts

from tests.conftest import spec_for

SLEEP = k8s_facts.TIME_SLEEP


@pytest.fixture(scope="module")
def gcp_kms(plans):
    return plans(spec_for("gcp", kms=True))


@pytest.mark.parametrize("component,type_", [
    ("bucket", "gcp:storage/bucket:Bucket"),
    ("registry", "gcp:artifactregistry/repository:Repository"),
    ("cluster", "gcp:container/cluster:Cluster"),
])
def test_gcp_resources_encrypted_with_the_key_wait_for_their_agents_grant(gcp_kms, component, type_):
    wait = gcp_kms.one(SLEEP, f"encryption-{component}-agent-wait")
    grant = gcp_kms.one("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", f"encryption-{component}-agent")
    assert wait.inputs["createDuration"] == "2m" and grant.urn in wait.dependencies
    # A new agent (a changed member) means a new grant to wait for.
    assert wait.inputs["triggers"] == {"member": grant.inputs["member"]}
    (resource,) = gcp_kms.by_type(type_)
    assert wait.urn in gcp_kms.deps_closure(resource), type_
    # ... and only for its own: the data never waits for the cluster's grant.
    others = {gcp_kms.one(SLEEP, f"encryption-{c}-agent-wait").urn for c in ("bucket", "registry", "cluster") if c != component}
    assert not others & gcp_kms.deps_closure(resource)


def test_without_kms_there_is_nothing_to_wait_for(plans):
    assert not plans(spec_for("gcp")).by_type(SLEEP)


def test_the_wait_counts_on_the_critical_path(gcp_kms):
    wait = gcp_kms.one(SLEEP, "encryption-cluster-agent-wait")
    assert seconds_for(wait) == 120
    assert analyse(gcp_kms.plan).critical_seconds > deploy_time_without_waits(gcp_kms.plan)


def deploy_time_without_waits(plan) -> float:
    from dataclasses import replace

    return analyse(replace(plan, resources=[
        r if r.type != SLEEP else replace(r, inputs={**r.inputs, "createDuration": "0s"}) for r in plan.resources
    ])).critical_seconds


@pytest.fixture(scope="module")
def azure_kms(plans):
    return plans(spec_for("azure", kms=True))


def test_azure_key_vault_key_waits_for_the_deployers_role_to_take_effect(azure_kms):
    officer = azure_kms.one("azure-native:authorization:RoleAssignment", "kms-deployer-crypto-officer")
    wait = azure_kms.one(SLEEP, "kms-deployer-crypto-officer-wait")
    assert wait.inputs["createDuration"] == "5m" and officer.urn in wait.dependencies
    key = azure_kms.one("azure-native:keyvault:Key")
    assert wait.urn in key.dependencies


def test_azure_storage_and_registry_wait_for_the_encryption_identity(azure_kms):
    role = azure_kms.one("azure-native:authorization:RoleAssignment", "kms-encryption-user")
    wait = azure_kms.one(SLEEP, "kms-encryption-user-wait")
    assert role.urn in wait.dependencies
    for type_ in ("azure-native:storage:StorageAccount", "azure-native:containerregistry:Registry"):
        (resource,) = azure_kms.by_type(type_)
        assert wait.urn in azure_kms.deps_closure(resource), type_


def test_aks_kubernetes_objects_wait_for_the_deployers_cluster_admin_role(plans):
    plan = plans(spec_for("azure"))
    wait = plan.one(SLEEP, "cluster-admin-wait")
    (admin,) = [r for r in plan.by_type("azure-native:authorization:RoleAssignment") if r.urn in wait.dependencies]
    assert admin.name.startswith("cluster-admin-") and wait.inputs["createDuration"] == "5m"
    provider = plan.one("pulumi:providers:kubernetes")
    assert wait.urn in provider.dependencies
    # Every Kubernetes object goes through that provider: none is created before the role works.
    namespace = plan.one("kubernetes:core/v1:Namespace", "tracker-ns")
    assert wait.urn in plan.deps_closure(namespace)


def test_aks_kms_waits_for_the_control_planes_role_on_the_key(azure_kms):
    wait = azure_kms.one(SLEEP, "cluster-kms-crypto-user-wait")
    assert azure_kms.one("azure-native:authorization:RoleAssignment", "cluster-kms-crypto-user").urn in wait.dependencies
    assert wait.urn in azure_kms.one("azure-native:containerservice:ManagedCluster").dependencies
