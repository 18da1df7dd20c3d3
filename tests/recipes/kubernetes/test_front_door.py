"""The front door's certificate: the stack CA (or Let's Encrypt with --domain), issued for the load
balancer's address, and the Secret the gateway's HTTPS servers read."""

from __future__ import annotations

import ipaddress

import pytest

from recipes.facts import any_cloud as k8s_facts
from tests.recipes.plans import GATEWAY

CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
CLUSTER_ISSUER = "kubernetes:cert-manager.io/v1:ClusterIssuer"


def test_the_stack_ca_signs_the_gateway_certificate_for_the_load_balancers_address(aws_plan):
    key = aws_plan.one(k8s_facts.TLS_PRIVATE_KEY)
    ca = aws_plan.one(k8s_facts.TLS_SELF_SIGNED_CERT)
    assert (key.inputs["algorithm"], key.inputs["ecdsaCurve"]) == ("ECDSA", "P256")
    assert ca.inputs["isCaCertificate"] is True and "cert_signing" in ca.inputs["allowedUses"]
    assert ca.inputs["setSubjectKeyId"] is True  # strict verifiers (Python 3.13) need key identifiers
    assert key.urn in ca.dependencies
    # The key reaches the cluster once: the Secret cert-manager's CA issuer signs with.
    [secret] = [s for s in aws_plan.by_type(k8s_facts.SECRET) if s.inputs["type"] == "kubernetes.io/tls"]
    assert secret.inputs["metadata"]["namespace"] == "cert-manager" and "stringData" in secret.secret_inputs
    issuer = aws_plan.one(CLUSTER_ISSUER)
    assert issuer.inputs["spec"] == {"ca": {"secretName": secret.inputs["metadata"]["name"]}}
    certificate = aws_plan.one(CERTIFICATE)
    spec = certificate.inputs["spec"]
    assert spec["issuerRef"] == {"kind": "ClusterIssuer", "name": issuer.inputs["metadata"]["name"]}
    assert certificate.inputs["metadata"]["namespace"] == "istio-system"  # where the gateway pods read it
    # AWS load balancers are reached by hostname: the certificate names it.
    hostname = aws_plan.raw_outputs["deployer"]["base_url"].removeprefix("https://")
    assert spec["dnsNames"] == [hostname] and "ipAddresses" not in spec
    # The gateway's HTTPS servers read the Secret the certificate is issued into.
    servers = [s for g in aws_plan.by_type(GATEWAY) for s in g.inputs["spec"]["servers"] if "credentialName" in s["tls"]]
    assert servers and {s["tls"]["credentialName"] for s in servers} == {spec["secretName"]}
    # The CA certificate is an output clients trust (the exporters hand it on), the same for both endpoints.
    assert aws_plan.raw_outputs["tracker"]["ca_certificate"].startswith("-----BEGIN CERTIFICATE-----")


@pytest.mark.parametrize("provider", ["gcp", "azure"])
def test_elsewhere_the_certificate_names_the_load_balancers_ip(plans, provider):
    from tests.conftest import spec_for

    plan = plans(spec_for(provider))
    spec = plan.one(CERTIFICATE).inputs["spec"]
    [address] = spec["ipAddresses"]
    assert ipaddress.ip_address(address) and "dnsNames" not in spec
    assert plan.raw_outputs["tracker"]["uri"] == f"https://{address}:5000"


def test_with_a_domain_lets_encrypt_issues_for_it_and_there_is_no_stack_ca(plans):
    plan = plans(domain="ml.example.com", acme_email="ops@example.com")
    assert not plan.by_type(k8s_facts.TLS_PRIVATE_KEY) and not plan.by_type(k8s_facts.TLS_SELF_SIGNED_CERT)
    issuer = plan.one(CLUSTER_ISSUER)
    acme = issuer.inputs["spec"]["acme"]
    assert acme["server"] == "https://acme-v02.api.letsencrypt.org/directory" and acme["email"] == "ops@example.com"
    # HTTP-01 through the stack's own gateway: cert-manager's solver Ingress uses Istio's class.
    assert acme["solvers"] == [{"http01": {"ingress": {"ingressClassName": "istio"}}}]
    spec = plan.one(CERTIFICATE).inputs["spec"]
    assert spec["dnsNames"] == ["ml.example.com"] and spec["issuerRef"]["name"] == issuer.inputs["metadata"]["name"]
    assert plan.raw_outputs["tracker"]["uri"] == "https://ml.example.com:5000"
    assert plan.raw_outputs["deployer"]["base_url"] == "https://ml.example.com"
    assert "ca_certificate" not in plan.raw_outputs["tracker"]
    # No stack CA, so nothing for pipeline pods to mount.
    assert not [c for c in plan.by_type(k8s_facts.CONFIG_MAP) if c.name == "pipelines-ca"]
    # Let's Encrypt's challenge reaches cert-manager's solver through the gateway.
    policies = {p.inputs["metadata"]["name"] for p in plan.by_type(k8s_facts.NETWORK_POLICY)}
    assert {"gateway-to-acme-solver", "acme-solver-from-gateway", "controller-to-acme"} <= policies


def test_port_80_only_redirects(aws_plan):
    [server] = aws_plan.one(GATEWAY, "ingress-redirect").inputs["spec"]["servers"]
    assert server["port"]["number"] == 80 and server["tls"] == {"httpsRedirect": True}
