"""Azure pricing: one function per billed resource type, in `PRICERS` by type token.

--audit-logs bills by volume, so its items price a stated monthly volume (like the bucket's
BASELINE_GB): what a small stack's logs come to, said in each item's basis and assumptions.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from recipes.facts.azure import (
    AKS_AGENT_POOL,
    AKS_CLUSTER,
    CONTAINER_REGISTRY,
    DIAGNOSTIC_SETTING,
    FLOW_LOG,
    KEY_VAULT_KEY,
    LOG_ANALYTICS_WORKSPACE,
    NAT_GATEWAY,
    PUBLIC_IP_ADDRESS,
    STORAGE_ACCOUNT,
)
from recipes.facts.any_cloud import PERSISTENT_VOLUME_CLAIM, SERVICE

from . import kubernetes
from .model import PlanPricer, count_text, hours, monthly, number, plural, usd
from .prices import AZURE_DISK_TIERS, AZURE_STORAGE_CLASSES, BASELINE_GB, DAYS_PER_MONTH

if TYPE_CHECKING:
    from provisioner.analysis.plan import PlannedResource

LB_INTERNAL_ANNOTATION = "service.beta.kubernetes.io/azure-load-balancer-internal"
# Assumed monthly log volumes (GB) of a small stack, by what a diagnostic setting is on: AKS with the
# complete kube-audit (controllers' reads included) about 1 GB a day; the bucket's blob access logs.
LOG_GB_PER_MONTH = {"managedClusters": 30.0, "blobServices": 1.0}
LOG_SOURCES = {"managedClusters": "AKS control-plane logs", "blobServices": "blob access logs"}
FLOW_LOG_GB_PER_MONTH = 5.0  # VNet flow logs of a few nodes
INCLUDED_RETENTION_DAYS = 31  # Log Analytics keeps Analytics logs this long at no charge


def disk_tier(sku: str, size: float) -> tuple[int, str, float] | None:
    """The size tier a managed disk of `size` GiB bills as: (up to GiB, tier, $/month); None past the table."""
    return next((t for t in AZURE_DISK_TIERS.get(sku, []) if size <= t[0]), None)


def _premium_capable(vm_size: Any) -> bool:
    """Azure sizes with an `s` in the feature letters (D2s_v5, D4as_v5) take premium SSDs."""
    if not isinstance(vm_size, str):
        return False
    match = re.match(r"^Standard_[A-Z]+\d+([a-z]*)", vm_size)
    return bool(match and "s" in match.group(1))


def _managed_disks(pricer: PlanPricer, r: PlannedResource, what: str, sku: str, size: float, count: float) -> None:
    tier = disk_tier(sku, size)
    if tier is None:
        pricer.unpriced(r, what, f"a {count_text(size)} GiB {sku} disk")
        return
    cap, name, per_disk = tier
    pricer.add(r, f"{what} ({sku})", per_disk * count,
               f"{count_text(size)} GiB bills as {name} ({cap} GiB) x ${per_disk:.2f}/month x {plural(count, 'disk')}")


def aks_cluster(pricer: PlanPricer, r: PlannedResource) -> None:
    """The tier's control-plane fee, the pools it declares inline, and its outbound path."""
    tier = str((r.inputs.get("sku") or {}).get("tier") or "Free")
    price = pricer.prices.get(f"aks_{tier.lower()}")
    if price is None:
        pricer.unpriced(r, f"AKS control plane ({tier} tier)", f"the AKS {tier} tier")
    else:
        basis = hours(price.usd) if price.usd else "the Free tier has no control-plane fee"
        pricer.add(r, f"AKS control plane ({tier} tier)", monthly(price.usd), basis)
    for pool in r.inputs.get("agentPoolProfiles") or []:
        _agent_pool(pricer, r, pool)
    network = r.inputs.get("networkProfile") or {}
    outbound = network.get("outboundType") or "loadBalancer"
    if outbound == "loadBalancer" and str(network.get("loadBalancerSku") or "standard").lower() == "standard":
        lb, ip = pricer.prices["standard_lb"].usd, pricer.prices["public_ip"].usd
        pricer.lb_rules += 1  # the outbound rule
        pricer.add(r, "Standard Load Balancer (cluster outbound and LoadBalancer Services)", monthly(lb),
                   f"{hours(lb)} for the first 5 rules (data processed extra)")
        # The stack's own outbound addresses (--network-rules) are PublicIPAddress resources, priced there.
        if not (network.get("loadBalancerProfile") or {}).get("outboundIPs"):
            pricer.add(r, "outbound public IP", monthly(ip), f"{hours(ip)} x 1 address")
    elif outbound == "managedNATGateway":
        nat, ip = pricer.prices["nat_gateway"].usd, pricer.prices["public_ip"].usd
        pricer.add(r, "managed NAT gateway", monthly(nat), f"{hours(nat)} (data processing extra)")
        pricer.add(r, "NAT gateway public IP", monthly(ip), f"{hours(ip)} x 1 address")


def aks_agent_pool(pricer: PlanPricer, r: PlannedResource) -> None:
    _agent_pool(pricer, r, r.inputs)


def _agent_pool(pricer: PlanPricer, r: PlannedResource, pool: dict[str, Any]) -> None:
    label = pool.get("name") or r.name
    autoscale = bool(pool.get("enableAutoScaling"))
    count = (number(pool.get("minCount")) if autoscale else None) or number(pool.get("count")) or 1
    pricer.nodes(r, f"AKS nodes (pool {label})", pool.get("vmSize"), count, "min count" if autoscale else "count",
                 spot=str(pool.get("scaleSetPriority") or "") == "Spot")
    if str(pool.get("osDiskType") or "Managed") == "Ephemeral":
        return
    size = number(pool.get("osDiskSizeGB")) or 128  # AKS's default OS disk
    # AKS gives managed OS disks Premium SSD on sizes that take premium storage.
    sku = "Premium_LRS" if _premium_capable(pool.get("vmSize")) else "StandardSSD_LRS"
    _managed_disks(pricer, r, f"node OS disks (pool {label})", sku, size, count)


def nat_gateway(pricer: PlanPricer, r: PlannedResource) -> None:
    price = pricer.prices["nat_gateway"].usd
    pricer.add(r, "NAT gateway", monthly(price), f"{hours(price)} (data processing extra)")


def public_ip_address(pricer: PlanPricer, r: PlannedResource) -> None:
    """A Standard static IPv4 address (the cluster's own outbound address with --network-rules)."""
    ip = pricer.prices["public_ip"].usd
    pricer.add(r, "public IP (Standard, static)", monthly(ip), f"{hours(ip)} x 1 address")


def _flow_log_retention_days(pricer: PlanPricer, account: PlannedResource) -> float | None:
    """The retention of the flow logs written to `account`, when a flow log of the plan writes there."""
    name = account.inputs.get("accountName")
    for flow_log in pricer.plan.by_type(FLOW_LOG):
        if name and str(flow_log.inputs.get("storageId", "")).endswith(f"/storageAccounts/{name}"):
            policy = flow_log.inputs.get("retentionPolicy") or {}
            return number(policy.get("days")) if policy.get("enabled") else None
    return None


def storage_account(pricer: PlanPricer, r: PlannedResource) -> None:
    sku = str((r.inputs.get("sku") or {}).get("name") or "Standard_LRS")
    tier = str(r.inputs.get("accessTier") or "Hot")
    if sku != "Standard_LRS" or tier != "Hot":
        pricer.unpriced(r, f"Blob storage ({tier}, {sku})", f"Blob {tier} {sku}")
        return
    price = pricer.prices["blob_hot_lrs"].usd
    days = _flow_log_retention_days(pricer, r)
    if days is not None:  # the log account holds the flow logs of the last `days` days
        stored = FLOW_LOG_GB_PER_MONTH * days / DAYS_PER_MONTH
        pricer.add(r, "flow logs kept (Blob hot, LRS)", price * stored,
                   f"{count_text(FLOW_LOG_GB_PER_MONTH)} GB/month assumed x {count_text(days)} days kept = "
                   f"{stored:.2f} GB x {usd(price)}/GB-month")
        return
    pricer.add(r, "Blob storage (hot, LRS)", price * BASELINE_GB, f"{BASELINE_GB} GB assumed x {usd(price)}/GB-month")


def flow_log(pricer: PlanPricer, r: PlannedResource) -> None:
    """Network Watcher bills the flow logs it collects (their storage: the log account's item)."""
    price = pricer.prices["flow_logs_collected"].usd
    pricer.add(r, "VNet flow logs collected", price * FLOW_LOG_GB_PER_MONTH,
               f"{count_text(FLOW_LOG_GB_PER_MONTH)} GB/month assumed x {usd(price)}/GB (the first 5 GB a month of "
               "the subscription are free, not credited here)")


def log_analytics_workspace(pricer: PlanPricer, r: PlannedResource) -> None:
    pricer.add(r, "Log Analytics workspace", 0.0, "no fee: billed per GB ingested and retained (diagnostic settings)")


def _retention_days(pricer: PlanPricer, workspace_id: str) -> float:
    name = workspace_id.rstrip("/").rsplit("/", 1)[-1]
    for workspace in pricer.plan.by_type(LOG_ANALYTICS_WORKSPACE):
        if workspace.inputs.get("workspaceName") == name:
            return number(workspace.inputs.get("retentionInDays"), INCLUDED_RETENTION_DAYS) or INCLUDED_RETENTION_DAYS
    return INCLUDED_RETENTION_DAYS


def diagnostic_setting(pricer: PlanPricer, r: PlannedResource) -> None:
    """Logs sent to a Log Analytics workspace: ingestion per GB, and retention past the included 31 days."""
    uri, workspace = str(r.inputs.get("resourceUri", "")), r.inputs.get("workspaceId")
    kind = next((k for k in LOG_GB_PER_MONTH if f"/{k}/" in uri + "/"), None)
    if not workspace or kind is None:
        pricer.unpriced(r, "diagnostic logs", "logs of this resource or destination")
        return
    volume, source = LOG_GB_PER_MONTH[kind], LOG_SOURCES[kind]
    pricer.assumptions.append(f"{r.name}: {count_text(volume)} GB/month of {source} assumed; the real volume "
                              "follows the stack's use (see the workspace's Usage table)")
    ingest = pricer.prices["log_analytics_ingestion"].usd
    pricer.add(r, f"Log Analytics ingestion ({source})", ingest * volume,
               f"{count_text(volume)} GB/month assumed x {usd(ingest)}/GB")
    extra_days = _retention_days(pricer, str(workspace)) - INCLUDED_RETENTION_DAYS
    if extra_days > 0:
        retain = pricer.prices["log_analytics_retention"].usd
        stored = volume * extra_days / DAYS_PER_MONTH
        pricer.add(r, f"Log Analytics retention ({source})", retain * stored,
                   f"{count_text(volume)} GB/month kept {count_text(extra_days)} days past the 31 included = "
                   f"{stored:.2f} GB x {usd(retain)}/GB-month")


def container_registry(pricer: PlanPricer, r: PlannedResource) -> None:
    sku = str((r.inputs.get("sku") or {}).get("name") or "Basic")
    price = pricer.prices.get(f"acr_{sku.lower()}")
    if price is None:
        pricer.unpriced(r, f"Container Registry ({sku})", f"ACR {sku}")
        return
    why = " (IP rules need Premium)" if sku == "Premium" and r.inputs.get("networkRuleSet") else ""
    pricer.add(r, f"Container Registry ({sku}){why}", price.usd * DAYS_PER_MONTH,
               f"{DAYS_PER_MONTH:.2f} days x {usd(price.usd)}/day (storage included covers the {BASELINE_GB} GB assumed)")


def key_vault_key(pricer: PlanPricer, r: PlannedResource) -> None:
    pricer.add(r, "Key Vault key (software-protected)", 0.0, "no monthly fee: billed per operation")


def load_balancer_service(pricer: PlanPricer, r: PlannedResource) -> None:
    """Rules on the cluster's Standard Load Balancer (beyond its first 5 they bill), and a public IP unless internal."""
    if not kubernetes.is_load_balancer(r):
        return
    _, extra = kubernetes.added_rules(pricer, r)
    ip = pricer.prices["public_ip"].usd
    rule = pricer.prices["standard_lb_extra_rule"].usd
    internal = str(kubernetes.annotations(r).get(LB_INTERNAL_ANNOTATION, "")).lower() == "true"
    hourly = (0.0 if internal else ip) + extra * rule
    basis = f"{plural(kubernetes.ports(r), 'rule')} on the cluster's Standard Load Balancer"
    basis += f" ({extra} beyond the first 5 x {usd(rule)}/h)" if extra else " (within its first 5)"
    if not internal:
        basis += f"; {hours(ip)} for its public IP"
    pricer.add(r, "load balancer rules and public IP", monthly(hourly), basis)


def volume_claim(pricer: PlanPricer, r: PlannedResource) -> None:
    """AKS's storage classes provision managed disks, billed by size tier."""
    claim = kubernetes.claimed_volume(pricer, r)
    if claim is not None:
        sku = AZURE_STORAGE_CLASSES.get(claim.storage_class or "default", "StandardSSD_LRS")
        _managed_disks(pricer, r, "persistent volume", sku, claim.gib, 1)


PRICERS = {
    AKS_CLUSTER: aks_cluster,
    AKS_AGENT_POOL: aks_agent_pool,
    NAT_GATEWAY: nat_gateway,
    STORAGE_ACCOUNT: storage_account,
    CONTAINER_REGISTRY: container_registry,
    KEY_VAULT_KEY: key_vault_key,
    PUBLIC_IP_ADDRESS: public_ip_address,
    FLOW_LOG: flow_log,
    LOG_ANALYTICS_WORKSPACE: log_analytics_workspace,
    DIAGNOSTIC_SETTING: diagnostic_setting,
    SERVICE: load_balancer_service,
    PERSISTENT_VOLUME_CLAIM: volume_claim,
}
# Display order: control plane, nodes, network (then the Kubernetes items, then storage).
DISPLAY_RANK = {AKS_CLUSTER: 0, AKS_AGENT_POOL: 10, NAT_GATEWAY: 20, PUBLIC_IP_ADDRESS: 20}
