"""Pod identity for one Kubernetes service account, scoped to the stack's bucket."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from . import policies


@dataclass
class BucketAccessArgs:
    role_name: str
    cluster_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    namespace: str
    service_account: str


class BucketAccess(pulumi.ComponentResource):
    role: aws.iam.Role
    association: aws.eks.PodIdentityAssociation

    def __init__(self, name: str, args: BucketAccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:aws:BucketAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.role = aws.iam.Role(
            f"{name}-role",
            name=args.role_name,
            description=f"Pods of {args.namespace}/{args.service_account}: objects of one bucket",
            assume_role_policy=policies.assume_role("pods.eks.amazonaws.com", ("sts:TagSession",)),
            opts=child,
        )
        aws.iam.RolePolicy(  # I1: this bucket only
            f"{name}-bucket",
            role=self.role.id,
            policy=pulumi.Output.from_input(args.bucket_arn).apply(policies.bucket_read_write),
            opts=child,
        )
        self.association = aws.eks.PodIdentityAssociation(
            f"{name}-association",
            cluster_name=args.cluster_name,
            namespace=args.namespace,
            service_account=args.service_account,
            role_arn=self.role.arn,
            opts=child,
        )
        self.register_outputs({"role_arn": self.role.arn})
