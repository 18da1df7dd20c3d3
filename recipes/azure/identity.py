"""Managed identities, and the workload identities: one per Kubernetes service account, one storage account.

AKS workload identity (C5): pods of the service account, labelled
`azure.workload.identity/use=true`, get a projected token the identity trusts
through a federated credential (issuer = this cluster's OIDC issuer, subject =
that one service account). The identity holds Storage Blob Data Contributor on
the stack's storage account and nothing else (I1); no key exists anywhere (I2).
The identity lives in the main resource group and goes with the stack.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native.managedidentity as managedidentity

from . import roles
from .placement import Placement

# The audience AKS workload identity tokens are issued for.
TOKEN_AUDIENCE = "api://AzureADTokenExchange"


def managed_identity(
    name: str, identity_name: str, placement: Placement, opts: pulumi.ResourceOptions
) -> managedidentity.UserAssignedIdentity:
    """A user-assigned identity: what a cluster, a workload or encryption at rest acts as, keyless."""
    return managedidentity.UserAssignedIdentity(
        name,
        resource_name_=identity_name,
        resource_group_name=placement.resource_group_name,
        location=placement.location,
        tags=placement.tags,
        opts=opts,
    )


@dataclass
class BucketAccessArgs(Placement):
    identity_name: str
    oidc_issuer_url: pulumi.Input[str]
    namespace: str
    service_account: str
    storage_account_id: pulumi.Input[str]
    roles: roles.Roles


def subject(namespace: str, service_account: str) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


class BucketAccess(pulumi.ComponentResource):
    """Blob read/write on the stack's storage account only (I1), for one service account."""

    identity: managedidentity.UserAssignedIdentity
    credential: managedidentity.FederatedIdentityCredential
    role_assignment: pulumi.Resource
    client_id: pulumi.Output[str]

    def __init__(self, name: str, args: BucketAccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:azure:BucketAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.identity = managed_identity(f"{name}-identity", args.identity_name, args, child)
        self.credential = managedidentity.FederatedIdentityCredential(
            f"{name}-federation",
            federated_identity_credential_resource_name=f"kubernetes-{args.namespace}-{args.service_account}",
            resource_name_=self.identity.name,
            resource_group_name=args.resource_group_name,
            issuer=args.oidc_issuer_url,
            subject=subject(args.namespace, args.service_account),
            audiences=[TOKEN_AUDIENCE],
            opts=child,
        )
        self.role_assignment = args.roles.grant_identity(
            f"{name}-blob-data", role=roles.STORAGE_BLOB_DATA_CONTRIBUTOR, scope=args.storage_account_id,
            principal_id=self.identity.principal_id,
            description=f"pods of {args.namespace}/{args.service_account} read and write the stack's blobs", opts=child,
        )
        self.client_id = self.identity.client_id
        self.register_outputs({"client_id": self.client_id, "principal_id": self.identity.principal_id})
