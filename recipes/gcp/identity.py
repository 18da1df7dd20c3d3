"""The stack's Google service accounts: the nodes' own, and one per Kubernetes service account (workload identity)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from . import roles


def service_account(
    name: str, account_id: str, display_name: str, purpose: str, opts: pulumi.ResourceOptions
) -> gcp.serviceaccount.Account:
    """One of the stack's service accounts; `purpose` (its description) says what it may do."""
    return gcp.serviceaccount.Account(
        name, account_id=account_id, display_name=display_name, description=f"stack-recipes: {purpose}", opts=opts
    )


@dataclass
class NodeIdentity:
    account: gcp.serviceaccount.Account
    roles: list[gcp.projects.IAMMember]  # what the nodes wait for


def node_identity(
    name: str, account_id: str, cluster_name: str, project: str, opts: pulumi.ResourceOptions
) -> NodeIdentity:
    """N2: the nodes' own identity with what a node needs (roles.NODE_PROJECT_ROLES), never the
    Compute Engine default service account (Editor on the project)."""
    account = service_account(
        name, account_id, f"GKE nodes of {cluster_name}", "node identity with logging, monitoring and image pull only", opts
    )
    granted = [
        gcp.projects.IAMMember(
            f"{name}-{role.rsplit('/', 1)[-1].replace('.', '-').lower()}",
            project=project,
            role=role,
            member=account.member,
            opts=opts,
        )
        for role in roles.NODE_PROJECT_ROLES
    ]
    return NodeIdentity(account, granted)


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
        who = f"{args.namespace}/{args.service_account}"
        self.account = service_account(f"{name}-sa", args.account_id, who, f"pods of {who}, objects of one bucket", child)
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
