"""Workload identity: a Google service account for one Kubernetes service account, and nothing more."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from . import roles


@dataclass
class BucketAccessArgs:
    account_id: str
    project: str
    bucket_name: pulumi.Input[str]
    namespace: str
    service_account: str
    # The workload pool exists only once a cluster with workload identity does: the
    # binding naming it waits for the cluster.
    cluster: pulumi.Resource | None = None
    apis: list[pulumi.Resource] = field(default_factory=list)


class BucketAccess(pulumi.ComponentResource):
    """Object access on the stack's bucket only (I1), for one Kubernetes service account. No keys (I2)."""

    account: gcp.serviceaccount.Account
    email: pulumi.Output[str]
    bindings: list[pulumi.Resource]

    def __init__(self, name: str, args: BucketAccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:gcp:BucketAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=args.apis)
        self.account = gcp.serviceaccount.Account(
            f"{name}-sa",
            account_id=args.account_id,
            display_name=f"{args.namespace}/{args.service_account}",
            description=f"stack-recipes: pods of {args.namespace}/{args.service_account}, objects of one bucket",
            opts=child,
        )
        objects = gcp.storage.BucketIAMMember(
            f"{name}-objects",
            bucket=args.bucket_name,
            role=roles.BUCKET_OBJECTS,
            member=self.account.member,
            opts=child,
        )
        workload = gcp.serviceaccount.IAMMember(
            f"{name}-workload",
            service_account_id=self.account.name,
            role=roles.WORKLOAD_IDENTITY_USER,
            member=roles.kubernetes_member(args.project, args.namespace, args.service_account),
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[args.cluster] if args.cluster is not None else [])
            ),
        )
        self.email = self.account.email
        self.bindings = [objects, workload]
        self.register_outputs({"email": self.email})
