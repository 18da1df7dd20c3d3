"""Azure role assignments: built-in roles by ID, one narrow scope each, deterministic names.

A role assignment's name is a GUID the caller chooses. Choosing it from the
subscription, the stack, the role, the scope and the principal (uuid5) means a
re-deploy finds the same assignment instead of adding a duplicate, two stacks
never collide, and two principals never share a name: a teammate deploying from
a shared backend gets an assignment of their own, never the creator's moved to
them (Azure refuses to change an assignment's principal). No assignment here is
Owner, Contributor or User Access Administrator (I1).

Azure also refuses a second assignment of the same role to the same principal
on the same scope under another name, which shapes the options `Roles.assign`
sets: a renamed assignment is deleted before its replacement is created, and a
retained one (kept on destroy, like the data it grants) keeps the name it was
created with, since the old one would stay behind.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pulumi
import pulumi_azure_native.authorization as authorization

from ..propagation import AZURE_ROLE_ASSIGNMENT, Propagation, PropagationArgs

# Built-in role definition IDs (the same in every Azure tenant).
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"  # --audit-logs: the deployer reads flow logs
AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
ACR_PUSH = "8311e382-0749-4cb8-b61a-304f252e45ec"  # push and pull
# Key Vault data roles (RBAC vaults, --kms): create/manage keys; wrap/unwrap for a service's
# encryption at rest; encrypt/decrypt for AKS KMS.
KEY_VAULT_CRYPTO_OFFICER = "14b46e9e-c2b7-41b4-b07b-48a6ebf60603"
KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
KEY_VAULT_CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424"
ROLE_NAMES = {
    ACR_PULL: "AcrPull",
    STORAGE_BLOB_DATA_CONTRIBUTOR: "Storage Blob Data Contributor",
    STORAGE_BLOB_DATA_READER: "Storage Blob Data Reader",
    AKS_RBAC_CLUSTER_ADMIN: "Azure Kubernetes Service RBAC Cluster Admin",
    NETWORK_CONTRIBUTOR: "Network Contributor",
    ACR_PUSH: "AcrPush",
    KEY_VAULT_CRYPTO_OFFICER: "Key Vault Crypto Officer",
    KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER: "Key Vault Crypto Service Encryption User",
    KEY_VAULT_CRYPTO_USER: "Key Vault Crypto User",
}

# Fixed namespace for assignment names: changing it would re-create every assignment.
NAMESPACE = uuid.UUID("5c0f6a1e-3b7d-4c8e-9a2f-7d1e4b6c8a90")


# --admin's `kind:` prefix -> the principalType a role assignment takes (azure-native's
# PrincipalType: User, Group, ServicePrincipal, ForeignGroup, Device); no prefix: Azure looks it up.
PRINCIPAL_TYPES = {"user": "User", "group": "Group", "servicePrincipal": "ServicePrincipal"}


def assignment_name(subscription_id: str, stack: str, suffix: str, role: str, scope: str, principal_id: str) -> str:
    """The GUID naming one role assignment of one stack: `role` for `principal_id` on `scope`.
    ARM ids and object ids are case-insensitive, so their case never changes the name."""
    return str(uuid.uuid5(NAMESPACE, f"{subscription_id}|{stack}|{suffix}|{role}|{scope.lower()}|{principal_id.lower()}"))


@dataclass(frozen=True)
class Principal:
    """An --admin: an Entra object id and, when given, its principal type."""

    object_id: str
    principal_type: str | None = None


def admin_principals(admins: tuple[str, ...]) -> list[Principal]:
    """The spec's --admin entries (`<uuid>` or `kind:<uuid>`, validated by recipes.spec)."""
    out = []
    for admin in admins:
        kind, _, object_id = admin.rpartition(":")
        out.append(Principal(object_id, PRINCIPAL_TYPES[kind] if kind else None))
    return out


def definition_id(subscription_id: str, role: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role}"


def takes_effect(
    name: str, assignment: pulumi.Resource, *, principal: pulumi.Input[str], reason: str, parent: pulumi.Resource
) -> Propagation:
    """The wait for `assignment` to take effect (Azure's documented bound): what needs the role
    depends on its `sleep`. It waits again when `principal` changes; a wait keeps nothing on destroy."""
    return Propagation(
        name,
        PropagationArgs(
            duration=AZURE_ROLE_ASSIGNMENT, grants=[assignment], reason=reason, triggers={"principal": principal}
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )


@dataclass
class Roles:
    """Creates the role assignments of one stack.

    `subscription_id` and `deployer_object_id` come from the credentials the
    deploy runs with (`authorization.get_client_config`); the object id is known
    when the program starts, so the deployer can be told apart from the --admins.
    """

    subscription_id: pulumi.Output[str]
    deployer_object_id: str
    stack: str
    suffix: str
    admins: tuple[Principal, ...] = ()

    def team(self) -> list[Principal]:
        """Who administers the stack: every --admin, then the deployer unless listed."""
        listed = {a.object_id for a in self.admins}
        return [*self.admins, *([] if self.deployer_object_id in listed else [Principal(self.deployer_object_id)])]

    def grant_admins(self, purpose: str, *, role: str, scope: pulumi.Input[str], what: str, parent: pulumi.Resource) -> None:
        """`role` on `scope` for every --admin, one assignment each (`<purpose>-admin-<object id>`).

        Not retained: dropping someone from --admin revokes their access."""
        for admin in self.admins:
            self.assign(
                f"{purpose}-admin-{admin.object_id}",
                role=role,
                scope=scope,
                principal_id=admin.object_id,
                principal_type=admin.principal_type,
                description=f"an --admin {what}",
                opts=pulumi.ResourceOptions(parent=parent),
            )

    def grant_identity(
        self, resource_name: str, *, role: str, scope: pulumi.Input[str], principal_id: pulumi.Input[str],
        description: str, opts: pulumi.ResourceOptions,
    ) -> authorization.RoleAssignment:
        """`role` on `scope` for a managed identity (a service principal, maybe not replicated yet: see `assign`)."""
        return self.assign(
            resource_name, role=role, scope=scope, principal_id=principal_id, principal_type="ServicePrincipal",
            description=description, opts=opts,
        )

    def grant_deployer(
        self, resource_name: str, *, role: str, scope: pulumi.Input[str], what: str, opts: pulumi.ResourceOptions
    ) -> authorization.RoleAssignment:
        """`role` on `scope` for whoever deploys: a user or a service principal, so Azure looks the type up."""
        return self.assign(
            resource_name, role=role, scope=scope, principal_id=self.deployer_object_id,
            description=f"the deploying principal {what}", opts=opts,
        )

    def assign(
        self,
        resource_name: str,
        *,
        role: str,
        scope: pulumi.Input[str],
        principal_id: pulumi.Input[str],
        description: str,
        principal_type: str | None = None,
        opts: pulumi.ResourceOptions,
    ) -> authorization.RoleAssignment:
        """`role` for `principal_id` on `scope` only.

        `principal_type` is "ServicePrincipal" for managed identities (their
        assignment may be created before Entra ID has replicated them); left
        unset for the deployer, who may be a user or a service principal: Azure
        then looks the type up. (The SDK fills in "User" for a plain None, which
        Azure refuses for a service principal with UnmatchedPrincipalType, so
        "unset" is sent as an Output of None, which is left out of the request.)

        A new name (a new principal or scope) deletes the old assignment first: Azure
        refuses two of one role for one principal on one scope. A retained assignment
        keeps the name it was created with (the one it had before names carried the
        principal, on an older stack), and a retained one of the deployer's also keeps
        its principal: it stays with whoever created it, and a teammate's deploy neither
        moves it nor leaves a copy behind. Teammates get theirs from --admin.
        """
        retained = bool(opts.retain_on_delete)
        ignore = ["roleAssignmentName"] if retained else []
        if retained and isinstance(principal_id, str) and principal_id == self.deployer_object_id:
            ignore.append("principalId")
        return authorization.RoleAssignment(
            resource_name,
            role_assignment_name=pulumi.Output.all(self.subscription_id, scope, principal_id).apply(
                lambda v: assignment_name(v[0], self.stack, self.suffix, role, v[1], v[2])
            ),
            role_definition_id=self.subscription_id.apply(lambda sub: definition_id(sub, role)),
            scope=scope,
            principal_id=principal_id,
            principal_type=principal_type if principal_type is not None else pulumi.Output.from_input(None),
            description=f"stack-recipes {self.stack}: {description}",
            opts=pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(delete_before_replace=True, ignore_changes=ignore or None)
            ),
        )
