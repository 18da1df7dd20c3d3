"""`recipe deploy`: check the baseline and the cloud's prerequisites, preview, confirm, deploy, register.

Every refusal comes before anything is recorded or changed: bad input, no Pulumi CLI or
no credentials for the cloud (provisioner/operations/preflight.py), a failing security
rule, a change that would replace the data, a prerequisite not consented to.
"""

from __future__ import annotations

import shlex
from typing import Annotated, Optional

import typer

from provisioner.cli import context, documents
from provisioner.cli.describe import spec_notes, spec_warnings, stack_of
from provisioner.cli.errors import EXIT_FAILED, Stop, ask, confirm, report_failure, require_confirmable, terminate_as_interrupt, user_errors
from provisioner.cli.options import OutputFormat, OutputOpt, ProviderArg, StackFlags, describes_a_stack, stack_argv

BackendOpt = Annotated[Optional[str], typer.Option("--backend", help="Pulumi state backend URL (s3://, gs://, azblob://, https://api.pulumi.com). [default: a local file:// backend]")]
DeployYesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Deploy without showing the preview and asking.")]
SkipChecksOpt = Annotated[bool, typer.Option("--skip-checks", help="Deploy even if a security baseline rule fails (see `recipe check`).")]
BACKEND_SCHEMES = ("file://", "s3://", "gs://", "azblob://", "https://", "http://")


@describes_a_stack
def deploy(provider: ProviderArg = None, stack: StackFlags = None, backend: BackendOpt = None, yes: DeployYesOpt = False,
           skip_checks: SkipChecksOpt = False, output: OutputOpt = OutputFormat.table) -> None:
    """Check the security baseline, then create or update a stack in the cloud and register its outputs."""
    as_json = output == OutputFormat.json
    with user_errors(as_json) as console:
        spec = stack_of(provider, stack)
        if backend is not None:
            backend = backend_url(backend)
        # Pulumi CLI and credentials (a `kubernetes` stack: its cluster): before anything is recorded
        engine = ready_engine(spec.provider, spec=spec, operation="deploy")
        for warning in spec_warnings(spec):
            console.print(f"warning: {warning}", markup=False)
        for note in spec_notes(spec):
            console.print(f"note: {note}", markup=False)
        gate_on_checks(console, spec, skip_checks)
        from provisioner.engine import EngineError
        from provisioner.operations import lifecycle, refusals

        records = context.records()
        refusals.refuse_unreachable_first_deploy(spec, records)
        refusals.refuse_data_replacing_changes(spec, records)
        refusals.refuse_second_region_wide_registry(spec, records)
        refusals.refuse_dropping_kept_logs(spec, records)
        check_prerequisites(console, spec, yes)
        require_confirmable(console, f"deploying {spec.name}", yes)
        spec = lifecycle.assign_suffix(spec, backend=backend, engine=engine, records=records)
        if not yes:
            preview_before_deploy(console, spec, backend, engine, records)
        progress = context.progress_view(console, f"Deploying {spec.name} ({spec.provider}, {spec.region})")
        try:
            with progress, terminate_as_interrupt(console, spec.name):
                record, changes = lifecycle.deploy(spec, backend=backend, engine=engine, records=records, on_event=progress.handle)
        except EngineError as exc:
            progress.print_summary()
            # The same stack again: every non-default setting, or the stack file (options.stack_argv).
            rerun = shlex.join(["recipe", "deploy", *stack_argv(spec, stack)])
            raise report_failure(console, exc, progress, rerun, "deploy") from None
        progress.print_summary()
        if changes.total_changes == 0:
            console.print(f"Stack {spec.name} is up to date: no changes.", markup=False)
        else:
            console.print(f"Stack {spec.name} is ready and registered ({lifecycle.describe_changes(changes)}).", markup=False)
        if as_json:
            documents.emit(documents.deploy(spec, record, changes))
            return
        from provisioner.cli.views import outputs_table

        context.out_console().print(outputs_table(record.outputs, title=f"{spec.name}: connection details (secrets not shown)"))
        console.print(
            "Next:\n"
            f"  recipe outputs {spec.name} --show-secrets          # the MLflow password\n"
            f"  recipe export {spec.name} --format kubeconfig -f ~/.kube/{spec.name}.yaml\n"
            f"  recipe export {spec.name} --format zenml -f {spec.name}.yaml && zenml stack import {spec.name}.yaml",
            markup=False,
        )


def ready_engine(provider: str, *, stack: str | None = None, never_deployed: bool = False, spec=None,
                 operation: str | None = None):
    """The engine, once this machine can run it for a `provider` stack: checked before a record
    is written or a passphrase made (provisioner/operations/preflight.py). Only the Pulumi engine
    needs a local Pulumi CLI and credentials; another (the tests' model of the cloud) brings its own.
    `spec`: the stack's, where its cluster is the user's (provider kubernetes: its kubeconfig and context),
    checked for `operation` (preflight.require_cluster)."""
    from provisioner.engine.pulumi import PulumiEngine
    from provisioner.operations.preflight import require_ready

    engine = context.make_engine()
    if isinstance(engine, PulumiEngine):
        # The engine's own CLI lookup: found and version-checked once, then used for the operation.
        require_ready(provider, engine.pulumi_cli, stack=stack, never_deployed=never_deployed, spec=spec,
                      operation=operation)
    return engine


def rerun_args(stack) -> str:
    """The arguments that name a stack again to `recipe deploy` (a spec or a record)."""
    return f"{stack.provider} --name {stack.name} --region {stack.region}"


def backend_url(url: str) -> str:
    """--backend as Pulumi takes it; anything that is not a backend URL is bad input."""
    from recipes.spec import SpecError

    from provisioner.paths import normalize_backend

    if not url.startswith(BACKEND_SCHEMES):
        raise SpecError(f"--backend: {url!r} is not a Pulumi backend URL (file://, s3://, gs://, azblob://, https://api.pulumi.com)")
    return normalize_backend(url)


def gate_on_checks(console, spec, skip: bool) -> None:
    """The baseline runs before every deploy; a failing rule stops it unless --skip-checks."""
    failed = [r for r in context.run_checks(spec) if r.verdict.status == "fail"]
    for r in failed:
        what = f" ({', '.join(r.verdict.resources)})" if r.verdict.resources else ""
        console.print(f"{'warning' if skip else 'error'}: security rule {r.rule.id} fails: {r.rule.title}: {r.verdict.detail}{what}", markup=False)
    if failed and not skip:
        console.print(f"Nothing deployed. See `recipe check {spec.provider} ...`; deploy anyway with --skip-checks.", markup=False)
        raise Stop(EXIT_FAILED, f"security rules fail: {', '.join(r.rule.id for r in failed)}; nothing deployed")


def check_prerequisites(console, spec, yes: bool) -> None:
    """The cloud's one-time prerequisites (Azure resource providers, GCP bootstrap APIs), before
    anything is recorded: fixed with consent (asked, or --yes) or stopped with the commands."""
    from provisioner.operations.prerequisites import Blocked, preflight

    def say(line: str) -> None:
        console.print(line, markup=False)

    try:
        preflight(spec, yes=yes, interactive=context.interactive(), say=say, ask=ask)
    except Blocked as exc:  # what to run instead is already on stderr
        raise Stop(exc.code, exc.message, commands=exc.commands) from None


def preview_before_deploy(console, spec, backend, engine, records) -> None:
    """Show the real diff and ask, like `pulumi up` does."""
    from provisioner.operations.lifecycle import deploy_target

    _, target = deploy_target(spec, backend, records)
    progress = context.progress_view(console, f"Previewing {spec.name}")
    with progress:
        changes = engine.preview(target, progress.handle)
    confirm(console, f"Deploy {spec.name} ({spec.provider}, {spec.region}): {changes.pending_summary()}. Continue?", yes=False)
