"""The stack records, one per stack this machine knows: what was deployed, where its state is, its status.

One JSON file per stack under the user config dir, written atomically (temp
file, fsync, rename) under a file lock, so a crash or a second process never
leaves a half-written record, and one damaged file never hides the others.
Records hold no secret: secret outputs stay in Pulumi state (deployed stacks)
or in a 0600 file under the data dir (stacks registered from a file).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from recipes import naming, outputs
from recipes.errors import EXIT_BAD_INPUT, RecipeError

from provisioner import paths
from provisioner.paths import atomic_write

STATUSES = ("deploying", "ready", "failed", "destroying", "destroyed")
FORMAT_VERSION = 1


class RecordsError(RecipeError):
    """A problem with the stack records the user can act on; the message says how."""


class StackNotFound(RecordsError):
    exit_code = EXIT_BAD_INPUT


class RecordsCorrupt(RecordsError):
    pass


class InvalidStackName(RecordsError):
    """A name no stack can have: bad input in every command, nothing was read or touched."""

    exit_code = EXIT_BAD_INPUT


class NoOutputs(RecordsError):
    """A stack whose deploy failed, was interrupted or never ran has nothing to show or export."""


def require_outputs(record: StackRecord) -> None:
    """Refuse, with why and what to do, a stack that has no outputs (e.g. its first deploy failed)."""
    if record.outputs and record.outputs.get("stack_name"):
        return
    op = record.last_operation
    status = record.display_status()
    if status == "interrupted":
        why = f"its {op.op if op else 'deploy'} was interrupted"
        fix = f"run `recipe repair {record.name}`, then deploy it again"
    elif status == "failed":
        cause = f" ({op.message})" if op and op.message else ""
        why = f"its {op.op if op else 'deploy'} failed{cause}"
        fix = "fix the cause and deploy it again (`recipe stacks` shows the last error)"
    elif status in ("deploying", "destroying"):
        why = f"its {status[:-3]} has not finished"
        fix = "wait for it, or deploy it again if that run is gone"
    else:
        why = "its deploy never ran to the end" if status != "destroyed" else "it was destroyed"
        fix = "deploy it (`recipe deploy`)"
    raise NoOutputs(f"stack {record.name} has no outputs: {why}; {fix}")


def now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


@dataclass
class Operation:
    op: str  # deploy, destroy, register, repair, refresh
    status: str  # running, succeeded, failed, interrupted
    started_at: str
    finished_at: str | None = None
    message: str | None = None
    resource: str | None = None  # the failing resource, when known
    last_event: str | None = None  # what was happening when it stopped
    pid: int | None = None  # who runs it, to tell a live run from a killed one
    host: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Operation:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    def owner_alive(self) -> bool:
        """False only when we can tell the process that runs it is gone (same host, no such pid)."""
        import os
        import socket

        if self.status != "running" or self.pid is None:
            return False
        if self.host and self.host != socket.gethostname():
            return True  # cannot tell: assume it runs
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


@dataclass
class StackRecord:
    name: str
    provider: str
    region: str
    status: str
    source: str  # "deploy" (state managed by recipe) or "register" (deployed with the pulumi CLI)
    spec: dict[str, Any] = field(default_factory=dict)
    backend: str | None = None
    pulumi_stack: str | None = None
    project: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)  # canonical outputs, secrets removed
    secrets: str = "none"  # where secret outputs live: "pulumi" state, "local" file, or "none"
    retained: list[dict[str, Any]] = field(default_factory=list)
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)
    last_operation: Operation | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["format"] = FORMAT_VERSION
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StackRecord:
        data = dict(data)
        data.pop("format", None)
        op = data.pop("last_operation", None)
        known = {f for f in cls.__dataclass_fields__}
        record = cls(**{k: v for k, v in data.items() if k in known})
        record.last_operation = Operation.from_json(op) if isinstance(op, dict) else None
        return record

    def display_status(self) -> str:
        """The status as the user should read it: a run whose process is gone is "interrupted"."""
        op = self.last_operation
        if op is not None and op.status == "running" and not op.owner_alive():
            return "interrupted"
        if op is not None and op.status == "interrupted" and self.status == "failed":
            return "interrupted"
        return self.status

    def start(self, op: str) -> None:
        import os
        import socket

        self.last_operation = Operation(op=op, status="running", started_at=now(), pid=os.getpid(), host=socket.gethostname())
        self.updated_at = now()

    def finish(self, status: str, message: str | None = None, resource: str | None = None, last_event: str | None = None) -> None:
        if self.last_operation is None:
            self.start("unknown")
        assert self.last_operation is not None
        self.last_operation.status = status
        self.last_operation.finished_at = now()
        self.last_operation.message = message
        self.last_operation.resource = resource
        self.last_operation.last_event = last_event
        self.updated_at = now()


class StackRecords:
    def __init__(self, root: Path | None = None):
        self.root = root or paths.records_dir()

    # --- paths -------------------------------------------------------------
    def _path(self, name: str) -> Path:
        if not name:
            raise InvalidStackName("the stack name is empty; give a stack's name, e.g. ml-dev (`recipe stacks` lists them)")
        problem = naming.check_stack_name(name)
        if problem:
            raise InvalidStackName(problem)
        return self.root / f"{name}.json"

    def _lock(self, name: str):
        from filelock import FileLock

        self.root.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.root / f".{name}.lock"), timeout=30)

    # --- reading -----------------------------------------------------------
    def find(self, name: str) -> StackRecord | None:
        path = self._path(name)
        if not path.exists():
            return None
        return self._read(path)

    def get(self, name: str) -> StackRecord:
        record = self.find(name)
        if record is None:
            known = ", ".join(r.name for r in self.all()[0]) or "none yet"
            raise StackNotFound(f"no stack named {name!r} among the stack records (known stacks: {known}); see `recipe stacks`")
        return record

    def all(self) -> tuple[list[StackRecord], list[RecordsCorrupt]]:
        """Every readable record, and an error for each file that is not."""
        records, errors = [], []
        for path in self._files():
            try:
                records.append(self._read(path))
            except RecordsCorrupt as exc:
                errors.append(exc)
        return sorted(records, key=lambda r: r.name), errors

    def _files(self) -> Iterator[Path]:
        if not self.root.is_dir():
            return iter(())
        return iter(sorted(p for p in self.root.glob("*.json") if not p.name.startswith(".")))

    def _read(self, path: Path) -> StackRecord:
        try:
            text = path.read_text(encoding="utf-8")
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RecordsCorrupt(
                f"{path}:{exc.lineno}: not valid JSON ({exc.msg}); fix or delete this file (other stacks are unaffected)"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise RecordsCorrupt(f"{path}: cannot be read ({exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise RecordsCorrupt(f"{path}:1: not a stack record; fix or delete this file (other stacks are unaffected)")
        try:
            record = StackRecord.from_json(data)
        except TypeError as exc:
            raise RecordsCorrupt(f"{path}: incomplete stack record ({exc}); fix or delete this file") from None
        if not isinstance(record.outputs, dict) or not isinstance(record.spec, dict):
            raise RecordsCorrupt(f"{path}: its outputs or spec are not JSON objects; fix or delete this file")
        if record.status not in STATUSES:
            raise RecordsCorrupt(f"{path}: unknown status {record.status!r}; expected one of {', '.join(STATUSES)}")
        return record

    # --- writing -----------------------------------------------------------
    def save(self, record: StackRecord) -> None:
        path = self._path(record.name)
        leaked = outputs.secrets(record.outputs)
        if leaked:  # belt and braces: a record must never hold a secret
            raise RecordsError(f"refusing to store secret outputs in the registry for {record.name}")
        record.updated_at = now()
        with self._lock(record.name):
            atomic_write(path, json.dumps(record.to_json(), indent=2, sort_keys=True) + "\n", mode=0o644)

    def delete(self, name: str) -> None:
        path = self._path(name)
        with self._lock(name):
            path.unlink(missing_ok=True)
        local_secrets_file(name).unlink(missing_ok=True)


# --------------------------------------------------------------------------
# Secrets of stacks registered from an outputs file (no Pulumi state to read them from)

def local_secrets_file(name: str) -> Path:
    return paths.data_dir() / "secrets" / f"{name}.json"


def save_local_secrets(name: str, values: dict[str, dict[str, str]]) -> Path:
    path = local_secrets_file(name)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    atomic_write(path, json.dumps(values, indent=2, sort_keys=True) + "\n", mode=0o600)
    return path


def load_local_secrets(name: str) -> dict[str, dict[str, str]]:
    path = local_secrets_file(name)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecordsError(f"the secrets of {name} are missing ({path}); register it again with `recipe register {name} --outputs FILE`") from None
    except json.JSONDecodeError as exc:
        raise RecordsCorrupt(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
