"""`recipe doctor`: is this machine ready to deploy? Never a traceback, never a hang.

Credential checks look for credentials locally and, where the cloud's CLI is
installed, ask it who we are with a short timeout; anything that fails or
needs the network we cannot reach is reported as "not checked". The one-time
cloud prerequisites of a first deploy (Azure resource providers, GCP bootstrap
APIs: provisioner/operations/prerequisites.py) are read the same way, never changed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Annotated, NamedTuple

import typer

from recipes import facts

from provisioner.cli import documents
from provisioner.cli.options import OutputFormat, OutputOpt

PACKAGES = ("stack-recipes", "pulumi", "pulumi-aws", "pulumi-gcp", "pulumi-azure-native", "pulumi-kubernetes",
            "pulumi-random", "typer", "rich")
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


def doctor(install_pulumi: InstallPulumiOpt = False, output: OutputOpt = OutputFormat.table) -> None:
    """Check this machine: Python, packages, Pulumi CLI, cloud CLIs, credentials and one-time cloud prerequisites."""
    checks = run_checks(install_pulumi=install_pulumi)
    if output == OutputFormat.json:
        documents.emit(documents.doctor(checks))
        return
    from provisioner.cli.context import out_console
    from provisioner.cli.views import checks_of_this_machine

    out_console().print(checks_of_this_machine(checks))


def run_checks(*, install_pulumi: bool = False) -> list[Check]:
    import platform
    from importlib import metadata  # not at import: `recipe --help` does not pay for it

    checks = [Check("python", "ok", platform.python_version())]
    for package in PACKAGES:
        try:
            checks.append(Check(package, "ok", metadata.version(package)))
        except metadata.PackageNotFoundError:
            checks.append(Check(package, "missing", "not installed", "pip install -e ."))
    checks.append(_pulumi_cli(install_pulumi))
    for provider in facts.PROVIDERS:
        checks.extend(_tool(*tool) for tool in facts.of(provider).DOCTOR_TOOLS)
    checks.append(_tool("kubectl", "kubectl", "optional: to look inside the cluster", "https://kubernetes.io/docs/tasks/tools/"))
    checks.extend(_credentials(provider) for provider in facts.PROVIDERS)
    checks.append(_azure_providers())
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


def _pulumi_cli(install: bool) -> Check:
    from provisioner.engine import EngineError
    from provisioner.engine.pulumi import find_pulumi_cli, install_pulumi_cli

    if install:
        try:
            return Check("pulumi CLI", "ok", f"installed: {install_pulumi_cli()}")
        except (EngineError, OSError) as exc:
            return Check("pulumi CLI", "missing", f"install failed: {exc}", "https://www.pulumi.com/docs/install/")
        except Exception as exc:  # noqa: BLE001 - the network may be unreachable; report, do not crash
            return Check("pulumi CLI", "missing", f"install failed: {type(exc).__name__}: {exc}",
                         "https://www.pulumi.com/docs/install/")
    path = find_pulumi_cli()
    if not path:
        return Check("pulumi CLI", "missing", "not found on PATH or in ~/.pulumi (needed to deploy; `recipe plan` works without it)",
                     "recipe doctor --install-pulumi")
    version = _run([path, "version"])
    return Check("pulumi CLI", "ok", f"{version or 'version unknown'} at {path}")


def _tool(name: str, command: str, why: str, fix: str) -> Check:
    path = shutil.which(command)
    return Check(name, "ok", path) if path else Check(name, "warning", f"not found: {why}", fix)


def _credentials(provider: str) -> Check:
    """Credentials of one cloud found in the environment or the home directory; verified where
    the cloud's CLI can say who they belong to (recipes/facts/<cloud>.py)."""
    cloud = facts.of(provider)
    name = f"{provider} credentials"
    env = [k for k in cloud.DOCTOR_CREDENTIAL_ENV if os.environ.get(k)]
    files = [str(Path.home() / f) for f in cloud.DOCTOR_CREDENTIAL_FILES if (Path.home() / f).exists()]
    if not env and not files:
        return Check(name, "missing", cloud.DOCTOR_CREDENTIALS_MISSING, cloud.DOCTOR_CREDENTIAL_FIX)
    found = ", ".join(env + files)
    command = cloud.DOCTOR_IDENTITY_COMMAND
    if command is None:
        return Check(name, "not checked", f"found {found} (not verified)")
    if shutil.which(command[0]) and (identity := _run(list(command))):
        return Check(name, "ok", identity)
    return Check(name, "not checked", f"found {found}; could not verify them (offline, expired, or no {command[0]} CLI)")


def _run(args: list[str]) -> str | None:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
