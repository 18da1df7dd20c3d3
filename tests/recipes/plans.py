"""What the program tests share: each cloud's stack as they plan it, and graph helpers.

The per-cloud expectations of the cross-cloud tests (test_components, test_data_retention,
test_tags, test_secrets) are data here and in those modules, so one test body states a
behaviour once for every cloud.
"""

from __future__ import annotations

from typing import Any

import yaml

from recipes.spec import StackSpec

from recipes.facts import any_cloud as k8s_facts

from tests.conftest import spec_for

PROVIDERS = ("aws", "gcp", "azure")
# The regions the program tests plan in (spec_for alone gives each cloud's default region).
PROGRAM_REGION = {"aws": "eu-west-1", "gcp": "us-central1", "azure": "westeurope"}
# Each cloud's Pulumi provider resource: (type, name).
STACK_PROVIDER = {
    "aws": ("pulumi:providers:aws", "aws"),
    "gcp": ("pulumi:providers:gcp", "gcp"),
    "azure": ("pulumi:providers:azure-native", "azure"),
}
# The type prefix of the resources each cloud's provider creates.
CLOUD_PREFIX = {"aws": "aws:", "gcp": "gcp:", "azure": "azure-native:"}
ALLOW_CIDRS = ["203.0.113.0/24", "198.51.100.7/32"]
USER_TAGS = {"team": "ml-platform", "cost-center": "4242"}
STORAGE_ONLY = {"without": ["cluster", "tracker", "deployer"]}

SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
GATEWAY = "kubernetes:networking.istio.io/v1beta1:Gateway"
VIRTUAL_SERVICE = "kubernetes:networking.istio.io/v1beta1:VirtualService"

# The tracker's route through the stack's front door.
TRACKER_FRONT_DOOR = {(k8s_facts.SERVICE, "tracker-svc"), (GATEWAY, "tracker-gateway"), (VIRTUAL_SERVICE, "tracker-route")}


def program_spec(provider: str, **values: Any) -> StackSpec:
    """A cloud's default stack in the program tests' region, with `values` as flags."""
    return spec_for(provider, **{"region": PROGRAM_REGION[provider], **values})


def component(provider: str, kind: str) -> str:
    """The type of one of a cloud recipe's components (`component("gcp", "Bucket")`)."""
    return f"recipes:{provider}:{kind}"


def removed_and_added(default, plan) -> tuple[set, set]:
    """The (type, name) keys a variant drops from the default plan, and those it adds, NetworkPolicies
    aside: those follow the namespaces (`segmentation_follows`), see tests/recipes/kubernetes/test_segmentation.py."""
    removed, added = default.keys() - plan.keys(), plan.keys() - default.keys()
    segmentation_follows(default, plan, removed, added)
    policy = k8s_facts.NETWORK_POLICY
    return {k for k in removed if k[0] != policy}, {k for k in added if k[0] != policy}


def _policy_namespaces(resource) -> set[str]:
    """The namespace a NetworkPolicy is in and every namespace its peers select by name."""
    names = {resource.inputs["metadata"]["namespace"]}
    spec = resource.inputs["spec"]
    for rule in [*spec.get("ingress", []), *spec.get("egress", [])]:
        for peer in [*rule.get("from", []), *rule.get("to", [])]:
            label = (peer.get("namespaceSelector") or {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
            if label:
                names.add(label)
    return names


def segmentation_follows(default, plan, removed: set, added: set) -> None:
    """A variant drops exactly the NetworkPolicies in or towards the namespaces it drops, and adds none."""
    def namespaces(p) -> set[str]:
        return {n.inputs["metadata"]["name"] for n in p.by_type(k8s_facts.NAMESPACE)}

    dropped = namespaces(default) - namespaces(plan)
    policies = {(r.type, r.name): r for r in default.by_type(k8s_facts.NETWORK_POLICY)}
    expected = {key for key, r in policies.items() if _policy_namespaces(r) & dropped}
    assert {k for k in removed if k[0] == k8s_facts.NETWORK_POLICY} == expected
    assert not {k for k in added if k[0] == k8s_facts.NETWORK_POLICY}


def subtree_keys(plan, type_: str, name: str) -> set[tuple[str, str]]:
    return {(r.type, r.name) for r in plan.subtree(plan.one(type_, name))}


def retained(plan) -> set[tuple[str, str]]:
    return {(r.type, r.name) for r in plan.resources if r.retain_on_delete}


def protected(plan) -> set[tuple[str, str]]:
    return {(r.type, r.name) for r in plan.resources if r.protect}


def as_list(value: Any) -> list:
    """IAM documents give one action or resource as a string, several as a list."""
    return value if isinstance(value, list) else [value]


def load_balancers(plan) -> list:
    return [s for s in plan.by_type(k8s_facts.SERVICE) if s.inputs["spec"].get("type") == "LoadBalancer"]


def pod_spec(deployment) -> dict:
    return deployment.inputs["spec"]["template"]["spec"]


def container(deployment, name: str) -> dict:
    (found,) = [c for c in pod_spec(deployment)["containers"] if c["name"] == name]
    return found


def env_of(container_: dict) -> dict[str, Any]:
    return {e["name"]: e.get("value") for e in container_["env"]}


def aws_bound_accounts(plan) -> set[tuple[str, str]]:
    return {(a.inputs["namespace"], a.inputs["serviceAccount"])
            for a in plan.by_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")}


def gcp_bound_accounts(plan) -> set[tuple[str, str]]:
    members = [m.inputs["member"] for m in plan.by_type("gcp:serviceaccount/iAMMember:IAMMember")]
    pairs = [m.split("[", 1)[1].rstrip("]").split("/") for m in members]
    return {(namespace, account) for namespace, account in pairs}


def azure_bound_accounts(plan) -> set[tuple[str, str]]:
    subjects = [f.inputs["subject"] for f in plan.by_type("azure-native:managedidentity:FederatedIdentityCredential")]
    return {tuple(s.removeprefix("system:serviceaccount:").split(":")) for s in subjects}


BOUND_ACCOUNTS = {"aws": aws_bound_accounts, "gcp": gcp_bound_accounts, "azure": azure_bound_accounts}


def bound_service_accounts(plan) -> set[tuple[str, str]]:
    """The (namespace, service account) pairs the cloud lets act as one of its identities."""
    return BOUND_ACCOUNTS[plan.spec.provider](plan)


# ---------------------------------------------------------------------------
# Team access (--admin): the principals the tests name, and readers of what they get

AWS_ADMINS = ["arn:aws:iam::123456789012:role/ml-admins", "arn:aws:iam::210987654321:user/alice"]
GCP_ADMINS = ["user:alice@example.com", "group:ml-team@example.com"]
ALICE = "11111111-1111-4111-8111-111111111111"
BOB = "22222222-2222-4222-8222-222222222222"
AZURE_ADMINS = [f"user:{ALICE}", BOB]
CREATOR = "00000000-0000-4000-8000-000000000003"  # what the mock's getClientConfig answers
TEAMMATE = "33333333-3333-4333-8333-333333333333"


def fresh_plan(spec):
    """A plan of the real program, never a cached one: these depend on the environment and on
    who deploys, not on the spec alone."""
    from provisioner.analysis.plan import run_plan
    from recipes import build

    return run_plan(spec, program=build)


def inputs_of(plan, type_: str) -> dict[str, dict[str, Any]]:
    return {r.name: r.inputs for r in plan.by_type(type_)}


def exec_of(plan) -> dict[str, Any]:
    (user,) = yaml.safe_load(plan.raw_outputs["cluster"]["kubeconfig"])["users"]
    return user["user"]["exec"]


def planned_under(env, provider: str, **variables: str) -> tuple[Any, dict[str, Any]]:
    """A fresh plan of the cloud's default stack with these environment variables set (through
    the `clean_env` monkeypatch), and its kubeconfig's exec: how the deploy's sign-in carries over."""
    for name, value in variables.items():
        env.setenv(name, value)
    plan = fresh_plan(spec_for(provider))
    return plan, exec_of(plan)
