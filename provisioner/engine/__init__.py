"""The engine seam: everything that provisions goes through `Engine`.

`PulumiEngine` drives the Pulumi Automation API with an inline program that
calls `recipes.build(spec)`. Tests replace it with a fake at this seam only;
the CLI, registry and display never see Pulumi types, only `EngineEvent`s and
the results below.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import json
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlparse

from recipes import naming
from recipes.errors import RecipeError
from recipes.spec import StackSpec

from provisioner import paths

if TYPE_CHECKING:  # only for annotations: importing the Automation API is slow
    from pulumi.automation import PulumiCommand, Stack

PROJECT = "stack-recipes"


@dataclass(frozen=True)
class StackTarget:
    """One recipe stack = one Pulumi stack in one backend."""

    spec: StackSpec
    backend: str  # file://..., s3://..., gs://..., azblob://..., https://api.pulumi.com

    @property
    def stack_name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class EngineEvent:
    """A provider-neutral progress event.

    kind: "start" (an operation on a resource began), "done", "failed",
    "diagnostic" (a message, possibly about a resource), "summary".
    op: create, update, replace, delete, same, read, refresh, ...
    """

    kind: str
    urn: str | None = None
    type: str | None = None
    name: str | None = None
    op: str | None = None
    message: str | None = None
    severity: str | None = None  # info, warning, error
    counts: dict[str, int] | None = None
    diffs: tuple[str, ...] = ()  # properties that changed (what a refresh found drifted)
    timestamp: float = field(default_factory=time.time)

    def describe(self) -> str:
        """One line for records and messages: "create aws:eks/cluster:Cluster cluster"."""
        if self.kind in ("start", "done", "failed") and self.urn:
            verb = {"start": "", "done": "done: ", "failed": "failed: "}[self.kind]
            return f"{verb}{self.op or ''} {self.type or ''} {self.name or ''}".strip()
        if self.kind == "diagnostic":
            return f"{self.severity or 'info'}: {(self.message or '').splitlines()[0] if self.message else ''}"
        return self.kind


OnEvent = Callable[[EngineEvent], None]


@dataclass
class Changes:
    """How many resources each operation touched (or would touch, for a preview)."""

    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total_changes(self) -> int:
        return sum(v for k, v in self.counts.items() if k != "same")

    def to_json(self) -> dict[str, int]:
        """The operations that happened, with their counts (none with zero)."""
        return {op: n for op, n in self.counts.items() if n}

    def pending_summary(self) -> str:
        """What a preview would do, in words: "3 to create, 1 to update", or "no changes"."""
        parts = [f"{n} to {op}" for op, n in sorted(self.counts.items()) if op != "same" and n]
        return ", ".join(parts) or "no changes"


@dataclass
class UpResult:
    outputs: dict[str, Any]  # canonical outputs, secrets in plaintext: never store as is
    changes: Changes


@dataclass(frozen=True)
class RetainedResource:
    """A resource destroy left in the cloud on purpose (retain_on_delete)."""

    type: str
    name: str  # logical name in the program
    id: str  # physical id: bucket name, repository name, ...
    primary: bool  # the data resource itself, not one of its settings

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "id": self.id, "primary": self.primary}


@dataclass
class DestroyResult:
    retained: list[RetainedResource]
    changes: Changes
    backup_id: str | None = None  # the run-history backup taken first (provisioner.engine.run_history)


@dataclass(frozen=True)
class PendingOperation:
    """An operation Pulumi started and never saw finish (the process was killed):
    the resource may or may not exist in the cloud."""

    type: str
    name: str
    urn: str
    operation: str  # creating, updating, deleting, reading
    inputs: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # what it was created with
    parent: str | None = None
    # A pending create whose cloud name follows from its inputs: the provider id it has if it
    # was created, so that `recipe repair` adopts it instead of leaving a billed orphan.
    adopt_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "urn": self.urn, "operation": self.operation, "adopt_id": self.adopt_id}


class EngineError(RecipeError):
    """An operation failed; `message` is for the user, `resource` is the failing one if known."""

    def __init__(self, message: str, *, resource: str | None = None, diagnostics: list[str] | None = None):
        super().__init__(message)
        self.resource = resource
        self.diagnostics = diagnostics or []


class PulumiNotFound(EngineError):
    """The Pulumi CLI is not installed where we look for it."""


class ConcurrentUpdate(EngineError):
    """Another process holds the stack's lock."""


class PassphraseError(EngineError):
    """The state's secrets cannot be decrypted with the passphrase we have."""


class Engine(Protocol):
    def preview(self, target: StackTarget, on_event: OnEvent) -> Changes: ...

    def up(self, target: StackTarget, on_event: OnEvent) -> UpResult: ...

    def destroy(
        self, target: StackTarget, on_event: OnEvent, *, delete_data: bool = False, cluster_gone: bool = False
    ) -> DestroyResult: ...

    def refresh(self, target: StackTarget, on_event: OnEvent, *, clear_pending_creates: bool = False,
                import_pending_creates: Mapping[str, str] | None = None) -> Changes: ...

    def backup(self, target: StackTarget, on_event: OnEvent, backup_id: str) -> bool:
        """Back up the tracker's run history to the bucket (False: no tracker to back up)."""
        ...

    def pending_operations(self, target: StackTarget) -> list[PendingOperation]: ...

    def outputs(self, target: StackTarget) -> dict[str, Any]: ...

    def cancel(self, target: StackTarget) -> None: ...

    def assigned_suffix(self, target: StackTarget) -> str | None:
        """The global-name suffix of the stack's existing Pulumi stack in the backend (a
        teammate's deploy, or this machine's before its registry was lost); None when the
        backend holds no such stack, or one with no resources."""
        ...


# ==========================================================================
# PulumiEngine: the Engine on top of the Pulumi Automation API.
#
# Nothing below imports `pulumi.automation` (or a provider SDK) at module
# import time: the CLI must start fast, and `recipe plan` must work without
# the Pulumi CLI installed.

# Inline programs for refresh and destroy (`--client`) need Pulumi CLI 3.181+.
MIN_PULUMI_VERSION = "3.181.0"
PULUMI_INSTALL_URL = "https://www.pulumi.com/docs/install/"
PASSPHRASE_ENV = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")
PROJECT_DESCRIPTION = "MLOps stacks deployed by the stack-recipes `recipe` CLI"
# The stack's global-name suffix, in its Pulumi config (see recipes/naming.py).
SUFFIX_CONFIG = "recipe:suffix"
DELETE_UNREACHABLE_ENV = "PULUMI_K8S_DELETE_UNREACHABLE"

# The resource plugins each provider's program uses. The plugin for `x` comes
# from the Python SDK distribution `pulumi_x` (`-` becomes `_`), at that SDK's version,
# except community plugins published elsewhere (PLUGIN_SOURCES: their SDK and server).
PLUGINS: dict[str, tuple[str, ...]] = {
    "aws": ("aws", "kubernetes", "random"),
    "gcp": ("gcp", "kubernetes", "random", "time"),
    "azure": ("azure-native", "kubernetes", "random", "time"),
}
PLUGIN_SOURCES: dict[str, tuple[str, str]] = {
    "time": ("pulumiverse_time", "github://api.github.com/pulumiverse/pulumi-time"),  # recipes/propagation.py
}

MAX_MESSAGE_LINES = 15
_MAX_LINE_CHARS = 400

_ANSI_RE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_RAW_COLOR_RE = re.compile(r"<\{%[^%]*%\}>")  # Pulumi's own color tags (--color raw)
_GO_SOURCE_PREFIX_RE = re.compile(r"^\S+\.go:\d+:\s*(?:sdk\.helper_schema:\s*)?")
_GENERIC_FAILURE_RE = re.compile(r"^(?:error:\s*)?(?:update|preview|destroy|refresh|import) failed\.?$", re.I)
_STACK_TYPE = "pulumi:pulumi:Stack"


def _pulumi_not_found(detail: str = "") -> PulumiNotFound:
    lead = detail or "the Pulumi CLI was not found (looked on PATH and in ~/.pulumi)"
    return PulumiNotFound(
        f"{lead}.\n"
        "The Pulumi CLI is needed for deploy, preview and destroy; `recipe plan` works without it.\n"
        f"Install it with `recipe doctor --install-pulumi`, or see {PULUMI_INSTALL_URL}"
    )


def _cli_name() -> str:
    return "pulumi.exe" if os.name == "nt" else "pulumi"


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _version_key(text: str) -> tuple[int, tuple[int, ...], str]:
    """Sort key for ~/.pulumi/versions/<version> directory names (v-prefix and pre-releases allowed)."""
    match = re.match(r"^v?(\d+)\.(\d+)\.(\d+)(.*)$", text)
    if not match:
        return (0, (), text)
    numbers = tuple(int(match.group(i)) for i in (1, 2, 3))
    # A release sorts after its own pre-releases.
    return (1, numbers + ((1,) if not match.group(4) else (0,)), match.group(4))


def _cli_candidates() -> list[tuple[str, str | None]]:
    """Every Pulumi CLI we could use, best first, as (binary path, root for PulumiCommand or None for PATH)."""
    found: list[tuple[str, str | None]] = []
    on_path = shutil.which("pulumi")
    if on_path:
        found.append((on_path, None))
    home = Path(os.path.expanduser("~")) / ".pulumi"
    binary = home / "bin" / _cli_name()
    if _is_executable(binary):
        found.append((str(binary), str(home)))
    versions = home / "versions"
    if versions.is_dir():
        for root in sorted(versions.iterdir(), key=lambda p: _version_key(p.name), reverse=True):
            binary = root / "bin" / _cli_name()
            if _is_executable(binary):
                found.append((str(binary), str(root)))
    return found


def find_pulumi_cli() -> str | None:
    """The Pulumi CLI binary we would use: PATH, then ~/.pulumi/bin, then the newest ~/.pulumi/versions/*."""
    candidates = _cli_candidates()
    return candidates[0][0] if candidates else None


def default_pulumi_command() -> PulumiCommand:
    """A PulumiCommand for the first usable CLI; PulumiNotFound when there is none (or all are too old).

    A GracefulPulumiCommand: Ctrl-C and SIGTERM let the CLI save its state and release its lock.
    """
    from pulumi.automation import InvalidVersionError
    from semver import VersionInfo

    from provisioner.engine.pulumi.process import GracefulPulumiCommand

    minimum = VersionInfo.parse(MIN_PULUMI_VERSION)
    problems: list[str] = []
    for binary, root in _cli_candidates():
        try:
            if root is None:
                return GracefulPulumiCommand(version=minimum)
            return GracefulPulumiCommand(root=root, version=minimum)
        except FileNotFoundError:  # gone since we looked
            continue
        except InvalidVersionError as exc:  # too old (or a different major version)
            problems.append(f"{binary}: {exc}")
        except Exception as exc:  # noqa: BLE001 - not executable, `pulumi version` failed: try the next one
            problems.append(f"{binary}: {exc}")
    if problems:
        detail = "no usable Pulumi CLI (at least " + MIN_PULUMI_VERSION + " is needed):\n  " + "\n  ".join(problems[:3])
        raise _pulumi_not_found(detail)
    raise _pulumi_not_found()


def install_pulumi_cli() -> str:
    """Download the Pulumi CLI matching the installed SDK into ~/.pulumi/versions/<version>.

    For `recipe doctor --install-pulumi`. Returns "Pulumi CLI <version> at <path>".
    """
    from pulumi.automation import PulumiCommand

    try:
        command = PulumiCommand.install()
    except Exception as exc:  # noqa: BLE001 - network, permissions, installer failures
        lines = _clean_lines(str(exc))[-5:]
        raise EngineError(
            "could not install the Pulumi CLI: " + ("\n  ".join(lines) or type(exc).__name__)
            + f"\nInstall it by hand instead: {PULUMI_INSTALL_URL}"
        ) from exc
    version = f"v{command.version}" if command.version else "(unknown version)"
    return f"Pulumi CLI {version} at {command.command}"


# --------------------------------------------------------------------------
# Secrets passphrase

def _read_passphrase(path: Path) -> str:
    value = path.read_text(encoding="utf-8").rstrip("\r\n")
    if not value:
        raise EngineError(
            f"the passphrase file {path} is empty; restore it from a backup, "
            "or set PULUMI_CONFIG_PASSPHRASE to the passphrase your stacks were created with"
        )
    return value


def ensure_passphrase() -> dict[str, str]:
    """The environment that gives Pulumi the secrets passphrase.

    PULUMI_CONFIG_PASSPHRASE / PULUMI_CONFIG_PASSPHRASE_FILE from the environment win.
    Otherwise the passphrase lives in `paths.passphrase_file()`: generated once,
    written atomically with mode 0600, never overwritten.
    """
    from_env = {name: os.environ[name] for name in PASSPHRASE_ENV if name in os.environ}
    if from_env:
        return from_env

    path = paths.passphrase_file()
    if path.exists():
        return {"PULUMI_CONFIG_PASSPHRASE": _read_passphrase(path)}
    # Never generate a new passphrase where stacks were created with an old one:
    # it could not read their state, and would hide that the old one is lost.
    existing = sorted(p.parent.name for p in paths.data_dir().glob("workspaces/*/Pulumi.*.yaml")
                      if "encryptionsalt" in p.read_text(encoding="utf-8", errors="ignore"))
    if existing:
        raise PassphraseError(
            f"the passphrase file {path} is missing, but stacks were created with it ({', '.join(existing)}). "
            "Restore the file from a backup, or set PULUMI_CONFIG_PASSPHRASE to that passphrase; "
            "a new one would not decrypt their state."
        )

    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    fd, temp_name = tempfile.mkstemp(prefix=".passphrase-", dir=path.parent)  # O_EXCL, mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), 0o600)
            handle.write(value)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            # link() never replaces an existing file: a concurrent first run keeps its passphrase.
            os.link(temp_name, path)
        except FileExistsError:
            pass
        except OSError:  # no hard links on this filesystem
            if not path.exists():
                os.replace(temp_name, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
    if hasattr(os, "O_DIRECTORY"):
        with contextlib.suppress(OSError):
            dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    return {"PULUMI_CONFIG_PASSPHRASE": _read_passphrase(path)}


# --------------------------------------------------------------------------
# Backends, plugins, programs

def backend_local_dir(backend: str) -> Path | None:
    """The directory of a file:// backend (file://~/x, file:///abs/x), None for other backends."""
    if not backend.startswith("file://"):
        return None
    rest = backend[len("file://"):]
    if rest.startswith("~"):
        return Path(os.path.expanduser(unquote(rest.split("?", 1)[0])))
    parsed = urlparse(backend)
    local = unquote(parsed.path)
    if parsed.netloc and parsed.netloc not in ("localhost",):
        local = unquote(parsed.netloc) + local  # file://relative/dir
    if os.name == "nt" and re.match(r"^/[A-Za-z]:", local):
        local = local[1:]
    return Path(local)


def plugin_distribution(plugin: str) -> str:
    """The Python SDK distribution that ships the resource plugin `plugin`."""
    if plugin in PLUGIN_SOURCES:
        return PLUGIN_SOURCES[plugin][0]
    return "pulumi_" + plugin.replace("-", "_")


def plugin_version(plugin: str) -> str:
    """The plugin version ("v1.2.3") matching the installed Python SDK for `plugin`."""
    dist = plugin_distribution(plugin)
    # The SDK's own pulumi-plugin.json is what it registers resources with; found without importing the SDK.
    spec = importlib.util.find_spec(dist)
    for location in (spec.submodule_search_locations or []) if spec else []:
        try:
            data = json.loads((Path(location) / "pulumi-plugin.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("version"):
            return "v" + str(data["version"]).lstrip("v")
    try:
        return "v" + importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        raise EngineError(
            f"the Python package {dist} is not installed; it is needed for the {plugin} resources "
            f"(pip install {dist.replace('_', '-')})"
        ) from None


def required_plugins(provider: str) -> list[tuple[str, str]]:
    """(plugin, "vX.Y.Z") for every resource plugin a `provider` stack needs."""
    try:
        names = PLUGINS[provider]
    except KeyError:
        raise EngineError(f"no Pulumi plugins known for provider {provider!r}") from None
    return [(name, plugin_version(name)) for name in names]


def inline_program(spec: StackSpec) -> Callable[[], None]:
    """The Pulumi program for one stack: `recipes.build(spec)` (which exports the outputs)."""

    def program() -> None:
        import recipes

        recipes.build(spec)

    program.spec = spec  # type: ignore[attr-defined]  # which stack this declares, for debugging
    program.__qualname__ = program.__name__ = f"recipe_{spec.name.replace('-', '_')}"
    return program


# --------------------------------------------------------------------------
# Events

def strip_ansi(text: str) -> str:
    return _RAW_COLOR_RE.sub("", _ANSI_RE.sub("", text))


def urn_name(urn: str) -> str:
    """The logical name in a URN (urn:pulumi:stack::project::type::name)."""
    return urn.split("::", 3)[-1] if urn else urn


def urn_type(urn: str) -> str:
    """The resource type in a URN (the last `$` part of the qualified type)."""
    parts = urn.split("::", 3)
    return parts[2].rsplit("$", 1)[-1] if len(parts) == 4 else ""


def _op_name(op: Any) -> str | None:
    if op is None:
        return None
    return str(getattr(op, "value", op)).lower() or None


def _counts(changes: Mapping[Any, Any] | None) -> dict[str, int]:
    return {str(_op_name(op)): int(count) for op, count in (changes or {}).items()}


def translate_event(event: Any) -> EngineEvent | None:
    """An Automation API engine event as an EngineEvent; None for the kinds we do not report."""
    step = None
    kind = None
    if event.resource_pre_event is not None:
        kind, step = "start", event.resource_pre_event.metadata
    elif event.res_outputs_event is not None:
        kind, step = "done", event.res_outputs_event.metadata
    elif event.res_op_failed_event is not None:
        kind, step = "failed", event.res_op_failed_event.metadata
    if step is not None:
        urn = step.urn or None
        return EngineEvent(
            kind=kind, urn=urn, type=step.type or (urn_type(urn) if urn else None),
            name=urn_name(urn) if urn else None, op=_op_name(step.op),
            diffs=tuple(getattr(step, "diffs", None) or ()),
        )
    if event.diagnostic_event is not None:
        diag = event.diagnostic_event
        severity = (diag.severity or "info").split("#", 1)[0]  # "info#err" is info written to stderr
        message = strip_ansi(diag.message or "").rstrip()
        if not message.strip() or (diag.ephemeral and severity == "info"):
            return None  # blank lines and transient progress notes
        urn = diag.urn or None
        return EngineEvent(
            kind="diagnostic", urn=urn, type=urn_type(urn) if urn else None,
            name=urn_name(urn) if urn else None, message=message, severity=severity,
        )
    if event.summary_event is not None:
        return EngineEvent(kind="summary", counts=_counts(event.summary_event.resource_changes))
    return None


class _Operation:
    """One engine operation's event stream: forwards translated events, remembers failures.

    Events arrive on the Automation API's watcher thread (a gRPC server for
    CLI > 3.205, a log-file poller before), which swallows or dies on
    exceptions; an exception from `on_event` is kept and re-raised by the
    engine once the operation is over.
    """

    def __init__(self, on_event: OnEvent | None):
        self._on_event = on_event
        self._lock = threading.Lock()
        self.failed_urn: str | None = None
        self.errors: list[tuple[str | None, str]] = []  # (urn, message) of error diagnostics
        self.callback_error: Exception | None = None

    def __call__(self, auto_event: Any) -> None:
        with self._lock:
            try:
                event = translate_event(auto_event)
                if event is None:
                    return
                if event.kind == "failed":
                    self.failed_urn = event.urn
                elif event.kind == "diagnostic" and event.severity == "error" and event.message:
                    self.errors.append((event.urn, event.message))
                if self.callback_error is None and self._on_event is not None:
                    self._on_event(event)
            except Exception as exc:  # noqa: BLE001 - re-raised by the engine after the operation
                if self.callback_error is None:
                    self.callback_error = exc

    @property
    def resource(self) -> str | None:
        if self.failed_urn:
            return self.failed_urn
        for urn, _ in self.errors:
            if urn and urn_type(urn) != _STACK_TYPE:
                return urn
        return None


# --------------------------------------------------------------------------
# Error messages

def _clean_lines(text: str) -> list[str]:
    return [line.rstrip() for line in strip_ansi(text).splitlines() if line.strip()]


def _shorten(line: str) -> str:
    line = _GO_SOURCE_PREFIX_RE.sub("", line.strip())
    return line if len(line) <= _MAX_LINE_CHARS else line[: _MAX_LINE_CHARS - 3] + "..."


def _diagnostic_lines(message: str) -> list[str]:
    """The useful lines of one diagnostic: a Python traceback shrinks to its message and exception."""
    lines = _clean_lines(message)
    for i, line in enumerate(lines):
        if line.strip().startswith("Traceback (most recent call last)"):
            return lines[:i] + lines[-1:]
    return lines


def _command_output(exc: BaseException) -> tuple[str, str]:
    """(stdout, stderr) of an Automation API CommandError (which keeps only their text)."""
    text = str(exc)
    head, sep, stderr = text.rpartition("\n stderr: ")
    if not sep:
        return "", text
    _, sep, stdout = head.partition("\n stdout: ")
    return (stdout if sep else ""), stderr


def _stderr_errors(stderr: str, stdout: str) -> list[str]:
    lines = _clean_lines(stderr)
    errors = [line.strip()[len("error:"):].strip() for line in lines if line.strip().lower().startswith("error:")]
    errors = [line for line in errors if line and not _GENERIC_FAILURE_RE.match(line)] or errors
    if errors:
        return errors
    if lines:
        return [line.strip() for line in lines[-8:]]
    return [line.strip() for line in _clean_lines(stdout)[-8:]]


def _failure_lines(op: _Operation | None, exc: BaseException) -> tuple[list[str], list[str]]:
    """(lines for the message, the error diagnostics) of a failed operation."""
    diagnostics: list[str] = []
    lines: list[str] = []
    if op is not None and op.errors:
        specific = [(u, m) for u, m in op.errors if not _GENERIC_FAILURE_RE.match(m.strip())] or op.errors
        for urn, message in specific:
            diagnostics.append(message)
            prefix = f"{urn_name(urn)}: " if urn and urn_type(urn) != _STACK_TYPE else ""
            body = [_GO_SOURCE_PREFIX_RE.sub("", line.strip()) for line in _diagnostic_lines(message)]
            if not body:
                continue
            if body[0].lower().startswith("error:"):
                body[0] = body[0][len("error:"):].strip()
            lines.append(prefix + body[0])
            lines.extend(body[1:])
    if not lines:
        stdout, stderr = _command_output(exc)
        lines = _stderr_errors(stderr, stdout)
    seen: set[str] = set()
    unique = []
    for line in (_shorten(x) for x in lines):
        if line and line not in seen:
            seen.add(line)
            unique.append(line)
    return unique, diagnostics


def _limit(header: str, lines: list[str]) -> str:
    room = MAX_MESSAGE_LINES - 1
    if len(lines) > room:
        lines = lines[: room - 1] + [f"... ({len(lines) - room + 1} more lines)"]
    return "\n".join([header] + ["  " + line for line in lines])


# --------------------------------------------------------------------------
# Errors people can fix: locks, passphrases, credentials

_LOCK_TIME_RE = re.compile(r"\bat (\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d)?(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)")


def lock_time(text: str) -> str | None:
    """"HH:MM" (UTC, with the date when not today) of the oldest lock in a Pulumi lock error."""
    from datetime import datetime, timezone

    found = []
    for raw in _LOCK_TIME_RE.findall(strip_ansi(text)):
        try:
            found.append(datetime.fromisoformat(raw.replace("Z", "+00:00")))
        except ValueError:
            continue
    if not found:
        return None
    when = min(found).astimezone(timezone.utc)
    same_day = when.date() == datetime.now(timezone.utc).date()
    return when.strftime("%H:%M UTC" if same_day else "%Y-%m-%d %H:%M UTC")


PASSPHRASE_PATTERNS = (
    "incorrect passphrase",
    "passphrase must be set",
    "constructing secrets manager of type \"passphrase\"",
    "failed to decrypt",
)


def passphrase_help(stack: str) -> str:
    return (
        f"the secrets of stack {stack} cannot be decrypted with the passphrase in use. It is read from "
        f"PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) when set, else from {paths.passphrase_file()}, "
        "which was generated when your first stack was created. Set PULUMI_CONFIG_PASSPHRASE to the passphrase "
        "the stack was created with (a teammate's, or your backup of that file); a new passphrase cannot read old state."
    )


CREDENTIAL_PATTERNS = {
    "aws": (("ExpiredToken", "InvalidClientTokenId", "no valid credential sources", "NoCredentialProviders",
             "SignatureDoesNotMatch", "UnrecognizedClientException", "token has expired", "failed to refresh cached credentials"),
            "Your AWS credentials are missing or expired: run `aws sso login` (or `aws configure`), check with "
            "`aws sts get-caller-identity`, then re-run the same command."),
    "gcp": (("invalid_grant", "could not find default credentials", "Reauthentication", "oauth2: cannot fetch token",
             "Request had invalid authentication credentials"),
            "Your Google credentials are missing or expired: run `gcloud auth application-default login`, then re-run "
            "the same command."),
    "azure": (("AADSTS", "az login", "DefaultAzureCredential", "AzureCLICredential", "InvalidAuthenticationToken",
               "ExpiredAuthenticationToken"),
              "Your Azure credentials are missing or expired: run `az login` (and `az account set --subscription ...`), "
              "then re-run the same command."),
}


def _matches(patterns: Iterable[str], lines: Iterable[str]) -> bool:
    text = "\n".join(lines).lower()
    return any(p.lower() in text for p in patterns)


# pulumi-kubernetes, when the cluster's API server cannot be reached.
UNREACHABLE_PATTERNS = ("cluster is unreachable", "failed to read resource state due to unreachable cluster")
UNREACHABLE_HINT = (
    "The cluster's API server is not reachable from this machine: with --private-endpoint run from inside the "
    "stack's network (VPN, peering, bastion); with --allow-cidr check that it includes your current IP (redeploy "
    "with the new one). Nothing was dropped from the state. If the cluster was deleted outside recipe, "
    "`recipe destroy NAME --cluster-gone` removes what is left."
)


# Errors a cloud's one-time prerequisite explains (`recipe deploy` checks them first, see
# provisioner/operations/prerequisites.py, but not without the cloud's CLI). Per provider: the error
# (a regex), what names the missing piece in it (a regex with one group), the command per
# missing piece, and the hint around the commands.
PREREQUISITE_PATTERNS: dict[str, tuple[str, str, str, str]] = {
    "azure": (r"MissingSubscriptionRegistration", r"namespace '([A-Za-z][A-Za-z0-9.]*)'",
              "az provider register --namespace {} --wait",
              "The subscription has not registered a resource provider the stack needs (once per subscription): "
              "run {commands}, then re-run the same command (`recipe doctor` lists them all)."),
    "gcp": (r"(Service Usage|Cloud Resource Manager) API has not been used in project", r"has not been used in project ([\w-]+)",
            "gcloud services enable serviceusage.googleapis.com cloudresourcemanager.googleapis.com --project {}",
            "The project must have the Service Usage and Cloud Resource Manager APIs on before a deploy can enable the "
            "others: run {commands}, then re-run the same command."),
}


def prerequisite_hint(provider: str, lines: list[str]) -> str | None:
    """The commands that fix an error a cloud's one-time prerequisite explains."""
    if provider not in PREREQUISITE_PATTERNS:
        return None
    error, names, command, hint = PREREQUISITE_PATTERNS[provider]
    text = "\n".join(lines)
    if not re.search(error, text, re.IGNORECASE):
        return None
    found = list(dict.fromkeys(re.findall(names, text))) or ["NAME"]
    return hint.format(commands=" and ".join(f"`{command.format(name)}`" for name in found))


def credential_hint(provider: str, lines: list[str]) -> str | None:
    """The fix for an error the cloud's credentials or the cluster's reachability explain."""
    if _matches(UNREACHABLE_PATTERNS, lines):
        return UNREACHABLE_HINT
    if (hint := prerequisite_hint(provider, lines)) is not None:
        return hint
    patterns, hint = CREDENTIAL_PATTERNS.get(provider, ((), ""))
    return hint if patterns and _matches(patterns, lines) else None


# --------------------------------------------------------------------------
# Deployments

def adoptable(pending: list[PendingOperation], deployment: Mapping[str, Any] | None, spec: StackSpec) -> list[PendingOperation]:
    """The pending creates whose cloud id follows from their inputs get it (`adopt_id`)."""
    from provisioner.engine import adoption

    context = adoption.context_of(deployment, spec.provider, {"project": spec.project or "", "region": spec.region})
    return [
        replace(p, adopt_id=adoption.import_id(spec.provider, p.type, p.inputs, context)) if p.operation == "creating" else p
        for p in pending
    ]


def pending_operations(deployment: Mapping[str, Any] | None) -> list[PendingOperation]:
    """Operations an interrupted run left in the state ("pending_operations" of a deployment)."""
    out = []
    for entry in (deployment or {}).get("pending_operations") or []:
        resource = entry.get("resource") or {} if isinstance(entry, Mapping) else {}
        urn = resource.get("urn") or ""
        out.append(PendingOperation(type=resource.get("type") or urn_type(urn), name=urn_name(urn), urn=urn,
                                    operation=str(entry.get("type") or "unknown"),
                                    inputs=dict(resource.get("inputs") or {}), parent=resource.get("parent")))
    return out


# --------------------------------------------------------------------------

class AutomationStack:
    """provisioner.engine.pulumi_stack.PulumiStack on an Automation API stack, inside one
    PulumiEngine operation (whose `_Operation` receives the events)."""

    def __init__(self, stack: Stack, op: _Operation):
        self.stack = stack
        self.op = op

    def up(self, spec: StackSpec, on_event: OnEvent, *, target: list[str] | None = None,
           target_dependents: bool = False) -> tuple[dict[str, Any], dict[str, int]]:
        result = self.stack.up(
            program=inline_program(spec), target=target, target_dependents=True if target_dependents else None,
            on_event=self.op, color="never", suppress_progress=True,
        )
        return {k: v.value for k, v in result.outputs.items()}, _counts(result.summary.resource_changes)

    def destroy(self, on_event: OnEvent, *, target: list[str] | None = None, target_dependents: bool = False,
                exclude_protected: bool = False) -> dict[str, int]:
        result = self.stack.destroy(
            target=target, target_dependents=True if target_dependents else None,
            exclude_protected=True if exclude_protected else None,
            on_event=self.op, color="never", suppress_progress=True,
        )
        return _counts(result.summary.resource_changes)

    def refresh(self, on_event: OnEvent, *, clear_pending_creates: bool = False,
                import_pending_creates: Mapping[str, str] | None = None) -> dict[str, int]:
        if not import_pending_creates:
            result = self.stack.refresh(
                on_event=self.op, color="never", suppress_progress=True,
                clear_pending_creates=True if clear_pending_creates else None,
            )
            return _counts(result.summary.resource_changes)
        # The SDK has no argument for the CLI's --import-pending-creates: the same command line
        # through the stack's own runner (its workspace, backend, passphrase and --stack).
        args = ["refresh", "--yes", "--skip-preview", "--color", "never", "--suppress-progress", "--non-interactive"]
        for urn, provider_id in import_pending_creates.items():
            args += ["--import-pending-creates", urn, "--import-pending-creates", provider_id]
        if clear_pending_creates:
            args.append("--clear-pending-creates")
        self.stack._run_pulumi_cmd_sync(args)  # noqa: SLF001 - see above
        return {"update": len(import_pending_creates)}

    def deployment(self) -> dict[str, Any]:
        return dict(self.stack.export_stack().deployment or {})


# --------------------------------------------------------------------------

class PulumiEngine:
    """The Engine on the Pulumi Automation API: one Pulumi stack per recipe stack.

    `command_factory` makes the `PulumiCommand` (the CLI); by default the CLI
    is found on PATH or in ~/.pulumi, and PulumiNotFound says how to install it.
    """

    def __init__(self, command_factory: Callable[[], PulumiCommand] | None = None):
        self._command_factory = command_factory or default_pulumi_command
        self._cmd: PulumiCommand | None = None
        self._plugins_ready: set[str] = set()

    # --- plumbing -------------------------------------------------------------
    def _command(self) -> PulumiCommand:
        if self._cmd is None:
            try:
                self._cmd = self._command_factory()
            except FileNotFoundError as exc:
                raise _pulumi_not_found() from exc
        return self._cmd

    def _workspace(self, target: StackTarget, extra_env: Mapping[str, str] | None = None):
        """Workspace options for `target`: its own work dir, backend, passphrase and Pulumi CLI."""
        from pulumi import automation as auto

        passphrase = ensure_passphrase()  # first: it creates the data dir 0700 on a first run
        work_dir = paths.workspace_dir(target.stack_name, target.backend)
        work_dir.mkdir(parents=True, exist_ok=True)
        local = backend_local_dir(target.backend)
        if local is not None:
            local.mkdir(parents=True, exist_ok=True)
        env = {"PULUMI_BACKEND_URL": target.backend, "PULUMI_SKIP_UPDATE_CHECK": "true", **passphrase, **(extra_env or {})}
        return auto.LocalWorkspaceOptions(
            work_dir=str(work_dir),
            pulumi_command=self._command(),
            secrets_provider="passphrase",
            env_vars=env,
            project_settings=auto.ProjectSettings(
                name=PROJECT,
                runtime="python",
                main=str(work_dir),  # the default would be whatever directory `recipe` ran in
                description=PROJECT_DESCRIPTION,
                backend=auto.ProjectBackend(url=target.backend),
            ),
        )

    def _stack(self, target: StackTarget, spec: StackSpec | None = None, *, create: bool = True,
               extra_env: Mapping[str, str] | None = None) -> Stack:
        """The Pulumi stack for `target` in its own workspace (created when `create`, else selected)."""
        from pulumi import automation as auto

        spec = spec or target.spec
        if not spec.suffix:  # operations.assign_suffix gives every deployed stack one
            raise EngineError(f"stack {target.stack_name} has no suffix for its global names yet; deploy it with `recipe deploy`")
        init = auto.create_or_select_stack if create else auto.select_stack
        stack = init(stack_name=target.stack_name, project_name=PROJECT, program=inline_program(spec),
                     opts=self._workspace(target, extra_env))
        # Kept in the stack's config too, so a teammate deploying from a shared backend, or
        # this machine after its registry is lost, finds the same global names.
        stack.set_config(SUFFIX_CONFIG, auto.ConfigValue(spec.suffix))
        return stack

    def _existing_stack(self, target: StackTarget) -> Stack | None:
        """The stack in the backend, selected without creating it or writing its config; None if absent."""
        from pulumi import automation as auto

        try:
            return auto.select_stack(stack_name=target.stack_name, project_name=PROJECT,
                                     program=inline_program(target.spec), opts=self._workspace(target))
        except auto.StackNotFoundError:
            return None

    def _ensure_plugins(self, stack: Stack, provider: str) -> None:
        if provider in self._plugins_ready:
            return
        wanted = required_plugins(provider)
        workspace = stack.workspace
        try:
            have = {
                (p.name, (p.version or "").lstrip("v"))
                for p in workspace.list_plugins()
                if p.kind == "resource"
            }
        except (KeyError, ValueError, TypeError):  # a `plugin ls --json` this SDK cannot parse: install anyway
            have = set()
        for name, version in wanted:
            if (name, version.lstrip("v")) in have:
                continue
            try:
                if name in PLUGIN_SOURCES:
                    workspace.install_plugin_from_server(name, version, PLUGIN_SOURCES[name][1])
                else:
                    workspace.install_plugin(name, version)
            except Exception as exc:
                from pulumi.automation import CommandError

                if not isinstance(exc, CommandError):
                    raise
                stdout, stderr = _command_output(exc)
                raise EngineError(
                    _limit(f"could not install the Pulumi {name} plugin {version}:", _stderr_errors(stderr, stdout))
                ) from exc
        self._plugins_ready.add(provider)

    @contextlib.contextmanager
    def _operation(self, target: StackTarget, action: str, on_event: OnEvent | None = None) -> Iterator[_Operation]:
        """Run one operation: Automation API errors become EngineErrors, callback errors are re-raised.

        `action` reads "could not <action>", e.g. "deploy stack {name}".
        """
        from pulumi import automation as auto

        op = _Operation(on_event)
        name = target.stack_name
        what = action.format(name=name)
        try:
            yield op
        except auto.ConcurrentUpdateError as exc:
            _, stderr = _command_output(exc)
            holders = [line.strip() for line in _clean_lines(stderr) if "created by" in line][:3]
            since = lock_time(stderr)
            message = (
                f"stack {name} is being updated by another process{f' since {since}' if since else ''}; "
                f"wait for it to finish, or if that process was killed, run `recipe repair {name} --unlock`"
            )
            if holders:
                message += "\n  lock: " + "\n  lock: ".join(_shorten(h) for h in holders)
            raise self._with_callback_note(ConcurrentUpdate(message), op) from exc
        except auto.StackNotFoundError as exc:
            raise self._with_callback_note(EngineError(f"no Pulumi stack {name} in {target.backend}"), op) from exc
        except auto.CommandError as exc:
            lines, diagnostics = _failure_lines(op, exc)
            if _matches(PASSPHRASE_PATTERNS, lines + [str(exc)]):
                raise self._with_callback_note(PassphraseError(passphrase_help(name)), op) from exc
            message = _limit(f"could not {what}:", lines or [type(exc).__name__])
            hint = credential_hint(target.spec.provider, lines + diagnostics)
            error = EngineError(message + (f"\n{hint}" if hint else ""), resource=op.resource, diagnostics=diagnostics)
            raise self._with_callback_note(error, op) from exc
        except auto.InvalidVersionError as exc:
            raise self._with_callback_note(
                _pulumi_not_found(f"could not {what}: {exc}"), op
            ) from exc
        if op.callback_error is not None:
            raise op.callback_error

    @staticmethod
    def _with_callback_note(error: EngineError, op: _Operation) -> EngineError:
        if op.callback_error is not None:
            error.add_note(f"the event callback also failed: {op.callback_error!r}")
        return error

    # --- Engine ---------------------------------------------------------------
    def preview(self, target: StackTarget, on_event: OnEvent) -> Changes:
        with self._operation(target, "preview stack {name}", on_event) as op:
            stack = self._stack(target)
            self._ensure_plugins(stack, target.spec.provider)
            result = stack.preview(on_event=op, color="never", suppress_progress=True)
        return Changes(_counts(result.change_summary))

    def up(self, target: StackTarget, on_event: OnEvent) -> UpResult:
        with self._operation(target, "deploy stack {name}", on_event) as op:
            stack = self._stack(target)
            self._ensure_plugins(stack, target.spec.provider)
            result = stack.up(on_event=op, color="never", suppress_progress=True)
        return UpResult(
            outputs={key: value.value for key, value in result.outputs.items()},
            changes=Changes(_counts(result.summary.resource_changes)),
        )

    def destroy(
        self, target: StackTarget, on_event: OnEvent, *, delete_data: bool = False, cluster_gone: bool = False
    ) -> DestroyResult:
        from provisioner.engine import teardown

        # pulumi-kubernetes drops the objects of an unreachable cluster from the state only when
        # told so, for this run: never set in the program, where it would hide an unreachable
        # (private, IP-restricted) cluster that still exists, with its load balancers and disks.
        extra_env = {DELETE_UNREACHABLE_ENV: "true"} if cluster_gone else None
        with self._operation(target, "destroy stack {name}", on_event) as op:
            stack = self._stack(target, create=False, extra_env=extra_env)
            self._ensure_plugins(stack, target.spec.provider)
            return teardown.destroy(AutomationStack(stack, op), target.spec, op, delete_data=delete_data)

    def refresh(self, target: StackTarget, on_event: OnEvent, *, clear_pending_creates: bool = False,
                import_pending_creates: Mapping[str, str] | None = None) -> Changes:
        with self._operation(target, "refresh stack {name}", on_event) as op:
            stack = self._stack(target, create=False)
            self._ensure_plugins(stack, target.spec.provider)
            counts = AutomationStack(stack, op).refresh(
                op, clear_pending_creates=clear_pending_creates, import_pending_creates=import_pending_creates
            )
        return Changes(counts)

    def backup(self, target: StackTarget, on_event: OnEvent, backup_id: str) -> bool:
        from provisioner.engine import run_history

        with self._operation(target, "back up the run history of stack {name}", on_event) as op:
            stack = self._stack(target, create=False)
            self._ensure_plugins(stack, target.spec.provider)
            return run_history.backup(AutomationStack(stack, op), target.spec, op, backup_id)

    def pending_operations(self, target: StackTarget) -> list[PendingOperation]:
        with self._operation(target, "read the state of stack {name}"):
            deployment = self._stack(target, create=False).export_stack().deployment
        return adoptable(pending_operations(deployment), deployment, target.spec)

    def outputs(self, target: StackTarget) -> dict[str, Any]:
        with self._operation(target, "read the outputs of stack {name}"):
            stack = self._stack(target, create=False)
            values = stack.outputs()
        return {key: value.value for key, value in values.items()}

    def cancel(self, target: StackTarget) -> None:
        with self._operation(target, "cancel the update of stack {name}"):
            self._stack(target, create=False).cancel()

    def assigned_suffix(self, target: StackTarget) -> str | None:
        with self._operation(target, "read the configuration of stack {name}"):
            stack = self._existing_stack(target)
            if stack is None:
                return None
            config = stack.get_all_config()
            if SUFFIX_CONFIG in config:
                return config[SUFFIX_CONFIG].value
            deployment = stack.export_stack().deployment
        if any(r.get("type") != _STACK_TYPE for r in (deployment or {}).get("resources") or []):
            # Deployed before suffixes were random and kept in the config: its names use the old one.
            spec = target.spec
            return naming.legacy_suffix(spec.provider, spec.name, spec.region)
        return None
