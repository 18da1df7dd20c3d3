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


def bucket_read_write(bucket_arn: str) -> str:
    """Object access on one bucket, nothing else."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "ListBucket", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": bucket_arn},
                {
                    "Sid": "Objects",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                    "Resource": f"{bucket_arn}/*",
                },
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
