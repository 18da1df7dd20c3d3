"""GKE: control plane, our own node pool with a least-privilege identity, kubeconfig.

The cluster is zonal by default (one free-tier management fee, one zone's
nodes) or regional on request (a control plane in every zone and a node pool
in every zone: min/max nodes are then per zone). GKE provides the Persistent
Disk CSI driver and its `standard-rwo` storage class, and scales the node
pool between its bounds itself (no autoscaler to install).

The control plane has a public endpoint by default (restricted with
`--allow-cidr`). With `--private-endpoint` it has none: only its internal
address in the node subnet, reachable from inside the VPC (a bastion or VPN
there runs `recipe deploy`), and the kubeconfig points at that address.
With `--kms` Kubernetes Secrets are envelope-encrypted in etcd with the
stack's Cloud KMS key (C3).

Always: GKE Dataplane V2, which enforces Kubernetes NetworkPolicy itself (N4), and
Binary Authorization against the project's policy (C7). A project's policy admits
every image until its owner sets one (`gcloud container binauthz policy import`),
so this stack runs the same images either way; the owner's policy then applies to
it. With `--audit-logs` the control plane's own logs (API server, scheduler,
controller manager) go to Cloud Logging too, and intranode visibility sends
pod-to-pod traffic on one node through the VPC, where the flow logs see it.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from .. import kubeconfig
from ..cloud import ClusterComponent
from . import roles
from .identity import node_identity
from .network import PODS_RANGE, SERVICES_RANGE

STORAGE_CLASS = "standard-rwo"  # GKE's default: pd-balanced, WaitForFirstConsumer
RELEASE_CHANNEL = "REGULAR"  # C6
# The channel patches the cluster, but its minor version moves only when the stack asks
# (--kubernetes-version): a minor the pinned charts (recipes/kubernetes/versions.py) do not
# support must never arrive on its own. GKE still upgrades a minor at its end of support.
NO_MINOR_UPGRADES = {"scope": "NO_MINOR_UPGRADES", "end_time_behavior": "UNTIL_END_OF_SUPPORT"}
# Patches and node-image upgrades land at night UTC (a GKE daily window lasts four hours).
MAINTENANCE_START = "03:00"
IMAGE_TYPE = "COS_CONTAINERD"
DISK_GIB = 50
DISK_TYPE = "pd-balanced"
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
LOGGING_COMPONENTS = ["SYSTEM_COMPONENTS", "WORKLOADS"]  # C2 (admin activity audit logs are always on)
CONTROL_PLANE_LOGS = ["APISERVER", "CONTROLLER_MANAGER", "SCHEDULER"]  # --audit-logs: billed as Cloud Logging
# N4: Dataplane V2 enforces NetworkPolicy; GKE refuses it together with the legacy (Calico)
# network policy, whose block says "off" explicitly (what the Terraform-based scanners read).
DATAPATH = "ADVANCED_DATAPATH"
BINARY_AUTHORIZATION = {"evaluation_mode": "PROJECT_SINGLETON_POLICY_ENFORCE"}  # C7
MONITORING_COMPONENTS = ["SYSTEM_COMPONENTS"]
AUTH_PLUGIN = kubeconfig.GKE_AUTH_PLUGIN


@dataclass
class ClusterArgs:
    name: str
    project: str
    location: str  # a zone (zonal cluster) or the region (regional cluster)
    network_id: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    node_type: str
    min_nodes: int
    max_nodes: int
    labels: dict[str, str]
    context: str
    node_service_account_id: str
    private_nodes: bool = True
    # Spot VMs: far cheaper; GKE drains a node before Compute Engine reclaims it.
    spot: bool = False
    version: str | None = None
    allow_cidrs: tuple[str, ...] = ()
    # No public endpoint: the API server is reached at its internal address from `internal_cidrs`.
    private_endpoint: bool = False
    # The node subnet's ranges (nodes, then pods): the only sources of a private endpoint, and
    # where in-cluster traffic to a load balancer comes from (see `Cluster.internal_sources`).
    internal_cidrs: tuple[str, ...] = ()
    # Cloud NAT's reserved address (private nodes): what pods that leave the VPC come from.
    nat_address: pulumi.Input[str] | None = None
    # --kms: the key Secrets are encrypted with, and the grant GKE checks at create time.
    secrets_key: pulumi.Input[str] | None = None
    key_access: list[pulumi.Resource] = field(default_factory=list)
    # The network's way out (router, NAT): nodes boot after it and are destroyed before it.
    network_routes: list[pulumi.Resource] = field(default_factory=list)
    # The APIs (container, compute, iam, ...) everything here waits for.
    apis: list[pulumi.Resource] = field(default_factory=list)
    # --admin: IAM members (user:, group:, serviceAccount:) given cluster-admin.
    admins: tuple[str, ...] = ()
    # --audit-logs: control-plane logs and intranode visibility (flow logs see same-node traffic).
    audit_logs: bool = False


def admin_binding_name(member: str) -> str:
    """The ClusterRoleBinding of one --admin member: readable, unique, a valid Kubernetes name."""
    readable = re.sub(r"[^a-z0-9.-]+", "-", member.lower()).strip("-.")[:200]
    return f"recipe-admin-{readable}-{hashlib.sha256(member.encode()).hexdigest()[:6]}"


def legacy_datapath_notice(name: str, datapath: str | None, calico: bool = False) -> str | None:
    """What to tell the owner of a cluster created before Dataplane V2 (kept: see ignore_changes): its
    NetworkPolicies are not enforced, unless someone turned on GKE's legacy (Calico) enforcement."""
    if datapath == DATAPATH or calico:
        return None
    return (f"GKE cluster {name} runs the legacy datapath ({datapath or 'unset'}), which does not enforce "
            "NetworkPolicy. GKE sets the datapath only when it creates a cluster, so this stack keeps the cluster "
            "as it is. To have NetworkPolicy enforced, recreate it: `recipe destroy` (it backs MLflow's run history "
            "up into the bucket, which it keeps with the registry), then `recipe deploy`")


def admin_subject(member: str) -> dict[str, str]:
    """How GKE names an IAM member to Kubernetes RBAC: a user or service account by its email
    (a User), a Google group by its email (a Group; needs Google Groups for RBAC, see README)."""
    kind, email = member.split(":", 1)
    return {"kind": "Group" if kind == "group" else "User", "name": email, "apiGroup": "rbac.authorization.k8s.io"}


class Cluster(ClusterComponent):
    STORAGE_CLASS = STORAGE_CLASS

    cluster: gcp.container.Cluster
    node_pool: gcp.container.NodePool
    node_service_account: gcp.serviceaccount.Account

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:gcp:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=args.apis)

        nodes = node_identity(f"{name}-nodes", args.node_service_account_id, args.name, args.project, child)
        self.node_service_account, node_roles = nodes.account, nodes.roles

        if args.private_endpoint and not args.private_nodes:
            # GKE has a private endpoint only on clusters with private nodes.
            raise ValueError("a private endpoint needs private nodes (network 'private')")
        private_cluster_config = None
        if args.private_nodes:
            # N1: nodes without public IPs. The control plane keeps its public endpoint
            # (restricted below), so `recipe` and kubectl reach it from outside the VPC,
            # unless --private-endpoint removes it.
            private_cluster_config = {"enable_private_nodes": True, "enable_private_endpoint": args.private_endpoint}
        authorized_networks = None
        if args.private_endpoint:
            # C1: no public endpoint at all, and the internal one enforces authorized networks:
            # only the node subnet's ranges reach it. Nodes (kubelets, a bastion placed in the
            # subnet) come from its primary range and in-cluster controllers from the pod range
            # (pod traffic inside the VPC is not masqueraded). Nothing else in the VPC or in a
            # peered network gets to the API server.
            authorized_networks = {
                "cidr_blocks": [
                    {"cidr_block": cidr, "display_name": label}
                    for cidr, label in zip(args.internal_cidrs, ("node-subnet", "pods"))
                ],
                "gcp_public_cidrs_access_enabled": False,
                "private_endpoint_enforcement_enabled": True,
            }
        elif args.allow_cidrs:
            # C1: only these ranges reach the API server; `recipe plan` warns when it is open.
            authorized_networks = {
                "cidr_blocks": [
                    {"cidr_block": cidr, "display_name": f"allow-cidr-{i}"} for i, cidr in enumerate(args.allow_cidrs)
                ],
                "gcp_public_cidrs_access_enabled": False,
            }

        # When the minor-version pin starts: the first deploy's time, kept with the stack.
        import pulumiverse_time as time

        self.pinned_since = time.Static(f"{name}-minor-pinned-since", opts=child)

        self.cluster = gcp.container.Cluster(
            name,
            name=args.name,
            location=args.location,
            network=args.network_id,
            subnetwork=args.subnet_id,
            networking_mode="VPC_NATIVE",
            ip_allocation_policy={
                "cluster_secondary_range_name": PODS_RANGE,
                "services_secondary_range_name": SERVICES_RANGE,
            },
            # Our own node pool below; GKE's default pool is deleted once the cluster exists.
            remove_default_node_pool=True,
            initial_node_count=1,
            # GKE boots that default pool before deleting it: on the stack's own node service
            # account, not the Compute Engine default one (which has Editor on the project, and
            # is disabled by policy in many organizations, failing the create).
            node_config={
                "service_account": self.node_service_account.email,
                "oauth_scopes": [CLOUD_PLATFORM_SCOPE],
                "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
                "workload_metadata_config": {"mode": "GKE_METADATA"},
            },
            # D1: `recipe destroy` must work; data lives in the bucket, which is retained.
            deletion_protection=False,
            min_master_version=args.version,
            release_channel={"channel": RELEASE_CHANNEL},
            maintenance_policy={
                "daily_maintenance_window": {"start_time": MAINTENANCE_START},
                "maintenance_exclusions": [{
                    "exclusion_name": "stack-recipes-pinned-minor",
                    "start_time": self.pinned_since.rfc3339,
                    "exclusion_options": NO_MINOR_UPGRADES,
                }],
            },
            workload_identity_config={"workload_pool": roles.workload_pool(args.project)},  # C5
            logging_config={"enable_components": LOGGING_COMPONENTS + (CONTROL_PLANE_LOGS if args.audit_logs else [])},
            monitoring_config={"enable_components": MONITORING_COMPONENTS},
            private_cluster_config=private_cluster_config,
            master_authorized_networks_config=authorized_networks,
            # --private-endpoint: no IP endpoint reachable from outside the VPC, so `recipe` and
            # kubectl use the cluster's DNS endpoint instead: reachable from anywhere, but every
            # request is authorized by IAM (container.clusters.connect) before it reaches the
            # API server. This is what lets the deploy that creates the cluster also create its
            # Kubernetes objects from outside the network.
            control_plane_endpoints_config=(
                {"dns_endpoint_config": {"allow_external_traffic": True}} if args.private_endpoint else None
            ),
            # C4: RBAC only: no legacy ABAC, no client certificate (a static credential).
            enable_legacy_abac=False,
            master_auth={"client_certificate_config": {"issue_client_certificate": False}},
            enable_shielded_nodes=True,  # N3
            datapath_provider=DATAPATH,
            network_policy={"enabled": False},
            binary_authorization=BINARY_AUTHORIZATION,
            enable_intranode_visibility=args.audit_logs,
            addons_config={"gce_persistent_disk_csi_driver_config": {"enabled": True}},
            # C3 (--kms): Secrets envelope-encrypted in etcd with the stack's key.
            database_encryption=(
                {"state": "ENCRYPTED", "key_name": args.secrets_key} if args.secrets_key is not None else None
            ),
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(
                    depends_on=[*args.key_access, *node_roles],
                    # The default pool's settings only matter while it exists, at creation: a change
                    # must never replace the cluster (nodeConfig forces a new cluster). The datapath
                    # too is fixed at creation: a cluster made before Dataplane V2 keeps its own
                    # rather than being deleted and recreated under the user's workloads (warned below),
                    # and its network policy as it is (legacy enforcement someone turned on stays on).
                    ignore_changes=["nodeConfig", "datapathProvider", "networkPolicy"],
                    custom_timeouts=pulumi.CustomTimeouts(create="40m", update="60m", delete="40m"),
                ),
            ),
        )

        pulumi.Output.all(self.cluster.datapath_provider, self.cluster.network_policy).apply(
            lambda v: _warn(self.cluster, legacy_datapath_notice(args.name, v[0], _enabled(v[1]))))

        self.node_pool = gcp.container.NodePool(
            # No `name`: Pulumi names the pool from this one plus a random suffix, so a
            # change that replaces the pool (machine type, disk) creates the new pool first.
            f"{name}-nodes",
            cluster=self.cluster.name,
            location=self.cluster.location,
            # Per zone on a regional cluster.
            initial_node_count=args.min_nodes,
            autoscaling={"min_node_count": args.min_nodes, "max_node_count": args.max_nodes},
            management={"auto_repair": True, "auto_upgrade": True},  # N3
            upgrade_settings={"max_surge": 1, "max_unavailable": 0},
            node_config={
                "machine_type": args.node_type,
                "spot": args.spot,
                "image_type": IMAGE_TYPE,
                "disk_size_gb": DISK_GIB,
                "disk_type": DISK_TYPE,
                "service_account": self.node_service_account.email,
                # IAM (the node service account's roles) decides what nodes may do.
                "oauth_scopes": [CLOUD_PLATFORM_SCOPE],
                "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
                # C5: pods see the GKE metadata server (their own identity), never the node's.
                "workload_metadata_config": {"mode": "GKE_METADATA"},
                "metadata": {"disable-legacy-endpoints": "true"},
                # Kubernetes labels of the nodes, and GCE labels of their VMs and disks.
                "labels": {"recipe-stack": args.labels.get("recipe-stack", args.name)},
                "resource_labels": args.labels,
            },
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(
                    depends_on=[*node_roles, *args.network_routes],
                    # The autoscaler owns the size; a new --min-nodes must not replace the pool.
                    ignore_changes=["initialNodeCount"],
                    custom_timeouts=pulumi.CustomTimeouts(create="30m", update="60m", delete="30m"),
                ),
            ),
        )

        if args.private_endpoint:
            endpoint = self.cluster.control_plane_endpoints_config.apply(
                lambda c: f"https://{c.dns_endpoint_config.endpoint}"
            )
            ca_data = pulumi.Output.from_input(None)  # a publicly trusted certificate
        else:
            endpoint = self.cluster.endpoint.apply(lambda host: f"https://{host}")
            ca_data = self.cluster.master_auth.apply(lambda auth: auth.cluster_ca_certificate)
        # The plugin signs in with application default credentials, like the deploy's GCP provider.
        self.connect(
            name, context=args.context, endpoint=endpoint, ca_data=ca_data, exec_auth=kubeconfig.gke_exec(os.environ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # --admin: each member may read the cluster and reach its API (IAM, project-wide: GKE has no
        # per-cluster IAM) and is cluster-admin inside it (RBAC), never roles/container.admin.
        self.admin_viewers: list[gcp.projects.IAMMember] = []
        self.admin_bindings: list[k8s.rbac.v1.ClusterRoleBinding] = []
        for member in args.admins:
            self.admin_viewers.append(
                gcp.projects.IAMMember(
                    f"{name}-admin-{roles.admin_slug(member)}",
                    project=args.project,
                    role=roles.CLUSTER_VIEWER,
                    member=member,
                    opts=child,
                )
            )
            self.admin_bindings.append(
                k8s.rbac.v1.ClusterRoleBinding(
                    f"{name}-admin-{roles.admin_slug(member)}",
                    metadata={"name": admin_binding_name(member), "labels": args.labels},
                    role_ref={"api_group": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                              "name": roles.KUBERNETES_CLUSTER_ADMIN},
                    subjects=[admin_subject(member)],
                    opts=pulumi.ResourceOptions(parent=self, provider=self.provider),
                )
            )
        self.ready = [self.node_pool]
        self.addons_ready = []  # GKE's own disk driver and metadata server: part of the cluster
        # A GKE load balancer is addressed by IP, so kube-proxy short-circuits in-cluster traffic
        # to it and applies loadBalancerSourceRanges to the pod's or node's own address; traffic
        # that does go out through Cloud NAT comes back from the NAT's address.
        self.internal_sources = [*args.internal_cidrs]
        if args.nat_address is not None:
            self.internal_sources.append(pulumi.Output.concat(args.nat_address, "/32"))
        self.register_cluster_outputs()


def _warn(resource: pulumi.Resource, message: str | None) -> None:
    if message:
        pulumi.log.warn(message, resource=resource)


def _enabled(block: object) -> bool:
    """`enabled` of an output block, read back as the SDK's output type or as a plain dict."""
    value = block.get("enabled") if isinstance(block, dict) else getattr(block, "enabled", None)
    return bool(value)
