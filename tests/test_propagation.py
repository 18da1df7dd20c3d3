"""Waits where a cloud is eventually consistent: what needs a grant waits until it is in effect.

Each wait is a `time:Sleep` created after the grants (recipes/propagation.py); these tests
check, on the rendered graph, that every resource that uses a grant depends on the wait,
and that the wait depends on every grant it stands for.
"""

from __future__ import annotations

import pytest

from provisioner.critical_path import analyse, seconds_for

from .conftest import spec_for

SLEEP = "time:index/sleep:Sleep"


@pytest.fixture(scope="module")
def gcp_kms(plans):
    return plans(spec_for("gcp", kms=True))


def test_gcp_resources_encrypted_with_the_key_wait_for_its_grants_to_take_effect(gcp_kms):
    wait = gcp_kms.one(SLEEP, "encryption-grants-wait")
    assert wait.inputs["createDuration"] == "2m"
    grants = gcp_kms.by_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
    assert len(grants) == 3 and {g.urn for g in grants} <= set(wait.dependencies)
    # A new agent (a changed member) means a new grant to wait for.
    assert set(wait.inputs["triggers"]) == {"bucket", "registry", "cluster"}
    for type_ in ("gcp:storage/bucket:Bucket", "gcp:artifactregistry/repository:Repository", "gcp:container/cluster:Cluster"):
        (resource,) = gcp_kms.by_type(type_)
        assert wait.urn in gcp_kms.deps_closure(resource), type_


def test_without_kms_there_is_nothing_to_wait_for(plans):
    assert not plans(spec_for("gcp")).by_type(SLEEP)


def test_the_wait_counts_on_the_critical_path(gcp_kms):
    wait = gcp_kms.one(SLEEP, "encryption-grants-wait")
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
