"""Every cloud resource of a stack goes through the stack's provider (its region, its default
tags or labels, no credential of its own), and every Kubernetes object carries the stack's label
and goes through the cluster's provider.

Each cloud's own tagging rules (AWS default tags and launch templates, GCP labels, Azure tags
on each resource) are in tests/recipes/<cloud>/.
"""

from __future__ import annotations

import pytest

from provisioner.analysis.critical_path import provider_urn
from recipes.facts import any_cloud as k8s_facts

from tests.recipes.plans import CLOUD_PREFIX, PROVIDERS, STACK_PROVIDER, STORAGE_ONLY, program_spec

PROVIDER_VARIANTS = {
    "aws": [{}, STORAGE_ONLY, {"network": "public"}],
    "gcp": [{}, STORAGE_ONLY, {"network": "public"}, {"regional": True}],
    "azure": [{}, STORAGE_ONLY, {"deployer": "kserve"}],
}
# What the stack's provider is configured with; its credentials come from the environment at deploy time.
PROVIDER_SETTINGS = {
    "aws": {"region": "eu-west-1"},
    "gcp": {"project": "demo-project", "region": "us-central1"},
    "azure": {"location": "westeurope"},
}
CREDENTIAL_INPUTS = {"accessKey", "secretKey", "token", "credentials", "accessToken", "subscriptionId", "clientId",
                     "clientSecret", "tenantId"}
LABEL_VARIANTS = [*((p, {}) for p in PROVIDERS), ("aws", {"deployer": "kserve"})]


@pytest.mark.parametrize("provider,variant", [(p, v) for p in PROVIDERS for v in PROVIDER_VARIANTS[p]])
def test_every_cloud_resource_uses_the_stack_provider(plans, provider, variant):
    plan = plans(program_spec(provider, **variant))
    provider_type, provider_name = STACK_PROVIDER[provider]
    (stack_provider,) = plan.by_type(provider_type)
    assert stack_provider.name == provider_name
    assert PROVIDER_SETTINGS[provider].items() <= stack_provider.inputs.items()
    assert not CREDENTIAL_INPUTS & set(stack_provider.inputs)
    resources = plan.custom(CLOUD_PREFIX[provider])
    assert resources
    for r in resources:
        assert r.provider is not None, r.name
        assert provider_urn(r.provider) == stack_provider.urn, r.name
    # Nothing in the program sets its own project: the provider's is the only one.
    assert {r.inputs["project"] for r in resources if "project" in r.inputs} <= {"demo-project"}


@pytest.mark.parametrize("provider,variant", LABEL_VARIANTS)
def test_kubernetes_objects_carry_the_stack_label(plans, provider, variant):
    plan = plans(program_spec(provider, **variant))
    objects = [r for r in plan.custom("kubernetes:") if "metadata" in r.inputs]
    assert len(objects) > 15
    for r in objects:
        labels = r.inputs["metadata"].get("labels") or {}
        assert labels.get("recipe-stack") == "ml-dev", f"{r.type} {r.name}"
    # Deployments' pods carry it too.
    for r in plan.by_type(k8s_facts.DEPLOYMENT):
        assert r.inputs["spec"]["template"]["metadata"]["labels"]["recipe-stack"] == "ml-dev", r.name


@pytest.mark.parametrize("provider", PROVIDERS)
def test_kubernetes_objects_use_the_cluster_provider(plans, provider):
    plan = plans(program_spec(provider))
    (k8s_provider,) = plan.by_type(k8s_facts.KUBERNETES_PROVIDER)
    for r in plan.custom("kubernetes:"):
        assert provider_urn(r.provider) == k8s_provider.urn, r.name
    assert "kubeconfig" in k8s_provider.secret_inputs
