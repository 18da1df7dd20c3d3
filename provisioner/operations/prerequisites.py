"""One-time prerequisites of a first deploy that a stack's program cannot create itself.

Azure: every resource type belongs to a resource provider (`Microsoft.ContainerService`,
`Microsoft.Storage`, ...) that must be registered in the subscription before the first
resource of its namespace is created there. The portal and the az CLI register them on
the fly; azure-native's direct REST calls do not, so the first deploy into a fresh
subscription fails with `MissingSubscriptionRegistration`. azure-native has no resource
for a registration, so `recipe deploy` reads the registration state with the user's az
CLI and, with their consent (asked, or `--yes`), registers the missing providers and
waits for them, bounded in time.

GCP: the program enables the APIs it needs itself (`recipes/gcp/apis.py`), through the
Service Usage and Resource Manager APIs (`BOOTSTRAP_APIS`), which cannot enable
themselves in the same deploy. `recipe deploy` checks them with gcloud and, when one is
off, stops before anything is recorded with the one command that turns them on.

Everything here only reads, except `register_azure`. A missing CLI (or one that cannot
answer: not logged in, offline) skips the check with a note: a deploy that then meets the
missing prerequisite fails with the cloud's own error, which the engine explains with the
same commands (`provisioner.engine.pulumi.messages.prerequisite_hint`). `recipe doctor` shows the same
state without changing anything (`azure_providers_state`, `gcp_bootstrap_state`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from recipes.spec import COMPONENTS, StackSpec

FAILED, BAD_INPUT, NEEDS_CONFIRMATION = 1, 2, 3  # the CLI's exit codes

# --------------------------------------------------------------------------
# Azure resource providers, as data: what an Azure stack needs registered

# The namespace of each resource type recipes/azure declares (`azure-native:<module>:<Type>`:
# authorization -> Microsoft.Authorization, ...), by the component or option that declares
# it, plus what AKS creates on its own in the node resource group (scale sets and disks:
# Microsoft.Compute; load balancer and public IP: Microsoft.Network).
# Microsoft.Resources (resource groups) is not listed: it is built into every subscription
# and cannot be unregistered.
AZURE_PROVIDERS_ALWAYS: tuple[str, ...] = (
    "Microsoft.Authorization",  # role assignments, in every stack; registered by default, checked anyway
)
AZURE_PROVIDERS_BY_COMPONENT: dict[str, tuple[str, ...]] = {
    "cluster": ("Microsoft.ContainerService", "Microsoft.Network", "Microsoft.Compute", "Microsoft.ManagedIdentity"),
    "bucket": ("Microsoft.Storage",),
    "registry": ("Microsoft.ContainerRegistry",),
    "tracker": ("Microsoft.ManagedIdentity",),  # its workload identity and federated credential
    "deployer": (),
}
AZURE_PROVIDERS_BY_OPTION: dict[str, tuple[str, ...]] = {
    "kms": ("Microsoft.KeyVault", "Microsoft.ManagedIdentity"),  # the vault, the key, the identity that uses it
}

AZ_QUERY = "[].{namespace:namespace, state:registrationState}"
AZ_TIMEOUT_SECONDS = 120  # one az call (az is slow to start, and lists every provider)
REGISTER_TIMEOUT_SECONDS = 15 * 60  # waiting for registrations: usually 1-5 minutes
POLL_SECONDS = 10
NOTICE_SECONDS = 60  # how often the wait says what it still waits for
GCLOUD_TIMEOUT_SECONDS = 60


def azure_providers(components: Iterable[str] = COMPONENTS, kms: bool = False) -> tuple[str, ...]:
    """The resource providers a stack of `components` (and --kms) needs, each once, in a stable order."""
    wanted = [*AZURE_PROVIDERS_ALWAYS]
    wanted += [p for c in components for p in AZURE_PROVIDERS_BY_COMPONENT.get(c, ())]
    wanted += AZURE_PROVIDERS_BY_OPTION["kms"] if kms else ()
    return tuple(dict.fromkeys(wanted))


def azure_subscription() -> str | None:
    """The subscription azure-native deploys into when set explicitly; None: az's default one."""
    return (os.environ.get("ARM_SUBSCRIPTION_ID") or "").strip() or None


def register_command(namespace: str, subscription: str | None) -> str:
    return f"az provider register --namespace {namespace} --wait" + (f" --subscription {subscription}" if subscription else "")


class Unavailable(Exception):
    """The cloud's CLI is missing or could not answer: the check cannot be made."""

    def __init__(self, message: str, output: str = ""):
        super().__init__(message)
        self.output = output  # the CLI's stderr, for what it says about the cloud


class Blocked(Exception):
    """The deploy must stop: `code` is the CLI's exit code; the lines are already said."""

    def __init__(self, code: int, message: str, commands: list[str]):
        super().__init__(message)
        self.code, self.message, self.commands = code, message, commands


@dataclass
class AzureProviders:
    """The registration state of the providers a stack needs, in one subscription."""

    subscription: str | None  # None: az's default subscription
    states: dict[str, str]  # namespace -> registrationState (NotRegistered when az does not list it)

    def _with(self, *states: str) -> list[str]:
        return [n for n, s in self.states.items() if s.lower() in states]

    @property
    def registered(self) -> list[str]:
        return self._with("registered")

    @property
    def registering(self) -> list[str]:
        """Registrations under way (started by someone): only waited for."""
        return self._with("registering")

    @property
    def missing(self) -> list[str]:
        return [n for n in self.states if n not in self.registered and n not in self.registering]

    @property
    def where(self) -> str:
        return f"subscription {self.subscription}" if self.subscription else "the az CLI's default subscription"

    def commands(self) -> list[str]:
        return [register_command(n, self.subscription) for n in self.missing]


def _which(command: str) -> str:
    path = shutil.which(command)
    if not path:
        raise Unavailable(f"{command} CLI not found")
    return path


def _run(args: list[str], name: str, timeout: float) -> str:
    """The stdout of a successful run of the CLI `name` (args[0] is its path)."""
    shown = " ".join([name, *args[1:3]])
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise Unavailable(f"`{shown}` did not answer within {timeout:g} s") from None
    except OSError as exc:
        raise Unavailable(f"could not run {name}: {exc}") from None
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr or "").splitlines() if line.strip()]
        first = next((line for line in lines if "error" in line.lower()), lines[0] if lines else f"exit code {done.returncode}")
        raise Unavailable(f"`{shown}` failed: {first[:300]}", done.stderr or "")
    return done.stdout


def azure_providers_state(namespaces: Iterable[str], subscription: str | None = None, *,
                          timeout: float = AZ_TIMEOUT_SECONDS) -> AzureProviders:
    """Reads (never changes) the registration state of `namespaces` with `az provider list`."""
    az = _which("az")
    args = [az, "provider", "list", "--query", AZ_QUERY, "-o", "json"]
    out = _run(args + (["--subscription", subscription] if subscription else []), "az", timeout)
    try:
        listed = {str(p["namespace"]).lower(): str(p.get("state") or "NotRegistered") for p in json.loads(out)}
    except (ValueError, TypeError, KeyError, AttributeError):
        raise Unavailable("`az provider list` answered something other than the expected JSON list") from None
    return AzureProviders(subscription, {n: listed.get(n.lower(), "NotRegistered") for n in namespaces})


def register_azure(found: AzureProviders, *, say: Callable[[str], None], timeout: float | None = None,
                   poll: float | None = None) -> AzureProviders:
    """Registers the missing providers and waits until every needed one is registered, at most
    `timeout` seconds (default REGISTER_TIMEOUT_SECONDS), looking every `poll` (POLL_SECONDS)."""
    az = _which("az")
    timeout = REGISTER_TIMEOUT_SECONDS if timeout is None else timeout
    poll = POLL_SECONDS if poll is None else poll
    subscription = ["--subscription", found.subscription] if found.subscription else []
    for namespace in found.missing:
        say(f"registering resource provider {namespace} in {found.where} ...")
        try:
            _run([az, "provider", "register", "--namespace", namespace, *subscription], "az", AZ_TIMEOUT_SECONDS)
        except Unavailable as exc:
            # E.g. AuthorizationFailed: registering needs `*/register/action` on the subscription.
            raise _failed(say, f"could not register {namespace} ({exc}); nothing deployed. Someone allowed to "
                          "register resource providers in the subscription can run", found.commands()) from None
    pending = [*found.missing, *found.registering]
    say(f"waiting for {', '.join(pending)} to be registered (usually 1-5 minutes; at most {timeout / 60:g} min) ...")
    start = time.monotonic()
    deadline, next_notice = start + timeout, start + NOTICE_SECONDS
    while True:
        try:
            now = azure_providers_state(found.states, found.subscription)
        except Unavailable as exc:
            raise _failed(say, f"could not follow the registration of {', '.join(pending)} ({exc}); nothing deployed. "
                          "Check it, then re-run the same command", [register_command(n, found.subscription) for n in pending]) from None
        for namespace in [n for n in pending if n in now.registered]:
            say(f"registered {namespace}")
        pending = [n for n in pending if n not in now.registered]
        if not pending:
            return now
        if time.monotonic() >= next_notice:
            say(f"still waiting for {', '.join(pending)} ({time.monotonic() - start:.0f} s)")
            next_notice = time.monotonic() + NOTICE_SECONDS
        if time.monotonic() >= deadline:
            raise _failed(say, f"{', '.join(pending)} still not registered after {timeout / 60:g} min; nothing deployed. "
                          "Re-run the same command once `az provider show --namespace NAMESPACE` says Registered; or wait with",
                          [register_command(n, found.subscription) for n in pending])
        time.sleep(poll)


def _failed(say: Callable[[str], None], message: str, commands: list[str]) -> Blocked:
    say(f"error: {message}:")
    for command in commands:
        say(f"  {command}")
    return Blocked(FAILED, message, commands)


# --------------------------------------------------------------------------
# GCP bootstrap APIs

def gcp_bootstrap_apis() -> tuple[str, ...]:
    from recipes.gcp.apis import BOOTSTRAP_APIS

    return BOOTSTRAP_APIS


def gcp_enable_command(project: str) -> str:
    return f"gcloud services enable {' '.join(gcp_bootstrap_apis())} --project {project}"


@dataclass
class GcpBootstrap:
    project: str
    missing: list[str]  # bootstrap APIs that are off

    @property
    def command(self) -> str:
        return gcp_enable_command(self.project)


def _says_disabled(output: str, api: str) -> bool:
    """gcloud's error when the API it calls is off in the project (quota project) it bills."""
    text = output.lower()
    return api in text and ("service_disabled" in text or "has not been used in project" in text or "is disabled" in text)


def gcp_bootstrap_state(project: str, *, timeout: float = GCLOUD_TIMEOUT_SECONDS) -> GcpBootstrap:
    """Reads (never changes) which bootstrap APIs are off in `project`, with `gcloud services list`."""
    gcloud = _which("gcloud")
    apis = gcp_bootstrap_apis()
    args = [gcloud, "services", "list", "--enabled", "--project", project, "--format=json"]
    try:
        out = _run(args, "gcloud", timeout)
    except Unavailable as exc:
        # Listing goes through Service Usage itself: off in the project it bills, it says so.
        off = [api for api in apis if _says_disabled(exc.output, api)]
        if off:
            return GcpBootstrap(project, off)
        raise
    try:
        enabled = set()
        for service in json.loads(out or "[]"):
            name = (service.get("config") or {}).get("name") or str(service.get("name", "")).rsplit("/", 1)[-1]
            if str(service.get("state", "ENABLED")).upper() == "ENABLED":
                enabled.add(name)
    except (ValueError, TypeError, AttributeError):
        raise Unavailable("`gcloud services list` answered something other than the expected JSON list") from None
    return GcpBootstrap(project, [api for api in apis if api not in enabled])


# --------------------------------------------------------------------------
# Before a deploy

def preflight(spec: StackSpec, *, yes: bool, interactive: bool, say: Callable[[str], None],
              ask: Callable[[str], bool]) -> None:
    """Checks the cloud's one-time prerequisites of `spec`, fixes what the user consents to,
    and raises Blocked when the deploy cannot go on. `say` prints a line on stderr, `ask`
    asks a yes/no question."""
    if spec.provider == "azure":
        _azure(spec, yes=yes, interactive=interactive, say=say, ask=ask)
    elif spec.provider == "gcp" and spec.project:
        _gcp(spec.project, say=say)


def _azure(spec: StackSpec, *, yes: bool, interactive: bool, say: Callable[[str], None], ask: Callable[[str], bool]) -> None:
    needed = azure_providers(spec.components, kms=spec.kms)
    subscription = azure_subscription()
    try:
        found = azure_providers_state(needed, subscription)
    except Unavailable as exc:
        say(f"note: could not check the Azure resource providers this stack needs ({exc}); if the deploy fails with "
            f"MissingSubscriptionRegistration, register the one it names (once per subscription): "
            f"{register_command('NAMESPACE', subscription)}")
        return
    if found.missing:
        what = ", ".join(found.missing)
        commands = found.commands()
        if not yes and not interactive:
            message = (f"{found.where} has not registered the resource providers this stack needs: {what}; "
                       "pass --yes to register them (once per subscription), or register them yourself")
            say(f"error: {message}:")
            for command in commands:
                say(f"  {command}")
            raise Blocked(NEEDS_CONFIRMATION, message, commands)
        if not yes and not ask(f"{found.where} has not registered the resource providers this stack needs: {what}. "
                               "Register them now (once per subscription; this takes a few minutes)?"):
            say("nothing done; register them yourself, then re-run the same command:")
            for command in commands:
                say(f"  {command}")
            raise Blocked(NEEDS_CONFIRMATION, "not confirmed: nothing done", commands)
    if found.missing or found.registering:
        register_azure(found, say=say)


def _gcp(project: str, *, say: Callable[[str], None]) -> None:
    apis = gcp_bootstrap_apis()
    try:
        found = gcp_bootstrap_state(project)
    except Unavailable as exc:
        say(f"note: could not check that {' and '.join(apis)} are enabled in project {project} ({exc}); if the deploy "
            f"fails with SERVICE_DISABLED for one of them, run: {gcp_enable_command(project)}")
        return
    if found.missing:
        off = ", ".join(found.missing)
        message = (f"{off} {'is' if len(found.missing) == 1 else 'are'} off in project {project}: the deploy enables "
                   f"every other API it needs through {' and '.join(apis)}, so both must be on first")
        say(f"error: {message}. Turn them on (once per project), then re-run the same command:")
        say(f"  {found.command}")
        say("Nothing was deployed.")
        raise Blocked(BAD_INPUT, message, [found.command])
