"""`recipe doctor`: is this machine ready to deploy? Never a traceback, never a hang.

Credential checks look for credentials locally and, where the cloud's CLI is
installed, ask it who we are with a short timeout; anything that fails or
needs the network we cannot reach is reported as "not checked". The one-time
cloud prerequisites of a first deploy (Azure resource providers, GCP bootstrap
APIs: provisioner/operations/prerequisites.py) are read the same way, never changed.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

PACKAGES = ("stack-recipes", "pulumi", "pulumi-aws", "pulumi-gcp", "pulumi-azure-native", "pulumi-kubernetes",
            "pulumi-random", "typer", "rich")
TIMEOUT_SECONDS = 8


@dataclass
class Check:
    name: str
    status: str  # ok, missing, warning, not checked
    detail: str
    fix: str | None = None

    def to_json(self) -> dict:
        return asdict(self)


def run_checks(*, install_pulumi: bool = False) -> list[Check]:
    checks = [Check("python", "ok", platform.python_version())]
    for package in PACKAGES:
        try:
            checks.append(Check(package, "ok", metadata.version(package)))
        except metadata.PackageNotFoundError:
            checks.append(Check(package, "missing", "not installed", "pip install -e ."))
    checks.append(_pulumi_cli(install_pulumi))
    checks.append(_tool("aws CLI", "aws", "needed by kubeconfigs of EKS clusters (aws eks get-token)",
                        "https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html"))
    checks.append(_tool("gcloud CLI", "gcloud", "needed for gcp stacks (credentials, project)",
                        "https://cloud.google.com/sdk/docs/install"))
    checks.append(_tool("gke-gcloud-auth-plugin", "gke-gcloud-auth-plugin", "needed by kubeconfigs of GKE clusters",
                        "gcloud components install gke-gcloud-auth-plugin"))
    checks.append(_tool("az CLI", "az", "needed for azure stacks (credentials, subscription)",
                        "https://learn.microsoft.com/cli/azure/install-azure-cli"))
    checks.append(_tool("kubelogin", "kubelogin", "needed by kubeconfigs of AKS clusters (Entra ID sign-in)",
                        "az aks install-cli"))
    checks.append(_tool("kubectl", "kubectl", "optional: to look inside the cluster", "https://kubernetes.io/docs/tasks/tools/"))
    checks.append(_aws_credentials())
    checks.append(_file_credentials("gcp credentials", ["GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CREDENTIALS"],
                                    [Path.home() / ".config/gcloud/application_default_credentials.json"],
                                    "gcloud auth application-default login"))
    checks.append(_file_credentials("azure credentials", ["AZURE_CLIENT_ID", "ARM_CLIENT_ID"],
                                    [Path.home() / ".azure/msal_token_cache.json", Path.home() / ".azure/azureProfile.json"],
                                    "az login"))
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
    from provisioner.engine import EngineError, find_pulumi_cli, install_pulumi_cli

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


def _aws_credentials() -> Check:
    env = [k for k in ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI") if os.environ.get(k)]
    files = [p for p in (Path.home() / ".aws/credentials", Path.home() / ".aws/config") if p.exists()]
    if not env and not files:
        return Check("aws credentials", "missing", "no AWS credentials in the environment or ~/.aws", "aws configure (or aws sso login)")
    found = ", ".join(env + [str(p) for p in files])
    if shutil.which("aws"):
        identity = _run(["aws", "sts", "get-caller-identity", "--query", "Arn", "--output", "text"])
        if identity:
            return Check("aws credentials", "ok", identity)
    return Check("aws credentials", "not checked", f"found {found}; could not verify them (offline, expired, or no aws CLI)")


def _file_credentials(name: str, env_names: list[str], files: list[Path], fix: str) -> Check:
    env = [k for k in env_names if os.environ.get(k)]
    present = [str(p) for p in files if p.exists()]
    if env or present:
        return Check(name, "not checked", f"found {', '.join(env + present)} (not verified)")
    return Check(name, "missing", "none found", fix)


def _run(args: list[str]) -> str | None:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
