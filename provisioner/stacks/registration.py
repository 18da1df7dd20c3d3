"""`recipe register`: adopt a stack deployed with the plain Pulumi CLI.

Its outputs file (`pulumi stack output --json --show-secrets`) is checked
against the canonical schema (every value, as recipes/outputs.py's `VALUES` says), and
what it tells of the stack (provider, region, name, components, model deployer, GCP
project) as a deploy's spec is (recipes/spec.py); public outputs go to the stack's record
and secrets to a 0600 file of their own, since there is no Pulumi state of ours to read
them from later. `recipe check NAME` plans the program those fields describe (`checked_spec`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from recipes import naming, outputs
from recipes.spec import NEEDS, Layer, SpecError, StackSpec, load_spec

from provisioner.stacks.records import StackRecords, RecordsError, StackRecord, now, save_local_secrets

REDACTED = "[secret]"
MAX_BYTES = 5_000_000
# Artifact Registry's repository path names the GCP project: `<region>-docker.pkg.dev/<project>/<repo>`.
GCP_PROJECT_IN_REGISTRY = re.compile(r"[a-z0-9-]+-docker\.pkg\.dev/([^/]+)/")
# What `check` plans a GCP stack in when its outputs name no project (no registry): a project
# changes names in the plan, never a baseline verdict.
PLACEHOLDER_PROJECT = "adopted-project"


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
    known = known_fields(name, canonical)
    unmet = [(c, n) for c in known["components"] for n in NEEDS.get(c, ()) if n not in known["components"]]
    if unmet:  # said in the outputs' terms (a deploy's message would suggest flags)
        component, need = unmet[0]
        raise outputs.OutputsError(f"{path}: '{component}' without '{need}': no stack of recipe's program has one "
                                   f"(the {component} runs on the {need}); expected that program's outputs")
    _spec_of(known, str(path), recorded=False)  # what a deploy of that stack checks: region, names
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
        spec=known,
        outputs=outputs.public(canonical),
        secrets="local" if secret_values else "none",
        created_at=existing.created_at if existing else now(),
    )
    record.start("register")
    record.finish("succeeded", f"registered from {path}")
    records.save(record)
    return record


def known_fields(name: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The stack fields outputs tell (canonical or a record's public copy): what a spec of the
    stack can say without guessing. Its size, profile, CIDRs... are not in the outputs."""
    fields: dict[str, Any] = {"provider": data["provider"], "name": name, "region": data["region"],
                              "components": outputs.components(data)}
    if isinstance(data.get("deployer"), Mapping) and data["deployer"].get("flavor"):
        fields["deployer"] = data["deployer"]["flavor"]
    found = GCP_PROJECT_IN_REGISTRY.match(str((data.get("registry") or {}).get("uri") or ""))
    if data["provider"] == "gcp" and found:
        fields["project"] = found.group(1)
    return fields


def checked_spec(record: StackRecord) -> tuple[StackSpec, str | None]:
    """What `recipe check NAME` plans: a deployed stack's recorded spec; for an adopted one the
    program its outputs correspond to, with the note saying so (it is not the deployed resources)."""
    from provisioner.stacks.stackfile import spec_from_record

    if record.source != "register":
        return spec_from_record(record.name, record.spec), None
    known = known_fields(record.name, record.outputs)
    spec = _spec_of(known, f"registry entry {record.name}", recorded=True)
    parts = [f"components {', '.join(spec.components)}"]
    if spec.has("deployer"):
        parts.append(f"the {spec.deployer} deployer")
    if spec.provider == "gcp" and "project" not in known:
        parts.append(f"a placeholder project ({PLACEHOLDER_PROJECT}: the outputs name none)")
    return spec, (f"{record.name} was adopted from a `pulumi up` outputs file: checking recipe's program for "
                  f"{spec.provider} {spec.region} with {' and '.join(parts)}, not the deployed resources")


def _spec_of(known: Mapping[str, Any], origin: str, *, recorded: bool) -> StackSpec:
    """`known` validated as a deploy validates a spec (`recorded`: as a recorded stack's, under the
    rules it was deployed with); every error one line naming `origin`."""
    values = dict(known)
    if values.get("provider") == "gcp":
        values.setdefault("project", PLACEHOLDER_PROJECT)
    try:
        return load_spec(Layer(origin, values), recorded=recorded)
    except SpecError as exc:
        message = exc.message if exc.message.startswith(origin) else f"{origin}: {exc.message}"
        raise outputs.OutputsError(message) from None


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
