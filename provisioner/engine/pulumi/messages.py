"""What a failed Pulumi operation tells the user: its own error lines, cleaned, and the fix.

The CLI's output is written for a terminal (ANSI colours, Go source prefixes, a Python
traceback per program error, "update failed" after every failure); the user gets the
specific lines, short, and for the errors people can fix (a lock, the passphrase,
expired credentials, a cloud's one-time prerequisite, an unreachable cluster) what to run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from recipes import facts

from provisioner import paths
from provisioner.engine import STACK_TYPE, urn_name, urn_type

MAX_MESSAGE_LINES = 15
_MAX_LINE_CHARS = 400

_ANSI_RE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_RAW_COLOR_RE = re.compile(r"<\{%[^%]*%\}>")  # Pulumi's own color tags (--color raw)
_GO_SOURCE_PREFIX_RE = re.compile(r"^\S+\.go:\d+:\s*(?:sdk\.helper_schema:\s*)?")
_GENERIC_FAILURE_RE = re.compile(r"^(?:error:\s*)?(?:update|preview|destroy|refresh|import) failed\.?$", re.I)


def strip_ansi(text: str) -> str:
    return _RAW_COLOR_RE.sub("", _ANSI_RE.sub("", text))


def clean_lines(text: str) -> list[str]:
    """The non-blank lines of `text`, without colours or trailing blanks."""
    return [line.rstrip() for line in strip_ansi(text).splitlines() if line.strip()]


def shorten(line: str) -> str:
    """One line without the Go source prefix, cut at a length a terminal shows."""
    line = _GO_SOURCE_PREFIX_RE.sub("", line.strip())
    return line if len(line) <= _MAX_LINE_CHARS else line[: _MAX_LINE_CHARS - 3] + "..."


def _diagnostic_lines(message: str) -> list[str]:
    """The useful lines of one diagnostic: a Python traceback shrinks to its message and exception."""
    lines = clean_lines(message)
    for i, line in enumerate(lines):
        if line.strip().startswith("Traceback (most recent call last)"):
            return lines[:i] + lines[-1:]
    return lines


def command_output(exc: BaseException) -> tuple[str, str]:
    """(stdout, stderr) of an Automation API CommandError (which keeps only their text)."""
    text = str(exc)
    head, sep, stderr = text.rpartition("\n stderr: ")
    if not sep:
        return "", text
    _, sep, stdout = head.partition("\n stdout: ")
    return (stdout if sep else ""), stderr


def stderr_errors(stderr: str, stdout: str) -> list[str]:
    """The `error:` lines of a failed command (the specific ones), else its last lines."""
    lines = clean_lines(stderr)
    errors = [line.strip()[len("error:"):].strip() for line in lines if line.strip().lower().startswith("error:")]
    errors = [line for line in errors if line and not _GENERIC_FAILURE_RE.match(line)] or errors
    if errors:
        return errors
    if lines:
        return [line.strip() for line in lines[-8:]]
    return [line.strip() for line in clean_lines(stdout)[-8:]]


def failure_lines(errors: list[tuple[str | None, str]], exc: BaseException) -> tuple[list[str], list[str]]:
    """(lines for the message, the error diagnostics) of a failed operation, from its error
    diagnostics ((urn, message) each) or, when it reported none, from the command's output."""
    diagnostics: list[str] = []
    lines: list[str] = []
    specific = [(u, m) for u, m in errors if not _GENERIC_FAILURE_RE.match(m.strip())] or errors
    for urn, message in specific:
        diagnostics.append(message)
        prefix = f"{urn_name(urn)}: " if urn and urn_type(urn) != STACK_TYPE else ""
        body = [_GO_SOURCE_PREFIX_RE.sub("", line.strip()) for line in _diagnostic_lines(message)]
        if not body:
            continue
        if body[0].lower().startswith("error:"):
            body[0] = body[0][len("error:"):].strip()
        lines.append(prefix + body[0])
        lines.extend(body[1:])
    if not lines:
        stdout, stderr = command_output(exc)
        lines = stderr_errors(stderr, stdout)
    return list(dict.fromkeys(line for line in map(shorten, lines) if line)), diagnostics


def limit(header: str, lines: list[str]) -> str:
    """`header` and the indented `lines`, at most MAX_MESSAGE_LINES in all."""
    room = MAX_MESSAGE_LINES - 1
    if len(lines) > room:
        lines = lines[: room - 1] + [f"... ({len(lines) - room + 1} more lines)"]
    return "\n".join([header] + ["  " + line for line in lines])


def matches(patterns: Iterable[str], lines: Iterable[str]) -> bool:
    """Whether any of `patterns` occurs in `lines` (case-insensitive)."""
    text = "\n".join(lines).lower()
    return any(p.lower() in text for p in patterns)


# --------------------------------------------------------------------------
# Errors people can fix: locks, passphrases, credentials, prerequisites, reachability

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


def lock_holders(stderr: str) -> list[str]:
    """The "created by <who> (pid N)" lines of a lock error, at most three."""
    return [shorten(line) for line in clean_lines(stderr) if "created by" in line][:3]


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


# pulumi-kubernetes, when the cluster's API server cannot be reached.
UNREACHABLE_PATTERNS = ("cluster is unreachable", "failed to read resource state due to unreachable cluster")
UNREACHABLE_HINT = (
    "The cluster's API server is not reachable from this machine: with --private-endpoint run from inside the "
    "stack's network (VPN, peering, bastion); with --allow-cidr check that it includes your current IP (redeploy "
    "with the new one). Nothing was dropped from the state. If the cluster was deleted outside recipe, "
    "`recipe destroy NAME --cluster-gone` removes what is left."
)


def prerequisite_hint(provider: str, lines: list[str]) -> str | None:
    """The commands that fix an error a cloud's one-time prerequisite explains (the cloud's
    PREREQUISITE_* facts; `recipe deploy` checks them first, see provisioner/operations/prerequisites.py,
    but not without the cloud's CLI)."""
    cloud = facts.of(provider)
    text = "\n".join(lines)
    if cloud.PREREQUISITE_ERROR_RE is None or not re.search(cloud.PREREQUISITE_ERROR_RE, text, re.IGNORECASE):
        return None
    missing = list(dict.fromkeys(re.findall(cloud.PREREQUISITE_MISSING_RE, text))) or ["NAME"]
    commands = " and ".join(f"`{cloud.PREREQUISITE_FIX_COMMAND.format(name)}`" for name in missing)
    return cloud.PREREQUISITE_HINT.format(commands=commands)


def credential_hint(provider: str, lines: list[str]) -> str | None:
    """The fix for an error the cloud's credentials or the cluster's reachability explain."""
    if matches(UNREACHABLE_PATTERNS, lines):
        return UNREACHABLE_HINT
    if provider not in facts.PROVIDERS:
        return None
    if (hint := prerequisite_hint(provider, lines)) is not None:
        return hint
    cloud = facts.of(provider)
    return cloud.EXPIRED_CREDENTIAL_FIX if matches(cloud.EXPIRED_CREDENTIAL_ERRORS, lines) else None
