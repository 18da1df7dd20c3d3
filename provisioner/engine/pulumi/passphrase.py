"""The secrets passphrase and the local state directory every Pulumi command needs.

Stacks use Pulumi's passphrase secrets provider: no cloud KMS to set up before the
first deploy. The passphrase is generated once and kept in a private file; losing it
loses every stack's secrets, so it is never regenerated over existing state.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

from provisioner import paths
from provisioner.engine import EngineError, PassphraseError

PASSPHRASE_ENV = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")


def _read_passphrase(path: Path) -> str:
    value = path.read_text(encoding="utf-8").rstrip("\r\n")
    if not value:
        raise EngineError(
            f"the passphrase file {path} is empty; restore it from a backup, "
            "or set PULUMI_CONFIG_PASSPHRASE to the passphrase your stacks were created with"
        )
    return value


def ensure_passphrase() -> dict[str, str]:
    """The environment that gives Pulumi the secrets passphrase.

    PULUMI_CONFIG_PASSPHRASE / PULUMI_CONFIG_PASSPHRASE_FILE from the environment win.
    Otherwise the passphrase lives in `paths.passphrase_file()`: generated once,
    written atomically with mode 0600, never overwritten.
    """
    from_env = {name: os.environ[name] for name in PASSPHRASE_ENV if name in os.environ}
    if from_env:
        return from_env

    path = paths.passphrase_file()
    if path.exists():
        return {"PULUMI_CONFIG_PASSPHRASE": _read_passphrase(path)}
    # Never generate a new passphrase where stacks were created with an old one:
    # it could not read their state, and would hide that the old one is lost.
    existing = sorted(p.parent.name for p in paths.data_dir().glob("workspaces/*/Pulumi.*.yaml")
                      if "encryptionsalt" in p.read_text(encoding="utf-8", errors="ignore"))
    if existing:
        raise PassphraseError(
            f"the passphrase file {path} is missing, but stacks were created with it ({', '.join(existing)}). "
            "Restore the file from a backup, or set PULUMI_CONFIG_PASSPHRASE to that passphrase; "
            "a new one would not decrypt their state."
        )

    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    fd, temp_name = tempfile.mkstemp(prefix=".passphrase-", dir=path.parent)  # O_EXCL, mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), 0o600)
            handle.write(value)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            # link() never replaces an existing file: a concurrent first run keeps its passphrase.
            os.link(temp_name, path)
        except FileExistsError:
            pass
        except OSError:  # no hard links on this filesystem
            if not path.exists():
                os.replace(temp_name, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
    if hasattr(os, "O_DIRECTORY"):
        with contextlib.suppress(OSError):
            dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    return {"PULUMI_CONFIG_PASSPHRASE": _read_passphrase(path)}


def backend_local_dir(backend: str) -> Path | None:
    """The directory of a file:// backend (file://~/x, file:///abs/x), None for other backends."""
    if not backend.startswith("file://"):
        return None
    rest = backend[len("file://"):]
    if rest.startswith("~"):
        return Path(os.path.expanduser(unquote(rest.split("?", 1)[0])))
    parsed = urlparse(backend)
    local = unquote(parsed.path)
    if parsed.netloc and parsed.netloc not in ("localhost",):
        local = unquote(parsed.netloc) + local  # file://relative/dir
    if os.name == "nt" and re.match(r"^/[A-Za-z]:", local):
        local = local[1:]
    return Path(local)
