"""The user's cluster, as the workloads see it: a Kubernetes provider on their kubeconfig context, and a handle.

Nothing is created outside the cluster. The provider gets the kubeconfig's path (none: $KUBECONFIG or
~/.kube/config, as kubectl) and the context's name, never the file's content, so no credential of the user's
is copied into the Pulumi state by the provider. The `kubeconfig` output is the user's own context, cluster and
user (what `recipe export --format kubeconfig` writes), a Pulumi secret.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ..cloud import ClusterHandle
from . import kubeconfig

# What a plan shows for what only the user's kubeconfig knows.
PLACEHOLDER_ENDPOINT = "https://<cluster-endpoint>"
PLACEHOLDER_CONTEXT = "<current-context>"


@dataclass
class ExistingClusterArgs:
    context: str  # "": the kubeconfig's current-context
    kubeconfig: str  # "": $KUBECONFIG, else ~/.kube/config


class ExistingCluster(pulumi.ComponentResource):
    context: str
    name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    provider: k8s.Provider
    kept_provider: k8s.Provider  # adopts the objects a destroy kept (see __init__)

    def __init__(self, name: str, args: ExistingClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:existing:Cluster", name, None, opts)
        found = kubeconfig.read_context(args.kubeconfig, args.context)
        if found is None:  # a plan on a machine without the file or the context: placeholders, the same shape
            self.context = args.context or PLACEHOLDER_CONTEXT
            cluster_name, server = self.context, PLACEHOLDER_ENDPOINT
            config = kubeconfig.placeholder(self.context, server)
        else:
            self.context, cluster_name, server, config = found.name, found.cluster, found.server, found.kubeconfig
        self.name = pulumi.Output.from_input(cluster_name)
        self.endpoint = pulumi.Output.from_input(server)
        self.kubeconfig = pulumi.Output.secret(config)
        # A path (the SDK would take $KUBECONFIG's as it is), marked secret like every provider's kubeconfig.
        path = pulumi.Output.secret(kubeconfig.provider_path(args.kubeconfig))
        # Pinned once known: a later change of the current-context never moves the stack to another cluster.
        context = None if self.context == PLACEHOLDER_CONTEXT else self.context
        self.provider = k8s.Provider(f"{name}-k8s", kubeconfig=path, context=context, enable_server_side_apply=True,
                                     opts=pulumi.ResourceOptions(parent=self))
        # The same cluster, for the objects `recipe destroy` keeps (kept(): the object store's namespace and
        # volume claim) and only for them. A plain destroy keeps them in the state too (teardown.kept_urns), so
        # the next deploy finds them there. pulumi-kubernetes >= 4.29 creates with a create that fails
        # AlreadyExists on an object that exists; upsertExistingObjects makes that create an apply, so a
        # deploy whose state no longer holds them (the stack removed from its backend after a destroy, another
        # backend, a state restored from an older backup) adopts the kept namespace and claim, and with them
        # the bound volume and its data, instead of failing. Safe for these two: their names are fixed
        # (namespace `objectstore`, claim `objectstore/objectstore-data`) and they are protected, so the
        # risk the SDK names (a rename without an alias planned as create-then-delete of the same object,
        # the create adopting it and the delete removing it) ends in a refused delete, not a lost volume.
        # Every other object of ours also has a fixed name (namespaces mlflow, zenml, istio-system,
        # cert-manager, seldon-system, ...; Secrets, Services, Deployments, Helm releases): they stay on the
        # strict provider, so a namespace the cluster already has for someone else (the platform team's
        # istio-system) fails the deploy with AlreadyExists instead of being adopted, and later deleted by
        # our destroy. A destroy deleted all of them, so a redeploy finds none of them in its way.
        self.kept_provider = k8s.Provider(f"{name}-k8s-kept", kubeconfig=path, context=context,
                                          enable_server_side_apply=True, upsert_existing_objects=True,
                                          opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({"name": self.name, "endpoint": self.endpoint, "kubeconfig": self.kubeconfig,
                               "context": self.context})

    def handle(self) -> ClusterHandle:
        return ClusterHandle(
            name=self.name, endpoint=self.endpoint, kubeconfig=self.kubeconfig, context=self.context,
            provider=self.provider,
            ready=[],  # the cluster is up: nothing of ours to wait for
            storage_class=None,  # the cluster's default StorageClass
            # Which addresses the cluster's own pods reach a load balancer from is unknown here (it depends on the
            # cluster's network and load balancer implementation): none are added to --allow-cidr's ranges.
            internal_sources=[],
        )
