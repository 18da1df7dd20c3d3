"""AKS: free-tier control plane, one autoscaling system pool, Entra ID auth, workload identity.

- Identity: the control plane runs as a user-assigned identity created first and
  given Network Contributor on the node subnet only, so the cluster never starts
  without the right to join its own subnet (a system-assigned identity would be
  created with the cluster, too late for that assignment). The kubelet identity is
  AKS-managed; the registry grants it AcrPull.
- Auth (C4): Kubernetes RBAC with Entra ID and Azure RBAC, local accounts off: no
  static admin credential exists. Every --admin and the deploying principal get
  "Azure Kubernetes Service RBAC Cluster Admin" on this cluster, one assignment
  each (named after its principal, so a teammate's deploy adds theirs and never
  takes the creator's), and the kubeconfig authenticates through `kubelogin` the
  way the deploy's own credentials do: the Azure CLI login, a service principal
  or workload identity (no token or key in the file; `recipes.kubeconfig`).
- Workload identity (C5): OIDC issuer + the workload identity webhook, used by
  `identity.BucketAccess` for per-service-account storage access.
- Upgrades (C6): the `stable` channel, or `patch` when a Kubernetes version is
  pinned (so the pinned minor version is kept and only patched); weekly node images.
- API server (C1): restricted to --allow-cidr when given. With --private-endpoint
  the cluster is a private cluster: the API server gets an address in the node
  subnet only (no authorized IP ranges then: AKS takes none on a private
  endpoint; --allow-cidr still restricts the load balancers), so every deploy,
  this stack's Kubernetes part included, must run from a machine that reaches
  the VNet (VPN, peering, a jump host). AKS's public FQDN is kept explicitly:
  its public DNS record resolves to the private address only, and it is the
  name the kubeconfig uses, so a machine on a VPN needs no private DNS zone link.
- Secrets (C3): with --kms, AKS KMS envelope-encrypts Kubernetes secrets in etcd
  with the stack's Key Vault key (`kms.Kms`); the control-plane identity gets
  "Key Vault Crypto User" on that key only, before the cluster is created.
- NetworkPolicy (N4), always on and free: Azure CNI powered by Cilium on the
  same overlay (dataplane and policy engine both `cilium`; AKS refuses either one
  without the other). Azure Network Policy Manager also runs on overlay, but it is
  retired (Linux support ends 30 September 2028, Windows 30 September 2026) and
  Microsoft's migration path is Cilium; Calico would be a third component to keep.
  AKS switches an existing overlay cluster's dataplane in place (`az aks update
  --network-dataplane cilium --network-policy cilium`, reimaging every node pool at
  once), but azure-native marks `networkDataplane` and `networkPolicy` replace-on-change,
  so a deploy would recreate the cluster of a stack created before: both are ignored
  after creation, and such a cluster is moved with that az command, then `recipe refresh`.
- Audit logs (C2), with --audit-logs: every control-plane log category, the
  complete `kube-audit` among them, through a diagnostic setting to the stack's
  Log Analytics workspace (audit.py), billed per GB ingested; Defender stays an option.
- --network-rules with a registry: the cluster egresses through the stack's own
  static public IP (network.py), which the registry's firewall admits; the
  control-plane identity may join it (Network Contributor on that IP only).
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

import pulumi
import pulumi_azure_native.containerservice as containerservice
import yaml

from .. import kubeconfig
from ..cloud import ClusterComponent
from . import roles
from .identity import managed_identity
from .kms import ClusterKms
from .placement import Placement

STORAGE_CLASS = "managed-csi"  # AKS's default class (Azure Disk CSI, StandardSSD_LRS)
POOL_NAME = "system"
OS_DISK_GIB = 64  # the AKS default (128 GiB) doubles the disk price for no benefit here
POD_CIDR = "10.244.0.0/16"  # overlay: pod addresses never consume VNet space
SERVICE_CIDR = "10.0.0.0/16"
DNS_SERVICE_IP = "10.0.0.10"
# N4: Azure CNI powered by Cilium enforces NetworkPolicy; AKS takes the pair or neither.
NETWORK_DATAPLANE = "cilium"
NETWORK_POLICY = "cilium"
# Entra ID application of the AKS AAD server: the audience of every AKS token (same in every tenant).
AKS_AAD_SERVER_ID = kubeconfig.AKS_AAD_SERVER_ID


@dataclass
class ClusterArgs(Placement):
    name: str
    dns_prefix: str
    node_subnet_id: pulumi.Input[str]
    # The node subnet's range: with the pod range, where in-cluster traffic to a load balancer comes from.
    node_cidr: str
    node_type: str
    min_nodes: int
    max_nodes: int
    context: str
    identity_name: str
    roles: roles.Roles
    version: str | None = None
    allow_cidrs: tuple[str, ...] = ()
    # --private-endpoint: the API server reachable only from inside the VNet.
    private_endpoint: bool = False
    # --kms: envelope encryption of secrets with the stack's key.
    kms: ClusterKms | None = None
    # --network-rules with a registry: the static public IP the cluster egresses through.
    egress_ip_id: pulumi.Input[str] | None = None


def api_server_access(args: ClusterArgs) -> dict | None:
    """C1: a private endpoint, or the API server restricted to --allow-cidr, or open (None)."""
    if args.private_endpoint:
        return {"enable_private_cluster": True, "enable_private_cluster_public_fqdn": True}
    if args.allow_cidrs:
        return {"authorized_ip_ranges": list(args.allow_cidrs)}
    return None


def network_profile(args: ClusterArgs) -> dict:
    """Azure CNI Overlay with the Cilium dataplane (N4), outbound through the cluster's load balancer
    (from the stack's own address with --network-rules)."""
    profile = {
        "network_plugin": "azure",
        "network_plugin_mode": "overlay",
        "network_dataplane": NETWORK_DATAPLANE,
        "network_policy": NETWORK_POLICY,
        "pod_cidr": POD_CIDR,
        "service_cidr": SERVICE_CIDR,
        "dns_service_ip": DNS_SERVICE_IP,
        "load_balancer_sku": "standard",
        "outbound_type": "loadBalancer",
    }
    if args.egress_ip_id is not None:
        profile["load_balancer_profile"] = {"outbound_ips": {"public_ips": [{"id": args.egress_ip_id}]}}
    return profile


def ca_from_kubeconfig(encoded: str) -> str:
    """The cluster CA from a base64 kubeconfig as `listClusterUserCredential` returns it."""
    config = yaml.safe_load(base64.b64decode(encoded))
    return config["clusters"][0]["cluster"]["certificate-authority-data"]


class Cluster(ClusterComponent):
    STORAGE_CLASS = STORAGE_CLASS

    cluster: containerservice.ManagedCluster
    admin_role: pulumi.Resource
    oidc_issuer_url: pulumi.Output[str]
    kubelet_object_id: pulumi.Output[str]

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:azure:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        control_identity = managed_identity(f"{name}-identity", args.identity_name, args, child)
        subnet_role = args.roles.grant_identity(
            f"{name}-subnet-network-contributor", role=roles.NETWORK_CONTRIBUTOR, scope=args.node_subnet_id,
            principal_id=control_identity.principal_id, description=f"AKS {args.name} control plane joins its node subnet",
            opts=child,
        )

        security_profile: dict = {"workload_identity": {"enabled": True}}  # C5
        ready_to_create: list[pulumi.Resource] = [subnet_role]
        if args.egress_ip_id is not None:
            # AKS attaches an address outside its node resource group only with the right to join it.
            ready_to_create.append(args.roles.grant_identity(
                f"{name}-egress-network-contributor", role=roles.NETWORK_CONTRIBUTOR, scope=args.egress_ip_id,
                principal_id=control_identity.principal_id,
                description=f"AKS {args.name} egresses through the stack's outbound address", opts=child,
            ))
        self.kms_role = None
        if args.kms is not None:
            # C3: the control plane encrypts and decrypts with the key (AKS KMS, public vault); I1: this key only.
            self.kms_role = args.roles.grant_identity(
                f"{name}-kms-crypto-user", role=roles.KEY_VAULT_CRYPTO_USER, scope=args.kms.key_id,
                principal_id=control_identity.principal_id,
                description=f"AKS {args.name} control plane encrypts its secrets with the stack's key", opts=child,
            )
            # AKS checks the key with this identity when the cluster is created.
            kms_wait = roles.takes_effect(
                f"{name}-kms-crypto-user", self.kms_role, principal=control_identity.principal_id,
                reason="the control plane's role on the key takes effect", parent=self,
            )
            ready_to_create += [self.kms_role, kms_wait.sleep]
            security_profile["azure_key_vault_kms"] = {
                "enabled": True,
                "key_id": args.kms.key_uri_with_version,  # AKS takes a versioned key
                "key_vault_network_access": "Public",
            }

        self.cluster = containerservice.ManagedCluster(
            name,
            resource_name_=args.name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            dns_prefix=args.dns_prefix,
            kubernetes_version=args.version,
            sku={"name": "Base", "tier": "Free"},
            identity={"type": "UserAssigned", "user_assigned_identities": [control_identity.id]},
            agent_pool_profiles=[
                {
                    "name": POOL_NAME,
                    "mode": "System",
                    "type": "VirtualMachineScaleSets",
                    "os_type": "Linux",
                    # Ubuntu: supported by every Kubernetes version a user may pin.
                    "os_sku": "Ubuntu",
                    "vm_size": args.node_type,
                    "os_disk_type": "Managed",  # Dsv5 sizes have no cache disk for an ephemeral OS disk
                    "os_disk_size_gb": OS_DISK_GIB,
                    "enable_auto_scaling": True,
                    "count": args.min_nodes,
                    "min_count": args.min_nodes,
                    "max_count": args.max_nodes,
                    "vnet_subnet_id": args.node_subnet_id,
                    "enable_node_public_ip": False,  # N1
                    # One extra node while an upgrade drains the others (what the quota must allow).
                    "upgrade_settings": {"max_surge": "1"},
                    "node_labels": {"recipe-stack": args.tags.get("recipe-stack", args.name)},
                    "tags": args.tags,  # the scale set and its disks, in the AKS node resource group
                }
            ],
            network_profile=network_profile(args),  # N4
            oidc_issuer_profile={"enabled": True},  # C5
            security_profile=security_profile,  # C5, C3 with --kms
            enable_rbac=True,  # C4
            aad_profile={"managed": True, "enable_azure_rbac": True},  # C4
            disable_local_accounts=True,  # C4
            # C6: patches on their own, never a new minor: the minor moves only when the stack
            # asks (--kubernetes-version), within what the pinned charts support.
            auto_upgrade_profile={
                "upgrade_channel": "patch",
                "node_os_upgrade_channel": "NodeImage",
            },
            api_server_access_profile=api_server_access(args),  # C1
            tags=args.tags,
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(
                    # Its subnet (and with --kms its key) must be usable before it starts.
                    depends_on=ready_to_create,
                    # The autoscaler owns the current node count; redeploying must not reset it. A new
                    # cluster gets Cilium at creation; azure-native would *replace* one created before
                    # (both fields are replace-on-change), so an existing cluster is moved in place
                    # with `az aks update` instead (module docstring), never recreated by a deploy.
                    ignore_changes=["agentPoolProfiles[0].count", "networkProfile.networkDataplane",
                                    "networkProfile.networkPolicy"],
                    custom_timeouts=pulumi.CustomTimeouts(create="30m", update="60m", delete="30m"),
                ),
            ),
        )

        # Every --admin and whoever deploys administer the cluster through Entra ID (there is no
        # local admin): one assignment per principal, a resource of its own keyed by its object id,
        # so reordering --admin or another deployer changes no one else's. The deployer's, when it
        # is not listed, is the one a stack deployed before --admin existed had (alias).
        deployer = args.roles.deployer_object_id
        self.admin_roles: dict[str, pulumi.Resource] = {}
        listed = {admin.object_id for admin in args.roles.admins}
        for principal in args.roles.team():
            is_deployer = principal.object_id == deployer
            # Nothing here depends on who deploys when the deployer is listed: no update when
            # listed teammates take turns.
            who = "an --admin" if principal.object_id in listed else "the deploying principal"
            self.admin_roles[principal.object_id] = args.roles.assign(
                f"{name}-admin-{principal.object_id}",
                role=roles.AKS_RBAC_CLUSTER_ADMIN,
                scope=self.cluster.id,
                principal_id=principal.object_id,
                principal_type=principal.principal_type,
                description=f"{who} administers AKS {args.name}",
                opts=pulumi.ResourceOptions.merge(
                    child, pulumi.ResourceOptions(aliases=[pulumi.Alias(name=f"{name}-deployer-admin")] if is_deployer else None)
                ),
            )
        # The deploy's own Kubernetes calls are authorised by the deployer's.
        self.admin_role = self.admin_roles[deployer]
        # The API server answers 403 until the deployer's RBAC Cluster Admin is in effect: every
        # Kubernetes object of the first deploy waits for it (through the provider).
        self.admin_wait = roles.takes_effect(
            f"{name}-admin", self.admin_role, principal=deployer,
            reason="the deployer's Azure Kubernetes Service RBAC Cluster Admin role takes effect", parent=self,
        )

        # The CA comes from the user credentials (no secret in them with local accounts off);
        # the user section is ours: kubelogin in the login mode of the deploy's credentials.
        credentials = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=args.resource_group_name,
            resource_name=self.cluster.name,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        ca_data = credentials.kubeconfigs.apply(lambda configs: ca_from_kubeconfig(configs[0].value))
        self.connect(
            name, context=args.context, endpoint=self.cluster.fqdn.apply(lambda fqdn: f"https://{fqdn}:443"),
            ca_data=ca_data, exec_auth=kubeconfig.aks_exec(os.environ),  # read now, in the deploying process
            # Kubernetes calls are authorised by the admin role assignment.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.admin_role, self.admin_wait.sleep])),
        )
        self.oidc_issuer_url = self.cluster.oidc_issuer_profile.apply(lambda profile: profile.issuer_url)
        self.kubelet_object_id = self.cluster.identity_profile.apply(lambda ids: ids["kubeletidentity"].object_id)
        # The system pool is part of the cluster resource: workloads wait for it and for the admin role.
        self.ready = [self.cluster, self.admin_role, self.admin_wait.sleep]
        self.addons_ready = []  # the disk driver and the workload identity webhook: part of AKS
        # An AKS load balancer is addressed by IP, so Cilium's kube-proxy replacement short-circuits
        # in-cluster traffic to it and applies loadBalancerSourceRanges to the pod's or node's own address.
        self.internal_sources = [args.node_cidr, POD_CIDR]
        self.register_cluster_outputs(oidc_issuer_url=self.oidc_issuer_url)
