"""The storage account, its container and the container registry as planned on Azure."""

from __future__ import annotations

from provisioner.analysis.mockcloud import azure as azure_mock
from recipes.azure import roles
from recipes.facts import azure as facts

from tests.recipes.azure.helpers import azure, cluster_side, mock_outputs, registry_id, role_assignments, storage_id


def test_storage_account_is_private_https_only_and_keyless(plan, spec):
    account = plan.one(facts.STORAGE_ACCOUNT).inputs
    assert account["accountName"] == spec.names.storage_account()
    assert 3 <= len(account["accountName"]) <= 24 and account["accountName"].isalnum() and account["accountName"].islower()
    assert account["kind"] == "StorageV2"
    assert account["sku"] == {"name": "Standard_LRS"}
    assert account["enableHttpsTrafficOnly"] is True  # B4
    assert account["minimumTlsVersion"] == "TLS1_2"  # B4
    assert account["allowBlobPublicAccess"] is False  # B1
    assert account["allowSharedKeyAccess"] is False  # B6
    assert account["defaultToOAuthAuthentication"] is True


def test_blob_versioning_soft_delete_and_version_expiry(plan):
    service = plan.one(facts.BLOB_SERVICE_PROPERTIES).inputs
    assert service["blobServicesName"] == "default"
    assert service["isVersioningEnabled"] is True  # B5
    assert service["deleteRetentionPolicy"]["enabled"] is True and service["deleteRetentionPolicy"]["days"] >= 7
    assert service["containerDeleteRetentionPolicy"]["enabled"] is True
    (rule,) = plan.one(facts.STORAGE_MANAGEMENT_POLICY).inputs["policy"]["rules"]
    assert plan.one(facts.STORAGE_MANAGEMENT_POLICY).inputs["managementPolicyName"] == "default"
    assert rule["enabled"] is True
    # Only old versions expire: nothing deletes current blobs.
    assert set(rule["definition"]["actions"]) == {"version"}
    assert rule["definition"]["actions"]["version"]["delete"]["daysAfterCreationGreaterThan"] == 30


def test_container_is_private_and_waits_for_the_blob_service(plan, spec):
    container = plan.one(facts.BLOB_CONTAINER)
    assert container.inputs["containerName"] == spec.names.blob_container() == "artifacts"
    assert container.inputs["publicAccess"] == "None"  # B1
    assert container.inputs["accountName"] == spec.names.storage_account()
    assert plan.one(facts.BLOB_SERVICE_PROPERTIES).urn in container.dependencies


def test_deployer_reads_and_writes_the_artifacts(plan, spec):
    (deployer,) = [r for r in role_assignments(plan, roles.STORAGE_BLOB_DATA_CONTRIBUTOR)
                   if r.inputs["principalId"] == azure_mock.FAKE_DEPLOYER_OBJECT_ID]
    assert deployer.inputs["scope"] == storage_id(spec)
    assert "principalType" not in deployer.inputs


def test_bucket_outputs(plan, spec):
    bucket = plan.raw_outputs["bucket"]
    assert bucket == {"name": "artifacts", "uri": "az://artifacts", "account": spec.names.storage_account()}


# ---------------------------------------------------------------------------
# Registry


def test_registry_is_basic_without_admin_user_or_anonymous_pull(plan, spec):
    registry = plan.one(facts.CONTAINER_REGISTRY).inputs
    assert registry["registryName"] == spec.names.container_registry()
    assert registry["sku"] == {"name": "Basic"}
    assert registry["adminUserEnabled"] is False  # R3
    assert registry["anonymousPullEnabled"] is False  # R3
    assert plan.raw_outputs["registry"]["uri"] == f"{spec.names.container_registry()}.azurecr.io"
    assert "/" not in plan.raw_outputs["registry"]["uri"]


def test_kubelet_identity_may_pull_from_this_registry_only(plan, spec):
    (pull,) = role_assignments(plan, roles.ACR_PULL)
    kubelet = mock_outputs(plan, plan.one(facts.AKS_CLUSTER))["identityProfile"]["kubeletidentity"]["objectId"]
    assert pull.inputs["principalId"] == kubelet
    assert pull.inputs["principalType"] == "ServicePrincipal"
    assert pull.inputs["scope"] == registry_id(spec)
    assert pull.parent == plan.one("recipes:azure:Registry", "registry").urn


def test_registry_without_a_cluster_grants_no_pull(plans):
    plan = azure(plans, without=["cluster", "tracker", "deployer"])
    plan.one(facts.CONTAINER_REGISTRY)
    assert role_assignments(plan, roles.ACR_PULL) == []


def test_registry_stays_basic_with_platform_keys_without_kms(plan):
    registry = plan.one(facts.CONTAINER_REGISTRY).inputs
    assert registry["sku"] == {"name": "Basic"}
    assert "encryption" not in registry and "identity" not in registry


def test_data_resources_do_not_depend_on_the_cluster(plan):
    data = [r for r in plan.subtree(plan.one("recipes:azure:Bucket", "bucket")) if r.custom]
    data.append(plan.one(facts.CONTAINER_REGISTRY))
    data.append(plan.one(facts.RESOURCE_GROUP, "data-group"))
    assert len(data) == 7
    for r in data:
        assert not plan.deps_closure(r) & cluster_side(plan), r.name
