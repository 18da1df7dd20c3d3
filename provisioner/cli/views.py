"""Human-readable views (rich) of plans, outputs and stacks.

Machine-readable output is the JSON form of the same data; these views only
decide layout.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from recipes import outputs as canonical
from recipes.kubernetes.versions import kubernetes_range
from recipes.spec import StackSpec

from provisioner.analysis.plan import Plan
from provisioner.stacks.records import StackRecord


def plan_view(plan: Plan, warnings: list[str]) -> Group:
    spec = plan.spec
    parts: list[Any] = [
        Text(f"Plan for {spec.name} ({spec.provider}, {spec.region}): "
             f"{sum(1 for r in plan.resources if r.custom)} cloud resources in {len(plan.resources)} total, "
             f"components: {', '.join(spec.components)}", style="bold")
    ]
    tree = Tree(Text(f"{spec.name}", style="bold"))
    nodes: dict[str | None, Tree] = {None: tree}
    for r in plan.resources:  # parents are always registered before their children
        label = Text(r.name)
        label.append(f"  {r.type}", style="dim")
        if r.retain_on_delete:
            label.append("  (kept on destroy)", style="green")
        nodes[r.urn] = nodes.get(r.parent, tree).add(label)
    parts.append(tree)

    names = {r.urn: r.name for r in plan.resources}
    deps = Table(title="Dependencies (a resource waits for those on its right)", title_justify="left", show_header=False, box=None)
    for r in plan.resources:
        waits = [names[d] for d in r.dependencies if d in names and d != r.parent]
        if r.custom and waits:
            deps.add_row(r.name, "<-", ", ".join(sorted(set(waits))))
    parts.append(deps)
    parts.append(outputs_table(plan.outputs, title="Outputs the stack will export"))
    for warning in warnings:
        parts.append(Text(f"warning: {warning}", style="yellow"))
    return Group(*parts)


def kubernetes_versions(spec: StackSpec) -> list[str] | None:
    """The Kubernetes versions the stack's pinned charts support; None: none limits them."""
    supported = kubernetes_range(spec.components, spec.deployer)
    return supported.versions() if supported is not None else None


def kubernetes_note(spec: StackSpec) -> str | None:
    """One line: the Kubernetes versions the stack's pinned charts support (None: no cluster)."""
    if not spec.has("cluster"):
        return None
    supported = kubernetes_range(spec.components, spec.deployer)
    if supported is None:
        return "Kubernetes: no chart of this stack limits the version (Istio and the model deployer come with the deployer)"
    charts = ", ".join(f"{c.label}: {c.describe()}" for c in supported.components)
    line = f"Kubernetes versions this stack supports: {supported.describe()} ({charts})"
    if spec.kubernetes_version is None:
        return line + ("; none given, so the cloud's default minor at creation applies (it may be newer, "
                       "and the cluster stays on it): pin one with --kubernetes-version")
    return line + f"; this plan asks for {spec.kubernetes_version}"


def outputs_table(data: dict[str, Any], title: str) -> Table:
    table = Table(title=title, title_justify="left", show_header=True, header_style="bold")
    table.add_column("output")
    table.add_column("value", overflow="fold")
    for key in canonical.TOP_LEVEL:
        if key in data:
            table.add_row(key, str(data[key]))
    for component in canonical.SCHEMA:
        for field_name, value in (data.get(component) or {}).items():
            shown = value if not isinstance(value, str) or "\n" not in value else "(multi-line; use --output json or export)"
            table.add_row(f"{component}.{field_name}", str(shown))
    return table


def stacks_table(records: list[StackRecord]) -> Table:
    table = Table(show_header=True, header_style="bold")
    for column in ("name", "provider", "region", "status", "tracker", "last operation"):
        table.add_column(column, overflow="fold")
    for r in records:
        status = r.display_status()
        status_style = {"ready": "green", "failed": "red", "interrupted": "red", "destroyed": "dim"}.get(status, "yellow")
        tracker = (r.outputs.get("tracker") or {}).get("uri", "")
        table.add_row(r.name, r.provider, r.region, Text(status, style=status_style), tracker, last_operation_line(r))
    return table


def kept_lines(record: StackRecord) -> list[str]:
    primary = [r for r in record.retained if r.get("primary")]
    return [f"{r['type']}  {r['id']}" for r in primary]


def checks_table(results, title: str) -> Table:
    table = Table(title=title, title_justify="left", show_header=True, header_style="bold")
    for column in ("rule", "title", "anchors", "status", "detail"):
        table.add_column(column, overflow="fold")
    styles = {"pass": "green", "fail": "bold red", "warn": "yellow", "option": "cyan", "n/a": "dim"}
    for r in results:
        detail = r.verdict.detail + (f" ({', '.join(r.verdict.resources)})" if r.verdict.resources else "")
        table.add_row(r.rule.id, r.rule.title, ", ".join(r.rule.anchors), Text(r.verdict.status, style=styles[r.verdict.status]), detail)
    return table


def last_operation_line(record: StackRecord) -> str:
    op = record.last_operation
    if op is None:
        return record.updated_at
    line = f"{op.op} {op.status} {op.finished_at or op.started_at}"
    if op.status in ("failed", "interrupted") and op.last_event:
        line += f" (last: {op.last_event})"
    return line


def cost_table(estimate, title: str) -> Table:
    """Estimated monthly cost per billed resource, with the total and how it was worked out."""
    table = Table(title=title, show_header=True, header_style="bold", title_justify="left")
    for column, justify in (("resource", "left"), ("what", "left"), ("USD/month", "right"), ("basis", "left")):
        table.add_column(column, justify=justify, overflow="fold")
    for item in estimate.items:
        amount = "?" if item.monthly_usd is None else f"{item.monthly_usd:,.2f}"
        table.add_row(item.name, item.what, amount, item.basis)
    table.add_row("", Text("total", style="bold"), Text(f"{estimate.monthly_total_usd:,.2f}", style="bold"),
                  f"list prices as of {estimate.prices_as_of}; {estimate.region_note}")
    return table


def forget_warning(record) -> str | None:
    """What `recipe forget` leaves behind, in one line (None: nothing)."""
    if record.source != "deploy":
        return None  # registered from outputs or adopted: recipe never held its state
    backend = record.backend or "the default backend"
    if record.status == "destroyed" and record.retained:
        kept = ", ".join(sorted({r["id"] for r in record.retained if r.get("primary")})) or "its data"
        return (f"{record.name} was destroyed but keeps {kept} (and its Pulumi state in {backend}); forgetting it "
                f"leaves them as they are: delete them first with `recipe destroy {record.name} --delete-data` if you no longer need them")
    if record.status != "destroyed":
        return (f"{record.name} is {record.display_status()}: whatever it created stays in the cloud, billed, and its "
                f"Pulumi state stays in {backend}; `recipe destroy {record.name}` first removes it")
    return None


DOCTOR_STYLES = {"ok": "green", "missing": "red", "warning": "yellow", "not checked": "yellow"}


def checks_of_this_machine(checks) -> Table:
    """`recipe doctor`'s table: one row per check, its status coloured, the fix where there is one."""
    table = Table(show_header=True, header_style="bold")
    for column in ("check", "status", "detail", "fix"):
        table.add_column(column, overflow="fold")
    for c in checks:
        table.add_row(c.name, f"[{DOCTOR_STYLES.get(c.status, 'white')}]{c.status}[/]", c.detail, c.fix or "")
    return table
