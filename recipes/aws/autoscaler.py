"""Cluster Autoscaler: makes the node group's min/max bounds real on EKS.

GKE and AKS scale node pools themselves; on EKS a managed node group only has
bounds, so the autoscaler adds nodes when pods cannot be scheduled and removes
idle ones. Its role may only resize this node group's own Auto Scaling group.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from ..kubernetes import versions
from ..kubernetes.helm import release
from .identity import pod_role

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"
# Read-only calls that AWS does not scope to a resource (no resource-level permissions).
DISCOVERY_ACTIONS = [
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities",
    "autoscaling:DescribeTags",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements",
]
RESIZE_ACTIONS = ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]


def autoscaler_policy(asg_arns: list[str], nodegroup_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "Discover", "Effect": "Allow", "Action": DISCOVERY_ACTIONS, "Resource": "*"},
                {"Sid": "DescribeNodeGroup", "Effect": "Allow", "Action": ["eks:DescribeNodegroup"], "Resource": nodegroup_arn},
                {"Sid": "ResizeThisNodeGroup", "Effect": "Allow", "Action": RESIZE_ACTIONS, "Resource": asg_arns},
            ],
        }
    )


@dataclass
class ClusterAutoscalerArgs:
    cluster_name: pulumi.Input[str]
    cluster_version: pulumi.Input[str]
    region: str
    role_name: str
    node_group: aws.eks.NodeGroup
    provider: k8s.Provider
    depends_on: list[pulumi.Resource]


class ClusterAutoscaler(pulumi.ComponentResource):
    def __init__(self, name: str, args: ClusterAutoscalerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:aws:ClusterAutoscaler", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        asg_names = args.node_group.resources.apply(
            lambda resources: [g.name for r in resources or [] for g in (r.autoscaling_groups or []) if g.name]
        )
        asg_arns = pulumi.Output.all(account, asg_names).apply(
            lambda v: [f"arn:aws:autoscaling:{args.region}:{v[0]}:autoScalingGroup:*:autoScalingGroupName/{n}" for n in v[1]]
        )
        access = pod_role(
            name,
            role_name=args.role_name,
            description="Cluster Autoscaler: resize this stack's node group only",
            cluster_name=args.cluster_name,
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
            policy=pulumi.Output.all(asg_arns, args.node_group.arn).apply(lambda v: autoscaler_policy(v[0], v[1])),
            opts=child,
        )
        release(
            "cluster-autoscaler",
            versions.CLUSTER_AUTOSCALER,
            NAMESPACE,
            {
                "cloudProvider": "aws",
                "awsRegion": args.region,
                "autoDiscovery": {"clusterName": args.cluster_name},
                "rbac": {"serviceAccount": {"create": True, "name": SERVICE_ACCOUNT}},
                # The autoscaler's minor version must match the cluster's.
                "image": {"tag": pulumi.Output.from_input(args.cluster_version).apply(lambda v: f"v{v}.0")},
                "extraArgs": {"balance-similar-node-groups": True, "expander": "least-waste", "skip-nodes-with-system-pods": False},
                "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
                "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534, "seccompProfile": {"type": "RuntimeDefault"}},
                "containerSecurityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}},
            },
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[*args.depends_on, access.policy, access.association]),
            timeout_seconds=300,
        )
        self.register_outputs({"role_arn": access.role.arn})
