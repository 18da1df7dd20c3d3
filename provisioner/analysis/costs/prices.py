"""The dated list-price table the cost estimate is worked out from.

Why a table of its own: prices change on their own schedule, so updating them
is editing this one file, with each figure next to the public page it comes
from. Public on-demand list prices for each cloud's reference region
(PRICE_REFERENCE_REGION in recipes/facts/<cloud>.py: us-east-1 / us-central1 /
eastus; Linux, no discounts, no free tier except where noted) as of
`PRICES_AS_OF`. Spot nodes have no list price: `SPOT_DISCOUNT` is an estimated
discount off the on-demand price.
"""

from __future__ import annotations

from dataclasses import dataclass

PRICES_AS_OF = "2026-11"
HOURS_PER_MONTH = 730
DAYS_PER_MONTH = 365 / 12
# Data assumed to sit in the bucket and in the registry, so storage is not priced at 0.
BASELINE_GB = 10


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
AWS_CLOUDWATCH = "https://aws.amazon.com/cloudwatch/pricing/"
GCP_GKE = "https://cloud.google.com/kubernetes-engine/pricing"
GCP_VM = "https://cloud.google.com/compute/vm-instance-pricing"
GCP_NAT = "https://cloud.google.com/nat/pricing"
GCP_NET = "https://cloud.google.com/vpc/network-pricing"
GCP_DISK = "https://cloud.google.com/compute/disks-image-pricing"
GCP_GCS = "https://cloud.google.com/storage/pricing"
GCP_AR = "https://cloud.google.com/artifact-registry/pricing"
GCP_KMS = "https://cloud.google.com/kms/pricing"
GCP_LOGGING = "https://cloud.google.com/stackdriver/pricing"
AZ_AKS = "https://azure.microsoft.com/pricing/details/kubernetes-service/"
AZ_VM = "https://azure.microsoft.com/pricing/details/virtual-machines/linux/"
AZ_LB = "https://azure.microsoft.com/pricing/details/load-balancer/"
AZ_NAT = "https://azure.microsoft.com/pricing/details/azure-nat-gateway/"
AZ_IP = "https://azure.microsoft.com/pricing/details/ip-addresses/"
AZ_DISK = "https://azure.microsoft.com/pricing/details/managed-disks/"
AZ_BLOB = "https://azure.microsoft.com/pricing/details/storage/blobs/"
AZ_ACR = "https://azure.microsoft.com/pricing/details/container-registry/"
AZ_KV = "https://azure.microsoft.com/pricing/details/key-vault/"
AZ_MONITOR = "https://azure.microsoft.com/pricing/details/monitor/"
AZ_NETWORK_WATCHER = "https://azure.microsoft.com/pricing/details/network-watcher/"

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
        "cloudwatch_logs_ingest": Price(0.50, "GB", AWS_CLOUDWATCH),  # Logs, standard class: data ingested (EKS control-plane logs)
        "cloudwatch_logs_storage": Price(0.03, "GB-month", AWS_CLOUDWATCH),  # Logs: archived (kept) data
        "vended_logs_s3": Price(0.25, "GB", AWS_CLOUDWATCH),  # vended logs (VPC flow logs) delivered to S3, first 10 TB
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
        "logging_ingestion": Price(0.50, "GiB", GCP_LOGGING),  # Cloud Logging storage: per GiB ingested, 30 days kept
        "logging_free_gib": Price(50, "GiB-month", GCP_LOGGING),  # ... free per project per month (not vended logs)
        # VPC flow logs kept in Cloud Logging ("vended network logs", no free allotment); the network
        # telemetry generation charge on the VPC pricing page is waived for logs stored in Cloud Logging.
        "vended_network_logs": Price(0.25, "GiB", GCP_LOGGING),
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
        "log_analytics_ingestion": Price(2.30, "GB", AZ_MONITOR),  # Analytics logs, pay-as-you-go, per GB ingested
        "log_analytics_retention": Price(0.10, "GB-month", AZ_MONITOR),  # retention past the 31 days included
        "flow_logs_collected": Price(0.50, "GB", AZ_NETWORK_WATCHER),  # VNet flow logs (first 5 GB/month per subscription free)
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
