"""Refusals: changes a deploy would start but could never finish, or would finish by losing data.

Each runs before anything is recorded or created, so a refused deploy leaves no trace:
never a half-created stack, never a registry or bucket replaced by surprise.
"""

from __future__ import annotations

from recipes import facts
from recipes.spec import SpecError, StackSpec

from provisioner.stacks.records import StackRecords


def refuse_unreachable_first_deploy(spec: StackSpec, records: StackRecords) -> None:
    """--private-endpoint on EKS/AKS when the stack has no cluster yet: the deploy that creates the
    network would then have to reach the API server through it, from outside, which never works.
    Refused before anything is recorded or created: never a half-created stack."""
    inside_only = facts.of(spec.provider).PRIVATE_API_ONLY_FROM_NETWORK
    if not spec.private_endpoint or inside_only is None or not spec.has("cluster"):
        return
    record = records.find(spec.name)
    if record is not None and record.status != "destroyed" and "cluster" in record.outputs:
        return  # a cluster that exists: the deploy runs from inside its network
    service, network = inside_only
    raise SpecError(
        f"--private-endpoint: an {service} API server that only the stack's own {network} reaches cannot be "
        f"reached by the deploy that creates that {network}. Deploy without it first, restricted to your address "
        f"(--allow-cidr YOUR.IP/32), connect a machine to the stack's {network} (VPN, peering, bastion), and "
        "redeploy with --private-endpoint from there"
    )


def refuse_data_replacing_changes(spec: StackSpec, records: StackRecords) -> None:
    """Changes the clouds can only make by replacing a data resource, refused before anything runs.

    A container registry's encryption is fixed when it is created (ECR, Artifact Registry, ACR):
    turning --kms on or off for a stack whose registry exists (also one kept by a destroy)
    would delete the registry, with every image in it, and create another."""
    record = records.find(spec.name)
    if record is None or record.source != "deploy":
        return
    gone = record.status == "destroyed" and not record.retained
    # Data components are protected: an update that drops one would fail on it half-way.
    held = {"bucket": "bucket, with every artifact and run-history backup", "registry": "container registry, with every image"}
    dropped = [c for c in ("bucket", "registry") if c in (record.spec or {}).get("components", []) and not spec.has(c)]
    if dropped and not gone:
        what = " and its ".join(held[c] for c in dropped)
        raise SpecError(
            f"--without {' --without '.join(dropped)} would remove {spec.name}'s {what}, which are kept until you "
            f"delete them: deploy with them, or delete the stack's data with `recipe destroy {spec.name} --delete-data`"
        )
    if not spec.has("registry"):
        return
    before = bool((record.spec or {}).get("kms", False))
    if not gone and before != spec.kms and "registry" in (record.spec or {}).get("components", ["registry"]):
        now, was = ("on", "off") if spec.kms else ("off", "on")
        raise SpecError(
            f"--kms is {was} for {spec.name}, and its container registry's encryption is fixed when the registry is "
            f"created: turning it {now} would replace the registry and delete every image in it. Keep "
            f"{'--kms' if before else '--no-kms'}, or deploy the change as a new stack (another --name)"
        )


def refuse_second_region_wide_registry(spec: StackSpec, records: StackRecords) -> None:
    """A second stack with a registry where another one already holds that name would fail
    half-way on "already exists": refused before anything runs, with the ways out."""
    what = facts.of(spec.provider).REGION_WIDE_REGISTRY
    if what is None or not spec.has("registry"):
        return
    known, _ = records.all()
    for other in known:
        if (other.name == spec.name or other.provider != spec.provider or other.region != spec.region
                or other.source != "deploy" or "registry" not in (other.spec or {}).get("components", [])):
            continue
        if other.status == "destroyed" and not any(r.get("primary") and r.get("name") == "registry" for r in other.retained or []):
            continue
        raise SpecError(
            f"{other.name} already holds the {what} in {spec.region}, the one ZenML pushes every image to: deploy "
            f"{spec.name} with --without registry (its pipelines can push to {other.name}'s), or in another region"
        )


def refuse_dropping_kept_logs(spec: StackSpec, records: StackRecords) -> None:
    """--no-audit-logs on a stack whose audit logs exist: their store (log bucket, Log Analytics workspace,
    flow-log account) is kept like the data, so the update would fail on it half-way. Azure's --no-network-rules
    likewise: the registry cannot leave Premium while its network rules exist."""
    record = records.find(spec.name)
    if record is None or record.source != "deploy" or (record.status == "destroyed" and not record.retained):
        return
    before = record.spec or {}
    if before.get("audit_logs") and not spec.audit_logs:
        raise SpecError(
            f"{spec.name} keeps audit logs (flow, access and control-plane logs), which are kept like its data: "
            f"turning --audit-logs off would have to delete them. Keep --audit-logs, or delete the stack's data "
            f"with `recipe destroy {spec.name} --delete-data`"
        )
    if before.get("network_rules") and not spec.network_rules and spec.has("registry"):
        raise SpecError(
            f"{spec.name}'s registry has network rules, which need its Premium tier: Azure refuses to move it "
            "back while they exist. Keep --network-rules, or deploy the change as a new stack (another --name)"
        )
