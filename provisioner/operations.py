"""Deploy, preview and destroy a stack, keeping the registry true at every step.

The registry is written before an operation starts and after it ends, so a
failure or an interrupt is recorded, never forgotten, and nothing already
known about a stack (its outputs, its backend) is lost on failure.
"""

from __future__ import annotations

from typing import Any

from recipes import outputs
from recipes.spec import StackSpec

from . import paths
from .engine import PROJECT, Changes, DestroyResult, Engine, EngineError, OnEvent, StackTarget
from .registry import Registry, StackRecord, load_local_secrets
from .stackfile import spec_from_record


class OperationError(Exception):
    """A request that cannot be carried out as asked; the message says what to do instead."""


def target_for(record: StackRecord) -> StackTarget:
    if record.source != "deploy" or not record.backend:
        raise OperationError(
            f"{record.name} was registered from a `pulumi up` outside recipe, so its state is not ours to change: "
            f"run `pulumi preview/destroy` in that project"
        )
    return StackTarget(spec=spec_from_record(record.name, record.spec), backend=record.backend)


def deploy_target(spec: StackSpec, backend: str | None, registry: Registry) -> tuple[StackRecord | None, StackTarget]:
    """Where a deploy of `spec` goes: the stack's recorded backend, `backend`, or the default.

    Refuses what would split a live stack in two: another provider under the
    same name, another backend than the one holding its state.
    """
    record = registry.find(spec.name)
    if record is not None:
        if record.source != "deploy":
            raise OperationError(
                f"{spec.name} is registered from an outputs file (deployed with the pulumi CLI); "
                "pick another name, or update it with `pulumi up` and `recipe register`"
            )
        if record.provider != spec.provider and record.status != "destroyed":
            raise OperationError(
                f"{spec.name} is a {record.provider} stack in {record.region}; destroy it first or pick another name"
            )
        if backend and record.backend and backend != record.backend and record.status != "destroyed":
            raise OperationError(
                f"the state of {spec.name} is in {record.backend}; deploy it there (omit --backend) or destroy it first"
            )
    backend = backend or (record.backend if record else None) or paths.default_backend()
    return record, StackTarget(spec=spec, backend=backend)


def deploy(spec: StackSpec, *, backend: str | None, engine: Engine, registry: Registry, on_event: OnEvent) -> StackRecord:
    record, target = deploy_target(spec, backend, registry)
    if record is None:
        record = StackRecord(name=spec.name, provider=spec.provider, region=spec.region, status="deploying", source="deploy")
    record.provider, record.region = spec.provider, spec.region
    record.spec = spec.to_mapping()
    record.backend, record.pulumi_stack, record.project = target.backend, spec.name, PROJECT
    record.status = "deploying"
    record.start("deploy")
    registry.save(record)

    try:
        result = engine.up(target, on_event)
        canonical = outputs.validate(result.outputs, source=f"outputs of {spec.name}")
    except EngineError as exc:
        _fail(registry, record, "failed", exc.message, exc.resource)
        raise
    except outputs.OutputsError as exc:
        _fail(registry, record, "failed", str(exc))
        raise OperationError(f"the deploy finished but its outputs are incomplete: {exc}") from None
    except KeyboardInterrupt:
        _fail(registry, record, "interrupted", "interrupted before the deploy finished")
        raise
    record.outputs = outputs.public(canonical)
    record.secrets = "pulumi"
    record.retained = []
    record.status = "ready"
    record.finish("succeeded")
    registry.save(record)
    return record


def preview(record: StackRecord, *, engine: Engine, on_event: OnEvent, spec: StackSpec | None = None) -> Changes:
    target = target_for(record)
    if spec is not None:
        target = StackTarget(spec=spec, backend=target.backend)
    return engine.preview(target, on_event)


def destroy(
    record: StackRecord, *, delete_data: bool, engine: Engine, registry: Registry, on_event: OnEvent
) -> DestroyResult:
    target = target_for(record)
    record.status = "destroying"
    record.start("destroy --delete-data" if delete_data else "destroy")
    registry.save(record)
    try:
        result = engine.destroy(target, on_event, delete_data=delete_data)
    except EngineError as exc:
        _fail(registry, record, "failed", exc.message, exc.resource)
        raise
    except KeyboardInterrupt:
        _fail(registry, record, "interrupted", "interrupted before the destroy finished")
        raise
    record.retained = [r.to_json() for r in result.retained]
    # What still exists: the retained data components, so the user can find them.
    # A data component's main resource carries the component's own name ("bucket", "registry").
    kept = {r.name for r in result.retained if r.primary}
    record.outputs = {k: v for k, v in record.outputs.items() if k in outputs.TOP_LEVEL or k in kept}
    record.secrets = "none"
    record.status = "destroyed"
    record.finish("succeeded")
    registry.save(record)
    return result


def secret_values(record: StackRecord, engine_factory) -> dict[str, dict[str, str]]:
    """The stack's secret outputs, from wherever they live (never from the registry)."""
    if record.secrets == "local":
        return load_local_secrets(record.name)
    if record.secrets == "pulumi":
        return outputs.secrets(engine_factory().outputs(target_for(record)))
    return {}


def full_outputs(record: StackRecord, engine_factory, *, with_secrets: bool) -> dict[str, Any]:
    if not with_secrets:
        return dict(record.outputs)
    return outputs.merge_secrets(record.outputs, secret_values(record, engine_factory))


def _fail(registry: Registry, record: StackRecord, status: str, message: str, resource: str | None = None) -> None:
    record.status = "failed"
    record.finish(status, message, resource)
    registry.save(record)
