"""The GCP recipe: APIs, VPC, GKE, GCS, Artifact Registry and workload identities for the shared workloads.

Options: `--kms` adds one Cloud KMS key for the bucket, the registry and the
cluster's Secrets (encryption.py); `--private-endpoint` removes the cluster's
public API endpoint (cluster.py); `--admin` gives IAM members cluster-admin
(cluster.py), the bucket's objects (bucket.py) and push/pull on the repository (registry.py);
`--audit-logs` adds the subnet's flow logs (network.py), the control plane's own logs and
intranode visibility (cluster.py) and the bucket's access logs in a log bucket (bucket.py).
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from ..cloud import BucketHandle, CloudRecipe, ClusterHandle, RegistryHandle, WorkloadIdentity
from ..spec import StackSpec
from .apis import Apis, ApisArgs, required_apis
from .bucket import Bucket, BucketArgs
from .cluster import Cluster, ClusterArgs
from .encryption import Encryption, EncryptionArgs
from .identity import BucketAccess, BucketAccessArgs
from .network import NODES_CIDR, PODS_CIDR, Network, NetworkArgs
from .registry import Registry, RegistryArgs

# The Google service account of each workload identity purpose (6-30 characters, so short).
SERVICE_ACCOUNT_PART = {"mlflow": "mlflow", "pipelines": "pipes"}


class Recipe(CloudRecipe):
    """Implements `recipes.cloud.CloudRecipe` for GCP."""

    def __init__(self, spec: StackSpec):
        assert spec.project is not None  # guaranteed by spec validation for gcp stacks
        self.spec = spec
        self.project: str = spec.project
        # One explicit provider: project and region come from the spec, never from the
        # environment or gcloud config, and default_labels put `recipe-stack=<name>` on
        # every resource that takes labels.
        self.provider = gcp.Provider("gcp", project=spec.project, region=spec.region, default_labels=spec.labels())
        self.opts = pulumi.ResourceOptions(providers=[self.provider])
        options = ("kms",) if spec.kms else ()
        self.apis = Apis("apis", ApisArgs(project=spec.project, apis=required_apis(spec.components, options)), opts=self.opts)
        self._cluster: Cluster | None = None
        self.encryption: Encryption | None = None
        if spec.kms:
            names = spec.names
            self.encryption = Encryption(
                "encryption",
                EncryptionArgs(
                    key_ring_prefix=names.global_("keys"),
                    key_name=names.resource("data"),
                    project=self.project,
                    location=spec.region,
                    components=spec.components,
                    retain=not spec.delete_data,
                    apis=self.apis.of("kms"),
                    agent_apis={c: self.apis.of(c) for c in ("bucket", "registry", "cluster")},
                ),
                opts=self.opts,
            )

    def _key(self, component: str) -> tuple[pulumi.Output[str] | None, list[pulumi.Resource]]:
        """The stack's key for `component`'s data and the grant to wait for (none without --kms)."""
        if self.encryption is None:
            return None, []
        return self.encryption.key_id, self.encryption.access(component)

    def cluster(self) -> ClusterHandle:
        spec, names = self.spec, self.spec.names  # the spec refuses a private endpoint with public nodes
        secrets_key, key_access = self._key("cluster")
        network = Network(
            "network",
            NetworkArgs(
                network_name=names.global_("vpc"),
                subnet_name=names.resource("nodes"),
                router_name=names.resource("router"),
                nat_name=names.resource("nat"),
                nat_address_name=names.resource("nat-ip"),
                region=spec.region,
                nat=spec.network == "private",
                flow_logs=spec.audit_logs,
                apis=self.apis.of("cluster"),
            ),
            opts=self.opts,
        )
        self._cluster = Cluster(
            "cluster",
            ClusterArgs(
                name=names.gke_cluster(),
                project=self.project,
                location=spec.region if spec.regional else (spec.zone or f"{spec.region}-b"),
                network_id=network.network_id,
                subnet_id=network.subnet_id,
                node_type=spec.node_type,
                min_nodes=spec.min_nodes,
                max_nodes=spec.max_nodes,
                spot=spec.spot,
                labels=spec.labels(),
                context=names.kube_context(),
                node_service_account_id=names.gcp_service_account("nodes"),
                private_nodes=spec.network == "private",
                version=spec.kubernetes_version,
                allow_cidrs=spec.allow_cidrs,
                private_endpoint=spec.private_endpoint,
                internal_cidrs=(NODES_CIDR, PODS_CIDR),
                nat_address=network.nat_address,
                secrets_key=secrets_key,
                key_access=key_access,
                network_routes=network.routes,
                apis=self.apis.of("cluster"),
                admins=spec.admins,
                audit_logs=spec.audit_logs,
            ),
            opts=self.opts,
        )
        return self._cluster.handle()

    def bucket(self) -> BucketHandle:
        kms_key_name, key_access = self._key("bucket")
        bucket = Bucket(
            "bucket",
            BucketArgs(
                name=self.spec.names.gcs_bucket(),
                location=self.spec.region,
                retain=not self.spec.delete_data,
                apis=self.apis.of("bucket"),
                kms_key_name=kms_key_name,
                key_access=key_access,
                admins=self.spec.admins,
                access_log_bucket=self.spec.names.gcs_log_bucket() if self.spec.audit_logs else None,
            ),
            opts=self.opts,
        )
        return BucketHandle(name=bucket.name, uri=bucket.uri, resource=bucket, account=None)

    def registry(self, cluster: ClusterHandle | None) -> RegistryHandle:
        nodes = self._cluster.node_service_account.member if cluster is not None and self._cluster is not None else None
        kms_key_name, key_access = self._key("registry")
        registry = Registry(
            "registry",
            RegistryArgs(
                repository_id=self.spec.names.artifact_registry(),
                project=self.project,
                location=self.spec.region,
                immutable_tags=self.spec.immutable_tags,
                retain=not self.spec.delete_data,
                node_service_account_member=nodes,
                apis=self.apis.of("registry"),
                kms_key_name=kms_key_name,
                key_access=key_access,
                admins=self.spec.admins,
            ),
            opts=self.opts,
        )
        return RegistryHandle(uri=registry.uri, resource=registry)

    def bucket_identity(
        self, purpose: str, cluster: ClusterHandle, bucket: BucketHandle, namespace: str, service_account: str
    ) -> WorkloadIdentity:
        access = BucketAccess(
            f"{purpose}-identity",
            BucketAccessArgs(
                account_id=self.spec.names.gcp_service_account(SERVICE_ACCOUNT_PART[purpose]),
                project=self.project,
                bucket_name=bucket.name,
                namespace=namespace,
                service_account=service_account,
                cluster=self._cluster.cluster if self._cluster is not None else None,
                apis=self.apis.of("cluster", "bucket"),
            ),
            opts=self.opts,
        )
        return WorkloadIdentity(
            service_account_annotations={"iam.gke.io/gcp-service-account": access.email},
            env={"GOOGLE_CLOUD_PROJECT": self.project},
            depends_on=[access],
        )
