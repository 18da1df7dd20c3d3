"""A virtualenv holding exactly a pinned requirements file, built once and reused.

The data-plane tests (MLflow with its image's packages) and the scanners (Checkov,
kubernetes-validate, parliament) each run from one: their dependency trees must not
touch the project's. An environment variable names a prepared one (.ci/run builds it
first, so a failed install shows as such); else it lives under the user cache
directory, keyed by the requirements file's content, and is rebuilt when that changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path


def pinned_venv(requirements: Path, env_var: str, cache_name: str) -> Path:
    configured = os.environ.get(env_var)
    if configured:
        venv = Path(configured)
    else:
        digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
        venv = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "stack-recipes" / f"{cache_name}-{digest}"
    marker = venv / ".complete"
    if not marker.exists() or marker.read_text() != requirements.read_text():
        build(venv, requirements)
        marker.write_text(requirements.read_text())
    return venv


def build(venv: Path, requirements: Path) -> None:
    """A fresh virtualenv with the file's packages, --no-deps: the file is the whole resolved set."""
    if venv.exists():
        shutil.rmtree(venv)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    done = subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                           "-r", str(requirements)], capture_output=True, text=True, timeout=1200)
    if done.returncode != 0:
        raise RuntimeError(f"installing {requirements.name} into {venv} failed:\n{done.stdout[-3000:]}{done.stderr[-5000:]}")
