"""The VPC: two zones, public subnets for load balancers, private subnets for nodes; its default
security group closed (N5) and, with --audit-logs, its flow logs delivered to the log bucket (L1).

The two zones are standard zones that offer every instance type the node group may
launch; the control plane uses both, the nodes only the first (see `node_subnet_ids`)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

ZONES = 2
# Standard zones only: opted-in Local Zones and Wavelength Zones are listed as "available"
# too (and sort first: "us-east-1-bos-1a" < "us-east-1a"), but they offer few instance types
# and EKS puts no control plane there.
STANDARD_ZONES = [{"name": "zone-type", "values": ["availability-zone"]}]


class ZoneSelectionError(Exception):
    """Fewer than two zones of the region offer every instance type the node group may launch.
    Not a ValueError (nor a SpecError): Pulumi wraps a ValueError raised in an apply in one
    "While processing input" error per resource that waits for it, burying the message."""


def choose_zones(
    region: str, zones: Sequence[str], offerings: Iterable[tuple[str, str]], instance_types: Sequence[str],
    count: int = ZONES,
) -> list[str]:
    """The first `count` of `zones`, by name, that offer every type in `instance_types`.

    `offerings` are (instance type, zone) pairs as EC2 lists them. Not every zone offers
    every type (use1-az3 has no t3 or m5): a node group given a subnet in such a zone is
    rejected, so both zones must offer each type the group may launch, spot alternatives
    included. Sorted by name, the choice is the same on every run."""
    offered: dict[str, set[str]] = {}
    for instance_type, zone in offerings:
        offered.setdefault(zone, set()).add(instance_type)
    wanted = set(instance_types)
    usable = sorted(z for z in set(zones) if wanted <= offered.get(z, set()))
    if len(usable) < count:
        lacking = "; ".join(
            f"{z} lacks {', '.join(sorted(wanted - offered.get(z, set())))}" for z in sorted(set(zones)) if z not in usable
        )
        hint = " (or --on-demand: the one type, no spot alternatives)" if len(wanted) > 1 else ""
        raise ZoneSelectionError(
            f"{region}: {len(usable)} availability zone(s) ({', '.join(usable) or 'none'}) offer every instance type "
            f"the node group may launch ({', '.join(instance_types)}), {count} are needed ({lacking}). "
            f"Choose another --node-type{hint} or another region."
        )
    return usable[:count]


@dataclass
class FlowLogs:
    """L1 (--audit-logs): the VPC's flow logs to an S3 bucket (its ARN), once `ready` (its policy) lets the
    log delivery service write there. S3 rather than CloudWatch Logs: delivery to S3 costs half
    ($0.25/GB against $0.50/GB ingested), and S3 Standard keeps them for $0.023/GB-month."""

    destination: pulumi.Input[str]
    ready: list[pulumi.Resource] = field(default_factory=list)


@dataclass
class NetworkArgs:
    cluster_name: str
    region: str
    # Every instance type the node group may launch (with spot, the diversified list):
    # the two zones are chosen among those offering them all.
    instance_types: list[str] = field(default_factory=list)
    # One NAT gateway for the private node subnets. Without it (`--network public`)
    # nodes sit in the public subnets with public IPs: cheapest, for dev only.
    nat_gateway: bool = True
    cidr: str = "10.0.0.0/16"
    flow_logs: FlowLogs | None = None


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    zones: pulumi.Output[list[str]]  # the two zones, sorted; the nodes' zone first
    subnet_ids: list[pulumi.Output[str]]  # every subnet, in both zones, for the EKS control plane
    # The nodes' subnet: one, in the first zone (see `node_subnet_ids` below for why one).
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
        # A subnet never moves: should what a zone offers change later, the zones chosen below
        # may differ, and that must not replace the subnets (and with them the cluster).
        subnet_opts = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(ignore_changes=["availabilityZone"]))
        vpc_net = ipaddress.ip_network(args.cidr)
        # /20 public subnets (load balancers) and /18 private ones (nodes and, with the
        # VPC CNI, every pod's IP): four blocks carved from the /16.
        public_cidrs = [str(n) for n in list(vpc_net.subnets(new_prefix=20))[:ZONES]]
        private_cidrs = [str(n) for n in list(vpc_net.subnets(new_prefix=18))[1 : 1 + ZONES]]

        invoke = pulumi.InvokeOutputOptions(parent=self)
        available = aws.get_availability_zones_output(state="available", filters=STANDARD_ZONES, opts=invoke)
        offerings = aws.ec2.get_instance_type_offerings_output(
            location_type="availability-zone",
            filters=[{"name": "instance-type", "values": args.instance_types}],
            opts=invoke,
        )
        # Raised inside the apply, a region without two such zones fails the plan (and the
        # deploy) with the message, before anything is created in it.
        self.zones = pulumi.Output.all(available.names, offerings.instance_types, offerings.locations).apply(
            lambda v: choose_zones(args.region, v[0], zip(v[1], v[2]), args.instance_types)
        )
        vpc = aws.ec2.Vpc(
            f"{name}-vpc", cidr_block=args.cidr, enable_dns_hostnames=True, enable_dns_support=True,
            tags={"Name": f"{args.cluster_name}-vpc"}, opts=child,
        )
        # N5 (CKV2_AWS_12): the default security group admits and sends nothing. Nothing of the
        # stack uses it: EKS puts the control plane's interfaces and the nodes (no group in the
        # launch template) in the cluster security group it creates, and the load balancers open
        # that group (NLB) or bring their own (CLB); what is ever launched here without a group
        # reaches nothing. Empty lists, not omitted: the rules are kept empty on every deploy,
        # not only removed when the group is adopted.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg", vpc_id=vpc.id, ingress=[], egress=[],
            tags={"Name": f"{args.cluster_name}-default-closed"}, opts=child,
        )
        if args.flow_logs is not None:
            # Accepted and rejected traffic of every interface in the VPC, aggregated over
            # 10 minutes (fewer records than 1), plain text (Parquet conversion costs extra).
            aws.ec2.FlowLog(
                f"{name}-flow-logs", vpc_id=vpc.id, traffic_type="ALL", log_destination_type="s3",
                log_destination=args.flow_logs.destination, max_aggregation_interval=600,
                tags={"Name": f"{args.cluster_name}-flow-logs"},
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=args.flow_logs.ready)),
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
            zone = self.zones.apply(lambda names, i=i: names[i])
            subnet = aws.ec2.Subnet(
                f"{name}-public-{i}", vpc_id=vpc.id, cidr_block=public_cidrs[i], availability_zone=zone,
                map_public_ip_on_launch=not args.nat_gateway,
                tags={"Name": f"{args.cluster_name}-public-{i}", "kubernetes.io/role/elb": "1", cluster_tag: "shared"},
                opts=subnet_opts,
            )
            routes.append(
                aws.ec2.RouteTableAssociation(f"{name}-public-{i}", subnet_id=subnet.id, route_table_id=public_routes.id, opts=child)
            )
            public.append(subnet)

        if args.nat_gateway:
            eip = aws.ec2.Eip(f"{name}-nat-ip", domain="vpc", tags={"Name": f"{args.cluster_name}-nat"}, opts=child)
            self.nat_public_ip = eip.public_ip
            # In the first zone, the nodes' zone: their traffic out crosses no zone boundary.
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
                zone = self.zones.apply(lambda names, i=i: names[i])
                subnet = aws.ec2.Subnet(
                    f"{name}-private-{i}", vpc_id=vpc.id, cidr_block=private_cidrs[i], availability_zone=zone,
                    map_public_ip_on_launch=False,
                    tags={"Name": f"{args.cluster_name}-private-{i}", "kubernetes.io/role/internal-elb": "1", cluster_tag: "shared"},
                    opts=subnet_opts,
                )
                routes.append(
                    aws.ec2.RouteTableAssociation(f"{name}-private-{i}", subnet_id=subnet.id, route_table_id=private_routes.id, opts=child)
                )
                private.append(subnet)

        self.vpc_id = vpc.id
        # The control plane keeps subnets in both zones: EKS requires two.
        self.subnet_ids = [s.id for s in public + private]
        # The nodes, though, live in ONE zone. The tracker's PostgreSQL keeps its data on an
        # EBS volume, which is zonal: over two zones, a node replaced after a spot reclaim (or
        # a scale-in) can come back in the other zone, and the database pod stays Pending
        # forever, unable to attach its volume. In one zone a volume and its pod always meet,
        # and the Cluster Autoscaler can always grow an autoscaling group of one zone for them.
        # The trade-off: a zone outage takes every node down; a single-replica PostgreSQL on a
        # zonal volume could not survive one anyway.
        self.node_subnet_ids = [(private or public)[0].id]
        self.routes = routes
        self.register_outputs({
            "vpc_id": self.vpc_id, "zones": self.zones, "subnet_ids": self.subnet_ids, "node_subnet_ids": self.node_subnet_ids,
        })
