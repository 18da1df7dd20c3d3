"""The JSON documents the commands print with --output json, built in one place.

Each command prints exactly one document on stdout (README, Scripting): its
result, or `error(...)` when it failed. The keys here are the scripting
contract; the tables for people are views.py's.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any


def emit(document: Any) -> None:
    """Print one document on stdout."""
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=False) + "\n")


def error(message: str, exit_code: int, **details: Any) -> dict:
    return {"error": {"message": message, "exit_code": exit_code, **details}}


def plan(spec, result, warnings: list[str], sources, kubernetes_versions, estimate) -> dict:
    """`recipe plan`: the plan itself, what to know about it, and the cost with --cost; values only the
    cloud knows (account ids, load balancer addresses) are `<placeholders>`."""
    return with_placeholders({
        **result.to_json(), "warnings": warnings, "internal_sources": [s.to_json() for s in sources],
        "kubernetes_versions": kubernetes_versions, "suffix": spec.suffix or None,
        **({"cost": estimate.to_json()} if estimate else {})}, spec)


def with_placeholders(value: Any, spec) -> Any:
    """`value` (strings, lists and mappings of them) from a plan of `spec`, as `placeholders(spec)` shows it."""
    return placeholders(spec)(value)


def placeholders(spec) -> Callable[[Any], Any]:
    """What shows a value from a plan of `spec` (strings, lists and mappings of them) with what the mock
    cloud invented replaced by the placeholders it declares, so no made-up id passes for a real one; what
    the stack's own settings say (an admin's ARN in the same account) stays as given. Built once per
    spec: the patterns are compiled and the settings read here."""
    import re

    from provisioner.analysis import mockcloud
    from provisioner.analysis.mockcloud import kubernetes

    rules = [(re.compile(pattern), shown) for pattern, shown in (*mockcloud.PLACEHOLDERS.get(spec.provider, ()), *kubernetes.PLACEHOLDERS)]
    by_key = mockcloud.PLACEHOLDER_KEYS.get(spec.provider, {})
    given = sorted({v for v in leaves(spec.to_mapping()) if isinstance(v, str) and any(p.search(v) for p, _ in rules)},
                   key=len, reverse=True)
    kept = re.compile("(" + "|".join(map(re.escape, given)) + ")") if given else None

    def substituted(text: str) -> str:
        for pattern, placeholder in rules:
            text = pattern.sub(placeholder, text)
        return text

    def shown(v: Any) -> Any:
        if isinstance(v, str):  # split on the settings' own strings (odd parts) and substitute between them
            parts = kept.split(v) if kept else [v]
            return "".join(part if i % 2 else substituted(part) for i, part in enumerate(parts))
        if isinstance(v, dict):
            return {k: by_key[k] if k in by_key and isinstance(item, str) else shown(item) for k, item in v.items()}
        if isinstance(v, (list, tuple)):
            return [shown(item) for item in v]
        return v

    return shown


def leaves(value: Any) -> list:
    """Every scalar in a structure of mappings and lists."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in leaves(item)]
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in leaves(item)]
    return [value]


def check(spec, results, failed, note: str | None = None) -> dict:
    """`recipe check`: always the program's plan (offline), never the deployed resources; `note`
    says which program when the stack was adopted from outputs (null otherwise)."""
    return {"stack": spec.name, "provider": spec.provider, "passed": not failed, "rules": [r.to_json() for r in results],
            "checked": "program", "note": note}


def deploy(spec, record, changes) -> dict:
    return {"stack": spec.name, "provider": spec.provider, "region": spec.region, "status": record.status,
            "changes": changes.to_json(), "no_changes": changes.total_changes == 0, "outputs": record.outputs}


def preview(name: str, changes) -> dict:
    return {"stack": name, "changes": changes.to_json(), "no_changes": changes.total_changes == 0}


def destroy(name: str, delete_data: bool, kept: list[str], backup_id: str | None) -> dict:
    return {"stack": name, "status": "destroyed", "delete_data": delete_data, "kept": kept,
            "delete_kept_with": None if delete_data or not kept else f"recipe destroy {name} --delete-data",
            "backup_id": backup_id}


def refresh(name: str, drift) -> dict:
    return {"stack": name, "changed": drift.changed, "deleted": drift.deleted, "counts": drift.changes.counts}


def repair(name: str, *, repaired: bool, unlocked: bool, rerun: str | None, pending) -> dict:
    return {"stack": name, "repaired": repaired, "unlocked": unlocked, "rerun": rerun,
            "pending": [{"operation": p.operation, "type": p.type, "name": p.name, "adopt_id": p.adopt_id}
                        for p in pending]}


def backup(name: str, backup_id: str | None, location: str | None) -> dict:
    return {"stack": name, "backup_id": backup_id, "location": location}


def forget(name: str, warning: str | None) -> dict:
    return {"stack": name, "forgotten": True, "cloud_touched": False, "warning": warning}


def stacks(records) -> list[dict]:
    return [{"name": r.name, "provider": r.provider, "region": r.region, "status": r.display_status(), "source": r.source,
             "outputs": r.outputs, "updated_at": r.updated_at,
             "last_operation": r.last_operation.__dict__ if r.last_operation else None}
            for r in records]


def export(name: str, fmt: str, files: list[dict], content: str | None, rendered, notes: list[str], registered) -> dict:
    """`recipe export`: what was written where; the text itself when it went to stdout."""
    return {"stack": name, "format": fmt, "files": files, "content": content,
            "contains_secrets": rendered.contains_secrets, "notes": notes,
            "zenml": registered.to_json() if registered else None}


def register(name: str, record, components: list[str]) -> dict:
    return {"stack": name, "provider": record.provider, "region": record.region, "status": record.status,
            "components": components, "source": record.source}


def doctor(checks) -> list[dict]:
    return [c.to_json() for c in checks]
