"""Azure role assignments: built-in roles by ID, one narrow scope each, deterministic names.

A role assignment's name is a GUID the caller chooses. Choosing it from the
subscription, the stack and the assignment's purpose (uuid5) means a re-deploy
finds the same assignment instead of adding a duplicate, and two stacks never
collide. No assignment here is Owner, Contributor or User Access Administrator (I1).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pulumi
import pulumi_azure_native.authorization as authorization

# Built-in role definition IDs (the same in every Azure tenant).
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
# Key Vault data roles (RBAC vaults, --kms): create/manage keys; wrap/unwrap for a service's
# encryption at rest; encrypt/decrypt for AKS KMS.
KEY_VAULT_CRYPTO_OFFICER = "14b46e9e-c2b7-41b4-b07b-48a6ebf60603"
KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
KEY_VAULT_CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424"
ROLE_NAMES = {
    ACR_PULL: "AcrPull",
    STORAGE_BLOB_DATA_CONTRIBUTOR: "Storage Blob Data Contributor",
    AKS_RBAC_CLUSTER_ADMIN: "Azure Kubernetes Service RBAC Cluster Admin",
    NETWORK_CONTRIBUTOR: "Network Contributor",
    KEY_VAULT_CRYPTO_OFFICER: "Key Vault Crypto Officer",
    KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER: "Key Vault Crypto Service Encryption User",
    KEY_VAULT_CRYPTO_USER: "Key Vault Crypto User",
}

# Fixed namespace for assignment names: changing it would re-create every assignment.
NAMESPACE = uuid.UUID("5c0f6a1e-3b7d-4c8e-9a2f-7d1e4b6c8a90")


def assignment_name(subscription_id: str, stack: str, suffix: str, purpose: str) -> str:
    """The GUID naming one role assignment of one stack in one subscription."""
    return str(uuid.uuid5(NAMESPACE, f"{subscription_id}/{stack}/{suffix}/{purpose}"))


def definition_id(subscription_id: str, role: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role}"


@dataclass
class Roles:
    """Creates the role assignments of one stack.

    `subscription_id` and `deployer_object_id` come from the credentials the
    deploy runs with (`authorization.get_client_config`).
    """

    subscription_id: pulumi.Output[str]
    deployer_object_id: pulumi.Output[str]
    stack: str
    suffix: str

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
        """
        return authorization.RoleAssignment(
            resource_name,
            role_assignment_name=self.subscription_id.apply(
                lambda sub: assignment_name(sub, self.stack, self.suffix, resource_name)
            ),
            role_definition_id=self.subscription_id.apply(lambda sub: definition_id(sub, role)),
            scope=scope,
            principal_id=principal_id,
            principal_type=principal_type if principal_type is not None else pulumi.Output.from_input(None),
            description=f"stack-recipes {self.stack}: {description}",
            opts=opts,
        )
