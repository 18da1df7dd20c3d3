"""Run the tracker's pods on this machine, from the plan's own rendered configuration.

The pod specs, Secrets and ConfigMaps come from the real program's plan (with the mock
cloud's stand-in secrets in clear), never from a re-typed copy. What a node would do
is emulated, and only that:

- volumes: Secret, ConfigMap and emptyDir volumes become directories; every mount
  path in a container's command, args and environment points at its directory;
- cluster DNS: `<service>.<namespace>.svc.cluster.local:<port>` of a service the
  harness runs becomes its 127.0.0.1 address (in env, args and mounted files);
- the pod network: `--host`/`--port` of the server become 127.0.0.1 and a free port;
- what Kubernetes adds itself: service-link variables (`MLFLOW_PORT=tcp://...`)
  unless the pod spec turns them off;
- workload identity: the cloud credentials the pod would get from its identity
  are given as environment variables (moto's test keys and endpoint for S3);
- the images: PostgreSQL from pgserver's binaries of the image's major version, run
  as the image's entrypoint would (initdb, POSTGRES_* variables, init scripts); MLflow
  from a virtualenv pinned to the image's package set (`mlflow-image.txt`).

Not emulated: the images themselves (Python 3.13 there, this machine's Python here),
the pod's uid and read-only root filesystem, cgroup memory limits, and GCS or Azure
Blob credentials (only S3 runs locally, through moto).
"""

from __future__ import annotations

import base64
import hashlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "mlflow-image.txt"
SERVICE_DOMAIN = "svc.cluster.local"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, what: str, timeout: float = 120.0, process: subprocess.Popen | None = None, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what}: exited with {process.returncode}\n{_tail(log)}")
        try:
            result = check()
            if result:
                return result
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{what}: not ready after {timeout:.0f}s\n{_tail(log)}")


def _tail(log: Path | None, lines: int = 40) -> str:
    if log is None or not log.exists():
        return ""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


# ---------------------------------------------------------------------------
# The plan as a cluster's objects


class ClusterObjects:
    """Secrets, ConfigMaps, Services and Deployments of a revealed plan, by namespace and name."""

    def __init__(self, plan: Any):
        self.plan = plan
        self._objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        for r in plan.resources:
            if not r.type.startswith("kubernetes:") or "metadata" not in r.inputs:
                continue
            kind = r.type.rsplit(":", 1)[-1]
            meta = r.inputs["metadata"]
            self._objects[(kind, meta.get("namespace") or "", meta["name"])] = r.inputs

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        try:
            return self._objects[(kind, namespace, name)]
        except KeyError:
            raise LookupError(f"the plan has no {kind} {namespace}/{name}") from None

    def data(self, kind: str, namespace: str, name: str) -> dict[str, str]:
        """A Secret's or ConfigMap's files, decoded."""
        obj = self.get(kind, namespace, name)
        out = {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()} if kind == "Secret" else dict(obj.get("data") or {})
        out.update(obj.get("stringData") or {})
        return out

    def services(self, namespace: str) -> list[dict[str, Any]]:
        return [obj for (kind, ns, _), obj in self._objects.items() if kind == "Service" and ns == namespace]

    def deployment(self, namespace: str, name: str) -> dict[str, Any]:
        return self.get("Deployment", namespace, name)


# ---------------------------------------------------------------------------
# One pod, as local processes


@dataclass
class LocalPod:
    objects: ClusterObjects
    namespace: str
    deployment: str
    root: Path
    # "<host>:<port>" as the pod would dial it -> "127.0.0.1:<port>" here
    dns: dict[str, str] = field(default_factory=dict)
    # What the pod's workload identity would provide.
    identity_env: dict[str, str] = field(default_factory=dict)
    # Directories prepended to PATH: the "image".
    image_path: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.template = self.objects.deployment(self.namespace, self.deployment)["spec"]["template"]
        self.spec = self.template["spec"]
        self.volumes: dict[str, Path] = {}
        for volume in self.spec.get("volumes", []):
            self.volumes[volume["name"]] = self._materialize(volume)

    def _materialize(self, volume: dict[str, Any]) -> Path:
        where = self.root / "volumes" / volume["name"]
        where.mkdir(parents=True, exist_ok=True)
        if "secret" in volume or "configMap" in volume:
            kind, source = ("Secret", volume["secret"]) if "secret" in volume else ("ConfigMap", volume["configMap"])
            name = source.get("secretName") or source.get("name")
            files = self.objects.data(kind, self.namespace, name)
            items = source.get("items") or [{"key": k, "path": k} for k in files]
            for item in items:
                target = where / item["path"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(self.resolve_dns(files[item["key"]]))
                target.chmod(0o600 if kind == "Secret" else 0o644)
        elif "emptyDir" not in volume and "persistentVolumeClaim" not in volume:
            # A claim is a directory that outlives the pod's processes (the harness's own life).
            raise NotImplementedError(f"volume {volume['name']}: only secret, configMap, emptyDir and claims are emulated")
        return where

    # --- what a container sees ------------------------------------------------
    def container(self, name: str) -> dict[str, Any]:
        for c in [*self.spec.get("initContainers", []), *self.spec["containers"]]:
            if c["name"] == name:
                return c
        raise LookupError(f"{self.deployment} has no container {name}")

    def mounts(self, container: dict[str, Any]) -> list[tuple[str, Path]]:
        found = [(m["mountPath"], self.volumes[m["name"]]) for m in container.get("volumeMounts", [])]
        return sorted(found, key=lambda pair: len(pair[0]), reverse=True)

    def local(self, text: str, container: dict[str, Any]) -> str:
        """A string as this container sees it: mount paths made local, service addresses resolved."""
        mounts = dict(self.mounts(container))
        if mounts:
            # One pass, longest path first, whole path segments only: /tmp must not match /tmpfoo,
            # nor a directory this replacement has just written.
            pattern = "|".join(re.escape(m) for m in sorted(mounts, key=len, reverse=True))
            text = re.sub(f"(?<![\\w/.-])({pattern})(?=/|$|[^\\w.-])", lambda m: str(mounts[m.group(1)]), text)
        return self.resolve_dns(text)

    def resolve_dns(self, text: str) -> str:
        for address, local in self.dns.items():
            text = text.replace(address, local)
        return text

    def env(self, container: dict[str, Any]) -> dict[str, str]:
        env: dict[str, str] = {}
        if self.spec.get("enableServiceLinks", True):
            env.update(self._service_links())
        for item in container.get("env", []):
            if "value" in item:
                env[item["name"]] = self.local(str(item["value"]), container)
            else:
                ref = item["valueFrom"]
                kind, key_ref = ("Secret", ref["secretKeyRef"]) if "secretKeyRef" in ref else ("ConfigMap", ref["configMapKeyRef"])
                env[item["name"]] = self.resolve_dns(self.objects.data(kind, self.namespace, key_ref["name"])[key_ref["key"]])
        return env

    def _service_links(self) -> dict[str, str]:
        """The variables the kubelet adds for every Service in the pod's namespace."""
        links: dict[str, str] = {}
        for i, service in enumerate(self.objects.services(self.namespace)):
            prefix = service["metadata"]["name"].upper().replace("-", "_")
            ip = f"10.96.0.{10 + i}"
            ports = [{**p, "port": int(p["port"])} for p in service["spec"]["ports"]]
            links[f"{prefix}_SERVICE_HOST"] = ip
            links[f"{prefix}_SERVICE_PORT"] = str(ports[0]["port"])
            links[f"{prefix}_PORT"] = f"tcp://{ip}:{ports[0]['port']}"
            for port in ports:
                base = f"{prefix}_PORT_{port['port']}_TCP"
                links.update({base: f"tcp://{ip}:{port['port']}", f"{base}_PROTO": "tcp",
                              f"{base}_PORT": str(port["port"]), f"{base}_ADDR": ip})
        return links

    def argv(self, container: dict[str, Any], **option_values: str) -> list[str]:
        """command + args, local; `option_values` replace the value after `--option` (the pod network)."""
        argv = [self.local(str(a), container) for a in [*container.get("command", []), *container.get("args", [])]]
        for option, value in option_values.items():
            flag = "--" + option.replace("_", "-")
            if flag in argv:
                argv[argv.index(flag) + 1] = value
        return argv

    def start(self, name: str, *, extra_env: dict[str, str] | None = None, **option_values: str) -> subprocess.Popen:
        container = self.container(name)
        env = self.process_env(container, extra_env)
        log = self.root / f"{name}.log"
        with open(log, "ab") as out:
            return subprocess.Popen(self.argv(container, **option_values), env=env, stdout=out, stderr=subprocess.STDOUT,
                                    cwd=self.root, start_new_session=True)

    def run(self, name: str, *, timeout: float = 180, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        container = self.container(name)
        return subprocess.run(self.argv(container), env=self.process_env(container, extra_env), capture_output=True,
                              text=True, timeout=timeout, cwd=self.root)

    def process_env(self, container: dict[str, Any], extra_env: dict[str, str] | None) -> dict[str, str]:
        path = os.pathsep.join([*self.image_path, "/usr/bin", "/bin"])
        # The image's environment (PATH), the container's, then what its identity provides.
        return {"PATH": path, "LANG": "C.UTF-8", **self.env(container), **self.identity_env, **(extra_env or {})}


def stop(process: subprocess.Popen | None, timeout: float = 20) -> None:
    """SIGTERM the process group (the server and its workers), then SIGKILL what is left."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)


# ---------------------------------------------------------------------------
# The images


def postgres_bin() -> Path:
    """PostgreSQL's binaries from the pgserver wheel (16.x, the image's major version).

    As root, PostgreSQL runs as nobody, who may not reach a virtualenv under a private
    directory (CI's is under a 0700 temp dir): then a copy in a world-readable place is used."""
    import importlib.util

    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pgserver is not installed: pip install -e '.[test]'")
    install = Path(next(iter(spec.submodule_search_locations))) / "pginstall"
    if os.geteuid() == 0 and not _reachable_by_others(install):
        copy = Path(tempfile.gettempdir()) / f"recipe-dataplane-pginstall-{hashlib.sha256(str(install).encode()).hexdigest()[:12]}"
        if not (copy / "bin" / "postgres").exists():
            staging = Path(tempfile.mkdtemp(prefix="recipe-dataplane-pginstall-"))
            shutil.copytree(install, staging / "pginstall", symlinks=True)
            staging.chmod(0o755)
            os.replace(staging / "pginstall", copy)
            shutil.rmtree(staging, ignore_errors=True)
        install = copy
    return install / "bin"


def _reachable_by_others(path: Path) -> bool:
    return all(p.stat().st_mode & 0o001 for p in [path, *path.parents])


def postgres_major() -> str:
    out = subprocess.run([str(postgres_bin() / "postgres"), "--version"], capture_output=True, text=True, check=True).stdout
    return out.split()[-1].split(".")[0]


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
    """A virtualenv with the MLflow image's packages (`mlflow-image.txt`); built once.

    RECIPE_DATAPLANE_VENV names it (CI builds it before the tests); else it is kept under
    the user cache directory, keyed by the requirements file's content."""
    configured = os.environ.get("RECIPE_DATAPLANE_VENV")
    if configured:
        venv = Path(configured)
    else:
        digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
        venv = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "stack-recipes" / f"mlflow-image-{digest}"
    python = venv / "bin" / "python"
    marker = venv / ".complete"
    if not marker.exists():
        build_mlflow_image_venv(venv)
        marker.write_text(REQUIREMENTS.read_text())
    return venv


def build_mlflow_image_venv(venv: Path) -> None:
    if venv.exists():
        shutil.rmtree(venv)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "-r", str(REQUIREMENTS)], check=True, timeout=1200)


def http_status(url: str, auth: tuple[str, str] | None = None) -> int:
    request = urllib.request.Request(url)
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def tree_pids(root: int) -> list[int]:
    """`root` and every descendant, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def tree_pss_mib(root: int) -> float:
    """Proportional set size of a process tree: what its pages cost, shared pages split fairly."""
    total_kib = 0
    for pid in tree_pids(root):
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kib += int(line.split()[1])
        except OSError:
            continue
    return total_kib / 1024


# ---------------------------------------------------------------------------
# The whole tracker: PostgreSQL, MLflow and the bucket, as the plan declares them


@dataclass
class Tracker:
    """MLflow and its database running from a revealed plan, artifacts in an S3 API (moto)."""

    plan: Any
    root: Path
    venv: Path
    s3_endpoint: str
    namespace: str = "mlflow"
    db: PostgresContainer | None = None
    server: subprocess.Popen | None = None
    port: int = 0

    def __post_init__(self) -> None:
        self.objects = ClusterObjects(self.plan)
        self.root.mkdir(parents=True, exist_ok=True)
        self._cleanup: list[Path] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_database(self) -> None:
        (deployment,) = [name for (kind, ns, name) in self.objects._objects if kind == "Deployment" and ns == self.namespace
                         and name != "mlflow"]
        db_root = self.root / "db"
        if os.geteuid() == 0:
            # PostgreSQL runs as nobody (see PostgresContainer), who must reach its files:
            # a directory of its own under /tmp rather than opening up the test's temp dirs.
            db_root = Path(tempfile.mkdtemp(prefix="recipe-dataplane-db-"))
            db_root.chmod(0o755)
            self._cleanup.append(db_root)
        pod = LocalPod(self.objects, self.namespace, deployment, db_root)
        self.db = PostgresContainer(pod)
        port = self.db.start()
        (service,) = [s for s in self.objects.services(self.namespace) if s["metadata"]["name"] == deployment]
        self.dns = {f"{deployment}.{self.namespace}.{SERVICE_DOMAIN}:{int(service['spec']['ports'][0]['port'])}": f"127.0.0.1:{port}"}

    def mlflow_pod(self) -> LocalPod:
        return LocalPod(self.objects, self.namespace, "mlflow", self.root / "mlflow", dns=self.dns,
                        identity_env={"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                                      "MLFLOW_S3_ENDPOINT_URL": self.s3_endpoint},
                        image_path=[str(self.venv / "bin")])

    def start_server(self, pod: LocalPod | None = None) -> None:
        """Run the pod as the kubelet would: each init container to completion, then the server."""
        pod = pod or self.mlflow_pod()
        for init in pod.spec.get("initContainers", []):
            result = pod.run(init["name"])
            if result.returncode != 0:
                raise RuntimeError(f"init container {init['name']} failed:\n{result.stdout}\n{result.stderr}")
        self.port = free_port()
        self.server = pod.start("mlflow", host="127.0.0.1", port=str(self.port))
        wait_for(lambda: http_status(f"{self.url}/health") == 200, "mlflow", timeout=180,
                 process=self.server, log=pod.root / "mlflow.log")
        self.pod = pod

    def stop_server(self) -> None:
        stop(self.server)
        self.server = None

    def stop(self) -> None:
        self.stop_server()
        if self.db is not None:
            self.db.stop()
        for path in self._cleanup:
            shutil.rmtree(path, ignore_errors=True)
