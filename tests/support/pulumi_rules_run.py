"""The Pulumi rules model's operations: one run's steps, checkpoints and lock, the targets it
takes, and Pulumi's own messages for what it refuses.

tests/support/pulumi_rules.py builds `up`, `destroy` and `refresh` from these (its docstring says
what the model simplifies); tests/support/pulumi_rules_cloud.py holds the state's records and the Cloud.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from provisioner.engine import ConcurrentUpdate, EngineError, EngineEvent, OnEvent
from provisioner.engine.pulumi_stack import Changes

from tests.support.pulumi_rules_cloud import (
    CLUSTER_TYPES,
    Physical,
    Resource,
    StackState,
    is_provider,
    provider_urn,
    toposort,
)

if TYPE_CHECKING:
    from tests.support.pulumi_rules import RulesBackend, RulesStack

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


class Killed(BaseException):
    """The CLI process died: nothing after this point runs."""


class Run:
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

    def step(self, op: str, r: Resource, cloud_work: Callable[[], Any] | None = None,
             record: Callable[[Any], None] | None = None, pending: tuple[str, Resource] | None = None) -> None:
        """One step: its cloud work, then its checkpoint (`record`), with the injected faults.
        `pending`: what the state records if the CLI is killed mid-step (default: creating `r`)."""
        self.event("start", r, op=op)
        faulty = op != "same" and r.custom  # a component has no cloud work to fail or interrupt
        if faulty and r.name == self.backend.fail_at:
            raise self.fail(r, op, self.backend.fail_message)
        try:
            result = cloud_work() if cloud_work is not None else None
        except EngineError as exc:
            raise self.fail(r, op, exc.message, exc.diagnostics) from None
        interrupted = faulty and r.name == self.backend.interrupt_at
        if interrupted and self.backend.interrupt_mode == "hard":
            kind, resource = pending or ("creating", r)
            self.carry.append({"resource": resource.to_json(), "type": kind})
            raise Killed
        if record is not None:
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
def operation(stack: RulesStack, on_event: OnEvent) -> Iterator[Run]:
    """The stack's lock for one operation; the checkpoint and the summary at its end, however it
    ends, except when the process is killed (then the lock stays)."""
    if not stack.state.lock.acquire(blocking=False):
        raise ConcurrentUpdate(LOCKED)
    run = Run(stack.backend, stack.state, on_event)
    killed = False
    try:
        yield run
    except Killed:
        killed = True
        raise KeyboardInterrupt from None
    finally:
        stack.state.resources[:] = toposort(stack.state.resources)
        stack.state.pending = run.carry
        if not killed:
            run.event("summary", counts=dict(run.counts))
            stack.state.lock.release()

