"""AWS pricing: one function per billed resource type, in `PRICERS` by type token."""

from __future__ import annotations

from typing import TYPE_CHECKING

from recipes.facts.aws import (
    CLOUDWATCH_LOG_GROUP,
    EC2_EIP,
    EC2_FLOW_LOG,
    EC2_LAUNCH_TEMPLATE,
    EC2_NAT_GATEWAY,
    EC2_SUBNET,
    ECR_REPOSITORY,
    EKS_CLUSTER,
    EKS_NODE_GROUP,
    KMS_KEY,
    S3_BUCKET,
    S3_BUCKET_LOGGING,
    S3_BUCKET_V2,
    S3_LIFECYCLE,
    S3_VERSIONING,
)
from recipes.facts.any_cloud import PERSISTENT_VOLUME_CLAIM, SERVICE

from . import kubernetes
from .model import PlanPricer, count_text, hours, monthly, number, plural, usd
from .prices import BASELINE_GB, DAYS_PER_MONTH, EBS_VOLUME_TYPES, HOURS_PER_MONTH

if TYPE_CHECKING:
    from provisioner.analysis.plan import PlannedResource

LB_TYPE_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-type"
LB_INTERNAL_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-internal"
LB_SCHEME_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-scheme"
PUBLIC_ELB_SUBNET_TAG = "kubernetes.io/role/elb"  # the subnets a public load balancer takes an address in
# What --audit-logs delivers a month, assumed as BASELINE_GB is for stored data: the plan knows no traffic.
FLOW_LOG_GB = 5  # flow-log records of a small VPC (a few nodes, their load balancers, the NAT gateway)
ACCESS_LOG_GB = 1  # server access log records of one bucket
CONTROL_PLANE_LOG_GB = 1  # each control-plane log type --audit-logs adds
# The control-plane log types --audit-logs adds to those every stack sends (api, audit, authenticator: C2).
AUDIT_ONLY_LOG_TYPES = ("controllerManager", "scheduler")


def eks_cluster(pricer: PlanPricer, r: PlannedResource) -> None:
    support = str((r.inputs.get("upgradePolicy") or {}).get("supportType") or "STANDARD").upper()
    price = pricer.prices["eks_extended" if support == "EXTENDED" else "eks_standard"]
    pricer.add(r, f"EKS control plane ({support.lower()} support)", monthly(price.usd), hours(price.usd))
    added = [t for t in r.inputs.get("enabledClusterLogTypes") or [] if t in AUDIT_ONLY_LOG_TYPES]
    if added:
        _control_plane_logs(pricer, r, added)


def _control_plane_logs(pricer: PlanPricer, r: PlannedResource, types: list[str]) -> None:
    """CloudWatch Logs: the added types' data ingested, and kept as long as the log group keeps it."""
    gb = CONTROL_PLANE_LOG_GB * len(types)
    ingest, storage = pricer.prices["cloudwatch_logs_ingest"].usd, pricer.prices["cloudwatch_logs_storage"].usd
    group = f"/aws/eks/{r.inputs.get('name')}/cluster"
    days = next((number(g.inputs.get("retentionInDays")) for g in pricer.plan.resources
                 if g.type == CLOUDWATCH_LOG_GROUP and g.inputs.get("name") == group), None)
    what, basis = f"EKS control-plane logs ({', '.join(types)})", f"{count_text(gb)} GB/month assumed x {usd(ingest)}/GB ingested"
    pricer.assumptions.append(f"{r.name}: {CONTROL_PLANE_LOG_GB} GB a month of each of {', '.join(types)} logs assumed")
    if not days:
        pricer.add(r, what, gb * ingest, f"{basis}; kept without expiry: storage grows by {count_text(gb)} GB x {usd(storage)} each month")
        return
    kept = gb * days / DAYS_PER_MONTH
    pricer.add(r, what, gb * ingest + kept * storage,
               f"{basis} + {kept:.2f} GB kept ({count_text(days)} days) x {usd(storage)}/GB-month")


def flow_log(pricer: PlanPricer, r: PlannedResource) -> None:
    """Vended logs: to S3 at half the price of CloudWatch Logs; their storage is the destination bucket's."""
    kind = r.inputs.get("logDestinationType") or "cloud-watch-logs"
    if kind not in ("s3", "cloud-watch-logs"):
        pricer.unpriced(r, "VPC flow logs", f"flow logs delivered to {kind}")
        return
    price = pricer.prices["vended_logs_s3" if kind == "s3" else "cloudwatch_logs_ingest"].usd
    pricer.add(r, f"VPC flow logs delivered to {'S3' if kind == 's3' else 'CloudWatch Logs'}", price * FLOW_LOG_GB,
               f"{FLOW_LOG_GB} GB/month assumed x {usd(price)}/GB delivered (storage: at the destination)")
    pricer.assumptions.append(f"{r.name}: {FLOW_LOG_GB} GB of flow-log records a month assumed (a small VPC)")


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
    logs = _logs_delivered(pricer, r)
    if logs:
        _log_storage(pricer, r, logs, price)
        return
    pricer.add(r, "S3 Standard storage", price * BASELINE_GB, f"{BASELINE_GB} GB assumed x {usd(price)}/GB-month")


def _logs_delivered(pricer: PlanPricer, r: PlannedResource) -> float:
    """The GB a month delivered to bucket `r` as logs: each bucket logging to it, each flow log to it."""
    name, resources = r.inputs.get("bucket"), pricer.plan.resources
    access = sum(1 for x in resources if x.type == S3_BUCKET_LOGGING and x.inputs.get("targetBucket") == name)
    flows = sum(1 for x in resources if x.type == EC2_FLOW_LOG
                and str(x.inputs.get("logDestination") or "").removeprefix("arn:aws:s3:::").split("/")[0] == name)
    if access:
        pricer.assumptions.append(f"{r.name}: {ACCESS_LOG_GB} GB of access-log records a month assumed per bucket logging to it")
    return access * ACCESS_LOG_GB + flows * FLOW_LOG_GB


def _log_storage(pricer: PlanPricer, r: PlannedResource, gb: float, price: float) -> None:
    """Logs kept until they expire (and, versioned, as old versions after): GB a month x months kept."""
    days = _days_kept(pricer, r)
    if days is None:
        pricer.unpriced(r, "S3 Standard storage (logs)", "logs kept without expiry")
        return
    kept = gb * days / DAYS_PER_MONTH
    pricer.add(r, "S3 Standard storage (logs)", kept * price,
               f"{count_text(gb)} GB/month assumed, kept {count_text(days)} days: {kept:.2f} GB x {usd(price)}/GB-month")


def _days_kept(pricer: PlanPricer, r: PlannedResource) -> float | None:
    """Days from delivery to deletion under the bucket's lifecycle rule; None if nothing expires."""
    linked = [x for x in pricer.plan.resources if r.urn in x.dependencies]
    versioned = any(x.type == S3_VERSIONING and (x.inputs.get("versioningConfiguration") or {}).get("status") == "Enabled"
                    for x in linked)
    for rule in (rule for x in linked if x.type == S3_LIFECYCLE for rule in x.inputs.get("rules") or []):
        expire = number((rule.get("expiration") or {}).get("days"))
        if rule.get("status") == "Enabled" and expire:
            noncurrent = number((rule.get("noncurrentVersionExpiration") or {}).get("noncurrentDays"), 0.0)
            return expire + (noncurrent if versioned else 0.0)
    return None


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
    EC2_FLOW_LOG: flow_log,
    S3_BUCKET: s3_bucket,
    S3_BUCKET_V2: s3_bucket,
    ECR_REPOSITORY: ecr_repository,
    KMS_KEY: kms_key,
    SERVICE: load_balancer_service,
    PERSISTENT_VOLUME_CLAIM: volume_claim,
}
# Display order: control plane, nodes, network (then the Kubernetes items, then storage).
DISPLAY_RANK = {EKS_CLUSTER: 0, EKS_NODE_GROUP: 10, EC2_NAT_GATEWAY: 20, EC2_EIP: 21, EC2_FLOW_LOG: 22}
