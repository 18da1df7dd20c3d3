"""The ECR repository ZenML pushes images to: scanned, cleaned up, kept on destroy."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
from ..cloud import kept

UNTAGGED_EXPIRY_DAYS = 14


@dataclass
class RegistryArgs:
    repository: str
    # R1 is an option: ZenML re-pushes the same tag for every build of a pipeline,
    # which immutable tags refuse (see README).
    immutable_tags: bool = False
    retain: bool = True  # D1
    # --kms: images encrypted with the stack's key. ECR sets a repository's encryption when it
    # is created and cannot change it: switching --kms on an existing stack wants a new repository.
    kms_key_arn: pulumi.Input[str] | None = None


def lifecycle_policy(days: int = UNTAGGED_EXPIRY_DAYS) -> str:
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"Expire untagged images after {days} days",
                    "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": days},
                    "action": {"type": "expire"},
                }
            ]
        }
    )


class Registry(pulumi.ComponentResource):
    repository: aws.ecr.Repository
    uri: pulumi.Output[str]

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:aws:Registry", name, None, opts)
        child = kept(args.retain, parent=self)
        self.repository = aws.ecr.Repository(
            name,
            name=args.repository,
            image_tag_mutability="IMMUTABLE" if args.immutable_tags else "MUTABLE",
            image_scanning_configuration={"scan_on_push": True},  # R2
            encryption_configurations=[
                {"encryption_type": "KMS", "kms_key": args.kms_key_arn} if args.kms_key_arn is not None else {"encryption_type": "AES256"}
            ],
            force_delete=not args.retain,  # images are deleted only with --delete-data
            opts=child,
        )
        aws.ecr.LifecyclePolicy(  # R4
            f"{name}-lifecycle", repository=self.repository.name, policy=lifecycle_policy(), opts=child
        )
        # ZenML wants the registry host, without the repository path.
        self.uri = self.repository.repository_url.apply(lambda url: url.split("/", 1)[0])
        self.register_outputs({"uri": self.uri, "repository_url": self.repository.repository_url})
