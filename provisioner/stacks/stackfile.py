"""Reading stack descriptions: `-f stack.yaml` and the CLI's own flags."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from recipes.spec import Layer, SpecError, StackSpec, load_spec

from provisioner.integrations import mlstacks

MAX_FILE_BYTES = 1_000_000


def read_stack_file(path: str | Path) -> Layer:
    """A stack file as a spec layer; every problem is a one-line SpecError naming the file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SpecError(f"{path}: no such file") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise SpecError(f"{path}: larger than {MAX_FILE_BYTES // 1000} kB; a stack file is a few lines")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise SpecError(f"{where}: invalid YAML ({problem})") from None
    except RecursionError:
        raise SpecError(f"{path}: nested too deeply") from None
    if data is None:
        raise SpecError(f"{path}: the file is empty; see README for the stack file fields")
    if not isinstance(data, Mapping):
        raise SpecError(f"{path}: expected a mapping of fields (provider: aws, name: ..., region: ...)")
    if mlstacks.is_mlstacks(data):
        converted = mlstacks.convert(data, path)
        return Layer(f"{path} (mlstacks spec)", converted.values, tuple(converted.notes))
    return Layer(str(path), data)


def spec_from_cli(provider: str | None, file: str | None, flags: Mapping[str, Any]) -> tuple[StackSpec, list[str]]:
    """Environment defaults, then the file, then the flags the user actually gave
    (None/empty means not given). Returns the spec and notes on how the file was read."""
    layers = []
    if file:
        layers.append(read_stack_file(file))
    given = {k: v for k, v in flags.items() if v is not None and v != [] and v != ()}
    if provider is not None:
        given["provider"] = provider
    layers.append(Layer("flags", given))
    chosen = given.get("provider") or next((layer.values.get("provider") for layer in layers if "provider" in layer.values), None)
    if chosen == "gcp" and not any("project" in layer.values for layer in layers):
        project = gcp_default_project()
        if project:
            layers.insert(0, Layer(f"the environment ({project[1]})", {"project": project[0]}))
    return load_spec(*layers), [note for layer in layers for note in layer.notes]


def gcp_default_project() -> tuple[str, str] | None:
    """The project gcloud and Google's libraries would use: (project, where it came from)."""
    for variable in ("GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT"):
        if os.environ.get(variable):
            return os.environ[variable].strip(), variable
    gcloud = shutil.which("gcloud")
    if not gcloud:
        return None
    try:
        done = subprocess.run([gcloud, "config", "get-value", "project"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    value = done.stdout.strip()
    return (value, "gcloud config") if done.returncode == 0 and value and value != "(unset)" else None


def spec_from_record(name: str, spec: Mapping[str, Any]) -> StackSpec:
    return load_spec(Layer(f"registry entry {name}", spec), recorded=True)
