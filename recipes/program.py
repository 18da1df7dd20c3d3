"""One stack, any cloud: compose a cloud's recipe with the shared workloads.

Components are declared only when the spec includes them, and each gets only
what it needs from the others (the tracker the cluster and bucket, the
deployer the cluster, and the bucket's keys where the cluster gives pods
none), so switching one off removes exactly that component.
"""

from __future__ import annotations

import importlib
from typing import Any

from . import facts, outputs, spec_values
from .cloud import CloudRecipe
from .kubernetes import namespaces
from .spec import StackSpec


def cloud_recipe(spec: StackSpec) -> CloudRecipe:
    facts.require_sdk(spec.provider)  # a one-cloud install running another cloud's stack: the fix, not an ImportError
    module = importlib.import_module(facts.of(spec.provider).PROGRAM_PACKAGE)
    return module.Recipe(spec)


def build(spec: StackSpec) -> dict[str, Any]:
    from .kubernetes import history
    from .kubernetes.deployer import STORAGE_SERVICE_ACCOUNT, ModelDeployer, ModelDeployerArgs
    from .kubernetes.ingress import exposure, tls
    from .kubernetes.ingress.gateway import IstioIngress, IstioIngressArgs
    from .kubernetes.mlflow import MlflowServer, MlflowServerArgs
    from .kubernetes.pipelines import PipelinesNamespace, PipelinesNamespaceArgs
    from .kubernetes.segmentation import Segmentation, SegmentationArgs

    recipe = cloud_recipe(spec)
    labels = spec.labels()
    # Every namespace the stack creates, by name: each is segmented (default deny, then its flows).
    owned: dict[str, Any] = {}
    values: dict[str, Any] = {"provider": spec.provider, "region": spec.region, "stack_name": spec.name}

    cluster = recipe.cluster() if spec.has("cluster") else None
    bucket = recipe.bucket() if spec.has("bucket") else None
    registry = recipe.registry(cluster) if spec.has("registry") else None
    if bucket is not None:
        owned.update(bucket.namespaces)

    # One front door (Istio's gateway behind one cloud load balancer, HTTPS) for the tracker and the
    # models, each on its own port: MLflow on 443 alone, beside Seldon's models on 5000.
    ingress = None
    if cluster is not None and (spec.has("tracker") or spec.has("deployer")):
        doors = exposure.front_doors(spec)
        ingress = IstioIngress(
            "ingress",
            IstioIngressArgs(cluster=cluster, labels=labels, stack_name=spec.name, doors=tuple(doors),
                             allow_cidrs=spec.allow_cidrs, domain=spec.domain, acme_email=spec.acme_email,
                             expose=spec.expose),
        )
        owned.update(ingress.namespaces)

    if cluster is not None:
        values["cluster"] = {
            "name": cluster.name,
            "endpoint": cluster.endpoint,
            "kubeconfig": cluster.kubeconfig,
            "context": cluster.context,
        }
        forward = exposure.front_door_forward(spec)
        if forward:  # --expose port-forward: what makes the localhost URLs below work
            values["cluster"]["port_forward"] = forward
        pipelines_identity = None
        if bucket is not None:
            pipelines_identity = recipe.bucket_identity(
                "pipelines", cluster, bucket,
                namespaces.PIPELINES_NAMESPACE, namespaces.PIPELINES_SERVICE_ACCOUNT,
            )
        pipelines = PipelinesNamespace("pipelines", PipelinesNamespaceArgs(
            cluster=cluster, labels=labels, identity=pipelines_identity,
            ca_certificate=ingress.ca_certificate if ingress is not None else None))
        owned.update(pipelines.namespaces)

    if bucket is not None:
        values["bucket"] = {"name": bucket.name, "uri": bucket.uri}
        for key in ("account", "endpoint", "access_key_id", "secret_access_key"):
            if getattr(bucket, key) is not None:
                values["bucket"][key] = getattr(bucket, key)

    if registry is not None:
        values["registry"] = {"uri": registry.uri}

    ca = {"ca_certificate": ingress.ca_certificate} if ingress is not None and ingress.ca_certificate is not None else {}
    if spec.has("deployer"):
        assert cluster is not None and ingress is not None
        models_namespace = namespaces.DEPLOYER_NAMESPACES[spec.deployer][1]
        bucket_access = recipe.model_bucket_access(cluster, bucket, models_namespace, STORAGE_SERVICE_ACCOUNT) \
            if bucket is not None else None
        deployer = ModelDeployer(
            "deployer", ModelDeployerArgs(cluster=cluster, flavor=spec.deployer, labels=labels, ingress=ingress,
                                          bucket_access=bucket_access),
        )
        owned.update(deployer.namespaces)
        values["deployer"] = {"flavor": deployer.flavor, "namespace": deployer.namespace, "base_url": deployer.base_url,
                              **(ca if spec.deployer == "seldon" else {})}
        for key in ("storage_secret", "storage_service_account"):
            if getattr(deployer, key) is not None:
                values["deployer"][key] = getattr(deployer, key)

    if spec.has("tracker"):
        assert cluster is not None and bucket is not None and ingress is not None  # guaranteed by spec validation
        identity = recipe.bucket_identity(
            "mlflow", cluster, bucket, namespaces.MLFLOW_NAMESPACE, namespaces.MLFLOW_SERVICE_ACCOUNT
        )
        tracker = MlflowServer(
            "tracker",
            MlflowServerArgs(
                cluster=cluster,
                artifacts_destination=recipe.artifact_uri(bucket, "mlflow"),
                # Beside MLflow's artifacts, not among them: MLflow serves those to every user.
                backups_destination=recipe.artifact_uri(bucket, history.BACKUPS_PREFIX),
                identity=identity,
                labels=labels,
                front_door=ingress.doors["mlflow"],
                backup_id=spec.tracker_backup,
            ),
        )
        values["tracker"] = {"flavor": "mlflow", "uri": tracker.uri, "username": tracker.username,
                             "password": tracker.password, **ca}
        owned.update(tracker.namespaces)

    if cluster is not None:
        Segmentation("segmentation", SegmentationArgs(
            cluster=cluster, labels=labels, namespaces=owned,
            identity_endpoints=facts.of(spec.provider).IDENTITY_ENDPOINTS,
            tracker_port_beside_models=tls.TRACKER_PORT_BESIDE_MODELS if spec.has("tracker") and spec.has("deployer") else None,
            acme_http01=bool(spec.domain), bucket_port=spec_values.endpoint_port(spec.bucket_endpoint),
        ))

    return outputs.export(values)
