"""EKS: control plane and its log group, managed node group, pod identity, EBS storage, kubeconfig.

Built from `aws.eks` resources (not the multi-language `pulumi_eks`), so every
piece is visible to the mock runtime and to `recipe plan`.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from .. import kubeconfig
from ..cloud import ClusterComponent
from . import policies
from .autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs

# C2: the control-plane log types every stack sends to CloudWatch; with --audit-logs all of them (L3, CKV_AWS_37).
LOG_TYPES = ("api", "audit", "authenticator")
AUDIT_LOG_TYPES = (*LOG_TYPES, "controllerManager", "scheduler")
# N4: the VPC CNI's network policy agent enforces NetworkPolicy objects (eBPF, on each node). The
# add-on's documented switch, a string; it needs VPC CNI v1.14.0-eksbuild.3 or later and EKS 1.25
# or later, which every EKS version in standard support (C6) gets as its default add-on version.
NETWORK_POLICY_CONFIGURATION = {"enableNetworkPolicy": "true"}
# --admin: what each listed principal's access entry is associated with, on the whole cluster.
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
STORAGE_CLASS = "gp3"
ROOT_VOLUME_GIB = 50


# Same vCPU and memory as the key, other families: spot capacity of one type runs out
# (AWS advises diversifying), and a managed node group picks among these.
SPOT_ALTERNATIVES: dict[str, list[str]] = {
    "t3.large": ["t3.large", "t3a.large", "m5.large", "m6i.large"],
    "t3.xlarge": ["t3.xlarge", "t3a.xlarge", "m5.xlarge", "m6i.xlarge"],
    "m6i.large": ["m6i.large", "m5.large", "m6a.large", "m7i.large"],
    "m6i.xlarge": ["m6i.xlarge", "m5.xlarge", "m6a.xlarge", "m7i.xlarge"],
}


def spot_types(node_type: str) -> list[str]:
    return SPOT_ALTERNATIVES.get(node_type, [node_type])


def instance_types(node_type: str, spot: bool) -> list[str]:
    """Every type the node group may launch: the network picks zones that offer them all."""
    return spot_types(node_type) if spot else [node_type]


def log_group_name(cluster_name: str) -> str:
    """Where EKS writes the control plane's logs: a fixed name, created by EKS if absent."""
    return f"/aws/eks/{cluster_name}/cluster"


@dataclass
class ClusterArgs:
    name: str
    region: str
    # The control plane's subnets, in two zones (EKS requires two).
    subnet_ids: list[pulumi.Input[str]]
    # The nodes' subnets, all in one zone: PostgreSQL's zonal volume and its pod always
    # meet there (`recipes.aws.network` says why).
    node_subnet_ids: list[pulumi.Input[str]]
    node_type: str
    min_nodes: int
    max_nodes: int
    labels: dict[str, str]
    context: str
    cluster_role_name: str
    node_role_name: str
    ebs_csi_role_name: str
    autoscaler_role_name: str
    version: str | None = None
    # Spot capacity, diversified over same-sized types so a reclaimed type is replaced.
    spot: bool = False
    allow_cidrs: tuple[str, ...] = ()
    # C1: the API endpoint only inside the VPC (no public endpoint at all).
    private_endpoint: bool = False
    # C3 (--kms): envelope encryption of Secrets with the stack's key (and of the
    # control-plane logs: the key's policy lets CloudWatch Logs use it for this log group).
    kms_key_arn: pulumi.Input[str] | None = None
    # How long CloudWatch keeps the control-plane logs (a value CloudWatch accepts: 30, 90, ...).
    log_retention_days: int = 30
    log_types: tuple[str, ...] = LOG_TYPES
    # The network's gateways and routes: the nodes (and so every workload and load balancer on
    # them) are created after and destroyed before them. The control plane does not wait: it
    # needs no route out, and 10 minutes of it run while the NAT gateway comes up.
    network_routes: list[pulumi.Resource] = field(default_factory=list)
    # The NAT gateway's public IP (None with --network public): pods resolve the NLB's hostname
    # to its public addresses and reach it through the NAT, so they arrive from this address.
    nat_public_ip: pulumi.Input[str] | None = None
    # --admin: IAM role/user ARNs given cluster-admin through their own access entries,
    # besides the principal that created the cluster.
    admins: tuple[str, ...] = ()


def admin_resource_name(cluster: str, principal_arn: str) -> str:
    """A stable logical name per admin: reordering --admin changes nothing."""
    return f"{cluster}-admin-" + re.sub(r"[^\w.@+=,-]", "-", principal_arn.split("::", 1)[-1])


def ami_type(node_type: str) -> str:
    """Graviton families (t4g, m7g, c7gn, ...) need the ARM image."""
    family = node_type.split(".")[0]
    return "AL2023_ARM_64_STANDARD" if re.match(r"^[a-z]+\d+g", family) else "AL2023_x86_64_STANDARD"


def vpc_config(subnet_ids: list[pulumi.Input[str]], allow_cidrs: tuple[str, ...], private_endpoint: bool) -> dict:
    """C1: the API endpoint private only (--private-endpoint), or public restricted to
    --allow-cidr when given (`recipe plan` warns when it is open)."""
    config: dict = {"subnet_ids": subnet_ids, "endpoint_private_access": True, "endpoint_public_access": not private_endpoint}
    if not private_endpoint:
        config["public_access_cidrs"] = list(allow_cidrs) or ["0.0.0.0/0"]
    return config


class Cluster(ClusterComponent):
    STORAGE_CLASS = STORAGE_CLASS
    LOAD_BALANCER_ANNOTATIONS = {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}
    LOAD_BALANCER_ADDRESS = "hostname"

    cluster: aws.eks.Cluster
    log_group: aws.cloudwatch.LogGroup
    node_group: aws.eks.NodeGroup
    vpc_cni: aws.eks.Addon

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:aws:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        control_role = _role(f"{name}-control-plane", args.cluster_role_name, "eks.amazonaws.com", policies.EKS_CLUSTER_POLICIES, child)
        control_role_ready: list[pulumi.Resource] = list(control_role.attachments)
        encryption_config = None
        if args.kms_key_arn is not None:
            # The control plane's use of the stack's key: this key only, for Secrets only.
            control_role_ready.append(
                aws.iam.RolePolicy(
                    f"{name}-control-plane-kms",
                    role=control_role.role.id,
                    policy=pulumi.Output.from_input(args.kms_key_arn).apply(policies.cluster_key_use),
                    opts=child,
                )
            )
            encryption_config = {"resources": ["secrets"], "provider": {"key_arn": args.kms_key_arn}}
        # C2: the control-plane logs' group, declared here: left to EKS, which creates it on
        # first write, it would never expire, never use the stack's key, and outlive destroy.
        # The cluster depends on it: created before EKS first writes, deleted after the
        # cluster (no more writes), with the stack: logs are not data kept on destroy.
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=log_group_name(args.name),
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            opts=child,
        )
        self.cluster = aws.eks.Cluster(
            name,
            name=args.name,
            role_arn=control_role.role.arn,
            version=args.version,
            vpc_config=vpc_config(args.subnet_ids, args.allow_cidrs, args.private_endpoint),
            encryption_config=encryption_config,  # C3
            access_config={
                # C4: access entries only (no aws-auth ConfigMap). EKS gives the principal that
                # creates the cluster its own admin entry; every --admin gets one below.
                "authentication_mode": "API",
                "bootstrap_cluster_creator_admin_permissions": True,
            },
            enabled_cluster_log_types=list(args.log_types),  # C2; L3 with --audit-logs
            # Standard support only: extended support costs six times the control-plane fee.
            upgrade_policy={"support_type": "STANDARD"},
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(
                    depends_on=[*control_role_ready, self.log_group],
                    # A control plane takes 9-14 minutes; an upgrade can take longer.
                    custom_timeouts=pulumi.CustomTimeouts(create="30m", update="60m", delete="30m"),
                )
            ),
        )

        # N4: EKS installed the VPC CNI itself (self-managed) with the cluster; adopted here as a
        # managed add-on with network policy enforcement, before the node group (nothing to run
        # on: a DaemonSet is ready with no node), so every node's aws-node starts with the agent
        # and no node or pod ever runs unenforced. OVERWRITE on create takes over the fields
        # EKS's own install set (NONE would stop on them); OVERWRITE on update keeps the
        # declared configuration winning over a hand edit that switched enforcement off.
        # preserve: should the add-on ever leave the program, aws-node stays (as self-managed),
        # or every node would lose pod networking.
        self.vpc_cni = _addon(
            f"{name}-vpc-cni", self.cluster.name, "vpc-cni", [], child,
            configuration_values=json.dumps(NETWORK_POLICY_CONFIGURATION), preserve=True,
        )
        node_role = _role(f"{name}-nodes", args.node_role_name, "ec2.amazonaws.com", policies.EKS_NODE_POLICIES, child)
        launch_template = aws.ec2.LaunchTemplate(
            f"{name}-nodes",
            description=f"Nodes of EKS cluster {args.name}: IMDSv2 only, encrypted gp3 root volume",
            metadata_options={
                "http_endpoint": "enabled",
                "http_tokens": "required",  # N1: IMDSv2 only
                "http_put_response_hop_limit": 1,  # pods cannot reach the node's credentials
            },
            block_device_mappings=[
                {
                    "device_name": "/dev/xvda",
                    "ebs": {"volume_size": ROOT_VOLUME_GIB, "volume_type": "gp3", "encrypted": "true", "delete_on_termination": "true"},
                }
            ],
            tag_specifications=[
                {"resource_type": "instance", "tags": {**args.labels, "Name": f"{args.name}-node"}},
                {"resource_type": "volume", "tags": args.labels},
            ],
            update_default_version=True,
            opts=child,
        )
        self.node_group = aws.eks.NodeGroup(
            f"{name}-nodes",
            cluster_name=self.cluster.name,
            node_role_arn=node_role.role.arn,
            subnet_ids=args.node_subnet_ids,
            instance_types=instance_types(args.node_type, args.spot),
            ami_type=ami_type(args.node_type),
            capacity_type="SPOT" if args.spot else "ON_DEMAND",
            scaling_config={"desired_size": args.min_nodes, "min_size": args.min_nodes, "max_size": args.max_nodes},
            update_config={"max_unavailable": 1},
            launch_template={"id": launch_template.id, "version": launch_template.latest_version.apply(str)},
            labels={"recipe-stack": args.labels.get("recipe-stack", args.name)},
            # No remote_access: no SSH to nodes (N1).
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(
                    depends_on=[*node_role.attachments, *args.network_routes, self.vpc_cni],
                    # An autoscaler owns the current size; redeploying must not reset it.
                    ignore_changes=["scalingConfig.desiredSize"],
                    custom_timeouts=pulumi.CustomTimeouts(create="30m", update="60m", delete="30m"),
                ),
            ),
        )

        # C5: EKS Pod Identity gives pods their own roles, with no node-wide credentials.
        pod_identity_agent = _addon(
            f"{name}-pod-identity-agent", self.cluster.name, "eks-pod-identity-agent", [self.node_group], child
        )
        ebs_role = _role(
            f"{name}-ebs-csi", args.ebs_csi_role_name, "pods.eks.amazonaws.com", policies.EBS_CSI_POLICIES, child,
            extra_actions=("sts:TagSession",),
        )
        ebs_csi = _addon(
            f"{name}-ebs-csi", self.cluster.name, "aws-ebs-csi-driver",
            [self.node_group, pod_identity_agent, *ebs_role.attachments], child,
            pod_identity_associations=[{"role_arn": ebs_role.role.arn, "service_account": "ebs-csi-controller-sa"}],
        )

        # --admin: one access entry per principal, associated with the cluster-admin policy on
        # the whole cluster. Not the creator's: EKS made that one and refuses a second.
        self.admin_entries: list[aws.eks.AccessEntry] = []
        self.admin_policies: list[aws.eks.AccessPolicyAssociation] = []
        for principal_arn in args.admins:
            resource_name = admin_resource_name(name, principal_arn)
            entry = aws.eks.AccessEntry(
                resource_name,
                cluster_name=self.cluster.name,
                principal_arn=principal_arn,
                type="STANDARD",
                opts=child,
            )
            self.admin_entries.append(entry)
            self.admin_policies.append(
                aws.eks.AccessPolicyAssociation(
                    resource_name,
                    cluster_name=self.cluster.name,
                    principal_arn=entry.principal_arn,
                    policy_arn=CLUSTER_ADMIN_POLICY,
                    access_scope={"type": "cluster"},
                    opts=child,
                )
            )

        # `aws eks get-token` signs with the deploy's own credentials (read now, in the deploying process).
        self.connect(
            name, context=args.context, endpoint=self.cluster.endpoint, ca_data=self.cluster.certificate_authority.data,
            exec_auth=kubeconfig.eks_exec(args.name, args.region, os.environ), opts=child,
        )
        storage_class = k8s.storage.v1.StorageClass(
            f"{name}-gp3",
            metadata={
                "name": STORAGE_CLASS,
                "labels": args.labels,
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            provisioner="ebs.csi.aws.com",
            parameters={"type": "gp3", "encrypted": "true"},
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            reclaim_policy="Delete",
            opts=pulumi.ResourceOptions(parent=self, provider=self.provider, depends_on=[ebs_csi]),
        )
        ClusterAutoscaler(
            f"{name}-autoscaler",
            ClusterAutoscalerArgs(
                cluster_name=self.cluster.name,
                cluster_version=self.cluster.version,
                region=args.region,
                role_name=args.autoscaler_role_name,
                node_group=self.node_group,
                provider=self.provider,
                depends_on=[self.node_group, pod_identity_agent],
            ),
            opts=child,
        )
        # Workloads (and the NetworkPolicy objects) wait for the nodes and for enforcement.
        self.ready = [self.node_group, self.vpc_cni]
        # Public nodes have no stable address to admit: the spec refuses --allow-cidr there
        # when MLflow needs reaching from pods.
        self.internal_sources = (
            [pulumi.Output.concat(args.nat_public_ip, "/32")] if args.nat_public_ip is not None else []
        )
        self.addons_ready = [pod_identity_agent, ebs_csi, storage_class]
        self.register_cluster_outputs()


@dataclass
class _Role:
    role: aws.iam.Role
    attachments: list[aws.iam.RolePolicyAttachment]


def _role(
    name: str, role_name: str, service: str, managed: tuple[str, ...], opts: pulumi.ResourceOptions,
    extra_actions: tuple[str, ...] = (),
) -> _Role:
    role = aws.iam.Role(
        name, name=role_name, assume_role_policy=policies.assume_role(service, extra_actions), opts=opts
    )
    attachments = [
        aws.iam.RolePolicyAttachment(f"{name}-{arn.rsplit('/', 1)[-1]}", role=role.name, policy_arn=arn, opts=opts)
        for arn in managed
    ]
    return _Role(role, attachments)


def _addon(
    name: str, cluster_name: pulumi.Input[str], addon_name: str, depends_on: list[pulumi.Resource],
    opts: pulumi.ResourceOptions, pod_identity_associations: list[dict] | None = None,
    configuration_values: str | None = None, preserve: bool | None = None,
) -> aws.eks.Addon:
    """An EKS add-on, created after `depends_on` (the nodes it runs on, the roles it uses). OVERWRITE:
    it takes over what a previous install left in its way, so no create or update stops on a conflict."""
    return aws.eks.Addon(
        name,
        cluster_name=cluster_name,
        addon_name=addon_name,
        resolve_conflicts_on_create="OVERWRITE",
        resolve_conflicts_on_update="OVERWRITE",
        pod_identity_associations=pod_identity_associations,
        configuration_values=configuration_values,
        preserve=preserve,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=depends_on)),
    )
