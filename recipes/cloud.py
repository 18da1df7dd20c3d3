"""What a cloud hands to the cloud-agnostic parts of a stack.

Each provider package (`recipes.aws`, ...) implements `CloudRecipe`; the
program in `recipes.program` composes it with the Kubernetes workloads, which
only ever see these handles. This is the seam that keeps MLflow, the model
deployer and the outputs schema written once for all clouds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pulumi
    import pulumi_kubernetes as k8s

    from .spec import StackSpec


def kept(retain: bool, **options: Any) -> pulumi.ResourceOptions:
    """Options of a resource that holds the user's data (or that reading the data needs).

    Unless the stack goes with --delete-data: protected, so that `recipe destroy` leaves it
    (it destroys everything unprotected) and a change that would delete or replace it fails
    instead of happening; and retained, so that should it ever leave the program, it stays
    in the cloud."""
    import pulumi

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
    storage_class: str
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


@dataclass
class RegistryHandle:
    uri: pulumi.Output[str]
    resource: pulumi.Resource


@dataclass
class WorkloadIdentity:
    """How a Kubernetes service account gets cloud credentials without keys."""

    service_account_annotations: dict[str, Any] = field(default_factory=dict)
    pod_labels: dict[str, str] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    # Bindings that must exist before a pod starts, or it starts without credentials.
    depends_on: list[pulumi.Resource] = field(default_factory=list)
    # Python modules the workload's image lacks for this cloud's credentials, as
    # {import path: source} (e.g. "azure/identity/__init__.py"): mounted read-only from a
    # ConfigMap ahead of the image's packages. Nothing is downloaded when a pod starts.
    python_modules: dict[str, str] = field(default_factory=dict)


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

    def artifact_uri(self, bucket: BucketHandle, prefix: str) -> pulumi.Output[str]:
        """The URI MLflow stores artifacts under (s3://, gs://, wasbs://)."""
        ...
