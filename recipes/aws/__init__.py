"""The AWS recipe: VPC, EKS, S3, ECR and pod identities for the shared workloads."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from ..cloud import BucketHandle, CloudRecipe, ClusterHandle, RegistryHandle, WorkloadIdentity
from ..spec import StackSpec
from .bucket import AccessLogs, Bucket, BucketArgs, LogBucket, LogBucketArgs
from .cluster import AUDIT_LOG_TYPES, LOG_TYPES, Cluster, ClusterArgs, instance_types, log_group_name
from .encryption import Encryption, EncryptionArgs
from .identity import BucketAccess, BucketAccessArgs
from .network import FlowLogs, Network, NetworkArgs
from .registry import Registry, RegistryArgs

# Days CloudWatch keeps the EKS control-plane logs (api, audit, authenticator), by profile:
# a month to debug a dev stack, a quarter of audit trail for prod. With --audit-logs the log
# bucket keeps the flow and access logs as long.
LOG_RETENTION_DAYS = {"dev": 30, "prod": 90}


class Recipe(CloudRecipe):
    """Implements `recipes.cloud.CloudRecipe` for AWS."""

    def __init__(self, spec: StackSpec):
        self.spec = spec
        # One explicit provider: the region comes from the spec, never from the
        # environment, and default_tags put `recipe-stack=<name>` on every resource.
        self.provider = aws.Provider("aws", region=spec.region, default_tags={"tags": spec.labels()})
        self.opts = pulumi.ResourceOptions(providers=[self.provider])
        self._cluster: Cluster | None = None
        self._encryption: Encryption | None = None
        self._logs: LogBucket | None = None

    def kms_key_arn(self) -> pulumi.Output[str] | None:
        """The stack's customer-managed key (--kms), declared once by whichever component
        needs it first; None without --kms. The bucket, registry and cluster depend on
        the key, never on one another."""
        spec = self.spec
        if not spec.kms:
            return None
        if self._encryption is None:
            self._encryption = Encryption(
                "encryption",
                EncryptionArgs(
                    alias=f"alias/{spec.names.stack}-{spec.names.suffix}",
                    description=f"stack-recipes {spec.name}: artifacts, images and Kubernetes Secrets",
                    region=spec.region,
                    # Kept as long as the data it encrypts: the bucket and registry outlive the stack.
                    retain=not spec.delete_data,
                    # Known from the spec, whichever component asks for the key first.
                    log_groups=(log_group_name(spec.names.eks_cluster()),) if spec.has("cluster") else (),
                ),
                opts=self.opts,
            )
        return self._encryption.arn

    def log_bucket(self) -> LogBucket | None:
        """--audit-logs: the bucket the VPC's flow logs and the artifact bucket's access logs go
        to, declared once by whichever needs it first; None without --audit-logs."""
        spec = self.spec
        if not spec.audit_logs:
            return None
        if self._logs is None:
            self._logs = LogBucket(
                "logs",
                LogBucketArgs(
                    name=spec.names.s3_log_bucket(),
                    region=spec.region,
                    expire_days=LOG_RETENTION_DAYS[spec.profile],
                    retain=not spec.delete_data,  # D1: the audit trail of the data that is kept
                    # Known from the spec, whichever component asks for the bucket first.
                    access_log_sources=(spec.names.s3_bucket(),) if spec.has("bucket") else (),
                    flow_logs=spec.has("cluster"),
                ),
                opts=self.opts,
            )
        return self._logs

    def cluster(self) -> ClusterHandle:
        spec = self.spec
        logs = self.log_bucket()
        network = Network(
            "network",
            NetworkArgs(
                cluster_name=spec.names.eks_cluster(),
                region=spec.region,
                instance_types=instance_types(spec.node_type, spec.spot),
                nat_gateway=spec.network == "private",
                flow_logs=FlowLogs(destination=logs.arn, ready=[logs.policy]) if logs is not None else None,
            ),
            opts=self.opts,
        )
        self._cluster = Cluster(
            "cluster",
            ClusterArgs(
                name=spec.names.eks_cluster(),
                region=spec.region,
                version=spec.kubernetes_version,
                subnet_ids=network.subnet_ids,
                node_subnet_ids=network.node_subnet_ids,
                node_type=spec.node_type,
                min_nodes=spec.min_nodes,
                max_nodes=spec.max_nodes,
                spot=spec.spot,
                allow_cidrs=spec.allow_cidrs,
                private_endpoint=spec.private_endpoint,
                kms_key_arn=self.kms_key_arn(),
                log_retention_days=LOG_RETENTION_DAYS[spec.profile],
                # L3 (CKV_AWS_37): every control-plane log type with --audit-logs.
                log_types=AUDIT_LOG_TYPES if spec.audit_logs else LOG_TYPES,
                labels=spec.labels(),
                context=spec.names.kube_context(),
                cluster_role_name=spec.names.iam_role("cluster"),
                node_role_name=spec.names.iam_role("nodes"),
                ebs_csi_role_name=spec.names.iam_role("ebs-csi"),
                autoscaler_role_name=spec.names.iam_role("autoscaler"),
                network_routes=network.routes,
                nat_public_ip=network.nat_public_ip,
                admins=spec.admins,
            ),
            opts=self.opts,
        )
        return self._cluster.handle()

    def bucket(self) -> BucketHandle:
        logs = self.log_bucket()
        bucket = Bucket(
            "bucket",
            BucketArgs(
                name=self.spec.names.s3_bucket(), retain=not self.spec.delete_data, kms_key_arn=self.kms_key_arn(),
                access_logs=AccessLogs(bucket=logs.name, ready=[logs.policy]) if logs is not None else None,
            ),
            opts=self.opts,
        )
        return BucketHandle(name=bucket.name, uri=bucket.uri, resource=bucket, account=None)

    def registry(self, cluster: ClusterHandle | None) -> RegistryHandle:
        # Nodes pull with their instance role (ECR pull-only policy), so the cluster needs nothing here.
        registry = Registry(
            "registry",
            RegistryArgs(
                repository=self.spec.names.ecr_repository(),
                immutable_tags=self.spec.immutable_tags,
                retain=not self.spec.delete_data,
                kms_key_arn=self.kms_key_arn(),
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
                role_name=self.spec.names.iam_role(f"{purpose}-pod"),
                cluster_name=cluster.name,
                bucket_arn=bucket.resource.arn,  # type: ignore[attr-defined]
                namespace=namespace,
                service_account=service_account,
                kms_key_arn=self.kms_key_arn(),
                region=self.spec.region,
            ),
            opts=self.opts,
        )
        return WorkloadIdentity(
            env={"AWS_REGION": self.spec.region, "AWS_DEFAULT_REGION": self.spec.region},
            depends_on=[access],
        )
