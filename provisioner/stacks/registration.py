"""`recipe register`: adopt a stack deployed with the plain Pulumi CLI.

Its outputs file (`pulumi stack output --json --show-secrets`) is checked
against the canonical schema; public outputs go to the stack's record and secrets
to a 0600 file of their own, since there is no Pulumi state of ours to read
them from later.
"""

from __future__ import annotations

import json
from pathlib import Path

from recipes import naming, outputs

from provisioner.stacks.records import StackRecords, RecordsError, StackRecord, now, save_local_secrets

REDACTED = "[secret]"
MAX_BYTES = 5_000_000


def register_outputs(name: str, path: Path, *, records: StackRecords, force: bool = False) -> StackRecord:
    problem = naming.check_stack_name(name)
    if problem:
        raise outputs.OutputsError(problem)
    data = _read(path)
    redacted = [
        f"{c}.{f}" for c, f in outputs.SECRET_PATHS
        if isinstance(data, dict) and isinstance(data.get(c), dict) and data[c].get(f) == REDACTED
    ]
    if redacted:
        raise outputs.OutputsError(
            f"{path}: {', '.join(redacted)} redacted as {REDACTED!r}; "
            "write the file with `pulumi stack output --json --show-secrets > FILE`"
        )
    canonical = outputs.validate(data, source=str(path))
    if canonical["stack_name"] != name:
        raise outputs.OutputsError(
            f"{path} holds the outputs of stack {canonical['stack_name']!r}; register it as {canonical['stack_name']}"
        )
    existing = records.find(name)
    if existing is not None and not force:
        raise RecordsError(f"a stack named {name} is already registered ({existing.source}, {existing.status}); pass --force to replace it")
    secret_values = outputs.secrets(canonical)
    if secret_values:
        save_local_secrets(name, secret_values)
    record = StackRecord(
        name=name,
        provider=canonical["provider"],
        region=canonical["region"],
        status="ready",
        source="register",
        spec={"provider": canonical["provider"], "name": name, "region": canonical["region"]},
        outputs=outputs.public(canonical),
        secrets="local" if secret_values else "none",
        created_at=existing.created_at if existing else now(),
    )
    record.start("register")
    record.finish("succeeded", f"registered from {path}")
    records.save(record)
    return record


def _read(path: Path):
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise outputs.OutputsError(f"{path}: no such file") from None
    except OSError as exc:
        raise outputs.OutputsError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(raw) > MAX_BYTES:
        raise outputs.OutputsError(f"{path}: too large to be a stack outputs file")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        where = f"{path}:{line}" if line else str(path)
        raise outputs.OutputsError(f"{where}: not JSON ({getattr(exc, 'msg', exc)}); expected `pulumi stack output --json --show-secrets` output") from None
