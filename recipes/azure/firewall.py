"""--network-rules: what the storage account and the registry admit, and what the plan says about it.

With --network-rules (the prod profile) both deny by default (B7) and admit:

- the storage account: the AKS node subnet, through a `Microsoft.Storage` service
  endpoint on it (IP rules cannot admit the cluster: "IP network rules have no effect
  on requests that originate from the same Azure region as the storage account"),
  trusted Azure services (`AzureServices`: Network Watcher and Azure Monitor
  writing logs, Defender), and --allow-cidr;
- the registry (Premium: IP rules need it): the cluster's own outbound address (a
  static public IP the cluster egresses through, `network.Network`; ACR has no
  generally available service endpoint), trusted services, and --allow-cidr.

Azure's IP rules take public internet addresses only (RFC 1918 ranges are refused),
and storage refuses /31 and /32 prefixes ("configure these ranges using individual IP
address rules"), so --allow-cidr is turned into what each service accepts here and
ranges that are not public are left out (they still restrict the API server and the
load balancers).

The Key Vault (--kms) is not put behind its firewall: AKS KMS in its public key vault
mode "can't be configured with the firewall option Allow public access from specific
virtual networks and IP addresses" (AKS, KMS etcd encryption, limitations), and ACR
reaches its customer-managed key through a user-assigned identity, which the Key
Vault trusted-services exception does not admit (only a registry's system-assigned
identity passes it). Every call to the vault is still authenticated with Entra ID
and authorised by RBAC on the key.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

import pulumi

from ..spec import StackSpec

# Trusted Azure services pass both firewalls (storage: Network Watcher flow logs, Azure
# Monitor; registry: Defender scanning, ACR Tasks).
TRUSTED_SERVICES = "AzureServices"
STORAGE_SERVICE_ENDPOINT = "Microsoft.Storage"
VAULT_STAYS_OPEN = (
    "the Key Vault stays reachable from the internet (Entra ID and RBAC on every call): AKS KMS in public key "
    "vault mode cannot pass a Key Vault firewall, and ACR's user-assigned key identity is not admitted by its "
    "trusted-services exception"
)


@dataclass
class Firewall:
    """What one service admits besides trusted Azure services when it denies by default."""

    ip_rules: tuple[str, ...] = ()  # public addresses and ranges, as Azure's IP rules take them
    subnet_id: pulumi.Input[str] | None = None  # storage: the node subnet (service endpoint)
    addresses: list[pulumi.Input[str]] = field(default_factory=list)  # registry: the cluster's outbound IP


# What no internet client comes from: RFC 1918 (which Azure's IP rules refuse), shared address
# space (carrier-grade NAT), loopback and link-local.
NOT_PUBLIC = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16"))


def public_ranges(cidrs: Iterable[str]) -> list[ipaddress.IPv4Network]:
    """The public ranges among `cidrs`: the only ones Azure's IP rules take."""
    networks = [ipaddress.ip_network(c) for c in cidrs]
    return [n for n in networks if n.version == 4 and not any(n.subnet_of(p) for p in NOT_PUBLIC)]


def ip_rule_values(cidrs: Iterable[str]) -> tuple[str, ...]:
    """--allow-cidr as storage and registry IP rules: a /32 as its address, a /31 as its two
    addresses (storage refuses both prefixes), anything else as the range."""
    values: list[str] = []
    for network in public_ranges(cidrs):
        if network.prefixlen == 32:
            values.append(str(network.network_address))
        elif network.prefixlen == 31:
            values.extend(str(address) for address in network)
        else:
            values.append(str(network))
    return tuple(dict.fromkeys(values))


def network_rules_warning(spec: StackSpec) -> str | None:
    """What `recipe plan` should say about --network-rules, or None: whether the machine that deploys
    (and pushes images, reads artifacts) is admitted by the storage and registry firewalls."""
    if not spec.network_rules or not (spec.has("bucket") or spec.has("registry")):
        return None
    what = " and ".join(w for c, w in (("bucket", "the storage account"), ("registry", "the container registry"))
                        if spec.has(c))
    left_out = [c for c in spec.allow_cidrs if ipaddress.ip_network(c) not in public_ranges([c])]
    if not public_ranges(spec.allow_cidrs):
        return (f"--network-rules: {what} admit only the cluster's network and trusted Azure services; this machine "
                "cannot push images or read the bucket (ZenML, MLflow artifact downloads) unless its public address "
                "is allowed: add --allow-cidr YOUR.PUBLIC.IP/32"
                + (f" ({', '.join(left_out)} are not public addresses, which Azure's IP rules do not take)" if left_out else ""))
    if left_out:
        return (f"--network-rules: {', '.join(left_out)} are not public addresses; Azure's IP rules take public "
                f"addresses only, so {what} do not admit them (they still restrict the API server and load balancers)")
    return None
