"""The VPC: one regional subnet for nodes, with secondary ranges for pods and services.

The cluster is VPC-native (alias IPs): pods and services get addresses from
the subnet's secondary ranges, so they are routable in the VPC without routes.
With private nodes (the default), a Cloud Router and Cloud NAT give the nodes a
way out (image pulls from Docker Hub, GitHub, Helm repositories) without any
public IP; Private Google Access lets them reach Google APIs (Artifact
Registry, Cloud Storage, logging) without the NAT. The NAT's external address
is reserved, not auto-allocated: one fixed address the program knows, which a
load balancer restricted with --allow-cidr admits.

With `--audit-logs` the subnet has VPC Flow Logs (L1): sampled records of its nodes'
and pods' connections (with the cluster's intranode visibility, pod to pod on one
node too), kept in Cloud Logging's _Default bucket for its 30 days.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

NODES_CIDR = "10.0.0.0/20"  # 4096 node addresses
PODS_RANGE, PODS_CIDR = "pods", "10.4.0.0/14"  # a /24 per node: room for 1024 nodes
SERVICES_RANGE, SERVICES_CIDR = "services", "10.8.0.0/20"
# GCP's defaults, stated: one record per connection every 5 s, half of them kept (what the
# volume, and so the cost in provisioner/analysis/costs/gcp.py, scales with), with the VMs'
# and subnets' names so a record reads without a lookup.
FLOW_LOGS = {"aggregation_interval": "INTERVAL_5_SEC", "flow_sampling": 0.5, "metadata": "INCLUDE_ALL_METADATA"}


@dataclass
class NetworkArgs:
    network_name: str
    subnet_name: str
    router_name: str
    nat_name: str
    nat_address_name: str
    region: str
    # Cloud NAT for private nodes. Without it (`--network public`) nodes have
    # public IPs: cheapest, for dev only.
    nat: bool = True
    # --audit-logs: VPC Flow Logs on the subnet.
    flow_logs: bool = False
    # The compute API must be on before any of this exists.
    apis: list[pulumi.Resource] = field(default_factory=list)


class Network(pulumi.ComponentResource):
    network: gcp.compute.Network
    subnet: gcp.compute.Subnetwork
    network_id: pulumi.Output[str]  # self links: what GKE and Cloud NAT take
    subnet_id: pulumi.Output[str]
    # Cloud NAT's reserved external address (None without NAT).
    nat_address: pulumi.Output[str] | None
    # The way out of the network. Node pools wait for it, so nodes boot with a route to
    # the internet, and destroy removes the cluster (and its load balancers) before it.
    routes: list[pulumi.Resource]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:gcp:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=args.apis)

        self.network = gcp.compute.Network(
            f"{name}-vpc",
            name=args.network_name,
            auto_create_subnetworks=False,
            routing_mode="REGIONAL",
            description="stack-recipes: VPC of one stack",
            opts=child,
        )
        self.subnet = gcp.compute.Subnetwork(
            f"{name}-nodes",
            name=args.subnet_name,
            region=args.region,
            network=self.network.self_link,
            ip_cidr_range=NODES_CIDR,
            secondary_ip_ranges=[
                {"range_name": PODS_RANGE, "ip_cidr_range": PODS_CIDR},
                {"range_name": SERVICES_RANGE, "ip_cidr_range": SERVICES_CIDR},
            ],
            private_ip_google_access=True,
            log_config=FLOW_LOGS if args.flow_logs else None,
            opts=child,
        )
        routes: list[pulumi.Resource] = []
        self.nat_address = None
        if args.nat:
            # Billed like the address AUTO_ONLY would allocate (one in-use external IP), but
            # ours: the program knows its value, and it stays for the life of the stack.
            address = gcp.compute.Address(
                f"{name}-nat-ip",
                name=args.nat_address_name,
                region=args.region,
                address_type="EXTERNAL",
                description="stack-recipes: Cloud NAT address of one stack",
                opts=child,
            )
            self.nat_address = address.address
            router = gcp.compute.Router(
                f"{name}-router", name=args.router_name, region=args.region, network=self.network.self_link, opts=child
            )
            nat = gcp.compute.RouterNat(
                f"{name}-nat",
                name=args.nat_name,
                router=router.name,
                region=args.region,
                nat_ip_allocate_option="MANUAL_ONLY",
                nat_ips=[address.self_link],
                # Only this stack's subnet (nodes and pods) goes out through this NAT.
                source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
                subnetworks=[{"name": self.subnet.self_link, "source_ip_ranges_to_nats": ["ALL_IP_RANGES"]}],
                log_config={"enable": True, "filter": "ERRORS_ONLY"},
                opts=child,
            )
            routes = [router, nat]

        self.network_id = self.network.self_link
        self.subnet_id = self.subnet.self_link
        self.routes = routes
        self.register_outputs({"network_id": self.network_id, "subnet_id": self.subnet_id})
