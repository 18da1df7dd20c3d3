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
from .ingress import tls
from .workload import identity_secrets, metadata, user_workload_namespace_labels


@dataclass
class PipelinesNamespaceArgs:
    cluster: ClusterHandle
    labels: dict[str, str]
    identity: WorkloadIdentity | None = None
    # The stack CA's PEM, for pipeline steps that call MLflow over HTTPS (None: a public CA, or no front door).
    ca_certificate: pulumi.Output[str] | None = None


class PipelinesNamespace(pulumi.ComponentResource):
    namespace: pulumi.Output[str]
    service_account: pulumi.Output[str]

    def __init__(self, name: str, args: PipelinesNamespaceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:kubernetes:PipelinesNamespace", name, None, opts)
        identity = args.identity or WorkloadIdentity()
        child = pulumi.ResourceOptions(parent=self, provider=args.cluster.provider)
        namespace = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata={"name": namespaces.PIPELINES_NAMESPACE, "labels": {**args.labels, **user_workload_namespace_labels()}},
            opts=child,
        )
        self.namespaces = {namespaces.PIPELINES_NAMESPACE: namespace}
        ns = namespace.metadata.name
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=metadata(
                namespaces.PIPELINES_SERVICE_ACCOUNT, ns, args.labels,
                annotations=identity.service_account_annotations,
            ),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=identity.depends_on)),
        )
        # Static keys to the bucket (a cluster without workload identity): ZenML's step pods read them here.
        identity_secrets(name, identity.secrets, ns, args.labels, child)
        # The orchestrator pod creates one pod per step: `edit` in this namespace only.
        k8s.rbac.v1.RoleBinding(
            f"{name}-edit",
            metadata=metadata("zenml-edit", ns, args.labels),
            role_ref={"api_group": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
            subjects=[{"kind": "ServiceAccount", "name": account.metadata.name, "namespace": ns}],
            opts=child,
        )
        if args.ca_certificate is not None:
            # Mounted by the ZenML orchestrator's pod settings (provisioner/stacks/exporters.py).
            k8s.core.v1.ConfigMap(
                f"{name}-ca",
                metadata=metadata(tls.CA_CONFIGMAP, ns, args.labels),
                data={tls.CA_CONFIGMAP_KEY: args.ca_certificate},
                opts=child,
            )
        self.namespace = ns
        self.service_account = account.metadata.name
        self.register_outputs({"namespace": self.namespace, "service_account": self.service_account})
