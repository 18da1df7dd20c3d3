"""--kms on Azure: the stack's Key Vault key for storage, registry and AKS secrets (B3, C3)."""

from __future__ import annotations

from provisioner.analysis.mockcloud import FAKE_AZURE_SUBSCRIPTION as SUB
from provisioner.analysis.mockcloud import FAKE_AZURE_TENANT as TENANT
from provisioner.analysis.mockcloud import azure as azure_mock
from recipes import outputs
from recipes.azure import roles
from recipes.facts import azure as facts

from tests.recipes.azure.helpers import (
    AZURE_PROVIDER, KEY_VAULT_CRYPTO_OFFICER, KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER, KEY_VAULT_CRYPTO_USER,
    KEY_VAULT_ROLES, azure, cluster_side, encryption_identity_id, key_id, key_uri, mock_outputs,
    role_assignments, taggable, vault_id,
)
from tests.recipes.plans import USER_TAGS


def test_kms_vault_is_purge_protected_rbac_only_and_in_the_data_group(kms_plan, kms_spec):
    vault = kms_plan.one(facts.KEY_VAULT)
    assert vault.inputs["vaultName"] == kms_spec.names.key_vault()
    assert 3 <= len(vault.inputs["vaultName"]) <= 24
    props = vault.inputs["properties"]
    assert props["sku"] == {"family": "A", "name": "standard"}
    assert props["tenantId"] == TENANT
    assert props["enableRbacAuthorization"] is True  # Azure RBAC: no access policies
    assert "accessPolicies" not in props
    assert props["enablePurgeProtection"] is True  # required for customer-managed keys
    assert props["enableSoftDelete"] is True and props["softDeleteRetentionInDays"] == 7  # the minimum
    assert props["publicNetworkAccess"] == "Enabled"  # the deployer creates the key from outside
    assert props["enabledForDeployment"] is False and props["enabledForTemplateDeployment"] is False
    # In the data group, so it survives a destroy with the data it encrypts.
    data = kms_plan.one(facts.RESOURCE_GROUP, "data-group")
    assert vault.inputs["resourceGroupName"] == kms_spec.names.resource_group("data")
    assert data.urn in vault.dependencies
    assert vault.inputs["location"] == "westeurope"
    assert vault.retain_on_delete
    assert mock_outputs(kms_plan, vault)["id"] == vault_id(kms_spec)


def test_kms_key_is_rsa_3072_with_a_rotation_policy(kms_plan, kms_spec):
    key = kms_plan.one(facts.KEY_VAULT_KEY)
    assert key.inputs["keyName"] == "cmk"
    assert key.inputs["vaultName"] == kms_spec.names.key_vault()
    assert key.inputs["resourceGroupName"] == kms_spec.names.resource_group("data")
    props = key.inputs["properties"]
    assert props["kty"] == "RSA" and props["keySize"] == 3072
    assert set(props["keyOps"]) == {"encrypt", "decrypt", "wrapKey", "unwrapKey"}  # no sign/verify
    (action,) = props["rotationPolicy"]["lifetimeActions"]
    assert action == {"action": {"type": "rotate"}, "trigger": {"timeAfterCreate": "P1Y"}}
    # No expiry: AKS pins a key version, and an expired version would stop it encrypting secrets.
    assert "expires" not in props.get("attributes", {})
    assert "expiryTime" not in (props["rotationPolicy"].get("attributes") or {})
    assert key.retain_on_delete
    assert kms_plan.one(facts.KEY_VAULT).urn in key.dependencies
    assert mock_outputs(kms_plan, key)["id"] == key_id(kms_spec)


def test_deployer_is_crypto_officer_on_this_vault_only(kms_plan, kms_spec):
    (officer,) = role_assignments(kms_plan, KEY_VAULT_CRYPTO_OFFICER)
    assert officer.name == "kms-deployer-crypto-officer"
    assert officer.inputs["scope"] == vault_id(kms_spec)
    assert officer.inputs["principalId"] == azure_mock.FAKE_DEPLOYER_OBJECT_ID
    assert "principalType" not in officer.inputs  # a user or a service principal: Azure looks it up
    assert officer.retain_on_delete  # the key is deleted (--delete-data) through it
    # The key is created through the data plane on the deployer's behalf: only once it may.
    assert officer.urn in kms_plan.one(facts.KEY_VAULT_KEY).dependencies


def test_encryption_identity_lives_in_the_data_group_and_may_use_only_the_key(kms_plan, kms_spec):
    identity = kms_plan.one(facts.USER_ASSIGNED_IDENTITY, "kms-identity")
    assert identity.inputs["resourceName"] == kms_spec.names.managed_identity("encryption")
    assert identity.inputs["resourceGroupName"] == kms_spec.names.resource_group("data")
    assert kms_plan.one(facts.RESOURCE_GROUP, "data-group").urn in identity.dependencies
    assert identity.retain_on_delete
    assert mock_outputs(kms_plan, identity)["id"] == encryption_identity_id(kms_spec)
    (role,) = role_assignments(kms_plan, KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER)
    assert role.name == "kms-encryption-user"
    assert role.inputs["scope"] == key_id(kms_spec)  # this key: not the vault, the group or the subscription
    assert role.inputs["principalId"] == mock_outputs(kms_plan, identity)["principalId"]
    assert role.inputs["principalType"] == "ServicePrincipal"
    assert role.retain_on_delete


def test_storage_account_encrypts_with_the_key_through_the_encryption_identity(kms_plan, kms_spec):
    account = kms_plan.one(facts.STORAGE_ACCOUNT)
    encryption = account.inputs["encryption"]
    assert encryption["keySource"] == "Microsoft.Keyvault"
    # Versionless: the account follows the key's rotations.
    assert encryption["keyVaultProperties"] == {
        "keyName": "cmk", "keyVaultUri": f"https://{kms_spec.names.key_vault()}.vault.azure.net/",
    }
    assert encryption["encryptionIdentity"] == {"encryptionUserAssignedIdentity": encryption_identity_id(kms_spec)}
    assert encryption["services"]["blob"]["enabled"] is True
    assert account.inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [encryption_identity_id(kms_spec)]}
    # Everything else about the account is as without --kms.
    assert account.inputs["allowSharedKeyAccess"] is False and account.inputs["allowBlobPublicAccess"] is False


def test_registry_moves_to_premium_for_its_customer_managed_key(kms_plan, kms_spec):
    registry = kms_plan.one(facts.CONTAINER_REGISTRY)
    assert registry.inputs["sku"] == {"name": "Premium"}  # customer-managed keys need Premium
    identity = kms_plan.one(facts.USER_ASSIGNED_IDENTITY, "kms-identity")
    assert registry.inputs["encryption"] == {
        "status": "enabled",
        # Versionless: ACR follows the key's rotations.
        "keyVaultProperties": {"keyIdentifier": key_uri(kms_spec), "identity": mock_outputs(kms_plan, identity)["clientId"]},
    }
    assert registry.inputs["identity"] == {
        "type": "UserAssigned", "userAssignedIdentities": {encryption_identity_id(kms_spec): {}},
    }
    assert registry.inputs["adminUserEnabled"] is False and registry.inputs["anonymousPullEnabled"] is False
    assert registry.retain_on_delete


def test_aks_encrypts_secrets_with_the_key(kms_plan, kms_spec):
    cluster = kms_plan.one(facts.AKS_CLUSTER)
    profile = cluster.inputs["securityProfile"]
    kms = profile["azureKeyVaultKms"]
    assert kms["enabled"] is True and kms["keyVaultNetworkAccess"] == "Public"
    # AKS takes a versioned key URI: the key's current version.
    version = kms["keyId"].removeprefix(key_uri(kms_spec) + "/")
    assert kms["keyId"] == mock_outputs(kms_plan, kms_plan.one(facts.KEY_VAULT_KEY))["keyUriWithVersion"]
    assert len(version) == 32 and int(version, 16) >= 0
    assert "keyVaultResourceId" not in kms  # only for a private vault
    assert profile["workloadIdentity"] == {"enabled": True}  # C5 unchanged
    # The control plane may encrypt and decrypt with this key only, before the cluster starts.
    (user,) = role_assignments(kms_plan, KEY_VAULT_CRYPTO_USER)
    control_plane = kms_plan.one(facts.USER_ASSIGNED_IDENTITY, "cluster-identity")
    assert user.name == "cluster-kms-crypto-user"
    assert user.inputs["scope"] == key_id(kms_spec)
    assert user.inputs["principalId"] == mock_outputs(kms_plan, control_plane)["principalId"]
    assert user.inputs["principalType"] == "ServicePrincipal"
    assert user.urn in cluster.dependencies
    # It names an identity that goes with the cluster: not retained.
    assert not user.retain_on_delete


def test_everything_that_uses_the_key_waits_for_its_role_assignment(kms_plan):
    encryption_user = kms_plan.one(facts.ROLE_ASSIGNMENT, "kms-encryption-user").urn
    assert encryption_user in kms_plan.one(facts.STORAGE_ACCOUNT).dependencies
    assert encryption_user in kms_plan.one(facts.CONTAINER_REGISTRY).dependencies
    assert kms_plan.one(facts.ROLE_ASSIGNMENT, "cluster-kms-crypto-user").urn in kms_plan.one(facts.AKS_CLUSTER).dependencies
    assert kms_plan.one(facts.ROLE_ASSIGNMENT, "kms-deployer-crypto-officer").urn in kms_plan.one(facts.KEY_VAULT_KEY).dependencies
    # The data does not wait for the cluster to use the key, nor the key for the cluster.
    for type_ in (facts.STORAGE_ACCOUNT, facts.CONTAINER_REGISTRY, facts.KEY_VAULT_KEY, facts.KEY_VAULT):
        r = kms_plan.one(type_)
        assert not kms_plan.deps_closure(r) & cluster_side(kms_plan), r.name


def test_key_vault_roles_are_scoped_to_this_vault_only(kms_plan, kms_spec):
    kv_roles = [r for r in kms_plan.by_type(facts.ROLE_ASSIGNMENT) if r.inputs["roleDefinitionId"].rsplit("/", 1)[-1] in KEY_VAULT_ROLES]
    assert sorted(r.name for r in kv_roles) == ["cluster-kms-crypto-user", "kms-deployer-crypto-officer", "kms-encryption-user"]
    for r in kv_roles:
        scope = r.inputs["scope"]
        assert scope == vault_id(kms_spec) or scope == key_id(kms_spec), r.name
    # Nothing else changes: no broad role, no subscription- or group-wide scope anywhere.
    allowed = {roles.ACR_PULL, roles.STORAGE_BLOB_DATA_CONTRIBUTOR, roles.AKS_RBAC_CLUSTER_ADMIN, roles.NETWORK_CONTRIBUTOR} | KEY_VAULT_ROLES
    assert len(kms_plan.by_type(facts.ROLE_ASSIGNMENT)) == 6 + 3
    for r in kms_plan.by_type(facts.ROLE_ASSIGNMENT):
        assert r.inputs["roleDefinitionId"].rsplit("/", 1)[-1] in allowed, r.name
        assert r.inputs["scope"].startswith(f"/subscriptions/{SUB}/resourceGroups/") and "/providers/" in r.inputs["scope"], r.name
        role = r.inputs["roleDefinitionId"].rsplit("/", 1)[-1]
        assert r.inputs["roleAssignmentName"] == roles.assignment_name(
            SUB, kms_spec.name, kms_spec.names.suffix, role, r.inputs["scope"], r.inputs["principalId"])


def test_kms_resources_are_tagged_located_and_use_the_stack_provider(plans, helpers):
    plan = azure(plans, kms=True, tags=USER_TAGS)
    expected = {"recipe-stack": "ml-dev", "managed-by": "stack-recipes", **USER_TAGS}
    (provider,) = plan.by_type(AZURE_PROVIDER)
    for r in plan.subtree(plan.one("recipes:azure:Kms", "kms")):
        if not r.custom or r.type.startswith("time:"):  # a propagation wait, not an Azure resource
            continue
        assert helpers.provider_urn(r.provider) == provider.urn, r.name
        if taggable(r.type):
            assert r.inputs.get("tags") == expected, r.name
        if "location" in r.inputs:
            assert r.inputs["location"] == "westeurope", r.name
    assert taggable(facts.KEY_VAULT) and taggable(facts.KEY_VAULT_KEY)


def test_without_kms_none_of_it(plan):
    assert not plan.by_type(facts.KEY_VAULT) and not plan.by_type(facts.KEY_VAULT_KEY)
    assert not [r for r in plan.resources if r.type.startswith("azure-native:keyvault:")]
    assert not [r for r in plan.by_type(facts.ROLE_ASSIGNMENT) if r.inputs["roleDefinitionId"].rsplit("/", 1)[-1] in KEY_VAULT_ROLES]
    assert "kms-identity" not in {r.name for r in plan.by_type(facts.USER_ASSIGNED_IDENTITY)}
    account = plan.one(facts.STORAGE_ACCOUNT).inputs
    assert "encryption" not in account and "identity" not in account  # Microsoft-managed keys
    assert "azureKeyVaultKms" not in plan.one(facts.AKS_CLUSTER).inputs["securityProfile"]


def test_kms_on_a_storage_only_stack_has_no_cluster_role(plans):
    plan = azure(plans, kms=True, without=["cluster", "tracker", "deployer"])
    assert plan.one(facts.KEY_VAULT) and plan.one(facts.KEY_VAULT_KEY) and plan.one(facts.USER_ASSIGNED_IDENTITY, "kms-identity")
    assert [r.name for r in role_assignments(plan, KEY_VAULT_CRYPTO_USER)] == []
    assert plan.one(facts.STORAGE_ACCOUNT).inputs["encryption"]["keySource"] == "Microsoft.Keyvault"
    assert plan.one(facts.CONTAINER_REGISTRY).inputs["sku"] == {"name": "Premium"}


def test_kms_on_a_cluster_without_bucket_or_registry_needs_no_encryption_identity(plans, kms_spec):
    plan = azure(plans, kms=True, components=["cluster"])
    assert plan.one(facts.KEY_VAULT) and plan.one(facts.KEY_VAULT_KEY)
    assert [r.name for r in plan.by_type(facts.USER_ASSIGNED_IDENTITY)] == ["cluster-identity"]
    assert role_assignments(plan, KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER) == []
    assert plan.one(facts.AKS_CLUSTER).inputs["securityProfile"]["azureKeyVaultKms"]["enabled"] is True
    # The vault still lives in the data group.
    assert plan.one(facts.KEY_VAULT).inputs["resourceGroupName"] == kms_spec.names.resource_group("data")


def test_registry_only_stack_with_kms(plans):
    plan = azure(plans, kms=True, components=["registry"])
    assert plan.one(facts.CONTAINER_REGISTRY).inputs["sku"] == {"name": "Premium"}
    assert plan.one(facts.ROLE_ASSIGNMENT, "kms-encryption-user").urn in plan.one(facts.CONTAINER_REGISTRY).dependencies
    assert not plan.by_type(facts.STORAGE_ACCOUNT) and not plan.by_type(facts.AKS_CLUSTER)


def test_canonical_outputs_unchanged_with_kms(kms_plan):
    clean = outputs.validate(kms_plan.raw_outputs)
    assert set(outputs.components(clean)) == {"cluster", "bucket", "registry", "tracker", "deployer"}
    assert set(kms_plan.secret_outputs) == {"cluster.kubeconfig", "tracker.password"}
