"""Pods as local processes: the plan's Kubernetes objects, and what a node does with them.

What is emulated, and only that (see harness.py for the whole picture):
- volumes: Secret, ConfigMap, emptyDir and claim volumes become directories; every
  mount path in a container's command, args and environment points at its directory;
- cluster DNS: `<service>.<namespace>.svc.cluster.local:<port>` of a service the
  harness runs becomes its 127.0.0.1 address (in env, args and mounted files; libpq's
  PGHOST and PGPORT as a pair), or, for a name the pod signs into URLs it hands out,
  stays as it is and resolves to that address in the pod's Python processes (RESOLVER);
- the pod network: options such as `--host`/`--port` are given local values;
- what Kubernetes adds itself: service-link variables (`MLFLOW_PORT=tcp://...`)
  unless the pod spec turns them off.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERVICE_DOMAIN = "svc.cluster.local"

# Cluster DNS for a name a pod signs into what it hands out (the S3 endpoint of a presigned URL): the name must
# stay as it is, so the pod's Python processes resolve it (this sitecustomize, first on their PYTHONPATH) to a
# local address instead of its text being rewritten. "<host>:<port>" -> "127.0.0.1:<port>", from HOSTS_VARIABLE.
HOSTS_VARIABLE = "RECIPE_DATAPLANE_HOSTS"
RESOLVER = f"""
import json, os, socket
_hosts = json.loads(os.environ.get({HOSTS_VARIABLE!r}) or "{{}}")
_getaddrinfo = socket.getaddrinfo


def _resolve(host, port, *args, **kwargs):
    local = _hosts.get(f"{{host}}:{{port}}")
    if local:
        host, port = local.rsplit(":", 1)[0], int(local.rsplit(":", 1)[1])
    return _getaddrinfo(host, port, *args, **kwargs)


socket.getaddrinfo = _resolve
"""


def resolver_env(hosts: dict[str, str], where: Path, pythonpath: str | None = None) -> dict[str, str]:
    """The variables that make a Python process resolve `hosts` ("<host>:<port>" -> "<ip>:<port>") as RESOLVER does."""
    where.mkdir(parents=True, exist_ok=True)
    (where / "sitecustomize.py").write_text(RESOLVER)
    return {"PYTHONPATH": os.pathsep.join([str(where), *([pythonpath] if pythonpath else [])]),
            HOSTS_VARIABLE: json.dumps(hosts)}


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

    def names(self, kind: str, namespace: str) -> list[str]:
        return [name for (k, ns, name) in self._objects if k == kind and ns == namespace]

    def create(self, kind: str, namespace: str, name: str, obj: dict[str, Any]) -> None:
        """An object the cluster holds that the plan does not create (the user's own, e.g. a Secret)."""
        if (kind, namespace, name) in self._objects:
            raise ValueError(f"{kind} {namespace}/{name} already exists (the plan creates it)")
        self._objects[(kind, namespace, name)] = obj

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
    # The object whose pod template this is (`deployment` names it): a Deployment or a Job.
    kind: str = "Deployment"
    # Per image, the directories that stand in for it (else `image_path`): a pod of two images.
    images: dict[str, list[str]] = field(default_factory=dict)
    # "<host>:<port>" -> "127.0.0.1:<port>" resolved by the pod's Python processes, the text left as it is (RESOLVER).
    hosts: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.template = self.objects.get(self.kind, self.namespace, self.deployment)["spec"]["template"]
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
        # Longest first: `svc:port` (a name in the pod's own namespace) is the tail of `svc.namespace:port`.
        for address, local in sorted(self.dns.items(), key=lambda item: len(item[0]), reverse=True):
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
        # libpq's PGHOST and PGPORT name a Service's address as two variables: resolved as a pair.
        if "PGHOST" in env and (local := self.dns.get(f"{env['PGHOST']}:{env.get('PGPORT', '5432')}")):
            env["PGHOST"], env["PGPORT"] = local.rsplit(":", 1)
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
        path = os.pathsep.join([*self.images.get(container.get("image", ""), self.image_path), "/usr/bin", "/bin"])
        # The image's environment (PATH), the container's, then what its identity provides.
        env = {"PATH": path, "LANG": "C.UTF-8", **self.env(container), **self.identity_env, **(extra_env or {})}
        if self.hosts:
            env.update(resolver_env(self.hosts, self.root / "resolver", env.get("PYTHONPATH")))
        return env


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


