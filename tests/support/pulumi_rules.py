"""A model of the Pulumi engine's rules: provisioner.engine.pulumi_stack.PulumiStack without Pulumi.

There is no Pulumi CLI and no cloud in the tests, so the flows built from Pulumi operations
(`recipe destroy`, `--delete-data`, `repair`) run here, on the REAL program's resource graph
(provisioner.analysis.plan.run_plan); the state's records and the Cloud are in tests/support/pulumi_rules_cloud.py.
The model refuses what Pulumi refuses, with Pulumi's own messages. Where it simplifies:
- steps run one at a time in program order (Pulumi runs independent ones in parallel): after a
  failure the state holds the steps before it; Pulumi's may hold more;
- a replace is a changed physical name (no provider Diff); providers are never replaced; a
  change of protect/retainOnDelete alone is a "same" step (Pulumi: same); the old resource of a
  replace is deleted within the step (Pulumi: at the end, as a pending-delete entry);
- refresh reads existence only (no drift); no aliases, deletedWith, ignoreChanges,
  replaceOnChanges, partial (init-error) creates; default providers are named "default".
Sources (pulumi/pulumi at HEAD): pkg/resource/deploy/step_generator.go, step.go,
pkg/resource/graph/dependency_graph.go, pkg/cmd/pulumi/operations/{destroy,refresh}.go,
pkg/backend/snapshot.go, pkg/backend/diy/lock.go, sdk/go/common/diag/errors.go.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from provisioner.engine import ConcurrentUpdate, EngineError, EngineEvent, OnEvent
from provisioner.engine.pulumi_stack import Changes, PulumiStack

from tests.support.pulumi_rules_cloud import (
    CLUSTER_TYPES,
    PROJECT,
    STACK_TYPE,
    Cloud,
    Physical,
    Resource,
    StackState,
    goals,
    is_provider,
    physical_name,
    plan_for,
    provider_urn,
    root_urn,
    toposort,
)

__all__ = [  # the model, its world (re-exported) and the messages it fails with
    "LOCKED",
    "PROJECT",
    "STACK_TYPE",
    "TARGET_AND_EXCLUDE_PROTECTED",
    "Cloud",
    "Physical",
    "Resource",
    "RulesBackend",
    "RulesStack",
    "Targets",
    "delete_protected",
    "goals",
    "no_unprotected",
    "plan_for",
    "replace_protected",
    "root_urn",
    "target_not_found",
    "unreachable",
    "untargeted_create",
    "untargeted_delete",
]

# --- Pulumi's messages ---------------------------------------------------------------------
LOCKED = ("the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end "
          "or delete the lock file with `pulumi cancel`.")  # pkg/backend/diy/lock.go
TARGET_AND_EXCLUDE_PROTECTED = "you cannot specify --target and --exclude-protected"  # destroy.go


def untargeted_create(urn: str, dep: str) -> str:
    """diag.GetResourceWillBeCreatedButWasNotSpecifiedInTargetList (sic: "was was")."""
    return f"Resource '{urn}' depends on '{dep}' which was was not specified in --target list."


def untargeted_delete(urn: str) -> str:
    """diag.GetResourceWillBeDestroyedButWasNotSpecifiedInTargetList."""
    return (f"Resource '{urn}' will be destroyed but was not specified in --target list.\n"
            "Either include resource in --target list or pass --target-dependents to proceed.")


def delete_protected(urn: str) -> str:
    """step.go deleteProtectedError."""
    return (f'resource "{urn}" cannot be deleted\nbecause it is protected. To unprotect the resource, '
            "either remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`, "
            f"or use the command:\n`pulumi state unprotect '{urn}'`")


def replace_protected(urn: str) -> str:
    """step_generator.go continueStepsFromDiff."""
    return (f'unable to replace resource "{urn}"\nas it is currently marked for protection. To unprotect the '
            "resource, remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`")


def target_not_found(urn: str) -> str:
    """diag.GetTargetCouldNotBeFound(DidYouForget)Error."""
    hint = "" if "$" in urn else " Did you forget to escape $ in your shell?"
    return f"Target '{urn}' could not be found in the stack.{hint}"


def unreachable(cluster: str) -> str:
    """pulumi-kubernetes, when the cluster its provider points at is gone."""
    return ("configured Kubernetes cluster is unreachable: unable to load schema information from the API server: "
            f'Get "https://{cluster}/openapi/v2?timeout=32s": dial tcp: lookup {cluster}: no such host')


def no_unprotected(count: int) -> str:
    return (f"There were no unprotected resources to destroy. There are still {count} "
            "protected resources associated with this stack.")


class Targets:
    """deploy.UrnTargets: URNs and globs (`*` within a URN segment, `**` across); none = unconstrained."""

    def __init__(self, urns: Iterable[str] | None):
        self.literals = [u for u in urns or () if "*" not in u]
        self.globs = [re.compile("^" + ".*".join("[^:]*".join(map(re.escape, seg.split("*"))) for seg in g.split("**")) + "$")
                      for g in urns or () if "*" in g]
        self.constrained = bool(self.literals or self.globs)

    def __contains__(self, urn: str) -> bool:
        return not self.constrained or urn in self.literals or any(g.match(urn) for g in self.globs)


def dependents(resources: list[Resource], seeds: Iterable[str]) -> set[str]:
    """`seeds` and everything depending on them, children included: DependencyGraph.DependingOn
    (a scan in the state's topological order)."""
    found = set(seeds)
    for r in resources:
        if r.urn not in found and any(n in found for n in r.needs()):
            found.add(r.urn)
    return found


def dependencies(resources: list[Resource], seeds: Iterable[str]) -> set[str]:
    """`seeds` and, transitively, their parents, dependencies and providers:
    DependencyGraph.TransitiveDependenciesOf (destroy.go getProtectedExcludes)."""
    by_urn = {r.urn: r for r in resources}
    found: set[str] = set()
    todo = [u for u in seeds if u in by_urn]
    while todo:
        urn = todo.pop()
        if urn not in found and urn in by_urn:
            found.add(urn)
            todo.extend(by_urn[urn].needs())
    return found


# --- the backend and its operations ------------------------------------------------------------
class RulesBackend:
    """Every stack's state and lock, and the Cloud they deploy to.

    Faults, by a custom resource's logical name, for every stack, until set back to None:
    `fail_at` (its step fails with `fail_message`); `interrupt_at` with `interrupt_mode`
    "graceful" (Ctrl-C: the step completes, the checkpoint is written, the lock released) or
    "hard" (the CLI is killed mid-step: the step's cloud work is done, the state records it as a
    pending operation, the lock stays until `unlock()`). `k8s_delete_unreachable` is
    PULUMI_K8S_DELETE_UNREACHABLE: Kubernetes objects of a cluster that is gone leave the state
    (destroy, refresh) instead of failing."""

    def __init__(self, cloud: Cloud | None = None, program_resources: Callable[[Any], Any] = plan_for) -> None:
        self.cloud = cloud or Cloud()
        self.program_resources = program_resources  # spec -> a Plan, or a list of PlannedResource
        self.states: dict[str, StackState] = {}
        self.fail_at: str | None = None
        self.fail_message = "AccessDenied: not authorized to perform this operation"
        self.interrupt_at: str | None = None
        self.interrupt_mode = "graceful"
        self.k8s_delete_unreachable = False
        self._guard = threading.Lock()

    def stack(self, name: str) -> RulesStack:
        with self._guard:
            self.states.setdefault(name, StackState())
        return RulesStack(self, name)


class _Killed(BaseException):
    """The CLI process died: nothing after this point runs."""


class _Run:
    """One operation on one stack: its events and counts, its steps and their checkpoints."""

    def __init__(self, backend: RulesBackend, state: StackState, on_event: OnEvent):
        self.backend, self.cloud, self.state, self.on_event = backend, backend.cloud, state, on_event
        self.counts: Changes = {}
        # snapshot.go: pending CREATEs of the base survive the operation; other pending operations go.
        self.carry = [op for op in state.pending if op["type"] == "creating"]

    def event(self, kind: str, r: Resource | None = None, **kw: Any) -> None:
        self.on_event(EngineEvent(kind=kind, urn=r.urn if r else None, type=r.type if r else None,
                                  name=r.name if r else None, **kw))

    def fail(self, r: Resource | None, op: str, message: str, diagnostics: list[str] | None = None) -> EngineError:
        for line in diagnostics or [message]:
            self.event("diagnostic", r, severity="error", message=line)
        if r is not None:
            self.event("failed", r, op=op)
        return EngineError(message, resource=r.urn if r else None, diagnostics=diagnostics or [message])

    def warn_pending(self) -> None:
        """deployment_executor.go printPendingOperationsWarning (up and destroy)."""
        if self.state.pending:
            lines = "".join(f"  * {op['resource']['urn']}, interrupted while {op['type']}\n" for op in self.state.pending)
            self.event("diagnostic", severity="warning", message=(
                f"Attempting to deploy or update resources with {len(self.state.pending)} pending operations "
                f"from previous deployment.\n{lines}"))

    def step(self, op: str, r: Resource, cloud_work: Callable[[], Any] = lambda: None,
             record: Callable[[Any], None] = lambda _: None, pending: tuple[str, Resource] | None = None) -> None:
        """One step: its cloud work, then its checkpoint (`record`), with the injected faults."""
        self.event("start", r, op=op)
        faulty = op != "same" and r.custom  # a component has no cloud work to fail or interrupt
        if faulty and r.name == self.backend.fail_at:
            raise self.fail(r, op, self.backend.fail_message)
        try:
            result = cloud_work()
        except EngineError as exc:
            raise self.fail(r, op, exc.message, exc.diagnostics) from None
        interrupted = faulty and r.name == self.backend.interrupt_at
        if interrupted and self.backend.interrupt_mode == "hard":
            kind, resource = pending or ("creating", r)
            self.carry.append({"resource": resource.to_json(), "type": kind})
            raise _Killed
        record(result)
        self.event("done", r, op=op)
        self.counts[op] = self.counts.get(op, 0) + 1
        if interrupted:
            raise KeyboardInterrupt

    def put(self, r: Resource) -> None:
        urns = [old.urn for old in self.state.resources]
        if r.urn in urns:
            self.state.resources[urns.index(r.urn)] = r
        else:
            self.state.resources.append(r)

    def drop(self, urn: str) -> None:
        self.state.resources[:] = [r for r in self.state.resources if r.urn != urn]

    def cluster(self, r: Resource, goals: Mapping[str, Resource] | None = None) -> Physical | None:
        """The cluster a Kubernetes object lives in, through its provider's dependencies;
        EngineError (pulumi-kubernetes') when that cluster is gone."""
        if not (r.custom and r.type.startswith("kubernetes:")) or is_provider(r.type):
            return None
        by_urn = {**(goals or {}), **{x.urn: x for x in self.state.resources}}
        todo, seen = [provider_urn(r.provider)], set()
        while todo:
            urn = todo.pop()
            found = by_urn.get(urn or "")
            if found is None or urn in seen:
                continue
            seen.add(urn)
            if found.type in CLUSTER_TYPES:
                physical = self.cloud.find(found.type, found.id) if found.id else None
                if physical is None:
                    raise EngineError(unreachable(found.id or found.name))
                return physical
            todo.extend(found.dependencies)
        return None

    def delete(self, r: Resource) -> None:
        """DeleteStep.Apply: a protected resource refuses; retainOnDelete leaves the cloud resource."""
        if r.protect:
            self.event("start", r, op="delete")
            raise self.fail(r, "delete", delete_protected(r.urn))
        physical = r.custom and not is_provider(r.type) and not r.retain_on_delete and r.id

        def work() -> None:
            try:
                scope = self.cluster(r)
            except EngineError:
                if not self.backend.k8s_delete_unreachable:
                    raise
                return
            if physical:
                self.cloud.delete(r.type, r.id, scope)

        self.step("delete", r, work, lambda _: self.drop(r.urn), pending=("deleting", r))


@contextlib.contextmanager
def _operation(stack: RulesStack, on_event: OnEvent) -> Iterator[_Run]:
    """The stack's lock for one operation; the checkpoint and the summary at its end, however it
    ends, except when the process is killed (then the lock stays)."""
    if not stack.state.lock.acquire(blocking=False):
        raise ConcurrentUpdate(LOCKED)
    run = _Run(stack.backend, stack.state, on_event)
    killed = False
    try:
        yield run
    except _Killed:
        killed = True
        raise KeyboardInterrupt from None
    finally:
        stack.state.resources[:] = toposort(stack.state.resources)
        stack.state.pending = run.carry
        if not killed:
            run.event("summary", counts=dict(run.counts))
            stack.state.lock.release()


# --- the stack ---------------------------------------------------------------------------------
class RulesStack(PulumiStack):
    """provisioner.engine.pulumi_stack.PulumiStack, on the model."""

    def __init__(self, backend: RulesBackend, name: str):
        self.backend, self.name = backend, name
        self.state = backend.states[name]

    def deployment(self) -> dict[str, Any]:
        """As `pulumi stack export` (no lock needed)."""
        return {"resources": [r.to_json() for r in self.state.resources],
                "pending_operations": [{"resource": dict(op["resource"]), "type": op["type"]} for op in self.state.pending]}

    def urns(self, *, stack: bool = False) -> list[str]:
        """The state's URNs in order; the root stack's only if asked."""
        return [r.urn for r in self.state.resources if stack or r.type != STACK_TYPE]

    def outputs(self) -> dict[str, Any]:
        return dict(self.state.outputs)

    @property
    def locked(self) -> bool:
        return self.state.lock.locked()

    def unlock(self) -> None:
        """`pulumi cancel`: remove the lock a killed process left."""
        if self.state.lock.locked():
            self.state.lock.release()

    def up(self, spec: Any, on_event: OnEvent, *, target: list[str] | None = None,
           target_dependents: bool = False) -> tuple[dict[str, Any], Changes]:
        targets = Targets(target)
        with _operation(self, on_event) as run:
            program = self.backend.program_resources(spec)
            wanted = goals(self.name, getattr(program, "resources", program))
            run.warn_pending()
            olds = list(self.state.resources)
            registered = _Update(run, olds, targets, target_dependents).register(wanted)
            for r in reversed(generate_deletes(run, olds, registered, targets, target_dependents)):
                run.delete(r)
            check_targets(run, targets, {r.urn for r in olds} | registered)
            self.state.outputs = dict(getattr(program, "raw_outputs", {}) or {})
        return self.outputs(), run.counts

    def destroy(self, on_event: OnEvent, *, target: list[str] | None = None, target_dependents: bool = False,
                exclude_protected: bool = False) -> Changes:
        targets = Targets(target)
        if targets.constrained and exclude_protected:
            raise EngineError(TARGET_AND_EXCLUDE_PROTECTED)
        excludes = None
        if exclude_protected:  # destroy.go: on the snapshot, before the operation (and its lock)
            olds = self.state.resources
            excludes = dependencies(olds, [r.urn for r in olds if r.protect])
            if excludes and len(excludes) == len(olds):
                on_event(EngineEvent(kind="diagnostic", severity="info", message=no_unprotected(len(excludes))))
                return {}
        with _operation(self, on_event) as run:
            run.warn_pending()
            olds = list(self.state.resources)
            for r in reversed(generate_deletes(run, olds, set(), targets, target_dependents, excludes)):
                run.delete(r)
            check_targets(run, targets, {r.urn for r in olds})
        return run.counts

    def refresh(self, on_event: OnEvent, *, clear_pending_creates: bool = False,
                import_pending_creates: Mapping[str, str] | None = None) -> Changes:
        with _operation(self, on_event) as run:
            refresh(run, dict(import_pending_creates or {}), clear_pending_creates)
        return run.counts


# --- the rules ---------------------------------------------------------------------------------
class _Update:
    """The registrations of `pulumi up`, in program order: step_generator.go generateSteps,
    validateSteps, continueStepsFromDiff."""

    def __init__(self, run: _Run, olds: list[Resource], targets: Targets, target_dependents: bool):
        self.run, self.cloud = run, run.cloud
        self.olds = {r.urn: r for r in olds}
        self.targets, self.target_dependents = targets, target_dependents
        self.actual = set(targets.literals)  # targetsActual: grows with --target-dependents
        self.skipped: set[str] = set()  # skipped creates: untargeted, not in the state, not created
        self.goals: dict[str, Resource] = {}

    def targeted_for_update(self, r: Resource) -> bool:
        """isTargetedForUpdate: a target, or (--target-dependents) needing one."""
        return (self.targets.constrained and r.urn in self.targets) or r.urn in self.actual or (
            self.target_dependents and any(n in self.actual for n in r.needs()))

    def register(self, wanted: list[Resource]) -> set[str]:
        for goal in wanted:
            self.goals[goal.urn] = goal
            old = self.olds.get(goal.urn)
            implicit = is_provider(goal.type) or goal.type == STACK_TYPE  # always targeted
            targeted = not self.targets.constrained or implicit or self.targeted_for_update(goal)
            if self.targets.constrained and targeted and self.targeted_for_update(goal):
                self.actual.add(goal.urn)
            if not targeted:
                if old is None:
                    self.skipped.add(goal.urn)
                else:
                    self.run.step("same", old)  # an untargeted resource keeps its old state
                continue
            self.validate(goal, "create" if old is None else "update")
            if old is None:
                self.create(goal)
            else:
                self.update(old, goal)
        return set(self.goals)

    def validate(self, goal: Resource, op: str) -> None:
        """validateSteps: with targets, no step may need a skipped create."""
        for needed in goal.needs() if self.targets.constrained else ():
            if needed in self.skipped:
                message = untargeted_create(goal.urn, needed)
                self.run.event("start", goal, op=op)
                raise self.run.fail(goal, op, f"untargeted create: {message}", [message])

    def physical(self, r: Resource) -> bool:
        return r.custom and not is_provider(r.type)

    def new_physical(self, goal: Resource, scope: Physical | None) -> Physical:
        return self.cloud.create(goal.type, goal.name, goal.inputs, scope=scope)

    def create(self, goal: Resource) -> None:
        def work() -> Physical | None:
            return self.new_physical(goal, self.run.cluster(goal, self.goals)) if self.physical(goal) else None

        self.run.step("create", goal, work, lambda p: self.run.put(replace(goal, id=p.id if p else goal.id)))

    def update(self, old: Resource, goal: Resource) -> None:
        """Same, update, or replace (create the new one, then delete the old) when the physical
        name changes or a Kubernetes object's cluster is another one; never a protected resource."""
        try:
            scope = self.run.cluster(goal, self.goals)
        except EngineError as exc:
            self.run.event("start", goal, op="update")
            raise self.run.fail(goal, "update", exc.message) from None
        moved = scope is not None and self.cloud.find(old.type, old.id or "", scope) is None
        if self.physical(goal) and (moved or physical_name(old.type, old.inputs) != physical_name(goal.type, goal.inputs)):
            if old.protect and goal.protect:
                self.run.event("start", goal, op="replace")
                raise self.run.fail(goal, "replace", replace_protected(goal.urn))

            def record(new: Physical) -> None:
                if not old.retain_on_delete and old.id:
                    self.cloud.delete(old.type, old.id, scope)
                self.run.put(replace(goal, id=new.id))

            self.run.step("replace", goal, lambda: self.new_physical(goal, scope), record)
            return

        def work() -> None:
            if self.physical(goal) and not self.cloud.find(old.type, old.id or "", scope):
                raise EngineError(f"updating {goal.name}: {goal.type} {old.id!r} not found")

        op = "update" if goal.inputs != old.inputs else "same"
        self.run.step(op, goal, work if op == "update" else lambda: None,
                      lambda _: self.run.put(replace(goal, id=goal.id or old.id)), pending=("updating", old))


def generate_deletes(run: _Run, olds: list[Resource], operated: set[str], targets: Targets,
                     target_dependents: bool, excludes: set[str] | None = None) -> list[Resource]:
    """GenerateDeletes: what the operation deletes, in state order (run in reverse). With targets:
    the targets and all their dependents (determineAllowedResourcesToDeleteFromTargets), each of
    them a target unless --target-dependents; with excludes: all but them and what they need."""
    if targets.constrained:
        allowed = dependents(olds, [r.urn for r in olds if r.urn in targets])
        steps = [r for r in olds if r.urn in allowed and r.urn not in operated]
        unlisted = [r for r in steps if r.urn not in targets]
        if unlisted and not target_dependents:
            messages = [untargeted_delete(r.urn) for r in unlisted]
            raise run.fail(None, "delete", "delete untargeted resource: " + "\n".join(messages), messages)
        return steps
    return [r for r in olds if r.urn not in (excludes or set()) and r.urn not in operated]


def check_targets(run: _Run, targets: Targets, known: set[str]) -> None:
    """checkTargets (after the deletes): every target existed or was registered."""
    missing = [u for u in targets.literals if u not in known]
    if missing:
        messages = [target_not_found(u) for u in missing]
        raise run.fail(None, "update", "one or more targets could not be found in the stack: " + "\n".join(messages),
                       messages)


def refresh(run: _Run, imports: dict[str, str], clear: bool) -> None:
    """refresh.go: the pending creates in --import-pending-creates become resources (if the cloud
    has them), then --clear-pending-creates drops the others; then what the cloud no longer has
    leaves the state, and the dependencies on it (journal.go rebuildDependencies)."""
    imported: list[Resource] = []
    for urn, id_ in imports.items():
        op = next((op for op in run.carry if op["resource"]["urn"] == urn), None)
        if op is None:
            run.event("diagnostic", severity="warning", message=f'"{urn}" did not correspond to a pending create')
            continue
        resource = Resource.from_json(op["resource"])
        try:
            physical = run.cloud.find(resource.type, id_, run.cluster(resource))
        except EngineError as exc:
            raise run.fail(resource, "import", exc.message) from None
        if physical is None:
            raise run.fail(resource, "import", f"resource '{id_}' does not exist")
        imported.append(replace(resource, id=physical.id))
    for resource in imported:
        run.carry = [op for op in run.carry if op["resource"]["urn"] != resource.urn]
        run.step("import", resource, record=lambda _, r=resource: run.put(r))
    if clear:
        run.carry = []
    scopes: dict[str, Physical | None] = {}  # the clusters, read before anything leaves the state
    for r in run.state.resources:
        try:
            scopes[r.urn] = run.cluster(r)
        except EngineError as exc:
            if not run.backend.k8s_delete_unreachable:
                raise run.fail(r, "refresh", exc.message) from None
    for r in list(run.state.resources):
        physical = r.custom and not is_provider(r.type) and bool(r.id)
        gone = r.urn not in scopes or (physical and run.cloud.find(r.type, r.id, scopes[r.urn]) is None)
        run.step("delete" if gone else "same", r, record=lambda _, r=r, g=gone: run.drop(r.urn) if g else None)
    present = {r.urn for r in run.state.resources}
    for r in run.state.resources:
        r.dependencies = [d for d in r.dependencies if d in present]
