"""The artifact bucket: private, encrypted, versioned, and kept on destroy.

Every part of the bucket's configuration is retained with it: deleting the
public access block or the policy while keeping the bucket would leave the
user's data less protected than we found it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from . import policies
from ..cloud import kept

NONCURRENT_VERSION_DAYS = 30
ABORT_MULTIPART_DAYS = 7


@dataclass
class BucketArgs:
    name: str
    # D1: keep the bucket (and the user's artifacts) when the stack is destroyed.
    retain: bool = True
    # --kms: SSE-KMS with the stack's key instead of SSE-S3.
    kms_key_arn: pulumi.Input[str] | None = None


def default_encryption(kms_key_arn: pulumi.Input[str] | None) -> dict:
    """SSE-S3, or SSE-KMS with the stack's key (bucket keys keep the KMS requests, and cost, low)."""
    if kms_key_arn is None:
        return {"sse_algorithm": "AES256"}
    return {"sse_algorithm": "aws:kms", "kms_master_key_id": kms_key_arn}


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
        public_block = aws.s3.BucketPublicAccessBlock(  # B1
            f"{name}-public-access",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(  # B2
            f"{name}-ownership", bucket=self.bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=child
        )
        aws.s3.BucketServerSideEncryptionConfiguration(  # B3
            f"{name}-encryption",
            bucket=self.bucket.id,
            rules=[{"apply_server_side_encryption_by_default": default_encryption(args.kms_key_arn), "bucket_key_enabled": True}],
            opts=child,
        )
        versioning = aws.s3.BucketVersioning(  # B5
            f"{name}-versioning", bucket=self.bucket.id, versioning_configuration={"status": "Enabled"}, opts=child
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=self.bucket.id,
            rules=[
                {
                    # Versioning protects against mistakes; old versions expire so it does not cost forever.
                    "id": "expire-noncurrent-versions",
                    "status": "Enabled",
                    "filter": {},
                    "noncurrent_version_expiration": {"noncurrent_days": NONCURRENT_VERSION_DAYS},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": ABORT_MULTIPART_DAYS},
                }
            ],
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[versioning])),
        )
        aws.s3.BucketPolicy(  # B4: HTTPS only
            f"{name}-tls-only",
            bucket=self.bucket.id,
            policy=self.bucket.arn.apply(policies.deny_insecure_transport),
            # S3 rejects policy changes while the public access block is being applied.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[public_block])),
        )
        self.name = self.bucket.bucket
        self.arn = self.bucket.arn
        self.uri = pulumi.Output.concat("s3://", self.bucket.bucket)
        self.register_outputs({"name": self.name, "arn": self.arn, "uri": self.uri})
