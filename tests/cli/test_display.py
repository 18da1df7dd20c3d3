"""Progress rendering from engine events, live (terminal) and line by line (CI)."""

from __future__ import annotations

import io

from rich.console import Console

from provisioner.cli.display import Progress
from provisioner.engine import EngineEvent

URN = "urn:pulumi:s::p::aws:eks/cluster:Cluster::cluster"


def events(fail: bool = False) -> list[EngineEvent]:
    out = [
        EngineEvent("start", urn="urn:pulumi:s::p::recipes:aws:Cluster::cluster", type="recipes:aws:Cluster", name="cluster", op="create", timestamp=0),
        EngineEvent("start", urn=URN, type="aws:eks/cluster:Cluster", name="cluster", op="create", timestamp=0),
    ]
    if fail:
        out += [
            EngineEvent("diagnostic", urn=URN, type="aws:eks/cluster:Cluster", name="cluster", severity="error", message="AccessDenied", timestamp=5),
            EngineEvent("failed", urn=URN, type="aws:eks/cluster:Cluster", name="cluster", op="create", timestamp=600),
        ]
    else:
        out += [EngineEvent("done", urn=URN, type="aws:eks/cluster:Cluster", name="cluster", op="create", timestamp=605)]
    return out


def run(live: bool, fail: bool = False) -> tuple[Progress, str]:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=live, width=120)
    progress = Progress(console=console, title="Deploying ml-dev", live=live)
    with progress:
        for event in events(fail):
            progress.handle(event)
    progress.print_summary()
    return progress, buffer.getvalue()


def test_lines_when_not_a_terminal():
    _, text = run(live=False)
    assert "creating       aws:eks/cluster:Cluster cluster" in text
    assert "created        aws:eks/cluster:Cluster cluster (10m05s)" in text
    assert "recipes:aws:Cluster" not in text  # components are bookkeeping, not shown
    assert "1 create in" in text


def test_live_table_in_a_terminal():
    progress, text = run(live=True)
    assert "Deploying ml-dev" in text and "created" in text and "10m05s" in text
    assert "1 create" in progress.summary_line()


def test_failure_is_shown_with_its_diagnostic():
    progress, text = run(live=False, fail=True)
    assert "create failed" in text and "error: cluster (aws:eks/cluster:Cluster): AccessDenied" in text
    assert progress.errors() == ["cluster (aws:eks/cluster:Cluster): AccessDenied"]
    assert "1 failed" in progress.summary_line()
