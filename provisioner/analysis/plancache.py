"""A plan computed once stays computed: an on-disk cache of offline plans.

A plan is a pure function of the spec, our program's source (recipes/, the mock
cloud, the plan runner) and the installed Pulumi SDKs; running it costs 2-4 s,
almost all of it importing the SDKs. So `recipe plan`, `recipe check` and the
check before `recipe deploy` reuse a plan whose key matches exactly, and
recompute it when anything in that key changes. A cache file that cannot be
read is ignored and rewritten, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recipes import facts

if TYPE_CHECKING:
    from recipes.spec import StackSpec

    from provisioner.analysis.plan_model import Plan

FORMAT = 2  # bump when the cached document changes shape
KEEP = 64  # newest entries kept
_ROOT = Path(__file__).resolve().parents[2]
# Everything a plan's content depends on, besides the spec and the SDK versions.
_HERE = Path(__file__).resolve().parent
SOURCES = (_ROOT / "recipes", _HERE / "mockcloud", _HERE / "plan.py", _HERE / "plan_model.py")
SDKS = ("pulumi", *(facts.of(p).SDK_DISTRIBUTION for p in facts.CLOUDS), "pulumi-kubernetes", "pulumi-random",
        "pulumi-tls", "pulumiverse-time")

_fingerprint: str | None = None


def fingerprint() -> str:
    """A hash of our program's source files and the Pulumi SDK versions."""
    global _fingerprint
    if _fingerprint is None:
        from importlib import metadata

        digest = hashlib.sha256(f"format {FORMAT}\n".encode())
        for source in SOURCES:
            files = [source] if source.is_file() else sorted(source.rglob("*.py"))
            for path in files:
                digest.update(str(path.relative_to(_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
        for sdk in SDKS:
            try:
                version = metadata.version(sdk)
            except metadata.PackageNotFoundError:
                version = "-"
            digest.update(f"{sdk}=={version}\n".encode())
        _fingerprint = digest.hexdigest()
    return _fingerprint


def key(spec: StackSpec) -> str:
    document = {"spec": spec.to_mapping(), "delete_data": spec.delete_data, "tracker_backup": spec.tracker_backup,
                "code": fingerprint()}
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()


def load(directory: Path, spec: StackSpec) -> Plan | None:
    from provisioner.analysis.plan_model import Plan, PlannedResource

    path = directory / f"{key(spec)}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            return None
        return Plan(spec=spec, resources=[PlannedResource(**r) for r in data["resources"]], outputs=data["outputs"],
                    secret_outputs=data["secret_outputs"], raw_outputs=data["raw_outputs"])
    except (OSError, ValueError, TypeError, KeyError):
        return None


def store(directory: Path, plan: Plan) -> None:
    """Write the plan, 0600, keeping the newest KEEP. Secret outputs (the mock cloud's
    stand-ins, never a deployed stack's) are written as digests: nothing that looks
    like a password or a kubeconfig goes to disk."""
    from provisioner.paths import atomic_write

    document: dict[str, Any] = {
        "format": FORMAT,
        "resources": [asdict(r) for r in plan.resources],
        "outputs": plan.outputs,
        "secret_outputs": plan.secret_outputs,
        "raw_outputs": _without_secrets(plan.raw_outputs, plan.secret_outputs),
    }
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        atomic_write(directory / f"{key(plan.spec)}.json", json.dumps(document), mode=0o600)
        entries = sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[KEEP:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # a cache that cannot be written only costs time
    except (TypeError, ValueError):
        pass  # outputs that are not JSON: nothing cached


def _without_secrets(raw: dict[str, Any], secret_paths: list[str]) -> dict[str, Any]:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    for path in secret_paths:
        component, _, field = path.partition(".")
        if isinstance(out.get(component), dict) and field in out[component]:
            value = str(out[component][field]).encode()
            out[component][field] = "secret sha256:" + hashlib.sha256(value).hexdigest()
    return out


def enabled() -> bool:
    return os.environ.get("RECIPE_PLAN_CACHE", "1") not in ("0", "false", "no")
