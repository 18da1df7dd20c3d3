"""The virtual network: one subnet for the AKS nodes, no public IP on any node.

Pods get addresses from an overlay range outside the VNet (Azure CNI Overlay),
so the node subnet only needs one address per node. Outbound traffic leaves
through the cluster's own Standard load balancer (explicit outbound), which is
why the subnet can switch Azure's implicit default outbound access off, and why
no NAT gateway (and its hourly cost) is needed.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_azure_native.network as network

from .placement import Placement

VNET_CIDR = "10.224.0.0/16"
NODE_SUBNET_PREFIX = 20  # 4,091 usable addresses: one per node with Azure CNI Overlay


@dataclass
class NetworkArgs(Placement):
    name: str
    cidr: str = VNET_CIDR


class Network(pulumi.ComponentResource):
    vnet: network.VirtualNetwork
    node_subnet: network.Subnet
    node_subnet_id: pulumi.Output[str]
    node_cidr: str  # the node subnet's range

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:azure:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        node_cidr = str(next(ipaddress.ip_network(args.cidr).subnets(new_prefix=NODE_SUBNET_PREFIX)))

        # No inline `subnets`: the standalone Subnet below is left alone when the VNet is updated.
        self.vnet = network.VirtualNetwork(
            f"{name}-vnet",
            virtual_network_name=args.name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            address_space={"address_prefixes": [args.cidr]},
            tags=args.tags,
            opts=child,
        )
        self.node_subnet = network.Subnet(
            f"{name}-nodes",
            subnet_name="nodes",
            virtual_network_name=self.vnet.name,
            resource_group_name=args.resource_group_name,
            address_prefix=node_cidr,
            # Private subnet: the only way out is the cluster load balancer's outbound rules.
            default_outbound_access=False,
            opts=child,
        )
        self.node_subnet_id = self.node_subnet.id
        self.node_cidr = node_cidr
        self.register_outputs({"vnet_id": self.vnet.id, "node_subnet_id": self.node_subnet_id})
