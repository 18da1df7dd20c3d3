"""The container registry ZenML pushes images to: ACR Basic (Premium with --kms or --network-rules), no admin user, kept on destroy.

Data survival (D1): the registry lives in the stack's data resource group and is
`retain_on_delete` unless --delete-data, like the storage account. The AcrPull
assignment for the cluster's kubelet identity is not retained: it belongs to a
cluster that the destroy removes.

Options, not defaults (they cost money): image scanning (R2) is Microsoft
Defender for Containers; a retention policy for untagged manifests (R4) and
private endpoints need the Premium tier. ZenML re-pushes the same tag for every
build of a pipeline, so tags stay mutable (R1 is an option, see the README).

--kms (B3): the registry encrypts with the stack's Key Vault key, reached
through the user-assigned encryption identity. ACR takes customer-managed keys
only on the Premium tier, so --kms moves the registry from Basic to Premium,
which costs about ten times as much; without --kms it stays Basic with
Microsoft-managed keys. The key is versionless, so ACR follows rotations. ACR
accepts a customer-managed key only when the registry is created: turning
--kms on for an existing stack's registry is refused by Azure (move the images
to a new registry, or keep --kms off for that stack).

--network-rules (B7, firewall.py): the registry denies by default and admits the
cluster's own outbound address, trusted Azure services and --allow-cidr's public
addresses. IP rules need Premium too, so --network-rules also moves the registry to
Premium (an in-place SKU change). Its public endpoint stays enabled: disabling it
would need private endpoints (and DNS) for the nodes and would lock out every
machine outside the VNet. Turning --network-rules off again moves a registry
without --kms back to Basic, which Azure allows only once its IP rules are gone.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native.containerregistry as containerregistry

from . import roles
from .firewall import TRUSTED_SERVICES, Firewall
from .kms import EncryptionKey
from .placement import Placement
from ..cloud import kept


@dataclass
class RegistryArgs(Placement):
    name: str
    roles: roles.Roles
    # The AKS kubelet identity, when the stack has a cluster: it gets AcrPull here.
    kubelet_object_id: pulumi.Input[str] | None = None
    retain: bool = True  # D1
    # --kms: the stack's key and the identity that reaches it (and Premium); None: Basic, Microsoft-managed keys.
    encryption: EncryptionKey | None = None
    # --network-rules: deny by default, admit these (and Premium); None: any network, tokens only.
    firewall: Firewall | None = None


def premium(args: RegistryArgs) -> bool:
    """Customer-managed keys (--kms) and IP rules (--network-rules) are Premium features."""
    return args.encryption is not None or args.firewall is not None


def network_rule_set(firewall: Firewall) -> dict:
    """B7: deny unless the cluster's outbound address or an --allow-cidr address (ACR takes IP rules only)."""
    values = [*firewall.ip_rules, *firewall.addresses]
    return {"default_action": "Deny", "ip_rules": [{"i_p_address_or_range": v, "action": "Allow"} for v in values]}


class Registry(pulumi.ComponentResource):
    registry: containerregistry.Registry
    uri: pulumi.Output[str]

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:azure:Registry", name, None, opts)
        cmk = args.encryption
        identity = encryption = None
        depends_on: list[pulumi.Resource] = []
        if cmk is not None:
            # ACR lists user-assigned identities as a map keyed by their ids.
            identity = cmk.identity_id.apply(
                lambda identity_id: {"type": "UserAssigned", "user_assigned_identities": {identity_id: {}}}
            )
            encryption = {
                "status": "enabled",
                "key_vault_properties": {"key_identifier": cmk.key_uri, "identity": cmk.identity_client_id},
            }
            depends_on = list(cmk.ready)  # Azure checks the key when the registry is created
        self.registry = containerregistry.Registry(
            name,
            registry_name=args.name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            # Customer-managed keys and IP rules need Premium: only with --kms or --network-rules (it costs more).
            sku={"name": "Premium" if premium(args) else "Basic"},
            admin_user_enabled=False,  # R3: no shared admin password
            anonymous_pull_enabled=False,  # R3
            identity=identity,
            encryption=encryption,  # B3
            public_network_access="Enabled" if args.firewall is not None else None,  # through the firewall
            network_rule_set=network_rule_set(args.firewall) if args.firewall is not None else None,  # B7
            network_rule_bypass_options=TRUSTED_SERVICES if args.firewall is not None else None,
            tags=args.tags,
            opts=kept(args.retain, parent=self, depends_on=depends_on),
        )
        self.pull_role = None
        if args.kubelet_object_id is not None:
            # R3: nodes pull with their kubelet identity, from this registry only.
            self.pull_role = args.roles.grant_identity(
                f"{name}-kubelet-pull", role=roles.ACR_PULL, scope=self.registry.id, principal_id=args.kubelet_object_id,
                description=f"AKS nodes pull images from {args.name}", opts=pulumi.ResourceOptions(parent=self),
            )
        # ZenML wants the registry host: <name>.azurecr.io
        self.uri = self.registry.login_server
        self.register_outputs({"uri": self.uri, "id": self.registry.id})
