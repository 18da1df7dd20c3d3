"""The virtual network: one subnet for the AKS nodes, no public IP on any node.

Pods get addresses from an overlay range outside the VNet (Azure CNI Overlay),
so the node subnet only needs one address per node. Outbound traffic leaves
through the cluster's own Standard load balancer (explicit outbound), which is
why the subnet can switch Azure's implicit default outbound access off, and why
no NAT gateway (and its hourly cost) is needed.

--network-rules (firewall.py) adds two things the data's firewalls admit: a
`Microsoft.Storage` service endpoint on the node subnet (the storage account's
virtual network rule names the subnet, and Azure refuses such a rule until the
subnet has the endpoint), and, when the stack has a registry, a static public IP
the cluster egresses through (the registry's IP rule names it; AKS's own outbound
address is picked at random). Both are free of extra cost: the endpoint costs
nothing and the address replaces the one AKS would create.

Because the data's firewalls name them, a plain destroy keeps the VNet, the node
subnet and the outbound address with the data (provisioner/engine/teardown.py keeps
what kept resources depend on); `destroy --delete-data` removes them too.
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
    # --network-rules: the services the node subnet reaches through service endpoints.
    service_endpoints: tuple[str, ...] = ()
    # --network-rules with a registry: the name of the static public IP the cluster egresses through.
    egress_ip_name: str | None = None


class Network(pulumi.ComponentResource):
    vnet: network.VirtualNetwork
    node_subnet: network.Subnet
    node_subnet_id: pulumi.Output[str]
    node_cidr: str  # the node subnet's range
    egress_ip: network.PublicIPAddress | None

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
            service_endpoints=[{"service": service} for service in args.service_endpoints] or None,
            opts=child,
        )
        self.node_subnet_id = self.node_subnet.id
        self.node_cidr = node_cidr
        self.egress_ip = None
        if args.egress_ip_name is not None:
            # What the cluster's outbound rule uses instead of an address AKS picks: the registry admits it.
            self.egress_ip = network.PublicIPAddress(
                f"{name}-egress",
                public_ip_address_name=args.egress_ip_name,
                resource_group_name=args.resource_group_name,
                location=args.location,
                sku={"name": "Standard", "tier": "Regional"},
                public_ip_allocation_method="Static",
                public_ip_address_version="IPv4",
                tags=args.tags,
                opts=child,
            )
        self.register_outputs({"vnet_id": self.vnet.id, "node_subnet_id": self.node_subnet_id})
