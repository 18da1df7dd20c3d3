"""The `kubernetes` provider's default bucket: an S3-compatible object store running in the user's cluster.

Why SeaweedFS (`weed server -s3`, docker.io/chrislusf/seaweedfs, Apache-2.0): MinIO stopped publishing
community images in October 2025 and removed them from Docker Hub in September 2026; SeaweedFS is actively
released (4.4x every few weeks in 2026), publishes official multi-architecture images, runs master, volume
server, filer and S3 gateway in one process (one pod, one volume), and its S3 API has the multipart uploads
and bucket versioning MLflow's and ZenML's S3 clients use. Its upstream Helm chart runs the same
all-in-one `weed server` (k8s/charts/seaweedfs/templates/all-in-one/).

The data (objects and the filer's metadata, all under -dir) is on one PersistentVolumeClaim kept on
destroy unless --delete-data, like the clouds' buckets. The credentials are generated once (pulumi_random)
and stay Pulumi secrets; the server reads them from a Secret mounted as a file, other workloads from the
`credentials_secret_name` Secret. A Job creates the bucket through the S3 API itself, idempotently.

The keys are not data: a destroy deletes them (the random resources and both Secrets), so no credential
of a destroyed stack stays valid, and a redeploy generates new ones. The kept bucket still serves them:
SeaweedFS records a bucket's owner as the creating identity's name (weed/s3api/s3api_bucket_handlers.go,
setBucketOwner; isBucketOwnedByIdentity compares names, never keys), our identity is always named after
the stack, and its rights name the bucket, so the new identities file grants the same identity the same
bucket; the Job's HEAD answers 200 and leaves it as it is. Keeping the Secrets instead would keep a live
credential in the cluster with nothing left to use it. Clients configured with the old keys (a ZenML secret
from `recipe export --register`) need the new ones: export again after a redeploy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from ..cloud import BucketHandle, ClusterHandle, kept
from ..facts.kubernetes import IN_CLUSTER_STORE
from ..kubernetes import namespaces, versions
from ..kubernetes.workload import container, metadata, pod_security_context, resources
from ..spec_values import S3_BUCKET_RE

PORT = 8333  # the S3 gateway's port (weed's default)
CONFIG_DIR = "/etc/seaweedfs-s3"  # the server's identities file, from a Secret
CREDENTIALS_DIR = "/run/secrets/objectstore"  # the bucket Job's key pair, from a Secret
ACCESS_KEY, SECRET_KEY = namespaces.BUCKET_SECRET_KEYS
# SeaweedFS signs requests for any region; clients name one (boto3 needs it): the S3 default.
REGION = "us-east-1"

# The bucket Job: HEAD the bucket until the gateway answers, PUT it when missing. curl (in the server's
# image) signs with SigV4 itself; the key pair goes to curl on stdin, never on a command line.
CREATE_BUCKET = r"""
sign() {
  printf 'user = "%s:%s"\n' "$(cat "$CREDENTIALS/AWS_ACCESS_KEY_ID")" "$(cat "$CREDENTIALS/AWS_SECRET_ACCESS_KEY")" |
    curl --config - -sS --max-time 10 --aws-sigv4 "aws:amz:$REGION:s3" \
      -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" "$@"
}
url="$S3_ENDPOINT/$BUCKET"
attempt=0
until code=$(sign -o /dev/null -w '%{http_code}' -I "$url") && { [ "$code" = 200 ] || [ "$code" = 404 ]; }; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 60 ]; then
    echo "the object store at $S3_ENDPOINT did not answer HEAD /$BUCKET with 200 or 404 (last: HTTP $code)" >&2
    exit 1
  fi
  sleep 5
done
if [ "$code" = 200 ]; then echo "bucket $BUCKET exists"; exit 0; fi
code=$(sign -o /tmp/answer -w '%{http_code}' -X PUT "$url") || true
if [ "$code" = 200 ] || grep -q BucketAlreadyOwnedByYou /tmp/answer; then echo "bucket $BUCKET created"; exit 0; fi
echo "creating bucket $BUCKET failed with HTTP $code:" >&2
cat /tmp/answer >&2
exit 1
"""


@dataclass
class InClusterObjectStoreArgs:
    cluster: ClusterHandle
    stack_name: str
    bucket_name: str
    namespace: pulumi.Input[str]
    size_gib: int = 50
    retain: bool = True  # not spec.delete_data: the volume outlives `recipe destroy`
    labels: dict[str, str] = field(default_factory=dict)
    # The provider of what a destroy keeps (the claim): one that adopts it when a redeploy finds it
    # (ExistingCluster.kept_provider). None: the cluster's.
    kept_provider: k8s.Provider | None = None


class InClusterObjectStore(pulumi.ComponentResource):
    endpoint: pulumi.Output[str]  # the S3 API inside the cluster: http://<service>.<namespace>.svc.cluster.local:8333
    bucket_name: pulumi.Output[str]  # known once the bucket exists (the Job completed)
    access_key_id: pulumi.Output[str]  # secret
    secret_access_key: pulumi.Output[str]  # secret
    credentials_secret_name: pulumi.Output[str]  # holds AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY

    def __init__(self, name: str, args: InClusterObjectStoreArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(IN_CLUSTER_STORE, name, None, opts)
        if not S3_BUCKET_RE.match(args.bucket_name):  # S3's naming rules, as --bucket is held to them
            raise ValueError(f"{args.bucket_name!r} is not a valid S3 bucket name (3-63 of a-z 0-9 . -, "
                             "starting and ending with a letter or digit)")
        if args.size_gib < 1:
            raise ValueError(f"the object store's volume needs at least 1 GiB, not {args.size_gib}")
        labels = {**args.labels, "app.kubernetes.io/name": name, "app.kubernetes.io/component": "object-store",
                  "app.kubernetes.io/instance": args.stack_name}
        child = pulumi.ResourceOptions(parent=self, provider=args.cluster.provider)
        self._child = child

        self.access_key_id, self.secret_access_key = self._key_pair(name)
        config, credentials = self._secrets(name, args, labels)
        self.credentials_secret_name = credentials.metadata.name
        claim = k8s.core.v1.PersistentVolumeClaim(
            name,  # the component's own name: its data resource, which `recipe destroy` says it kept
            # Bound when the pod is scheduled (WaitForFirstConsumer on most classes): no waiting here.
            metadata=metadata(f"{name}-data", args.namespace, labels, annotations={"pulumi.com/skipAwait": "true"}),
            spec={
                "access_modes": ["ReadWriteOnce"],
                # None: no storageClassName, so the cluster's default class (an existing cluster's own).
                **({"storage_class_name": args.cluster.storage_class} if args.cluster.storage_class else {}),
                "resources": {"requests": {"storage": f"{args.size_gib}Gi"}},
            },
            opts=pulumi.ResourceOptions.merge(child, kept(args.retain, depends_on=args.cluster.ready_with_addons,
                                                          provider=args.kept_provider or args.cluster.provider)),
        )
        deployment = self._server(name, args, labels, claim, config)
        service = k8s.core.v1.Service(
            f"{name}-svc",
            metadata=metadata(name, args.namespace, labels),
            spec={"selector": selector(name),
                  "ports": [{"name": "s3", "port": PORT, "target_port": "s3", "protocol": "TCP"}]},
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[deployment])),
        )
        self.endpoint = pulumi.Output.concat(
            "http://", service.metadata.name, ".", service.metadata.namespace, f".svc.cluster.local:{PORT}"
        )
        job = self._bucket_job(name, args, labels, credentials, service)
        self.bucket_name = pulumi.Output.all(job.id, args.bucket_name).apply(lambda v: v[1])
        self.register_outputs({
            "endpoint": self.endpoint, "bucket_name": self.bucket_name, "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key, "credentials_secret_name": self.credentials_secret_name,
        })

    def handle(self) -> BucketHandle:
        return BucketHandle(name=self.bucket_name, uri=pulumi.Output.concat("s3://", self.bucket_name), resource=self,
                            endpoint=self.endpoint, access_key_id=self.access_key_id,
                            secret_access_key=self.secret_access_key)

    def _key_pair(self, name: str) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        """An AWS-shaped pair (20 upper-case alphanumerics, 40 alphanumerics), generated once: the
        random resources keep their value in the state until they are replaced."""
        options = pulumi.ResourceOptions(parent=self)
        access = random.RandomPassword(f"{name}-access-key", length=20, special=False, lower=False, opts=options)
        secret = random.RandomPassword(f"{name}-secret-key", length=40, special=False, opts=options)
        return pulumi.Output.secret(access.result), pulumi.Output.secret(secret.result)

    def _secrets(self, name: str, args: InClusterObjectStoreArgs, labels: dict[str, str]):
        """The server's identities file (its S3 config) and the key pair for other workloads."""
        config_json = pulumi.Output.secret(pulumi.Output.all(self.access_key_id, self.secret_access_key).apply(
            lambda keys: json.dumps({"identities": [{
                # The bucket's owner: a fixed name, so new keys (a redeploy after destroy) still own the kept bucket.
                "name": args.stack_name,
                "credentials": [{"accessKey": keys[0], "secretKey": keys[1]}],
                # Everything on this bucket alone (weed/s3api/auth_credentials.go, Identity.CanDo): "Admin:<bucket>"
                # covers creating it (PutBucket is an Admin action) without rights on any other bucket.
                "actions": [f"{action}:{args.bucket_name}" for action in ("Admin", "Read", "Write", "List", "Tagging")],
            }]}, indent=2)
        ))
        config = k8s.core.v1.Secret(
            f"{name}-config",
            metadata=metadata(f"{name}-config", args.namespace, labels),
            type="Opaque",
            string_data={"s3.json": config_json},
            opts=self._child,
        )
        credentials = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata=metadata(f"{name}-credentials", args.namespace, labels),
            type="Opaque",
            string_data={ACCESS_KEY: self.access_key_id, SECRET_KEY: self.secret_access_key},
            opts=self._child,
        )
        return config, credentials

    def _server(self, name, args, labels, claim, config) -> k8s.apps.v1.Deployment:
        command = [
            "/usr/bin/weed", "-logtostderr=true", "server",
            "-dir=/data",  # volumes, the master's raft state and the filer's store (filerldb2)
            "-volume.max=0",  # as many volumes as the disk holds
            "-master.volumeSizeLimitMB=1024",
            # Advertised to the other parts of the same process; the upstream chart's all-in-one does the same.
            "-ip=$(POD_IP)", "-ip.bind=0.0.0.0",
            "-s3", f"-s3.port={PORT}", f"-s3.config={CONFIG_DIR}/s3.json",
            "-s3.allowDeleteBucketNotEmpty=false",  # a DeleteBucket never takes the objects with it
            "-s3.iam=false",  # no IAM API: the identities file is the whole configuration
            "-s3.port.iceberg=0", "-s3.port.lance=0",  # catalogs the stack does not use
            "-master.telemetry=false",  # no usage reports from the user's cluster to telemetry.seaweedfs.com
        ]
        env = [
            {"name": "POD_IP", "value_from": {"field_ref": {"field_path": "status.podIP"}}},
            # What the image's entrypoint (bypassed here, it is for root) turns on: Go's FIPS 140-3 mode.
            {"name": "GODEBUG", "value": "fips140=on"},
        ]
        mounts = [
            {"name": "data", "mount_path": "/data"},
            {"name": "tmp", "mount_path": "/tmp"},  # the filer's and gateway's local sockets
            {"name": "config", "mount_path": CONFIG_DIR, "read_only": True},
        ]
        server = {
            **container("seaweedfs", versions.SEAWEEDFS_IMAGE, command, env, resources("100m", "256Mi", "2", "2Gi"),
                        mounts),
            "working_dir": "/data",
            "ports": [{"name": "s3", "container_port": PORT, "protocol": "TCP"}],
            # The gateway's own health route (weed/s3api/s3api_server.go: GET /healthz), on the port clients use.
            "startup_probe": _probe(period=5, failures=60),  # a first start formats the volume: up to 5 minutes
            "readiness_probe": _probe(period=10, failures=3),
            "liveness_probe": _probe(period=30, failures=4),
        }
        return k8s.apps.v1.Deployment(
            name,
            metadata=metadata(name, args.namespace, labels),
            spec={
                "replicas": 1,
                "strategy": {"type": "Recreate"},  # one writer on a ReadWriteOnce volume
                "selector": {"match_labels": selector(name)},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "automount_service_account_token": False,
                        "enable_service_links": False,
                        "security_context": {**pod_security_context(versions.SEAWEEDFS_UID),
                                             # chown a large volume only when its root is not ours already
                                             "fs_group_change_policy": "OnRootMismatch"},
                        "termination_grace_period_seconds": 60,  # let the volume server flush its index
                        "containers": [server],
                        "volumes": [
                            {"name": "data", "persistent_volume_claim": {"claim_name": claim.metadata.name}},
                            {"name": "tmp", "empty_dir": {}},
                            {"name": "config", "secret": {"secret_name": config.metadata.name, "default_mode": 0o440}},
                        ],
                    },
                },
            },
            opts=pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(
                depends_on=args.cluster.ready_with_addons,
                custom_timeouts=pulumi.CustomTimeouts(create="10m", update="10m"),
            )),
        )

    def _bucket_job(self, name, args, labels, credentials, service) -> k8s.batch.v1.Job:
        endpoint = pulumi.Output.concat("http://", service.metadata.name, f":{PORT}")
        env = [
            {"name": "S3_ENDPOINT", "value": endpoint},
            {"name": "BUCKET", "value": args.bucket_name},
            {"name": "REGION", "value": REGION},
            {"name": "CREDENTIALS", "value": CREDENTIALS_DIR},
        ]
        mounts = [{"name": "credentials", "mount_path": CREDENTIALS_DIR, "read_only": True},
                  {"name": "tmp", "mount_path": "/tmp"}]
        job_labels = {**labels, "app.kubernetes.io/component": "object-store-bucket"}
        return k8s.batch.v1.Job(
            f"{name}-bucket",
            metadata=metadata(f"{name}-bucket", args.namespace, job_labels),
            spec={
                "backoff_limit": 3,
                "active_deadline_seconds": 900,
                "template": {
                    "metadata": {"labels": job_labels},
                    "spec": {
                        "restart_policy": "Never",
                        "automount_service_account_token": False,
                        "enable_service_links": False,
                        "security_context": pod_security_context(versions.SEAWEEDFS_UID),
                        "containers": [container("create-bucket", versions.SEAWEEDFS_IMAGE, ["/bin/sh", "-ec", CREATE_BUCKET],
                                                 env, resources("10m", "32Mi", "200m", "64Mi"), mounts)],
                        "volumes": [
                            {"name": "credentials", "secret": {"secret_name": credentials.metadata.name, "default_mode": 0o440}},
                            {"name": "tmp", "empty_dir": {}},
                        ],
                    },
                },
            },
            opts=pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(
                depends_on=[service], custom_timeouts=pulumi.CustomTimeouts(create="15m", update="15m"),
            )),
        )


def selector(name: str) -> dict[str, str]:
    """The server's pods, not the bucket Job's (which shares its name label)."""
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "object-store"}


def _probe(period: int, failures: int) -> dict:
    return {"http_get": {"path": "/healthz", "port": "s3"}, "period_seconds": period, "timeout_seconds": 5,
            "failure_threshold": failures}
