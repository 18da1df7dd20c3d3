"""The MLflow tracking server, the same on every cloud.

Metadata goes to an in-cluster PostgreSQL on a persistent volume; artifacts go
to the stack's bucket through the pod's workload identity (no keys); the
server runs MLflow's basic-auth app with a generated admin password that only
ever exists as a Pulumi secret and a Kubernetes Secret.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from ..cloud import ClusterHandle, WorkloadIdentity
from . import history, namespaces, versions
from .ingress.gateway import GATEWAY_SELECTOR, ISTIO_NETWORKING_API, FrontDoor
from .mlflow_config import PREPARE_SCRIPT, PREPARE_SOURCE, SERVER_ENV, WORKERS, basic_auth_ini, checksum
from .postgres import PORT as DATABASE_PORT
from .postgres import Postgres, PostgresArgs
from .workload import (
    RESTRICTED_NAMESPACE_LABELS,
    container,
    container_security_context,
    identity_secrets,
    metadata,
    pod_security_context,
    resources,
)

PORT = 5000
# Above 10000, where no node user's UID is (Checkov CKV_K8S_40): MLflow writes only to /tmp and the
# emptyDirs, so it runs as any user; HOME is /tmp.
UID = 10001
AUTH_CONFIG_DIR = "/etc/mlflow-auth"
SCRIPTS_DIR = "/opt/recipe/scripts"
EXTRA_PYTHON_DIR = "/opt/recipe/python"
CHECKSUM_ANNOTATION = "stack-recipes.dev/config-checksum"


@dataclass
class MlflowServerArgs:
    cluster: ClusterHandle
    artifacts_destination: pulumi.Input[str]
    # Where the database's backups go and are restored from (history.py): the bucket, outside MLflow's reach.
    backups_destination: pulumi.Input[str]
    identity: WorkloadIdentity
    labels: dict[str, str]
    # Its HTTPS port on the stack's front door (the shared ingress load balancer).
    front_door: FrontDoor
    namespace: str = namespaces.MLFLOW_NAMESPACE
    service_account: str = namespaces.MLFLOW_SERVICE_ACCOUNT
    username: str = namespaces.MLFLOW_USERNAME
    # A backup id (spec.tracker_backup): this update also saves the database to the bucket (history.py).
    backup_id: str = ""


class MlflowServer(pulumi.ComponentResource):
    uri: pulumi.Output[str]
    username: str
    password: pulumi.Output[str]

    def __init__(self, name: str, args: MlflowServerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:kubernetes:MlflowServer", name, None, opts)
        cluster = args.cluster
        labels = {**args.labels, "app.kubernetes.io/part-of": "mlflow"}
        plain = pulumi.ResourceOptions(parent=self)
        child = pulumi.ResourceOptions(parent=self, provider=cluster.provider)

        admin_password = random.RandomPassword(f"{name}-admin-password", length=32, special=False, opts=plain)
        db_password = random.RandomPassword(f"{name}-db-password", length=32, special=False, opts=plain)
        flask_secret = random.RandomPassword(f"{name}-flask-secret", length=48, special=False, opts=plain)

        namespace = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata={"name": args.namespace, "labels": {**labels, **RESTRICTED_NAMESPACE_LABELS}},
            opts=child,
        )
        ns = namespace.metadata.name
        service_account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=metadata(args.service_account, ns, labels, annotations=args.identity.service_account_annotations),
            automount_service_account_token=False,
            opts=child,
        )
        key_secrets = identity_secrets(name, args.identity.secrets, ns, labels, child)

        databases = ("mlflow", "mlflow_auth")  # tracking, auth
        database = Postgres(
            f"{name}-db",
            PostgresArgs(
                namespace=ns, cluster=cluster, password=db_password.result, user="mlflow",
                database=databases[0], extra_databases=databases[1:], labels=labels,
            ),
            opts=plain,
        )
        # How the history's backup and restore reach it (libpq's PGHOST, PGPORT, PGUSER, PGPASSWORD).
        history_db = {"databases": databases, "database": {
            "host": database.host, "port": DATABASE_PORT, "user": "mlflow", "secret": f"{name}-db-credentials"}}
        backend_uri = database.uri("mlflow", db_password.result, "mlflow")
        auth_uri = database.uri("mlflow", db_password.result, "mlflow_auth")
        auth_ini = pulumi.Output.secret(
            pulumi.Output.all(auth_uri, admin_password.result).apply(
                lambda v: basic_auth_ini(database_uri=v[0], username=args.username, password=v[1])
            )
        )
        server_secret = k8s.core.v1.Secret(
            f"{name}-server",
            metadata=metadata("mlflow-server", ns, labels),
            type="Opaque",
            string_data={
                "MLFLOW_BACKEND_STORE_URI": backend_uri,
                "MLFLOW_FLASK_SERVER_SECRET_KEY": flask_secret.result,
                "basic_auth.ini": auth_ini,
            },
            opts=child,
        )
        # Files the pod runs: our start-up script and, where the cloud needs them, Python
        # modules the image lacks. ConfigMap keys are flat names; `items` lay out the paths.
        scripts = k8s.core.v1.ConfigMap(
            f"{name}-scripts", metadata=metadata("mlflow-scripts", ns, labels),
            data={PREPARE_SCRIPT: PREPARE_SOURCE, history.FETCH_SCRIPT: history.FETCH_SOURCE}, opts=child,
        )
        modules = args.identity.python_modules
        python = None
        if modules:
            python = k8s.core.v1.ConfigMap(
                f"{name}-python", metadata=metadata("mlflow-python", ns, labels),
                data={_config_key(path): source for path, source in modules.items()}, opts=child,
            )
        config_checksum = pulumi.Output.unsecret(
            pulumi.Output.all(backend_uri, flask_secret.result, auth_ini).apply(
                lambda v: checksum(*v, PREPARE_SOURCE, history.FETCH_SOURCE, history.RESTORE_COMMAND,
                                   *(f"{k}\0{modules[k]}" for k in sorted(modules)))
            )
        )

        selector = {"app.kubernetes.io/name": "mlflow"}
        pod_labels = {**labels, **selector, **args.identity.pod_labels}
        # Secrets as environment variables only where the program reads nothing else: MLflow takes
        # its backend store URI and Flask secret key from the environment (or the command line,
        # which is worse: visible in the pod spec). The auth config (with its database URI) is a file.
        store_env = [
            _secret_env("MLFLOW_BACKEND_STORE_URI", server_secret),
            {"name": "MLFLOW_AUTH_CONFIG_PATH", "value": f"{AUTH_CONFIG_DIR}/basic_auth.ini"},
            {"name": "HOME", "value": "/tmp"},
        ]
        env = [
            *store_env,
            _secret_env("MLFLOW_FLASK_SERVER_SECRET_KEY", server_secret),
            # The load balancer's hostname is only known after it exists; access is limited
            # by its source ranges and by authentication, not by the Host header.
            {"name": "MLFLOW_SERVER_ALLOWED_HOSTS", "value": "*"},
            *({"name": k, "value": v} for k, v in SERVER_ENV.items()),
        ]
        identity_env = args.identity.env_vars()
        env.extend(identity_env)
        auth_mount = {"name": "auth", "mount_path": AUTH_CONFIG_DIR, "read_only": True}
        tmp_mount = {"name": "tmp", "mount_path": "/tmp"}
        extra_volumes, extra_mounts = [], []
        if python is not None:
            extra_volumes.append({"name": "python", "config_map": {
                "name": python.metadata.name,
                "items": [{"key": _config_key(path), "path": path} for path in sorted(modules)],
            }})
            extra_mounts.append({"name": "python", "mount_path": EXTRA_PYTHON_DIR, "read_only": True})
            identity_env.append({"name": "PYTHONPATH", "value": EXTRA_PYTHON_DIR})
            env.append(identity_env[-1])
        scripts_mount = {"name": "scripts", "mount_path": SCRIPTS_DIR, "read_only": True}
        # The last backup, restored into an empty database before `prepare` migrates it.
        restore = history.restore_init_containers(
            **history_db, backups_destination=args.backups_destination, backend_env=store_env[0],
            identity_env=identity_env, scripts_mount=scripts_mount, tmp_mount=tmp_mount, extra_mounts=extra_mounts,
        )
        # Migrations and the admin password, once, before any server worker starts.
        prepare = container(
            "prepare", versions.MLFLOW_IMAGE, ["python", f"{SCRIPTS_DIR}/{PREPARE_SCRIPT}"], store_env,
            resources("100m", "256Mi", "1", "1Gi"), [auth_mount, scripts_mount, tmp_mount],
        )
        deployment = k8s.apps.v1.Deployment(
            f"{name}-server",
            metadata=metadata("mlflow", ns, labels),
            spec={
                "replicas": 1,
                "selector": {"match_labels": selector},
                "template": {
                    "metadata": {"labels": pod_labels, "annotations": {CHECKSUM_ANNOTATION: config_checksum}},
                    "spec": {
                        "service_account_name": service_account.metadata.name,
                        "automount_service_account_token": False,
                        # Service links would put MLFLOW_PORT=tcp://... (the `mlflow` Service)
                        # into the environment, a variable MLflow's own --port option reads.
                        "enable_service_links": False,
                        "security_context": pod_security_context(UID),
                        "init_containers": [*restore, prepare],
                        "containers": [
                            {
                                "name": "mlflow",
                                "image": versions.MLFLOW_IMAGE,
                                "image_pull_policy": "IfNotPresent",
                                "command": ["mlflow"],
                                "args": [
                                    "server",
                                    "--host", "0.0.0.0",
                                    "--port", str(PORT),
                                    "--workers", str(WORKERS),
                                    "--artifacts-destination", args.artifacts_destination,
                                    "--serve-artifacts",
                                    "--app-name", "basic-auth",
                                ],
                                "ports": [{"name": "http", "container_port": PORT}],
                                "env": env,
                                "security_context": container_security_context(read_only_root=True),
                                # Requests what two workers use at idle (~610 MiB, README: tracker memory).
                                "resources": resources("250m", "768Mi", "1", "2Gi"),
                                # /health is served without authentication.
                                "readiness_probe": _health(period=10),
                                "liveness_probe": _health(period=30),
                                "volume_mounts": [auth_mount, tmp_mount, *extra_mounts],
                            }
                        ],
                        "volumes": [
                            {
                                "name": "auth",
                                "secret": {
                                    "secret_name": server_secret.metadata.name,
                                    "items": [{"key": "basic_auth.ini", "path": "basic_auth.ini"}],
                                },
                            },
                            {"name": "scripts", "config_map": {"name": scripts.metadata.name}},
                            {"name": "tmp", "empty_dir": {}},
                            history.restore_volume(),
                            *extra_volumes,
                        ],
                    },
                },
            },
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(
                    depends_on=[database, *cluster.ready_with_addons, *args.identity.depends_on, *key_secrets],
                    custom_timeouts=pulumi.CustomTimeouts(create="10m", update="10m"),
                ),
            ),
        )
        after_deployment = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[deployment]))
        if args.backup_id:
            # Only on what a deployed stack already has: the operator creates it alone (`up --target`).
            history.backup_job(
                f"{name}-backup-{args.backup_id}", args.backup_id, namespace=ns,
                service_account=service_account.metadata.name, uid=UID, **history_db,
                backups_destination=args.backups_destination, identity_env=identity_env,
                pod_labels=args.identity.pod_labels, labels=labels,
                extra_volumes=extra_volumes, extra_mounts=extra_mounts,
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
                    depends_on=[database, deployment, *cluster.ready_with_addons, *args.identity.depends_on,
                                *key_secrets])),
            )
        self.uri = self._behind_front_door(name, ns, selector, labels, args.front_door, child, after_deployment)
        self.namespaces = {args.namespace: namespace}
        self.username = args.username
        self.password = pulumi.Output.secret(admin_password.result)
        self.register_outputs({"uri": self.uri, "username": self.username, "password": self.password})

    def _behind_front_door(self, name, ns, selector, labels, door: FrontDoor, child, after_deployment) -> pulumi.Output[str]:
        """A ClusterIP Service, and an Istio Gateway (TLS on the door's port) + VirtualService routing to it."""
        service = k8s.core.v1.Service(
            f"{name}-svc",
            metadata=metadata("mlflow", ns, labels),
            spec={"type": "ClusterIP", "selector": selector,
                  "ports": [{"name": "http", "port": PORT, "target_port": PORT, "protocol": "TCP"}]},
            opts=after_deployment,
        )
        after_istio = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=door.ready))
        gateway = k8s.apiextensions.CustomResource(
            f"{name}-gateway",
            api_version=ISTIO_NETWORKING_API,
            kind="Gateway",
            metadata={"name": "mlflow", "namespace": ns, "labels": labels},
            spec={"selector": GATEWAY_SELECTOR, "servers": [door.server("https-mlflow")]},
            opts=after_istio,
        )
        k8s.apiextensions.CustomResource(
            f"{name}-route",
            api_version=ISTIO_NETWORKING_API,
            kind="VirtualService",
            metadata={"name": "mlflow", "namespace": ns, "labels": labels},
            spec={
                "hosts": ["*"],
                "gateways": ["mlflow"],  # the Gateway above, in this namespace
                "http": [{
                    "route": [{"destination": {"host": pulumi.Output.concat(service.metadata.name, ".", ns, ".svc.cluster.local"),
                                               "port": {"number": PORT}}}],
                    "timeout": "300s",  # artifact uploads through --serve-artifacts
                }],
            },
            opts=pulumi.ResourceOptions.merge(after_istio, pulumi.ResourceOptions(depends_on=[gateway, service])),
        )
        return door.url


def _config_key(path: str) -> str:
    """A ConfigMap key for a file path (keys may not hold '/')."""
    return path.replace("/", "__")


def _secret_env(key: str, secret: k8s.core.v1.Secret) -> dict:
    return {"name": key, "value_from": {"secret_key_ref": {"name": secret.metadata.name, "key": key}}}


def _health(period: int) -> dict:
    return {
        "http_get": {"path": "/health", "port": PORT},
        "initial_delay_seconds": 15,
        "period_seconds": period,
        "timeout_seconds": 5,
        "failure_threshold": 6,
    }
