"""The namespace ZenML's Kubernetes orchestrator runs pipeline steps in.

Its service account gets the stack's bucket through workload identity, so
steps can read and write artifacts without any key in the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ..cloud import ClusterHandle, WorkloadIdentity
from . import namespaces
from .workload import metadata


@dataclass
class PipelinesNamespaceArgs:
    cluster: ClusterHandle
    labels: dict[str, str]
    identity: WorkloadIdentity | None = None


class PipelinesNamespace(pulumi.ComponentResource):
    namespace: pulumi.Output[str]
    service_account: pulumi.Output[str]

    def __init__(self, name: str, args: PipelinesNamespaceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:kubernetes:PipelinesNamespace", name, None, opts)
        identity = args.identity or WorkloadIdentity()
        child = pulumi.ResourceOptions(parent=self, provider=args.cluster.provider)
        namespace = k8s.core.v1.Namespace(
            f"{name}-ns", metadata={"name": namespaces.PIPELINES_NAMESPACE, "labels": args.labels}, opts=child
        )
        ns = namespace.metadata.name
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=metadata(
                namespaces.PIPELINES_SERVICE_ACCOUNT, ns, args.labels,
                annotations=identity.service_account_annotations,
            ),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=identity.depends_on)),
        )
        # The orchestrator pod creates one pod per step: `edit` in this namespace only.
        k8s.rbac.v1.RoleBinding(
            f"{name}-edit",
            metadata=metadata("zenml-edit", ns, args.labels),
            role_ref={"api_group": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
            subjects=[{"kind": "ServiceAccount", "name": account.metadata.name, "namespace": ns}],
            opts=child,
        )
        self.namespace = ns
        self.service_account = account.metadata.name
        self.register_outputs({"namespace": self.namespace, "service_account": self.service_account})
