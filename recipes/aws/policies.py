"""IAM policy documents, written as data so they can be read and tested."""

from __future__ import annotations

import json


def assume_role(service: str, extra_actions: tuple[str, ...] = ()) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": ["sts:AssumeRole", *extra_actions],
                }
            ],
        }
    )


def bucket_read_write(bucket_arn: str, key_arn: str | None = None, region: str | None = None) -> str:
    """Object access on one bucket, nothing else; with `key_arn` (SSE-KMS), the use of
    that one key that reading and writing its objects needs, and only through S3."""
    statements: list[dict] = [
        {"Sid": "ListBucket", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": bucket_arn},
        {
            "Sid": "Objects",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            "Resource": f"{bucket_arn}/*",
        },
    ]
    if key_arn is not None:
        if not region:
            raise ValueError("a KMS key statement needs the bucket's region")
        statements.append(
            {
                "Sid": "ObjectsKey",
                "Effect": "Allow",
                "Action": list(OBJECT_KEY_ACTIONS),
                "Resource": key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


# SSE-KMS: GetObject decrypts the object's data key, PutObject (and multipart uploads) generate one.
OBJECT_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
# EKS envelope encryption of Secrets: what the cluster role does with the key.
CLUSTER_KEY_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:ListGrants")
# I4: grants on the key only for AWS resources (EKS's own grant for the control plane). In a
# statement of its own: the condition key exists only in the grant APIs' requests, so on
# Encrypt or Decrypt the same Bool test would fail and deny them.
CLUSTER_KEY_GRANT_ACTIONS = ("kms:CreateGrant",)
GRANT_FOR_AWS_RESOURCE = {"Bool": {"kms:GrantIsForAWSResource": "true"}}


def cluster_key_use(key_arn: str) -> str:
    """The EKS cluster role's use of the stack's key, for Secrets envelope encryption only.

    Whoever calls CreateCluster needs kms:CreateGrant without this condition (EKS does not
    support it there): that is the deploying principal, through the key policy's account
    statement, not this role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "SecretsEnvelopeEncryption", "Effect": "Allow", "Action": list(CLUSTER_KEY_ACTIONS), "Resource": key_arn},
                {"Sid": "GrantsForAwsResourcesOnly", "Effect": "Allow", "Action": list(CLUSTER_KEY_GRANT_ACTIONS),
                 "Resource": key_arn, "Condition": GRANT_FOR_AWS_RESOURCE},
            ],
        }
    )


def key_policy(account_id: str) -> str:
    """The default key policy: the account (its root) controls the key, and IAM policies
    grant its use. In a key policy `Resource: "*"` means this key; nobody outside the
    account appears."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "stack-key",
            "Statement": [
                {
                    "Sid": "AccountControlsTheKey",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
    )


def _deny_insecure_transport(bucket_arn: str) -> dict:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def deny_insecure_transport(bucket_arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [_deny_insecure_transport(bucket_arn)]})


# Who writes into the log bucket: S3 (server access logs) and the log delivery service (VPC flow logs).
S3_LOG_DELIVERY = "logging.s3.amazonaws.com"
VENDED_LOG_DELIVERY = "delivery.logs.amazonaws.com"


def log_bucket_policy(bucket_arn: str, account_id: str, region: str, access_log_prefix: str,
                      access_log_sources: tuple[str, ...] = (), flow_logs: bool = False) -> str:
    """The log bucket's policy: HTTPS only, like every bucket; S3 may write the access logs of
    `access_log_sources` (bucket ARNs) under `access_log_prefix`; with `flow_logs`, the log
    delivery service may write this account's logs of this region under AWSLogs/<account>/.

    Written here rather than left to the services: they add these statements themselves when
    they may (and the flow-log service replaces the whole policy), which the next deploy would undo."""
    statements: list[dict] = [_deny_insecure_transport(bucket_arn)]
    if access_log_sources:
        statements.append({
            "Sid": "S3ServerAccessLogs", "Effect": "Allow", "Principal": {"Service": S3_LOG_DELIVERY},
            "Action": "s3:PutObject", "Resource": f"{bucket_arn}/{access_log_prefix}*",
            "Condition": {"ArnLike": {"aws:SourceArn": list(access_log_sources)}, "StringEquals": {"aws:SourceAccount": account_id}},
        })
    if flow_logs:
        source = {"StringEquals": {"aws:SourceAccount": account_id}, "ArnLike": {"aws:SourceArn": f"arn:aws:logs:{region}:{account_id}:*"}}
        statements += [
            {"Sid": "AWSLogDeliveryWrite", "Effect": "Allow", "Principal": {"Service": VENDED_LOG_DELIVERY},
             "Action": "s3:PutObject", "Resource": f"{bucket_arn}/AWSLogs/{account_id}/*",
             "Condition": {**source, "StringEquals": {**source["StringEquals"], "s3:x-amz-acl": "bucket-owner-full-control"}}},
            {"Sid": "AWSLogDeliveryAclCheck", "Effect": "Allow", "Principal": {"Service": VENDED_LOG_DELIVERY},
             "Action": ["s3:GetBucketAcl", "s3:ListBucket"], "Resource": bucket_arn, "Condition": source},
        ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


MANAGED = "arn:aws:iam::aws:policy/"
EKS_CLUSTER_POLICIES = (MANAGED + "AmazonEKSClusterPolicy",)
EKS_NODE_POLICIES = (
    MANAGED + "AmazonEKSWorkerNodePolicy",
    MANAGED + "AmazonEKS_CNI_Policy",
    MANAGED + "AmazonEC2ContainerRegistryPullOnly",
)
EBS_CSI_POLICIES = (MANAGED + "service-role/AmazonEBSCSIDriverPolicy",)
