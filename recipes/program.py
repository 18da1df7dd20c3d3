"""One stack, any cloud: compose a cloud's recipe with the shared workloads.

Components are declared only when the spec includes them, and each gets only
what it needs from the others (the tracker the cluster and bucket, the
deployer the cluster), so switching one off removes exactly that component.
"""

from __future__ import annotations

import importlib
from typing import Any

from . import outputs
from .cloud import CloudRecipe
from .kubernetes import namespaces
from .spec import StackSpec


def cloud_recipe(spec: StackSpec) -> CloudRecipe:
    module = importlib.import_module(f"recipes.{spec.provider}")
    return module.Recipe(spec)


def build(spec: StackSpec) -> dict[str, Any]:
    from .kubernetes import history
    from .kubernetes.deployer import ModelDeployer, ModelDeployerArgs
    from .kubernetes.mlflow import FRONT_DOOR_PORT, MlflowServer, MlflowServerArgs
    from .kubernetes.pipelines import PipelinesNamespace, PipelinesNamespaceArgs

    recipe = cloud_recipe(spec)
    labels = spec.labels()
    values: dict[str, Any] = {"provider": spec.provider, "region": spec.region, "stack_name": spec.name}

    cluster = recipe.cluster() if spec.has("cluster") else None
    bucket = recipe.bucket() if spec.has("bucket") else None
    registry = recipe.registry(cluster) if spec.has("registry") else None

    if cluster is not None:
        values["cluster"] = {
            "name": cluster.name,
            "endpoint": cluster.endpoint,
            "kubeconfig": cluster.kubeconfig,
            "context": cluster.context,
        }
        pipelines_identity = None
        if bucket is not None:
            pipelines_identity = recipe.bucket_identity(
                "pipelines", cluster, bucket,
                namespaces.PIPELINES_NAMESPACE, namespaces.PIPELINES_SERVICE_ACCOUNT,
            )
        PipelinesNamespace("pipelines", PipelinesNamespaceArgs(cluster=cluster, labels=labels, identity=pipelines_identity))

    if bucket is not None:
        values["bucket"] = {"name": bucket.name, "uri": bucket.uri}
        if bucket.account is not None:
            values["bucket"]["account"] = bucket.account

    if registry is not None:
        values["registry"] = {"uri": registry.uri}

    deployer = None
    if spec.has("deployer"):
        assert cluster is not None
        # With the deployer, the tracker is served on its own port of the deployer's
        # ingress load balancer: one cloud load balancer per stack, not two.
        extra_ports = (("mlflow", FRONT_DOOR_PORT),) if spec.has("tracker") else ()
        deployer = ModelDeployer(
            "deployer",
            ModelDeployerArgs(cluster=cluster, flavor=spec.deployer, labels=labels, allow_cidrs=spec.allow_cidrs,
                              extra_ports=extra_ports),
        )
        values["deployer"] = {"flavor": deployer.flavor, "namespace": deployer.namespace, "base_url": deployer.base_url}

    if spec.has("tracker"):
        assert cluster is not None and bucket is not None  # guaranteed by spec validation
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
                allow_cidrs=spec.allow_cidrs,
                front_door=deployer.doors["mlflow"] if deployer is not None else None,
                backup_id=spec.tracker_backup,
            ),
        )
        values["tracker"] = {"flavor": "mlflow", "uri": tracker.uri, "username": tracker.username, "password": tracker.password}

    return outputs.export(values)
