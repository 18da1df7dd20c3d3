"""The scanners' virtualenv, running them on a rendered stack, and reading what they report.

Checkov, kubernetes-validate and parliament run from a virtualenv of their own
(`scanners.txt`), found through RECIPE_SCANNER_VENV (.ci/run builds it once, so a failed install
shows as such), else built on first use under the user cache directory, keyed by the file's
content. Each is run as a process with that virtualenv's Python: nothing of theirs is imported here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.pinned_venv import pinned_venv

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "scanners.txt"
FRAMEWORKS = ("kubernetes", "terraform", "arm")


def scanner_venv() -> Path:
    return pinned_venv(REQUIREMENTS, "RECIPE_SCANNER_VENV", "scanners")


def environment() -> dict[str, str]:
    """The scanners' environment: offline (no Prisma Cloud mapping or guidelines download, no
    update check) and none of this project's Python path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(BC_SKIP_MAPPING="TRUE", CKV_SKIP_PACKAGE_UPDATE_CHECK="TRUE", LOG_LEVEL="ERROR")
    return env


# --------------------------------------------------------------------------
# Checkov


@dataclass(frozen=True)
class Check:
    framework: str
    check_id: str
    result: str  # passed, failed or skipped
    resource: str  # as Checkov names it
    file: str
    name: str
    source: tuple[str, str] | None  # the plan's (type, name) of a cloud resource


@dataclass
class CheckovReport:
    checks: list[Check]
    parsing_errors: dict[str, list[str]]
    summaries: dict[str, dict]

    def of(self, framework: str | None = None, result: str | None = None) -> list[Check]:
        return [c for c in self.checks if (framework is None or c.framework == framework)
                and (result is None or c.result == result)]


def run_checkov(venv: Path, rendered) -> CheckovReport:
    """One Checkov process over the stack's folder: its Kubernetes manifests and cloud template."""
    argv = [str(venv / "bin" / "checkov"), "-d", str(rendered.folder), "--framework", *FRAMEWORKS,
            "-o", "json", "--skip-download"]
    done = subprocess.run(argv, capture_output=True, text=True, env=environment(), timeout=900)
    if done.returncode not in (0, 1) or not done.stdout.lstrip().startswith(("{", "[")):
        raise RuntimeError(f"checkov exited {done.returncode}: {done.stderr[-3000:] or done.stdout[-3000:]}")
    reports = json.loads(done.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    checks, errors, summaries = [], {}, {}
    for report in reports:
        framework = report["check_type"]
        results = report.get("results", {})
        summaries[framework] = report.get("summary", {})
        errors[framework] = list(results.get("parsing_errors", []))
        for key, result in (("passed_checks", "passed"), ("failed_checks", "failed"), ("skipped_checks", "skipped")):
            for record in results.get(key, []):
                checks.append(Check(framework, record["check_id"], result, record["resource"], record["file_path"],
                                    record["check_name"], rendered.source_of(framework, record["resource"])))
    return CheckovReport(checks, errors, summaries)


# --------------------------------------------------------------------------
# kubernetes-validate


@dataclass(frozen=True)
class Validation:
    file: str
    object: str  # kind/name, as kubernetes-validate names it
    version: str
    status: str  # passed, error or no-schema
    message: str = ""


_LINES = (
    (re.compile(r"INFO (?P<file>\S+) passed for resource (?P<object>\S+) against version (?P<version>\S+)$"), "passed"),
    (re.compile(r"ERROR (?P<file>\S+) did not validate for resource (?P<object>\S+) against version "
                r"(?P<version>[^:]+): (?P<message>.*)$"), "error"),
    (re.compile(r"WARN (?P<file>\S+) Couldn't find schema for kind (?P<object>\S+) with api version \S+ "
                r"for kubernetes version (?P<version>\S+)$"), "no-schema"),
)


def run_kubernetes_validate(venv: Path, files: list[Path], versions: list[str]) -> list[Validation]:
    """`kubernetes-validate --strict` of every manifest against every version; a line it prints that is
    none of passed, failed or no schema (an unreadable file, an unsupported version) is an error."""
    argv = [str(venv / "bin" / "python"), "-m", "kubernetes_validate", "--strict"]
    for version in versions:
        argv += ["-k", version]
    done = subprocess.run([*argv, *map(str, files)], capture_output=True, text=True, env=environment(), timeout=600)
    out = []
    for line in (done.stdout + done.stderr).splitlines():
        if not line.strip():
            continue
        for pattern, status in _LINES:
            if found := pattern.match(line):
                parts = found.groupdict()
                out.append(Validation(Path(parts["file"]).name, parts["object"], parts["version"], status,
                                      parts.get("message") or ""))
                break
        else:
            out.append(Validation("", "", "", "error", line))
    if done.returncode not in (0, 1) and not any(v.status == "error" for v in out):
        out.append(Validation("", "", "", "error", f"kubernetes-validate exited {done.returncode}"))
    return out


# --------------------------------------------------------------------------
# parliament


@dataclass(frozen=True)
class Finding:
    issue: str
    severity: str
    detail: str
    document: str  # PolicyDocument.label
    kind: str  # identity, resource or trust


def run_parliament(venv: Path, documents, folder: Path) -> list[Finding]:
    """parliament (with its community auditors) over each policy document, one file per document."""
    folder.mkdir(parents=True, exist_ok=True)
    by_file = {}
    for n, document in enumerate(documents):
        path = folder / f"{n:03d}.json"
        path.write_text(json.dumps(document.document, indent=1))
        by_file[path.name] = document
    if not by_file:
        return []
    argv = [str(venv / "bin" / "parliament"), "--directory", str(folder), "--include_policy_extension", "json",
            "--json", "--include-community-auditors"]
    done = subprocess.run(argv, capture_output=True, text=True, env=environment(), timeout=600)
    if done.returncode not in (0, 1) or done.stderr.strip():
        raise RuntimeError(f"parliament exited {done.returncode}: {done.stderr[-3000:]}")
    out = []
    for line in done.stdout.splitlines():
        if line.strip():
            finding = json.loads(line)
            document = by_file[Path(finding["location"]["filepath"]).name]
            detail = finding.get("detail")
            out.append(Finding(finding["issue"], finding["severity"], detail if isinstance(detail, str) else json.dumps(detail),
                               document.label, document.kind))
    return out
