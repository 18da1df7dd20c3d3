"""The Artifact Registry repository ZenML pushes images to: scanned, cleaned up, kept on destroy."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from . import roles
from ..cloud import kept

UNTAGGED_EXPIRY_DAYS = 14


@dataclass
class RegistryArgs:
    repository_id: str
    project: str
    location: str
    # R1 is an option: ZenML re-pushes the same tag for every build of a pipeline,
    # which immutable tags refuse (see README).
    immutable_tags: bool = False
    retain: bool = True  # D1
    # The cluster's node identity, when the stack has a cluster: it may pull from here.
    node_service_account_member: pulumi.Input[str] | None = None
    apis: list[pulumi.Resource] = field(default_factory=list)
    # --kms: the key images are encrypted with (fixed at creation: Artifact Registry cannot
    # change it later), and the grant Artifact Registry checks at create time.
    kms_key_name: pulumi.Input[str] | None = None
    key_access: list[pulumi.Resource] = field(default_factory=list)
    # --admin: IAM members who push and pull images of this repository only.
    admins: tuple[str, ...] = ()


def cleanup_policies(days: int = UNTAGGED_EXPIRY_DAYS) -> list[dict]:
    """R4: untagged images (replaced by a newer push of their tag) expire."""
    return [
        {
            "id": "delete-untagged",
            "action": "DELETE",
            "condition": {"tag_state": "UNTAGGED", "older_than": f"{days * 86400}s"},
        }
    ]


def registry_uri(location: str, project: str, repository_id: str) -> str:
    """What ZenML's `gcp` container registry takes: images go to `<uri>/zenml:<tag>`."""
    return f"{location}-docker.pkg.dev/{project}/{repository_id}"


class Registry(pulumi.ComponentResource):
    repository: gcp.artifactregistry.Repository
    uri: pulumi.Output[str]

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:gcp:Registry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=args.apis)
        self.repository = gcp.artifactregistry.Repository(
            name,
            repository_id=args.repository_id,
            location=args.location,
            format="DOCKER",
            description="stack-recipes: images of ZenML pipelines",
            docker_config={"immutable_tags": args.immutable_tags},
            cleanup_policies=cleanup_policies(),
            cleanup_policy_dry_run=False,
            # R2: scanned on push while the Container Scanning API is on (enabled with the registry).
            vulnerability_scanning_config={"enablement_config": "INHERITED"},
            kms_key_name=args.kms_key_name,
            opts=pulumi.ResourceOptions.merge(
                child, kept(args.retain, depends_on=args.key_access)
            ),
        )
        if args.node_service_account_member is not None:
            # Nodes pull pipeline images from this repository only. Not retained: the node
            # identity goes with the cluster, and so does its grant.
            gcp.artifactregistry.RepositoryIamMember(
                f"{name}-nodes-pull",
                project=args.project,
                location=args.location,
                repository=self.repository.name,
                role=roles.REGISTRY_READER,
                member=args.node_service_account_member,
                opts=child,
            )
        for member in args.admins:  # not retained, like the nodes' grant
            gcp.artifactregistry.RepositoryIamMember(
                f"{name}-admin-{roles.admin_slug(member)}", project=args.project, location=args.location,
                repository=self.repository.name, role=roles.REGISTRY_WRITER, member=member,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.uri = self.repository.repository_id.apply(lambda rid: registry_uri(args.location, args.project, rid))
        self.register_outputs({"uri": self.uri})
