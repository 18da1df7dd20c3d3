"""Finding, checking and installing the Pulumi CLI the Automation API runs.

`recipe plan` needs no CLI; everything else does, at least MIN_PULUMI_VERSION. When
none is usable the error says how to get one (`recipe doctor --install-pulumi`).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from provisioner.engine import EngineError, PulumiNotFound
from provisioner.engine.pulumi.messages import clean_lines

if TYPE_CHECKING:  # only for annotations: importing the Automation API is slow
    from pulumi.automation import PulumiCommand

# Inline programs for refresh and destroy (`--client`) need Pulumi CLI 3.181+.
MIN_PULUMI_VERSION = "3.181.0"
PULUMI_INSTALL_URL = "https://www.pulumi.com/docs/install/"


def pulumi_not_found(detail: str = "") -> PulumiNotFound:
    """PulumiNotFound saying what was wrong (`detail`) and how to install the CLI."""
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
        raise pulumi_not_found(detail)
    raise pulumi_not_found()


def usable_pulumi_cli() -> str:
    """"Pulumi CLI v<version> at <path>" for the CLI the engine would run (at least
    MIN_PULUMI_VERSION); PulumiNotFound saying how to get one. Runs `pulumi version`, nothing else."""
    return describe_command(default_pulumi_command())


def describe_command(command: PulumiCommand) -> str:
    """"Pulumi CLI v<version> at <path>"."""
    version = f"v{command.version}" if command.version else "(unknown version)"
    return f"Pulumi CLI {version} at {command.command}"


def install_pulumi_cli() -> str:
    """Download the Pulumi CLI matching the installed SDK into ~/.pulumi/versions/<version>.

    For `recipe doctor --install-pulumi`. Returns "Pulumi CLI <version> at <path>".
    """
    from pulumi.automation import PulumiCommand

    try:
        command = PulumiCommand.install()
    except Exception as exc:  # noqa: BLE001 - network, permissions, installer failures
        lines = clean_lines(str(exc))[-5:]
        raise EngineError(
            "could not install the Pulumi CLI: " + ("\n  ".join(lines) or type(exc).__name__)
            + f"\nInstall it by hand instead: {PULUMI_INSTALL_URL}"
        ) from exc
    return describe_command(command)

