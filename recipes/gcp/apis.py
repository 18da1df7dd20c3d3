"""The Google APIs a stack needs, enabled by the program itself.

Only the APIs of the components the stack has are enabled: a storage-only
stack does not turn on Compute Engine (which creates a default network and
service account in the project). Options add theirs (`--kms`: Cloud KMS).
APIs are never disabled on destroy: other workloads in the project may use
them, and disabling one can break them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

# What each component calls. `iam` creates service accounts, `iamcredentials`
# mints the short-lived tokens workload identity hands to pods,
# `cloudresourcemanager` reads and writes project IAM policy (node roles), and
# `containerscanning` scans every image pushed to Artifact Registry (R2), and
# `binaryauthorization` is what GKE asks before admitting a pod's image (C7): a cluster that
# enforces it cannot be created in a project where the API is off, which a fresh project is.
APIS_BY_COMPONENT: dict[str, tuple[str, ...]] = {
    "cluster": (
        "compute.googleapis.com",
        "container.googleapis.com",
        "iam.googleapis.com",
        "iamcredentials.googleapis.com",
        "cloudresourcemanager.googleapis.com",
        "binaryauthorization.googleapis.com",
    ),
    "bucket": ("storage.googleapis.com",),
    "registry": ("artifactregistry.googleapis.com", "containerscanning.googleapis.com"),
}
# What each option calls. `--kms`: Cloud KMS for the key, and Resource Manager for the
# project number the Google service agents are named after (the stack reads it).
APIS_BY_OPTION: dict[str, tuple[str, ...]] = {
    "kms": ("cloudkms.googleapis.com", "cloudresourcemanager.googleapis.com"),
}


# What the `Service` resources below are enabled through: Service Usage (the API that
# turns APIs on, and creates the service agents of `ServiceIdentity`) and Resource
# Manager (the provider reads the project through it). When either is off, enabling it in
# the same deploy fails, so it must be on before the first one: `recipe deploy` checks
# them first and stops with the one command that turns them on (provisioner/operations/prerequisites.py).
BOOTSTRAP_APIS: tuple[str, ...] = ("serviceusage.googleapis.com", "cloudresourcemanager.googleapis.com")


def required_apis(components: tuple[str, ...], options: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The APIs of `components` and of the `options` that are on, each once, in a stable order."""
    out: list[str] = []
    wanted = [api for c in components for api in APIS_BY_COMPONENT.get(c, ())]
    wanted += [api for o in options for api in APIS_BY_OPTION.get(o, ())]
    for api in wanted:
        if api not in out:
            out.append(api)
    return tuple(out)


def short_name(api: str) -> str:
    return api.split(".", 1)[0]


@dataclass
class ApisArgs:
    project: str
    apis: tuple[str, ...]


class Apis(pulumi.ComponentResource):
    services: dict[str, gcp.projects.Service]

    def __init__(self, name: str, args: ApisArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:gcp:Apis", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.services = {
            api: gcp.projects.Service(
                f"{name}-{short_name(api)}",
                project=args.project,
                service=api,
                # Leave the API on when the stack goes: it may serve more than this stack.
                disable_on_destroy=False,
                disable_dependent_services=False,
                opts=child,
            )
            for api in args.apis
        }
        self.register_outputs({"services": list(args.apis)})

    def of(self, *components: str) -> list[pulumi.Resource]:
        """The services the resources of `components` (or of an option: "kms") must wait for."""
        wanted = {api for c in components for api in APIS_BY_COMPONENT.get(c, APIS_BY_OPTION.get(c, ()))}
        return [service for api, service in self.services.items() if api in wanted]
