"""The Azure recipe: VNet, AKS, storage account, ACR and workload identities for the shared workloads.

Two resource groups, so that a destroy cannot take the user's data with it (D1):

- the main group (`rg-<stack>-<suffix>`) holds the network, the cluster, its
  identities and the workload identities; deleting the stack deletes it and
  everything in it;
- the data group (`rg-<stack>-data-<suffix>`) holds the storage account and the
  container registry. The group and everything in it are `retain_on_delete`
  unless the stack is destroyed with --delete-data, so a plain destroy leaves
  the data group, the artifacts and the images exactly as they were. With
  --delete-data nothing is retained and the data group goes too.

Options (each costs money or changes how the stack is reached):

- --kms: a Key Vault and key in the data group (`kms.Kms`), kept with the data;
  the storage account and the registry (then Premium) encrypt with it, and AKS
  envelope-encrypts its secrets with it.
- --private-endpoint: a private AKS API server, reachable only from the VNet.
- --audit-logs (prod): control-plane and blob access logs in a Log Analytics
  workspace, VNet flow logs in a log storage account, all in the data group and
  kept with the data (`audit.AuditLogs`).
- --network-rules (prod): the storage account and the registry (then Premium) deny
  by default and admit the cluster's network and --allow-cidr (`firewall.py`);
  `network_rules_warning` says what that means for the deploying machine.

NetworkPolicies are always enforced: Azure CNI powered by Cilium (cluster.py).

--admin: each listed Entra principal administers the cluster (cluster.py) and
gets "Storage Blob Data Contributor" on the stack's blob container and "AcrPush"
on its registry (here), one assignment each, named after the principal.

Azure-native has no provider-wide default tags: every taggable resource gets
`spec.labels()` explicitly. The subscription comes from the environment at
deploy time (ARM_SUBSCRIPTION_ID or the Azure CLI login); the location from the spec.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.resources as resources
from pulumi_azure_native.provider import Provider

from ..cloud import BucketHandle, CloudRecipe, ClusterHandle, RegistryHandle, WorkloadIdentity, kept
from ..spec import StackSpec
from .audit import AuditLogs, AuditLogsArgs, log_account_name
from .bucket import Bucket, BucketArgs
from .cluster import Cluster, ClusterArgs
from .firewall import STORAGE_SERVICE_ENDPOINT, Firewall, ip_rule_values, network_rules_warning
from .identity import BucketAccess, BucketAccessArgs
from .kms import ClusterKms, Kms, KmsArgs
from .network import Network, NetworkArgs
from .placement import Placement
from .registry import Registry, RegistryArgs
from .roles import ACR_PUSH, STORAGE_BLOB_DATA_CONTRIBUTOR, Roles, admin_principals

WORKLOAD_CREDENTIAL_SOURCE = (Path(__file__).parent / "workload_credential.py").read_text(encoding="utf-8")

# MLflow's Azure artifact repository authenticates with `azure.identity.DefaultAzureCredential`,
# which the MLflow image lacks: the pod gets our standard-library workload identity credential
# as that module instead (why: see workload_credential.py).
AZURE_IDENTITY_MODULE = "azure/identity/__init__.py"
WORKLOAD_IDENTITY_LABEL = "azure.workload.identity/use"
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"

__all__ = ["Recipe", "network_rules_warning"]


class Recipe(CloudRecipe):
    """Implements `recipes.cloud.CloudRecipe` for Azure."""

    def __init__(self, spec: StackSpec):
        self.spec = spec
        self.tags = spec.labels()
        # One explicit provider: the location comes from the spec, never from the environment.
        self.provider = Provider("azure", location=spec.region)
        self.opts = pulumi.ResourceOptions(providers=[self.provider])
        self._client: pulumi.Output | None = None
        self._roles: Roles | None = None
        self._kms: Kms | None = None
        self._main_group: resources.ResourceGroup | None = None
        self._data_group: resources.ResourceGroup | None = None
        self._cluster: Cluster | None = None
        self._network: Network | None = None
        self._audit: AuditLogs | None = None

    # --- shared pieces, created only when a component needs them -----------------
    @property
    def retain_data(self) -> bool:
        return not self.spec.delete_data

    def client(self):
        """Who deploys: subscription, tenant and object id, from the deploy's credentials."""
        if self._client is None:
            self._client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(provider=self.provider))
        return self._client

    def roles(self) -> Roles:
        if self._roles is None:
            client = self.client()
            # The deployer's object id as a value, not an Output: which assignments exist depends on
            # whether the deployer is one of the --admins (one assignment per principal and role).
            deployer = authorization.get_client_config(opts=pulumi.InvokeOptions(provider=self.provider)).object_id
            self._roles = Roles(
                subscription_id=client.subscription_id,
                deployer_object_id=deployer,
                stack=self.spec.name,
                suffix=self.spec.names.suffix,
                admins=tuple(admin_principals(self.spec.admins)),
            )
        return self._roles

    def main_group(self) -> resources.ResourceGroup:
        if self._main_group is None:
            self._main_group = resources.ResourceGroup(
                "group",
                resource_group_name=self.spec.names.resource_group(),
                location=self.spec.region,
                tags=self.tags,
                opts=pulumi.ResourceOptions(provider=self.provider),
            )
        return self._main_group

    def data_group(self) -> resources.ResourceGroup:
        if self._data_group is None:
            self._data_group = resources.ResourceGroup(
                "data-group",
                resource_group_name=self.spec.names.resource_group("data"),
                location=self.spec.region,
                tags=self.tags,
                opts=kept(self.retain_data, provider=self.provider),
            )
        return self._data_group

    def kms(self) -> Kms | None:
        """--kms: the stack's Key Vault and key, in the data group and kept with the data (D1)."""
        if not self.spec.kms:
            return None
        if self._kms is None:
            spec = self.spec
            self._kms = Kms(
                "kms",
                KmsArgs(
                    vault_name=spec.names.key_vault(),
                    identity_name=spec.names.managed_identity("encryption"),
                    resource_group_name=self.data_group().name,
                    location=spec.region,
                    tenant_id=self.client().tenant_id,
                    tags=self.tags,
                    roles=self.roles(),
                    # What encrypts at rest with the key: the bucket, the registry, the flow log account.
                    encryption_identity=spec.has("bucket") or spec.has("registry") or (spec.audit_logs and spec.has("cluster")),
                    retain=self.retain_data,
                ),
                opts=self.opts,
            )
        return self._kms

    def firewall(self, subnet_id: pulumi.Input[str] | None = None,
                 addresses: tuple[pulumi.Input[str], ...] = ()) -> Firewall | None:
        """--network-rules: what a data service admits besides trusted Azure services (B7); None without it."""
        if not self.spec.network_rules:
            return None
        return Firewall(ip_rules=ip_rule_values(self.spec.allow_cidrs), subnet_id=subnet_id, addresses=list(addresses))

    def audit(self) -> AuditLogs | None:
        """--audit-logs: the stack's Log Analytics workspace (and log account), kept with the data (D1)."""
        if not self.spec.audit_logs:
            return None
        if self._audit is None:
            spec = self.spec
            self._audit = AuditLogs(
                "audit",
                AuditLogsArgs(
                    workspace_name=f"log-{spec.name}",
                    log_account_name=log_account_name(spec.names.alnum, spec.names.suffix),
                    resource_group_name=self.data_group().name,
                    location=spec.region,
                    tags=self.tags,
                    roles=self.roles(),
                    retain=self.retain_data,
                    firewall=self.firewall(),
                    encryption=self.kms().encryption() if self.spec.kms and spec.has("cluster") else None,
                ),
                opts=self.opts,
            )
        return self._audit

    # --- CloudRecipe ---------------------------------------------------------------
    def cluster(self) -> ClusterHandle:
        spec = self.spec
        group = self.main_group()
        kms = self.kms()
        # --network-rules: the storage account admits the node subnet (service endpoint), the registry
        # the cluster's own outbound address.
        rules = spec.network_rules
        network = self._network = Network(
            "network",
            NetworkArgs(
                name=f"vnet-{spec.name}", resource_group_name=group.name, location=spec.region, tags=self.tags,
                service_endpoints=(STORAGE_SERVICE_ENDPOINT,) if rules and spec.has("bucket") else (),
                egress_ip_name=f"pip-{spec.name}-egress" if rules and spec.has("registry") else None,
            ),
            opts=self.opts,
        )
        self._cluster = Cluster(
            "cluster",
            ClusterArgs(
                name=spec.names.aks_cluster(),
                resource_group_name=group.name,
                location=spec.region,
                dns_prefix=spec.name,
                node_subnet_id=network.node_subnet_id,
                node_cidr=network.node_cidr,
                node_type=spec.node_type,
                min_nodes=spec.min_nodes,
                max_nodes=spec.max_nodes,
                tags=self.tags,
                context=spec.names.kube_context(),
                identity_name=spec.names.managed_identity("aks"),
                roles=self.roles(),
                version=spec.kubernetes_version,
                allow_cidrs=spec.allow_cidrs,
                private_endpoint=spec.private_endpoint,
                kms=ClusterKms(key_uri_with_version=kms.key_uri_with_version, key_id=kms.key_id) if kms else None,
                egress_ip_id=network.egress_ip.id if network.egress_ip is not None else None,
            ),
            opts=self.opts,
        )
        audit = self.audit()
        if audit is not None:
            audit.control_plane("cluster-audit-logs", self._cluster.cluster.id, parent=self._cluster)  # C2
            audit.flow_logs(  # L1
                "network-flow-logs", vnet=network.vnet,
                placement=Placement(resource_group_name=group.name, location=spec.region, tags=self.tags),
                identity_name=spec.names.managed_identity("flowlogs"),
                flow_log_name=f"flowlog-{spec.name}-{spec.names.suffix}", parent=network,
            )
        return self._cluster.handle()

    def bucket(self) -> BucketHandle:
        kms = self.kms()
        bucket = Bucket(
            "bucket",
            BucketArgs(
                account_name=self.spec.names.storage_account(),
                container_name=self.spec.names.blob_container(),
                resource_group_name=self.data_group().name,
                location=self.spec.region,
                tags=self.tags,
                roles=self.roles(),
                retain=self.retain_data,
                encryption=kms.encryption() if kms else None,
                firewall=self.firewall(subnet_id=self._network.node_subnet_id if self._network else None),
            ),
            opts=self.opts,
        )
        audit = self.audit()
        if audit is not None:  # L2
            audit.blob_access("bucket-access-logs", bucket.account.id, bucket.blob_service, parent=bucket)
        # --admin: blobs of the stack's container (the deployer's own grant is on the account, in
        # bucket.py).
        self.roles().grant_admins(
            "bucket", role=STORAGE_BLOB_DATA_CONTRIBUTOR, scope=bucket.container.id,
            what=f"reads and writes blobs of {self.spec.names.storage_account()}", parent=bucket,
        )
        return BucketHandle(name=bucket.name, uri=bucket.uri, resource=bucket, account=bucket.account_name)

    def registry(self, cluster: ClusterHandle | None) -> RegistryHandle:
        kms = self.kms()
        registry = Registry(
            "registry",
            RegistryArgs(
                name=self.spec.names.container_registry(),
                resource_group_name=self.data_group().name,
                location=self.spec.region,
                tags=self.tags,
                roles=self.roles(),
                kubelet_object_id=self._cluster.kubelet_object_id if cluster is not None and self._cluster else None,
                retain=self.retain_data,
                encryption=kms.encryption() if kms else None,
                firewall=self.firewall(addresses=self._egress_address(cluster)),
            ),
            opts=self.opts,
        )
        self.roles().grant_admins(  # --admin: push and pull images
            "registry", role=ACR_PUSH, scope=registry.registry.id,
            what=f"pushes and pulls images of {self.spec.names.container_registry()}", parent=registry,
        )
        return RegistryHandle(uri=registry.uri, resource=registry)

    def _egress_address(self, cluster: ClusterHandle | None) -> tuple[pulumi.Output[str], ...]:
        """The cluster's outbound address, which the registry admits (--network-rules)."""
        egress = self._network.egress_ip if cluster is not None and self._network is not None else None
        return (egress.ip_address.apply(lambda address: address or ""),) if egress is not None else ()

    def bucket_identity(
        self, purpose: str, cluster: ClusterHandle, bucket: BucketHandle, namespace: str, service_account: str
    ) -> WorkloadIdentity:
        assert self._cluster is not None, "bucket_identity needs this recipe's cluster"
        access = BucketAccess(
            f"{purpose}-identity",
            BucketAccessArgs(
                identity_name=self.spec.names.managed_identity(purpose),
                resource_group_name=self.main_group().name,
                location=self.spec.region,
                tags=self.tags,
                oidc_issuer_url=self._cluster.oidc_issuer_url,
                namespace=namespace,
                service_account=service_account,
                storage_account_id=bucket.resource.account_id,  # type: ignore[attr-defined]
                roles=self.roles(),
            ),
            opts=self.opts,
        )
        return WorkloadIdentity(
            service_account_annotations={CLIENT_ID_ANNOTATION: access.client_id},
            pod_labels={WORKLOAD_IDENTITY_LABEL: "true"},
            env={"AZURE_STORAGE_ACCOUNT": bucket.account},
            depends_on=[access.credential, access.role_assignment],
            python_modules={AZURE_IDENTITY_MODULE: WORKLOAD_CREDENTIAL_SOURCE},
        )

    def artifact_uri(self, bucket: BucketHandle, prefix: str) -> pulumi.Output[str]:
        # MLflow's Azure Blob artifact repository: wasbs://<container>@<account>.blob.core.windows.net/<path>
        return pulumi.Output.concat("wasbs://", bucket.name, "@", bucket.account, ".blob.core.windows.net/", prefix)
