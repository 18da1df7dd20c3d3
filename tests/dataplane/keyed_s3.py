"""An S3 API that checks keys, for the `kubernetes` provider's bucket: moto in a process of its own with its
IAM enforcement on from the first request (`INITIAL_NO_AUTH_ACTION_COUNT=0`), knowing only the identities it
is given: a key pair, and the buckets that pair may use. Any other key id is refused (InvalidAccessKeyId), a
wrong secret too (SignatureDoesNotMatch, moto recomputes the SigV4 signature), and a known pair on another
bucket (AccessDenied). Presigned URLs (query auth), which moto's enforcement does not read, are checked the
same way by the launcher. Unlike the session's moto (conftest.s3_endpoint), which accepts any key.

Its own process because moto's switch and its request counter are process-wide: turning them on here would
turn them on for the session's moto too.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .pods import SERVICE_DOMAIN, ClusterObjects, LocalPod, free_port, stop, wait_for

# Runs in the subprocess: the identities (JSON on stdin) as IAM users of moto's default account, each with
# exactly its key pair (moto generates keys of its own: the pair is put in place of the generated one) and
# a policy granting S3 on its buckets and their objects alone; then the server, with enforcement on.
LAUNCHER = r"""
import json, sys, threading
from moto import settings
from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.models import iam_backends
from moto.server import ThreadedMotoServer

config = json.loads(sys.stdin.read())
iam = iam_backends[DEFAULT_ACCOUNT_ID]["aws"]
for identity in config["identities"]:
    iam.create_user("us-east-1", identity["name"])
    key = iam.create_access_key(identity["name"])
    del iam.access_keys[key.physical_resource_id]
    key.access_key_id, key.secret_access_key = identity["access_key"], identity["secret_key"]
    iam.access_keys[key.physical_resource_id] = key
    resources = [f"arn:aws:s3:::{b}{suffix}" for b in identity["buckets"] for suffix in ("", "/*")]
    iam.put_user_policy(identity["name"], "bucket", json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": resources}]}))

# moto's enforcement reads the Authorization header only: a presigned URL (SigV4 query auth, what MLflow's
# server hands its clients for downloads) is checked here as S3 checks it: a known key, the signature of
# the request as it arrives (recomputed with botocore from the URL minus the auth parameters), not expired,
# and the key's buckets.
import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto.core.authorization import ActionAuthenticatorMixin
from moto.s3.exceptions import S3AccessDeniedError, S3InvalidAccessKeyIdError, S3SignatureDoesNotMatchError

AUTH_PARAMETERS = {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
                   "X-Amz-Signature", "X-Amz-Security-Token"}
KEYS = {identity["access_key"]: identity for identity in config["identities"]}
header_auth = ActionAuthenticatorMixin._authenticate_and_authorize_action


def authenticate(self, iam_request_cls, resource="*"):
    params = parse_qsl(urlsplit(self.uri).query, keep_blank_values=True)
    given = dict(params)
    if self.headers.get("Authorization") or "X-Amz-Signature" not in given:
        return header_auth(self, iam_request_cls, resource)
    access_key, _, scope = given["X-Amz-Credential"].partition("/")
    identity = KEYS.get(access_key)
    if identity is None:
        raise S3InvalidAccessKeyIdError()
    region, service = scope.split("/")[1:3]
    host = self.headers["Host"]
    query = urlencode([(k, v) for k, v in params if k not in AUTH_PARAMETERS])
    request = AWSRequest(method=self.method, url=f"http://{host}{self.raw_path}" + (f"?{query}" if query else ""),
                         headers={"Host": host})
    request.context["timestamp"] = given["X-Amz-Date"]
    expires = int(given["X-Amz-Expires"])
    S3SigV4QueryAuth(Credentials(access_key, identity["secret_key"]), service, region, expires=expires).add_auth(request)
    if dict(parse_qsl(urlsplit(request.url).query))["X-Amz-Signature"] != given["X-Amz-Signature"]:
        raise S3SignatureDoesNotMatchError()
    signed = datetime.datetime.strptime(given["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    if datetime.datetime.now(datetime.timezone.utc) > signed + datetime.timedelta(seconds=expires):
        raise S3AccessDeniedError()
    if resource.split(":::", 1)[1].split("/", 1)[0] not in identity["buckets"]:
        raise S3AccessDeniedError()


ActionAuthenticatorMixin._authenticate_and_authorize_action = authenticate
settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
server = ThreadedMotoServer(ip_address="127.0.0.1", port=config["port"], verbose=False)
server.start()
print("ready", flush=True)
threading.Event().wait()
"""


@dataclass(frozen=True)
class Identity:
    name: str
    access_key: str
    secret_key: str
    buckets: tuple[str, ...]


def store_identities(path: Path) -> list[Identity]:
    """The in-cluster store's identities file (SeaweedFS's -s3.config): each identity's credentials, and the
    buckets its actions ("Read:<bucket>", "Admin:<bucket>"...) name. An action on every bucket (no
    ":<bucket>") is not modelled: the program grants none."""
    config = json.loads(path.read_text())
    found = []
    for identity in config["identities"]:
        actions = identity["actions"]
        assert all(":" in a for a in actions), f"identity {identity['name']}: rights on every bucket: {actions}"
        buckets = tuple(sorted({a.split(":", 1)[1] for a in actions}))
        for credential in identity["credentials"]:
            found.append(Identity(identity["name"], credential["accessKey"], credential["secretKey"], buckets))
    return found


class KeyedS3:
    """moto on 127.0.0.1:<free port> that knows `identities` and nothing else."""

    def __init__(self, identities: list[Identity], root: Path):
        assert identities, "an S3 API that knows no key refuses everything"
        self.identities = identities
        self.port = free_port()
        root.mkdir(parents=True, exist_ok=True)
        self.log = root / "moto.log"
        config = {"port": self.port, "identities": [asdict(i) for i in identities]}
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen([sys.executable, "-c", LAUNCHER], stdin=subprocess.PIPE, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        self.process.stdin.write(json.dumps(config).encode())
        self.process.stdin.close()
        wait_for(lambda: "ready" in self.log.read_text(), "moto (keyed)", timeout=60, process=self.process, log=self.log)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self, access_key: str, secret_key: str, endpoint: str | None = None) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=endpoint or self.endpoint, aws_access_key_id=access_key,
                            aws_secret_access_key=secret_key, region_name="us-east-1",
                            config=Config(retries={"max_attempts": 1}, signature_version="s3v4"))

    def stop(self) -> None:
        stop(self.process)


def in_cluster_store(objects: ClusterObjects, namespace: str, root: Path) -> tuple[KeyedS3, dict[str, str]]:
    """The `kubernetes` provider's in-cluster object store, from the plan: moto knowing exactly the identities
    of the store server's own configuration (the file its `-s3.config=` names, from the plan's Secret), and
    the plan's bucket Job run against it (curl signing with the keys of the Job's own Secret), so the bucket
    exists because the program's Job created it. Returns moto and the DNS names of the store's Service that
    other namespaces' pods dial (`<service>.<namespace>[.svc[.cluster.local]]:<port>`) mapped to it."""
    if shutil.which("curl") is None:
        raise RuntimeError("the bucket Job's script runs this machine's curl (as the store's image has it): install curl")
    (server_name,) = objects.names("Deployment", namespace)
    server = LocalPod(objects, namespace, server_name, root / server_name)
    (container,) = server.spec["containers"]
    (config,) = [a.split("=", 1)[1] for a in server.argv(container) if a.startswith("-s3.config=")]
    s3 = KeyedS3(store_identities(Path(config)), root / "moto")
    dns: dict[str, str] = {}
    local: dict[str, str] = {}  # a Service's bare name resolves in its own namespace only
    for service in objects.services(namespace):
        name, ports = service["metadata"]["name"], [int(p["port"]) for p in service["spec"]["ports"]]
        assert len(ports) == 1, f"Service {namespace}/{name}: moto stands for one port (the S3 API), not {ports}"
        for host in (f"{name}.{namespace}.{SERVICE_DOMAIN}", f"{name}.{namespace}.svc", f"{name}.{namespace}"):
            dns[f"{host}:{ports[0]}"] = s3.address
        local[f"{name}:{ports[0]}"] = s3.address
    try:
        for job in objects.names("Job", namespace):
            pod = LocalPod(objects, namespace, job, root / job, dns={**dns, **local}, kind="Job",
                           images={container["image"]: ["/usr/bin"] for container in server.spec["containers"]})
            for step in [*pod.spec.get("initContainers", []), *pod.spec["containers"]]:
                result = pod.run(step["name"], timeout=120)
                if result.returncode != 0:
                    raise RuntimeError(f"Job {namespace}/{job}, container {step['name']}:\n{result.stdout}\n{result.stderr}")
    except BaseException:
        s3.stop()
        raise
    return s3, dns


def users_bucket(endpoint: str, identity: Identity, root: Path) -> tuple[KeyedS3, dict[str, str]]:
    """The user's own S3-compatible service (--bucket, --bucket-endpoint): moto knowing only the user's key
    pair, holding the user's bucket(s) already (created with that pair), and the endpoint as the pods name
    it mapped to moto's plain-http address."""
    s3 = KeyedS3([identity], root)
    try:
        client = s3.client(identity.access_key, identity.secret_key)
        for bucket in identity.buckets:
            client.create_bucket(Bucket=bucket)
    except BaseException:
        s3.stop()
        raise
    return s3, {endpoint: s3.endpoint}


