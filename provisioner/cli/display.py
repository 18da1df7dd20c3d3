"""Progress of a deploy, preview or destroy, drawn from engine events.

In a terminal: a live table with one line per resource (creating, created,
failed) and its elapsed time. Elsewhere (CI, pipes): one plain line per event
so logs stay readable. Both end with the same summary.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from provisioner.engine import EngineEvent

VERBS = {
    "create": ("creating", "created"),
    "update": ("updating", "updated"),
    "delete": ("deleting", "deleted"),
    "replace": ("replacing", "replaced"),
    "create-replacement": ("replacing", "replaced"),
    "delete-replaced": ("deleting old", "deleted old"),
    "read": ("reading", "read"),
    "refresh": ("refreshing", "refreshed"),
    "import": ("importing", "imported"),
    "discard": ("forgetting", "forgot"),
}
# Components and providers are bookkeeping, not cloud work: not shown.
HIDDEN_PREFIXES = ("recipes:", "pulumi:pulumi:Stack", "pulumi:providers:")
LIVE_ROWS = 15


@dataclass
class Row:
    type: str
    name: str
    op: str
    started: float
    finished: float | None = None
    failed: bool = False

    @property
    def elapsed(self) -> float:
        return (self.finished or time.time()) - self.started

    def state(self) -> str:
        present, past = VERBS.get(self.op, (self.op + "...", self.op))
        if self.failed:
            return f"{self.op} failed"
        return past if self.finished else present


@dataclass
class Progress:
    """Consumes EngineEvents; renders them live or as lines."""

    console: Console
    title: str
    live: bool
    rows: dict[str, Row] = field(default_factory=dict)
    diagnostics: list[EngineEvent] = field(default_factory=list)
    counts: dict[str, int] | None = None
    started: float = field(default_factory=time.time)
    _live: Live | None = None

    def __enter__(self) -> Progress:
        if self.live:
            self._live = Live(self._render(), console=self.console, refresh_per_second=4, transient=False)
            self._live.__enter__()
        else:
            self.console.print(f"{self.title}")
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.update(self._render(final=True))
            self._live.__exit__(*exc)
            self._live = None

    # --- events --------------------------------------------------------------
    def handle(self, event: EngineEvent) -> None:
        if event.kind == "summary":
            self.counts = dict(event.counts or {})
        elif event.kind == "diagnostic":
            if event.severity in ("error", "warning"):
                self.diagnostics.append(event)
                if not self.live:
                    self.console.print(f"{event.severity}: {_resource_label(event)}{event.message or ''}", markup=False)
        elif event.urn and not (event.type or "").startswith(HIDDEN_PREFIXES) and event.op != "same":
            self._resource_event(event)
        if self._live is not None:
            self._live.update(self._render())

    def _resource_event(self, event: EngineEvent) -> None:
        assert event.urn is not None
        row = self.rows.get(event.urn)
        if event.kind == "start" or row is None:
            row = Row(type=event.type or "", name=event.name or event.urn, op=event.op or "update", started=event.timestamp)
            self.rows[event.urn] = row
        if event.kind == "done":
            row.finished = event.timestamp
        elif event.kind == "failed":
            row.finished, row.failed = event.timestamp, True
        if not self.live:
            line = f"{row.state():<14} {row.type} {row.name}"
            if row.finished:
                line += f" ({_duration(row.elapsed)})"
            self.console.print(line, markup=False, highlight=False)

    # --- rendering -------------------------------------------------------------
    def _render(self, final: bool = False):
        table = Table(title=self.title, title_justify="left", show_header=True, header_style="bold", expand=False)
        table.add_column("state", no_wrap=True)
        table.add_column("resource")
        table.add_column("type", style="dim")
        table.add_column("time", justify="right", no_wrap=True)
        rows = list(self.rows.values())
        if not final:
            running = [r for r in rows if not r.finished]
            done = [r for r in rows if r.finished]
            rows = (running + done[::-1])[:LIVE_ROWS]
        for row in rows:
            style = "red" if row.failed else ("green" if row.finished else "yellow")
            table.add_row(Text(row.state(), style=style), row.name, row.type, _duration(row.elapsed))
        parts: list = [table]
        if final:
            parts.append(Text(self.summary_line()))
        return Group(*parts)

    def summary_line(self) -> str:
        elapsed = _duration(time.time() - self.started)
        failed = sum(1 for r in self.rows.values() if r.failed)
        counts = self.counts
        if counts is None:
            counts = {}
            for r in self.rows.values():
                if r.finished and not r.failed:
                    counts[r.op] = counts.get(r.op, 0) + 1
        parts = [f"{n} {op}" for op, n in sorted(counts.items()) if op != "same" and n]
        if counts.get("same"):
            parts.append(f"{counts['same']} unchanged")
        if failed:
            parts.append(f"{failed} failed")
        return f"{', '.join(parts) or 'no changes'} in {elapsed}"

    def print_summary(self) -> None:
        if not self.live:
            self.console.print(self.summary_line(), markup=False)

    def errors(self) -> list[str]:
        return [f"{_resource_label(d)}{d.message}" for d in self.diagnostics if d.severity == "error" and d.message]


def _resource_label(event: EngineEvent) -> str:
    return f"{event.name} ({event.type}): " if event.name and event.type else ""


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
