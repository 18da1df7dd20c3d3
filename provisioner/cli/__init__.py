"""The `recipe` command line: thin commands over importable modules.

Every command validates its input before touching anything, prints data on
stdout (a table, or JSON with --output json) and everything else on stderr,
and exits 0 (ok), 1 (the operation failed), 2 (bad input) or 3 (needs
confirmation: pass --yes). Heavy modules (Pulumi, cloud SDKs) are imported
inside the commands that need them, so `recipe --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_NEEDS_CONFIRMATION = 0, 1, 2, 3

app = typer.Typer(
    name="recipe",
    help="Stand up an MLOps stack (cluster, bucket, registry, MLflow, model serving) in your cloud, "
    "own it, and tear it down without losing your data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class OutputFormat(str, Enum):
    table = "table"
    json = "json"


class ExportFormat(str, Enum):
    zenml = "zenml"
    json = "json"
    dotenv = "dotenv"
    kubeconfig = "kubeconfig"


def make_engine():
    """The engine every provisioning command uses. Tests replace this function."""
    from provisioner.engine import PulumiEngine

    return PulumiEngine()


def _registry():
    from provisioner.stacks.records import StackRecords

    return StackRecords()


def _err_console():
    from rich.console import Console

    # soft_wrap: an error stays one line however narrow the terminal.
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _out_console():
    from rich.console import Console

    return Console(highlight=False)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False) + "\n")


@contextmanager
def _user_errors(as_json: bool = False):
    """Turn every expected error into one line on stderr and the right exit code;
    with --output json, also an error document on stdout, so scripts parse one thing."""
    from recipes.errors import RecipeError

    console = _err_console()

    def fail(message: str, code: int) -> typer.Exit:
        console.print(f"error: {message}", markup=False)
        if as_json:
            _print_json({"error": {"message": message, "exit_code": code}})
        return typer.Exit(code)

    try:
        yield console
    except Stop as exc:
        if as_json:
            _print_json({"error": {"message": exc.message, "exit_code": exc.code, **exc.details}})
        raise typer.Exit(exc.code) from None
    except RecipeError as exc:  # every module's errors: one line, their own exit code
        raise fail(exc.message, exc.exit_code) from None
    except KeyboardInterrupt:
        raise fail("interrupted", 130) from None


def _interactive() -> bool:
    return sys.stdin.isatty()


class Stop(Exception):
    """End a command with an exit code; its message is already on stderr."""

    def __init__(self, code: int, message: str, **details: Any):
        super().__init__(message)
        self.code, self.message, self.details = code, message, details


def _require_confirmable(console, action: str, yes: bool) -> None:
    """Fail fast, before any work, when we would have to ask but cannot."""
    if not yes and not _interactive():
        message = f"{action} needs confirmation and stdin is not a terminal: pass --yes"
        console.print(f"error: {message}", markup=False)
        raise Stop(EXIT_NEEDS_CONFIRMATION, message)


def _confirm(console, question: str, yes: bool) -> None:
    if yes:
        return
    if not _interactive():
        console.print(question, markup=False)
        console.print("error: confirmation needed and stdin is not a terminal: pass --yes", markup=False)
        raise Stop(EXIT_NEEDS_CONFIRMATION, f"{question} (confirmation needed and stdin is not a terminal: pass --yes)")
    if not typer.confirm(question, default=False, err=True):
        console.print("nothing done", markup=False)
        raise Stop(EXIT_NEEDS_CONFIRMATION, "not confirmed: nothing done")


# --------------------------------------------------------------------------
# Stack description options, shared by plan and deploy

ProviderArg = Annotated[Optional[str], typer.Argument(help="Cloud provider: aws, gcp or azure.", show_default=False)]
FileOpt = Annotated[Optional[Path], typer.Option("--file", "-f", help="Stack file (YAML) with the same fields as the flags.", dir_okay=False)]
NameOpt = Annotated[Optional[str], typer.Option("--name", "-n", help="Stack name: 3-20 lowercase letters, digits, hyphens. [default: ml-dev]")]
RegionOpt = Annotated[Optional[str], typer.Option("--region", "-r", help="Cloud region. [default: us-east-1, us-central1, eastus]")]
LocationOpt = Annotated[Optional[str], typer.Option("--location", help="Azure's name for --region.")]
ProjectOpt = Annotated[Optional[str], typer.Option("--project", help="GCP project ID. [default: GOOGLE_CLOUD_PROJECT, else gcloud's configured project]")]
ZoneOpt = Annotated[Optional[str], typer.Option("--zone", help="GCP zone of a zonal cluster. [default: <region>-b]")]
RegionalOpt = Annotated[Optional[bool], typer.Option("--regional/--zonal", help="GCP: a regional cluster (control plane in three zones; has a management fee) instead of a zonal one. [default: zonal]", show_default=False)]
WithoutOpt = Annotated[Optional[list[str]], typer.Option("--without", help="Leave a component out: cluster, bucket, registry, tracker, deployer. Repeatable.")]
ProfileOpt = Annotated[Optional[str], typer.Option("--profile", help="dev (one small node, spot capacity on aws/gcp, cheapest) or prod (on-demand, 2+ bigger nodes, regional GKE, --kms). Flags override it. [default: dev]")]
SpotOpt = Annotated[Optional[bool], typer.Option("--spot/--on-demand", help="Nodes on spot capacity (aws, gcp): far cheaper, but the cloud may reclaim a node. [default: the profile's]", show_default=False)]
NodeTypeOpt = Annotated[Optional[str], typer.Option("--node-type", help="Machine type of the nodes. [default (dev): t3.large, e2-standard-2, Standard_D2s_v5]")]
MinNodesOpt = Annotated[Optional[int], typer.Option("--min-nodes", help="Fewest nodes (per zone on regional GKE). [default (dev): 1]")]
MaxNodesOpt = Annotated[Optional[int], typer.Option("--max-nodes", help="Most nodes (per zone on regional GKE). [default (dev): 3]")]
NetworkOpt = Annotated[Optional[str], typer.Option("--network", help="private (nodes behind a NAT gateway) or public (no NAT, cheapest, dev only; aws and gcp). [default: private]")]
AllowCidrOpt = Annotated[Optional[list[str]], typer.Option("--allow-cidr", help="Only these CIDRs reach the Kubernetes API and the load balancers. Repeatable.")]
DeployerOpt = Annotated[Optional[str], typer.Option("--deployer", help="Model deployer: seldon or kserve. [default: seldon]")]
K8sVersionOpt = Annotated[Optional[str], typer.Option("--kubernetes-version", help="Kubernetes minor version, e.g. 1.33. [default: the cloud's default]")]
ImmutableOpt = Annotated[Optional[bool], typer.Option("--immutable-tags/--mutable-tags", help="Refuse to overwrite image tags in the registry (ZenML re-pushes tags: see README). [default: mutable]", show_default=False)]
TagOpt = Annotated[Optional[list[str]], typer.Option("--tag", help="Extra tag KEY=VALUE on every resource. Repeatable.")]
KmsOpt = Annotated[Optional[bool], typer.Option("--kms/--no-kms", help="Customer-managed keys for the bucket, the registry and the cluster's secrets (costs money; Azure also moves the registry to Premium). [default: off]", show_default=False)]
PrivateEndpointOpt = Annotated[Optional[bool], typer.Option("--private-endpoint/--public-endpoint", help="Kubernetes API reachable only from inside the network: deploy from there (VPN, bastion). [default: public, restrict with --allow-cidr]", show_default=False)]
OutputOpt = Annotated[OutputFormat, typer.Option("--output", "-o", help="table (for people) or json (one document on stdout, for scripts).")]
AdminOpt = Annotated[Optional[list[str]], typer.Option("--admin", help="Also give this principal cluster-admin and the bucket and registry: an IAM role/user ARN (aws), user:/group:/serviceAccount:EMAIL (gcp), an Entra object id (azure). Repeatable; see README, Team access.", show_default=False)]
SuffixOpt = Annotated[Optional[str], typer.Option("--suffix", help="Override the unique suffix of global names (4-8 lowercase letters/digits).")]


# Stack-file field for each command-line option that describes a stack.
SPEC_OPTIONS = {
    "name": "name", "region": "region", "location": "location", "project": "project", "zone": "zone",
    "regional": "regional", "without": "without", "profile": "profile", "spot": "spot", "node_type": "node_type", "min_nodes": "min_nodes",
    "max_nodes": "max_nodes", "network": "network", "allow_cidr": "allow_cidrs", "deployer": "deployer",
    "kubernetes_version": "kubernetes_version", "immutable_tags": "immutable_tags", "tag": "tags", "suffix": "suffix",
    "kms": "kms", "private_endpoint": "private_endpoint", "admin": "admins",
}


def _spec(provider, file, options: dict):
    """The stack the options describe (file first, flags over it, environment defaults under both)."""
    from provisioner.stacks.stackfile import spec_from_cli

    flags = {field: options[option] for option, field in SPEC_OPTIONS.items()}
    spec, notes = spec_from_cli(provider, str(file) if file else None, flags)
    console = _err_console()
    for note in notes:
        console.print(f"note: {note}", markup=False)
    if not spec.suffix:
        # A stack deployed from this machine: its global names, not the placeholder.
        record = _registry().find(spec.name)
        recorded = (record.spec or {}).get("suffix") if record is not None and record.provider == spec.provider else None
        if recorded:
            spec = spec.with_changes(suffix=recorded)
    return spec


def _suffix_note(spec) -> str | None:
    if spec.suffix:
        return None
    from recipes.naming import PLACEHOLDER_SUFFIX

    return (f"global names (buckets, registries, roles) end in 6 random characters chosen at the first deploy and "
            f"kept with the stack; `{PLACEHOLDER_SUFFIX}` stands for them here")


def _spec_warnings(spec) -> list[str]:
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
    elif spec.has("cluster") and not spec.allow_cidrs:
        warnings.append(
            "the Kubernetes API endpoint and the stack's load balancer (models, MLflow) are open to the whole internet; "
            "restrict them with --allow-cidr YOUR.IP.ADDRESS/32"
        )
    if spec.has("cluster") and spec.spot:
        warnings.append("nodes run on spot capacity (the dev profile's default): the cloud may reclaim a node, and the "
                        "tracker and deployer then restart on another; --on-demand or --profile prod for steady nodes")
    if spec.has("cluster") and spec.network == "public":
        warnings.append("--network public puts nodes in public subnets with public IPs: fine for a dev stack, not for production")
    return warnings


# --------------------------------------------------------------------------
# Commands

@app.command()
def plan(
    provider: ProviderArg = None, file: FileOpt = None, name: NameOpt = None, region: RegionOpt = None,
    location: LocationOpt = None, project: ProjectOpt = None, zone: ZoneOpt = None, regional: RegionalOpt = None,
    without: WithoutOpt = None, profile: ProfileOpt = None, spot: SpotOpt = None,
    node_type: NodeTypeOpt = None, min_nodes: MinNodesOpt = None,
    max_nodes: MaxNodesOpt = None, network: NetworkOpt = None, allow_cidr: AllowCidrOpt = None,
    deployer: DeployerOpt = None, kubernetes_version: K8sVersionOpt = None, immutable_tags: ImmutableOpt = None,
    tag: TagOpt = None, suffix: SuffixOpt = None, kms: KmsOpt = None, private_endpoint: PrivateEndpointOpt = None,
    admin: AdminOpt = None,
    cost: Annotated[bool, typer.Option("--cost", help="Also estimate the monthly cost per resource (dated list prices; see README).")] = False,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Show what a deploy would create, offline: no credentials, no Pulumi CLI."""
    with _user_errors(output == OutputFormat.json) as console:
        spec = _spec(provider, file, locals())
        result = _plan(spec)
        warnings = _spec_warnings(spec)
        from provisioner.analysis.internal_sources import internal_sources, note_lines

        sources = internal_sources(result)  # what --allow-cidr admits besides the user's ranges
        estimate = None
        if cost:
            from provisioner.analysis.costs import estimate as estimate_cost

            estimate = estimate_cost(result)
        from provisioner.cli.views import kubernetes_note, kubernetes_versions

        if output == OutputFormat.json:
            _print_json({**result.to_json(), "warnings": warnings, "internal_sources": [s.to_json() for s in sources],
                         "kubernetes_versions": kubernetes_versions(spec),
                         "suffix": spec.suffix or None,
                         **({"cost": estimate.to_json()} if estimate else {})})
            return
        from provisioner.cli.views import cost_table, plan_view

        _out_console().print(plan_view(result, warnings))
        for line in [*note_lines(sources), *filter(None, [_suffix_note(spec)])]:
            console.print(f"note: {line}", markup=False)
        if (k8s_note := kubernetes_note(spec)) is not None:
            console.print(f"note: {k8s_note}", markup=False)
        if estimate is not None:
            _out_console().print(cost_table(estimate, f"Estimated monthly cost: {spec.name} ({spec.provider}, {spec.profile} profile)"))
            for line in estimate.assumptions:
                console.print(f"note: {line}", markup=False)
        console.print(f"Deploy it with: recipe deploy {spec.provider} --name {spec.name} --region {spec.region}", markup=False)


@app.command()
def check(
    target: Annotated[Optional[str], typer.Argument(help="A provider (aws, gcp, azure) described by the flags, or a registered stack.", show_default=False)] = None,
    file: FileOpt = None, name: NameOpt = None, region: RegionOpt = None,
    location: LocationOpt = None, project: ProjectOpt = None, zone: ZoneOpt = None, regional: RegionalOpt = None,
    without: WithoutOpt = None, profile: ProfileOpt = None, spot: SpotOpt = None,
    node_type: NodeTypeOpt = None, min_nodes: MinNodesOpt = None,
    max_nodes: MaxNodesOpt = None, network: NetworkOpt = None, allow_cidr: AllowCidrOpt = None,
    deployer: DeployerOpt = None, kubernetes_version: K8sVersionOpt = None, immutable_tags: ImmutableOpt = None,
    tag: TagOpt = None, suffix: SuffixOpt = None, kms: KmsOpt = None, private_endpoint: PrivateEndpointOpt = None,
    admin: AdminOpt = None,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Check the security baseline against the stack's real program, offline. Exit 1 when a rule fails."""
    with _user_errors(output == OutputFormat.json) as console:
        from recipes.spec import PROVIDERS

        if target is not None and target not in PROVIDERS:
            from provisioner.stacks.stackfile import spec_from_record

            record = _registry().get(target)
            spec = spec_from_record(record.name, record.spec)
        else:
            spec = _spec(target, file, locals())
        results = _run_checks(spec)
        failed = [r for r in results if r.verdict.status == "fail"]
        if output == OutputFormat.json:
            _print_json({"stack": spec.name, "provider": spec.provider, "passed": not failed,
                         "rules": [r.to_json() for r in results]})
        else:
            from provisioner.cli.views import checks_table

            _out_console().print(checks_table(results, f"Security baseline: {spec.name} ({spec.provider}, {spec.region})"))
            counts = {s: sum(1 for r in results if r.verdict.status == s) for s in ("pass", "fail", "warn", "option", "n/a")}
            console.print(", ".join(f"{n} {s}" for s, n in counts.items() if n), markup=False)
        if failed:
            raise typer.Exit(EXIT_FAILED)


def _run_checks(spec):
    from provisioner.analysis.baseline import evaluate
    return evaluate(_plan(spec))


def _plan(spec):
    """The stack's offline plan; a program that refuses the stack (as the cloud would) is one clean error."""
    from provisioner.analysis.plan import PlanFailed, failure_message, run_plan

    try:
        return run_plan(spec, cache_dir=_plan_cache())
    except Exception as exc:  # noqa: BLE001 - whatever the program raised, said in one line
        raise PlanFailed(f"the stack cannot be planned: {failure_message(exc)}") from None


def _plan_cache():
    from provisioner.paths import cache_dir

    return cache_dir() / "plans"


@app.command()
def deploy(
    provider: ProviderArg = None, file: FileOpt = None, name: NameOpt = None, region: RegionOpt = None,
    location: LocationOpt = None, project: ProjectOpt = None, zone: ZoneOpt = None, regional: RegionalOpt = None,
    without: WithoutOpt = None, profile: ProfileOpt = None, spot: SpotOpt = None,
    node_type: NodeTypeOpt = None, min_nodes: MinNodesOpt = None,
    max_nodes: MaxNodesOpt = None, network: NetworkOpt = None, allow_cidr: AllowCidrOpt = None,
    deployer: DeployerOpt = None, kubernetes_version: K8sVersionOpt = None, immutable_tags: ImmutableOpt = None,
    tag: TagOpt = None, suffix: SuffixOpt = None, kms: KmsOpt = None, private_endpoint: PrivateEndpointOpt = None,
    admin: AdminOpt = None,
    backend: Annotated[Optional[str], typer.Option("--backend", help="Pulumi state backend URL (s3://, gs://, azblob://, https://api.pulumi.com). [default: a local file:// backend]")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Deploy without showing the preview and asking.")] = False,
    skip_checks: Annotated[bool, typer.Option("--skip-checks", help="Deploy even if a security baseline rule fails (see `recipe check`).")] = False,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Check the security baseline, then create or update a stack in the cloud and register its outputs."""
    as_json = output == OutputFormat.json
    with _user_errors(as_json) as console:
        spec = _spec(provider, file, locals())
        if backend is not None:
            _check_backend(backend)
            from provisioner.paths import normalize_backend

            backend = normalize_backend(backend)
        for warning in _spec_warnings(spec):
            console.print(f"warning: {warning}", markup=False)
        _gate_on_checks(console, spec, skip_checks)
        from provisioner.operations import lifecycle as operations
        from provisioner.operations import refusals
        from provisioner.engine import EngineError

        registry = _registry()
        refusals.refuse_unreachable_first_deploy(spec, registry)
        refusals.refuse_data_replacing_changes(spec, registry)
        refusals.refuse_second_region_wide_registry(spec, registry)
        _check_prerequisites(console, spec, yes)
        _require_confirmable(console, f"deploying {spec.name}", yes)
        engine = make_engine()
        spec = operations.assign_suffix(spec, backend=backend, engine=engine, registry=registry)
        if not yes:
            _preview_before_deploy(console, spec, backend, engine, registry)
        progress = _progress(console, f"Deploying {spec.name} ({spec.provider}, {spec.region})")
        try:
            with progress, _terminate_as_interrupt(console, spec.name):
                record, changes = operations.deploy(spec, backend=backend, engine=engine, registry=registry, on_event=progress.handle)
        except EngineError as exc:
            progress.print_summary()
            raise _report_failure(console, exc, progress, f"recipe deploy {_rerun_args(spec)}", "deploy") from None
        progress.print_summary()
        if changes.total_changes == 0:
            console.print(f"Stack {spec.name} is up to date: no changes.", markup=False)
        else:
            console.print(f"Stack {spec.name} is ready and registered ({operations.describe_changes(changes)}).", markup=False)
        if as_json:
            _print_json({"stack": spec.name, "provider": spec.provider, "region": spec.region, "status": record.status,
                         "changes": changes.to_json(), "no_changes": changes.total_changes == 0,
                         "outputs": record.outputs})
            return
        from provisioner.cli.views import outputs_table

        _out_console().print(outputs_table(record.outputs, title=f"{spec.name}: connection details (secrets not shown)"))
        console.print(
            "Next:\n"
            f"  recipe outputs {spec.name} --show-secrets          # the MLflow password\n"
            f"  recipe export {spec.name} --format kubeconfig -o ~/.kube/{spec.name}.yaml\n"
            f"  recipe export {spec.name} --format zenml -o {spec.name}.yaml && zenml stack import {spec.name}.yaml",
            markup=False,
        )


def _gate_on_checks(console, spec, skip: bool) -> None:
    """The baseline runs before every deploy; a failing rule stops it unless --skip-checks."""
    failed = [r for r in _run_checks(spec) if r.verdict.status == "fail"]
    for r in failed:
        what = f" ({', '.join(r.verdict.resources)})" if r.verdict.resources else ""
        console.print(f"{'warning' if skip else 'error'}: security rule {r.rule.id} fails: {r.rule.title}: {r.verdict.detail}{what}", markup=False)
    if failed and not skip:
        console.print(f"Nothing deployed. See `recipe check {spec.provider} ...`; deploy anyway with --skip-checks.", markup=False)
        raise Stop(EXIT_FAILED, f"security rules fail: {', '.join(r.rule.id for r in failed)}; nothing deployed")


def _check_prerequisites(console, spec, yes: bool) -> None:
    """The cloud's one-time prerequisites (Azure resource providers, GCP bootstrap APIs), before
    anything is recorded: fixed with consent (asked, or --yes) or stopped with the commands."""
    from provisioner.operations.prerequisites import Blocked, preflight

    try:
        preflight(spec, yes=yes, interactive=_interactive(), say=lambda line: console.print(line, markup=False),
                  ask=lambda question: typer.confirm(question, default=False, err=True))
    except Blocked as exc:  # what to run instead is already on stderr
        raise Stop(exc.code, exc.message, commands=exc.commands) from None


def _preview_before_deploy(console, spec, backend, engine, registry) -> None:
    """Show the real diff and ask, like `pulumi up` does."""
    from provisioner.operations.lifecycle import deploy_target

    _, target = deploy_target(spec, backend, registry)
    progress = _progress(console, f"Previewing {spec.name}")
    with progress:
        changes = engine.preview(target, progress.handle)
    _confirm(console, f"Deploy {spec.name} ({spec.provider}, {spec.region}): {changes.pending_summary()}. Continue?", yes=False)


@app.command()
def preview(
    name: Annotated[str, typer.Argument(help="A registered stack.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", hidden=True)] = False,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Show the real difference between a stack's program and the cloud (needs credentials)."""
    as_json = output == OutputFormat.json
    with _user_errors(as_json) as console:
        from provisioner.operations import lifecycle as operations

        record = _registry().get(name)
        progress = _progress(console, f"Previewing {name}")
        with progress:
            changes = operations.preview(record, engine=make_engine(), on_event=progress.handle)
        if as_json:
            _print_json({"stack": name, "changes": changes.to_json(), "no_changes": changes.total_changes == 0})
            return
        console.print(changes.pending_summary() if changes.total_changes else f"{name} is up to date: no changes", markup=False)


@app.command()
def destroy(
    name: Annotated[str, typer.Argument(help="A registered stack.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    delete_data: Annotated[bool, typer.Option("--delete-data", help="Also delete the bucket (with every artifact in it) and the registry (with every image).")] = False,
    cluster_gone: Annotated[bool, typer.Option("--cluster-gone", help="The cluster was deleted outside recipe: drop its Kubernetes objects from the state instead of failing on it. Never while it exists: its load balancers and disks would be orphaned.")] = False,
    no_backup: Annotated[bool, typer.Option("--no-backup", help="Do not back up MLflow's run history to the bucket first (it is then lost with the cluster).")] = False,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Tear a stack down. The bucket and the registry are kept unless --delete-data; MLflow's
    run history is backed up to the bucket first and restored by the next deploy."""
    as_json = output == OutputFormat.json
    with _user_errors(as_json) as console:
        from provisioner.operations import lifecycle as operations
        from provisioner.engine import EngineError
        from provisioner.cli.views import kept_lines

        registry = _registry()
        record = registry.get(name)
        operations.target_for(record)  # fails early for stacks we do not manage
        _require_confirmable(console, f"destroying {name}", yes)
        if delete_data:
            question = f"Destroy {name} ({record.provider}, {record.region}) INCLUDING its bucket and registry and all data in them?"
        else:
            question = f"Destroy {name} ({record.provider}, {record.region})? The bucket and the registry are kept"
            question += ("; MLflow's run history is NOT backed up (--no-backup)." if no_backup else
                         ", and MLflow's run history is backed up to the bucket first.")
        if cluster_gone:
            question += (" --cluster-gone: its Kubernetes objects are dropped from the state unchecked; only if the "
                         "cluster no longer exists.")
        _confirm(console, question, yes)
        progress = _progress(console, f"Destroying {name}")
        try:
            with progress, _terminate_as_interrupt(console, name):
                result = operations.destroy(record, delete_data=delete_data, engine=make_engine(), registry=registry,
                                            on_event=progress.handle, cluster_gone=cluster_gone, backup_first=not no_backup)
        except EngineError as exc:
            progress.print_summary()
            rerun = f"recipe destroy {name}" + (" --delete-data" if delete_data else "") + (" --cluster-gone" if cluster_gone else "")
            if record.last_operation and record.last_operation.op == "backup":
                exc.message += (f"\nNothing was destroyed. To destroy {name} without saving MLflow's run history "
                                f"(it is then lost with the cluster): recipe destroy {name} --no-backup")
            raise _report_failure(console, exc, progress, rerun, "destroy") from None
        progress.print_summary()
        kept = kept_lines(record)
        if as_json:
            _print_json({"stack": name, "status": "destroyed", "delete_data": delete_data, "kept": kept,
                         "delete_kept_with": None if delete_data or not kept else f"recipe destroy {name} --delete-data",
                         "backup_id": result.backup_id})
            return
        if result.backup_id:
            from provisioner.engine.run_history import location

            console.print(f"MLflow's run history is backed up in the bucket ({location(result.backup_id)}); "
                          "the next deploy of this stack restores it.", markup=False)
        if kept and delete_data:
            # e.g. GCP key rings, which GCP never deletes (they cost nothing)
            console.print("Still there (the cloud does not delete these):\n  " + "\n  ".join(kept), markup=False)
        elif kept:
            console.print("Kept (your data):\n  " + "\n  ".join(kept), markup=False)
            console.print(f"Delete them later with: recipe destroy {name} --delete-data", markup=False)
        console.print(f"Stack {name} destroyed.", markup=False)


@app.command()
def refresh(
    name: Annotated[str, typer.Argument(help="A registered stack.")],
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Reconcile a stack's state with the cloud and report what changed outside recipe."""
    with _user_errors(output == OutputFormat.json) as console:
        from provisioner.operations import lifecycle as operations

        registry = _registry()
        record = registry.get(name)
        progress = _progress(console, f"Refreshing {name}")
        with progress, _terminate_as_interrupt(console, name):
            drift = operations.refresh(record, engine=make_engine(), registry=registry, on_event=progress.handle)
        if output == OutputFormat.json:
            _print_json({"stack": name, "changed": drift.changed, "deleted": drift.deleted, "counts": drift.changes.counts})
            return
        if not drift.changed and not drift.deleted:
            console.print(f"{name}: no drift, the cloud matches the state.", markup=False)
            return
        for line in drift.changed:
            console.print(f"changed outside recipe: {line}", markup=False)
        for line in drift.deleted:
            console.print(f"deleted outside recipe: {line}", markup=False)
        console.print(f"The state now records the cloud as it is. `recipe deploy` with the stack's settings puts them back "
                      f"(`recipe preview {name}` shows what it would change).", markup=False)


@app.command()
def repair(
    name: Annotated[str, typer.Argument(help="A registered stack.")],
    unlock: Annotated[bool, typer.Option("--unlock", help="Remove the lock a killed process left on the stack's state.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Clean up after an interrupted deploy or destroy: pending operations, stale locks."""
    as_json = output == OutputFormat.json
    with _user_errors(as_json) as console:
        from provisioner.operations import lifecycle as operations

        registry = _registry()
        record = registry.get(name)
        engine = make_engine()
        op = record.last_operation
        if op and op.status == "running" and op.owner_alive() and not unlock:
            raise operations.OperationInProgress(
                f"{name} is being updated by a live process (pid {op.pid} on {op.host}); wait for it to finish"
            )
        found = operations.inspect_for_repair(record, engine=engine)
        if not found.pending and not unlock and not found.was_interrupted:
            last = f" Its last operation ({op.op}) {op.status}." if op else ""
            console.print(f"{name}: nothing to repair: no pending operations and no interrupted run.{last}", markup=False)
            if as_json:
                _print_json({"stack": name, "repaired": False, "pending": [], "unlocked": False, "rerun": None})
            return
        adopt = [p for p in found.pending if p.adopt_id]
        drop = [p for p in found.pending if not p.adopt_id]
        for pending in adopt:
            console.print(f"adopt: {pending.operation} {pending.type} {pending.name}: kept if it exists as {pending.adopt_id}", markup=False)
        for pending in drop:
            note = " (if it was created, its id is the cloud's: check the console for a leftover)" if pending.operation == "creating" else ""
            console.print(f"drop: {pending.operation} {pending.type} {pending.name}{note}", markup=False)
        steps = []
        if unlock:
            steps.append("remove the lock on its state (only safe if no other deploy or destroy is running)")
        if found.pending:
            steps.append(f"refresh it, adopting {len(adopt)} half-created resource(s) that exist and dropping "
                         f"{len(drop)} other pending operation(s) from the state")
        if found.was_interrupted:
            steps.append("record the interrupted run as interrupted")
        _confirm(console, f"Repair {name}: " + "; ".join(steps) + ". Continue?", yes)
        progress = _progress(console, f"Repairing {name}")
        with progress, _terminate_as_interrupt(console, name):
            operations.repair(record, found, unlock=unlock, engine=engine, registry=registry, on_event=progress.handle)
        rerun = "destroy" if op and op.op.startswith("destroy") else "deploy"
        command = f"recipe {rerun} {name if rerun == 'destroy' else _rerun_args_record(record)}"
        console.print(f"Repaired {name}. Now re-run `{command}`.", markup=False)
        if as_json:
            _print_json({"stack": name, "repaired": True, "unlocked": unlock, "rerun": command,
                         "pending": [{"operation": p.operation, "type": p.type, "name": p.name, "adopt_id": p.adopt_id}
                                     for p in found.pending]})


@app.command()
def backup(
    name: Annotated[str, typer.Argument(help="A registered stack.")],
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Back up MLflow's run history (experiments, runs, models, users) to the stack's bucket."""
    as_json = output == OutputFormat.json
    with _user_errors(as_json) as console:
        from provisioner.operations import lifecycle as operations
        from provisioner.engine import EngineError
        from provisioner.engine.run_history import location

        registry = _registry()
        record = registry.get(name)
        operations.target_for(record)  # fails early for stacks we do not manage
        progress = _progress(console, f"Backing up {name}")
        try:
            with progress, _terminate_as_interrupt(console, name):
                backup_id = operations.backup(record, engine=make_engine(), registry=registry, on_event=progress.handle)
        except EngineError as exc:
            progress.print_summary()
            raise _report_failure(console, exc, progress, f"recipe backup {name}", "backup") from None
        where = location(backup_id) if backup_id else None
        if backup_id:
            console.print(f"Backed up {name}'s run history as {backup_id}: in its bucket, {where}.", markup=False)
        else:
            console.print(f"{name} has no running tracker: nothing to back up.", markup=False)
        if as_json:
            _print_json({"stack": name, "backup_id": backup_id, "location": where})


@app.command()
def forget(
    name: Annotated[str, typer.Argument(help="A registered stack.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Remove a stack's record from `recipe stacks`. Never touches the cloud or the Pulumi state."""
    as_json = output == OutputFormat.json
    with _user_errors(as_json) as console:
        from provisioner.operations import lifecycle as operations
        from provisioner.cli.views import forget_warning

        registry = _registry()
        record = registry.get(name)
        operations.check_not_running(record)
        warning = forget_warning(record)
        if warning:
            console.print(f"warning: {warning}", markup=False)
        _confirm(console, f"Forget {name}? Nothing in the cloud or in its Pulumi state is changed.", yes)
        registry.delete(name)
        console.print(f"Forgot {name}: it is no longer in `recipe stacks`; nothing in the cloud was touched.", markup=False)
        if as_json:
            _print_json({"stack": name, "forgotten": True, "cloud_touched": False, "warning": warning})


def _rerun_args_record(record) -> str:
    return f"{record.provider} --name {record.name} --region {record.region}"


@app.command()
def stacks(
    output: OutputOpt = OutputFormat.table,
) -> None:
    """List registered stacks."""
    with _user_errors(output == OutputFormat.json) as console:
        records, errors = _registry().all()
        for error in errors:
            console.print(f"warning: {error}", markup=False)
        if output == OutputFormat.json:
            _print_json([
                {"name": r.name, "provider": r.provider, "region": r.region, "status": r.display_status(), "source": r.source,
                 "outputs": r.outputs, "updated_at": r.updated_at,
                 "last_operation": r.last_operation.__dict__ if r.last_operation else None}
                for r in records
            ])
            return
        if not records:
            console.print("No stacks yet. Try: recipe plan aws, then recipe deploy aws --name ml-dev", markup=False)
            return
        from provisioner.cli.views import stacks_table

        _out_console().print(stacks_table(records))


@app.command()
def outputs(
    name: Annotated[str, typer.Argument(help="A registered stack.")],
    show_secrets: Annotated[bool, typer.Option("--show-secrets", help="Show passwords and kubeconfigs in clear.")] = False,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Show a stack's connection details (secrets masked unless --show-secrets)."""
    with _user_errors(output == OutputFormat.json):
        from recipes import outputs as canonical

        from provisioner.operations import lifecycle as operations

        record = _registry().get(name)
        if show_secrets:
            data = operations.full_outputs(record, make_engine, with_secrets=True)
        else:
            data = canonical.masked(_with_secret_placeholders(record.outputs))
        if output == OutputFormat.json:
            _print_json(data)
            return
        from provisioner.cli.views import outputs_table

        _out_console().print(outputs_table(data, title=f"{name} ({record.status})"))


def _with_secret_placeholders(data: dict) -> dict:
    """Public outputs with each secret field present (so it can be shown masked)."""
    from recipes import outputs as canonical

    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for component, field_name in canonical.SECRET_PATHS:
        if component in out:
            out[component][field_name] = canonical.MASK
    return out


@app.command()
def export(
    name: Annotated[str, typer.Argument(help="A registered stack.")],
    format: Annotated[ExportFormat, typer.Option("--format", help="zenml, json, dotenv or kubeconfig.")] = ExportFormat.zenml,
    show_secrets: Annotated[bool, typer.Option("--show-secrets", help="Include passwords in clear (the file is written 0600).")] = False,
    secrets_as_references: Annotated[bool, typer.Option("--secrets-as-references", help="zenml: write the MLflow password as a ZenML secret reference {{<stack>-mlflow.password}}, never in clear. [default for zenml unless --show-secrets]")] = False,
    register: Annotated[bool, typer.Option("--register", help="zenml: also import the stack into ZenML (creates the ZenML secret; fresh names on clashes).")] = False,
    output_file: Annotated[Optional[Path], typer.Option("--output-file", "-o", help="Write to this file instead of stdout.", dir_okay=False)] = None,
    zenml_version: Annotated[Optional[str], typer.Option("--zenml-version", help="zenml_version to write. [default: the installed zenml's, else 0.98.0]")] = None,
    output: Annotated[OutputFormat, typer.Option("--output", help="table (the exported text) or json (a document describing the export).")] = OutputFormat.table,
) -> None:
    """Export a stack's outputs for ZenML, scripts (json, dotenv) or kubectl (kubeconfig)."""
    as_json = output == OutputFormat.json
    with _user_errors(as_json) as console:
        from recipes.spec import SpecError

        from provisioner.stacks import exporters

        from provisioner.operations import lifecycle as operations

        from provisioner import paths
        from provisioner.paths import atomic_write

        fmt = format.value
        if (secrets_as_references or register) and fmt != "zenml":
            raise SpecError(f"--secrets-as-references and --register are for --format zenml, not {fmt}")
        if secrets_as_references and show_secrets:
            raise SpecError("--secrets-as-references and --show-secrets contradict each other: choose one")
        if register and show_secrets:
            raise SpecError("--register keeps the password in a ZenML secret, never in the stack: drop --show-secrets")
        record = _registry().get(name)
        if record.status == "destroyed":
            console.print(f"warning: {name} is destroyed; exporting what is left", markup=False)
        # The kubeconfig is a secret output: the kubeconfig and dotenv formats need it
        # even without --show-secrets; renderers still leave passwords out unless asked.
        has_cluster = "cluster" in record.outputs
        needs_secrets = show_secrets or register or (fmt in ("kubeconfig", "dotenv") and has_cluster)
        data = operations.full_outputs(record, make_engine, with_secrets=needs_secrets)
        kube, kubeconfig_path = None, None
        written: list[dict[str, Any]] = []
        if fmt == "dotenv" and "cluster" in data:
            # The dotenv points KUBECONFIG at a kubeconfig we write next to our state,
            # once the dotenv itself has rendered (a refused value leaves no file behind).
            kube = exporters.render("kubeconfig", data)
            kubeconfig_path = paths.kubeconfig_file(name)
        rendered = exporters.render(fmt, data, show_secrets=show_secrets, zenml_version=zenml_version,
                                    kubeconfig_path=str(kubeconfig_path) if kubeconfig_path else None)
        if kube is not None and kubeconfig_path is not None:
            kubeconfig_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            atomic_write(kubeconfig_path, kube.text, mode=0o600)
            written.append({"file": str(kubeconfig_path), "mode": "0600", "contains_secrets": True})
            console.print(f"wrote kubeconfig {kubeconfig_path} (mode 0600)", markup=False)
        notes = list(rendered.notes)
        if output_file is not None:
            mode = 0o600 if rendered.contains_secrets else 0o644
            atomic_write(output_file, rendered.text, mode=mode)
            written.append({"file": str(output_file), "mode": f"{mode:04o}", "contains_secrets": rendered.contains_secrets})
            console.print(f"wrote {output_file}" + (" (mode 0600: it contains secrets)" if rendered.contains_secrets else ""), markup=False)
        elif not as_json:
            sys.stdout.write(rendered.text)
        registered = None
        if register:
            registered = _register_in_zenml(console, rendered, data)
            notes = [n for n in notes if n != rendered.secret_note]  # --register creates the secret
        if as_json:
            _print_json({"stack": name, "format": fmt, "files": written,
                         "content": None if output_file is not None else rendered.text,
                         "contains_secrets": rendered.contains_secrets, "notes": notes,
                         "zenml": registered.to_json() if registered else None})
            return
        for note in notes:
            console.print(f"note: {note}", markup=False)


def _register_in_zenml(console, rendered, data: dict):
    """Import the exported document into ZenML, with the password as the secret it refers to."""
    import yaml

    from provisioner.stacks import exporters

    from provisioner.integrations import zenml_register
    from provisioner.operations.lifecycle import OperationError

    password = (data.get("tracker") or {}).get("password") if rendered.referenced_secret else None
    console.print("Registering the stack in ZenML ...", markup=False)
    try:
        registered = zenml_register.register(yaml.safe_load(rendered.text), password=password,
                                             secret_name=rendered.referenced_secret)
    except (zenml_register.ZenMLUnavailable, zenml_register.ZenMLImportFailed) as exc:
        raise OperationError(str(exc)) from None
    for old, new in registered.renamed.items():
        console.print(f"note: {old!r} already exists in ZenML with other settings: registered as {new!r}", markup=False)
    if registered.zenml_version != exporters.DEFAULT_ZENML_VERSION:
        console.print(f"note: the export was checked against ZenML {exporters.DEFAULT_ZENML_VERSION}; "
                      f"this is ZenML {registered.zenml_version}", markup=False)
    secret = f" (MLflow password in ZenML secret {registered.secret!r})" if registered.secret else ""
    console.print(f"Registered ZenML stack {registered.stack!r}{secret}. Use it: zenml stack set {registered.stack}", markup=False)
    return registered


@app.command()
def register(
    name: Annotated[str, typer.Argument(help="Name to register the stack under (the stack_name in the outputs).")],
    outputs_file: Annotated[Path, typer.Option("--outputs", help="Output of `pulumi stack output --json --show-secrets`.", dir_okay=False)],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing registration of that name.")] = False,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Register a stack deployed with the plain Pulumi CLI, so it can be exported."""
    as_json = output == OutputFormat.json
    with _user_errors(as_json) as console:
        from provisioner.stacks.registration import register_outputs

        record = register_outputs(name, outputs_file, registry=_registry(), force=force)
        from recipes.spec import COMPONENTS

        components = [c for c in COMPONENTS if c in record.outputs]
        console.print(f"Registered {name} ({record.provider}, {record.region}) with: {', '.join(components)}", markup=False)
        if as_json:
            _print_json({"stack": name, "provider": record.provider, "region": record.region, "status": record.status,
                         "components": components, "source": record.source})


@app.command()
def doctor(
    install_pulumi: Annotated[bool, typer.Option("--install-pulumi", help="Download and install the Pulumi CLI into ~/.pulumi.")] = False,
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Check this machine: Python, packages, Pulumi CLI, cloud CLIs, credentials and one-time cloud prerequisites."""
    from provisioner.cli.doctor import run_checks

    checks = run_checks(install_pulumi=install_pulumi)
    if output == OutputFormat.json:
        _print_json([c.to_json() for c in checks])
        return
    from rich.table import Table

    table = Table(show_header=True, header_style="bold")
    for column in ("check", "status", "detail", "fix"):
        table.add_column(column, overflow="fold")
    styles = {"ok": "green", "missing": "red", "warning": "yellow", "not checked": "yellow"}
    for c in checks:
        table.add_row(c.name, f"[{styles.get(c.status, 'white')}]{c.status}[/]", c.detail, c.fix or "")
    _out_console().print(table)


# --------------------------------------------------------------------------
# Helpers

def _progress(console, title: str):
    from provisioner.cli.display import Progress

    return Progress(console=console, title=title, live=console.is_terminal)


@contextmanager
def _terminate_as_interrupt(console=None, name: str = "<stack>"):
    """SIGTERM (a CI job cancelled, `kill`) is recorded like Ctrl-C, not lost; both stop the Pulumi
    CLI gracefully (provisioner/engine/pulumi/process.py), and what that waits for is said on `console`."""
    import signal

    from provisioner.engine.pulumi import process as pulumi_process

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    def say(stage: str) -> None:
        (console or _err_console()).print(pulumi_process.message(stage, name), markup=False)

    previous_notify, pulumi_process.notify = pulumi_process.notify, say
    installed = False
    try:
        previous, installed = signal.signal(signal.SIGTERM, interrupt), True
    except ValueError:  # not the main thread (e.g. some test runners): nothing to install
        pass
    try:
        yield
    finally:
        pulumi_process.notify = previous_notify
        if installed:
            signal.signal(signal.SIGTERM, previous)


def _report_failure(console, exc, progress, rerun: str, op: str) -> Stop:
    """Say what failed and the command that resumes; the Stop to raise."""
    from provisioner.engine import ConcurrentUpdate, PassphraseError

    if isinstance(exc, (ConcurrentUpdate, PassphraseError)):
        console.print(f"error: {exc.message}", markup=False)  # nothing was changed or recorded as failed
        return Stop(EXIT_FAILED, exc.message)
    console.print(f"error: {op} failed: {exc.message}", markup=False)
    if exc.resource:
        console.print(f"  failing resource: {exc.resource}", markup=False)
    for line in progress.errors()[:5]:
        console.print(f"  {line}", markup=False)
    console.print(f"The failure is recorded (`recipe stacks`). Fix the cause and re-run `{rerun}`: "
                  "Pulumi resumes from what already exists.", markup=False)
    return Stop(EXIT_FAILED, f"{op} failed: {exc.message}", resource=exc.resource, rerun=rerun)


def _rerun_args(spec) -> str:
    return f"{spec.provider} --name {spec.name} --region {spec.region}"


def _check_backend(url: str) -> None:
    from recipes.spec import SpecError

    if not url.startswith(("file://", "s3://", "gs://", "azblob://", "https://", "http://")):
        raise SpecError(f"--backend: {url!r} is not a Pulumi backend URL (file://, s3://, gs://, azblob://, https://api.pulumi.com)")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
