"""PostgreSQL for MLflow's backend store: one pod on a persistent volume.

The volume claim is a Pulumi resource of its own, so `recipe destroy` deletes
it (and its cloud disk) instead of leaving an orphaned volume behind, which is
what a StatefulSet's volumeClaimTemplates would do.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ..cloud import ClusterHandle
from . import versions
from .workload import container_security_context, metadata, pod_security_context, resources

PORT = 5432
SECRET_DIR = "/run/secrets/postgres"


@dataclass
class PostgresArgs:
    namespace: pulumi.Input[str]
    cluster: ClusterHandle
    password: pulumi.Output[str]
    user: str
    database: str
    extra_databases: tuple[str, ...] = ()
    storage_size: str = "20Gi"
    labels: dict[str, str] | None = None


class Postgres(pulumi.ComponentResource):
    host: pulumi.Output[str]

    def __init__(self, name: str, args: PostgresArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:kubernetes:Postgres", name, None, opts)
        labels = {**(args.labels or {}), "app.kubernetes.io/name": name, "app.kubernetes.io/component": "database"}
        child = pulumi.ResourceOptions(parent=self, provider=args.cluster.provider)

        secret = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata=metadata(f"{name}-credentials", args.namespace, labels),
            type="Opaque",
            string_data={"POSTGRES_PASSWORD": args.password},
            opts=child,
        )
        init_sql = "".join(f"CREATE DATABASE {db} OWNER {args.user};\n" for db in args.extra_databases)
        init = k8s.core.v1.ConfigMap(
            f"{name}-init",
            metadata=metadata(f"{name}-init", args.namespace, labels),
            data={"10-databases.sql": init_sql},
            opts=child,
        )
        claim = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-data",
            # Volumes bind when the pod is scheduled (WaitForFirstConsumer); do not wait for it here.
            metadata=metadata(f"{name}-data", args.namespace, labels, annotations={"pulumi.com/skipAwait": "true"}),
            spec={
                "access_modes": ["ReadWriteOnce"],
                # None: no storageClassName, so the cluster's default class (an existing cluster's own).
                **({"storage_class_name": args.cluster.storage_class} if args.cluster.storage_class else {}),
                "resources": {"requests": {"storage": args.storage_size}},
            },
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=args.cluster.ready_with_addons)),
        )
        selector = {"app.kubernetes.io/name": name}
        deployment = k8s.apps.v1.Deployment(
            name,
            metadata=metadata(name, args.namespace, labels),
            spec={
                "replicas": 1,
                "strategy": {"type": "Recreate"},  # one writer on a ReadWriteOnce volume
                "selector": {"match_labels": selector},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "automount_service_account_token": False,
                        "security_context": pod_security_context(versions.POSTGRES_UID),
                        "containers": [
                            {
                                "name": "postgres",
                                "image": versions.POSTGRES_IMAGE,
                                "image_pull_policy": "IfNotPresent",
                                "ports": [{"name": "postgres", "container_port": PORT}],
                                "env": [
                                    {"name": "POSTGRES_USER", "value": args.user},
                                    {"name": "POSTGRES_DB", "value": args.database},
                                    {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
                                    # The image reads the password from a file (its *_FILE convention):
                                    # no secret in the environment, where every process and crash dump sees it.
                                    {"name": "POSTGRES_PASSWORD_FILE", "value": f"{SECRET_DIR}/POSTGRES_PASSWORD"},
                                ],
                                "security_context": container_security_context(read_only_root=True),
                                "resources": resources("100m", "256Mi", "1", "1Gi"),
                                "readiness_probe": _pg_isready(args, period=10),
                                "liveness_probe": _pg_isready(args, period=30),
                                "volume_mounts": [
                                    {"name": "data", "mount_path": "/var/lib/postgresql/data"},
                                    {"name": "run", "mount_path": "/var/run/postgresql"},
                                    {"name": "tmp", "mount_path": "/tmp"},
                                    {"name": "init", "mount_path": "/docker-entrypoint-initdb.d", "read_only": True},
                                    {"name": "credentials", "mount_path": SECRET_DIR, "read_only": True},
                                ],
                            }
                        ],
                        "volumes": [
                            {"name": "data", "persistent_volume_claim": {"claim_name": claim.metadata.name}},
                            {"name": "run", "empty_dir": {}},
                            {"name": "tmp", "empty_dir": {}},
                            {"name": "init", "config_map": {"name": init.metadata.name}},
                            # Readable by the postgres user alone (fsGroup gives it the group).
                            {"name": "credentials", "secret": {"secret_name": secret.metadata.name, "default_mode": 0o440,
                                                               "items": [{"key": "POSTGRES_PASSWORD", "path": "POSTGRES_PASSWORD"}]}},
                        ],
                    },
                },
            },
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(
                    depends_on=args.cluster.ready_with_addons,
                    custom_timeouts=pulumi.CustomTimeouts(create="10m", update="10m"),
                ),
            ),
        )
        service = k8s.core.v1.Service(
            f"{name}-svc",
            metadata=metadata(name, args.namespace, labels),
            spec={"selector": selector, "ports": [{"name": "postgres", "port": PORT, "target_port": PORT}]},
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[deployment])),
        )
        self.host = pulumi.Output.concat(service.metadata.name, ".", service.metadata.namespace, ".svc.cluster.local")
        self.register_outputs({"host": self.host})

    def uri(self, user: str, password: pulumi.Output[str], database: str) -> pulumi.Output[str]:
        return pulumi.Output.secret(
            pulumi.Output.concat("postgresql://", user, ":", password, "@", self.host, f":{PORT}/", database)
        )


def _pg_isready(args: PostgresArgs, period: int) -> dict:
    return {
        "exec": {"command": ["pg_isready", "-U", args.user, "-d", args.database, "-h", "127.0.0.1"]},
        "initial_delay_seconds": 10,
        "period_seconds": period,
        "timeout_seconds": 5,
    }
