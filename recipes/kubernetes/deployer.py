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
from typing import Any
from urllib.parse import urlsplit

import pulumi
import pulumi_kubernetes as k8s

from ..cloud import ClusterHandle, StaticBucketAccess
from . import namespaces, versions
from .helm import release
from .ingress.exposure import MODELS_DOOR
from .ingress.gateway import GATEWAY_SELECTOR, ISTIO_NETWORKING_API, IstioIngress
from .workload import chart_namespace_labels, user_workload_namespace_labels

SELDON_GATEWAY = "seldon-gateway"
# Where the cluster gives pods no bucket credentials (StaticBucketAccess), the models namespace holds the keys:
# Seldon's storage initializer takes this Secret as its environment (a SeldonDeployment's envSecretRefName, which
# ZenML sets to its model deployer's kubernetes_secret_name); KServe's reads it through this ServiceAccount, which
# an InferenceService names (spec.predictor.serviceAccountName).
STORAGE_SECRET = "model-storage"
STORAGE_SERVICE_ACCOUNT = "model-storage"
# Seldon Core 1.17's storage initializer runs `rclone copy <modelUri> /mnt/models` (rclone 1.59), its remotes
# configured by RCLONE_CONFIG_<REMOTE>_<OPTION> variables; an s3://bucket/key URI (ZenML's) names remote `s3`.
RCLONE_REMOTE = "S3"
KSERVE_S3 = "serving.kserve.io/s3-"  # KServe 0.15's annotations on an S3 Secret (pkg/credentials/s3)


@dataclass
class ModelDeployerArgs:
    cluster: ClusterHandle
    flavor: str  # "seldon" | "kserve"
    labels: dict[str, str]
    ingress: IstioIngress  # the stack's front door, with a MODELS_DOOR
    # The bucket's keys for the model servers, where the cluster gives their pods none (None: it does).
    bucket_access: StaticBucketAccess | None = None


class ModelDeployer(pulumi.ComponentResource):
    flavor: str
    namespace: pulumi.Output[str]
    base_url: pulumi.Output[str]
    storage_secret: pulumi.Output[str] | None = None  # the models' bucket keys (bucket_access)
    storage_service_account: pulumi.Output[str] | None = None  # KServe: the account that carries them

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
        if args.bucket_access is not None:
            self._storage_credentials(name, args, models_ns.metadata.name, child)
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
        self.register_outputs({"flavor": self.flavor, "namespace": self.namespace, "base_url": self.base_url,
                               "storage_secret": self.storage_secret,
                               "storage_service_account": self.storage_service_account})

    def _storage_credentials(self, name: str, args: ModelDeployerArgs, namespace: pulumi.Output[str],
                             child: pulumi.ResourceOptions) -> None:
        """The bucket's keys in the models namespace, in the form the flavor's storage initializer reads."""
        access = args.bucket_access
        assert access is not None
        seldon = args.flavor == "seldon"
        secret = k8s.core.v1.Secret(
            f"{name}-storage",
            metadata={"name": STORAGE_SECRET, "namespace": namespace, "labels": args.labels,
                      **({} if seldon else {"annotations": kserve_s3_annotations(access)})},
            type="Opaque",
            string_data=rclone_env(access) if seldon else {
                "AWS_ACCESS_KEY_ID": pulumi.Output.secret(access.access_key_id),
                "AWS_SECRET_ACCESS_KEY": pulumi.Output.secret(access.secret_access_key)},
            opts=child,
        )
        self.storage_secret = secret.metadata.name
        if not seldon:
            account = k8s.core.v1.ServiceAccount(
                f"{name}-storage-sa",
                metadata={"name": STORAGE_SERVICE_ACCOUNT, "namespace": namespace, "labels": args.labels},
                # KServe's controller reads the account's Secrets (CreateSecretVolumeAndEnv) into the storage
                # initializer's environment; the model servers need no API token.
                secrets=[{"name": secret.metadata.name}],
                automount_service_account_token=False,
                opts=child,
            )
            self.storage_service_account = account.metadata.name


def rclone_env(access: StaticBucketAccess) -> dict[str, Any]:
    """Remote `s3` as rclone 1.59's s3 backend takes it (backend/s3/s3.go: provider, env_auth, access_key_id,
    secret_access_key, endpoint, region, force_path_style), the keys as Pulumi secrets."""
    options: dict[str, Any] = {
        "TYPE": "s3",
        "PROVIDER": access.s3_implementation,
        "ENV_AUTH": "false",  # the keys below, never a node's or pod's ambient credentials
        "ACCESS_KEY_ID": pulumi.Output.secret(access.access_key_id),
        "SECRET_ACCESS_KEY": pulumi.Output.secret(access.secret_access_key),
        "FORCE_PATH_STYLE": "true" if access.path_style else "false",
    }
    if access.endpoint is not None:
        options["ENDPOINT"] = access.endpoint
    if access.region is not None:
        options["REGION"] = access.region
    return {f"RCLONE_CONFIG_{RCLONE_REMOTE}_{option}": value for option, value in options.items()}


def kserve_s3_annotations(access: StaticBucketAccess) -> dict[str, Any]:
    """KServe's S3 Secret annotations (pkg/credentials/s3/utils.go, BuildS3EnvVars): the endpoint as host[:port]
    with s3-usehttps 0 for http, the region, and path-style addressing (s3-usevirtualbucket), each taking
    precedence over the cluster-wide inferenceservice-config."""
    annotations: dict[str, Any] = {f"{KSERVE_S3}usevirtualbucket": "false" if access.path_style else "true"}
    if access.endpoint is not None:
        url = pulumi.Output.from_input(access.endpoint)
        annotations[f"{KSERVE_S3}endpoint"] = url.apply(lambda u: urlsplit(u).netloc)
        annotations[f"{KSERVE_S3}usehttps"] = url.apply(lambda u: "1" if urlsplit(u).scheme == "https" else "0")
    if access.region is not None:
        annotations[f"{KSERVE_S3}region"] = access.region
    return annotations
