"""`recipe doctor`: is this machine ready to deploy? Never a traceback, never a hang.

Credential checks look for credentials locally and, where the cloud's CLI is
installed, ask it who we are with a short timeout; anything that fails or
needs the network we cannot reach is reported as "not checked". The one-time
cloud prerequisites of a first deploy (Azure resource providers, GCP bootstrap
APIs: provisioner/operations/prerequisites.py) are read the same way, never changed.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Annotated, NamedTuple

import typer

from recipes import facts

from provisioner.cli import documents
from provisioner.cli.options import OutputFormat, OutputOpt, ProviderArg

# What every stack needs; each cloud's own SDK (an extra: stack-recipes[aws]) is checked with its cloud.
PACKAGES = ("stack-recipes", "pulumi", "pulumi-kubernetes", "pulumi-random", "pulumi-tls", "typer", "rich")
TIMEOUT_SECONDS = 8


class Check(NamedTuple):
    """One line of `recipe doctor` (a NamedTuple: defined at every start of the CLI, and cheap)."""

    name: str
    status: str  # ok, missing, warning, not checked
    detail: str
    fix: str | None = None

    def to_json(self) -> dict:
        return self._asdict()


InstallPulumiOpt = Annotated[bool, typer.Option("--install-pulumi", help="Download and install the Pulumi CLI into ~/.pulumi.")]


def doctor(provider: ProviderArg = None, install_pulumi: InstallPulumiOpt = False, output: OutputOpt = OutputFormat.table) -> None:
    """Check this machine: Python, packages, Pulumi CLI, cloud CLIs, credentials and one-time cloud prerequisites.

    Exit code 1 when deploying (to PROVIDER, or to any cloud) is impossible from here: no usable
    Pulumi CLI, no credentials, a failed --install-pulumi; 0 otherwise.
    """
    as_json = output == OutputFormat.json
    if provider is not None and provider not in facts.PROVIDERS:
        from provisioner.cli.errors import Stop, user_errors

        with user_errors(as_json) as console:
            message = f"unknown provider {provider!r}: one of {', '.join(facts.PROVIDERS)}"
            console.print(f"error: {message}", markup=False)
            raise Stop(2, message)
    from provisioner.cli.context import err_console

    console = err_console()
    checks = run_checks(install_pulumi=install_pulumi, provider=provider,
                        say=lambda line: console.print(line, markup=False))
    ready, blocking, verdict = verdict_of(checks, provider)
    if as_json:
        documents.emit({"provider": provider, "ready": ready, "verdict": verdict, "blocking": blocking,
                        "checks": documents.doctor(checks)})
    else:
        from provisioner.cli.context import out_console
        from provisioner.cli.views import checks_of_this_machine

        out_console().print(checks_of_this_machine(checks))
        console.print(verdict, markup=False)
    if not ready:
        raise typer.Exit(1)


def verdict_of(checks: list[Check], provider: str | None) -> tuple[bool, list[str], str]:
    """Whether a deploy (to `provider`, or to some cloud) can run here, the checks that stop it, and one line saying so."""
    by_name = {c.name: c for c in checks}
    blocking = [PULUMI] if by_name[PULUMI].status != "ok" else []
    clouds = [provider] if provider else list(facts.PROVIDERS)
    able = [p for p in clouds if by_name[sdk_check_name(p)].status == "ok" and by_name[f"{p} credentials"].status != "missing"]
    if not able:  # every cloud asked lacks its SDK or its credentials: name what each lacks
        blocking += [name for p in clouds for name in (sdk_check_name(p), f"{p} credentials")
                     if by_name[name].status == "missing"]
    where = provider or "any cloud"
    if blocking:
        fixes = "; ".join(f"{name}: {by_name[name].fix}" for name in blocking if by_name[name].fix)
        return False, blocking, f"not ready: deploying to {where} is impossible from this machine ({fixes})"
    return True, [], f"ready to deploy to {', '.join(able)}"


PULUMI = "pulumi CLI"


def run_checks(*, install_pulumi: bool = False, provider: str | None = None, say=lambda line: None) -> list[Check]:
    import platform
    from importlib import metadata  # not at import: `recipe --help` does not pay for it

    clouds = [provider] if provider else list(facts.PROVIDERS)
    checks = [Check("python", "ok", platform.python_version())]
    for package in PACKAGES:
        try:
            checks.append(Check(package, "ok", metadata.version(package)))
        except metadata.PackageNotFoundError:
            checks.append(Check(package, "missing", "not installed", "pip install 'stack-recipes[all]'"))
    checks.extend(_sdk(cloud) for cloud in clouds)
    checks.append(_pulumi_cli(install_pulumi, say))
    for cloud in clouds:
        checks.extend(_tool(*tool) for tool in facts.of(cloud).DOCTOR_TOOLS)
    checks.append(_tool("kubectl", "kubectl", "optional: to look inside the cluster", "https://kubernetes.io/docs/tasks/tools/"))
    checks.extend(_credentials(cloud) for cloud in clouds)
    if "azure" in clouds:
        checks.append(_azure_providers())
    if "gcp" in clouds:
        checks.append(_gcp_bootstrap_apis())
    return checks


# Reading one cloud's prerequisites: az and gcloud are slow to start and list a lot.
PREREQUISITE_TIMEOUT_SECONDS = 30


def _azure_providers() -> Check:
    """Which resource providers the largest Azure stack (every component, --kms) needs are registered. Reads only."""
    from provisioner.operations.prerequisites import Unavailable, azure_providers, azure_providers_state, azure_subscription

    name = "azure resource providers"
    try:
        found = azure_providers_state(azure_providers(kms=True), azure_subscription(), timeout=PREREQUISITE_TIMEOUT_SECONDS)
    except Unavailable as exc:
        return Check(name, "not checked", str(exc), None if "not found" in str(exc) else "az login")
    if found.missing:
        registered = f"; registered: {', '.join(found.registered)}" if found.registered else ""
        return Check(name, "missing", f"not registered in {found.where}: {', '.join(found.missing)}{registered}",
                     "recipe deploy azure registers them (it asks first), or: " + "; ".join(found.commands()))
    if found.registering:
        return Check(name, "warning", f"registering in {found.where}: {', '.join(found.registering)}",
                     "wait: az provider show --namespace NAMESPACE")
    return Check(name, "ok", f"registered in {found.where}: {', '.join(found.registered)}")


def _gcp_bootstrap_apis() -> Check:
    """Whether the APIs every GCP deploy goes through are on in the default project. Reads only."""
    from provisioner.operations.prerequisites import Unavailable, gcp_bootstrap_state
    from provisioner.stacks.stackfile import gcp_default_project

    name = "gcp bootstrap APIs"
    project = gcp_default_project()
    if project is None:
        return Check(name, "not checked", "no default project (GOOGLE_CLOUD_PROJECT or gcloud config)",
                     "gcloud config set project PROJECT_ID")
    try:
        found = gcp_bootstrap_state(project[0], timeout=PREREQUISITE_TIMEOUT_SECONDS)
    except Unavailable as exc:
        return Check(name, "not checked", f"project {project[0]}: {exc}",
                     None if "not found" in str(exc) else "gcloud auth login")
    if found.missing:
        return Check(name, "missing", f"off in project {project[0]}: {', '.join(found.missing)}", found.command)
    return Check(name, "ok", f"serviceusage and cloudresourcemanager enabled in project {project[0]}")


def _pulumi_cli(install: bool, say) -> Check:
    """The Pulumi CLI the engine would run (at least MIN_PULUMI_VERSION); a failed install's
    cause is said on its own line (`say`), the table only points to it."""
    from provisioner.engine import PulumiNotFound
    from provisioner.engine.pulumi.cli import PULUMI_INSTALL_URL, install_pulumi_cli, usable_pulumi_cli

    if install:
        try:
            return Check(PULUMI, "ok", f"installed: {install_pulumi_cli()}")
        except Exception as exc:  # noqa: BLE001 - network, permissions, installer: report, do not crash
            cause = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            say(f"error: {cause}")
            return Check(PULUMI, "missing", "install failed (the cause is printed above the table)", PULUMI_INSTALL_URL)
    try:
        return Check(PULUMI, "ok", usable_pulumi_cli())
    except PulumiNotFound as exc:
        lead = exc.message.splitlines()[0].rstrip(".")
        return Check(PULUMI, "missing", f"{lead} (needed to deploy; `recipe plan` works without it)",
                     "recipe doctor --install-pulumi")


def sdk_check_name(provider: str) -> str:
    return f"{provider} SDK"


def _sdk(provider: str) -> Check:
    """The cloud's Pulumi SDK: installed with its extra, so a one-cloud install lacks the others'."""
    from importlib import metadata

    cloud = facts.of(provider)
    try:
        return Check(sdk_check_name(provider), "ok", f"{cloud.SDK_DISTRIBUTION} {metadata.version(cloud.SDK_DISTRIBUTION)}")
    except metadata.PackageNotFoundError:
        return Check(sdk_check_name(provider), "missing", f"{cloud.SDK_DISTRIBUTION} not installed",
                     f"pip install 'stack-recipes[{provider}]'")


def _tool(name: str, command: str, why: str, fix: str) -> Check:
    path = shutil.which(command)
    return Check(name, "ok", path) if path else Check(name, "warning", f"not found: {why}", fix)


def _credentials(provider: str) -> Check:
    """Credentials of one cloud found in the environment or the home directory
    (provisioner/operations/preflight.py, as deploy looks); verified where the cloud's CLI can
    say who they belong to (recipes/facts/<cloud>.py)."""
    from provisioner.operations.preflight import AMBIENT_CREDENTIALS_ENV, local_credentials

    if provider == "kubernetes":
        return _kubeconfig()
    cloud = facts.of(provider)
    name = f"{provider} credentials"
    creds = local_credentials(provider)
    if creds.missing:
        return Check(name, "missing", f"{cloud.DOCTOR_CREDENTIALS_MISSING} (or set {AMBIENT_CREDENTIALS_ENV}=1 where "
                     "the machine's own identity is used)", cloud.DOCTOR_CREDENTIAL_FIX)
    found = ", ".join(creds.found) or f"{AMBIENT_CREDENTIALS_ENV} set"
    command = cloud.DOCTOR_IDENTITY_COMMAND
    if command is None:
        return Check(name, "not checked", f"found {found} (not verified)")
    if shutil.which(command[0]) and (identity := _run(list(command))):
        return Check(name, "ok", identity)
    return Check(name, "not checked", f"found {found}; could not verify them (offline, expired, or no {command[0]} CLI)")


def _kubeconfig() -> Check:
    """A `kubernetes` stack's credentials are a kubeconfig context: the file ($KUBECONFIG, else ~/.kube/config)
    and its current-context, read as the deploy's preflight reads them. Whether its API server answers and
    what it allows is the deploy's to ask (provisioner/operations/cluster_access.py), not the doctor's."""
    from provisioner.operations.user_kubeconfig import KubeconfigError, load_context

    name = "kubernetes credentials"
    try:
        ctx = load_context(None, None)
    except KubeconfigError as exc:
        cause, _, fix = exc.message.partition("; nothing was done. ")
        return Check(name, "missing", cause, fix or facts.of("kubernetes").DOCTOR_CREDENTIAL_FIX)
    return Check(name, "ok", f"current-context {ctx.name} ({ctx.server}) in {', '.join(ctx.sources)}; "
                 "recipe deploy kubernetes --context NAME uses another")


def _run(args: list[str]) -> str | None:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
