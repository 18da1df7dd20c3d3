"""README's first-deploy checklist: the vCPU quota it asks for is what each profile's
planned node pools may really reach.

The figures are derived here from the plan's own inputs (node type, autoscaler maximum,
zones, upgrade surge) and each cloud's documented rules, so a profile or pool change that
the checklist does not follow fails here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from recipes.spec import Layer, load_spec

README = Path(__file__).resolve().parent.parent / "README.md"

# vCPUs per node type of the profiles (AWS, GCP and Azure instance type documentation).
VCPUS = {"t3.large": 2, "m6i.xlarge": 4, "e2-standard-2": 2, "e2-standard-4": 4, "Standard_D2s_v5": 2, "Standard_D4s_v5": 4}
FLAGS: dict[str, dict[str, Any]] = {
    "aws": {"provider": "aws", "region": "us-east-1", "name": "ml-dev"},
    "gcp": {"provider": "gcp", "region": "us-central1", "project": "demo-project", "name": "ml-dev"},
    "azure": {"provider": "azure", "region": "westeurope", "name": "ml-dev"},
}
HEADINGS = {"aws": "**AWS**", "gcp": "**GCP**", "azure": "**Azure**"}


def one(plan, type_: str):
    [resource] = [r for r in plan.resources if r.type == type_]
    return resource.inputs


def peak_vcpus(provider: str, plan) -> int:
    """The vCPUs a stack's nodes may reach: the autoscaler's maximum plus an upgrade's surge."""
    if provider == "aws":
        group = one(plan, "aws:eks/nodeGroup:NodeGroup")
        zones = len(group["subnetIds"])
        # EKS raises the group's size during an update by the larger of twice its number of
        # zones and maxUnavailable ("Managed node update behavior").
        nodes = group["scalingConfig"]["maxSize"] + max(2 * zones, group["updateConfig"]["maxUnavailable"])
        node_type = group["instanceTypes"][0]
    elif provider == "gcp":
        pool = one(plan, "gcp:container/nodePool:NodePool")
        # A regional pool (location: the region) has its counts and its surge in each of 3 zones.
        zones = 3 if pool["location"].count("-") == 1 else 1
        nodes = zones * (pool["autoscaling"]["maxNodeCount"] + pool["upgradeSettings"]["maxSurge"])
        node_type = pool["nodeConfig"]["machineType"]
    else:
        [pool] = one(plan, "azure-native:containerservice:ManagedCluster")["agentPoolProfiles"]
        nodes = pool["maxCount"] + int(pool["upgradeSettings"]["maxSurge"])
        node_type = pool["vmSize"]
    return nodes * VCPUS[node_type]


def checklist(provider: str) -> str:
    text = README.read_text()
    section = text.split("## First deploy: a checklist per cloud", 1)[1].split("\n## ", 1)[0]
    block = section.split(HEADINGS[provider], 1)[1]
    return re.split(r"\n\*\*[A-Za-z]+\*\*\n|\n### ", block, maxsplit=1)[0]


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure"])
def test_checklist_quota_is_what_the_profiles_may_reach(plans, provider):
    quota = next(line for line in checklist(provider).split("\n- [ ] ") if line.startswith("Quotas"))
    claimed = [int(n) for n in re.findall(r"(\d+) vCPUs of", " ".join(quota.split()))]
    needed = [peak_vcpus(provider, plans(load_spec(Layer("flags", {**FLAGS[provider], "profile": p}))))
              for p in ("dev", "prod")]
    assert claimed == needed, f"{provider}: README asks for {claimed} vCPUs (dev, prod); the plans reach {needed}"
