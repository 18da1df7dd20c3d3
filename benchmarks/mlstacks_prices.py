"""mlstacks' default stacks, priced from the same table as ours, for the benchmark's cost comparison (c).

Why here and not in provisioner/: only the benchmark (and the tests of its figures) compares
against mlstacks; `recipe` never prices someone else's stack. It uses only public names of
provisioner.analysis.costs.

Like-for-like with our default stack: mlstacks' modular recipes with the five components
we deploy (orchestrator on Kubernetes, artifact store, container registry, MLflow experiment
tracker, Seldon model deployer). Sources: github.com/zenml-io/mlstacks, src/mlstacks/terraform/
  aws-modular/vpc.tf: terraform-aws-modules/vpc, 3 AZs with public subnets,
      enable_nat_gateway = true, single_nat_gateway = true (one NAT gateway and its Elastic IP);
  aws-modular/eks.tf: aws_eks_node_group, instance_types = ["t3.xlarge"], desired_size = 3, no
      launch template (EKS's default 20 GiB gp2 root volume per node);
  aws-modular/nginx_ingress.tf (ingress-nginx, for MLflow) and istio.tf (Istio, for Seldon): each
      a Service of type LoadBalancer; on EKS, without annotations, a Classic Load Balancer with one
      public IPv4 address per public subnet (3);
  gcp-modular/gke.tf: a regional cluster, node_locations in 3 zones, initial_node_count = 1,
      e2-standard-8 (3 nodes; GKE's default 100 GB pd-balanced boot disk each), plus Cloud NAT and the
      same two ingress LoadBalancer Services (nginx_ingress.tf, istio.tf): 2 forwarding rules.
mlstacks has no Azure recipe: the AWS sizing translated to AKS (see MLSTACKS_SIZING["azure"]).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from provisioner.analysis.costs import PRICES_AS_OF, CostEstimate, CostItem, monthly, usd
from provisioner.analysis.costs.model import plural
from provisioner.analysis.costs.prices import AZURE_DISK_TIERS, HOURS_PER_MONTH, MACHINE_HOURLY, PRICES
from recipes import facts
from recipes.facts.aws import EC2_EIP
from recipes.facts.azure import AKS_CLUSTER
from recipes.facts.any_cloud import SERVICE

MLSTACKS_REPO = "https://github.com/zenml-io/mlstacks"
# The two LoadBalancer Services mlstacks installs for these components: (controller, component it serves).
MLSTACKS_INGRESS = (("ingress-nginx", "MLflow"), ("istio-ingressgateway", "Seldon"))

MLSTACKS_SIZING: dict[str, dict[str, Any]] = {
    # aws-modular: EKS, a managed node group of 3 x t3.xlarge on 20 GiB gp2 root volumes, one NAT
    # gateway and its Elastic IP, two Classic Load Balancers with 3 public IPv4 addresses each.
    "aws": {"recipe": "aws-modular", "control_plane": "eks_standard", "machine": "t3.xlarge", "nodes": 3,
            "disk": "gp2", "disk_gb": 20, "load_balancers": len(MLSTACKS_INGRESS), "lb_public_ips": 3,
            "files": ["aws-modular/vpc.tf", "aws-modular/eks.tf", "aws-modular/nginx_ingress.tf",
                      "aws-modular/istio.tf"]},
    # gcp-modular: a regional GKE cluster, e2-standard-8 nodes one per zone in 3 zones on 100 GB
    # pd-balanced boot disks, Cloud NAT, two LoadBalancer forwarding rules.
    "gcp": {"recipe": "gcp-modular", "control_plane": "gke_management", "machine": "e2-standard-8", "nodes": 3,
            "disk": "pd-balanced", "disk_gb": 100, "load_balancers": len(MLSTACKS_INGRESS),
            "files": ["gcp-modular/gke.tf", "gcp-modular/nginx_ingress.tf", "gcp-modular/istio.tf"]},
    # No Azure recipe in mlstacks: the AWS sizing translated (AKS Standard tier, 3 x Standard_D4s_v5,
    # the t3.xlarge equivalent of 4 vCPU / 16 GiB, on AKS's default 128 GiB Premium OS disks (P10),
    # one NAT gateway, the two LoadBalancer Services as Standard Load Balancer rules + 2 public IPs).
    "azure": {"recipe": "none (aws-modular sizing on AKS)", "control_plane": "aks_standard",
              "machine": "Standard_D4s_v5", "nodes": 3, "disk": "Premium_LRS", "disk_gb": 128,
              "load_balancers": len(MLSTACKS_INGRESS), "files": []},
}


class _Items(list):
    """The estimate's items, added as (name, type, what, monthly USD, basis)."""

    def add(self, name: str, type_: str, what: str, monthly_usd: float, basis: str) -> None:
        self.append(CostItem(name, type_, what, round(monthly_usd, 2), basis))


def _control_plane(items: _Items, provider: str, sizing: dict[str, Any], name: str, what: str, note: str = "") -> None:
    hourly = PRICES[provider][sizing["control_plane"]].usd
    items.add(name, facts.of(provider).CLUSTER_TYPE, what, monthly(hourly), f"{HOURS_PER_MONTH} h x {usd(hourly)}/h{note}")


def _nodes(items: _Items, provider: str, sizing: dict[str, Any]) -> None:
    nodes, machine = sizing["nodes"], sizing["machine"]
    hourly = MACHINE_HOURLY[provider][machine]
    items.add("mlstacks-nodes", facts.of(provider).NODE_POOL_TYPE, "nodes", monthly(hourly, nodes),
              f"{HOURS_PER_MONTH} h x {usd(hourly)}/h x {plural(nodes, 'node')}, {machine}")


def _per_gb_node_disks(items: _Items, provider: str, sizing: dict[str, Any], what: str, default: str) -> None:
    disk, disk_gb, nodes = sizing["disk"], sizing["disk_gb"], sizing["nodes"]
    per_gb = PRICES[provider][disk].usd
    items.add("mlstacks-nodes", facts.of(provider).NODE_POOL_TYPE, f"{what} ({disk})", per_gb * disk_gb * nodes,
              f"{disk_gb} GB x {usd(per_gb)}/GB-month x {plural(nodes, 'node')} ({default})")


def _nat_gateway(items: _Items, provider: str) -> None:
    nat = PRICES[provider]["nat_gateway"].usd
    items.add("mlstacks-nat", facts.of(provider).NAT_GATEWAY_TYPE, "NAT gateway", monthly(nat),
              f"{HOURS_PER_MONTH} h x {usd(nat)}/h")


def _aws_items(sizing: dict[str, Any]) -> _Items:
    prices, items = PRICES["aws"], _Items()
    _control_plane(items, "aws", sizing, "mlstacks-eks", "EKS control plane (standard support)")
    _nodes(items, "aws", sizing)
    _per_gb_node_disks(items, "aws", sizing, "node root volumes", "EKS's default root volume, no launch template")
    _nat_gateway(items, "aws")
    ip = prices["public_ipv4"].usd
    items.add("mlstacks-nat-eip", EC2_EIP, "public IPv4 address (Elastic IP, the NAT gateway's)",
              monthly(ip), f"{HOURS_PER_MONTH} h x {usd(ip)}/h")
    clb, addresses = prices["clb"].usd, sizing["lb_public_ips"]
    for controller, component in MLSTACKS_INGRESS:
        name = f"mlstacks-{controller}"
        items.add(name, SERVICE, f"Classic Load Balancer ({controller}, for {component})", monthly(clb),
                  f"{HOURS_PER_MONTH} h x {usd(clb)}/h (a LoadBalancer Service without annotations; data processed extra)")
        items.add(name, SERVICE, "load balancer public IPv4 (one per public subnet)", monthly(ip, addresses),
                  f"{HOURS_PER_MONTH} h x {usd(ip)}/h x {plural(addresses, 'address')}")
    return items


def _gcp_items(sizing: dict[str, Any]) -> _Items:
    prices, items, nodes = PRICES["gcp"], _Items(), sizing["nodes"]
    _control_plane(items, "gcp", sizing, "mlstacks-gke", "GKE cluster management fee (regional)",
                   " (regional: not covered by the free tier)")
    _nodes(items, "gcp", sizing)
    _per_gb_node_disks(items, "gcp", sizing, "node boot disks", "GKE's default boot disk")
    per_vm, cap_hourly = prices["nat_per_vm"].usd, prices["nat_max"].usd
    items.add("mlstacks-nat", facts.of("gcp").NAT_GATEWAY_TYPE, "Cloud NAT gateway",
              monthly(min(per_vm * nodes, cap_hourly)), f"{HOURS_PER_MONTH} h x {usd(per_vm)}/h per VM x {nodes} VMs")
    first5 = prices["forwarding_rules_first5"].usd
    for n, (controller, component) in enumerate(MLSTACKS_INGRESS):
        items.add(f"mlstacks-{controller}", SERVICE, f"load balancer forwarding rule ({controller}, for {component})",
                  monthly(first5) if n == 0 else 0.0,
                  f"{HOURS_PER_MONTH} h x {usd(first5)}/h for the region's first 5 forwarding rules" if n == 0
                  else "within the region's first 5 forwarding rules (charged on the first load balancer)")
    return items


def _azure_items(sizing: dict[str, Any]) -> _Items:
    prices, items, nodes = PRICES["azure"], _Items(), sizing["nodes"]
    _control_plane(items, "azure", sizing, "mlstacks-aks", "AKS control plane (Standard tier)")
    _nodes(items, "azure", sizing)
    disk, disk_gb = sizing["disk"], sizing["disk_gb"]
    cap, tier, per_disk = next(t for t in AZURE_DISK_TIERS[disk] if disk_gb <= t[0])
    items.add("mlstacks-nodes", facts.of("azure").NODE_POOL_TYPE, f"node OS disks ({disk})", per_disk * nodes,
              f"{disk_gb} GiB bills as {tier} ({cap} GiB) x ${per_disk:.2f}/month x {plural(nodes, 'disk')}")
    _nat_gateway(items, "azure")
    lb, ip = prices["standard_lb"].usd, prices["public_ip"].usd
    items.add("mlstacks-aks", AKS_CLUSTER, "Standard Load Balancer (LoadBalancer Services)", monthly(lb),
              f"{HOURS_PER_MONTH} h x {usd(lb)}/h for the first 5 rules (data processed extra)")
    for controller, component in MLSTACKS_INGRESS:
        items.add(f"mlstacks-{controller}", SERVICE, f"load balancer rules and public IP ({controller}, for {component})",
                  monthly(ip), f"rules within the first 5; {HOURS_PER_MONTH} h x {usd(ip)}/h for its public IP")
    return items


# Each cloud's items, in the order control plane, nodes, node disks, NAT, load balancers.
ITEMS: dict[str, Callable[[dict[str, Any]], _Items]] = {"aws": _aws_items, "gcp": _gcp_items, "azure": _azure_items}
AZURE_TRANSLATION = ("mlstacks has no Azure recipe: this is its AWS sizing translated to AKS "
                     "(Standard tier, 3 x Standard_D4s_v5 = 4 vCPU / 16 GiB like t3.xlarge, 128 GiB Premium "
                     "OS disks (P10), one NAT gateway, the two ingress LoadBalancer Services as Standard Load "
                     "Balancer rules + 2 public IPs)")


def mlstacks_default_estimate(provider: str) -> CostEstimate:
    """What mlstacks' default stack for `provider` costs, with the same components as ours.

    Control plane, nodes and their disks, NAT, and the two ingress load balancers with their public
    IPs; storage and data transfer are not priced (see the assumptions).
    """
    sizing = MLSTACKS_SIZING[provider]
    files = ", ".join(sizing["files"])
    assumptions = [
        f"mlstacks default sizing ({sizing['recipe']}) priced from the same {PRICES_AS_OF} table",
        "included, like for like with our stack's components (orchestrator, artifact store, container registry, "
        "MLflow experiment tracker, Seldon model deployer): control plane, nodes and their disks, NAT"
        + (" and its Elastic IP" if provider == "aws" else "")
        + ", and the two ingress load balancers with their public IPs (ingress-nginx for MLflow, Istio for Seldon)"
        + (" (on GCP, forwarding rules; their addresses are not priced, as in our estimate)" if provider == "gcp" else "")
        + (f"; per {MLSTACKS_REPO} src/mlstacks/terraform/ {files}" if files else ""),
        "not included: storage (bucket, registry, volumes) and data transfer; data transfer is "
        "excluded from our estimate too, while ours does price its storage baseline",
    ]
    if provider == "azure":
        assumptions.append(AZURE_TRANSLATION)
    reference = facts.of(provider).PRICE_REFERENCE_REGION
    return CostEstimate(items=list(ITEMS[provider](sizing)), region_note=f"list prices for {reference}; other regions differ",
                        assumptions=assumptions)
