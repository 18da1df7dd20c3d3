"""Automation API engine events as the seam's EngineEvents, and what one operation's events say.

Only the kinds the CLI shows or records are translated (resource steps, diagnostics, the
summary); a failed operation's message and failing resource come from the same stream.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from provisioner.engine import STACK_TYPE, EngineEvent, OnEvent, urn_name, urn_type
from provisioner.engine.pulumi.messages import strip_ansi


def _op_name(op: Any) -> str | None:
    if op is None:
        return None
    return str(getattr(op, "value", op)).lower() or None


def change_counts(changes: Mapping[Any, Any] | None) -> dict[str, int]:
    """Pulumi's resource change summary ({OpType.CREATE: 3}) as {"create": 3}."""
    return {str(_op_name(op)): int(count) for op, count in (changes or {}).items()}


def translate_event(event: Any) -> EngineEvent | None:
    """An Automation API engine event as an EngineEvent; None for the kinds we do not report."""
    step = None
    kind = None
    if event.resource_pre_event is not None:
        kind, step = "start", event.resource_pre_event.metadata
    elif event.res_outputs_event is not None:
        kind, step = "done", event.res_outputs_event.metadata
    elif event.res_op_failed_event is not None:
        kind, step = "failed", event.res_op_failed_event.metadata
    if step is not None:
        urn = step.urn or None
        return EngineEvent(
            kind=kind, urn=urn, type=step.type or (urn_type(urn) if urn else None),
            name=urn_name(urn) if urn else None, op=_op_name(step.op),
            diffs=tuple(getattr(step, "diffs", None) or ()),
        )
    if event.diagnostic_event is not None:
        diag = event.diagnostic_event
        severity = (diag.severity or "info").split("#", 1)[0]  # "info#err" is info written to stderr
        message = strip_ansi(diag.message or "").rstrip()
        if not message.strip() or (diag.ephemeral and severity == "info"):
            return None  # blank lines and transient progress notes
        urn = diag.urn or None
        return EngineEvent(
            kind="diagnostic", urn=urn, type=urn_type(urn) if urn else None,
            name=urn_name(urn) if urn else None, message=message, severity=severity,
        )
    if event.summary_event is not None:
        return EngineEvent(kind="summary", counts=change_counts(event.summary_event.resource_changes))
    return None


class OperationEvents:
    """One engine operation's event stream: forwards translated events, remembers failures.

    Events arrive on the Automation API's watcher thread (a gRPC server for
    CLI > 3.205, a log-file poller before), which swallows or dies on
    exceptions; an exception from `on_event` is kept and re-raised by the
    engine once the operation is over.
    """

    def __init__(self, on_event: OnEvent | None):
        self._on_event = on_event
        self._lock = threading.Lock()
        self.failed_urn: str | None = None
        self.errors: list[tuple[str | None, str]] = []  # (urn, message) of error diagnostics
        self.callback_error: Exception | None = None

    def __call__(self, auto_event: Any) -> None:
        with self._lock:
            try:
                event = translate_event(auto_event)
                if event is None:
                    return
                if event.kind == "failed":
                    self.failed_urn = event.urn
                elif event.kind == "diagnostic" and event.severity == "error" and event.message:
                    self.errors.append((event.urn, event.message))
                if self.callback_error is None and self._on_event is not None:
                    self._on_event(event)
            except Exception as exc:  # noqa: BLE001 - re-raised by the engine after the operation
                if self.callback_error is None:
                    self.callback_error = exc

    @property
    def resource(self) -> str | None:
        """The failing resource: the one whose step failed, else the first one an error named."""
        if self.failed_urn:
            return self.failed_urn
        for urn, _ in self.errors:
            if urn and urn_type(urn) != STACK_TYPE:
                return urn
        return None
