"""The stack's customer-managed KMS key (`--kms`): bucket objects, images, cluster secrets
and the control plane's logs.

One symmetric key per stack, rotated yearly. It lives exactly as long as the
data it encrypts: a deleted key makes every object and image it protected
unreadable, so the key (and its alias) is retained on destroy like the bucket
and the registry, and only `--delete-data` schedules it for deletion (after the
longest waiting period KMS allows, during which the deletion can be cancelled).

IAM policies grant the stack's roles their use of the key. CloudWatch Logs is a
service, not a role: it may use a key only if the key's own policy says so, and
only for the log groups that policy names (by their ARN, in the encryption
context Logs passes to KMS).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from . import policies
from ..cloud import kept

# KMS waits this long before deleting a key scheduled for deletion (7-30; 30 is the most).
DELETION_WINDOW_DAYS = 30
# What CloudWatch Logs does with a log group's key (AWS documents them as kms:Encrypt*,
# kms:Decrypt*, kms:ReEncrypt*, kms:GenerateDataKey*, kms:Describe*; spelled out here).
LOGS_KEY_ACTIONS = (
    "kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo",
    "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey",
)


def log_group_arn(region: str, account_id: str, log_group: str) -> str:
    """A log group's ARN as CloudWatch Logs puts it in the encryption context (no `:*`)."""
    return f"arn:aws:logs:{region}:{account_id}:log-group:{log_group}"


def key_policy(account_id: str, region: str, log_groups: tuple[str, ...] = ()) -> str:
    """The account controls the key (`policies.key_policy`); with `log_groups`, CloudWatch
    Logs of this region may also use it, for those log groups only."""
    document = json.loads(policies.key_policy(account_id))
    if log_groups:
        document["Statement"].append(
            {
                "Sid": "CloudWatchLogsOfThisStack",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                "Action": list(LOGS_KEY_ACTIONS),
                "Resource": "*",  # in a key policy: this key
                "Condition": {
                    "ArnEquals": {
                        "kms:EncryptionContext:aws:logs:arn": [log_group_arn(region, account_id, g) for g in log_groups]
                    }
                },
            }
        )
    return json.dumps(document)


@dataclass
class EncryptionArgs:
    alias: str  # "alias/<stack>-<suffix>"
    description: str
    region: str
    # D1: a key outlives the stack as long as the data it encrypts may.
    retain: bool = True
    # Log groups encrypted with the key (the EKS control plane's): CloudWatch Logs may use it for them.
    log_groups: tuple[str, ...] = ()


class Encryption(pulumi.ComponentResource):
    key: aws.kms.Key
    alias: aws.kms.Alias
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: EncryptionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:aws:Encryption", name, None, opts)
        child = kept(args.retain, parent=self)
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
            policy=account.apply(lambda a: key_policy(a, args.region, args.log_groups)),
            opts=child,
        )
        # The ARN, not the key id: the alias then names the same value everything else uses
        # (the provider treats the two as equivalent, with no diff on refresh).
        self.alias = aws.kms.Alias(f"{name}-alias", name=args.alias, target_key_id=self.key.arn, opts=child)
        self.arn = self.key.arn
        self.register_outputs({"arn": self.arn, "alias": self.alias.name})
