"""The artifact store: a private StorageV2 account with one blob container, kept on destroy.

Data survival (D1): the storage account lives in the stack's *data* resource
group, never in the main one, and the account, its blob service settings,
lifecycle policy, container and the deployer's data role are all
`retain_on_delete` unless the stack is destroyed with --delete-data. Destroying
the stack removes the main resource group (cluster, network, identities) and
leaves the data group with the user's artifacts as it was, settings included.

Access is Entra ID only (B6): shared keys are off, so the tracker and pipelines
reach the container through workload identity, and the deploying principal gets
Storage Blob Data Contributor on this account (Owner/Contributor alone grant no
blob data access once keys are off) so ZenML works from the user's machine.

Encryption at rest (B3): Microsoft-managed keys by default. With --kms the
account encrypts with the stack's Key Vault key (`kms.Kms`), reached through
the user-assigned encryption identity, and is created only once that identity
may use the key. It is given the versionless key, so it follows rotations.

--network-rules (B7, firewall.py): the account denies by default and admits the
AKS node subnet (its `Microsoft.Storage` service endpoint), trusted Azure services
and --allow-cidr's public addresses. Firewall rules apply to the data plane only,
so the deploy itself (account, container, policies: control plane) is unaffected.
--audit-logs (L2, audit.py): reads, writes and deletes of blobs go to the stack's
Log Analytics workspace.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native.storage as storage

from . import roles
from .firewall import TRUSTED_SERVICES, Firewall
from .kms import EncryptionKey
from .placement import Placement
from ..cloud import kept

SOFT_DELETE_DAYS = 7
NONCURRENT_VERSION_DAYS = 30


@dataclass
class BucketArgs(Placement):
    account_name: str
    container_name: str
    roles: roles.Roles
    retain: bool = True  # D1
    # --kms: the stack's key and the identity that reaches it; None: Microsoft-managed keys.
    encryption: EncryptionKey | None = None
    # --network-rules: deny by default, admit these; None: reachable from any network (Entra ID only).
    firewall: Firewall | None = None


def network_rule_set(firewall: Firewall | None) -> dict:
    """B7: deny unless trusted Azure services, the node subnet or an --allow-cidr address. Without
    --network-rules, Azure's own default said explicitly: any network (Entra ID only), trusted services."""
    if firewall is None:
        return {"default_action": "Allow", "bypass": TRUSTED_SERVICES}
    rules: dict = {
        "default_action": "Deny",
        "bypass": TRUSTED_SERVICES,
        "ip_rules": [{"i_p_address_or_range": value, "action": "Allow"} for value in firewall.ip_rules],
    }
    if firewall.subnet_id is not None:
        rules["virtual_network_rules"] = [{"virtual_network_resource_id": firewall.subnet_id, "action": "Allow"}]
    return rules


def account_encryption(cmk: EncryptionKey | None) -> tuple[dict | None, dict | None]:
    """B3: a storage account's (identity, encryption): the stack's key through the encryption
    identity with --kms, else Microsoft-managed keys (always on, nothing to set)."""
    if cmk is None:
        return None, None
    identity = {"type": "UserAssigned", "user_assigned_identities": [cmk.identity_id]}
    encryption = {
        "key_source": "Microsoft.Keyvault",
        # No version: the account picks up the newest key version after a rotation.
        "key_vault_properties": {"key_name": cmk.key_name, "key_vault_uri": cmk.vault_uri},
        "encryption_identity": {"encryption_user_assigned_identity": cmk.identity_id},
        "services": {
            "blob": {"enabled": True, "key_type": "Account"},
            "file": {"enabled": True, "key_type": "Account"},
        },
    }
    return identity, encryption


class Bucket(pulumi.ComponentResource):
    account: storage.StorageAccount
    container: storage.BlobContainer
    name: pulumi.Output[str]  # the container
    account_name: pulumi.Output[str]
    account_id: pulumi.Output[str]
    uri: pulumi.Output[str]

    def __init__(self, name: str, args: BucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:azure:Bucket", name, None, opts)
        child = kept(args.retain, parent=self)

        cmk = args.encryption
        identity, encryption = account_encryption(cmk)  # B3
        account_opts = child
        if cmk is not None:
            # Azure checks the key when the account is created: only once the identity may use it.
            account_opts = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=cmk.ready))
        self.account = storage.StorageAccount(
            name,  # the component's own name: the primary data resource (see engine.retained_resources)
            account_name=args.account_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="StorageV2",
            sku={"name": "Standard_LRS"},
            access_tier="Hot",
            enable_https_traffic_only=True,  # B4
            minimum_tls_version="TLS1_2",  # B4
            allow_blob_public_access=False,  # B1
            allow_shared_key_access=False,  # B6
            default_to_o_auth_authentication=True,  # the portal uses Entra ID too
            allow_cross_tenant_replication=False,
            public_network_access="Enabled" if args.firewall is not None else None,  # through the firewall
            network_rule_set=network_rule_set(args.firewall),  # B7 with --network-rules
            identity=identity,
            encryption=encryption,  # B3: the stack's Key Vault key with --kms
            tags=args.tags,
            opts=account_opts,
        )
        self.blob_service = blob_service = storage.BlobServiceProperties(  # B5
            f"{name}-blob-service",
            account_name=self.account.name,
            resource_group_name=args.resource_group_name,
            blob_services_name="default",
            is_versioning_enabled=True,
            delete_retention_policy={"enabled": True, "days": SOFT_DELETE_DAYS},
            container_delete_retention_policy={"enabled": True, "days": SOFT_DELETE_DAYS},
            opts=child,
        )
        storage.ManagementPolicy(
            f"{name}-lifecycle",
            account_name=self.account.name,
            resource_group_name=args.resource_group_name,
            management_policy_name="default",  # the only name Azure accepts
            policy={
                "rules": [
                    {
                        # Versioning protects against mistakes; old versions expire so it does not cost forever.
                        "name": "expire-noncurrent-versions",
                        "type": "Lifecycle",
                        "enabled": True,
                        "definition": {
                            "filters": {"blob_types": ["blockBlob"]},
                            "actions": {"version": {"delete": {"days_after_creation_greater_than": NONCURRENT_VERSION_DAYS}}},
                        },
                    }
                ]
            },
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[blob_service])),
        )
        self.container = storage.BlobContainer(
            f"{name}-container",
            container_name=args.container_name,
            account_name=self.account.name,
            resource_group_name=args.resource_group_name,
            public_access="None",  # B1
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[blob_service])),
        )
        args.roles.grant_deployer(
            f"{name}-deployer-data", role=roles.STORAGE_BLOB_DATA_CONTRIBUTOR, scope=self.account.id,
            what=f"reads and writes blobs of {args.account_name}", opts=child,
        )
        self.name = self.container.name
        self.account_name = self.account.name
        self.account_id = self.account.id
        self.uri = pulumi.Output.concat("az://", self.container.name)
        self.register_outputs(
            {"name": self.name, "account": self.account_name, "account_id": self.account_id, "uri": self.uri}
        )
