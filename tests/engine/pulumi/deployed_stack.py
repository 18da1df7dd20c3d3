"""The deployed AWS stack the PulumiEngine tests share: its URNs, its exported state, its events."""

from __future__ import annotations

from tests.support.pulumi_engine_fake import diagnostic, outputs, pre, summary, urn

from provisioner.engine import EngineEvent, OnEvent

STACK = "ml-dev"
BUCKET_T = "aws:s3/bucket:Bucket"
REPO_T = "aws:ecr/repository:Repository"
BUCKET_URN = urn(STACK, BUCKET_T, "bucket", ("recipes:aws:Bucket",))
REPO_URN = urn(STACK, REPO_T, "registry", ("recipes:aws:Registry",))
PAB_URN = urn(STACK, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "bucket-public-access", ("recipes:aws:Bucket",))
CLUSTER_URN = urn(STACK, "aws:eks/cluster:Cluster", "cluster", ("recipes:aws:Cluster",))
ROOT_URN = urn(STACK, "pulumi:pulumi:Stack", f"stack-recipes-{STACK}")


def sdk_version(dist: str) -> str:
    import importlib.metadata

    return importlib.metadata.version(dist)


def resource(urn_: str, type_: str, *, custom: bool = True, parent: str | None = None, id_: str | None = None,
             retain: bool = False) -> dict:
    r = {"urn": urn_, "type": type_, "custom": custom}
    if parent:
        r["parent"] = parent
    if id_:
        r["id"] = id_
    if retain:
        r["retainOnDelete"] = True
    return r


def deployed_state() -> dict:
    bucket_component = urn(STACK, "recipes:aws:Bucket", "bucket")
    registry_component = urn(STACK, "recipes:aws:Registry", "registry")
    cluster_component = urn(STACK, "recipes:aws:Cluster", "cluster")
    return {
        "manifest": {"time": "2025-01-02T03:04:05Z", "magic": "", "version": "v3.272.0"},
        "resources": [
            resource(ROOT_URN, "pulumi:pulumi:Stack", custom=False),
            resource(bucket_component, "recipes:aws:Bucket", custom=False, parent=ROOT_URN),
            resource(BUCKET_URN, BUCKET_T, parent=bucket_component, id_="ml-dev-artifacts-abcd", retain=True),
            resource(PAB_URN, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", parent=bucket_component,
                     id_="ml-dev-artifacts-abcd", retain=True),
            resource(registry_component, "recipes:aws:Registry", custom=False, parent=ROOT_URN),
            resource(REPO_URN, REPO_T, parent=registry_component, id_="ml-dev-abcd", retain=True),
            resource(cluster_component, "recipes:aws:Cluster", custom=False, parent=ROOT_URN),
            resource(CLUSTER_URN, "aws:eks/cluster:Cluster", parent=cluster_component, id_="ml-dev-abcd"),
        ],
    }


def collect() -> tuple[list[EngineEvent], OnEvent]:
    seen: list[EngineEvent] = []
    return seen, seen.append


def up_events() -> list[dict]:
    return [
        pre(ROOT_URN, "pulumi:pulumi:Stack"),
        pre(BUCKET_URN, BUCKET_T),
        diagnostic("\x1b[33mwarning: bucket names are global\x1b[0m  \n", "warning", BUCKET_URN),
        diagnostic("creating (5s)...", "info", BUCKET_URN, ephemeral=True),
        outputs(BUCKET_URN, BUCKET_T),
        pre(CLUSTER_URN, "aws:eks/cluster:Cluster", op="update"),
        outputs(CLUSTER_URN, "aws:eks/cluster:Cluster", op="update"),
        {"preludeEvent": {"config": {}}},
        summary(create=2, update=1, same=4),
    ]
