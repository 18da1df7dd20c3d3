"""The model deployer: Seldon Core (ZenML's `seldon` flavor) or KServe, behind Istio.

Both serve models in a dedicated namespace reachable at the Istio gateway's
URL, which is what a ZenML model deployer or plain kubectl needs. Seldon's
models are served over HTTPS on the front door's `models` port. KServe 0.15's
raw deployments are routed from the Ingress objects KServe writes (class
`istio`, one host per model under `kserve.local`), which carry no TLS: their
traffic stays HTTP on port 80, routed by Host header (README, TLS and
certificates, says so).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ..cloud import ClusterHandle
from . import namespaces, versions
from .helm import release
from .ingress.exposure import MODELS_DOOR
from .ingress.gateway import GATEWAY_SELECTOR, ISTIO_NETWORKING_API, IstioIngress
from .workload import chart_namespace_labels, user_workload_namespace_labels

SELDON_GATEWAY = "seldon-gateway"


@dataclass
class ModelDeployerArgs:
    cluster: ClusterHandle
    flavor: str  # "seldon" | "kserve"
    labels: dict[str, str]
    ingress: IstioIngress  # the stack's front door, with a MODELS_DOOR


class ModelDeployer(pulumi.ComponentResource):
    flavor: str
    namespace: pulumi.Output[str]
    base_url: pulumi.Output[str]

    def __init__(self, name: str, args: ModelDeployerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:kubernetes:ModelDeployer", name, None, opts)
        if args.flavor not in namespaces.DEPLOYER_NAMESPACES:
            raise ValueError(f"unknown model deployer {args.flavor!r}")
        cluster, ingress = args.cluster, args.ingress
        door = ingress.doors.get(MODELS_DOOR)  # none for KServe: see the module's docstring
        child = pulumi.ResourceOptions(parent=self, provider=cluster.provider)
        operator_ns_name, models_ns_name = namespaces.DEPLOYER_NAMESPACES[args.flavor]
        operator_ns = k8s.core.v1.Namespace(
            f"{name}-operator-ns",
            metadata={"name": operator_ns_name, "labels": {**args.labels, **chart_namespace_labels()}},
            opts=child,
        )
        models_ns = k8s.core.v1.Namespace(
            f"{name}-models-ns",
            metadata={"name": models_ns_name, "labels": {
                **args.labels, **user_workload_namespace_labels(), "istio-injection": "disabled"}},
            opts=child,
        )
        self.namespaces = {operator_ns_name: operator_ns, models_ns_name: models_ns}
        after_istio = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[*cluster.ready, *ingress.ready]))
        if args.flavor == "seldon":
            gateway = k8s.apiextensions.CustomResource(
                f"{name}-gateway",
                api_version=ISTIO_NETWORKING_API,
                kind="Gateway",
                metadata={"name": SELDON_GATEWAY, "namespace": namespaces.ISTIO_NAMESPACE, "labels": args.labels},
                spec={"selector": GATEWAY_SELECTOR, "servers": [door.server("https-models")]},  # type: ignore[union-attr]
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
                # KServe's webhooks take their certificates from cert-manager (the front door's).
                opts=pulumi.ResourceOptions.merge(after_istio, pulumi.ResourceOptions(depends_on=[ingress.cert_manager, crds])),
                timeout_seconds=600,
            )
        self.flavor = args.flavor
        self.namespace = models_ns.metadata.name
        self.base_url = door.url if door is not None else ingress.http_url
        self.register_outputs({"flavor": self.flavor, "namespace": self.namespace, "base_url": self.base_url})
