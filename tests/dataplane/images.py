"""The images, stood in for locally: PostgreSQL 16 (the pgserver wheel's binaries, run as the
postgres image's entrypoint runs them) and MLflow with the tracker image's package set."""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.pinned_venv import pinned_venv

from .pods import LocalPod, free_port, stop, wait_for

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "mlflow-image.txt"


def postgres_bin() -> Path:
    """PostgreSQL's binaries from the pgserver wheel (16.x, the image's major version).

    As root, PostgreSQL runs as nobody, who may not reach a virtualenv under a private
    directory (CI's is under a 0700 temp dir): then a copy in a world-readable place is used."""
    import importlib.util

    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pgserver is not installed: pip install -e '.[test]'")
    package = Path(next(iter(spec.submodule_search_locations)))
    install = package / "pginstall"
    if os.geteuid() == 0 and not _reachable_by_others(install):
        # The binaries find their libraries at $ORIGIN/../../../pgserver.libs: copy both, side by side.
        copy = Path(tempfile.gettempdir()) / f"recipe-dataplane-pgserver-{hashlib.sha256(str(package).encode()).hexdigest()[:12]}"
        if not (copy / "pgserver" / "pginstall" / "bin" / "postgres").exists():
            staging = Path(tempfile.mkdtemp(prefix="recipe-dataplane-pgserver-"))
            for name in ("pgserver/pginstall", "pgserver.libs"):
                shutil.copytree(package.parent / name, staging / name, symlinks=True)
            staging.chmod(0o755)
            shutil.rmtree(copy, ignore_errors=True)
            os.replace(staging, copy)
        install = copy / "pgserver" / "pginstall"
    return install / "bin"


def _reachable_by_others(path: Path) -> bool:
    return all(p.stat().st_mode & 0o001 for p in [path, *path.parents])


class PostgresContainer:
    """The official postgres image's entrypoint, on the pod's own environment and init scripts."""

    def __init__(self, pod: LocalPod, container: str = "postgres"):
        self.pod = pod
        self.container = pod.container(container)
        self.env = pod.env(self.container)
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        # The image's data directory (PGDATA, on the claim) and socket directory, as mounted.
        self.data = Path(self.env.get("PGDATA") or pod.local("/var/lib/postgresql/data", self.container))
        self.sockets = Path(pod.local("/var/run/postgresql", self.container))
        self.log = pod.root / "postgres.log"
        # PostgreSQL refuses to run as root: run it as nobody, as the image runs it as `postgres`.
        self._user = pwd.getpwnam("nobody") if os.geteuid() == 0 else None

    def _demote(self):
        if self._user is not None:
            os.setgid(self._user.pw_gid)
            os.setuid(self._user.pw_uid)

    def _own(self, path: Path) -> None:
        if self._user is not None:
            os.chown(path, self._user.pw_uid, self._user.pw_gid)

    def _password(self) -> str:
        if "POSTGRES_PASSWORD_FILE" in self.env:
            return Path(self.env["POSTGRES_PASSWORD_FILE"]).read_text().rstrip("\n")
        return self.env["POSTGRES_PASSWORD"]

    def start(self) -> int:
        binaries = postgres_bin()
        user = self.env.get("POSTGRES_USER", "postgres")
        database = self.env.get("POSTGRES_DB", user)
        for path in (self.data.parent, self.data, self.sockets):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._own(path)
        pwfile = self.pod.root / "pgpass.tmp"
        pwfile.write_text(self._password() + "\n")
        pwfile.chmod(0o600)
        self._own(pwfile)
        self._run([str(binaries / "initdb"), "-D", str(self.data), "-U", user, f"--pwfile={pwfile}",
                   "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8"])
        pwfile.unlink()
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [str(binaries / "postgres"), "-D", str(self.data), "-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
                 "-c", f"unix_socket_directories={self.sockets}"],
                stdout=out, stderr=subprocess.STDOUT, preexec_fn=self._demote, start_new_session=True,
            )
        wait_for(lambda: self._run([str(binaries / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)], check=False).returncode == 0,
                 "postgres", process=self.process, log=self.log)
        if database != "postgres":
            self.psql("postgres", f'CREATE DATABASE "{database}";')
        # The image runs *.sql from /docker-entrypoint-initdb.d against POSTGRES_DB, once.
        for mount_path, directory in self.pod.mounts(self.container):
            if mount_path == "/docker-entrypoint-initdb.d":
                for script in sorted(directory.glob("*.sql")):
                    self.psql(database, script.read_text())
        return self.port

    def psql(self, database: str, sql: str) -> str:
        user = self.env.get("POSTGRES_USER", "postgres")
        return self._run([str(postgres_bin() / "psql"), "-v", "ON_ERROR_STOP=1", "-h", str(self.sockets), "-p", str(self.port),
                          "-U", user, "-d", database, "-At", "-c", sql]).stdout

    def _run(self, argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(argv, capture_output=True, text=True, preexec_fn=self._demote, timeout=120)
        if check and result.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {result.stderr[-2000:]}")
        return result

    def stop(self) -> None:
        stop(self.process)


def mlflow_image_venv() -> Path:
    """A virtualenv with the MLflow image's packages (`mlflow-image.txt`), named by
    RECIPE_DATAPLANE_VENV (CI builds it before the tests), else kept in the user cache."""
    return pinned_venv(REQUIREMENTS, "RECIPE_DATAPLANE_VENV", "mlflow-image")


