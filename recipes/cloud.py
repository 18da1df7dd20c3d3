"""What a cloud hands to the cloud-agnostic parts of a stack.

Each provider package (`recipes.aws`, ...) implements `CloudRecipe`; the
program in `recipes.program` composes it with the Kubernetes workloads, which
only ever see these handles. This is the seam that keeps MLflow, the model
deployer and the outputs schema written once for all clouds. `ClusterComponent`
is what each cloud's cluster shares on its side of the seam: the kubeconfig, the
Kubernetes provider and the handle, written once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import pulumi

from . import kubeconfig

if TYPE_CHECKING:
    import pulumi_kubernetes as k8s

    from .spec import StackSpec


def kept(retain: bool, **options: Any) -> pulumi.ResourceOptions:
    """Options of a resource that holds the user's data (or that reading the data needs).

    Unless the stack goes with --delete-data: protected, so that `recipe destroy` leaves it
    (it destroys everything unprotected) and a change that would delete or replace it fails
    instead of happening; and retained, so that should it ever leave the program, it stays
    in the cloud."""
    return pulumi.ResourceOptions(retain_on_delete=retain, protect=retain, **options)


@dataclass
class ClusterHandle:
    name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]  # secret
    context: str
    provider: k8s.Provider
    # Every workload waits for these (the nodes), not for the whole cluster component.
    ready: list[pulumi.Resource]
    storage_class: str | None  # None: the cluster's default StorageClass (a cluster we did not create)
    # Pods with volumes or cloud identities also wait for these (storage driver, identity agent);
    # the rest (Istio, the model deployer) start without them.
    addons_ready: list[pulumi.Resource] = field(default_factory=list)

    @property
    def ready_with_addons(self) -> list[pulumi.Resource]:
        """What a pod with a volume or a cloud identity waits for."""
        return [*self.ready, *self.addons_ready]
    # Annotations that give a Service of type LoadBalancer the right cloud load balancer.
    load_balancer_annotations: dict[str, str] = field(default_factory=dict)
    # Where a load balancer's address appears in Service status ("hostname" on AWS, "ip" elsewhere).
    load_balancer_address: str = "ip"
    # CIDRs from which the stack's own pods and nodes reach its load balancers: a load balancer
    # restricted to --allow-cidr admits these too, or pipeline steps would be locked out of
    # MLflow (ZenML gives them the same public tracking URI as a laptop).
    internal_sources: list[pulumi.Input[str]] = field(default_factory=list)


@dataclass
class BucketHandle:
    name: pulumi.Output[str]
    uri: pulumi.Output[str]
    resource: pulumi.Resource
    account: pulumi.Output[str] | None = None
    # An S3-compatible bucket (the `kubernetes` provider): its S3 API as the stack's pods reach it, and its keys
    # (secrets) where the stack generated them; None where the keys are the user's (--bucket-secret).
    endpoint: pulumi.Input[str] | None = None
    access_key_id: pulumi.Output[str] | None = None
    secret_access_key: pulumi.Output[str] | None = None
    # Namespaces of ours the bucket runs in (an in-cluster object store), by name: segmented like the workloads'.
    namespaces: dict[str, pulumi.Resource] = field(default_factory=dict)


@dataclass
class RegistryHandle:
    uri: pulumi.Output[str]
    resource: pulumi.Resource


@dataclass
class WorkloadIdentity:
    """How a Kubernetes service account gets cloud credentials: without keys (the clouds' workload identity), or
    with static keys from a Secret in its namespace where the cluster has none (the `kubernetes` provider)."""

    service_account_annotations: dict[str, Any] = field(default_factory=dict)
    pod_labels: dict[str, str] = field(default_factory=dict)
    # {name: value}; a value that is a dict is the variable's valueFrom (e.g. {"secret_key_ref": {...}}):
    # static keys from a Secret, where a cluster has no workload identity (the `kubernetes` provider).
    env: dict[str, Any] = field(default_factory=dict)
    # Secrets the workload creates in its own namespace before its pods start, as {name: {key: value}}:
    # static keys copied where the pods that reference them run (a Secret is read in its namespace only).
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Bindings that must exist before a pod starts, or it starts without credentials.
    depends_on: list[pulumi.Resource] = field(default_factory=list)
    # Python modules the workload's image lacks for this cloud's credentials, as
    # {import path: source} (e.g. "azure/identity/__init__.py"): mounted read-only from a
    # ConfigMap ahead of the image's packages. Nothing is downloaded when a pod starts.
    python_modules: dict[str, str] = field(default_factory=dict)

    def env_vars(self) -> list[dict[str, Any]]:
        """`env` as a container's env entries."""
        return [{"name": k, "value_from": v} if isinstance(v, dict) else {"name": k, "value": v}
                for k, v in self.env.items()]


@dataclass
class StaticBucketAccess:
    """The bucket reached with keys at an S3 endpoint, where pods get no credentials from the cluster (the
    `kubernetes` provider): what the model servers' storage initializers are configured with, in the form each
    model deployer reads (recipes/kubernetes/deployer.py)."""

    access_key_id: pulumi.Input[str]  # secret
    secret_access_key: pulumi.Input[str]  # secret
    endpoint: pulumi.Input[str] | None  # the S3 API as the stack's pods reach it (http(s)://host[:port]); None: AWS S3
    region: pulumi.Input[str] | None = None  # None: the client's default
    # rclone's name for the S3 implementation (its s3 backend's `provider` option), which sets its quirks.
    s3_implementation: str = "Other"
    path_style: bool = True  # https://endpoint/bucket/key rather than https://bucket.endpoint/key


class CloudRecipe(Protocol):
    spec: StackSpec

    def cluster(self) -> ClusterHandle: ...

    def bucket(self) -> BucketHandle: ...

    def registry(self, cluster: ClusterHandle | None) -> RegistryHandle: ...

    def bucket_identity(
        self, purpose: str, cluster: ClusterHandle, bucket: BucketHandle, namespace: str, service_account: str
    ) -> WorkloadIdentity:
        """Read/write access to this stack's bucket only, for one service account."""
        ...

    def model_bucket_access(self, cluster: ClusterHandle, bucket: BucketHandle, namespace: str,
                            service_account: str) -> StaticBucketAccess | None:
        """How the model servers in `namespace` read the models in the bucket when nothing in the cluster gives
        their pods credentials. None (the clouds): the deployer's namespace gets no bucket keys."""
        return None

    def artifact_uri(self, bucket: BucketHandle, prefix: str) -> pulumi.Output[str]:
        """The URI MLflow stores artifacts under: `<bucket uri>/<prefix>` where MLflow reads the
        bucket's own URI (s3://, gs://); a cloud whose MLflow URI differs says so (wasbs://)."""
        return pulumi.Output.concat(bucket.uri, "/", prefix)


class ClusterComponent(pulumi.ComponentResource):
    """What every cloud's `Cluster` component shares: its kubeconfig, its Kubernetes provider, its handle.

    A subclass creates the cloud's control plane and nodes (`self.cluster`, whose `name` is
    the cluster's), calls `connect` with how to reach and sign in to the API server, and
    sets what the workloads wait for and where their traffic comes from (`ready`,
    `addons_ready`, `internal_sources`)."""

    # How the cloud's volumes and load balancers are asked for (see ClusterHandle).
    STORAGE_CLASS: ClassVar[str]
    LOAD_BALANCER_ANNOTATIONS: ClassVar[dict[str, str]] = {}
    LOAD_BALANCER_ADDRESS: ClassVar[str] = "ip"

    cluster: Any  # the cloud's cluster resource
    context: str
    endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    provider: k8s.Provider
    ready: list[pulumi.Resource]
    addons_ready: list[pulumi.Resource]
    internal_sources: list[pulumi.Input[str]]

    def connect(
        self, name: str, *, context: str, endpoint: pulumi.Output[str], ca_data: pulumi.Output[str | None],
        exec_auth: kubeconfig.ExecAuth, opts: pulumi.ResourceOptions,
    ) -> None:
        """The stack's kubeconfig (a secret) and the Kubernetes provider every workload is created with."""
        import pulumi_kubernetes as k8s

        self.context = context
        self.endpoint = endpoint
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(endpoint, ca_data).apply(
                lambda v: kubeconfig.render(
                    context=context, server=v[0], ca_data=v[1], command=exec_auth.command, args=exec_auth.args,
                    env=exec_auth.env,
                )
            )
        )
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            # No delete_unreachable: a cluster this machine cannot reach (a private endpoint, an
            # --allow-cidr without today's IP) is an error with the fix, never a reason to drop its
            # objects from the state. `recipe destroy --cluster-gone` covers a deleted cluster.
            opts=opts,
        )

    def register_cluster_outputs(self, **extra: pulumi.Input[str]) -> None:
        """The component's outputs: the cluster's name, endpoint, kubeconfig and context, and `extra`."""
        self.register_outputs(
            {"name": self.cluster.name, "endpoint": self.endpoint, "kubeconfig": self.kubeconfig, "context": self.context,
             **extra}
        )

    def handle(self) -> ClusterHandle:
        return ClusterHandle(
            name=self.cluster.name,
            endpoint=self.endpoint,
            kubeconfig=self.kubeconfig,
            context=self.context,
            provider=self.provider,
            ready=self.ready,
            addons_ready=self.addons_ready,
            storage_class=self.STORAGE_CLASS,
            load_balancer_annotations=dict(self.LOAD_BALANCER_ANNOTATIONS),
            load_balancer_address=self.LOAD_BALANCER_ADDRESS,
            internal_sources=self.internal_sources,
        )
