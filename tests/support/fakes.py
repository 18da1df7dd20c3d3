"""FakeEngine: the Engine protocol without a cloud, for driving the CLI in tests.

It runs the real program under Pulumi mocks (provisioner.analysis.plan) and applies it to a
model of the Pulumi engine's rules and of a cloud (tests/support/pulumi_rules.py), so deploy,
destroy, backup and repair flows are exercised on the real resource graph under the
rules real Pulumi enforces; it can fail or be interrupted at a named resource.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from provisioner.engine import run_history, teardown
from provisioner.engine import (
    Changes,
    ConcurrentUpdate,
    DestroyResult,
    EngineError,
    EngineEvent,
    OnEvent,
    PendingOperation,
    StackTarget,
    UpResult,
)
from provisioner.engine.pulumi.state import adoptable, pending_operations
from provisioner.analysis.plan import Plan, PlannedResource, run_plan

from tests.support.pulumi_rules import STACK_TYPE, Cloud, Resource, RulesBackend, RulesStack


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


def _locked_error(target: StackTarget, since: str | None = None) -> ConcurrentUpdate:
    """What PulumiEngine says when another process holds the stack's lock."""
    when = f" since {since}" if since else ""
    return ConcurrentUpdate(
        f"stack {target.stack_name} is being updated by another process{when}; wait for it to finish, "
        f"or if that process was killed, run `recipe repair {target.stack_name} --unlock`"
    )


@dataclass
class FakeEngine:
    """The Engine protocol on the model of Pulumi's rules (tests/support/pulumi_rules.py): the same
    sequences of Pulumi operations as PulumiEngine (provisioner.engine.teardown, run_history), so a
    flow Pulumi would refuse fails here too."""

    fail_at: str | None = None  # logical name of the resource whose creation fails
    fail_message: str = "creating resource: AccessDenied: not authorized to perform this operation"
    interrupt_at: str | None = None  # the run stops while this resource is being created
    # "graceful": Ctrl-C as recipe handles it (the step finishes, the state is saved, the lock released);
    # "hard": the CLI killed (the create stays pending, the lock stays held).
    interrupt_mode: str = "graceful"
    locked_since: str | None = None  # another process holds the stack's lock (a time, e.g. "09:41 UTC")
    drift: list[EngineEvent] = field(default_factory=list)  # what a refresh reports
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    plans: dict[str, Plan] = field(default_factory=dict)
    suffixes: dict[str, str] = field(default_factory=dict)  # the stack's `recipe:suffix` config
    lookups: list[str] = field(default_factory=list)  # stacks whose suffix was looked up
    backups: list[str] = field(default_factory=list)  # ids of the run-history backups taken
    cluster_gone_destroys: int = 0
    account: str = "111111111111"  # whose cloud account this engine deploys to
    world: World = field(default_factory=World)  # global names, shared with other users' engines
    # This account's resources, per region (the model's names carry no region; in the cloud most
    # are regional). Global names across accounts are the World's.
    clouds: dict[str, Cloud] = field(default_factory=dict)
    backends: dict[tuple[str, str], RulesBackend] = field(default_factory=dict)  # (backend URL, region) -> its stacks

    # --- the model's state, as the tests inspect it ---------------------------------------
    @property
    def state(self) -> dict[str, list[Resource]]:
        """Each stack's resources in its state (no root stack), by "<backend>#<stack>"."""
        return {f"{url}#{name}": [r for r in st.resources if r.type != STACK_TYPE]
                for (url, _), b in self.backends.items() for name, st in b.states.items()}

    @property
    def pending(self) -> dict[str, list[dict[str, Any]]]:
        return {f"{url}#{name}": list(st.pending) for (url, _), b in self.backends.items() for name, st in b.states.items()}

    @property
    def cloud(self) -> Cloud:
        """The cloud of the one region the test deployed to."""
        (cloud,) = self.clouds.values()
        return cloud

    def _key(self, target: StackTarget) -> str:
        return f"{target.backend}#{target.stack_name}"

    def _backend(self, target: StackTarget) -> RulesBackend:
        key = (target.backend, target.spec.region)
        if key not in self.backends:
            self.backends[key] = RulesBackend(cloud=self.clouds.setdefault(target.spec.region, Cloud()))
        return self.backends[key]

    def _stack(self, target: StackTarget) -> RulesStack:
        if self.locked_since:
            raise _locked_error(target, self.locked_since)
        backend = self._backend(target)
        backend.fail_at, backend.fail_message = self.fail_at, self.fail_message
        backend.interrupt_at, backend.interrupt_mode = self.interrupt_at, self.interrupt_mode
        return backend.stack(target.stack_name)

    def _sync_world(self) -> None:
        """Global names this account no longer holds in its cloud are free for everyone again."""
        for (type_, name), holder in list(self.world.holders.items()):
            held = any(name in (p.id, p.name) or str(p.id).endswith(f"/{name}")
                       for cloud in self.clouds.values() for p in cloud.physical_resources(type_))
            if holder == self.account and not held:
                del self.world.holders[(type_, name)]

    @staticmethod
    def _locked(exc: EngineError, target: StackTarget) -> EngineError:
        """The model's lock error, in the words PulumiEngine gives it."""
        return _locked_error(target) if isinstance(exc, ConcurrentUpdate) else exc

    # --- Engine ---------------------------------------------------------------------------
    def preview(self, target: StackTarget, on_event: OnEvent) -> Changes:
        self.calls.append(("preview", target.stack_name, target.backend))
        plan = run_plan(target.spec)
        existing = {r.urn for r in self.state.get(self._key(target), [])}
        counts = {"create": sum(1 for r in plan.resources if r.urn not in existing), "same": len(existing)}
        on_event(EngineEvent(kind="summary", counts=counts))
        return Changes(counts)

    def up(self, target: StackTarget, on_event: OnEvent) -> UpResult:
        self.calls.append(("up", target.stack_name, target.backend))
        stack = self._stack(target)
        if not target.spec.suffix:  # as PulumiEngine: operations.assign_suffix gives every stack one
            raise EngineError(f"stack {target.stack_name} has no suffix for its global names yet")
        plan = run_plan(target.spec)
        existing = {r.urn for r in self.state.get(self._key(target), [])}
        for r in plan.resources:  # the cloud refuses a global name another account holds
            if r.custom and r.urn not in existing:
                self.world.claim(r, self.account)
        try:
            _, counts = stack.up(target.spec, on_event)
        except EngineError as exc:
            raise self._locked(exc, target) from None
        finally:
            self._sync_world()
        key = self._key(target)
        self.plans[key] = plan
        self.suffixes[key] = target.spec.suffix
        return UpResult(outputs=plan.raw_outputs, changes=Changes(counts))

    def destroy(self, target: StackTarget, on_event: OnEvent, *, delete_data: bool = False,
                cluster_gone: bool = False) -> DestroyResult:
        self.calls.append(("destroy", target.stack_name, delete_data))
        self.cluster_gone_destroys += int(cluster_gone)
        stack = self._stack(target)
        self._backend(target).k8s_delete_unreachable = cluster_gone
        try:
            return teardown.destroy(stack, target.spec, on_event, delete_data=delete_data)
        except EngineError as exc:
            raise self._locked(exc, target) from None
        finally:
            self._backend(target).k8s_delete_unreachable = False
            self._sync_world()

    def backup(self, target: StackTarget, on_event: OnEvent, backup_id: str) -> bool:
        self.calls.append(("backup", target.stack_name, backup_id))
        done = run_history.backup(self._stack(target), target.spec, on_event, backup_id)
        if done:
            self.backups.append(backup_id)
        return done

    def refresh(self, target: StackTarget, on_event: OnEvent, *, clear_pending_creates: bool = False,
                import_pending_creates=None) -> Changes:
        self.calls.append(("refresh", target.stack_name, clear_pending_creates))
        stack = self._stack(target)
        try:
            counts = stack.refresh(on_event, clear_pending_creates=clear_pending_creates,
                                   import_pending_creates=import_pending_creates)
        except EngineError as exc:
            raise self._locked(exc, target) from None
        for event in self.drift:
            on_event(event)
        changed = sum(1 for e in self.drift if e.kind == "done" and e.op == "update")
        return Changes({**counts, "update": counts.get("update", 0) + changed})

    def pending_operations(self, target: StackTarget) -> list[PendingOperation]:
        self.calls.append(("pending", target.stack_name, target.backend))
        deployment = self._backend(target).stack(target.stack_name).deployment()
        return adoptable(pending_operations(deployment), deployment, target.spec)

    def outputs(self, target: StackTarget) -> dict[str, Any]:
        self.calls.append(("outputs", target.stack_name, target.backend))
        plan = self.plans.get(self._key(target))
        if plan is None:
            raise EngineError(f"no Pulumi stack {target.stack_name} in {target.backend}")
        return plan.raw_outputs

    def cancel(self, target: StackTarget) -> None:
        self.calls.append(("cancel", target.stack_name, target.backend))
        self._backend(target).stack(target.stack_name).unlock()

    def assigned_suffix(self, target: StackTarget) -> str | None:
        self.lookups.append(target.stack_name)  # a read: not among the operations in `calls`
        key = self._key(target)
        return self.suffixes.get(key) if self.state.get(key) else None
