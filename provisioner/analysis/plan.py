"""Offline plan: run the real Pulumi program under Pulumi's mock runtime.

No credentials, no Pulumi CLI, no network: `recipes.build(spec)` runs exactly
as in a deploy, but every resource registration and data-source call is
answered here. We record each resource's type, name, parent, provider,
dependencies, options, inputs and what the mock cloud computed for it (secrets
masked), and the stack outputs.
The tests use the same runner, so `recipe plan` shows what the tests assert.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from recipes.errors import RecipeError
from recipes.outputs import MASK
from recipes.spec import StackSpec

from provisioner.analysis import mockcloud
from provisioner.analysis.plan_model import Plan, PlannedResource  # the plan's model (importers may take it from here)

__all__ = ["PROJECT", "Plan", "PlanFailed", "PlannedResource", "run_plan", "run_plan_revealed"]

PROJECT = "stack-recipes"

# --------------------------------------------------------------------------
# Running

_PLANS: dict[tuple[StackSpec, bool, str], Plan] = {}


def run_plan(spec: StackSpec, program: Callable[[StackSpec], Any] | None = None, *, cache_dir: Path | None = None) -> Plan:
    """Run `program(spec)` (default: `recipes.build`) under mocks and record the result.

    A plan of the real program depends on the spec alone, so it is computed once
    per process (`recipe deploy` checks the baseline on the same plan it shows),
    and, with `cache_dir`, once per spec and version of the code (see plancache).
    Callers must not modify it: copy it first.
    """
    if program is None:
        key = (spec, spec.delete_data, spec.tracker_backup)  # neither is part of spec equality
        if key not in _PLANS:
            from provisioner.analysis import plancache

            # A `kubernetes` stack's plan also reads the user's kubeconfig, which no cache key holds: never on disk.
            use_cache = cache_dir is not None and plancache.enabled() and spec.provider != "kubernetes"
            cached = plancache.load(cache_dir, spec) if use_cache else None
            if cached is None:
                cached = _run_plan(spec, None)
                if use_cache:
                    plancache.store(cache_dir, cached)
            _PLANS[key] = cached
        return _PLANS[key]
    return _run_plan(spec, program)


def run_plan_revealed(spec: StackSpec) -> Plan:
    """The plan with secret inputs in clear (the mock cloud's stand-in passwords).

    For the data-plane tests, which run the pods' own rendered configuration
    (Secrets included) locally. Never cached and never shown to a user."""
    return _run_plan(spec, None, reveal_secrets=True)


def _run_plan(spec: StackSpec, program: Callable[[StackSpec], Any] | None, *, reveal_secrets: bool = False) -> Plan:
    import pulumi
    from pulumi.runtime import mocks as pulumi_mocks
    from pulumi.runtime import rpc
    from pulumi.runtime.sync_await import _sync_await

    if program is None:
        from recipes import build as program

    recorded: list[PlannedResource] = []
    context = mockcloud.Context(spec)

    class _Mocks(pulumi_mocks.Mocks):
        def new_resource(self, args: pulumi_mocks.MockResourceArgs):
            inputs = dict(args.inputs)
            if args.custom is None:  # a read (Resource.get): the mock monitor's ReadResource leaves `custom` unset
                return args.resource_id, mockcloud.read(args.typ, args.resource_id, inputs, context)
            computed = mockcloud.computed(args.typ, args.name, inputs, context)
            # A cloud's mock may answer the resource id (Azure's ARM ids), else a generic one.
            resource_id = args.resource_id or computed.pop("id", None) or mockcloud.fake_id(args.typ, args.name)
            return resource_id, {**inputs, **computed}

        def call(self, args: pulumi_mocks.MockCallArgs):
            return mockcloud.call(args.token, dict(args.args), context)

    class _Monitor(pulumi_mocks.MockMonitor):
        def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
            response = super().RegisterResource(request)
            if request.type != "pulumi:pulumi:Stack":
                raw = rpc.deserialize_properties(request.object)
                state = rpc.deserialize_properties(response.object)
                secret_keys = [k for k, v in raw.items() if rpc.is_rpc_secret(v)]
                timeouts = request.customTimeouts
                recorded.append(
                    PlannedResource(
                        urn=response.urn,
                        type=request.type,
                        name=request.name,
                        parent=request.parent or None,
                        provider=request.provider or None,
                        dependencies=sorted(set(request.dependencies)),
                        inputs=_reveal(raw) if reveal_secrets else _mask(raw),
                        custom=bool(request.custom),
                        retain_on_delete=bool(request.retainOnDelete),
                        protect=bool(request.protect),
                        ignore_changes=list(request.ignoreChanges),
                        delete_before_replace=bool(request.deleteBeforeReplace),
                        custom_timeouts={k: v for k, v in (("create", timeouts.create), ("update", timeouts.update), ("delete", timeouts.delete)) if v},
                        secret_inputs=secret_keys,
                        outputs=_computed(raw, state, request.additionalSecretOutputs),
                    )
                )
            return response

    mocks = _Mocks()
    # set_mocks keeps an existing root stack; a fresh one per plan keeps an earlier
    # plan's exports (and its stack name) out of this one.
    from pulumi.runtime.settings import ROOT

    ROOT.set(None)
    pulumi_mocks.set_mocks(mocks, project=PROJECT, stack=spec.name, preview=False, monitor=_Monitor(mocks))

    result: dict[str, Any] = {}

    def _program():
        exported = program(spec)
        if exported is None:  # a program that only calls pulumi.export (recipes/__main__.py)
            exported = dict(pulumi.runtime.settings.get_root_resource().outputs)
        return _resolve_outputs(exported, result)

    failure: BaseException | None = None
    try:
        _sync_await(pulumi.runtime.stack.run_pulumi_func(lambda: _sync_await(_program())))
    except BaseException as exc:  # noqa: BLE001 - re-raised below, once the run's leftovers are gone
        failure = exc
    if failure is not None:
        _drop_failed_run()
        raise failure
    # The root stack is the parent of top-level resources; report those as parentless.
    stack_urn = f"urn:pulumi:{spec.name}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{spec.name}"
    for r in recorded:
        if r.parent == stack_urn:
            r.parent = None
    values, secret_paths = result["values"], result["secret_paths"]
    return Plan(spec=spec, resources=recorded, outputs=_mask_paths(values, secret_paths),
                secret_outputs=sorted(secret_paths), raw_outputs=values)


class PlanFailed(RecipeError):
    """The program refused the stack under the mock cloud (what the real cloud would refuse too)."""


def failure_message(exc: BaseException) -> str:
    """The program's own message, without the runtime's wrapping ("While processing input ...")."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def _drop_failed_run() -> None:
    """A failed run leaves its Outputs (failed or pending) in the runtime's settings and on the
    event loop, where the next plan in this process would await them and fail the same way."""
    import asyncio

    from pulumi.runtime.settings import SETTINGS
    from pulumi.runtime.sync_await import _ensure_event_loop

    loop = _ensure_event_loop()
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    SETTINGS.outputs.clear()
    SETTINGS.rpc_manager.clear()


async def _resolve_outputs(exported: Any, result: dict[str, Any]) -> None:
    """Resolve each exported leaf and note which ones were secret."""
    import pulumi

    values: dict[str, Any] = {}
    secret_paths: set[str] = set()
    for key, value in (exported or {}).items():
        if isinstance(value, dict):
            values[key] = {}
            for sub, leaf in value.items():
                out = pulumi.Output.from_input(leaf)
                values[key][sub] = await out.future()
                if await out.is_secret():
                    secret_paths.add(f"{key}.{sub}")
        else:
            out = pulumi.Output.from_input(value)
            values[key] = await out.future()
            if await out.is_secret():
                secret_paths.add(key)
    result["values"] = values
    result["secret_paths"] = secret_paths


def _mask(value: Any) -> Any:
    from pulumi.runtime import rpc

    if rpc.is_rpc_secret(value):
        return MASK
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


def _reveal(value: Any) -> Any:
    from pulumi.runtime import rpc

    if rpc.is_rpc_secret(value):
        return _reveal(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: _reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_reveal(v) for v in value]
    return value


def _computed(inputs: dict[str, Any], state: dict[str, Any], secret: Any) -> dict[str, Any]:
    """The outputs that are not an input echoed back; secret ones (the SDK's additional secret
    outputs, a random password's `result`) masked like secret inputs."""
    return {k: MASK if k in secret else _mask(v) for k, v in state.items() if k not in inputs or inputs[k] != v}


def _mask_paths(values: dict[str, Any], paths: set[str]) -> dict[str, Any]:
    out = json.loads(json.dumps(values, default=str))
    for path in paths:
        key, _, sub = path.partition(".")
        if sub and isinstance(out.get(key), dict) and sub in out[key]:
            out[key][sub] = MASK
        elif not sub and key in out:
            out[key] = MASK
    return out
