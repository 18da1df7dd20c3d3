"""GCP pricing: one function per billed resource type, in `PRICERS` by type token."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from recipes.facts.gcp import (
    ARTIFACT_REGISTRY,
    COMPUTE_ADDRESS,
    COMPUTE_SUBNETWORK,
    GCS_BUCKET,
    GKE_CLUSTER,
    GKE_NODE_POOL,
    KMS_CRYPTO_KEY,
    ROUTER_NAT,
)
from recipes.facts.any_cloud import PERSISTENT_VOLUME_CLAIM, SERVICE

from . import kubernetes
from .model import PlanPricer, count_text, hours, monthly, number, plural, usd
from .prices import BASELINE_GB, GCP_REGIONAL_ZONES, GCP_STORAGE_CLASSES, HOURS_PER_MONTH

if TYPE_CHECKING:
    from provisioner.analysis.plan import PlannedResource

ZONE_RE = re.compile(r"^[a-z]+-[a-z]+\d+-[a-z]$")  # us-central1-b; a region has no zone letter
# --audit-logs bills by log volume, which follows traffic: these are the volumes assumed, stated in
# every item's basis. Flow logs: a flow record (~1 KiB with metadata) per active connection per 5 s
# window, ~20 connections per node (kubelet, system pods, the workloads): ~10 GiB per VM a month
# at full sampling, times the subnet's sampling rate.
FLOW_LOG_GIB_PER_VM = 10
# The API server's, scheduler's and controller manager's own logs of one small cluster, a month.
CONTROL_PLANE_LOG_GIB = 5
CONTROL_PLANE_LOGS = ("APISERVER", "CONTROLLER_MANAGER", "SCHEDULER")
# Usage logs (hourly CSV) and storage logs (daily) of one bucket, kept a year.
ACCESS_LOG_GB = 1


def gke_cluster(pricer: PlanPricer, r: PlannedResource) -> None:
    """The management fee (the free tier covers one zonal cluster), and the default pool if it is kept."""
    location = str(r.inputs.get("location") or "")
    zonal = bool(ZONE_RE.match(location))
    autopilot = bool(r.inputs.get("enableAutopilot"))
    price = pricer.prices["gke_management"].usd
    fee = monthly(price)
    kind = "Autopilot" if autopilot else ("zonal" if zonal else "regional")
    if (zonal or autopilot) and not pricer.free_credit_used:
        pricer.free_credit_used = True
        credit = pricer.prices["gke_free_credit"].usd
        pricer.add(r, f"GKE cluster management fee ({kind}, {location})", 0.0,
                   f"{hours(price)} = ${fee:.2f}, covered by the GKE free tier credit "
                   f"(${credit:.2f}/month per billing account, one zonal or Autopilot cluster)")
        pricer.assumptions.append(
            f"{r.name}: the GKE free tier credit is unused in this billing account; "
            f"if another zonal cluster already uses it, add ${fee:.2f}/month")
    else:
        why = "regional clusters are not covered by the free tier" if not (zonal or autopilot) \
            else "the free tier credit covers one cluster per billing account"
        pricer.add(r, f"GKE cluster management fee ({kind}, {location})", fee, f"{hours(price)} ({why})")
    _control_plane_logs(pricer, r)
    if not autopilot and not r.inputs.get("removeDefaultNodePool"):
        node_config = r.inputs.get("nodeConfig") or {}
        per_zone = number(r.inputs.get("initialNodeCount"), 3) or 3
        zones = _zones(r.inputs.get("nodeLocations"), location)
        count = per_zone * zones
        pricer.node_count += count
        pricer.nodes(r, "GKE default node pool", node_config.get("machineType") or "e2-medium", count,
                     f"{count_text(per_zone)} per zone x {plural(zones, 'zone')}")


def _control_plane_logs(pricer: PlanPricer, r: PlannedResource) -> None:
    """--audit-logs: the control plane's own logs, ingested into Cloud Logging at an assumed volume."""
    components = (r.inputs.get("loggingConfig") or {}).get("enableComponents") or []
    logged = [c for c in CONTROL_PLANE_LOGS if c in components]
    if not logged:
        return
    price, free = pricer.prices["logging_ingestion"].usd, pricer.prices["logging_free_gib"].usd
    pricer.add(r, "GKE control-plane logs (Cloud Logging)", price * CONTROL_PLANE_LOG_GIB,
               f"{CONTROL_PLANE_LOG_GIB} GiB/month assumed ({', '.join(logged)}) x {usd(price)}/GiB ingested")
    pricer.assumptions.append(
        f"{r.name}: control-plane logs are priced at {CONTROL_PLANE_LOG_GIB} GiB a month, all billed; the project's first "
        f"{free:g} GiB of Cloud Logging each month are free, so while all its logs stay under that they cost nothing")


def _zones(node_locations: Any, location: str) -> int:
    if isinstance(node_locations, list) and node_locations:
        return len(node_locations)
    return 1 if ZONE_RE.match(location) else GCP_REGIONAL_ZONES


def gke_node_pool(pricer: PlanPricer, r: PlannedResource) -> None:
    config = r.inputs.get("nodeConfig") or {}
    autoscaling = r.inputs.get("autoscaling") or {}
    location = str(r.inputs.get("location") or "")
    zones = _zones(r.inputs.get("nodeLocations"), location)
    if number(autoscaling.get("totalMinNodeCount")) is not None:
        count = number(autoscaling["totalMinNodeCount"]) or 0
        note = "total min node count"
    else:
        per_zone = (number(autoscaling.get("minNodeCount")) or number(r.inputs.get("nodeCount"))
                    or number(r.inputs.get("initialNodeCount")) or 1)
        count = per_zone * zones
        source = "min node count" if number(autoscaling.get("minNodeCount")) else "node count"
        note = f"{source} {count_text(per_zone)} per zone x {plural(zones, 'zone')}"
    pricer.node_count += count
    pricer.nodes(r, "GKE nodes", config.get("machineType") or "e2-medium", count, note,
                 spot=bool(config.get("spot") or config.get("preemptible")))
    if not _private_nodes(pricer, r):
        ip = pricer.prices["external_ip"].usd
        pricer.add(r, "node external IPs (public nodes)", monthly(ip, count), f"{hours(ip)} x {plural(count, 'address')}")
    disk_type = config.get("diskType") or "pd-balanced"
    size = number(config.get("diskSizeGb")) or 100  # GKE's default boot disk
    price = pricer.prices.get(disk_type)
    if price is None:
        pricer.unpriced(r, "node boot disks", f"{disk_type} disks")
        return
    pricer.add(r, f"node boot disks ({disk_type})", price.usd * size * count,
               f"{count_text(size)} GB x {usd(price.usd)}/GB-month x {plural(count, 'node')}")


def _private_nodes(pricer: PlanPricer, pool: PlannedResource) -> bool:
    if (pool.inputs.get("networkConfig") or {}).get("enablePrivateNodes"):
        return True
    clusters = [c for c in pricer.plan.resources if c.type == GKE_CLUSTER]
    cluster = next((c for c in clusters if c.inputs.get("name") == pool.inputs.get("cluster")), None)
    cluster = cluster or (clusters[0] if len(clusters) == 1 else None)
    return bool(cluster and (cluster.inputs.get("privateClusterConfig") or {}).get("enablePrivateNodes"))


def cloud_nat(pricer: PlanPricer, r: PlannedResource) -> None:
    """Billed per VM behind it (so priced after the node pools, see PRICING_PASS), capped."""
    per_vm, cap = pricer.prices["nat_per_vm"].usd, pricer.prices["nat_max"].usd
    vms = max(pricer.node_count, 1)
    hourly = min(per_vm * vms, cap)
    pricer.add(r, "Cloud NAT gateway", monthly(hourly),
               f"{HOURS_PER_MONTH} h x {usd(per_vm)}/h per VM x {plural(vms, 'VM')} (capped at {usd(cap)}/h; "
               "data processing extra)")
    if r.inputs.get("natIpAllocateOption", "AUTO_ONLY") == "AUTO_ONLY":
        ip = pricer.prices["external_ip"].usd
        pricer.add(r, "Cloud NAT external IP (auto-allocated)", monthly(ip), f"{hours(ip)} x 1 address")
    # MANUAL_ONLY: the reserved addresses it uses are priced as COMPUTE_ADDRESS.


def reserved_address(pricer: PlanPricer, r: PlannedResource) -> None:
    """A reserved external address costs what an ephemeral one does while a NAT uses it."""
    if r.inputs.get("addressType", "EXTERNAL") != "EXTERNAL":
        return  # internal addresses are free
    nat_ips = {ip for n in pricer.plan.by_type(ROUTER_NAT) for ip in n.inputs.get("natIps") or []}
    if r.outputs.get("selfLink") not in nat_ips:
        pricer.unpriced(r, "reserved external IP (unused)", "an external IP no Cloud NAT uses")
        return
    ip = pricer.prices["external_ip"].usd
    pricer.add(r, "Cloud NAT external IP (reserved)", monthly(ip), f"{hours(ip)} x 1 address")


def subnetwork(pricer: PlanPricer, r: PlannedResource) -> None:
    """A subnet is free; its flow logs (L1) are Cloud Logging's vended network logs, by volume: priced
    per VM behind it (after the node pools, see PRICING_PASS) at an assumed volume."""
    config = r.inputs.get("logConfig")
    if not config:
        pricer.add(r, "VPC subnet (flow logs off: --audit-logs)", 0.0, "subnets are free")
        return
    price = pricer.prices["vended_network_logs"].usd
    sampling = number(config.get("flowSampling"), 0.5)
    vms = max(pricer.node_count, 1)
    gib = FLOW_LOG_GIB_PER_VM * sampling * vms
    pricer.add(r, "VPC flow logs (Cloud Logging)", price * gib,
               f"{FLOW_LOG_GIB_PER_VM} GiB per VM assumed at full sampling x {sampling:g} sampling x "
               f"{plural(vms, 'VM')} = {gib:g} GiB x {usd(price)}/GiB")
    pricer.assumptions.append(
        f"{r.name}: flow logs grow with connections (intranode visibility adds pod-to-pod traffic on one node): "
        f"priced at {FLOW_LOG_GIB_PER_VM} GiB per VM a month at full sampling")


def gcs_bucket(pricer: PlanPricer, r: PlannedResource) -> None:
    storage_class = str(r.inputs.get("storageClass") or "STANDARD").upper()
    if storage_class != "STANDARD":
        pricer.unpriced(r, f"GCS {storage_class} storage", f"GCS {storage_class}")
        return
    price = pricer.prices["gcs_standard"].usd
    log_buckets = {(b.inputs.get("logging") or {}).get("logBucket") for b in pricer.plan.by_type(GCS_BUCKET)}
    if r.inputs.get("name") in log_buckets:
        pricer.add(r, "GCS Standard storage (access logs)", price * ACCESS_LOG_GB,
                   f"{ACCESS_LOG_GB} GB of logs assumed x {usd(price)}/GB-month (log objects' writes extra, cents)")
        return
    pricer.add(r, "GCS Standard storage", price * BASELINE_GB, f"{BASELINE_GB} GB assumed x {usd(price)}/GB-month")


def artifact_registry(pricer: PlanPricer, r: PlannedResource) -> None:
    price, free = pricer.prices["artifact_registry"].usd, pricer.prices["artifact_registry_free_gb"].usd
    billed = max(BASELINE_GB - free, 0)
    pricer.add(r, "Artifact Registry storage", price * billed,
               f"({BASELINE_GB} GB assumed - {free:g} GB free) x {usd(price)}/GB-month")


def kms_crypto_key(pricer: PlanPricer, r: PlannedResource) -> None:
    price = pricer.prices["kms_key_version"].usd
    pricer.add(r, "Cloud KMS key (one active version)", price,
               f"1 key version x {usd(price)}/month (each rotation adds a version; operations extra)")


def load_balancer_service(pricer: PlanPricer, r: PlannedResource) -> None:
    """One forwarding rule per port: the region's first 5 bill together, each beyond 5 on its own."""
    if not kubernetes.is_load_balancer(r):
        return
    before, extra = kubernetes.added_rules(pricer, r)
    first5, each = pricer.prices["forwarding_rules_first5"].usd, pricer.prices["forwarding_rule_extra"].usd
    hourly = (first5 if before == 0 else 0.0) + extra * each
    parts = [f"{usd(first5)}/h for the region's first 5 forwarding rules"] if before == 0 else []
    if extra:
        parts.append(f"{extra} rule(s) beyond 5 x {usd(each)}/h")
    basis = (f"{HOURS_PER_MONTH} h x (" + " + ".join(parts) + ")") if parts \
        else "within the region's first 5 forwarding rules (charged on the first load balancer)"
    pricer.add(r, f"load balancer forwarding rule ({plural(kubernetes.ports(r), 'rule')})", monthly(hourly), basis)


def volume_claim(pricer: PlanPricer, r: PlannedResource) -> None:
    """GKE's storage classes provision persistent disks (standard-rwo: pd-balanced)."""
    claim = kubernetes.claimed_volume(pricer, r)
    if claim is not None:
        disk = GCP_STORAGE_CLASSES.get(claim.storage_class or "standard-rwo", "pd-balanced")
        kubernetes.price_per_gb(pricer, r, claim, disk)


PRICERS = {
    GKE_CLUSTER: gke_cluster,
    GKE_NODE_POOL: gke_node_pool,
    ROUTER_NAT: cloud_nat,
    COMPUTE_ADDRESS: reserved_address,
    COMPUTE_SUBNETWORK: subnetwork,
    GCS_BUCKET: gcs_bucket,
    ARTIFACT_REGISTRY: artifact_registry,
    KMS_CRYPTO_KEY: kms_crypto_key,
    SERVICE: load_balancer_service,
    PERSISTENT_VOLUME_CLAIM: volume_claim,
}
# Node pools first and Cloud NAT last: Cloud NAT is billed per VM behind it (other types: pass 1).
PRICING_PASS = {GKE_NODE_POOL: 0, ROUTER_NAT: 2}
# Display order: control plane, nodes, network (then the Kubernetes items, then storage).
DISPLAY_RANK = {GKE_CLUSTER: 0, GKE_NODE_POOL: 10, ROUTER_NAT: 20, COMPUTE_ADDRESS: 21, COMPUTE_SUBNETWORK: 22}
