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
from . import namespaces, versions
from .ingress import GATEWAY_SELECTOR, ISTIO_NETWORKING_API, FrontDoor
from .loadbalancer import load_balancer
from .postgres import Postgres, PostgresArgs
from .workload import RESTRICTED_NAMESPACE_LABELS, container_security_context, metadata, pod_security_context, resources

PORT = 5000
# Its port on the stack's shared ingress load balancer, when there is one.
FRONT_DOOR_PORT = 5000
UID = 1000
AUTH_CONFIG_DIR = "/etc/mlflow-auth"
EXTRA_PYTHON_DIR = "/opt/python-extra"


@dataclass
class MlflowServerArgs:
    cluster: ClusterHandle
    artifacts_destination: pulumi.Input[str]
    identity: WorkloadIdentity
    labels: dict[str, str]
    allow_cidrs: tuple[str, ...] = ()
    namespace: str = namespaces.MLFLOW_NAMESPACE
    service_account: str = namespaces.MLFLOW_SERVICE_ACCOUNT
    username: str = namespaces.MLFLOW_USERNAME
    # Served through the shared ingress load balancer (with the model deployer) instead of its own.
    front_door: FrontDoor | None = None


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

        database = Postgres(
            f"{name}-db",
            PostgresArgs(
                namespace=ns, cluster=cluster, password=db_password.result, user="mlflow",
                database="mlflow", extra_databases=("mlflow_auth",), labels=labels,
            ),
            opts=plain,
        )
        backend_uri = database.uri("mlflow", db_password.result, "mlflow")
        auth_uri = database.uri("mlflow", db_password.result, "mlflow_auth")
        auth_ini = pulumi.Output.secret(
            pulumi.Output.all(auth_uri, admin_password.result).apply(
                lambda v: _basic_auth_ini(database_uri=v[0], username=args.username, password=v[1])
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

        selector = {"app.kubernetes.io/name": "mlflow"}
        pod_labels = {**labels, **selector, **args.identity.pod_labels}
        env = [
            _secret_env("MLFLOW_BACKEND_STORE_URI", server_secret),
            _secret_env("MLFLOW_FLASK_SERVER_SECRET_KEY", server_secret),
            {"name": "MLFLOW_AUTH_CONFIG_PATH", "value": f"{AUTH_CONFIG_DIR}/basic_auth.ini"},
            # The load balancer's hostname is only known after it exists; access is limited
            # by its source ranges and by authentication, not by the Host header.
            {"name": "MLFLOW_SERVER_ALLOWED_HOSTS", "value": "*"},
            {"name": "HOME", "value": "/tmp"},
            *({"name": k, "value": v} for k, v in args.identity.env.items()),
        ]
        extra_volumes, extra_mounts, init_containers = [], [], []
        if args.identity.python_packages:
            # The image lacks this cloud's credential library: install the pinned
            # packages into a scratch volume before the server starts.
            extra_volumes.append({"name": "python-extra", "empty_dir": {}})
            extra_mounts.append({"name": "python-extra", "mount_path": EXTRA_PYTHON_DIR, "read_only": True})
            env.append({"name": "PYTHONPATH", "value": EXTRA_PYTHON_DIR})
            init_containers.append(
                {
                    "name": "python-extra",
                    "image": versions.MLFLOW_IMAGE,
                    "command": ["pip", "install", "--no-cache-dir", "--disable-pip-version-check",
                                "--target", EXTRA_PYTHON_DIR, *args.identity.python_packages],
                    "env": [{"name": "HOME", "value": "/tmp"}],
                    "security_context": container_security_context(read_only_root=True),
                    "resources": resources("100m", "128Mi", "1", "512Mi"),
                    "volume_mounts": [{"name": "python-extra", "mount_path": EXTRA_PYTHON_DIR}, {"name": "tmp", "mount_path": "/tmp"}],
                }
            )
        deployment = k8s.apps.v1.Deployment(
            f"{name}-server",
            metadata=metadata("mlflow", ns, labels),
            spec={
                "replicas": 1,
                "selector": {"match_labels": selector},
                "template": {
                    "metadata": {"labels": pod_labels},
                    "spec": {
                        "service_account_name": service_account.metadata.name,
                        "automount_service_account_token": False,
                        "security_context": pod_security_context(UID),
                        "init_containers": init_containers,
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
                                    "--artifacts-destination", args.artifacts_destination,
                                    "--serve-artifacts",
                                    "--app-name", "basic-auth",
                                ],
                                "ports": [{"name": "http", "container_port": PORT}],
                                "env": env,
                                "security_context": container_security_context(read_only_root=True),
                                "resources": resources("250m", "512Mi", "1", "2Gi"),
                                # /health is served without authentication.
                                "readiness_probe": _health(period=10),
                                "liveness_probe": _health(period=30),
                                "volume_mounts": [
                                    {"name": "auth", "mount_path": AUTH_CONFIG_DIR, "read_only": True},
                                    {"name": "tmp", "mount_path": "/tmp"},
                                    *extra_mounts,
                                ],
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
                            {"name": "tmp", "empty_dir": {}},
                            *extra_volumes,
                        ],
                    },
                },
            },
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(
                    depends_on=[database, *cluster.ready_with_addons, *args.identity.depends_on],
                    custom_timeouts=pulumi.CustomTimeouts(create="10m", update="10m"),
                ),
            ),
        )
        after_deployment = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[deployment]))
        if args.front_door is None:
            _, self.uri = load_balancer(
                f"{name}-lb", ns, selector=selector, port=80, target_port=PORT, cluster=cluster,
                allow_cidrs=args.allow_cidrs, labels=labels, opts=after_deployment,
            )
        else:
            self.uri = self._behind_front_door(name, ns, selector, labels, args.front_door, child, after_deployment)
        self.username = args.username
        self.password = pulumi.Output.secret(admin_password.result)
        self.register_outputs({"uri": self.uri, "username": self.username, "password": self.password})

    def _behind_front_door(self, name, ns, selector, labels, door: FrontDoor, child, after_deployment) -> pulumi.Output[str]:
        """A ClusterIP Service, and an Istio Gateway + VirtualService on the door's port routing to it."""
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
            spec={"selector": GATEWAY_SELECTOR,
                  "servers": [{"port": {"number": door.port, "name": "http-mlflow", "protocol": "HTTP"}, "hosts": ["*"]}]},
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


def _basic_auth_ini(database_uri: str, username: str, password: str) -> str:
    # configparser treats % as interpolation: double it in values.
    def esc(value: str) -> str:
        return value.replace("%", "%%")

    return (
        "[mlflow]\n"
        "default_permission = READ\n"
        f"database_uri = {esc(database_uri)}\n"
        f"admin_username = {esc(username)}\n"
        f"admin_password = {esc(password)}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )


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
