"""Engine events reach the caller translated, from either event transport; a broken callback is not swallowed."""

from __future__ import annotations

import pytest
from tests.engine.pulumi.deployed_stack import BUCKET_T, BUCKET_URN, STACK, collect, up_events
from tests.support.pulumi_engine_fake import FakePulumi

from provisioner import paths
from provisioner.engine import StackTarget
from provisioner.engine.pulumi import PulumiEngine


def test_events_are_translated(engine, cli, target):
    cli.events["up"] = up_events()
    seen, on_event = collect()
    engine.up(target, on_event)

    assert [(e.kind, e.name, e.op) for e in seen if e.kind in ("start", "done")] == [
        ("start", f"stack-recipes-{STACK}", "create"),
        ("start", "bucket", "create"),
        ("done", "bucket", "create"),
        ("start", "cluster", "update"),
        ("done", "cluster", "update"),
    ]
    start = seen[1]
    assert (start.urn, start.type) == (BUCKET_URN, BUCKET_T)
    diags = [e for e in seen if e.kind == "diagnostic"]
    assert len(diags) == 1  # the ephemeral progress note is not reported
    assert diags[0].message == "warning: bucket names are global"
    assert (diags[0].severity, diags[0].name, diags[0].urn) == ("warning", "bucket", BUCKET_URN)
    assert seen[-1].kind == "summary" and seen[-1].counts == {"create": 2, "update": 1, "same": 4}
    assert {e.kind for e in seen} == {"start", "done", "diagnostic", "summary"}  # prelude ignored


def test_events_from_an_event_log_file_older_cli(make_spec):
    cli = FakePulumi(version="3.190.0")  # before 3.206 the CLI writes events to a file
    cli.events["up"] = up_events()
    seen, on_event = collect()
    PulumiEngine(lambda: cli).up(StackTarget(make_spec(), paths.default_backend()), on_event)
    assert not cli.called("up")[0].value("--event-log").startswith("tcp://")
    assert [e.kind for e in seen] == ["start", "start", "diagnostic", "done", "start", "done", "summary"]


def test_an_error_in_the_event_callback_is_not_swallowed(engine, cli, target):
    cli.events["up"] = up_events()
    calls = []

    def broken(event):
        calls.append(event)
        raise ValueError("display bug")

    with pytest.raises(ValueError, match="display bug"):
        engine.up(target, broken)
    assert len(calls) == 1  # not called again once broken
