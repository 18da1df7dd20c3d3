"""Pod identities: an IAM role for one Kubernetes service account, and nothing more."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from . import policies


@dataclass
class PodRole:
    role: aws.iam.Role
    policy: aws.iam.RolePolicy
    association: aws.eks.PodIdentityAssociation


def pod_role(
    name: str, *, role_name: str, description: str, cluster_name: pulumi.Input[str], namespace: str,
    service_account: str, policy: pulumi.Input[str], opts: pulumi.ResourceOptions,
) -> PodRole:
    """A role only pods of `namespace/service_account` in this cluster can assume (EKS Pod Identity)."""
    role = aws.iam.Role(
        f"{name}-role",
        name=role_name,
        description=description,
        assume_role_policy=policies.assume_role("pods.eks.amazonaws.com", ("sts:TagSession",)),
        opts=opts,
    )
    inline = aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=policy, opts=opts)
    association = aws.eks.PodIdentityAssociation(
        f"{name}-association",
        cluster_name=cluster_name,
        namespace=namespace,
        service_account=service_account,
        role_arn=role.arn,
        opts=opts,
    )
    return PodRole(role, inline, association)


@dataclass
class BucketAccessArgs:
    role_name: str
    cluster_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    namespace: str
    service_account: str
    # --kms: the bucket's objects are SSE-KMS with this key, which the pods must use too.
    kms_key_arn: pulumi.Input[str] | None = None
    region: str | None = None


class BucketAccess(pulumi.ComponentResource):
    """Object access on the stack's bucket (and, with --kms, its key) only (I1), for one service account."""

    role: aws.iam.Role
    association: aws.eks.PodIdentityAssociation

    def __init__(self, name: str, args: BucketAccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:aws:BucketAccess", name, None, opts)
        access = pod_role(
            name,
            role_name=args.role_name,
            description=f"Pods of {args.namespace}/{args.service_account}: objects of one bucket",
            cluster_name=args.cluster_name,
            namespace=args.namespace,
            service_account=args.service_account,
            policy=pulumi.Output.all(args.bucket_arn, args.kms_key_arn).apply(
                lambda v: policies.bucket_read_write(v[0], v[1], args.region)
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.role, self.association = access.role, access.association
        self.register_outputs({"role_arn": self.role.arn})
