"""--kms: the stack's customer-managed key, in a Key Vault that lives as long as the data (B3, C3).

What it creates, all in the *data* resource group:

- a Key Vault (standard tier) with Azure RBAC authorization (no access
  policies), soft delete with the minimum retention (7 days) and purge
  protection, which Azure requires of a vault holding customer-managed keys for
  Storage and ACR. Purge protection cannot be switched off, and a deleted vault
  cannot be purged: once deleted (`destroy --delete-data`), the vault *name*
  stays reserved for the 7 retention days, so the same stack can only be
  re-created after that (or by recovering the deleted vault).
  Public network access stays on: the deployer creates the key from outside
  and AKS KMS in its "Public" mode reaches the vault over the internet;
  every call is still authenticated and authorised through Entra ID. It stays
  on with --network-rules too: AKS KMS in public mode cannot pass a Key Vault
  firewall, nor can ACR's user-assigned key identity (firewall.py).
- the deploying principal gets "Key Vault Crypto Officer" on this vault only:
  the key is created (and, on --delete-data, deleted) through the Key Vault
  data plane on its behalf.
- one RSA 3072 key with a rotation policy: Key Vault makes a new version once a
  year. Storage and ACR follow the newest version by themselves (they are
  given the versionless key); AKS is given a version, which stays enabled after
  a rotation, and moves to the new version on the next deploy that refreshes
  the key. Versions have no expiry date on purpose: an expired version would
  stop the cluster from encrypting its secrets.
- a user-assigned identity for encryption at rest, with "Key Vault Crypto
  Service Encryption User" (get, wrap, unwrap) on this key only (I1): the
  storage account and the registry use it to reach the key.

The key must live as long as the data it encrypts: losing it makes the
artifacts and images unreadable. So the vault, the key, the encryption identity
and their role assignments are `retain_on_delete` exactly like the storage
account (D1), and go only with --delete-data.

Costs (why this is an option): Key Vault bills per operation, 3072-bit keys at
the "advanced key" rate, and each automatic rotation; with --kms the registry
also moves from Basic to Premium (customer-managed keys need Premium), about ten
times the price of Basic.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native.keyvault as keyvault
import pulumi_azure_native.managedidentity as managedidentity

from ..cloud import kept
from . import roles
from .identity import managed_identity
from .placement import Placement

KEY_NAME = "cmk"
KEY_SIZE = 3072
SOFT_DELETE_DAYS = 7  # the minimum Azure accepts
ROTATE_AFTER = "P1Y"  # ISO 8601: a new key version every year
# Storage and ACR wrap/unwrap their data keys; AKS KMS encrypts/decrypts its own.
KEY_OPS = ["encrypt", "decrypt", "wrapKey", "unwrapKey"]


@dataclass
class KmsArgs(Placement):  # in the data group
    vault_name: str
    identity_name: str
    tenant_id: pulumi.Input[str]
    roles: roles.Roles
    # Whether anything encrypts at rest with the key (bucket, registry): only then the identity.
    encryption_identity: bool = True
    retain: bool = True  # D1: the key lives as long as the data


class Kms(pulumi.ComponentResource):
    vault: keyvault.Vault
    key: keyvault.Key
    officer_role: pulumi.Resource
    identity: managedidentity.UserAssignedIdentity | None
    identity_role: pulumi.Resource | None
    vault_uri: pulumi.Output[str]
    key_name: pulumi.Output[str]
    key_id: pulumi.Output[str]  # the ARM id: the scope of role assignments on the key
    key_uri: pulumi.Output[str]  # versionless: services follow rotations
    key_uri_with_version: pulumi.Output[str]  # what AKS KMS takes

    def __init__(self, name: str, args: KmsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:azure:Kms", name, None, opts)
        child = kept(args.retain, parent=self)

        self.vault = keyvault.Vault(
            f"{name}-vault",
            vault_name=args.vault_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            properties={
                "tenant_id": args.tenant_id,
                "sku": {"family": "A", "name": "standard"},
                "enable_rbac_authorization": True,  # Azure RBAC, no access policies
                "enable_soft_delete": True,
                "soft_delete_retention_in_days": SOFT_DELETE_DAYS,
                # Required for customer-managed keys; irreversible: the name stays reserved
                # for SOFT_DELETE_DAYS after a delete.
                "enable_purge_protection": True,
                "enabled_for_deployment": False,
                "enabled_for_disk_encryption": False,
                "enabled_for_template_deployment": False,
                # The deployer creates the key and AKS KMS ("Public") reaches the vault from outside.
                "public_network_access": "Enabled",
                "network_acls": {"default_action": "Allow", "bypass": "AzureServices"},
            },
            tags=args.tags,
            opts=child,
        )
        self.officer_role = args.roles.grant_deployer(
            f"{name}-deployer-crypto-officer", role=roles.KEY_VAULT_CRYPTO_OFFICER, scope=self.vault.id,
            what=f"creates and manages the keys of {args.vault_name}", opts=child,
        )
        self.officer_wait = roles.takes_effect(
            f"{name}-deployer-crypto-officer", self.officer_role, principal=self.officer_role.principal_id,
            reason="the deployer's Key Vault Crypto Officer role takes effect", parent=self,
        )
        self.key = keyvault.Key(
            f"{name}-key",
            key_name=KEY_NAME,
            vault_name=self.vault.name,
            resource_group_name=args.resource_group_name,
            properties={
                "kty": "RSA",
                "key_size": KEY_SIZE,
                "key_ops": KEY_OPS,
                "attributes": {"enabled": True},
                "rotation_policy": {
                    "lifetime_actions": [{"action": {"type": "rotate"}, "trigger": {"time_after_create": ROTATE_AFTER}}],
                },
            },
            tags=args.tags,
            # Created (and deleted) through the data plane: only once the deployer may do that, and a
            # fresh role assignment is not in effect at once (ForbiddenByRbac).
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[self.officer_role, self.officer_wait.sleep])
            ),
        )
        self.key_name = self.key.name
        self.key_id = self.key.id
        self.key_uri = self.key.key_uri
        self.key_uri_with_version = self.key.key_uri_with_version
        self.vault_uri = self.vault.properties.apply(lambda p: p.vault_uri)

        self.identity = self.identity_role = self.identity_wait = None
        if args.encryption_identity:
            self.identity = managed_identity(f"{name}-identity", args.identity_name, args, child)
            # I1: on this key, not the vault, group or subscription.
            self.identity_role = args.roles.grant_identity(
                f"{name}-encryption-user", role=roles.KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER, scope=self.key.id,
                principal_id=self.identity.principal_id,
                description=f"storage and registry encrypt at rest with key {KEY_NAME} of {args.vault_name}", opts=child,
            )
            # Storage and the registry check the key with this identity when they are created
            # (KeyVaultAuthenticationFailure while its role is not in effect yet).
            self.identity_wait = roles.takes_effect(
                f"{name}-encryption-user", self.identity_role, principal=self.identity.principal_id,
                reason="the encryption identity's role on the key takes effect", parent=self,
            )
        self.register_outputs(
            {"vault_uri": self.vault_uri, "key_id": self.key_id, "key_uri": self.key_uri}
        )

    def encryption(self) -> EncryptionKey:
        """What a storage account or registry needs to encrypt with this key."""
        assert self.identity is not None and self.identity_role is not None and self.identity_wait is not None, "no encryption identity"
        return EncryptionKey(
            vault_uri=self.vault_uri,
            key_name=self.key_name,
            key_uri=self.key_uri,
            identity_id=self.identity.id,
            identity_client_id=self.identity.client_id,
            ready=[self.identity_role, self.identity_wait.sleep],
        )


@dataclass
class EncryptionKey:
    """The stack's key as a storage account or registry uses it, through the encryption identity."""

    vault_uri: pulumi.Output[str]
    key_name: pulumi.Output[str]
    key_uri: pulumi.Output[str]  # versionless
    identity_id: pulumi.Output[str]
    identity_client_id: pulumi.Output[str]
    # The identity's role on the key: whatever encrypts with it waits for this.
    ready: list[pulumi.Resource]


@dataclass
class ClusterKms:
    """The stack's key as AKS KMS uses it: a versioned key URI, and the key's ARM id to grant access on."""

    key_uri_with_version: pulumi.Input[str]
    key_id: pulumi.Input[str]
