"""`recipe plan` and `recipe check`: a stack as the flags and the stack file describe it, offline.

Also the reading of that description (`stack_of`) and what to warn about it, which
`recipe deploy` shares.
"""

from __future__ import annotations

import ipaddress
import shlex

from typing import Annotated, Optional

import typer

from provisioner.cli import context, documents
from provisioner.cli.errors import EXIT_FAILED, user_errors
from provisioner.cli.options import OutputFormat, OutputOpt, ProviderArg, StackFlags, describes_a_stack, stack_argv

TargetArg = Annotated[Optional[str], typer.Argument(help="A provider (aws, gcp, azure) described by the flags, or a registered stack.", show_default=False)]
CostOpt = Annotated[bool, typer.Option("--cost", help="Also estimate the monthly cost per resource (dated list prices; see README).")]
TreeOpt = Annotated[bool, typer.Option("--tree", "--verbose", help="Also show every resource (the tree) and what each waits for; "
                                       "without it, a summary per component.")]


def stack_of(provider: str | None, stack: StackFlags):
    """The stack the options describe (file first, flags over it, environment defaults under both)."""
    from provisioner.stacks.stackfile import spec_from_cli

    spec, notes = spec_from_cli(provider, str(stack.file) if stack.file else None, stack.values)
    console = context.err_console()
    for note in notes:
        console.print(f"note: {note}", markup=False)
    if not spec.suffix:
        # A stack deployed from this machine: its global names, not the placeholder.
        record = context.records().find(spec.name)
        recorded = (record.spec or {}).get("suffix") if record is not None and record.provider == spec.provider else None
        if recorded:
            spec = spec.with_changes(suffix=recorded)
    return spec


def suffix_note(spec) -> str | None:
    from recipes import facts

    if spec.suffix or spec.provider not in facts.CLOUDS:  # the `kubernetes` provider creates no global name
        return None
    from recipes.naming import PLACEHOLDER_SUFFIX

    return (f"global names (buckets, registries, roles) end in 6 random characters chosen at the first deploy and "
            f"kept with the stack; `{PLACEHOLDER_SUFFIX}` stands for them here")


def spec_warnings(spec) -> list[str]:
    """What the user should know about a stack that is valid: open endpoints, spot nodes, public nodes."""
    from provisioner.analysis.baseline.queries import OPEN_CIDR_NOTE, open_to_internet

    warnings = []
    if spec.has("cluster") and spec.private_endpoint and spec.provider == "gcp":
        warnings.append(
            "--private-endpoint: the Kubernetes API has no IP endpoint outside the stack's network; recipe and kubectl "
            "reach it through its DNS endpoint, where Google IAM (container.clusters.connect) authorizes every request; "
            "the load balancer (models, MLflow) stays public"
        )
    elif spec.has("cluster") and spec.private_endpoint:
        warnings.append(
            "--private-endpoint: the Kubernetes API is reachable only from inside the stack's network, so every deploy "
            "must run from there (VPN, peering, bastion), and a first deploy is refused; the load balancer (models, "
            "MLflow) stays public"
        )
    elif spec.has("cluster") and spec.provider == "kubernetes":
        # The API endpoint is the user's cluster's, not ours to open or close; only a load balancer takes --allow-cidr.
        if spec.expose == "loadbalancer" and (not spec.allow_cidrs or open_to_internet(spec.allow_cidrs)):
            warnings.append(
                "the stack's load balancer (models, MLflow) admits every address that reaches your cluster's load "
                "balancers" + (f" ({OPEN_CIDR_NOTE})" if spec.allow_cidrs else "")
                + "; restrict it with --allow-cidr YOUR.IP.ADDRESS/32"
            )
        warnings += exposure_warnings(spec)
    elif spec.has("cluster") and (not spec.allow_cidrs or open_to_internet(spec.allow_cidrs)):
        warnings.append(
            "the Kubernetes API endpoint and the stack's load balancer (models, MLflow) are open to the whole internet"
            + (f" ({OPEN_CIDR_NOTE})" if spec.allow_cidrs else "") + "; restrict them with --allow-cidr YOUR.IP.ADDRESS/32"
        )
    if spec.has("cluster") and spec.spot:
        warnings.append("nodes run on spot capacity (the dev profile's default): the cloud may reclaim a node, and the "
                        "tracker and deployer then restart on another; --on-demand or --profile prod for steady nodes")
    if spec.has("cluster") and spec.network == "public":
        warnings.append("--network public puts nodes in public subnets with public IPs: fine for a dev stack, not for production")
    if spec.network_rules and not any(ipaddress.ip_network(c).is_global for c in spec.allow_cidrs):
        warnings.append("--network-rules: the storage account and the registry admit only the cluster's network, so this "
                        "machine cannot push images or read artifacts; add --allow-cidr YOUR.PUBLIC.IP/32")
    if spec.domain:
        record = "a CNAME record to the load balancer's hostname" if spec.provider == "aws" else \
            "an A record to the load balancer's IP"
        warnings.append(f"--domain {spec.domain}: after the deploy, create {record} (`kubectl -n istio-system get "
                        "service ingress-lb` shows it); Let's Encrypt issues the certificate once the name resolves")
    return warnings


def exposure_warnings(spec) -> list[str]:
    """What --expose needs of a cluster we did not create (recipes/kubernetes/ingress/exposure.py)."""
    from recipes.kubernetes.ingress import exposure, tls

    if not (spec.has("tracker") or spec.has("deployer")):
        return []
    if spec.expose == "loadbalancer":
        return ["--expose loadbalancer needs a load balancer implementation in your cluster (k3d has one; kind and "
                "bare metal need MetalLB or cloud-provider-kind): without one the front door stays <pending> and the "
                "deploy waits for it; else use --expose nodeport or --expose port-forward"]
    if spec.expose == "nodeport":
        used = sorted({exposure.node_port(p) for p in (tls.HTTP_PORT, *exposure.forwarded_ports(spec))})
        mapped = " ".join(f"-p {p}:{p}@server:0" for p in map(exposure.node_port, exposure.forwarded_ports(spec)))
        return [f"--expose nodeport: the URLs use your kubeconfig server's host as the node's address, and every "
                f"address that reaches your nodes' ports {', '.join(map(str, used))} reaches the front door; on k3d "
                f"map them when creating the cluster (k3d cluster create NAME {mapped}), on kind with "
                "extraPortMappings; on a cluster whose API server is not a node, use --expose loadbalancer or "
                "port-forward"]
    return []


def spec_notes(spec) -> list[str]:
    """What the user does beside the deploy: name a registry, run kubectl port-forward (provider kubernetes)."""
    from recipes.kubernetes.ingress import exposure

    if spec.provider != "kubernetes":
        return []
    notes = []
    if not spec.has("registry"):
        notes.append("no registry: pass --registry HOST[:PORT][/PATH] (k3d's and kind's local registries: README, "
                     "Your own cluster) or keep building images elsewhere")
    forward = exposure.front_door_forward(spec)
    if forward:
        notes.append(f"--expose port-forward: reach the front door with `{forward}` while you use it")
    return notes


@describes_a_stack
def plan(provider: ProviderArg = None, stack: StackFlags = None, cost: CostOpt = False, tree: TreeOpt = False,
         output: OutputOpt = OutputFormat.table) -> None:
    """Show what a deploy would create, offline: no credentials, no Pulumi CLI."""
    with user_errors(output == OutputFormat.json) as console:
        spec = stack_of(provider, stack)
        result = context.plan_of(spec)
        warnings = spec_warnings(spec)
        from provisioner.analysis.internal_sources import internal_sources, note_lines
        from provisioner.cli.views import kubernetes_note, kubernetes_versions

        sources = internal_sources(result)  # what --allow-cidr admits besides the user's ranges
        from provisioner.analysis.costs import estimate as estimate_cost

        estimate = estimate_cost(result)  # offline and instant: the summary's cost line, the table with --cost
        if output == OutputFormat.json:
            documents.emit(documents.plan(spec, result, warnings, sources, kubernetes_versions(spec),
                                          estimate if cost else None))
            return
        from provisioner.cli.views import cost_table, plan_view

        out = context.out_console()
        out.print(plan_view(result, tree=tree))
        if cost:
            out.print(cost_table(estimate, f"Estimated monthly cost: {spec.name} ({spec.provider}, {spec.profile} profile)"))
        else:
            out.print(f"Estimated cost: ${estimate.monthly_total_usd:,.2f}/month (list prices of {estimate.prices_as_of}; "
                      "--cost: per resource)", markup=False)
        for warning in warnings:
            console.print(f"warning: {warning}", markup=False, style="yellow")
        notes = [*note_lines(sources), *filter(None, [suffix_note(spec), kubernetes_note(spec)]), *spec_notes(spec),
                 *(estimate.assumptions if cost else ())]
        shown = documents.placeholders(spec)
        for line in notes:
            console.print(f"note: {shown(line)}", markup=False)
        console.print(f"Deploy it with: {shlex.join(['recipe', 'deploy', *stack_argv(spec, stack)])}", markup=False)


@describes_a_stack
def check(target: TargetArg = None, stack: StackFlags = None, output: OutputOpt = OutputFormat.table) -> None:
    """Check the security baseline against the stack's real program, offline. Exit 1 when a rule fails."""
    with user_errors(output == OutputFormat.json) as console:
        from recipes.spec import PROVIDERS

        note = None  # what an adopted stack's check stands for
        if target is not None and target not in PROVIDERS:
            from provisioner.stacks.registration import checked_spec

            spec, note = checked_spec(context.records().get(target))
        else:
            spec = stack_of(target, stack)
        if note and output != OutputFormat.json:
            console.print(f"note: {note}", markup=False)
        results = context.run_checks(spec)
        failed = [r for r in results if r.verdict.status == "fail"]
        if output == OutputFormat.json:
            documents.emit(documents.check(spec, results, failed, note))
        else:
            from provisioner.cli.views import checks_table

            context.out_console().print(checks_table(results, f"Security baseline: {spec.name} ({spec.provider}, {spec.region})"))
            counts = {s: sum(1 for r in results if r.verdict.status == s) for s in ("pass", "fail", "warn", "option", "n/a")}
            console.print(", ".join(f"{n} {s}" for s, n in counts.items() if n), markup=False)
        if failed:
            raise typer.Exit(EXIT_FAILED)
