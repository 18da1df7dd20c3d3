"""The model deployer: Seldon Core (ZenML's `seldon` flavor) or KServe, behind Istio.

Both serve models in a dedicated namespace reachable at the Istio gateway's
URL, which is what a ZenML model deployer or plain kubectl needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ..cloud import ClusterHandle
from . import namespaces, versions
from .helm import release
from .ingress import GATEWAY_SELECTOR, ISTIO_NETWORKING_API, IstioIngress, IstioIngressArgs

SELDON_GATEWAY = "seldon-gateway"


@dataclass
class ModelDeployerArgs:
    cluster: ClusterHandle
    flavor: str  # "seldon" | "kserve"
    labels: dict[str, str]
    allow_cidrs: tuple[str, ...] = ()
    # Ports of the ingress load balancer to open for other workloads (see FrontDoor).
    extra_ports: tuple[tuple[str, int], ...] = ()


class ModelDeployer(pulumi.ComponentResource):
    flavor: str
    namespace: pulumi.Output[str]
    base_url: pulumi.Output[str]

    def __init__(self, name: str, args: ModelDeployerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:kubernetes:ModelDeployer", name, None, opts)
        if args.flavor not in namespaces.DEPLOYER_NAMESPACES:
            raise ValueError(f"unknown model deployer {args.flavor!r}")
        cluster = args.cluster
        child = pulumi.ResourceOptions(parent=self, provider=cluster.provider)
        ingress = IstioIngress(
            f"{name}-ingress",
            IstioIngressArgs(cluster=cluster, labels=args.labels, allow_cidrs=args.allow_cidrs, extra_ports=args.extra_ports),
            opts=pulumi.ResourceOptions(parent=self),
        )
        operator_ns_name, models_ns_name = namespaces.DEPLOYER_NAMESPACES[args.flavor]
        operator_ns = k8s.core.v1.Namespace(
            f"{name}-operator-ns", metadata={"name": operator_ns_name, "labels": args.labels}, opts=child
        )
        models_ns = k8s.core.v1.Namespace(
            f"{name}-models-ns",
            metadata={"name": models_ns_name, "labels": {**args.labels, "istio-injection": "disabled"}},
            opts=child,
        )
        after_istio = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[*cluster.ready, *ingress.ready]))
        if args.flavor == "seldon":
            gateway = k8s.apiextensions.CustomResource(
                f"{name}-gateway",
                api_version=ISTIO_NETWORKING_API,
                kind="Gateway",
                metadata={"name": SELDON_GATEWAY, "namespace": namespaces.ISTIO_NAMESPACE, "labels": args.labels},
                spec={
                    "selector": GATEWAY_SELECTOR,
                    "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}],
                },
                opts=after_istio,
            )
            release(
                "seldon-core", versions.SELDON_CORE, operator_ns.metadata.name,
                {
                    "istio": {"enabled": True, "gateway": f"{namespaces.ISTIO_NAMESPACE}/{SELDON_GATEWAY}"},
                    "usageMetrics": {"enabled": False},
                    "certManager": {"enabled": False},
                },
                opts=pulumi.ResourceOptions.merge(after_istio, pulumi.ResourceOptions(depends_on=[gateway])),
                timeout_seconds=600,
            )
        else:
            cert_ns = k8s.core.v1.Namespace(
                f"{name}-cert-manager-ns", metadata={"name": "cert-manager", "labels": args.labels}, opts=child
            )
            cert_manager = release(
                "cert-manager", versions.CERT_MANAGER, cert_ns.metadata.name, {"crds": {"enabled": True}},
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=cluster.ready)),
                timeout_seconds=600,
            )
            crds = release(
                "kserve-crd", versions.KSERVE_CRD, operator_ns.metadata.name, {},
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=cluster.ready)),
                timeout_seconds=300,
            )
            release(
                "kserve", versions.KSERVE, operator_ns.metadata.name,
                {
                    "kserve": {
                        "controller": {
                            "deploymentMode": "RawDeployment",
                            "gateway": {"domain": "kserve.local", "ingressGateway": {"className": "istio"}},
                        },
                        "modelmesh": {"enabled": False},
                    }
                },
                opts=pulumi.ResourceOptions.merge(after_istio, pulumi.ResourceOptions(depends_on=[cert_manager, crds])),
                timeout_seconds=600,
            )
        self.flavor = args.flavor
        self.doors = ingress.doors
        self.namespace = models_ns.metadata.name
        self.base_url = ingress.base_url
        self.register_outputs({"flavor": self.flavor, "namespace": self.namespace, "base_url": self.base_url})
