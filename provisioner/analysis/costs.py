"""Estimated monthly cost of a plan, from a dated and sourced list-price table.

Why: a stack that is cheap to leave running is the point of stack-recipes, so
`recipe plan` should say what the plan costs and how that was worked out. The
estimate reads the plan's recorded resources (types and inputs as the Pulumi
mocks saw them) and prices only what bills by the hour or by the GB; every item
says its basis, and anything the table cannot price is reported, never guessed.

Prices are public on-demand list prices for us-east-1 / us-central1 / eastus
(Linux, no discounts, no free tier except where noted) as of `PRICES_AS_OF`.
Spot nodes have no list price: they are priced at an estimated discount off the
on-demand price (`SPOT_DISCOUNT`), and their items also report the on-demand
figure. Data transfer, requests and load-balancer traffic beyond a light
baseline are not included. This module imports nothing from Pulumi.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from provisioner.analysis.plan import Plan, PlannedResource

PRICES_AS_OF = "2026-11"
HOURS_PER_MONTH = 730
DAYS_PER_MONTH = 365 / 12
# Data assumed to sit in the bucket and in the registry, so storage is not priced at 0.
BASELINE_GB = 10
REFERENCE_REGION = {"aws": "us-east-1", "gcp": "us-central1", "azure": "eastus"}


@dataclass(frozen=True)
class Price:
    usd: float
    per: str  # "hour", "GB-month", "month", "day", "VM-hour", "key-month"
    source: str  # the public pricing page the figure comes from


# --------------------------------------------------------------------------
# The price table. One source page per constant; each entry names its page.

AWS_EKS = "https://aws.amazon.com/eks/pricing/"
AWS_EC2 = "https://aws.amazon.com/ec2/pricing/on-demand/"
AWS_VPC = "https://aws.amazon.com/vpc/pricing/"
AWS_ELB = "https://aws.amazon.com/elasticloadbalancing/pricing/"
AWS_EBS = "https://aws.amazon.com/ebs/pricing/"
AWS_S3 = "https://aws.amazon.com/s3/pricing/"
AWS_ECR = "https://aws.amazon.com/ecr/pricing/"
AWS_KMS = "https://aws.amazon.com/kms/pricing/"
GCP_GKE = "https://cloud.google.com/kubernetes-engine/pricing"
GCP_VM = "https://cloud.google.com/compute/vm-instance-pricing"
GCP_NAT = "https://cloud.google.com/nat/pricing"
GCP_NET = "https://cloud.google.com/vpc/network-pricing"
GCP_DISK = "https://cloud.google.com/compute/disks-image-pricing"
GCP_GCS = "https://cloud.google.com/storage/pricing"
GCP_AR = "https://cloud.google.com/artifact-registry/pricing"
GCP_KMS = "https://cloud.google.com/kms/pricing"
AZ_AKS = "https://azure.microsoft.com/pricing/details/kubernetes-service/"
AZ_VM = "https://azure.microsoft.com/pricing/details/virtual-machines/linux/"
AZ_LB = "https://azure.microsoft.com/pricing/details/load-balancer/"
AZ_NAT = "https://azure.microsoft.com/pricing/details/azure-nat-gateway/"
AZ_IP = "https://azure.microsoft.com/pricing/details/ip-addresses/"
AZ_DISK = "https://azure.microsoft.com/pricing/details/managed-disks/"
AZ_BLOB = "https://azure.microsoft.com/pricing/details/storage/blobs/"
AZ_ACR = "https://azure.microsoft.com/pricing/details/container-registry/"
AZ_KV = "https://azure.microsoft.com/pricing/details/key-vault/"

PRICES: dict[str, dict[str, Price]] = {
    "aws": {
        "eks_standard": Price(0.10, "hour", AWS_EKS),  # EKS cluster, standard support
        "eks_extended": Price(0.60, "hour", AWS_EKS),  # EKS cluster, extended support
        "nat_gateway": Price(0.045, "hour", AWS_VPC),  # NAT gateway hour (+ $0.045/GB processed, not included)
        "public_ipv4": Price(0.005, "hour", AWS_VPC),  # every public IPv4 address (EIP, NLB per-AZ address)
        "nlb": Price(0.0225, "hour", AWS_ELB),  # Network Load Balancer hour
        "nlb_lcu": Price(0.006, "hour", AWS_ELB),  # one NLCU-hour: the light-traffic baseline we assume
        "clb": Price(0.025, "hour", AWS_ELB),  # Classic Load Balancer hour (a Service without the nlb annotation)
        "gp3": Price(0.08, "GB-month", AWS_EBS),  # EBS gp3 storage
        "gp2": Price(0.10, "GB-month", AWS_EBS),  # EBS gp2 storage (EKS's default node root volume, no launch template)
        "s3_standard": Price(0.023, "GB-month", AWS_S3),  # S3 Standard, first 50 TB
        "ecr": Price(0.10, "GB-month", AWS_ECR),  # ECR private repository storage
        "kms_key": Price(1.00, "key-month", AWS_KMS),  # customer managed KMS key
    },
    "gcp": {
        "gke_management": Price(0.10, "hour", GCP_GKE),  # cluster management fee, zonal or regional
        # Free tier: $74.40 of management fee credit per billing account per month, which
        # covers one zonal (or Autopilot) cluster; regional clusters are not covered.
        "gke_free_credit": Price(74.40, "month", GCP_GKE),
        "nat_per_vm": Price(0.0014, "VM-hour", GCP_NAT),  # Cloud NAT gateway: per VM-hour ...
        "nat_max": Price(0.044, "hour", GCP_NAT),  # ... capped at $0.044/h (32 VMs and more)
        "external_ip": Price(0.005, "hour", GCP_NET),  # in-use external IP, static or ephemeral (Cloud NAT's address)
        "forwarding_rules_first5": Price(0.025, "hour", GCP_NET),  # first 5 forwarding rules in a region, together
        "forwarding_rule_extra": Price(0.01, "hour", GCP_NET),  # each forwarding rule beyond 5
        "pd-balanced": Price(0.10, "GB-month", GCP_DISK),  # balanced persistent disk
        "pd-standard": Price(0.04, "GB-month", GCP_DISK),  # standard persistent disk
        "pd-ssd": Price(0.17, "GB-month", GCP_DISK),  # SSD persistent disk
        "gcs_standard": Price(0.020, "GB-month", GCP_GCS),  # GCS Standard, regional
        "artifact_registry": Price(0.10, "GB-month", GCP_AR),  # beyond the free 0.5 GB
        "artifact_registry_free_gb": Price(0.5, "GB-month", GCP_AR),  # free storage per billing account
        "kms_key_version": Price(0.06, "key-month", GCP_KMS),  # active software key version
    },
    "azure": {
        "aks_free": Price(0.0, "hour", AZ_AKS),  # AKS Free tier control plane
        "aks_standard": Price(0.10, "hour", AZ_AKS),  # AKS Standard tier (uptime SLA)
        "aks_premium": Price(0.60, "hour", AZ_AKS),  # AKS Premium tier (long-term support)
        "standard_lb": Price(0.025, "hour", AZ_LB),  # Standard Load Balancer, first 5 rules together
        "standard_lb_extra_rule": Price(0.01, "hour", AZ_LB),  # each rule beyond 5
        "nat_gateway": Price(0.045, "hour", AZ_NAT),  # NAT gateway hour (+ $0.045/GB processed, not included)
        "public_ip": Price(0.005, "hour", AZ_IP),  # Standard static public IPv4
        "blob_hot_lrs": Price(0.0184, "GB-month", AZ_BLOB),  # Blob hot tier, LRS, first 50 TB
        "acr_basic": Price(0.167, "day", AZ_ACR),  # Basic: 10 GB included (~$5/month)
        "acr_standard": Price(0.667, "day", AZ_ACR),  # Standard: 100 GB included (~$20/month)
        "acr_premium": Price(1.667, "day", AZ_ACR),  # Premium: 500 GB included (~$50/month)
        "key_vault_key": Price(0.0, "key-month", AZ_KV),  # software-protected key: per operation only
    },
}

# On-demand Linux VM prices per hour in the reference region.
MACHINE_HOURLY: dict[str, dict[str, float]] = {
    # AWS_EC2, us-east-1
    "aws": {"t3.small": 0.0208, "t3.medium": 0.0416, "t3.large": 0.0832, "t3.xlarge": 0.1664, "t3.2xlarge": 0.3328,
            "t3a.large": 0.0752, "t3a.xlarge": 0.1504, "m5.large": 0.096, "m5.xlarge": 0.192,
            "m6i.large": 0.096, "m6i.xlarge": 0.192},
    # GCP_VM, us-central1
    "gcp": {"e2-standard-2": 0.067, "e2-standard-4": 0.134, "e2-standard-8": 0.268, "e2-standard-16": 0.536},
    # AZ_VM, East US
    "azure": {"Standard_D2s_v5": 0.096, "Standard_D4s_v5": 0.192, "Standard_D8s_v5": 0.384},
}
MACHINE_SOURCE = {"aws": AWS_EC2, "gcp": GCP_VM, "azure": AZ_VM}

# Spot capacity: the estimated fraction off the on-demand price above, checked as of PRICES_AS_OF.
# Spot prices are not list prices: they float with supply and demand, by instance type and zone,
# so these are estimates at the cautious end of the published range, not quotes.
AWS_SPOT = "https://aws.amazon.com/ec2/spot/instance-advisor/"
GCP_SPOT = "https://cloud.google.com/spot-vms/pricing"
SPOT_DISCOUNT: dict[str, float] = {
    # AWS Spot Instance Advisor (AWS_SPOT): savings over on-demand shown as 60-90% for t3, m5 and
    # m6i large and xlarge in us-east-1; we assume 65%, the low end plus margin.
    "aws": 0.65,
    # Google Cloud Spot VM pricing (GCP_SPOT): Spot VMs are 60-91% off on-demand; we assume 65%.
    "gcp": 0.65,
}
SPOT_SOURCE = {"aws": AWS_SPOT, "gcp": GCP_SPOT}
# How each source states its range, for an item's basis.
SPOT_RANGE = {"aws": "60-90% off per AWS Spot Instance Advisor", "gcp": "60-91% off per Google Cloud Spot VM pricing"}

# Azure managed disks bill by size tier (roughly, LRS, East US): (up to GiB, tier, $/month).
AZURE_DISK_TIERS: dict[str, list[tuple[int, str, float]]] = {
    # AZ_DISK: Standard SSD (what AKS's managed-csi storage class provisions)
    "StandardSSD_LRS": [(4, "E1", 0.30), (8, "E2", 0.60), (16, "E3", 1.20), (32, "E4", 2.40), (64, "E6", 4.80),
                        (128, "E10", 9.60), (256, "E15", 19.20), (512, "E20", 38.40)],
    # AZ_DISK: Premium SSD (AKS's managed OS disks on premium-capable sizes, managed-csi-premium)
    "Premium_LRS": [(32, "P4", 5.28), (64, "P6", 10.21), (128, "P10", 19.71), (256, "P15", 37.96), (512, "P20", 73.22)],
}
AZURE_STORAGE_CLASSES = {"managed-csi": "StandardSSD_LRS", "default": "StandardSSD_LRS", "managed": "StandardSSD_LRS",
                         "managed-csi-premium": "Premium_LRS", "managed-premium": "Premium_LRS"}
GCP_STORAGE_CLASSES = {"standard-rwo": "pd-balanced", "standard": "pd-standard", "premium-rwo": "pd-ssd"}
EBS_VOLUME_TYPES = ("gp3", "gp2")  # the EBS volume types PRICES["aws"] has
GCP_REGIONAL_ZONES = 3  # GKE spreads a regional node pool over three zones unless node_locations says otherwise
_GCP_ZONE_RE = re.compile(r"^[a-z]+-[a-z]+\d+-[a-z]$")


# --------------------------------------------------------------------------
# Results


@dataclass
class CostItem:
    name: str  # the resource's name in the plan
    type: str  # its type token
    what: str  # what is billed, in words
    monthly_usd: float | None  # None: the table has no price for it
    basis: str  # how the figure was worked out
    on_demand_usd: float | None = None  # spot nodes only: the same nodes at the on-demand list price

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "what": self.what,
                "monthly_usd": self.monthly_usd, "basis": self.basis, "on_demand_usd": self.on_demand_usd}


@dataclass
class CostEstimate:
    items: list[CostItem]
    prices_as_of: str = PRICES_AS_OF
    region_note: str = ""
    assumptions: list[str] = field(default_factory=list)

    @property
    def monthly_total_usd(self) -> float:
        """The sum of the priced items (unpriced ones are listed in `assumptions`)."""
        return round(sum(i.monthly_usd for i in self.items if i.monthly_usd is not None), 2)

    @property
    def unpriced(self) -> list[CostItem]:
        return [i for i in self.items if i.monthly_usd is None]

    def to_json(self) -> dict[str, Any]:
        return {
            "monthly_total_usd": self.monthly_total_usd,
            "items": [i.to_json() for i in self.items],
            "prices_as_of": self.prices_as_of,
            "region_note": self.region_note,
            "assumptions": list(self.assumptions),
        }


def _monthly(hourly: float, count: float = 1) -> float:
    return round(hourly * HOURS_PER_MONTH * count, 2)


def _spot_hourly(on_demand_hourly: float, discount: float) -> float:
    """The estimated spot price per hour: on-demand x (1 - discount)."""
    return on_demand_hourly * (1 - discount)


def _usd(value: float, places: int = 4) -> str:
    """$0.10, $0.0832, $1.00: at least cents, at most the table's precision (or `places`)."""
    text = f"{value:.{places}f}".rstrip("0")
    whole, _, cents = text.partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


def _num(value: Any, default: float | None = None) -> float | None:
    if isinstance(value, bool):
        return default
    if isinstance(value, (int, float)):
        return float(value)
    return default


def _gib(quantity: Any) -> float | None:
    """A Kubernetes storage quantity ("20Gi", "500Mi", "1Ti", "10G") in GiB."""
    if not isinstance(quantity, str):
        return _num(quantity)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti|K|M|G|T)?\s*", quantity)
    if not match:
        return None
    scale = {None: 1 / 2**30, "Ki": 1 / 2**20, "Mi": 1 / 2**10, "Gi": 1, "Ti": 2**10,
             "K": 1e3 / 2**30, "M": 1e6 / 2**30, "G": 1e9 / 2**30, "T": 1e12 / 2**30}[match.group(2)]
    return float(match.group(1)) * scale


def _n(count: float) -> str:
    return str(int(count)) if float(count).is_integer() else f"{count:g}"


def _plural(count: float, word: str) -> str:
    suffix = "" if count == 1 else ("es" if word.endswith("s") else "s")
    return f"{_n(count)} {word}{suffix}"


# --------------------------------------------------------------------------
# Estimating a plan


class _Estimator:
    """Walks one plan's resources; one method per billed kind of resource."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.provider = plan.spec.provider
        self.prices = PRICES[self.provider]
        self.items: list[CostItem] = []
        self.assumptions: list[str] = []
        self.free_credit_used = False
        self.node_count = 0.0  # VMs behind the NAT (GCP bills Cloud NAT per VM)
        self.lb_rules = 0  # GCP forwarding rules / Azure LB rules counted so far

    def add(self, r: PlannedResource, what: str, monthly: float | None, basis: str,
            on_demand: float | None = None) -> None:
        self.items.append(CostItem(r.name, r.type, what, None if monthly is None else round(monthly, 2), basis,
                                   None if on_demand is None else round(on_demand, 2)))

    def unpriced(self, r: PlannedResource, what: str, missing: str, note: str = "") -> None:
        """An item the table has no price for: listed, left out of the total, and said so."""
        self.add(r, what, None, f"no price in table for {missing}")
        self.assumptions.append(f"{r.name}: no price in table for {missing}{note}; the total excludes it")

    def machine(self, r: PlannedResource, what: str, machine: str | None, count: float, count_note: str,
                spot: bool = False) -> None:
        if spot:
            what += " (spot)"
        hourly = MACHINE_HOURLY[self.provider].get(machine or "")
        if hourly is None:
            self.unpriced(r, what, str(machine), f" ({_plural(count, 'node')})")
            return
        on_demand = _monthly(hourly, count)
        discount = SPOT_DISCOUNT.get(self.provider) if spot else None
        if spot and discount is None:
            basis = (f"{HOURS_PER_MONTH} h x {_usd(hourly)}/h x {_plural(count, 'node')} ({count_note}), {machine}; "
                     "spot capacity priced at the on-demand rate, an upper bound")
            self.assumptions.append(
                f"{r.name}: spot nodes are priced at the on-demand list price (an upper bound): spot prices float "
                "with the market and the table has no spot estimate for this cloud")
            self.add(r, what, on_demand, basis, on_demand=on_demand)
            return
        if discount is None:
            self.add(r, what, on_demand, f"{HOURS_PER_MONTH} h x {_usd(hourly)}/h x {_plural(count, 'node')} "
                                         f"({count_note}), {machine}")
            return
        spot_hourly = _spot_hourly(hourly, discount)
        share = f"{round((1 - discount) * 100):g}%"
        spot_rate = _usd(round(spot_hourly, 5), places=5)  # 5 places: the basis multiplies out to the figure
        basis = (f"{HOURS_PER_MONTH} h x {spot_rate}/h x {_plural(count, 'node')} ({count_note}), {machine}; "
                 f"spot: est. {share} of on-demand {_usd(hourly)}/h (spot prices float, {SPOT_RANGE[self.provider]})")
        self.assumptions.append(
            f"{r.name}: spot prices are estimates that move with the market: priced at an assumed "
            f"{round(discount * 100):g}% off the on-demand list price ({SPOT_SOURCE[self.provider]}); "
            f"at on-demand prices these nodes cost ${on_demand:.2f}/month")
        self.add(r, what, _monthly(spot_hourly, count), basis, on_demand=on_demand)

    def run(self) -> CostEstimate:
        handlers = {
            "aws:eks/cluster:Cluster": self.eks_cluster,
            "aws:eks/nodeGroup:NodeGroup": self.eks_node_group,
            "aws:ec2/natGateway:NatGateway": self.aws_nat,
            "aws:ec2/eip:Eip": self.aws_eip,
            "aws:s3/bucket:Bucket": self.aws_bucket,
            "aws:s3/bucketV2:BucketV2": self.aws_bucket,
            "aws:ecr/repository:Repository": self.ecr,
            "aws:kms/key:Key": self.aws_kms,
            "gcp:container/cluster:Cluster": self.gke_cluster,
            "gcp:container/nodePool:NodePool": self.gke_node_pool,
            "gcp:storage/bucket:Bucket": self.gcs_bucket,
            "gcp:artifactregistry/repository:Repository": self.artifact_registry,
            "gcp:kms/cryptoKey:CryptoKey": self.gcp_kms,
            "gcp:compute/address:Address": self.gcp_address,
            "azure-native:containerservice:ManagedCluster": self.aks_cluster,
            "azure-native:containerservice:AgentPool": self.aks_agent_pool,
            "azure-native:network:NatGateway": self.azure_nat,
            "azure-native:storage:StorageAccount": self.azure_storage,
            "azure-native:containerregistry:Registry": self.acr,
            "azure-native:keyvault:Key": self.azure_key,
            "kubernetes:core/v1:PersistentVolumeClaim": self.volume_claim,
        }
        # Node pools first: Cloud NAT is billed per VM behind it.
        ordered = sorted(self.plan.resources, key=lambda r: r.type != "gcp:container/nodePool:NodePool")
        deferred: list[PlannedResource] = []
        for r in ordered:
            if r.type == "gcp:compute/routerNat:RouterNat":
                deferred.append(r)
            elif r.type == "kubernetes:core/v1:Service":
                if (r.inputs.get("spec") or {}).get("type") == "LoadBalancer":
                    self.load_balancer_service(r)
            elif r.type in handlers:
                handlers[r.type](r)
        for r in deferred:
            self.cloud_nat(r)
        self.items.sort(key=lambda i: _ORDER.get(i.type, 50))
        ref = REFERENCE_REGION[self.provider]
        region = self.plan.spec.region
        note = f"list prices for {ref}; " + (f"{region} may differ" if region != ref else "other regions differ")
        common = [
            f"on-demand list prices as of {PRICES_AS_OF}, {HOURS_PER_MONTH} hours a month, no discounts or credits "
            "except the GKE free tier and estimated spot discounts where stated",
            "autoscaled node pools are priced at their minimum size",
            f"{BASELINE_GB} GB assumed stored in the bucket and in the registry",
            "data transfer, NAT and load-balancer data processing, and API requests are not included",
        ]
        return CostEstimate(items=self.items, region_note=note, assumptions=common + self.assumptions)

    # --- AWS ------------------------------------------------------------------
    def eks_cluster(self, r: PlannedResource) -> None:
        support = str((r.inputs.get("upgradePolicy") or {}).get("supportType") or "STANDARD").upper()
        price = self.prices["eks_extended" if support == "EXTENDED" else "eks_standard"]
        self.add(r, f"EKS control plane ({support.lower()} support)", _monthly(price.usd),
                 f"{HOURS_PER_MONTH} h x {_usd(price.usd)}/h")

    def eks_node_group(self, r: PlannedResource) -> None:
        scaling = r.inputs.get("scalingConfig") or {}
        count = _num(scaling.get("minSize")) or _num(scaling.get("desiredSize")) or 1
        template = self._launch_template(r)
        types = r.inputs.get("instanceTypes") or []
        machine = types[0] if types else (template.inputs.get("instanceType") if template else None) or "t3.medium"
        if len(types) > 1:
            self.assumptions.append(f"{r.name}: priced as {machine}, the first of {', '.join(types)}")
        self.machine(r, "EKS nodes", machine, count, "min size" if scaling.get("minSize") else "desired size",
                     spot=str(r.inputs.get("capacityType") or "").upper() == "SPOT")
        if self._public_node_subnets(r):
            ip = self.prices["public_ipv4"].usd
            self.add(r, "node public IPv4 addresses (public subnets)", _monthly(ip, count),
                     f"{HOURS_PER_MONTH} h x {_usd(ip)}/h x {_plural(count, 'address')}")
        size = _num(r.inputs.get("diskSize"))
        volume_type = "gp3"
        if template is not None:
            for mapping in template.inputs.get("blockDeviceMappings") or []:
                ebs = mapping.get("ebs") or {}
                size = _num(ebs.get("volumeSize"), size)
                volume_type = ebs.get("volumeType") or volume_type
        size = size or 20  # the EKS default root volume
        if volume_type not in EBS_VOLUME_TYPES:
            self.unpriced(r, "node root volumes", f"{volume_type} volumes")
            return
        price = self.prices[volume_type].usd
        self.add(r, f"node root volumes ({volume_type})", price * size * count,
                 f"{_n(size)} GB x {_usd(price)}/GB-month x {_plural(count, 'node')}")

    def _public_node_subnets(self, r: PlannedResource) -> bool:
        """Nodes launched in subnets that map a public IPv4 to each instance."""
        ids = [i for i in r.inputs.get("subnetIds") or [] if isinstance(i, str)]
        return any(s.type == "aws:ec2/subnet:Subnet" and s.inputs.get("mapPublicIpOnLaunch") is True
                   and any(i.startswith(f"{s.name}-") for i in ids) for s in self.plan.resources)

    def _launch_template(self, r: PlannedResource) -> PlannedResource | None:
        ref = r.inputs.get("launchTemplate") or {}
        if not ref:
            return None
        templates = [t for t in self.plan.resources if t.type == "aws:ec2/launchTemplate:LaunchTemplate"]
        for t in templates:
            by_id = isinstance(ref.get("id"), str) and ref["id"].startswith(f"{t.name}-")  # mock ids: `<name>-<hash>`
            by_name = ref.get("name") is not None and ref.get("name") == t.inputs.get("name")
            if by_id or by_name:
                return t
        return templates[0] if len(templates) == 1 else None

    def aws_nat(self, r: PlannedResource) -> None:
        price = self.prices["nat_gateway"].usd
        self.add(r, "NAT gateway", _monthly(price), f"{HOURS_PER_MONTH} h x {_usd(price)}/h (data processing extra)")

    def aws_eip(self, r: PlannedResource) -> None:
        price = self.prices["public_ipv4"].usd
        self.add(r, "public IPv4 address (Elastic IP)", _monthly(price), f"{HOURS_PER_MONTH} h x {_usd(price)}/h")

    def aws_bucket(self, r: PlannedResource) -> None:
        price = self.prices["s3_standard"].usd
        self.add(r, "S3 Standard storage", price * BASELINE_GB,
                 f"{BASELINE_GB} GB assumed x {_usd(price)}/GB-month")

    def ecr(self, r: PlannedResource) -> None:
        price = self.prices["ecr"].usd
        self.add(r, "ECR image storage", price * BASELINE_GB, f"{BASELINE_GB} GB assumed x {_usd(price)}/GB-month")

    def aws_kms(self, r: PlannedResource) -> None:
        price = self.prices["kms_key"].usd
        self.add(r, "KMS customer managed key", price, f"1 key x {_usd(price)}/month (requests extra)")

    # --- GCP ------------------------------------------------------------------
    def gke_cluster(self, r: PlannedResource) -> None:
        location = str(r.inputs.get("location") or "")
        zonal = bool(_GCP_ZONE_RE.match(location))
        autopilot = bool(r.inputs.get("enableAutopilot"))
        price = self.prices["gke_management"].usd
        fee = _monthly(price)
        kind = "Autopilot" if autopilot else ("zonal" if zonal else "regional")
        if (zonal or autopilot) and not self.free_credit_used:
            self.free_credit_used = True
            credit = self.prices["gke_free_credit"].usd
            self.add(r, f"GKE cluster management fee ({kind}, {location})", 0.0,
                     f"{HOURS_PER_MONTH} h x {_usd(price)}/h = ${fee:.2f}, covered by the GKE free tier credit "
                     f"(${credit:.2f}/month per billing account, one zonal or Autopilot cluster)")
            self.assumptions.append(
                f"{r.name}: the GKE free tier credit is unused in this billing account; "
                f"if another zonal cluster already uses it, add ${fee:.2f}/month")
        else:
            why = "regional clusters are not covered by the free tier" if not (zonal or autopilot) \
                else "the free tier credit covers one cluster per billing account"
            self.add(r, f"GKE cluster management fee ({kind}, {location})", fee,
                     f"{HOURS_PER_MONTH} h x {_usd(price)}/h ({why})")
        if not autopilot and not r.inputs.get("removeDefaultNodePool"):
            node_config = r.inputs.get("nodeConfig") or {}
            per_zone = _num(r.inputs.get("initialNodeCount"), 3) or 3
            zones = self._zones(r.inputs.get("nodeLocations"), location)
            count = per_zone * zones
            self.node_count += count
            self.machine(r, "GKE default node pool", node_config.get("machineType") or "e2-medium", count,
                         f"{_n(per_zone)} per zone x {_plural(zones, 'zone')}")

    @staticmethod
    def _zones(node_locations: Any, location: str) -> int:
        if isinstance(node_locations, list) and node_locations:
            return len(node_locations)
        return 1 if _GCP_ZONE_RE.match(location) else GCP_REGIONAL_ZONES

    def gke_node_pool(self, r: PlannedResource) -> None:
        config = r.inputs.get("nodeConfig") or {}
        autoscaling = r.inputs.get("autoscaling") or {}
        location = str(r.inputs.get("location") or "")
        zones = self._zones(r.inputs.get("nodeLocations"), location)
        if _num(autoscaling.get("totalMinNodeCount")) is not None:
            count = _num(autoscaling["totalMinNodeCount"]) or 0
            note = "total min node count"
        else:
            per_zone = (_num(autoscaling.get("minNodeCount")) or _num(r.inputs.get("nodeCount"))
                        or _num(r.inputs.get("initialNodeCount")) or 1)
            count = per_zone * zones
            source = "min node count" if _num(autoscaling.get("minNodeCount")) else "node count"
            note = f"{source} {_n(per_zone)} per zone x {_plural(zones, 'zone')}"
        self.node_count += count
        self.machine(r, "GKE nodes", config.get("machineType") or "e2-medium", count, note,
                     spot=bool(config.get("spot") or config.get("preemptible")))
        if not self._private_gke_nodes(r):
            ip = self.prices["external_ip"].usd
            self.add(r, "node external IPs (public nodes)", _monthly(ip, count),
                     f"{HOURS_PER_MONTH} h x {_usd(ip)}/h x {_plural(count, 'address')}")
        disk_type = config.get("diskType") or "pd-balanced"
        size = _num(config.get("diskSizeGb")) or 100  # GKE's default boot disk
        price = self.prices.get(disk_type)
        if price is None:
            self.unpriced(r, "node boot disks", f"{disk_type} disks")
            return
        self.add(r, f"node boot disks ({disk_type})", price.usd * size * count,
                 f"{_n(size)} GB x {_usd(price.usd)}/GB-month x {_plural(count, 'node')}")

    def _private_gke_nodes(self, pool: PlannedResource) -> bool:
        if (pool.inputs.get("networkConfig") or {}).get("enablePrivateNodes"):
            return True
        clusters = [c for c in self.plan.resources if c.type == "gcp:container/cluster:Cluster"]
        cluster = next((c for c in clusters if c.inputs.get("name") == pool.inputs.get("cluster")), None)
        cluster = cluster or (clusters[0] if len(clusters) == 1 else None)
        return bool(cluster and (cluster.inputs.get("privateClusterConfig") or {}).get("enablePrivateNodes"))

    def cloud_nat(self, r: PlannedResource) -> None:
        per_vm, cap = self.prices["nat_per_vm"].usd, self.prices["nat_max"].usd
        vms = max(self.node_count, 1)
        hourly = min(per_vm * vms, cap)
        self.add(r, "Cloud NAT gateway", _monthly(hourly),
                 f"{HOURS_PER_MONTH} h x {_usd(per_vm)}/h per VM x {_plural(vms, 'VM')} (capped at {_usd(cap)}/h; "
                 "data processing extra)")
        if r.inputs.get("natIpAllocateOption", "AUTO_ONLY") == "AUTO_ONLY":
            ip = self.prices["external_ip"].usd
            self.add(r, "Cloud NAT external IP (auto-allocated)", _monthly(ip), f"{HOURS_PER_MONTH} h x {_usd(ip)}/h x 1 address")
        # MANUAL_ONLY: the reserved addresses it uses are priced as gcp:compute/address:Address.

    def gcp_address(self, r: PlannedResource) -> None:
        """A reserved external address costs what an ephemeral one does while a NAT uses it."""
        if r.inputs.get("addressType", "EXTERNAL") != "EXTERNAL":
            return  # internal addresses are free
        nat_ips = {ip for n in self.plan.by_type("gcp:compute/routerNat:RouterNat") for ip in n.inputs.get("natIps") or []}
        if r.outputs.get("selfLink") not in nat_ips:
            self.unpriced(r, "reserved external IP (unused)", "an external IP no Cloud NAT uses")
            return
        ip = self.prices["external_ip"].usd
        self.add(r, "Cloud NAT external IP (reserved)", _monthly(ip), f"{HOURS_PER_MONTH} h x {_usd(ip)}/h x 1 address")

    def gcs_bucket(self, r: PlannedResource) -> None:
        storage_class = str(r.inputs.get("storageClass") or "STANDARD").upper()
        if storage_class != "STANDARD":
            self.unpriced(r, f"GCS {storage_class} storage", f"GCS {storage_class}")
            return
        price = self.prices["gcs_standard"].usd
        self.add(r, "GCS Standard storage", price * BASELINE_GB, f"{BASELINE_GB} GB assumed x {_usd(price)}/GB-month")

    def artifact_registry(self, r: PlannedResource) -> None:
        price, free = self.prices["artifact_registry"].usd, self.prices["artifact_registry_free_gb"].usd
        billed = max(BASELINE_GB - free, 0)
        self.add(r, "Artifact Registry storage", price * billed,
                 f"({BASELINE_GB} GB assumed - {free:g} GB free) x {_usd(price)}/GB-month")

    def gcp_kms(self, r: PlannedResource) -> None:
        price = self.prices["kms_key_version"].usd
        self.add(r, "Cloud KMS key (one active version)", price,
                 f"1 key version x {_usd(price)}/month (each rotation adds a version; operations extra)")

    # --- Azure ------------------------------------------------------------------
    def aks_cluster(self, r: PlannedResource) -> None:
        tier = str((r.inputs.get("sku") or {}).get("tier") or "Free")
        price = self.prices.get(f"aks_{tier.lower()}")
        if price is None:
            self.unpriced(r, f"AKS control plane ({tier} tier)", f"the AKS {tier} tier")
        else:
            basis = f"{HOURS_PER_MONTH} h x {_usd(price.usd)}/h" if price.usd else "the Free tier has no control-plane fee"
            self.add(r, f"AKS control plane ({tier} tier)", _monthly(price.usd), basis)
        for pool in r.inputs.get("agentPoolProfiles") or []:
            self._agent_pool(r, pool)
        network = r.inputs.get("networkProfile") or {}
        outbound = network.get("outboundType") or "loadBalancer"
        if outbound == "loadBalancer" and str(network.get("loadBalancerSku") or "standard").lower() == "standard":
            lb, ip = self.prices["standard_lb"].usd, self.prices["public_ip"].usd
            self.lb_rules += 1  # the outbound rule
            self.add(r, "Standard Load Balancer (cluster outbound and LoadBalancer Services)", _monthly(lb),
                     f"{HOURS_PER_MONTH} h x {_usd(lb)}/h for the first 5 rules (data processed extra)")
            self.add(r, "outbound public IP", _monthly(ip), f"{HOURS_PER_MONTH} h x {_usd(ip)}/h x 1 address")
        elif outbound == "managedNATGateway":
            nat, ip = self.prices["nat_gateway"].usd, self.prices["public_ip"].usd
            self.add(r, "managed NAT gateway", _monthly(nat), f"{HOURS_PER_MONTH} h x {_usd(nat)}/h (data processing extra)")
            self.add(r, "NAT gateway public IP", _monthly(ip), f"{HOURS_PER_MONTH} h x {_usd(ip)}/h x 1 address")

    def aks_agent_pool(self, r: PlannedResource) -> None:
        self._agent_pool(r, r.inputs)

    def _agent_pool(self, r: PlannedResource, pool: dict[str, Any]) -> None:
        label = pool.get("name") or r.name
        autoscale = bool(pool.get("enableAutoScaling"))
        count = (_num(pool.get("minCount")) if autoscale else None) or _num(pool.get("count")) or 1
        self.machine(r, f"AKS nodes (pool {label})", pool.get("vmSize"), count, "min count" if autoscale else "count",
                     spot=str(pool.get("scaleSetPriority") or "") == "Spot")
        if str(pool.get("osDiskType") or "Managed") == "Ephemeral":
            return
        size = _num(pool.get("osDiskSizeGB")) or 128  # AKS's default OS disk
        # AKS gives managed OS disks Premium SSD on sizes that take premium storage.
        sku = "Premium_LRS" if _premium_capable(pool.get("vmSize")) else "StandardSSD_LRS"
        self._azure_disk(r, f"node OS disks (pool {label})", sku, size, count)

    def _azure_disk(self, r: PlannedResource, what: str, sku: str, size: float, count: float) -> None:
        tier = next((t for t in AZURE_DISK_TIERS.get(sku, []) if size <= t[0]), None)
        if tier is None:
            self.unpriced(r, what, f"a {_n(size)} GiB {sku} disk")
            return
        cap, name, monthly = tier
        self.add(r, f"{what} ({sku})", monthly * count,
                 f"{_n(size)} GiB bills as {name} ({cap} GiB) x ${monthly:.2f}/month x {_plural(count, 'disk')}")

    def azure_nat(self, r: PlannedResource) -> None:
        price = self.prices["nat_gateway"].usd
        self.add(r, "NAT gateway", _monthly(price), f"{HOURS_PER_MONTH} h x {_usd(price)}/h (data processing extra)")

    def azure_storage(self, r: PlannedResource) -> None:
        sku = str((r.inputs.get("sku") or {}).get("name") or "Standard_LRS")
        tier = str(r.inputs.get("accessTier") or "Hot")
        if sku != "Standard_LRS" or tier != "Hot":
            self.unpriced(r, f"Blob storage ({tier}, {sku})", f"Blob {tier} {sku}")
            return
        price = self.prices["blob_hot_lrs"].usd
        self.add(r, "Blob storage (hot, LRS)", price * BASELINE_GB, f"{BASELINE_GB} GB assumed x {_usd(price)}/GB-month")

    def acr(self, r: PlannedResource) -> None:
        sku = str((r.inputs.get("sku") or {}).get("name") or "Basic")
        price = self.prices.get(f"acr_{sku.lower()}")
        if price is None:
            self.unpriced(r, f"Container Registry ({sku})", f"ACR {sku}")
            return
        self.add(r, f"Container Registry ({sku})", price.usd * DAYS_PER_MONTH,
                 f"{DAYS_PER_MONTH:.2f} days x {_usd(price.usd)}/day (storage included covers the {BASELINE_GB} GB assumed)")

    def azure_key(self, r: PlannedResource) -> None:
        self.add(r, "Key Vault key (software-protected)", 0.0, "no monthly fee: billed per operation")

    # --- Kubernetes ---------------------------------------------------------------
    def volume_claim(self, r: PlannedResource) -> None:
        spec = r.inputs.get("spec") or {}
        size = _gib(((spec.get("resources") or {}).get("requests") or {}).get("storage"))
        storage_class = spec.get("storageClassName")
        if size is None:
            self.add(r, "persistent volume", None, "no storage request in the claim")
            self.assumptions.append(f"{r.name}: the claim has no storage request; the total excludes it")
            return
        what = f"persistent volume ({storage_class or 'default class'})"
        if self.provider == "azure":
            self._azure_disk(r, "persistent volume", AZURE_STORAGE_CLASSES.get(storage_class or "default", "StandardSSD_LRS"), size, 1)
            return
        key = "gp3" if self.provider == "aws" else GCP_STORAGE_CLASSES.get(storage_class or "standard-rwo", "pd-balanced")
        price = self.prices[key].usd
        self.add(r, what, price * size, f"{_n(round(size, 2))} GiB x {_usd(price)}/GB-month ({key})")

    def load_balancer_service(self, r: PlannedResource) -> None:
        annotations = (r.inputs.get("metadata") or {}).get("annotations") or {}
        ports = len((r.inputs.get("spec") or {}).get("ports") or []) or 1
        if self.provider == "aws":
            internal = str(annotations.get("service.beta.kubernetes.io/aws-load-balancer-internal", "")).lower() in ("true", "0.0.0.0/0") \
                or annotations.get("service.beta.kubernetes.io/aws-load-balancer-scheme") == "internal"
            kind = annotations.get("service.beta.kubernetes.io/aws-load-balancer-type")
            if kind in ("nlb", "external"):
                nlb, lcu = self.prices["nlb"].usd, self.prices["nlb_lcu"].usd
                self.add(r, "Network Load Balancer", _monthly(nlb + lcu),
                         f"{HOURS_PER_MONTH} h x ({_usd(nlb)}/h + 1 LCU x {_usd(lcu)}/h, light traffic)")
            else:
                clb = self.prices["clb"].usd
                self.add(r, "Classic Load Balancer", _monthly(clb), f"{HOURS_PER_MONTH} h x {_usd(clb)}/h (data processed extra)")
            if not internal:
                zones = sum(1 for s in self.plan.resources if s.type == "aws:ec2/subnet:Subnet"
                            and (s.inputs.get("tags") or {}).get("kubernetes.io/role/elb") == "1") or 2
                ip = self.prices["public_ipv4"].usd
                self.add(r, "load balancer public IPv4 (one per public subnet)", _monthly(ip, zones),
                         f"{HOURS_PER_MONTH} h x {_usd(ip)}/h x {_plural(zones, 'address')}")
        elif self.provider == "gcp":
            before, self.lb_rules = self.lb_rules, self.lb_rules + ports
            extra = max(self.lb_rules - 5, 0) - max(before - 5, 0)
            first5, each = self.prices["forwarding_rules_first5"].usd, self.prices["forwarding_rule_extra"].usd
            hourly = (first5 if before == 0 else 0.0) + extra * each
            parts = [f"{_usd(first5)}/h for the region's first 5 forwarding rules"] if before == 0 else []
            if extra:
                parts.append(f"{extra} rule(s) beyond 5 x {_usd(each)}/h")
            basis = (f"{HOURS_PER_MONTH} h x (" + " + ".join(parts) + ")") if parts \
                else "within the region's first 5 forwarding rules (charged on the first load balancer)"
            self.add(r, f"load balancer forwarding rule ({_plural(ports, 'rule')})", _monthly(hourly), basis)
        else:
            before, self.lb_rules = self.lb_rules, self.lb_rules + ports
            extra = max(self.lb_rules - 5, 0) - max(before - 5, 0)
            ip = self.prices["public_ip"].usd
            rule = self.prices["standard_lb_extra_rule"].usd
            internal = str(annotations.get("service.beta.kubernetes.io/azure-load-balancer-internal", "")).lower() == "true"
            hourly = (0.0 if internal else ip) + extra * rule
            basis = f"{_plural(ports, 'rule')} on the cluster's Standard Load Balancer"
            basis += f" ({extra} beyond the first 5 x {_usd(rule)}/h)" if extra else " (within its first 5)"
            if not internal:
                basis += f"; {HOURS_PER_MONTH} h x {_usd(ip)}/h for its public IP"
            self.add(r, "load balancer rules and public IP", _monthly(hourly), basis)


def _premium_capable(vm_size: Any) -> bool:
    """Azure sizes with an `s` in the feature letters (D2s_v5, D4as_v5) take premium SSDs."""
    if not isinstance(vm_size, str):
        return False
    match = re.match(r"^Standard_[A-Z]+\d+([a-z]*)", vm_size)
    return bool(match and "s" in match.group(1))


# Display order: control plane, nodes, network, storage.
_ORDER = {
    "aws:eks/cluster:Cluster": 0, "gcp:container/cluster:Cluster": 0, "azure-native:containerservice:ManagedCluster": 0,
    "aws:eks/nodeGroup:NodeGroup": 10, "gcp:container/nodePool:NodePool": 10, "azure-native:containerservice:AgentPool": 10,
    "aws:ec2/natGateway:NatGateway": 20, "aws:ec2/eip:Eip": 21, "gcp:compute/routerNat:RouterNat": 20,
    "gcp:compute/address:Address": 21,
    "azure-native:network:NatGateway": 20, "kubernetes:core/v1:Service": 30,
    "kubernetes:core/v1:PersistentVolumeClaim": 40,
}


def estimate(plan: Plan) -> CostEstimate:
    """The estimated monthly cost of `plan`, item by item."""
    return _Estimator(plan).run()


# --------------------------------------------------------------------------
# mlstacks' default stacks, priced from the same table
#
# Like-for-like with our default stack: mlstacks' modular recipes with the five components
# we deploy (orchestrator on Kubernetes, artifact store, container registry, MLflow experiment
# tracker, Seldon model deployer). Sources: github.com/zenml-io/mlstacks, src/mlstacks/terraform/
#   aws-modular/vpc.tf: terraform-aws-modules/vpc, 3 AZs with public subnets,
#       enable_nat_gateway = true, single_nat_gateway = true (one NAT gateway and its Elastic IP);
#   aws-modular/eks.tf: aws_eks_node_group, instance_types = ["t3.xlarge"], desired_size = 3, no
#       launch template (EKS's default 20 GiB gp2 root volume per node);
#   aws-modular/nginx_ingress.tf (ingress-nginx, for MLflow) and istio.tf (Istio, for Seldon): each
#       a Service of type LoadBalancer; on EKS, without annotations, a Classic Load Balancer with one
#       public IPv4 address per public subnet (3);
#   gcp-modular/gke.tf: a regional cluster, node_locations in 3 zones, initial_node_count = 1,
#       e2-standard-8 (3 nodes; GKE's default 100 GB pd-balanced boot disk each), plus Cloud NAT and the
#       same two ingress LoadBalancer Services (nginx_ingress.tf, istio.tf): 2 forwarding rules.
# mlstacks has no Azure recipe: the AWS sizing translated to AKS (see MLSTACKS_SIZING["azure"]).

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


def mlstacks_default_estimate(provider: str) -> CostEstimate:
    """What mlstacks' default stack for `provider` costs, with the same components as ours.

    Control plane, nodes and their disks, NAT, and the two ingress load balancers with their public
    IPs; storage and data transfer are not priced (see the assumptions).
    """
    sizing = MLSTACKS_SIZING[provider]
    prices = PRICES[provider]
    items: list[CostItem] = []

    def add(name: str, type_: str, what: str, monthly: float, basis: str) -> None:
        items.append(CostItem(name, type_, what, round(monthly, 2), basis))

    plane = prices[sizing["control_plane"]].usd
    nodes, machine = sizing["nodes"], sizing["machine"]
    hourly = MACHINE_HOURLY[provider][machine]
    disk, disk_gb = sizing["disk"], sizing["disk_gb"]
    node_type = {"aws": "aws:eks/nodeGroup:NodeGroup", "gcp": "gcp:container/nodePool:NodePool",
                 "azure": "azure-native:containerservice:AgentPool"}[provider]
    service = "kubernetes:core/v1:Service"
    if provider == "aws":
        add("mlstacks-eks", "aws:eks/cluster:Cluster", "EKS control plane (standard support)",
            _monthly(plane), f"{HOURS_PER_MONTH} h x {_usd(plane)}/h")
    elif provider == "gcp":
        add("mlstacks-gke", "gcp:container/cluster:Cluster", "GKE cluster management fee (regional)",
            _monthly(plane), f"{HOURS_PER_MONTH} h x {_usd(plane)}/h (regional: not covered by the free tier)")
    else:
        add("mlstacks-aks", "azure-native:containerservice:ManagedCluster", "AKS control plane (Standard tier)",
            _monthly(plane), f"{HOURS_PER_MONTH} h x {_usd(plane)}/h")
    add("mlstacks-nodes", node_type, "nodes", _monthly(hourly, nodes),
        f"{HOURS_PER_MONTH} h x {_usd(hourly)}/h x {_plural(nodes, 'node')}, {machine}")

    # Node disks.
    if provider == "azure":
        cap, tier, per_disk = next(t for t in AZURE_DISK_TIERS[disk] if disk_gb <= t[0])
        add("mlstacks-nodes", node_type, f"node OS disks ({disk})", per_disk * nodes,
            f"{disk_gb} GiB bills as {tier} ({cap} GiB) x ${per_disk:.2f}/month x {_plural(nodes, 'disk')}")
    else:
        per_gb = prices[disk].usd
        what = "node root volumes" if provider == "aws" else "node boot disks"
        default = "EKS's default root volume, no launch template" if provider == "aws" else "GKE's default boot disk"
        add("mlstacks-nodes", node_type, f"{what} ({disk})", per_gb * disk_gb * nodes,
            f"{disk_gb} GB x {_usd(per_gb)}/GB-month x {_plural(nodes, 'node')} ({default})")

    # NAT.
    if provider == "gcp":
        per_vm, cap_hourly = prices["nat_per_vm"].usd, prices["nat_max"].usd
        add("mlstacks-nat", "gcp:compute/routerNat:RouterNat", "Cloud NAT gateway",
            _monthly(min(per_vm * nodes, cap_hourly)), f"{HOURS_PER_MONTH} h x {_usd(per_vm)}/h per VM x {nodes} VMs")
    else:
        nat = prices["nat_gateway"].usd
        nat_type = "aws:ec2/natGateway:NatGateway" if provider == "aws" else "azure-native:network:NatGateway"
        add("mlstacks-nat", nat_type, "NAT gateway", _monthly(nat), f"{HOURS_PER_MONTH} h x {_usd(nat)}/h")
        if provider == "aws":
            ip = prices["public_ipv4"].usd
            add("mlstacks-nat-eip", "aws:ec2/eip:Eip", "public IPv4 address (Elastic IP, the NAT gateway's)",
                _monthly(ip), f"{HOURS_PER_MONTH} h x {_usd(ip)}/h")

    # The two ingress LoadBalancer Services.
    if provider == "aws":
        clb, ip = prices["clb"].usd, prices["public_ipv4"].usd
        addresses = sizing["lb_public_ips"]
        for controller, component in MLSTACKS_INGRESS:
            name = f"mlstacks-{controller}"
            add(name, service, f"Classic Load Balancer ({controller}, for {component})", _monthly(clb),
                f"{HOURS_PER_MONTH} h x {_usd(clb)}/h (a LoadBalancer Service without annotations; data processed extra)")
            add(name, service, "load balancer public IPv4 (one per public subnet)", _monthly(ip, addresses),
                f"{HOURS_PER_MONTH} h x {_usd(ip)}/h x {_plural(addresses, 'address')}")
    elif provider == "gcp":
        first5 = prices["forwarding_rules_first5"].usd
        for n, (controller, component) in enumerate(MLSTACKS_INGRESS):
            add(f"mlstacks-{controller}", service, f"load balancer forwarding rule ({controller}, for {component})",
                _monthly(first5) if n == 0 else 0.0,
                f"{HOURS_PER_MONTH} h x {_usd(first5)}/h for the region's first 5 forwarding rules" if n == 0
                else "within the region's first 5 forwarding rules (charged on the first load balancer)")
    else:
        lb, ip = prices["standard_lb"].usd, prices["public_ip"].usd
        add("mlstacks-aks", "azure-native:containerservice:ManagedCluster",
            "Standard Load Balancer (LoadBalancer Services)", _monthly(lb),
            f"{HOURS_PER_MONTH} h x {_usd(lb)}/h for the first 5 rules (data processed extra)")
        for controller, component in MLSTACKS_INGRESS:
            add(f"mlstacks-{controller}", service, f"load balancer rules and public IP ({controller}, for {component})",
                _monthly(ip), f"rules within the first 5; {HOURS_PER_MONTH} h x {_usd(ip)}/h for its public IP")

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
        assumptions.append("mlstacks has no Azure recipe: this is its AWS sizing translated to AKS "
                           "(Standard tier, 3 x Standard_D4s_v5 = 4 vCPU / 16 GiB like t3.xlarge, 128 GiB Premium "
                           "OS disks (P10), one NAT gateway, the two ingress LoadBalancer Services as Standard Load "
                           "Balancer rules + 2 public IPs)")
    ref = REFERENCE_REGION[provider]
    return CostEstimate(items=items, region_note=f"list prices for {ref}; other regions differ", assumptions=assumptions)
