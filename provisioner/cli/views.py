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


def plan_view(plan: Plan, *, tree: bool = False) -> Group:
    """The plan's first screen: the stack, its components with their resource counts and the outputs;
    with `tree`, every resource and what each waits for too. What the mock cloud invented is shown
    as `<placeholders>`."""
    from provisioner.cli.documents import with_placeholders

    spec = plan.spec
    parts: list[Any] = [
        Text(f"Plan for {spec.name} ({spec.provider}, {spec.region}): {sum(1 for r in plan.resources if r.custom)} "
             f"{resources_word(spec)} in {len(plan.resources)} total", style="bold")
    ]
    if tree:
        parts += [resource_tree(plan), dependencies_table(plan)]
    parts.append(components_table(plan, resources_word(spec)))
    outputs = {k: v for k, v in plan.outputs.items() if k not in canonical.TOP_LEVEL}  # in the title
    parts += [Text(""), outputs_table(with_placeholders(outputs, spec), title="Outputs the stack will export",
                                      box=None, pad_edge=False, show_header=False)]
    return Group(*parts)


def components_of(plan: Plan) -> dict[str, list]:
    """The plan's resources by top-level resource (urn): a component's own resource and everything parented under it."""
    by_urn = {r.urn: r for r in plan.resources}
    groups: dict[str, list] = {}
    for r in plan.resources:
        top = r
        while top.parent in by_urn:
            top = by_urn[top.parent]
        groups.setdefault(top.urn, []).append(r)
    return groups


def resources_word(spec: StackSpec) -> str:
    """What a plan counts: cloud resources, or on a cluster we did not create (kubernetes) its objects and secrets."""
    return "resources" if spec.provider == "kubernetes" else "cloud resources"


def components_table(plan: Plan, counted: str = "cloud resources") -> Table:
    """One row per component (and per resource outside any): its cloud resources and all of its resources."""
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column, justify in (("component", "left"), ("kind", "left"), (counted, "right"), ("total", "right")):
        table.add_column(column, justify=justify)
    by_urn = {r.urn: r for r in plan.resources}
    order = {r.urn: i for i, r in enumerate(plan.resources)}

    def rank(urn: str) -> tuple[int, int]:  # outside components first, then the cloud's, then Kubernetes'
        r = by_urn[urn]
        return (0 if r.custom else 2 if r.type.startswith("recipes:kubernetes:") else 1), order[urn]

    for urn, members in sorted(components_of(plan).items(), key=lambda item: rank(item[0])):
        top = by_urn[urn]
        kind = "provider" if top.type.startswith("pulumi:providers:") else top.type.rsplit(":", 1)[-1]
        table.add_row(top.name, kind, str(sum(1 for r in members if r.custom)), str(len(members)))
    return table


def resource_labels(plan: Plan) -> dict[str, str]:
    """One label per resource: its name, with its kind (else its type, else its URN) where that is not unique."""
    from collections import Counter

    spellings = (lambda r: r.name, lambda r: f"{r.name} ({r.type.rsplit(':', 1)[-1]})", lambda r: f"{r.name} ({r.type})")
    labels = {r.urn: r.urn for r in plan.resources}
    for spell in reversed(spellings):  # the shortest spelling that tells the resource apart wins
        counts = Counter(spell(r) for r in plan.resources)
        labels.update({r.urn: spell(r) for r in plan.resources if counts[spell(r)] == 1})
    return labels


def resource_tree(plan: Plan) -> Tree:
    tree = Tree(Text(f"{plan.spec.name}", style="bold"))
    nodes: dict[str | None, Tree] = {None: tree}
    for r in plan.resources:  # parents are always registered before their children
        label = Text(r.name)
        label.append(f"  {r.type}", style="dim")
        if r.retain_on_delete:
            label.append("  (kept on destroy)", style="green")
        nodes[r.urn] = nodes.get(r.parent, tree).add(label)
    return tree


def dependencies_table(plan: Plan) -> Table:
    """Each cloud resource once, with what it waits for (besides its parent), each once."""
    labels = resource_labels(plan)
    deps = Table(title="Dependencies (a resource waits for those on its right)", title_justify="left", show_header=False, box=None)
    for _ in ("resource", "arrow", "waits for"):
        deps.add_column(overflow="fold")
    for r in plan.resources:
        waits = {labels[d] for d in r.dependencies if d in labels and d != r.parent}
        if r.custom and waits:
            deps.add_row(labels[r.urn], "<-", ", ".join(sorted(waits)))
    return deps


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
    if spec.provider == "kubernetes":  # the user's cluster: its version is what it is
        return line + "; your cluster's version must be one of these"
    if spec.kubernetes_version is None:
        return line + "; none pinned, so the cloud's default at creation applies (--kubernetes-version pins one)"
    return line + f"; this plan asks for {spec.kubernetes_version}"


def outputs_table(data: dict[str, Any], title: str, **style: Any) -> Table:
    table = Table(title=title, **{"title_justify": "left", "show_header": True, "header_style": "bold", **style})
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
