"""The artifact bucket: uniform access, never public, versioned, and kept on destroy.

Encryption at rest is Google-managed by default (B3); with `--kms` objects
are encrypted with the stack's Cloud KMS key (see encryption.py). Objects
written before the key was set keep their Google-managed encryption.

With `--audit-logs` Cloud Storage writes the bucket's usage logs (every request,
hourly) and storage logs (daily) into a log bucket of its own (L2), hardened like
it, kept like it (only --delete-data removes it) and expiring its logs after
`ACCESS_LOG_DAYS`. Cloud Storage writes them as the group
cloud-storage-analytics@google.com, which needs objectCreator on the log bucket: without
that grant it drops the logs without an error anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from ..cloud import kept
from . import roles

NONCURRENT_VERSION_DAYS = 30
ABORT_MULTIPART_DAYS = 7
ACCESS_LOG_DAYS = 365  # a year of access logs: what audits usually ask for
LOG_WRITER = "group:cloud-storage-analytics@google.com"
LOG_WRITER_ROLE = "roles/storage.objectCreator"  # create only: it cannot read or delete a log


@dataclass
class BucketArgs:
    name: str
    location: str
    # D1: keep the bucket (and the user's artifacts) when the stack is destroyed.
    retain: bool = True
    apis: list[pulumi.Resource] = field(default_factory=list)
    # --kms: the key new objects are encrypted with, and the grant GCS checks at create time.
    kms_key_name: pulumi.Input[str] | None = None
    key_access: list[pulumi.Resource] = field(default_factory=list)
    # --admin: IAM members given the bucket's objects, like the workloads (I1).
    admins: tuple[str, ...] = ()
    # --audit-logs: the name of the bucket its access logs go to (None: no access logs).
    access_log_bucket: str | None = None


def lifecycle(expire_days: int | None = None) -> list[dict]:
    """Old versions expire (versioning protects against mistakes, not forever); with
    `expire_days`, live objects too (then kept as a version for NONCURRENT_VERSION_DAYS)."""
    rules: list[dict] = [
        {
            "action": {"type": "Delete"},
            "condition": {"days_since_noncurrent_time": NONCURRENT_VERSION_DAYS, "with_state": "ARCHIVED"},
        },
        {"action": {"type": "AbortIncompleteMultipartUpload"}, "condition": {"age": ABORT_MULTIPART_DAYS}},
    ]
    if expire_days is not None:
        rules.append({"action": {"type": "Delete"}, "condition": {"age": expire_days, "with_state": "LIVE"}})
    return rules


class Bucket(pulumi.ComponentResource):
    bucket: gcp.storage.Bucket
    log_bucket: gcp.storage.Bucket | None
    name: pulumi.Output[str]
    uri: pulumi.Output[str]

    def __init__(self, name: str, args: BucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:gcp:Bucket", name, None, opts)
        depends_on = [*args.apis, *args.key_access]
        self.log_bucket, logging = None, None
        if args.access_log_bucket is not None:
            self.log_bucket = self._bucket(f"{name}-access-logs", args.access_log_bucket, args, depends_on,
                                           lifecycle(ACCESS_LOG_DAYS))
            writer = gcp.storage.BucketIAMMember(
                f"{name}-access-logs-writer", bucket=self.log_bucket.name, role=LOG_WRITER_ROLE, member=LOG_WRITER,
                opts=pulumi.ResourceOptions(parent=self),
            )
            # L2: the bucket logs once the log bucket takes its logs, so none are dropped.
            logging, depends_on = {"log_bucket": self.log_bucket.name}, [*depends_on, writer]
        self.bucket = self._bucket(name, args.name, args, depends_on, lifecycle(), logging)
        self.name = self.bucket.name
        self.uri = pulumi.Output.concat("gs://", self.bucket.name)
        for member in args.admins:  # not retained: dropping a member revokes their access
            gcp.storage.BucketIAMMember(
                f"{name}-admin-{roles.admin_slug(member)}", bucket=self.name, role=roles.BUCKET_OBJECTS, member=member,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"name": self.name, "uri": self.uri})

    def _bucket(self, name: str, bucket_name: str, args: BucketArgs, depends_on: list[pulumi.Resource],
                lifecycle_rules: list[dict], logging: dict | None = None) -> gcp.storage.Bucket:
        return gcp.storage.Bucket(
            name,
            name=bucket_name,
            location=args.location,  # a log bucket must be where the bucket it logs is
            uniform_bucket_level_access=True,  # B2: IAM only, no object ACLs
            public_access_prevention="enforced",  # B1
            versioning={"enabled": True},  # B5
            encryption={"default_kms_key_name": args.kms_key_name} if args.kms_key_name is not None else None,  # B3
            lifecycle_rules=lifecycle_rules,
            logging=logging,
            # Objects are deleted with the bucket only when the user asked to delete their data.
            force_destroy=not args.retain,
            opts=kept(args.retain, parent=self, depends_on=depends_on),
        )
