"""The world under the Pulumi rules model (tests/support/pulumi_rules.py): what Pulumi records (the
state's resources, and the program's as the engine sees them) and what exists (a Cloud).

Pulumi's state is only a record; what exists is in the Cloud, one per account. A resource whose physical name is
deterministic (an explicit name input) is known by it, so creating it again when it already
exists fails as the cloud fails - the orphan an interrupted `pulumi up` leaves behind. Other
resources get a generated id, as auto-named cloud resources do.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioner.engine import EngineError
from recipes.outputs import MASK

PROJECT = "stack-recipes"
STACK_TYPE = "pulumi:pulumi:Stack"

# --- the cloud: what exists ------------------------------------------------------------------
# The input holding a resource's physical name, where it is not `name`.
NAME_INPUT: dict[str, str] = {
    "aws:s3/bucket:Bucket": "bucket",
    "gcp:artifactregistry/repository:Repository": "repositoryId",
    "gcp:serviceaccount/account:Account": "accountId",
    "gcp:kms/keyRing:KeyRing": "name",
}
# Types whose create is a PUT of a singleton setting of another resource (the bucket's policy,
# versioning, ...): creating one that exists overwrites it, the cloud never answers "already
# exists". Keyed by the resource they configure.
UPSERTS: dict[str, str] = {
    "aws:s3/bucketPolicy:BucketPolicy": "bucket",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "bucket",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "bucket",
    "aws:s3/bucketVersioning:BucketVersioning": "bucket",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": "bucket",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "bucket",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": "repository",
}
# Kubernetes objects live in a cluster: deleting the cluster deletes them.
CLUSTER_TYPES = ("aws:eks/cluster:Cluster", "gcp:container/cluster:Cluster",
                 "azure-native:containerservice:ManagedCluster")


def physical_name(type_: str, inputs: dict[str, Any]) -> str | None:
    """The deterministic physical name (and id) of a resource with these inputs; None when the
    cloud names it (then every create makes a new one). Azure resources are known by their ARM id
    (which holds their parents' names), Kubernetes objects by "namespace/name" in their cluster."""
    if type_.startswith(("pulumi:providers:", "random:", "time:")):
        return None
    if type_.startswith("azure-native:"):
        from provisioner.analysis.mockcloud import azure

        if type_ not in azure.RESOURCES:
            return _plain(inputs.get("name"))
        return azure.arm_id(type_, "", inputs) if _plain(inputs.get(azure.RESOURCES[type_][0])) else None
    if type_.startswith("kubernetes:"):
        metadata = inputs.get("metadata") if isinstance(inputs.get("metadata"), dict) else {}
        name = _plain(metadata.get("name")) or (_plain(inputs.get("name")) if type_.startswith("kubernetes:helm") else None)
        namespace = _plain(metadata.get("namespace")) or _plain(inputs.get("namespace"))
        return f"{namespace}/{name}" if name and namespace else name
    if type_ in UPSERTS:
        return _plain(inputs.get(UPSERTS[type_]))
    return _plain(inputs.get(NAME_INPUT.get(type_, "name")))


def _plain(value: Any) -> str | None:
    return value if isinstance(value, str) and value and value != MASK else None


@dataclass(frozen=True)
class Physical:
    """A resource that exists in the cloud."""

    type: str
    id: str  # what the provider calls it, and what `import` takes
    name: str | None  # its deterministic physical name, if any
    uid: int  # this incarnation: a cluster deleted and created again is another cluster
    scope: int | None = None  # the cluster (uid) a Kubernetes object lives in


def already_exists(type_: str, name: str) -> str:
    """What each cloud answers to a create of a name that is taken."""
    if type_.startswith("azure-native:"):
        return f"cannot create already existing resource '{name}'. Consider importing the resource instead."
    if type_.startswith("kubernetes:"):
        return f'resource "{name}" was not successfully created by the Kubernetes API server: already exists'
    if type_.startswith("gcp:"):
        return f"googleapi: Error 409: Already exists: {name}, alreadyExists"
    return f"creating {type_} ({name}): ResourceAlreadyExists: {name} already exists"


class Cloud:
    """Every physical resource of one account. `scope`: the cluster of a Kubernetes object."""

    def __init__(self) -> None:
        self._resources: dict[int, Physical] = {}
        self._uids = itertools.count(1)

    def create(self, type_: str, logical_name: str, inputs: dict[str, Any], *, scope: Physical | None = None,
               adopt: bool = False) -> Physical:
        """Create the resource; EngineError when its deterministic name is taken (an upsert overwrites, and
        `adopt`, a Kubernetes provider's upsertExistingObjects, takes the existing object over)."""
        name = physical_name(type_, inputs)
        existing = self.find(type_, name, scope) if name else None
        if existing is not None:
            if type_ not in UPSERTS and not adopt:
                message = already_exists(type_, name)
                raise EngineError(f"creating {logical_name}: {message}", diagnostics=[message])
            return existing
        uid = next(self._uids)
        physical = Physical(type_, name or f"{logical_name}-{uid:06x}", name, uid, scope.uid if scope else None)
        self._resources[uid] = physical
        return physical

    def find(self, type_: str, name_or_id: str, scope: Physical | None = None) -> Physical | None:
        """The resource of this type with this id or physical name (in this cluster, if given)."""
        return next((p for p in self._resources.values() if p.type == type_ and name_or_id in (p.id, p.name)
                     and (scope is None or p.scope == scope.uid)), None)

    def exists(self, type_: str, name_or_id: str) -> bool:
        return self.find(type_, name_or_id) is not None

    def delete(self, type_: str, id_: str, scope: Physical | None = None) -> None:
        """Delete it, and what lives in it (a cluster's Kubernetes objects). Gone already: no error."""
        gone = self.find(type_, id_, scope)
        if gone is not None:
            self._resources = {uid: p for uid, p in self._resources.items() if gone.uid not in (uid, p.scope)}

    def physical_resources(self, type_: str | None = None) -> list[Physical]:
        return [p for p in self._resources.values() if type_ is None or p.type == type_]


# --- the state: what Pulumi records ---------------------------------------------------------
def is_provider(type_: str) -> bool:
    return type_.startswith("pulumi:providers:")


def provider_urn(ref: str | None) -> str | None:
    return ref.rsplit("::", 1)[0] if ref else None  # a reference is "<provider urn>::<id>"


@dataclass
class Resource:
    """A resource as the state records it (and as the program declares it: its goal)."""

    urn: str
    type: str
    custom: bool
    parent: str | None  # the root stack for top-level resources, as in real state
    provider: str | None
    dependencies: list[str]
    inputs: dict[str, Any]
    protect: bool = False
    retain_on_delete: bool = False
    id: str | None = None

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[1]

    def needs(self) -> list[str]:
        """Parent, dependencies, then provider: State.GetAllDependencies' order."""
        return [*([self.parent] if self.parent else []), *self.dependencies,
                *([provider_urn(self.provider)] if self.provider else [])]

    def to_json(self) -> dict[str, Any]:
        return {"urn": self.urn, "type": self.type, "id": self.id, "custom": self.custom, "parent": self.parent,
                "provider": self.provider, "dependencies": list(self.dependencies), "protect": self.protect,
                "retainOnDelete": self.retain_on_delete, "inputs": dict(self.inputs)}

    @classmethod
    def from_json(cls, r: Mapping[str, Any]) -> Resource:
        return cls(r["urn"], r["type"], bool(r.get("custom")), r.get("parent"), r.get("provider"),
                   list(r.get("dependencies") or []), dict(r.get("inputs") or {}), bool(r.get("protect")),
                   bool(r.get("retainOnDelete")), r.get("id"))


@dataclass
class StackState:
    resources: list[Resource] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)  # {"resource": {...}, "type": "creating"}
    outputs: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def root_urn(stack: str, project: str = PROJECT) -> str:
    return f"urn:pulumi:{stack}::{project}::{STACK_TYPE}::{project}-{stack}"


def goals(stack: str, planned: Iterable[Any]) -> list[Resource]:
    """The program's resources as the engine sees them: the root stack first, every custom
    resource without an explicit provider given its package's default provider."""
    planned = list(planned)
    project = planned[0].urn.split("::")[1] if planned else PROJECT
    root = root_urn(stack, project)
    provider_ids = {provider_urn(p.provider): p.provider.rsplit("::", 1)[1] for p in planned if p.provider}
    out = [Resource(root, STACK_TYPE, False, None, None, [], {})]
    defaults: dict[str, str] = {}
    for p in planned:
        if not p.urn.startswith(f"urn:pulumi:{stack}::"):
            raise ValueError(f"{p.urn} is not a resource of stack {stack}")
        provider = p.provider
        if p.custom and provider is None and not is_provider(p.type):
            package = p.type.split(":", 1)[0]
            if package not in defaults:
                urn = f"urn:pulumi:{stack}::{project}::pulumi:providers:{package}::default"
                defaults[package] = f"{urn}::{hashlib.sha1(urn.encode()).hexdigest()[:8]}"
                out.append(Resource(urn, f"pulumi:providers:{package}", True, root, None, [], {},
                                    id=defaults[package].rsplit("::", 1)[1]))
            provider = defaults[package]
        out.append(Resource(p.urn, p.type, p.custom, p.parent or root, provider, list(p.dependencies),
                            dict(p.inputs), p.protect, p.retain_on_delete,
                            id=provider_ids.get(p.urn) if is_provider(p.type) else None))
    return out


def toposort(resources: list[Resource]) -> list[Resource]:
    """A valid snapshot order (everything after what it needs), otherwise as given."""
    present = {r.urn for r in resources}
    done: set[str] = set()
    out: list[Resource] = []
    waiting = list(resources)
    while waiting:
        rest = []
        for r in waiting:
            if all(n in done or n not in present for n in r.needs()):
                out.append(r)
                done.add(r.urn)
            else:
                rest.append(r)
        if len(rest) == len(waiting):  # a cycle: cannot happen in a state, keep the order
            out.extend(rest)
            break
        waiting = rest
    return out


def plan_for(spec: Any) -> Any:
    """The real program's plan (default `program_resources`), once per spec and `delete_data`."""
    key = (spec, spec.delete_data, getattr(spec, "tracker_backup", ""))  # neither is part of spec equality
    if key not in _PLANS:
        from pulumi.runtime import settings

        from provisioner.analysis.plan import run_plan

        settings.ROOT.set(None)
        _PLANS[key] = run_plan(spec)
    return _PLANS[key]


_PLANS: dict[tuple[Any, bool, str], Any] = {}
