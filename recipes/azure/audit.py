"""--audit-logs: the stack's logs kept for audit, in the data group and kept with the data (D1).

- Control-plane logs (C2): a diagnostic setting on the AKS cluster sends every
  control-plane category to the stack's Log Analytics workspace, resource-specific
  tables. `kube-audit` is the complete audit log (every request, reads included);
  `kube-audit-admin` is left out because it is a subset of it (mutating requests only),
  so sending both would bill the mutating requests twice.
- Bucket access logs (L2): a diagnostic setting on the storage account's blob service
  sends StorageRead, StorageWrite and StorageDelete to the same workspace. A workspace
  rather than the account itself or a second account: diagnostic settings ingest into a
  workspace without account keys or firewall exceptions, and Azure Monitor bills
  platform logs of some services for every GB sent anywhere else on top of storing
  them; a workspace is billed per GB ingested only (and per GB retained past 31 days).
- Flow logs (L1): VNet flow logs (NSG flow logs can no longer be created since
  30 June 2025) of the stack's VNet, written by Network Watcher to a dedicated log
  storage account that no workload may write to, through a managed identity of their
  own (the account takes no shared keys, B6). Network Watcher is the subscription's
  `NetworkWatcher_<region>` in `NetworkWatcherRG`, which Azure creates when the first
  VNet of a region is created (unless the subscription opted out: then run `az network
  watcher configure --locations <region> --enabled true` once).

Everything is kept for `LOG_RETENTION_DAYS`. The workspace, the log account and the
blob access setting are `retain_on_delete` unless --delete-data, like the bucket whose
access they record; the cluster's setting and the flow log go with the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native.monitor as monitor
import pulumi_azure_native.network as network
import pulumi_azure_native.operationalinsights as operationalinsights
import pulumi_azure_native.storage as storage

from ..cloud import kept
from . import roles
from .bucket import account_encryption, network_rule_set
from .firewall import Firewall
from .identity import managed_identity
from .kms import EncryptionKey
from .placement import Placement

LOG_RETENTION_DAYS = 90
SETTING_NAME = "stack-recipes-audit"
# Every AKS control-plane category but kube-audit-admin (a subset of kube-audit), as AKS lists them.
CONTROL_PLANE_CATEGORIES = (
    "kube-apiserver", "kube-audit", "kube-controller-manager", "kube-scheduler", "cluster-autoscaler",
    "cloud-controller-manager", "guard", "csi-azuredisk-controller", "csi-azurefile-controller",
    "csi-snapshot-controller",
)
BLOB_CATEGORIES = ("StorageRead", "StorageWrite", "StorageDelete")
NETWORK_WATCHER_GROUP = "NetworkWatcherRG"
FLOW_LOG_CONTAINER = "insights-logs-flowlogflowevent"
VERSION_DAYS = 1  # flow logs commit a block a minute: each commit is a version, kept a day


def log_account_name(alnum: str, suffix: str) -> str:
    """The log storage account: 3-24 lowercase letters and digits, globally unique like the bucket's."""
    return "lg" + alnum[: 24 - 2 - len(suffix)] + suffix


def network_watcher(region: str) -> str:
    return f"NetworkWatcher_{region}"


@dataclass
class AuditLogsArgs(Placement):  # in the data group
    workspace_name: str
    log_account_name: str
    roles: roles.Roles
    retain: bool = True  # D1: the logs outlive the stack unless --delete-data
    firewall: Firewall | None = None  # --network-rules: the log account denies by default too
    encryption: EncryptionKey | None = None  # --kms: the log account encrypts with the stack's key (B3)


class AuditLogs(pulumi.ComponentResource):
    workspace: operationalinsights.Workspace
    log_account: storage.StorageAccount | None

    def __init__(self, name: str, args: AuditLogsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:azure:AuditLogs", name, None, opts)
        self.args = args
        self.name = name
        self.workspace = operationalinsights.Workspace(
            f"{name}-workspace",
            workspace_name=args.workspace_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku={"name": "PerGB2018"},
            retention_in_days=LOG_RETENTION_DAYS,
            features={"disable_local_auth": True},  # Entra ID only: no workspace keys
            tags=args.tags,
            opts=kept(args.retain, parent=self),
        )
        self.log_account = None
        self.register_outputs({"workspace_id": self.workspace.id})

    def _setting(self, name: str, resource_uri: pulumi.Input[str], categories: tuple[str, ...],
                 opts: pulumi.ResourceOptions) -> monitor.DiagnosticSetting:
        return monitor.DiagnosticSetting(
            name,
            name=SETTING_NAME,
            resource_uri=resource_uri,
            workspace_id=self.workspace.id,
            log_analytics_destination_type="Dedicated",  # resource-specific tables
            logs=[{"category": category, "enabled": True} for category in categories],
            opts=opts,
        )

    def blob_access(self, name: str, account_id: pulumi.Input[str], blob_service: pulumi.Resource,
                    parent: pulumi.Resource) -> monitor.DiagnosticSetting:
        """L2: reads, writes and deletes of the bucket's blobs, kept as long as the bucket."""
        uri = pulumi.Output.concat(account_id, "/blobServices/default")
        return self._setting(name, uri, BLOB_CATEGORIES,
                             kept(self.args.retain, parent=parent, depends_on=[blob_service]))

    def control_plane(self, name: str, cluster_id: pulumi.Input[str], parent: pulumi.Resource) -> monitor.DiagnosticSetting:
        """C2: every control-plane category, the complete kube-audit among them; goes with the cluster."""
        return self._setting(name, cluster_id, CONTROL_PLANE_CATEGORIES, pulumi.ResourceOptions(parent=parent))

    def flow_logs(self, name: str, *, vnet: network.VirtualNetwork, placement: Placement, identity_name: str,
                  flow_log_name: str, parent: pulumi.Resource) -> network.FlowLog:
        """L1: the VNet's flow logs, through the subscription's Network Watcher, into the log account."""
        account = self._log_account()
        child = pulumi.ResourceOptions(parent=parent)
        writer = managed_identity(f"{name}-identity", identity_name, placement, child)
        role = self.args.roles.grant_identity(
            f"{name}-writer", role=roles.STORAGE_BLOB_DATA_CONTRIBUTOR, scope=account.id,
            principal_id=writer.principal_id,
            description=f"Network Watcher writes the flow logs of {placement.location} into {self.args.log_account_name}",
            opts=child,
        )
        wait = roles.takes_effect(f"{name}-writer", role, principal=writer.principal_id,
                                  reason="the flow log identity's role on the log account takes effect", parent=parent)
        return network.FlowLog(
            name,
            flow_log_name=flow_log_name,
            network_watcher_name=network_watcher(placement.location),
            resource_group_name=NETWORK_WATCHER_GROUP,
            location=placement.location,
            target_resource_id=vnet.id,
            storage_id=account.id,
            enabled=True,
            format={"type": "JSON", "version": 2},
            retention_policy={"enabled": True, "days": LOG_RETENTION_DAYS},
            identity={"type": "UserAssigned", "user_assigned_identities": [writer.id]},
            tags=placement.tags,
            # Azure enables Network Watcher in a region when a VNet is created there.
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[vnet, role, wait.sleep]),
        )

    def _log_account(self) -> storage.StorageAccount:
        """Where Network Watcher writes flow logs: hardened like the bucket, written by no workload."""
        if self.log_account is not None:
            return self.log_account
        args = self.args
        child = kept(args.retain, parent=self)
        firewall = args.firewall
        identity, encryption = account_encryption(args.encryption)
        # Azure checks the key when the account is created: only once the identity may use it.
        ready = pulumi.ResourceOptions(depends_on=args.encryption.ready) if args.encryption is not None else None
        self.log_account = storage.StorageAccount(
            f"{self.name}-account",
            account_name=args.log_account_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="StorageV2",  # flow log retention needs general-purpose v2
            sku={"name": "Standard_LRS"},
            access_tier="Hot",
            enable_https_traffic_only=True,  # B4
            minimum_tls_version="TLS1_2",  # B4
            allow_blob_public_access=False,  # B1
            allow_shared_key_access=False,  # B6: the flow log identity writes with Entra ID
            default_to_o_auth_authentication=True,
            allow_cross_tenant_replication=False,
            public_network_access="Enabled" if firewall is not None else None,
            # B7 with --network-rules (Network Watcher passes as a trusted service); no subnet: no workload writes here.
            network_rule_set=network_rule_set(Firewall(ip_rules=firewall.ip_rules) if firewall is not None else None),
            identity=identity,
            encryption=encryption,  # B3
            tags=args.tags,
            opts=pulumi.ResourceOptions.merge(child, ready),
        )
        service = storage.BlobServiceProperties(  # B5
            f"{self.name}-account-blob-service",
            account_name=self.log_account.name,
            resource_group_name=args.resource_group_name,
            blob_services_name="default",
            is_versioning_enabled=True,
            delete_retention_policy={"enabled": True, "days": 7},
            container_delete_retention_policy={"enabled": True, "days": 7},
            opts=child,
        )
        storage.ManagementPolicy(
            f"{self.name}-account-lifecycle",
            account_name=self.log_account.name,
            resource_group_name=args.resource_group_name,
            management_policy_name="default",
            policy={"rules": [{
                "name": "expire-flow-logs",
                "type": "Lifecycle",
                "enabled": True,
                "definition": {
                    "filters": {"blob_types": ["blockBlob"], "prefix_match": [f"{FLOW_LOG_CONTAINER}/"]},
                    "actions": {
                        "base_blob": {"delete": {"days_after_modification_greater_than": LOG_RETENTION_DAYS}},
                        "version": {"delete": {"days_after_creation_greater_than": VERSION_DAYS}},
                    },
                },
            }]},
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[service])),
        )
        # Whoever deploys reads the logs (Owner alone reads no blob data once keys are off).
        args.roles.grant_deployer(
            f"{self.name}-deployer-read", role=roles.STORAGE_BLOB_DATA_READER, scope=self.log_account.id,
            what=f"reads the flow logs in {args.log_account_name}", opts=child,
        )
        return self.log_account
