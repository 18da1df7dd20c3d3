"""The artifact bucket: uniform access, never public, versioned, and kept on destroy.

Encryption at rest is Google-managed by default (B3); with `--kms` objects
are encrypted with the stack's Cloud KMS key (see encryption.py). Objects
written before the key was set keep their Google-managed encryption.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from ..cloud import kept
from . import roles

NONCURRENT_VERSION_DAYS = 30
ABORT_MULTIPART_DAYS = 7


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


class Bucket(pulumi.ComponentResource):
    bucket: gcp.storage.Bucket
    name: pulumi.Output[str]
    uri: pulumi.Output[str]

    def __init__(self, name: str, args: BucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:gcp:Bucket", name, None, opts)
        self.bucket = gcp.storage.Bucket(
            name,
            name=args.name,
            location=args.location,
            uniform_bucket_level_access=True,  # B2: IAM only, no object ACLs
            public_access_prevention="enforced",  # B1
            versioning={"enabled": True},  # B5
            encryption={"default_kms_key_name": args.kms_key_name} if args.kms_key_name is not None else None,  # B3
            lifecycle_rules=[
                {
                    # Versioning protects against mistakes; old versions expire so it does not cost forever.
                    "action": {"type": "Delete"},
                    "condition": {"days_since_noncurrent_time": NONCURRENT_VERSION_DAYS, "with_state": "ARCHIVED"},
                },
                {"action": {"type": "AbortIncompleteMultipartUpload"}, "condition": {"age": ABORT_MULTIPART_DAYS}},
            ],
            # Objects are deleted with the bucket only when the user asked to delete their data.
            force_destroy=not args.retain,
            opts=kept(args.retain, parent=self, depends_on=[*args.apis, *args.key_access]),
        )
        self.name = self.bucket.name
        self.uri = pulumi.Output.concat("gs://", self.bucket.name)
        for member in args.admins:  # not retained: dropping a member revokes their access
            gcp.storage.BucketIAMMember(
                f"{name}-admin-{roles.admin_slug(member)}", bucket=self.name, role=roles.BUCKET_OBJECTS, member=member,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"name": self.name, "uri": self.uri})
