"""The `kubernetes` provider: a cluster that already exists (the user's own: k3d, kind, on-premises, a
shared cloud cluster), reached through the user's kubeconfig context. We create nothing outside it: the
stack's bucket is an in-cluster S3-compatible object store (objectstore.py) unless the user brings one."""

from __future__ import annotations

import base64

import pulumi
import pulumi_kubernetes as k8s

from ..cloud import BucketHandle, CloudRecipe, ClusterHandle, RegistryHandle, StaticBucketAccess, WorkloadIdentity, kept
from ..kubernetes import namespaces
from ..kubernetes.workload import RESTRICTED_NAMESPACE_LABELS
from ..spec import StackSpec
from ..spec_values import secret_ref
from . import objectstore
from .cluster import ExistingCluster, ExistingClusterArgs

# The keys a bucket Secret holds (the object store's, or the one the user created for --bucket).
KEYS = namespaces.BUCKET_SECRET_KEYS
# The Secret a pod reads the bucket's keys from, copied into the pod's namespace: the in-cluster store's,
# or those of the user's Secret (--bucket-secret).
STORE_KEYS_SECRET = "objectstore-keys"
BUCKET_KEYS_SECRET = "bucket-keys"


class Recipe(CloudRecipe):
    """Implements `recipes.cloud.CloudRecipe` for a cluster that exists."""

    def __init__(self, spec: StackSpec):
        self.spec = spec
        self._cluster: ClusterHandle | None = None
        self._existing: ExistingCluster | None = None
        self._store: objectstore.InClusterObjectStore | None = None
        self._user_keys: dict[str, pulumi.Output[str]] | None = None

    def cluster(self) -> ClusterHandle:
        if self._cluster is None:
            self._existing = ExistingCluster(
                "cluster", ExistingClusterArgs(context=self.spec.context, kubeconfig=self.spec.kubeconfig))
            self._cluster = self._existing.handle()
        return self._cluster

    def bucket(self) -> BucketHandle:
        spec = self.spec
        if spec.bucket:  # the user's bucket: nothing created, the component only names it in the plan
            name = spec.bucket.removeprefix("s3://")
            holder = pulumi.ComponentResource("recipes:existing:Bucket", "bucket", None)
            holder.register_outputs({"uri": spec.bucket})
            # Its keys are the user's, in their Secret: never outputs of ours.
            self._user_keys = self._read_user_keys(holder)
            return BucketHandle(name=pulumi.Output.from_input(name), uri=pulumi.Output.from_input(spec.bucket),
                                resource=holder, endpoint=spec.bucket_endpoint or None)
        cluster = self.cluster()
        assert self._existing is not None
        labels = spec.labels()
        # One component, the stack's bucket, holds the store and its namespace (a plan shows them as one row).
        holder = pulumi.ComponentResource("recipes:existing:Bucket", "bucket", None)
        # Kept with the volume claim in it (unless --delete-data): Kubernetes deletes every object of a deleted
        # namespace, whatever Pulumi's retainOnDelete says of them, so a claim outlives the stack only in a
        # namespace that does. The claim stays bound, so its PersistentVolume stays too, whatever its
        # reclaimPolicy (Delete on a dynamically provisioned one: k3d's local-path, the clouds' disks): a
        # policy acts only once the claim is deleted, which is what --delete-data does, data included.
        # Both are created through the provider that adopts them when a redeploy finds them (cluster.py).
        namespace = k8s.core.v1.Namespace(
            "objectstore-ns",
            metadata={"name": namespaces.OBJECTSTORE_NAMESPACE, "labels": {**labels, **RESTRICTED_NAMESPACE_LABELS}},
            opts=pulumi.ResourceOptions.merge(
                pulumi.ResourceOptions(parent=holder, provider=self._existing.kept_provider),
                kept(not spec.delete_data)),
        )
        self._store = objectstore.InClusterObjectStore("objectstore", objectstore.InClusterObjectStoreArgs(
            cluster=cluster, stack_name=spec.name, bucket_name=spec.names.objectstore_bucket(),
            namespace=namespace.metadata.name, retain=not spec.delete_data, labels=labels,
            kept_provider=self._existing.kept_provider,
        ), opts=pulumi.ResourceOptions(parent=holder))
        holder.register_outputs({"uri": pulumi.Output.concat("s3://", self._store.bucket_name)})
        handle = self._store.handle()
        handle.namespaces = {namespaces.OBJECTSTORE_NAMESPACE: namespace}
        return handle

    def _read_user_keys(self, parent: pulumi.Resource) -> dict[str, pulumi.Output[str]]:
        """The two keys of the user's Secret (--bucket-secret), read through the stack's provider: a `get` is
        a read, so the Secret is neither changed nor deleted by us (a destroy drops it from the state only).
        The deploy preflight (provisioner/operations/cluster_tenancy.py) checked it exists and holds both."""
        self.cluster()
        assert self._existing is not None
        namespace, name = secret_ref(self.spec.bucket_secret)
        found = k8s.core.v1.Secret.get("bucket-secret", f"{namespace}/{name}", opts=pulumi.ResourceOptions(
            parent=parent, provider=self._existing.provider))

        def key(wanted: str) -> pulumi.Output[str]:
            def decoded(data: dict | None) -> str:
                if not data or wanted not in data:  # never the values: only which key is missing
                    raise ValueError(f"Secret {namespace}/{name} has no key {wanted}: add it (kubectl edit secret "
                                     f"{name} -n {namespace}) and deploy again")
                return base64.b64decode(data[wanted]).decode()

            return pulumi.Output.secret(found.data.apply(decoded))

        return {wanted: key(wanted) for wanted in KEYS}

    def registry(self, cluster: ClusterHandle | None) -> RegistryHandle:
        # The user's registry: nothing created (ZenML's `default` container registry flavor pushes to it).
        holder = pulumi.ComponentResource("recipes:existing:Registry", "registry", None)
        holder.register_outputs({"uri": self.spec.registry})
        return RegistryHandle(uri=pulumi.Output.from_input(self.spec.registry), resource=holder)

    def bucket_identity(
        self, purpose: str, cluster: ClusterHandle, bucket: BucketHandle, namespace: str, service_account: str
    ) -> WorkloadIdentity:
        """Static keys (a cluster we did not create has no workload identity we can rely on): the pod reads them
        from a Secret in its own namespace, and the bucket's endpoint from the environment (MLflow, boto3).

        Either way the keys are copied, as Pulumi secrets, into a Secret in the pod's namespace (a pod reads
        Secrets of its own namespace only): --bucket-secret's from the user's Secret, wherever they keep it
        (read, never changed: _read_user_keys); the in-cluster store's generated ones."""
        spec = self.spec
        if spec.bucket:
            assert self._user_keys is not None, "bucket() reads the user's Secret before bucket_identity() is asked"
            secret, keys = BUCKET_KEYS_SECRET, self._user_keys
        else:
            assert self._store is not None, "bucket() declares the store before bucket_identity() is asked"
            secret = STORE_KEYS_SECRET
            keys = {objectstore.ACCESS_KEY: self._store.access_key_id,
                    objectstore.SECRET_KEY: self._store.secret_access_key}
        copies = {secret: dict(keys)}
        env: dict = {key: {"secret_key_ref": {"name": secret, "key": key}} for key in KEYS}
        endpoint = spec.bucket_endpoint or (None if spec.bucket else self._store.endpoint)
        if endpoint is not None:
            # MLflow's S3 client reads the first, boto3 (ZenML's s3fs too) the second.
            env.update({"MLFLOW_S3_ENDPOINT_URL": endpoint, "AWS_ENDPOINT_URL_S3": endpoint})
        if not spec.bucket:
            env["AWS_DEFAULT_REGION"] = objectstore.REGION  # signed for a region; SeaweedFS takes any
        return WorkloadIdentity(env=env, secrets=copies)

    def model_bucket_access(self, cluster: ClusterHandle, bucket: BucketHandle, namespace: str,
                            service_account: str) -> StaticBucketAccess | None:
        """The keys, endpoint and region `bucket_identity` gives a pod (the tracker's, the steps'), for the model
        servers' storage initializers: whatever it copies into a pod's namespace is what they read."""
        identity = self.bucket_identity("models", cluster, bucket, namespace, service_account)
        (keys,) = identity.secrets.values()  # the one copy: the store's keys, or the user's Secret's
        endpoint = identity.env.get("AWS_ENDPOINT_URL_S3")
        return StaticBucketAccess(
            access_key_id=keys[objectstore.ACCESS_KEY], secret_access_key=keys[objectstore.SECRET_KEY],
            endpoint=endpoint, region=identity.env.get("AWS_DEFAULT_REGION"),
            # rclone's names (backend/s3 `provider`): the in-cluster store, any other S3-compatible one, S3 itself.
            s3_implementation=("Other" if self.spec.bucket else "SeaweedFS") if endpoint else "AWS",
            path_style=endpoint is not None,
        )
