"""Istio and its ingress gateway: the stack's front door, HTTPS only.

Every stack with a tracker or a model deployer has one. The gateway terminates TLS
with the certificate of `certificates.py` (the stack CA's, or Let's Encrypt's with
--domain); plain HTTP on port 80 only redirects to HTTPS (and, with --domain, answers
ACME's HTTP-01 challenge). Seldon Core routes through an Istio Gateway; KServe's raw
deployments use the `istio` IngressClass. The gateway pods come from Istio's chart, but
the LoadBalancer in front of them is our own Service (see `loadbalancer.py`). The
tracker and the models share that one load balancer, each on its own HTTPS port: a
cloud load balancer is a fixed monthly cost, so a stack pays for one, not one per
workload.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ...cloud import ClusterHandle
from .. import namespaces, versions
from ..helm import release
from ..workload import chart_namespace_labels, metadata
from . import exposure, tls
from .certificates import FrontDoorCertificate, FrontDoorCertificateArgs
from .loadbalancer import load_balancer, public_port, service_url

GATEWAY_SELECTOR = {"istio": "ingressgateway"}
ISTIO_NETWORKING_API = "networking.istio.io/v1beta1"

# The istiod chart (1.24 and later) reads its settings at the top level of its values: its
# own defaults sit under `_internal_defaults_do_not_set` and are merged under ours. Sized
# for a small cluster (the chart asks 500m CPU and 2 GiB for istiod).
ISTIOD_VALUES = {
    "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
    "global": {
        # Injected sidecars, where a namespace opts in (the chart's limits, 2 CPU and
        # 1 GiB, still apply). The gateway's proxy is sized by the gateway chart.
        "proxy": {"resources": {"requests": {"cpu": "50m", "memory": "64Mi"}}},
        # The chart's PodDisruptionBudget keeps one istiod available (`pdb.minAvailable: 1`);
        # istiod runs one replica (its autoscaler's minimum), so that budget would refuse
        # every eviction: node drains and the cluster autoscaler's scale-downs would wait
        # forever. Off: a drained istiod is back within a minute and running proxies keep
        # their configuration meanwhile.
        "defaultPodDisruptionBudget": {"enabled": False},
    },
}


@dataclass
class FrontDoor:
    """One HTTPS port of the shared ingress load balancer, for one workload."""

    port: int
    url: pulumi.Output[str]  # https://<load balancer or --domain>[:<port>]
    ready: list[pulumi.Resource]  # Istio's CRDs and gateway: a route waits for these
    credential_name: str = tls.GATEWAY_CERT_SECRET  # the gateway's certificate Secret, in istio-system

    def server(self, name: str) -> dict:
        """The Istio Gateway server terminating TLS on this port."""
        return {"port": {"number": self.port, "name": name, "protocol": "HTTPS"}, "hosts": ["*"],
                "tls": {"mode": "SIMPLE", "credentialName": self.credential_name, "minProtocolVersion": "TLSV1_2"}}


@dataclass
class IstioIngressArgs:
    cluster: ClusterHandle
    labels: dict[str, str]
    stack_name: str
    # The HTTPS ports to open, by workload: ("models", 443), ("mlflow", 5000), ...
    doors: tuple[tuple[str, int], ...]
    allow_cidrs: tuple[str, ...] = ()
    domain: str = ""
    acme_email: str = ""
    expose: str = "loadbalancer"  # a cluster we did not create: nodeport or port-forward too (exposure.py)


class IstioIngress(pulumi.ComponentResource):
    ready: list[pulumi.Resource]  # what depends on Istio's CRDs and gateway waits for these
    doors: dict[str, FrontDoor]
    ca_certificate: pulumi.Output[str] | None

    def __init__(self, name: str, args: IstioIngressArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:kubernetes:IstioIngress", name, None, opts)
        cluster = args.cluster
        child = pulumi.ResourceOptions(parent=self, provider=cluster.provider)
        after_nodes = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=cluster.ready))

        namespace = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata={"name": namespaces.ISTIO_NAMESPACE, "labels": {**args.labels, **chart_namespace_labels()}},
            opts=child,
        )
        self.namespaces = {namespaces.ISTIO_NAMESPACE: namespace}
        ns = namespace.metadata.name
        base = release("istio-base", versions.ISTIO_BASE, ns, {"defaultRevision": "default"}, opts=after_nodes, timeout_seconds=300)
        istiod = release(
            "istiod", versions.ISTIOD, ns, ISTIOD_VALUES,
            opts=pulumi.ResourceOptions.merge(after_nodes, pulumi.ResourceOptions(depends_on=[base])),
            timeout_seconds=600,
        )
        gateway = release(
            "istio-ingressgateway", versions.ISTIO_GATEWAY, ns,
            # ClusterIP: the LoadBalancer is our own Service below. The chart makes no
            # PodDisruptionBudget unless `podDisruptionBudget` is set, so drains go through.
            {"service": {"type": "ClusterIP"}, "labels": {**GATEWAY_SELECTOR, "app": "istio-ingressgateway"}},
            opts=pulumi.ResourceOptions.merge(after_nodes, pulumi.ResourceOptions(depends_on=[istiod])),
            timeout_seconds=600,
        )
        ingress_class = k8s.networking.v1.IngressClass(
            f"{name}-class",
            metadata={"name": "istio", "labels": args.labels},
            spec={"controller": "istio.io/ingress-controller"},
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[istiod])),
        )
        ports = (("http", tls.HTTP_PORT), *args.doors)
        service, address = load_balancer(
            f"{name}-lb", ns, selector=GATEWAY_SELECTOR, ports=ports, cluster=cluster,
            allow_cidrs=args.allow_cidrs, labels=args.labels, expose=args.expose,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[gateway])),
        )
        # Without a load balancer, the users' address (a node's, localhost) is not the pods': the certificate
        # also covers the Service's in-cluster names, and a forwarded port is 127.0.0.1 as well as localhost.
        also_names = () if args.expose == "loadbalancer" else exposure.service_names(f"{name}-lb", namespaces.ISTIO_NAMESPACE)
        if args.expose == "port-forward":
            also_names = ("127.0.0.1", *also_names)
        certificate = FrontDoorCertificate(
            f"{name}-tls",
            FrontDoorCertificateArgs(
                cluster=cluster, labels=args.labels, stack_name=args.stack_name, address=address,
                address_is_ip=cluster.load_balancer_address == "ip" if args.expose == "loadbalancer" else None,
                also_names=also_names, domain=args.domain, acme_email=args.acme_email,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.namespaces[namespaces.CERT_MANAGER_NAMESPACE] = certificate.namespace
        self.cert_manager = certificate.cert_manager
        self.ca_certificate = certificate.ca_certificate
        after_istio = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[base, istiod, gateway]))
        # Port 80 answers nothing but a redirect to HTTPS (ACME's challenge, with --domain, is routed
        # by cert-manager's solver Ingress for the domain alone, which is more specific than `*`).
        k8s.apiextensions.CustomResource(
            f"{name}-redirect",
            api_version=ISTIO_NETWORKING_API,
            kind="Gateway",
            metadata=metadata("https-redirect", ns, args.labels),
            spec={"selector": GATEWAY_SELECTOR, "servers": [
                {"port": {"number": tls.HTTP_PORT, "name": "http", "protocol": "HTTP"}, "hosts": ["*"],
                 "tls": {"httpsRedirect": True}}]},
            opts=after_istio,
        )
        # Routes wait for Istio, not for the certificate: a Gateway whose Secret is not issued yet
        # serves TLS as soon as cert-manager writes it (the load balancer comes first anyway).
        self.ready = [base, istiod, gateway, ingress_class]
        host = pulumi.Output.from_input(args.domain) if args.domain else address
        self.host = host
        self.http_url = service_url(host, public_port(tls.HTTP_PORT, args.expose), scheme="http")
        self.doors = {
            door: FrontDoor(port, service_url(host, public_port(port, args.expose)), self.ready) for door, port in args.doors
        }
        self.register_outputs({door: front.url for door, front in self.doors.items()})
