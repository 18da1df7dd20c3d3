"""The VPC: two zones, public subnets for load balancers, private subnets for nodes."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

ZONES = 2


@dataclass
class NetworkArgs:
    cluster_name: str
    # One NAT gateway for the private node subnets. Without it (`--network public`)
    # nodes sit in the public subnets with public IPs: cheapest, for dev only.
    nat_gateway: bool = True
    cidr: str = "10.0.0.0/16"


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    subnet_ids: list[pulumi.Output[str]]  # every subnet, for the EKS control plane
    node_subnet_ids: list[pulumi.Output[str]]
    # The NAT gateway's Elastic IP: where the nodes' and pods' traffic to the internet (and to
    # the stack's own load balancer, addressed by its public hostname) comes from. None without NAT.
    nat_public_ip: pulumi.Output[str] | None
    # Routes out of the subnets (gateways, route tables, associations). The cluster waits for
    # them, so nodes boot with a way out, and destroy removes the cluster and its load
    # balancers (which map public addresses in the VPC) before any gateway or route.
    routes: list[pulumi.Resource]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:aws:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        vpc_net = ipaddress.ip_network(args.cidr)
        # /20 public subnets (load balancers) and /18 private ones (nodes and, with the
        # VPC CNI, every pod's IP): four blocks carved from the /16.
        public_cidrs = [str(n) for n in list(vpc_net.subnets(new_prefix=20))[:ZONES]]
        private_cidrs = [str(n) for n in list(vpc_net.subnets(new_prefix=18))[1 : 1 + ZONES]]

        zones = aws.get_availability_zones_output(state="available", opts=pulumi.InvokeOutputOptions(parent=self))
        vpc = aws.ec2.Vpc(
            f"{name}-vpc", cidr_block=args.cidr, enable_dns_hostnames=True, enable_dns_support=True,
            tags={"Name": f"{args.cluster_name}-vpc"}, opts=child,
        )
        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={"Name": f"{args.cluster_name}-igw"}, opts=child)
        public_routes = aws.ec2.RouteTable(
            f"{name}-public-rt", vpc_id=vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": gateway.id}],
            tags={"Name": f"{args.cluster_name}-public"}, opts=child,
        )
        cluster_tag = f"kubernetes.io/cluster/{args.cluster_name}"
        public, private = [], []
        self.nat_public_ip = None
        routes: list[pulumi.Resource] = [gateway, public_routes]
        for i in range(ZONES):
            zone = zones.names.apply(lambda names, i=i: names[i])
            subnet = aws.ec2.Subnet(
                f"{name}-public-{i}", vpc_id=vpc.id, cidr_block=public_cidrs[i], availability_zone=zone,
                map_public_ip_on_launch=not args.nat_gateway,
                tags={"Name": f"{args.cluster_name}-public-{i}", "kubernetes.io/role/elb": "1", cluster_tag: "shared"},
                opts=child,
            )
            routes.append(
                aws.ec2.RouteTableAssociation(f"{name}-public-{i}", subnet_id=subnet.id, route_table_id=public_routes.id, opts=child)
            )
            public.append(subnet)

        if args.nat_gateway:
            eip = aws.ec2.Eip(f"{name}-nat-ip", domain="vpc", tags={"Name": f"{args.cluster_name}-nat"}, opts=child)
            self.nat_public_ip = eip.public_ip
            nat = aws.ec2.NatGateway(
                f"{name}-nat", allocation_id=eip.id, subnet_id=public[0].id,
                tags={"Name": f"{args.cluster_name}-nat"},
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[gateway])),
            )
            private_routes = aws.ec2.RouteTable(
                f"{name}-private-rt", vpc_id=vpc.id,
                routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id}],
                tags={"Name": f"{args.cluster_name}-private"}, opts=child,
            )
            routes += [nat, private_routes]
            for i in range(ZONES):
                zone = zones.names.apply(lambda names, i=i: names[i])
                subnet = aws.ec2.Subnet(
                    f"{name}-private-{i}", vpc_id=vpc.id, cidr_block=private_cidrs[i], availability_zone=zone,
                    map_public_ip_on_launch=False,
                    tags={"Name": f"{args.cluster_name}-private-{i}", "kubernetes.io/role/internal-elb": "1", cluster_tag: "shared"},
                    opts=child,
                )
                routes.append(
                    aws.ec2.RouteTableAssociation(f"{name}-private-{i}", subnet_id=subnet.id, route_table_id=private_routes.id, opts=child)
                )
                private.append(subnet)

        self.vpc_id = vpc.id
        self.subnet_ids = [s.id for s in public + private]
        self.node_subnet_ids = [s.id for s in (private or public)]
        self.routes = routes
        self.register_outputs({"vpc_id": self.vpc_id, "subnet_ids": self.subnet_ids, "node_subnet_ids": self.node_subnet_ids})
