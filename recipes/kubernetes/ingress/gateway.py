"""Istio and its ingress gateway: the stack's front door.

Seldon Core routes through an Istio Gateway; KServe's raw deployments use the
`istio` IngressClass. The gateway pods come from Istio's chart, but the
LoadBalancer in front of them is our own Service (see `loadbalancer.py`).
Other workloads (the MLflow tracker) can be served on their own port of the
same load balancer: a cloud load balancer is a fixed monthly cost, so a stack
pays for one, not one per workload.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ..cloud import ClusterHandle
from . import namespaces, versions
from .helm import release
from .loadbalancer import load_balancer, service_url

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
    """One port of the shared ingress load balancer, for one workload."""

    port: int
    url: pulumi.Output[str]  # http://<load balancer>:<port>
    ready: list[pulumi.Resource]  # Istio's CRDs and gateway: a route waits for these


@dataclass
class IstioIngressArgs:
    cluster: ClusterHandle
    labels: dict[str, str]
    allow_cidrs: tuple[str, ...] = ()
    # More (name, port) on the same load balancer, routed by Istio Gateways of those ports.
    extra_ports: tuple[tuple[str, int], ...] = ()


class IstioIngress(pulumi.ComponentResource):
    base_url: pulumi.Output[str]
    ready: list[pulumi.Resource]  # what depends on Istio's CRDs and gateway waits for these

    def __init__(self, name: str, args: IstioIngressArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:kubernetes:IstioIngress", name, None, opts)
        cluster = args.cluster
        child = pulumi.ResourceOptions(parent=self, provider=cluster.provider)
        after_nodes = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=cluster.ready))

        namespace = k8s.core.v1.Namespace(
            f"{name}-ns", metadata={"name": namespaces.ISTIO_NAMESPACE, "labels": args.labels}, opts=child
        )
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
        service, self.base_url = load_balancer(
            f"{name}-lb", ns, selector=GATEWAY_SELECTOR, port=80, target_port=80, cluster=cluster,
            allow_cidrs=args.allow_cidrs, labels=args.labels, extra_ports=args.extra_ports,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[gateway])),
        )
        self.ready = [base, istiod, gateway, ingress_class]
        self.doors = {
            port_name: FrontDoor(port, service_url(service, f"{name}-lb", cluster, port), self.ready)
            for port_name, port in args.extra_ports
        }
        self.register_outputs({"base_url": self.base_url})
