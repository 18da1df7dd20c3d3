"""--allow-cidr must not lock the stack's own pipelines out of MLflow.

ZenML gives pipeline pods the same public tracking URI as a laptop, so a load
balancer restricted with --allow-cidr also admits where the cluster's own pods
and nodes come from: on AWS (an NLB reached by hostname, through the gcp.ROUTER_NAT) the
NAT gateway's Elastic IP; on GCP and Azure (load balancers reached by IP, which
kube-proxy short-circuits inside the cluster) the node subnet and pod range,
and on GCP Cloud NAT's reserved address too. Checked on the real program's
rendered inputs, and through `recipe plan`, `recipe check` and the spec.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from provisioner import cli
from provisioner.analysis.baseline import RULES_BY_ID
from recipes.facts import aws, gcp, any_cloud as k8s_facts
from recipes.spec import SpecError

from tests.conftest import DEFAULT_FLAGS, spec_for

pytestmark = pytest.mark.filterwarnings(r"ignore::DeprecationWarning:pulumi_gcp\..*")

USER_CIDR = "203.0.113.0/24"
VARIANTS = {"with the deployer": {}, "without the deployer": {"without": ["deployer"]}}


def load_balancers(plan):
    return [s for s in plan.by_type(k8s_facts.SERVICE) if s.inputs["spec"].get("type") == "LoadBalancer"]


def nat_address(plan, provider: str) -> str:
    """The stack's NAT address as the mock cloud answered it: read from the plan, never recomputed."""
    if provider == "aws":
        return plan.one(aws.EC2_EIP).outputs["publicIp"] + "/32"
    return plan.one(gcp.COMPUTE_ADDRESS).outputs["address"] + "/32"


def expected_internal(plan, provider: str) -> list[str]:
    if provider == "aws":
        return [nat_address(plan, "aws")]
    if provider == "gcp":
        return ["10.0.0.0/20", "10.4.0.0/14", nat_address(plan, "gcp")]
    return ["10.224.0.0/20", "10.244.0.0/16"]


# --------------------------------------------------------------------------
# The rendered load balancer

@pytest.mark.parametrize("variant", VARIANTS.values(), ids=VARIANTS.keys())
@pytest.mark.parametrize("provider", ["aws", "gcp", "azure"])
def test_allow_cidr_also_admits_the_clusters_own_sources(plans, provider, variant):
    plan = plans(spec_for(provider, allow_cidrs=[USER_CIDR], **variant))
    [service] = load_balancers(plan)
    assert service.name == "ingress-lb"  # one front door, with or without the deployer
    assert service.inputs["spec"]["loadBalancerSourceRanges"] == [USER_CIDR, *expected_internal(plan, provider)]


@pytest.mark.parametrize("variant", VARIANTS.values(), ids=VARIANTS.keys())
@pytest.mark.parametrize("provider", ["aws", "gcp", "azure"])
def test_without_allow_cidr_the_load_balancer_has_no_source_ranges(plans, provider, variant):
    plan = plans(spec_for(provider, **variant))
    [service] = load_balancers(plan)
    assert "loadBalancerSourceRanges" not in service.inputs["spec"]


def test_aws_admits_the_nat_gateways_elastic_ip(plans):
    plan = plans(spec_for("aws", allow_cidrs=[USER_CIDR]))
    eip = plan.one(aws.EC2_EIP)
    assert eip.name == "network-nat-ip"
    assert eip.urn in plan.deps_closure(plan.one(aws.EC2_NAT_GATEWAY))  # the NAT's address
    [service] = load_balancers(plan)
    # The Service waits for the address it admits.
    assert eip.urn in plan.deps_closure(service)


def test_gcp_cloud_nat_uses_a_reserved_address(plans):
    plan = plans(spec_for("gcp", allow_cidrs=[USER_CIDR]))
    address, nat = plan.one(gcp.COMPUTE_ADDRESS), plan.one(gcp.ROUTER_NAT)
    assert address.inputs["name"] == "ml-dev-nat-ip"
    assert address.inputs["addressType"] == "EXTERNAL" and address.inputs["region"] == "us-central1"
    assert nat.inputs["natIpAllocateOption"] == "MANUAL_ONLY"
    assert nat.inputs["natIps"] == [address.outputs["selfLink"]]
    assert address.urn in plan.deps_closure(nat)


def test_gcp_public_nodes_have_no_nat_and_admit_nodes_and_pods_only(plans):
    # GKE load balancers are reached by IP, so public nodes need nothing more: the spec accepts it.
    plan = plans(spec_for("gcp", network="public", allow_cidrs=[USER_CIDR]))
    assert not plan.by_type(gcp.COMPUTE_ADDRESS) and not plan.by_type(gcp.ROUTER_NAT)
    [service] = load_balancers(plan)
    assert service.inputs["spec"]["loadBalancerSourceRanges"] == [USER_CIDR, "10.0.0.0/20", "10.4.0.0/14"]


def test_a_user_cidr_that_is_also_internal_is_listed_once(plans):
    plan = plans(spec_for("azure", allow_cidrs=["10.244.0.0/16", USER_CIDR]))
    [service] = load_balancers(plan)
    assert service.inputs["spec"]["loadBalancerSourceRanges"] == ["10.244.0.0/16", USER_CIDR, "10.224.0.0/20"]


# --------------------------------------------------------------------------
# The spec: public AWS nodes have no stable address to admit

def test_aws_public_network_with_allow_cidr_and_tracker_is_refused():
    with pytest.raises(SpecError, match="--network private .* or drop --allow-cidr"):
        spec_for("aws", network="public", allow_cidrs=[USER_CIDR])


def test_aws_public_network_with_allow_cidr_without_tracker_is_accepted(plans):
    spec = spec_for("aws", network="public", allow_cidrs=[USER_CIDR], without=["tracker"])
    assert spec.network == "public" and not spec.has("tracker")
    [service] = load_balancers(plans(spec))
    assert service.inputs["spec"]["loadBalancerSourceRanges"] == [USER_CIDR]  # no NAT: nothing of ours to add


@pytest.mark.parametrize("values", [{"network": "public"}, {"allow_cidrs": [USER_CIDR]}])
def test_aws_public_network_or_allow_cidr_alone_is_accepted(values):
    assert spec_for("aws", **values)


def test_cli_refuses_aws_public_network_with_allow_cidr_with_exit_2(home):
    result = CliRunner().invoke(cli.app, ["plan", "aws", "--network", "public", "--allow-cidr", USER_CIDR, "-o", "json"],
                                catch_exceptions=False)
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["exit_code"] == 2 and "lock the cluster's own pipelines out of MLflow" in error["message"]


# --------------------------------------------------------------------------
# recipe plan lists them, recipe check accepts exactly them

def _flags(provider: str) -> list[str]:
    return [provider, *(["--project", DEFAULT_FLAGS[provider]["project"]] if provider == "gcp" else [])]


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure"])
def test_plan_json_lists_the_internal_sources(plans, home, provider):
    result = CliRunner().invoke(cli.app, ["plan", *_flags(provider), "--allow-cidr", USER_CIDR, "-o", "json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    sources = json.loads(result.stdout)["internal_sources"]
    spec = spec_for(provider, allow_cidrs=[USER_CIDR])
    # As the plan computed them, with the mock cloud's made-up addresses shown as placeholders.
    from provisioner.cli.documents import with_placeholders

    assert [s["cidr"] for s in sources] == with_placeholders(expected_internal(plans(spec), provider), spec)
    if provider == "aws":  # the NAT's Elastic IP is the cloud's to choose
        assert [s["cidr"] for s in sources] == ["<public-ip>/32"]
    assert all(s["what"] and s["why"] for s in sources)
    whats = [s["what"] for s in sources]
    assert whats == {"aws": ["the NAT gateway's Elastic IP"],
                     "gcp": ["node subnet", "pod range", "Cloud NAT's reserved address"],
                     "azure": ["node subnet", "pod range (overlay)"]}[provider]


def test_plan_json_has_no_internal_sources_without_allow_cidr(home):
    result = CliRunner().invoke(cli.app, ["plan", "aws", "-o", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["internal_sources"] == []


def test_plan_table_notes_the_internal_sources_and_why(home):
    result = CliRunner().invoke(cli.app, ["plan", *_flags("gcp"), "--allow-cidr", USER_CIDR], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert any("also admits the stack's own pods and nodes" in line for line in notes)
    assert any("10.0.0.0/20 (node subnet)" in line and "kube-proxy" in line for line in notes)
    assert any("10.4.0.0/14 (pod range)" in line for line in notes)
    assert any("(Cloud NAT's reserved address)" in line for line in notes)
    assert "10.0.0.0/20" not in result.stdout  # notes go to stderr, the plan view to stdout


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure"])
def test_check_t1_passes_with_the_internal_sources(plans, provider):
    plan = plans(spec_for(provider, allow_cidrs=[USER_CIDR])).plan
    verdict = RULES_BY_ID["T1"].evaluate(plan)
    assert verdict.status == "pass", verdict.detail
    assert "the stack's own" in verdict.detail


def test_check_t1_fails_a_source_that_is_neither_allowed_nor_ours(plans):
    import copy

    plan = copy.deepcopy(plans(spec_for("gcp", allow_cidrs=[USER_CIDR])).plan)
    [service] = load_balancers(plan)
    service.inputs["spec"]["loadBalancerSourceRanges"].append("0.0.0.0/0")
    verdict = RULES_BY_ID["T1"].evaluate(plan)
    assert verdict.status == "fail" and verdict.resources == [service.name]
