"""A model of the Pulumi engine's rules: provisioner.engine.pulumi_stack.PulumiStack without Pulumi.

There is no Pulumi CLI and no cloud in the tests, so the flows built from Pulumi operations
(`recipe destroy`, `--delete-data`, `repair`) run here, on the REAL program's resource graph
(provisioner.analysis.plan.run_plan); the state's records and the Cloud are in tests/support/pulumi_rules_cloud.py,
one run's steps, its lock and Pulumi's messages in tests/support/pulumi_rules_run.py.
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

import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from provisioner.engine import EngineError, EngineEvent, OnEvent
from provisioner.engine.pulumi_stack import Changes, PulumiStack

from tests.support.pulumi_rules_cloud import (
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
)
from tests.support.pulumi_rules_run import (
    LOCKED,
    TARGET_AND_EXCLUDE_PROTECTED,
    Run,
    Targets,
    delete_protected,
    dependencies,
    dependents,
    no_unprotected,
    operation,
    replace_protected,
    target_not_found,
    unreachable,
    untargeted_create,
    untargeted_delete,
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
        with operation(self, on_event) as run:
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
        with operation(self, on_event) as run:
            run.warn_pending()
            olds = list(self.state.resources)
            for r in reversed(generate_deletes(run, olds, set(), targets, target_dependents, excludes)):
                run.delete(r)
            check_targets(run, targets, {r.urn for r in olds})
        return run.counts

    def refresh(self, on_event: OnEvent, *, clear_pending_creates: bool = False,
                import_pending_creates: Mapping[str, str] | None = None) -> Changes:
        with operation(self, on_event) as run:
            refresh(run, dict(import_pending_creates or {}), clear_pending_creates)
        return run.counts


# --- the rules ---------------------------------------------------------------------------------
class _Update:
    """The registrations of `pulumi up`, in program order: step_generator.go generateSteps,
    validateSteps, continueStepsFromDiff."""

    def __init__(self, run: Run, olds: list[Resource], targets: Targets, target_dependents: bool):
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
        return self.cloud.create(goal.type, goal.name, goal.inputs, scope=scope, adopt=self.upserts(goal))

    def upserts(self, goal: Resource) -> bool:
        """pulumi-kubernetes >= 4.29: a create through a Provider with upsertExistingObjects applies over an
        object that exists (adopting it); through any other it fails AlreadyExists (Cloud.create)."""
        if not goal.type.startswith("kubernetes:"):
            return False
        urn = provider_urn(goal.provider)
        provider = self.goals.get(urn or "") or next((r for r in self.run.state.resources if r.urn == urn), None)
        return provider is not None and str(provider.inputs.get("upsertExistingObjects")).lower() == "true"

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
        self.run.step(op, goal, work if op == "update" else None,
                      lambda _: self.run.put(replace(goal, id=goal.id or old.id)), pending=("updating", old))


def generate_deletes(run: Run, olds: list[Resource], operated: set[str], targets: Targets,
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


def check_targets(run: Run, targets: Targets, known: set[str]) -> None:
    """checkTargets (after the deletes): every target existed or was registered."""
    missing = [u for u in targets.literals if u not in known]
    if missing:
        messages = [target_not_found(u) for u in missing]
        raise run.fail(None, "update", "one or more targets could not be found in the stack: " + "\n".join(messages),
                       messages)


def refresh(run: Run, imports: dict[str, str], clear: bool) -> None:
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
