"""`recipe export NAME --format zenml --register`: from a deployed stack to a ZenML stack in one step.

ZenML is big and not our dependency, so we never import it here: we find the
Python that has it (this one, or the one behind the `zenml` command) and run
`zenml_worker.py` there. The exported document carries a secret *reference*;
the MLflow password travels on the worker's stdin into a ZenML secret.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WORKER = Path(__file__).with_name("zenml_worker.py")
TIMEOUT_SECONDS = 300


class ZenMLUnavailable(RuntimeError):
    """zenml is not installed where we can run it."""


class ZenMLImportFailed(RuntimeError):
    pass


@dataclass
class Registered:
    stack: str
    secret: str | None
    zenml_version: str
    renamed: dict[str, str] = field(default_factory=dict)
    log: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"stack": self.stack, "secret": self.secret, "zenml_version": self.zenml_version, "renamed": self.renamed}


def zenml_python() -> str | None:
    """The interpreter that can import zenml: ours first, else the `zenml` command's."""
    if importlib.util.find_spec("zenml") is not None:
        return sys.executable
    command = shutil.which("zenml")
    if command is None:
        return None
    try:
        first = Path(command).read_text(encoding="utf-8", errors="replace").splitlines()[0]
    except (OSError, IndexError):
        return None
    if first.startswith("#!"):
        interpreter = first[2:].strip().split()[0]
        if os.access(interpreter, os.X_OK):
            return interpreter
    return None


def register(document: dict[str, Any], *, password: str | None, secret_name: str | None,
             secrets: dict[str, dict[str, str]] | None = None, python: str | None = None) -> Registered:
    """Import `document` into the active ZenML store; returns the names actually used. `secrets`: other ZenML
    secrets the document refers to, {name: {key: value}} (the bucket's keys), created like the password's."""
    python = python or zenml_python()
    if python is None:
        raise ZenMLUnavailable(
            "zenml is not installed here, so the stack cannot be registered in ZenML: "
            "pip install 'zenml[local]' (and the kubernetes integration if you use the cluster), "
            "or write the file with -o and run `zenml stack import FILE` where zenml is"
        )
    with tempfile.TemporaryDirectory(prefix="recipe-zenml-") as tmp:
        result_file = Path(tmp) / "result.json"
        request = {"document": document, "secret_name": secret_name, "secret_key": "password",
                   "password": password, "result_file": str(result_file),
                   "secrets": [{"name": name, "values": values} for name, values in (secrets or {}).items()]}
        env = {**os.environ, "ZENML_ANALYTICS_OPT_IN": os.environ.get("ZENML_ANALYTICS_OPT_IN", "false")}
        try:
            proc = subprocess.run([python, str(WORKER)], input=json.dumps(request), capture_output=True,
                                  text=True, env=env, timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            raise ZenMLImportFailed(f"zenml did not finish within {TIMEOUT_SECONDS} s; run `zenml stack list` to see what was imported") from None
        log = (proc.stdout + proc.stderr).strip()
        try:
            result = json.loads(result_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            tail = "\n".join(log.splitlines()[-5:])
            raise ZenMLImportFailed(f"zenml stack import failed (exit {proc.returncode}):\n{tail}") from None
    if "error" in result:
        tail = "\n".join(line for line in log.splitlines()[-5:])
        raise ZenMLImportFailed(f"zenml stack import failed: {result['error']}" + (f"\n{tail}" if tail else ""))
    return Registered(stack=result["stack"], secret=result["secret"], zenml_version=result["zenml_version"],
                      renamed=result["renamed"], log=log)
