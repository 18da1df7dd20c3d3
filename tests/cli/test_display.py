"""Progress rendering from engine events, live (terminal) and line by line (CI); the plan's first screen."""

from __future__ import annotations

import io
import json
import re
from collections import Counter

import pytest
from rich.console import Console

from provisioner import cli
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


# --------------------------------------------------------------------------
# `recipe plan`'s first screen: a summary, the tree behind --tree, placeholders, warnings on stderr

PLANS = {"aws": ["aws"], "gcp": ["gcp", "--project", "demo-project"], "azure": ["azure"]}
FAKES = ("123456789012", ".elb.amazonaws.com", "203.0.113.", "00000000-0000-4000-8000")
SHOWN = {"aws": ("<account-id>", "<load-balancer-hostname>"), "gcp": ("<load-balancer-ip>",),
         "azure": ("<subscription-id>", "<load-balancer-ip>")}


@pytest.fixture
def planned(monkeypatch):
    """The plans the CLI computed, as the mock cloud answered them (before any display)."""
    plans, real = [], cli.context.plan_of

    def plan_of(spec):
        plans.append(real(spec))
        return plans[-1]

    monkeypatch.setattr(cli.context, "plan_of", plan_of)
    monkeypatch.setenv("COLUMNS", "250")  # no folded cell: rows are compared whole
    return plans


def plan(run, provider: str, *args: str):
    result = run("plan", *PLANS[provider], *args)
    assert result.exit_code == 0, result.stderr
    return result


@pytest.mark.parametrize("provider", sorted(PLANS))
def test_the_first_screen_is_a_summary_under_40_lines(run, home, provider):
    result = run("plan", *PLANS[provider])  # 80 columns, as in a pipe
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) + len(result.stderr.splitlines()) <= 40, result.stdout + result.stderr
    assert "Dependencies" not in result.stdout and "<-" not in result.stdout  # the tree is behind --tree
    assert "Outputs the stack will export" in result.stdout and "Deploy it with: recipe deploy" in result.stderr


@pytest.mark.parametrize("provider", sorted(PLANS))
def test_component_rows_count_the_resources_under_each_component(run, home, planned, provider):
    out = plan(run, provider).stdout
    [result] = planned
    title = re.search(r"(\d+) cloud resources in (\d+) total", out)
    rows = [re.match(r"(\S+)\s+(\S+)\s+(\d+)\s+(\d+)\s*$", line) for line in out.split("component ", 1)[1].splitlines()[1:]]
    rows = [m.groups() for m in rows[:rows.index(None)]]
    children: dict[str | None, list] = {}
    for r in result.resources:
        children.setdefault(r.parent, []).append(r)

    def subtree(r) -> list:
        return [r, *(d for c in children.get(r.urn, []) for d in subtree(c))]

    expected = {top.name: (str(sum(d.custom for d in subtree(top))), str(len(subtree(top)))) for top in children[None]}
    assert {name: (cloud, total) for name, _, cloud, total in rows} == expected
    assert sum(int(total) for *_, total in rows) == int(title[2]) == len(result.resources)
    assert sum(int(cloud) for _, _, cloud, _ in rows) == int(title[1])


def test_tree_shows_every_resource_and_each_dependency_row_once(run, home, planned):
    out = plan(run, "aws", "--tree").stdout
    [result] = planned
    assert Counter(re.findall(r"── (\S+)  ", out)) == Counter(r.name for r in result.resources)
    deps = out.split("Dependencies", 1)[1].split("\ncomponent ", 1)[0]
    rows = [line.split(" <- ") for line in (" ".join(l.split()).replace(" <- ", " <- ") for l in deps.splitlines()) if " <- " in line]
    firsts = [first for first, _ in rows]
    assert len(firsts) == len(set(firsts)) == sum(1 for r in result.resources if r.custom and set(r.dependencies) - {r.parent})
    assert "tracker-server (Deployment)" in firsts and "tracker-server (Secret)" in firsts  # one name, two resources
    for _, waits in rows:
        names = waits.split(", ")
        assert len(names) == len(set(names))
    assert run("plan", "aws", "--verbose").stdout == out


@pytest.mark.parametrize("provider", sorted(PLANS))
def test_made_up_values_show_as_placeholders_in_table_and_json(run, home, planned, provider):
    table, doc = plan(run, provider).stdout, plan(run, provider, "--output", "json").stdout
    for fake in FAKES:
        assert fake not in table and fake not in doc, fake
    for placeholder in SHOWN[provider]:
        assert placeholder in doc
    assert "<load-balancer-" in table and json.loads(doc)["resources"]
    # The mock cloud itself still answers realistic values: programs read those.
    raw = json.dumps(planned[0].raw_outputs) + json.dumps([r.inputs for r in planned[0].resources])
    assert any(fake in raw for fake in FAKES)


def test_what_the_user_gave_is_shown_as_given(run, home):
    admin = "arn:aws:iam::123456789012:role/ml-admins"  # in the account the mock cloud reports
    doc = plan(run, "aws", "--allow-cidr", "203.0.113.0/24", "--admin", admin, "--output", "json").stdout
    assert '"203.0.113.0/24"' in doc and f'"{admin}"' in doc
    assert "<load-balancer-hostname>" in doc and ":<account-id>:role/" in doc  # the stack's own roles


def test_warnings_go_to_stderr_and_stay_in_the_json_document(run, home):
    result = plan(run, "aws")
    assert "warning: the Kubernetes API endpoint" in result.stderr and "warning:" not in result.stdout
    as_json = plan(run, "aws", "--output", "json")
    assert any("open to the whole internet" in w for w in json.loads(as_json.stdout)["warnings"])
    assert "warning:" not in as_json.stderr


@pytest.mark.parametrize("command", ["plan", "check"])
def test_a_spinner_while_planning_only_on_a_terminal_and_never_for_json(run, home, monkeypatch, command):
    buffers = []

    def terminal():
        buffers.append(io.StringIO())
        return Console(file=buffers[-1], force_terminal=True, width=120)

    spinning = "Planning ml-dev (aws) under Pulumi's mock runtime..."
    monkeypatch.setattr(cli.context, "err_console", terminal)
    run(command, "aws")
    assert any(spinning in b.getvalue() for b in buffers)
    buffers.clear()
    run(command, "aws", "--output", "json")
    assert buffers and not any("Planning" in b.getvalue() for b in buffers)
    monkeypatch.undo()
    assert "Planning" not in run(command, "aws").stderr  # not a terminal: CI, pipes


def test_the_summary_has_the_cost_line_of_the_estimate(run, home):
    line = next(x for x in plan(run, "aws").stdout.splitlines() if x.startswith("Estimated cost: $"))
    total = json.loads(plan(run, "aws", "--cost", "--output", "json").stdout)["cost"]["monthly_total_usd"]
    assert line.startswith(f"Estimated cost: ${total:,.2f}/month")
    assert "Estimated cost: $" not in plan(run, "aws", "--cost").stdout  # --cost: the table instead


def test_notes_show_the_nat_address_as_a_placeholder(run, home):
    """The NAT gateway's Elastic IP (the mock cloud's 52.x address) is noted under --allow-cidr."""
    result = plan(run, "aws", "--allow-cidr", "198.51.100.7/32")
    nat = next(x for x in result.stderr.splitlines() if "NAT gateway" in x)
    assert "<public-ip>/32" in nat and "52." not in nat
    assert "198.51.100.7/32" in result.stderr  # the user's own range, as given
