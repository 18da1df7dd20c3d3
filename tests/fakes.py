"""FakeEngine: the Engine protocol without a cloud, for driving the CLI in tests.

It runs the real program under Pulumi mocks (provisioner.plan) to know which
resources a stack has, streams events for them, and can fail at a named
resource, so deploy/destroy flows are exercised on the real resource graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from provisioner.engine import (
    Changes,
    ConcurrentUpdate,
    PendingOperation,
    kept_urns,
    retained_resources,
    DestroyResult,
    EngineError,
    EngineEvent,
    OnEvent,
    StackTarget,
    UpResult,
)
from provisioner.plan import Plan, PlannedResource, run_plan


# Names that are global across every account of a cloud: the input that holds the name.
GLOBAL_NAMES = {
    "aws:s3/bucket:Bucket": "bucket",
    "gcp:storage/bucket:Bucket": "name",
    "azure-native:storage:StorageAccount": "accountName",
    "azure-native:containerregistry:Registry": "registryName",
    "azure-native:keyvault:Vault": "vaultName",
}
TAKEN = {  # what each cloud answers when another account holds the name
    "aws:s3/bucket:Bucket": "BucketAlreadyExists: The requested bucket name is not available",
    "gcp:storage/bucket:Bucket": "googleapi: Error 409: The requested bucket name is not available",
    "azure-native:storage:StorageAccount": "StorageAccountAlreadyTaken: The storage account named {name} is already taken",
    "azure-native:containerregistry:Registry": "AlreadyInUse: The registry {name} is already in use",
    "azure-native:keyvault:Vault": "VaultAlreadyExists: The vault name '{name}' is already in use",
}


@dataclass
class World:
    """Global names held across accounts: what every user's FakeEngine shares, as the real cloud."""

    holders: dict[tuple[str, str], str] = field(default_factory=dict)  # (type, name) -> account

    def claim(self, resource: PlannedResource, account: str) -> None:
        key = _global_key(resource)
        if key is None:
            return
        holder = self.holders.setdefault(key, account)
        if holder != account:
            message = TAKEN[resource.type].format(name=key[1])
            raise EngineError(f"creating {resource.name}: {message}", resource=resource.urn, diagnostics=[message])

    def release(self, resource: PlannedResource, account: str) -> None:
        key = _global_key(resource)
        if key is not None and self.holders.get(key) == account:
            del self.holders[key]


def _global_key(resource: PlannedResource) -> tuple[str, str] | None:
    field_name = GLOBAL_NAMES.get(resource.type)
    return (resource.type, str(resource.inputs[field_name])) if field_name else None


def physical_id(resource: PlannedResource) -> str:
    inputs = resource.inputs
    return str(inputs.get("bucket") or inputs.get("name") or inputs.get("accountName")
               or inputs.get("registryName") or inputs.get("repositoryId") or f"{resource.name}-id")


def as_deployment(resources: list[PlannedResource]) -> dict[str, Any]:
    """The planned resources as a Pulumi deployment export would show them."""
    return {
        "resources": [
            {
                "urn": r.urn, "type": r.type, "id": physical_id(r) if r.custom else None, "custom": r.custom,
                "parent": r.parent, "provider": r.provider, "dependencies": r.dependencies,
                "retainOnDelete": r.retain_on_delete,
            }
            for r in resources
        ]
    }


@dataclass
class FakeEngine:
    fail_at: str | None = None  # logical name of the resource whose creation fails
    fail_message: str = "creating resource: AccessDenied: not authorized to perform this operation"
    interrupt_at: str | None = None  # Ctrl-C while this resource is being created (it stays pending)
    locked_since: str | None = None  # another process holds the stack's lock (a time, e.g. "09:41 UTC")
    drift: list[EngineEvent] = field(default_factory=list)  # what a refresh reports
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    state: dict[str, list[PlannedResource]] = field(default_factory=dict)
    pending: dict[str, list[PendingOperation]] = field(default_factory=dict)
    plans: dict[str, Plan] = field(default_factory=dict)
    suffixes: dict[str, str] = field(default_factory=dict)  # the stack's `recipe:suffix` config
    lookups: list[str] = field(default_factory=list)  # stacks whose suffix was looked up
    cluster_gone_destroys: int = 0
    account: str = "111111111111"  # whose cloud account this engine deploys to
    world: World = field(default_factory=World)  # global names, shared with other users' engines

    def _check_lock(self, target: StackTarget) -> None:
        if self.locked_since:
            raise ConcurrentUpdate(
                f"stack {target.stack_name} is being updated by another process since {self.locked_since}; "
                f"wait for it to finish, or if that process was killed, run `recipe repair {target.stack_name} --unlock`"
            )

    def _key(self, target: StackTarget) -> str:
        return f"{target.backend}#{target.stack_name}"

    def _event(self, on_event: OnEvent, kind: str, r: PlannedResource | None = None, **kw: Any) -> None:
        on_event(EngineEvent(kind=kind, urn=r.urn if r else None, type=r.type if r else None, name=r.name if r else None, **kw))

    def preview(self, target: StackTarget, on_event: OnEvent) -> Changes:
        self.calls.append(("preview", target.stack_name, target.backend))
        plan = run_plan(target.spec)
        existing = {r.urn for r in self.state.get(self._key(target), [])}
        counts = {"create": sum(1 for r in plan.resources if r.urn not in existing), "same": len(existing)}
        self._event(on_event, "summary", counts=counts)
        return Changes(counts)

    def up(self, target: StackTarget, on_event: OnEvent) -> UpResult:
        self.calls.append(("up", target.stack_name, target.backend))
        self._check_lock(target)
        if not target.spec.suffix:  # as PulumiEngine: operations.assign_suffix gives every stack one
            raise EngineError(f"stack {target.stack_name} has no suffix for its global names yet")
        plan = run_plan(target.spec)
        key = self._key(target)
        wanted = {r.urn for r in plan.resources}
        counts: dict[str, int] = {}
        # What the program no longer declares goes (e.g. after --without deployer).
        for r in reversed(self.state.get(key, [])):
            if r.urn not in wanted:
                self._event(on_event, "start", r, op="delete")
                self._event(on_event, "done", r, op="delete")
                counts["delete"] = counts.get("delete", 0) + 1
        self.state[key] = [r for r in self.state.get(key, []) if r.urn in wanted]
        existing = {r.urn for r in self.state.get(key, [])}
        created: list[PlannedResource] = list(self.state.get(key, []))
        for r in plan.resources:
            op = "same" if r.urn in existing else "create"
            self._event(on_event, "start", r, op=op)
            if r.name == self.interrupt_at and op == "create" and r.custom:
                self.state[key] = created
                self.pending[key] = [PendingOperation(type=r.type, name=r.name, urn=r.urn, operation="creating")]
                raise KeyboardInterrupt
            if r.name == self.fail_at:
                self._event(on_event, "diagnostic", r, severity="error", message=self.fail_message)
                self._event(on_event, "failed", r, op=op)
                self.state[key] = created
                raise EngineError(self.fail_message, resource=r.urn, diagnostics=[self.fail_message])
            if op == "create" and r.custom:
                try:
                    self.world.claim(r, self.account)
                except EngineError as exc:
                    self._event(on_event, "failed", r, op=op)
                    self.state[key] = created
                    raise exc
            self._event(on_event, "done", r, op=op)
            counts[op] = counts.get(op, 0) + 1
            if r.urn not in existing:
                created.append(r)
        self.state[key] = created
        self.plans[key] = plan
        self.suffixes[key] = target.spec.suffix
        self._event(on_event, "summary", counts=counts)
        return UpResult(outputs=plan.raw_outputs, changes=Changes(counts))

    def destroy(self, target: StackTarget, on_event: OnEvent, *, delete_data: bool = False,
                cluster_gone: bool = False) -> DestroyResult:
        """As PulumiEngine: a plain destroy keeps the data (and what it needs) in the state;
        --delete-data first re-declares it unretained, then deletes everything."""
        self.calls.append(("destroy", target.stack_name, delete_data))
        self.cluster_gone_destroys += int(cluster_gone)
        self._check_lock(target)
        key = self._key(target)
        resources = self.state.get(key, [])
        if delete_data:
            urns = {x.urn for x in resources}
            resources = [r for r in run_plan(target.spec.with_changes(delete_data=True)).resources if r.urn in urns]
        deployment = as_deployment(resources)
        keep = set() if delete_data else kept_urns(deployment)
        deleted = [r for r in resources if r.urn not in keep]
        for r in reversed(deleted):
            self._event(on_event, "start", r, op="delete")
            self.world.release(r, self.account)
            self._event(on_event, "done", r, op="delete")
        self.state[key] = [r for r in resources if r.urn in keep]
        self._event(on_event, "summary", counts={"delete": len(deleted)})
        return DestroyResult(retained=retained_resources(deployment) if keep else [], changes=Changes({"delete": len(deleted)}))

    def refresh(self, target: StackTarget, on_event: OnEvent, *, clear_pending_creates: bool = False) -> Changes:
        self.calls.append(("refresh", target.stack_name, clear_pending_creates))
        self._check_lock(target)
        key = self._key(target)
        if clear_pending_creates:
            self.pending.pop(key, None)
        for event in self.drift:
            on_event(event)
        changed = sum(1 for e in self.drift if e.kind == "done" and e.op == "update")
        return Changes({"same": len(self.state.get(key, [])) - changed, "update": changed})

    def pending_operations(self, target: StackTarget) -> list[PendingOperation]:
        self.calls.append(("pending", target.stack_name, target.backend))
        return list(self.pending.get(self._key(target), []))

    def outputs(self, target: StackTarget) -> dict[str, Any]:
        self.calls.append(("outputs", target.stack_name, target.backend))
        plan = self.plans.get(self._key(target))
        if plan is None:
            raise EngineError(f"no Pulumi stack {target.stack_name} in {target.backend}")
        return plan.raw_outputs

    def cancel(self, target: StackTarget) -> None:
        self.calls.append(("cancel", target.stack_name, target.backend))

    def assigned_suffix(self, target: StackTarget) -> str | None:
        self.lookups.append(target.stack_name)  # a read: not among the operations in `calls`
        key = self._key(target)
        return self.suffixes.get(key) if self.state.get(key) else None
