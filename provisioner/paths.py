"""Where stack-recipes keeps things on the user's machine.

`RECIPE_HOME` puts everything under one directory (tests, CI, several
independent setups); otherwise the platform's standard config and data dirs.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from recipes.errors import BadInput

APP = "stack-recipes"


class HomeError(BadInput):
    """RECIPE_HOME (or a folder under it) cannot hold our files: nothing was touched."""


def _home(value: str) -> Path:
    """RECIPE_HOME, refused when it (or the nearest part of it that exists) is not a directory."""
    home = Path(value).expanduser()
    existing = next((p for p in (home, *home.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        where = "is a file" if existing == home else f"is under {existing}, which is a file"
        raise HomeError(f"RECIPE_HOME={value} {where}, not a directory; point RECIPE_HOME at a directory "
                        "(it is created if missing) or unset it to use the platform's folders")
    return home


def _dir(kind: str) -> Path:
    """RECIPE_HOME/<kind> when set (tests, CI, several setups side by side), else the platform's own folder."""
    value = os.environ.get("RECIPE_HOME")
    if value:
        return _home(value) / kind
    import platformdirs

    return Path(getattr(platformdirs, f"user_{kind}_dir")(APP))


def config_dir() -> Path:
    """The stack records live here."""
    return _dir("config")


def data_dir() -> Path:
    """Local Pulumi state, the generated passphrase, kubeconfigs."""
    return _dir("data")


def cache_dir() -> Path:
    """Things that can be recomputed: offline plans."""
    return _dir("cache")


def records_dir() -> Path:
    return config_dir() / "stacks"


def default_backend() -> str:
    return (data_dir() / "state").as_uri()


def passphrase_file() -> Path:
    return data_dir() / "passphrase"


def kubeconfig_file(stack: str) -> Path:
    return data_dir() / "kubeconfig" / f"{stack}.yaml"


def workspace_dir(stack: str, backend: str) -> Path:
    """Pulumi's workspace for one stack in one backend.

    Keep it: with the passphrase secrets provider, the stack's encryption salt
    lives in its Pulumi.<stack>.yaml here.
    """
    import hashlib

    return data_dir() / "workspaces" / f"{stack}-{hashlib.sha256(backend.encode()).hexdigest()[:8]}"


def normalize_backend(url: str) -> str:
    """A file:// backend as an absolute path (Pulumi runs in the workspace dir, not here)."""
    if not url.startswith("file://"):
        return url
    local = url[len("file://"):]
    if local.startswith("/"):
        return url
    return Path(local).expanduser().resolve().as_uri()


def atomic_write(path: Path, text: str, *, mode: int) -> None:
    """Write `text` to `path` so readers see the old or the new file, never a mix.

    The file is created with `mode` from the start (a secret is never briefly
    world-readable), and an existing file's mode is replaced.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_error(exc: OSError) -> BadInput:
    """A file or folder we could not use, as one line naming it and the fix (RECIPE_HOME when it is ours)."""
    name = exc.filename or "a file"
    reason = exc.strerror or str(exc)
    home = os.environ.get("RECIPE_HOME")
    if home and str(name).startswith(str(Path(home).expanduser())):
        fix = f"RECIPE_HOME={home} must be a writable directory: fix its permissions or point RECIPE_HOME elsewhere"
    elif home is None and any(str(name).startswith(str(d)) for d in (config_dir(), data_dir(), cache_dir())):
        fix = "this is stack-recipes' own folder: fix its permissions, or set RECIPE_HOME to a writable directory"
    else:
        fix = "check the path and its permissions"
    return HomeError(f"cannot use {name}: {reason}; {fix}")
