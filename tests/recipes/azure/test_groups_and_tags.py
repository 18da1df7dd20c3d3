"""Resource groups (the data group survives a destroy, D1), regions and Azure's tags."""

from __future__ import annotations

import pytest

from recipes.facts import azure as facts

from tests.recipes.azure.helpers import AZURE_PROVIDER, azure, taggable
from tests.recipes.plans import ALLOW_CIDRS, USER_TAGS


def test_two_resource_groups_named_from_the_spec(plan, spec):
    groups = {g.name: g for g in plan.by_type(facts.RESOURCE_GROUP)}
    assert set(groups) == {"group", "data-group"}
    assert groups["group"].inputs["resourceGroupName"] == spec.names.resource_group() == "rg-ml-dev-" + spec.names.suffix
    assert groups["data-group"].inputs["resourceGroupName"] == spec.names.resource_group("data")
    for group in groups.values():
        assert group.inputs["location"] == "westeurope"


MAIN_GROUP_TYPES = {
    facts.VIRTUAL_NETWORK, facts.SUBNET, facts.AKS_CLUSTER, facts.USER_ASSIGNED_IDENTITY, facts.FEDERATED_IDENTITY_CREDENTIAL,
}


DATA_GROUP_TYPES = {
    facts.STORAGE_ACCOUNT, facts.BLOB_SERVICE_PROPERTIES, facts.STORAGE_MANAGEMENT_POLICY, facts.BLOB_CONTAINER, facts.CONTAINER_REGISTRY,
}


def test_each_resource_lives_in_its_group(plan, spec):
    main, data = plan.one(facts.RESOURCE_GROUP, "group"), plan.one(facts.RESOURCE_GROUP, "data-group")
    placed = [r for r in plan.custom("azure-native:") if "resourceGroupName" in r.inputs and r.type != facts.RESOURCE_GROUP]
    assert {r.type for r in placed} == MAIN_GROUP_TYPES | DATA_GROUP_TYPES
    for r in placed:
        group = main if r.type in MAIN_GROUP_TYPES else data
        assert r.inputs["resourceGroupName"] == group.inputs["resourceGroupName"], r.name
        # The group name is the group's output: created after it, destroyed before it.
        assert group.urn in plan.deps_closure(r), r.name
        other = data if group is main else main
        assert other.urn not in plan.deps_closure(r), r.name
    # In main: 3 identities, 2 federated credentials, the VNet, its subnet and the cluster.
    assert len([r for r in placed if r.type in MAIN_GROUP_TYPES]) == 3 + 2 + 1 + 1 + 1
    assert len(plan.by_type(facts.USER_ASSIGNED_IDENTITY)) == 3  # control plane, mlflow, pipelines


def test_every_located_resource_is_in_the_stack_region(plan):
    located = [r for r in plan.custom("azure-native:") if "location" in r.inputs]
    assert {r.type for r in located} == {
        facts.RESOURCE_GROUP, facts.VIRTUAL_NETWORK, facts.AKS_CLUSTER, facts.USER_ASSIGNED_IDENTITY, facts.STORAGE_ACCOUNT,
        facts.CONTAINER_REGISTRY,
    }
    assert {r.inputs["location"] for r in located} == {"westeurope"}
    assert plan.one(AZURE_PROVIDER, "azure").inputs["location"] == "westeurope"


# ---------------------------------------------------------------------------
# Tags


@pytest.mark.parametrize("variant", [{}, {"without": ["cluster", "tracker", "deployer"]}, {"profile": "prod"}],
                         ids=["dev", "storage-only", "prod"])
def test_every_taggable_resource_carries_the_stack_tags(plans, variant):
    plan = azure(plans, allow_cidrs=ALLOW_CIDRS, tags=USER_TAGS, **variant)
    tagged = [r for r in plan.custom("azure-native:") if taggable(r.type)]
    assert {r.type for r in tagged} >= {facts.RESOURCE_GROUP, facts.STORAGE_ACCOUNT, facts.CONTAINER_REGISTRY}
    expected = {"recipe-stack": "ml-dev", "managed-by": "stack-recipes", **USER_TAGS}
    for r in tagged:
        assert r.inputs.get("tags") == expected, f"{r.type} {r.name}"
    # The SDK knows which types take no tags; the check above must not be vacuous for them.
    assert not taggable(facts.ROLE_ASSIGNMENT) and not taggable(facts.SUBNET) and taggable(facts.AKS_CLUSTER)


def test_node_pool_scale_set_is_tagged_too(restricted):
    (pool,) = restricted.one(facts.AKS_CLUSTER).inputs["agentPoolProfiles"]
    assert pool["tags"]["recipe-stack"] == "ml-dev"
    assert USER_TAGS.items() <= pool["tags"].items()
    assert pool["nodeLabels"] == {"recipe-stack": "ml-dev"}


def test_tags_follow_azure_rules(restricted):
    for r in restricted.custom("azure-native:"):
        tags = r.inputs.get("tags") or {}
        assert len(tags) <= 50, r.name
        for key, value in tags.items():
            assert 1 <= len(key) <= 512 and len(str(value)) <= 256, (r.name, key)
            assert not set(key) & set('<>%&\\?/'), (r.name, key)
