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
# EKS envelope encryption of Secrets: what the cluster role does with the key
# (EKS creates a grant on it for the control plane).
CLUSTER_KEY_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant", "kms:ListGrants")


def cluster_key_use(key_arn: str) -> str:
    """The EKS cluster role's use of the stack's key, for Secrets envelope encryption only."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "SecretsEnvelopeEncryption", "Effect": "Allow", "Action": list(CLUSTER_KEY_ACTIONS), "Resource": key_arn}
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


def deny_insecure_transport(bucket_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


MANAGED = "arn:aws:iam::aws:policy/"
EKS_CLUSTER_POLICIES = (MANAGED + "AmazonEKSClusterPolicy",)
EKS_NODE_POLICIES = (
    MANAGED + "AmazonEKSWorkerNodePolicy",
    MANAGED + "AmazonEKS_CNI_Policy",
    MANAGED + "AmazonEC2ContainerRegistryPullOnly",
)
EBS_CSI_POLICIES = (MANAGED + "service-role/AmazonEBSCSIDriverPolicy",)
