"""The stack's customer-managed KMS key (`--kms`): bucket objects, images, cluster secrets.

One symmetric key per stack, rotated yearly. It lives exactly as long as the
data it encrypts: a deleted key makes every object and image it protected
unreadable, so the key (and its alias) is retained on destroy like the bucket
and the registry, and only `--delete-data` schedules it for deletion (after the
longest waiting period KMS allows, during which the deletion can be cancelled).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from . import policies

# KMS waits this long before deleting a key scheduled for deletion (7-30; 30 is the most).
DELETION_WINDOW_DAYS = 30


@dataclass
class EncryptionArgs:
    alias: str  # "alias/<stack>-<suffix>"
    description: str
    # D1: a key outlives the stack as long as the data it encrypts may.
    retain: bool = True


class Encryption(pulumi.ComponentResource):
    key: aws.kms.Key
    alias: aws.kms.Alias
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: EncryptionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:aws:Encryption", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, retain_on_delete=args.retain)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        # The key carries the component's name: `recipe destroy` lists it with the kept data.
        self.key = aws.kms.Key(
            name,
            description=args.description,
            key_usage="ENCRYPT_DECRYPT",
            customer_master_key_spec="SYMMETRIC_DEFAULT",  # EKS, S3 and ECR take symmetric keys only
            enable_key_rotation=True,
            deletion_window_in_days=DELETION_WINDOW_DAYS,
            # The account owns the key; IAM policies (scoped to this key's ARN) say who uses it.
            policy=account.apply(policies.key_policy),
            opts=child,
        )
        # The ARN, not the key id: the alias then names the same value everything else uses
        # (the provider treats the two as equivalent, with no diff on refresh).
        self.alias = aws.kms.Alias(f"{name}-alias", name=args.alias, target_key_id=self.key.arn, opts=child)
        self.arn = self.key.arn
        self.register_outputs({"arn": self.arn, "alias": self.alias.name})
