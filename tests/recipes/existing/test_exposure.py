"""`--expose` on a cluster we did not create (recipes/kubernetes/ingress/exposure.py): the gateway Service, the
outputs' URLs, the certificate's names, the segmentation that still admits the gateway, and the CLI's plan."""

from __future__ import annotations

import json
import textwrap
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from provisioner import cli
from provisioner.analysis.mockcloud.kubernetes import KubernetesError, validate_service
from provisioner.stacks import exporters, trust
from recipes import outputs
from recipes.facts import any_cloud as k8s_facts
from recipes.spec import Layer, SpecError, load_spec

from tests.recipes.existing.specs import spec
from tests.recipes.kubernetes.netpol import Cluster, address, pod
from tests.recipes.kubernetes.test_segmentation import policies_of
from tests.recipes.plans import fresh_plan

GATEWAY = pod("gateway", "istio-system", {"istio": "ingressgateway", "app": "istio-ingressgateway"})
ANYONE = address("198.51.100.20", "laptop")
CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
IN_CLUSTER = ["ingress-lb.istio-system.svc", "ingress-lb.istio-system.svc.cluster.local"]


def gateway_service(plan) -> dict:
    service = plan.one(k8s_facts.SERVICE, "ingress-lb")
    assert service.inputs["metadata"]["namespace"] == "istio-system"
    return service.inputs["spec"]


def certificate(plan) -> dict:
    (cert,) = plan.by_type(CERTIFICATE)
    return cert.inputs["spec"]


def ports(service: dict, key: str) -> dict[int, int | None]:
    return {int(p["port"]): (int(p[key]) if key in p else None) for p in service["ports"]}


def with_kubeconfig(tmp_path, monkeypatch, server: str) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(textwrap.dedent(f"""\
        apiVersion: v1
        kind: Config
        current-context: k3d-ml
        clusters: [{{name: k3d-ml, cluster: {{server: "{server}"}}}}]
        contexts: [{{name: k3d-ml, context: {{cluster: k3d-ml, user: admin}}}}]
        users: [{{name: admin, user: {{token: t0ken}}}}]
    """))
    monkeypatch.setenv("KUBECONFIG", str(path))


def gateway_admits(plan, port: int) -> bool:
    namespaces = {r.inputs["metadata"]["name"]: r.inputs["metadata"].get("labels") or {}
                  for r in plan.by_type(k8s_facts.NAMESPACE)}
    return Cluster(policies_of(plan), namespaces).allows(ANYONE, GATEWAY, port)


# --------------------------------------------------------------------------
# the program under mocks, per mode

def test_loadbalancer_stays_the_default_as_on_the_clouds():
    plan = fresh_plan(spec())
    service = gateway_service(plan)
    assert service["type"] == "LoadBalancer" and ports(service, "nodePort") == {80: None, 443: None, 5000: None}
    assert plan.raw_outputs["tracker"]["uri"].startswith("https://203.0.113.")
    assert plan.raw_outputs["tracker"]["uri"].endswith(":5000")
    assert IN_CLUSTER[0] not in certificate(plan).get("dnsNames", [])


def test_nodeport_serves_each_door_on_a_fixed_node_port():
    plan = fresh_plan(spec(expose="nodeport"))
    service = gateway_service(plan)
    assert service["type"] == "NodePort" and "loadBalancerSourceRanges" not in service
    node_ports = ports(service, "nodePort")
    assert node_ports == {80: 30080, 443: 30443, 5000: 30500}
    assert ports(service, "targetPort") == {80: 80, 443: 443, 5000: 5000}  # the gateway pod's own ports
    out = plan.raw_outputs
    # Offline, no kubeconfig: the node's address is a placeholder of the same shape.
    assert out["tracker"]["uri"] == "https://<node-address>:30500"
    assert out["deployer"]["base_url"] == "https://<node-address>:30443"
    assert certificate(plan)["dnsNames"] == ["<node-address>", *IN_CLUSTER]
    # kube-proxy hands a node port's traffic to the pod's target port, which the gateway's policy opens.
    for port in node_ports:
        assert gateway_admits(plan, port), port
    assert not gateway_admits(plan, 15000)  # the proxy's admin port stays shut


@pytest.mark.parametrize("server, host, san", [
    ("https://0.0.0.0:6550", "127.0.0.1", "ipAddresses"),  # k3d: the API server bound on every address here
    ("https://127.0.0.1:41783", "127.0.0.1", "ipAddresses"),  # kind
    ("https://10.20.0.11:6443", "10.20.0.11", "ipAddresses"),  # kubeadm: a control-plane node
    ("https://node1.lab.example:6443", "node1.lab.example", "dnsNames"),
])
def test_nodeport_urls_use_the_kubeconfig_servers_host(tmp_path, monkeypatch, server, host, san):
    with_kubeconfig(tmp_path, monkeypatch, server)
    plan = fresh_plan(spec(expose="nodeport"))
    assert plan.raw_outputs["tracker"]["uri"] == f"https://{host}:30500"
    assert outputs.validate(plan.raw_outputs) == plan.raw_outputs
    cert = certificate(plan)
    assert cert["commonName"] == host and host in cert[san]
    assert cert["dnsNames"][-2:] == IN_CLUSTER


def test_port_forward_is_cluster_internal_and_localhost_urls():
    plan = fresh_plan(spec(expose="port-forward"))
    service = gateway_service(plan)
    assert service["type"] == "ClusterIP" and ports(service, "nodePort") == {80: None, 443: None, 5000: None}
    out = plan.raw_outputs
    assert out["tracker"]["uri"] == "https://localhost:5000" and out["deployer"]["base_url"] == "https://localhost:8443"
    assert outputs.validate(out) == out
    cert = certificate(plan)
    assert cert["commonName"] == "localhost" and cert["dnsNames"] == ["localhost", *IN_CLUSTER]
    assert cert["ipAddresses"] == ["127.0.0.1"]
    for port in (443, 5000):
        assert gateway_admits(plan, port), port


def test_port_forward_with_kserve_forwards_the_http_port_for_models():
    out = fresh_plan(spec(expose="port-forward", deployer="kserve")).raw_outputs
    assert out["deployer"]["base_url"] == "http://localhost:8080" and out["tracker"]["uri"] == "https://localhost:5000"


@pytest.mark.parametrize("deployer", ["seldon", "kserve"])
def test_the_port_forward_output_serves_every_localhost_url(deployer, tmp_path):
    """The command is an output (`recipe outputs`, the dotenv): the local ports it binds are the URLs' ports, and it
    forwards to the gateway Service's own ports."""
    plan = fresh_plan(spec(expose="port-forward", deployer=deployer))
    out = plan.raw_outputs
    argv = out["cluster"]["port_forward"].split()
    assert argv[:4] == ["kubectl", "--context", "k3d-ml", "port-forward"]
    assert argv[4:7] == ["-n", "istio-system", "svc/ingress-lb"]
    forwarded = dict(tuple(map(int, pair.split(":"))) for pair in argv[7:])
    urls = [urlsplit(out["tracker"]["uri"]), urlsplit(out["deployer"]["base_url"])]
    assert {u.hostname for u in urls} == {"localhost"}
    assert {u.port for u in urls} <= forwarded.keys()
    assert set(forwarded.values()) <= set(ports(gateway_service(plan), "port"))
    assert outputs.validate(out) == out
    dotenv = exporters.render("dotenv", {**out, "stack_name": "ml-local", "provider": "kubernetes",
                                         "region": "in-cluster"}, kubeconfig_path="/k.yaml",
                              ca_files=trust.ca_files(out, "ml-local", beside=tmp_path)).text
    assert f"while `{out['cluster']['port_forward']}` runs" in dotenv


def test_only_a_port_forward_stack_has_the_command():
    for mode in ("loadbalancer", "nodeport"):
        assert "port_forward" not in fresh_plan(spec(expose=mode)).raw_outputs["cluster"], mode


def test_the_mock_cluster_refuses_services_the_api_server_refuses():
    with pytest.raises(KubernetesError, match=r"spec.ports\[0\].nodePort: Invalid value: 443: provided port is not in "
                                              r"the valid range. The range of valid ports is 30000-32767"):
        validate_service("ingress-lb", {"type": "NodePort", "ports": [{"port": 443, "nodePort": 443}]})
    with pytest.raises(KubernetesError, match=r"nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"):
        validate_service("ingress-lb", {"ports": [{"port": 443, "nodePort": 30443}]})
    with pytest.raises(KubernetesError, match=r"spec.ports\[1\].nodePort: Duplicate value: 30443"):
        validate_service("ingress-lb", {"type": "NodePort", "ports": [{"port": 443, "nodePort": 30443},
                                                                      {"port": 5000, "nodePort": 30443}]})
    with pytest.raises(KubernetesError, match="loadBalancerSourceRanges: Forbidden"):
        validate_service("ingress-lb", {"type": "NodePort", "loadBalancerSourceRanges": ["10.0.0.0/8"]})


@pytest.mark.parametrize("values, message", [
    ({"expose": "nodeport", "allow_cidrs": ["198.51.100.7/32"]}, "--allow-cidr: restricts the load balancer, which "
                                                                 "--expose nodeport has none of"),
    ({"expose": "port-forward", "domain": "ml.example.com"}, "--domain: Let's Encrypt checks the name on port 80"),
    ({"expose": "ingress"}, "--expose"),
])
def test_choices_the_mode_cannot_serve_are_refused(values, message):
    with pytest.raises(SpecError) as caught:
        spec(**values)
    assert str(caught.value).startswith(message)


def test_expose_is_refused_on_the_clouds():
    with pytest.raises(SpecError, match=r"only applies to kubernetes stacks \(this one is aws\)"):
        load_spec(Layer("flags", {"provider": "aws", "expose": "nodeport"}))


# --------------------------------------------------------------------------
# recipe plan, per mode

def plan_cli(*args: str):
    result = CliRunner().invoke(cli.app, ["plan", "kubernetes", "--context", "k3d-ml", "--name", "ml-local", *args],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result


def test_plan_loadbalancer_warns_where_no_load_balancer_answers():
    result = plan_cli()
    assert "tracker.uri https://<load-balancer-ip>:5000" in " ".join(result.stdout.split())
    assert "warning: --expose loadbalancer needs a load balancer implementation" in result.stderr
    assert "MetalLB" in result.stderr and "port-forward" not in result.stderr.split("Deploy it with")[1]


def test_plan_nodeport_says_which_ports_to_map():
    result = plan_cli("--expose", "nodeport")
    assert "tracker.uri https://<node-address>:30500" in " ".join(result.stdout.split())
    warning = [line for line in result.stderr.splitlines() if line.startswith("warning: --expose nodeport")]
    assert warning and "-p 30443:30443@server:0" in warning[0] and "extraPortMappings" in warning[0]
    assert "load balancer implementation" not in result.stderr
    assert result.stderr.rstrip().endswith("--context k3d-ml --expose nodeport")


def test_plan_port_forward_prints_the_command():
    result = plan_cli("--expose", "port-forward")
    assert "tracker.uri https://localhost:5000" in " ".join(result.stdout.split())
    assert ("note: --expose port-forward: reach the front door with `kubectl --context k3d-ml port-forward -n "
            "istio-system svc/ingress-lb 8443:443 5000:5000` while you use it") in result.stderr
    assert "warning: --expose" not in result.stderr and "admits every address" not in result.stderr


def test_deploy_says_the_same_notes(engine):
    """`recipe deploy` (the FakeEngine at the engine seam: no cluster here) prints the registry and port-forward notes."""
    result = CliRunner().invoke(cli.app, ["deploy", "kubernetes", "--context", "k3d-ml", "--name", "ml-local",
                                          "--expose", "port-forward", "--yes"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert "https://localhost:5000" in result.stdout
    assert "note: no registry: pass --registry HOST" in result.stderr
    assert "`kubectl --context k3d-ml port-forward -n istio-system svc/ingress-lb 8443:443 5000:5000`" in result.stderr


@pytest.mark.parametrize("mode, status, detail", [
    ("loadbalancer", "warn", "the load balancers accept any address"),
    ("nodeport", "warn", "the node ports accept any address that reaches your nodes"),
    ("port-forward", "pass", "reached only through kubectl port-forward"),
])
def test_the_endpoint_rule_judges_each_mode(mode, status, detail):
    result = CliRunner().invoke(cli.app, ["check", "kubernetes", "--context", "k3d-ml", "--expose", mode, "-o", "json"],
                                catch_exceptions=False)
    (t1,) = [r for r in json.loads(result.stdout)["rules"] if r["id"] == "T1"]
    assert t1["status"] == status and detail in t1["detail"] and "authentication on" in t1["detail"]
