"""AWS pricing: one function per billed resource type, in `PRICERS` by type token."""

from __future__ import annotations

from typing import TYPE_CHECKING

from recipes.facts.aws import (
    EC2_EIP,
    EC2_LAUNCH_TEMPLATE,
    EC2_NAT_GATEWAY,
    EC2_SUBNET,
    ECR_REPOSITORY,
    EKS_CLUSTER,
    EKS_NODE_GROUP,
    KMS_KEY,
    S3_BUCKET,
    S3_BUCKET_V2,
)
from recipes.facts.kubernetes import PERSISTENT_VOLUME_CLAIM, SERVICE

from . import kubernetes
from .model import PlanPricer, count_text, hours, monthly, number, plural, usd
from .prices import BASELINE_GB, EBS_VOLUME_TYPES, HOURS_PER_MONTH

if TYPE_CHECKING:
    from provisioner.analysis.plan import PlannedResource

LB_TYPE_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-type"
LB_INTERNAL_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-internal"
LB_SCHEME_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-scheme"
PUBLIC_ELB_SUBNET_TAG = "kubernetes.io/role/elb"  # the subnets a public load balancer takes an address in


def eks_cluster(pricer: PlanPricer, r: PlannedResource) -> None:
    support = str((r.inputs.get("upgradePolicy") or {}).get("supportType") or "STANDARD").upper()
    price = pricer.prices["eks_extended" if support == "EXTENDED" else "eks_standard"]
    pricer.add(r, f"EKS control plane ({support.lower()} support)", monthly(price.usd), hours(price.usd))


def eks_node_group(pricer: PlanPricer, r: PlannedResource) -> None:
    scaling = r.inputs.get("scalingConfig") or {}
    count = number(scaling.get("minSize")) or number(scaling.get("desiredSize")) or 1
    template = _launch_template(pricer, r)
    types = r.inputs.get("instanceTypes") or []
    machine = types[0] if types else (template.inputs.get("instanceType") if template else None) or "t3.medium"
    if len(types) > 1:
        pricer.assumptions.append(f"{r.name}: priced as {machine}, the first of {', '.join(types)}")
    pricer.nodes(r, "EKS nodes", machine, count, "min size" if scaling.get("minSize") else "desired size",
                 spot=str(r.inputs.get("capacityType") or "").upper() == "SPOT")
    if _public_node_subnets(pricer, r):
        ip = pricer.prices["public_ipv4"].usd
        pricer.add(r, "node public IPv4 addresses (public subnets)", monthly(ip, count),
                   f"{hours(ip)} x {plural(count, 'address')}")
    size = number(r.inputs.get("diskSize"))
    volume_type = "gp3"
    if template is not None:
        for mapping in template.inputs.get("blockDeviceMappings") or []:
            ebs = mapping.get("ebs") or {}
            size = number(ebs.get("volumeSize"), size)
            volume_type = ebs.get("volumeType") or volume_type
    size = size or 20  # the EKS default root volume
    if volume_type not in EBS_VOLUME_TYPES:
        pricer.unpriced(r, "node root volumes", f"{volume_type} volumes")
        return
    price = pricer.prices[volume_type].usd
    pricer.add(r, f"node root volumes ({volume_type})", price * size * count,
               f"{count_text(size)} GB x {usd(price)}/GB-month x {plural(count, 'node')}")


def _public_node_subnets(pricer: PlanPricer, r: PlannedResource) -> bool:
    """Nodes launched in subnets that map a public IPv4 to each instance."""
    ids = [i for i in r.inputs.get("subnetIds") or [] if isinstance(i, str)]
    return any(s.type == EC2_SUBNET and s.inputs.get("mapPublicIpOnLaunch") is True
               and any(i.startswith(f"{s.name}-") for i in ids) for s in pricer.plan.resources)


def _launch_template(pricer: PlanPricer, r: PlannedResource) -> PlannedResource | None:
    ref = r.inputs.get("launchTemplate") or {}
    if not ref:
        return None
    templates = [t for t in pricer.plan.resources if t.type == EC2_LAUNCH_TEMPLATE]
    for t in templates:
        by_id = isinstance(ref.get("id"), str) and ref["id"].startswith(f"{t.name}-")  # mock ids: `<name>-<hash>`
        by_name = ref.get("name") is not None and ref.get("name") == t.inputs.get("name")
        if by_id or by_name:
            return t
    return templates[0] if len(templates) == 1 else None


def nat_gateway(pricer: PlanPricer, r: PlannedResource) -> None:
    price = pricer.prices["nat_gateway"].usd
    pricer.add(r, "NAT gateway", monthly(price), f"{hours(price)} (data processing extra)")


def elastic_ip(pricer: PlanPricer, r: PlannedResource) -> None:
    price = pricer.prices["public_ipv4"].usd
    pricer.add(r, "public IPv4 address (Elastic IP)", monthly(price), hours(price))


def s3_bucket(pricer: PlanPricer, r: PlannedResource) -> None:
    price = pricer.prices["s3_standard"].usd
    pricer.add(r, "S3 Standard storage", price * BASELINE_GB, f"{BASELINE_GB} GB assumed x {usd(price)}/GB-month")


def ecr_repository(pricer: PlanPricer, r: PlannedResource) -> None:
    price = pricer.prices["ecr"].usd
    pricer.add(r, "ECR image storage", price * BASELINE_GB, f"{BASELINE_GB} GB assumed x {usd(price)}/GB-month")


def kms_key(pricer: PlanPricer, r: PlannedResource) -> None:
    price = pricer.prices["kms_key"].usd
    pricer.add(r, "KMS customer managed key", price, f"1 key x {usd(price)}/month (requests extra)")


def load_balancer_service(pricer: PlanPricer, r: PlannedResource) -> None:
    """An NLB (with the nlb annotation) or a Classic LB, and a public IPv4 per public subnet unless internal."""
    if not kubernetes.is_load_balancer(r):
        return
    annotations = kubernetes.annotations(r)
    internal = str(annotations.get(LB_INTERNAL_ANNOTATION, "")).lower() in ("true", "0.0.0.0/0") \
        or annotations.get(LB_SCHEME_ANNOTATION) == "internal"
    if annotations.get(LB_TYPE_ANNOTATION) in ("nlb", "external"):
        nlb, lcu = pricer.prices["nlb"].usd, pricer.prices["nlb_lcu"].usd
        pricer.add(r, "Network Load Balancer", monthly(nlb + lcu),
                   f"{HOURS_PER_MONTH} h x ({usd(nlb)}/h + 1 LCU x {usd(lcu)}/h, light traffic)")
    else:
        clb = pricer.prices["clb"].usd
        pricer.add(r, "Classic Load Balancer", monthly(clb), f"{hours(clb)} (data processed extra)")
    if not internal:
        zones = sum(1 for s in pricer.plan.resources if s.type == EC2_SUBNET
                    and (s.inputs.get("tags") or {}).get(PUBLIC_ELB_SUBNET_TAG) == "1") or 2
        ip = pricer.prices["public_ipv4"].usd
        pricer.add(r, "load balancer public IPv4 (one per public subnet)", monthly(ip, zones),
                   f"{hours(ip)} x {plural(zones, 'address')}")


def volume_claim(pricer: PlanPricer, r: PlannedResource) -> None:
    """EKS's default storage class provisions gp3 volumes."""
    claim = kubernetes.claimed_volume(pricer, r)
    if claim is not None:
        kubernetes.price_per_gb(pricer, r, claim, "gp3")


PRICERS = {
    EKS_CLUSTER: eks_cluster,
    EKS_NODE_GROUP: eks_node_group,
    EC2_NAT_GATEWAY: nat_gateway,
    EC2_EIP: elastic_ip,
    S3_BUCKET: s3_bucket,
    S3_BUCKET_V2: s3_bucket,
    ECR_REPOSITORY: ecr_repository,
    KMS_KEY: kms_key,
    SERVICE: load_balancer_service,
    PERSISTENT_VOLUME_CLAIM: volume_claim,
}
# Display order: control plane, nodes, network (then the Kubernetes items, then storage).
DISPLAY_RANK = {EKS_CLUSTER: 0, EKS_NODE_GROUP: 10, EC2_NAT_GATEWAY: 20, EC2_EIP: 21}
