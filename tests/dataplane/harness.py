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
  on the `kubernetes` provider there is none, and nothing is given: see below;
- the images: PostgreSQL from pgserver's binaries of the image's major version, run
  as the image's entrypoint would (initdb, POSTGRES_* variables, init scripts), and its
  client tools (pg_dump, pg_restore, psql) for the containers of that image; MLflow
  from a virtualenv pinned to the image's package set (`mlflow-image.txt`).

The `kubernetes` provider (a cluster we did not create: static keys, an S3-compatible endpoint). Nothing
is added to the pods' environment: their keys come from the plan's Secrets through secretKeyRef (the copy
in the pod's namespace), their endpoint from their own env. What stands in for the rest:
- the in-cluster object store (SeaweedFS) is moto in a process of its own with IAM enforcement on
  (keyed_s3.py), knowing exactly the identities of the store server's own `-s3.config` file (from the
  plan's Secret) with rights on the buckets their actions name; any other key, a wrong secret, another
  bucket are refused, presigned URLs included. The store's bucket Job runs against it (its script, with
  this machine's sh and curl for the image's) and creates the bucket, with the keys of its own Secret;
- cluster DNS for the store's Service (`objectstore.objectstore[.svc[.cluster.local]]:8333`) -> moto's
  127.0.0.1 address: resolved by the pods' Python processes (pods.RESOLVER), so the name stays in what
  they sign (MLflow's presigned download URLs); for the Job's curl the text is rewritten (also the bare
  `objectstore:8333` of its own namespace);
- --bucket: the user's S3 service is moto knowing only the user's key pair and holding the user's bucket;
  the user's --bucket-secret Secret holds what the mock cloud answers the program's read of it
  (mockcloud.kubernetes.bucket_secret_keys), and the pods read the copies the plan made of it; the
  endpoint `https://HOST` is rewritten to moto's `http://127.0.0.1:PORT`: its DNS and its TLS (a
  certificate the image trusts) are not emulated;
- this machine: the exports' `kubectl port-forward svc/objectstore 8333:8333` and the /etc/hosts line the
  ZenML export's note asks for are the same resolver in the user's Python processes (`localhost:8333` and
  the in-cluster name -> moto's address).
Not emulated for it: SeaweedFS itself (moto's S3 API, SigV4 checks and bucket policies stand for it, not
its filer, volumes or error texts), the claim's persistence, and the NetworkPolicies between namespaces.

Not emulated: the images themselves (Python 3.13 there, this machine's Python here),
the pod's uid and read-only root filesystem, cgroup memory limits, and GCS or Azure
Blob credentials (only S3 runs locally, through moto). On those clouds the bucket's
tracker backups folder (RECIPE_BACKUPS_URI, which the MLflow pod reads on an empty
database) is a local directory instead (`file://`, empty unless a test fills it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recipes.kubernetes import versions

from .images import PostgresContainer, postgres_bin
from .keyed_s3 import KeyedS3
from .pods import (
    SERVICE_DOMAIN,
    ClusterObjects,
    LocalPod,
    free_port,
    http_status,
    stop,
    wait_for,
)

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
    # The `kubernetes` provider's bucket endpoint as the pods dial it -> moto: the in-cluster store's Service
    # names resolved by the pods' Python processes (`bucket_hosts`: "<host>:<port>" -> "127.0.0.1:<port>"),
    # the user's endpoint rewritten (`bucket_dns`: "https://<host>" -> "http://127.0.0.1:<port>", kept in `dns`).
    bucket_hosts: dict[str, str] = field(default_factory=dict)
    bucket_dns: dict[str, str] = field(default_factory=dict)
    objects: ClusterObjects | None = None  # the plan's, unless given (with objects the user created)
    store: KeyedS3 | None = None  # the `kubernetes` provider's S3 API (stopped with the tracker)

    def __post_init__(self) -> None:
        self.objects = self.objects or ClusterObjects(self.plan)
        self.root.mkdir(parents=True, exist_ok=True)
        self._cleanup: list[Path] = []
        self.dns: dict[str, str] = dict(self.bucket_dns)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_database(self) -> None:
        (deployment,) = [name for name in self.objects.names("Deployment", self.namespace) if name != "mlflow"]
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
        self.dns[f"{deployment}.{self.namespace}.{SERVICE_DOMAIN}:{int(service['spec']['ports'][0]['port'])}"] = f"127.0.0.1:{port}"

    def mlflow_pod(self) -> LocalPod:
        return self.local_pod("Deployment", "mlflow")

    def local_pod(self, kind: str, name: str) -> LocalPod:
        """A pod of the tracker's namespace: the MLflow image's containers in its venv, the postgres image's on pgserver's binaries."""
        return LocalPod(self.objects, self.namespace, name, self.root / name, dns=self.dns, hosts=self.bucket_hosts,
                        identity_env=self.identity_env(),
                        image_path=[str(self.venv / "bin")], kind=kind,
                        images={versions.MLFLOW_IMAGE: [str(self.venv / "bin")], versions.POSTGRES_IMAGE: [str(postgres_bin())]})

    def identity_env(self) -> dict[str, str]:
        """What the pod's workload identity gives it (see the module's docstring)."""
        provider = self.plan.spec.provider
        if provider == "kubernetes":
            return {}  # no identity: its keys come from the plan's Secrets, its endpoint from its own env
        bucket = {} if provider == "aws" else {"RECIPE_BACKUPS_URI": (self.root / "bucket-backups").as_uri()}
        return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "MLFLOW_S3_ENDPOINT_URL": self.s3_endpoint, **bucket}

    def run_job(self, name: str) -> dict[str, subprocess.CompletedProcess]:
        """A Job's pod as the kubelet would run it (restartPolicy Never): each init container, then its
        containers, stopping at the first that fails. Every container's result, by name."""
        pod = self.local_pod("Job", name)
        results: dict[str, subprocess.CompletedProcess] = {}
        for container in [*pod.spec.get("initContainers", []), *pod.spec["containers"]]:
            results[container["name"]] = result = pod.run(container["name"])
            if result.returncode != 0:
                break
        return results

    def start_server(self, pod: LocalPod | None = None) -> None:
        """Run the pod as the kubelet would: each init container to completion, then the server."""
        pod = pod or self.mlflow_pod()
        self.init_results: dict[str, subprocess.CompletedProcess] = {}
        for init in pod.spec.get("initContainers", []):
            result = self.init_results[init["name"]] = pod.run(init["name"])
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
        if self.store is not None:
            self.store.stop()
        for path in self._cleanup:
            shutil.rmtree(path, ignore_errors=True)
