"""The artifact bucket: private, encrypted, versioned, and kept on destroy; with --audit-logs,
its access logs (L2) go to a log bucket hardened the same way.

Every part of a bucket's configuration is retained with it: deleting the
public access block or the policy while keeping the bucket would leave the
user's data less protected than we found it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from . import policies
from ..cloud import kept

NONCURRENT_VERSION_DAYS = 30
ABORT_MULTIPART_DAYS = 7
# Where the artifact bucket's server access logs land in the log bucket (flow logs land under AWSLogs/).
ACCESS_LOG_PREFIX = "s3-access/"


@dataclass
class AccessLogs:
    """Where a bucket's server access logs go: the log bucket's name, and what S3 may deliver only after (its policy)."""

    bucket: pulumi.Input[str]
    ready: list[pulumi.Resource] = field(default_factory=list)
    prefix: str = ACCESS_LOG_PREFIX


@dataclass
class BucketArgs:
    name: str
    # D1: keep the bucket (and the user's artifacts) when the stack is destroyed.
    retain: bool = True
    # --kms: SSE-KMS with the stack's key instead of SSE-S3.
    kms_key_arn: pulumi.Input[str] | None = None
    # --audit-logs (L2, CKV_AWS_18): server access logs to the stack's log bucket.
    access_logs: AccessLogs | None = None


def default_encryption(kms_key_arn: pulumi.Input[str] | None) -> dict:
    """SSE-S3, or SSE-KMS with the stack's key (bucket keys keep the KMS requests, and cost, low)."""
    if kms_key_arn is None:
        return {"sse_algorithm": "AES256"}
    return {"sse_algorithm": "aws:kms", "kms_master_key_id": kms_key_arn}


def _private(name: str, bucket: aws.s3.Bucket, encryption: dict, opts: pulumi.ResourceOptions,
             ) -> tuple[aws.s3.BucketPublicAccessBlock, aws.s3.BucketVersioning]:
    """B1, B2, B3, B5 on `bucket`: public access blocked, ACLs off, encrypted by default, versioned."""
    public_block = aws.s3.BucketPublicAccessBlock(  # B1
        f"{name}-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketOwnershipControls(  # B2
        f"{name}-ownership", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=opts
    )
    aws.s3.BucketServerSideEncryptionConfiguration(  # B3
        f"{name}-encryption",
        bucket=bucket.id,
        rules=[{"apply_server_side_encryption_by_default": encryption, "bucket_key_enabled": True}],
        opts=opts,
    )
    versioning = aws.s3.BucketVersioning(  # B5
        f"{name}-versioning", bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=opts
    )
    return public_block, versioning


def _lifecycle(name: str, bucket: aws.s3.Bucket, versioning: aws.s3.BucketVersioning, opts: pulumi.ResourceOptions,
               expire_days: int | None = None) -> aws.s3.BucketLifecycleConfiguration:
    # Versioning protects against mistakes; old versions expire so it does not cost forever.
    rule: dict = {
        "id": "expire-noncurrent-versions",
        "status": "Enabled",
        "filter": {},
        "noncurrent_version_expiration": {"noncurrent_days": NONCURRENT_VERSION_DAYS},
        "abort_incomplete_multipart_upload": {"days_after_initiation": ABORT_MULTIPART_DAYS},
    }
    if expire_days is not None:
        rule = {**rule, "id": "expire-logs", "expiration": {"days": expire_days}}
    return aws.s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle", bucket=bucket.id, rules=[rule],
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[versioning])),
    )


class Bucket(pulumi.ComponentResource):
    bucket: aws.s3.Bucket
    name: pulumi.Output[str]
    arn: pulumi.Output[str]
    uri: pulumi.Output[str]

    def __init__(self, name: str, args: BucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:aws:Bucket", name, None, opts)
        child = kept(args.retain, parent=self)

        # force_destroy only when the user asked to delete their data.
        self.bucket = aws.s3.Bucket(name, bucket=args.name, force_destroy=not args.retain, opts=child)
        public_block, versioning = _private(name, self.bucket, default_encryption(args.kms_key_arn), child)
        _lifecycle(name, self.bucket, versioning, child)
        aws.s3.BucketPolicy(  # B4: HTTPS only
            f"{name}-tls-only",
            bucket=self.bucket.id,
            policy=self.bucket.arn.apply(policies.deny_insecure_transport),
            # S3 rejects policy changes while the public access block is being applied.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[public_block])),
        )
        if args.access_logs is not None:
            # Kept with the bucket: kept data stays audited. After the log bucket's policy, or
            # S3 would find no permission to deliver (and write its own statement).
            aws.s3.BucketLogging(
                f"{name}-access-logs",
                bucket=self.bucket.bucket,
                target_bucket=args.access_logs.bucket,
                target_prefix=args.access_logs.prefix,
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=args.access_logs.ready)),
            )
        self.name = self.bucket.bucket
        self.arn = self.bucket.arn
        self.uri = pulumi.Output.concat("s3://", self.bucket.bucket)
        self.register_outputs({"name": self.name, "arn": self.arn, "uri": self.uri})


@dataclass
class LogBucketArgs:
    name: str
    region: str
    # Logs expire after this many days (their versions 30 days later): the control plane's log retention.
    expire_days: int
    # D1: kept on destroy like the artifact bucket (the audit trail of the data that is kept).
    retain: bool = True
    # Buckets (names) whose server access logs land here, under ACCESS_LOG_PREFIX.
    access_log_sources: tuple[str, ...] = ()
    # VPC flow logs of this account and region land here, under AWSLogs/.
    flow_logs: bool = False


class LogBucket(pulumi.ComponentResource):
    """--audit-logs: where the stack's access and flow logs are delivered (L1, L2).

    Hardened as the artifact bucket is (B1-B5), but for one thing: SSE-S3, even with --kms.
    S3 does not deliver server access logs to a bucket whose default encryption is SSE-KMS
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html).
    No access logs of its own: AWS advises against a log bucket logging itself."""

    bucket: aws.s3.Bucket
    policy: aws.s3.BucketPolicy
    name: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: LogBucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:aws:LogBucket", name, None, opts)
        child = kept(args.retain, parent=self)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        self.bucket = aws.s3.Bucket(name, bucket=args.name, force_destroy=not args.retain, opts=child)
        public_block, versioning = _private(name, self.bucket, default_encryption(None), child)
        _lifecycle(name, self.bucket, versioning, child, expire_days=args.expire_days)
        sources = tuple(f"arn:aws:s3:::{b}" for b in args.access_log_sources)
        self.policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=self.bucket.id,
            policy=pulumi.Output.all(self.bucket.arn, account).apply(
                lambda v: policies.log_bucket_policy(v[0], v[1], args.region, ACCESS_LOG_PREFIX, sources, args.flow_logs)
            ),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[public_block])),
        )
        self.name = self.bucket.bucket
        self.arn = self.bucket.arn
        self.register_outputs({"name": self.name, "arn": self.arn})
