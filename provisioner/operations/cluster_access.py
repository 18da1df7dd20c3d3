"""May we deploy to this cluster? The deploy preflight of a cluster we do not create (provider `kubernetes`).

`load_context` (user_kubeconfig.py) reads the user's context offline; `probe` asks its API server, with the
standard library only, for its version (GET /version) and whether these credentials may do what the
stack does (one SelfSubjectAccessReview per right); `require_access` turns every way that can fail
into a NotReady (exit 2, nothing recorded) whose one line names the cause and the fix. Secrets never
reach a message: client keys go to 0600 temporary files deleted once loaded, tokens only to a header.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from provisioner.operations.user_kubeconfig import ClusterContext, KubeconfigError, load_context
from provisioner.operations.not_ready import NotReady

__all__ = ["Access", "Check", "ClusterContext", "ClusterUnreachable", "ClusterRefused", "KubeconfigError",
           "REQUIRED_RIGHTS", "Right", "load_context", "probe", "require_access", "session"]

EXEC_TIMEOUT = 120  # seconds: a plugin may refresh a login (aws eks get-token, kubelogin)


class ClusterUnreachable(NotReady):
    """The API server did not answer (connection, DNS, TLS): nothing was touched."""


class ClusterRefused(NotReady):
    """The API server answered but will not let this context deploy (credentials, rights, version)."""


@dataclass(frozen=True)
class Right:
    verb: str
    group: str  # "" is the core API group
    resource: str

    def describe(self) -> str:
        """As `kubectl auth can-i` spells it: create customresourcedefinitions.apiextensions.k8s.io."""
        return f"{self.verb} {self.resource}{'.' + self.group if self.group else ''}"


# What a deploy does cluster-wide: the stack's namespaces, the CRDs of Istio/cert-manager/Seldon/KServe,
# their operators' cluster roles and bindings, and the webhooks Istio's sidecar injection and KServe add.
REQUIRED_RIGHTS: tuple[Right, ...] = (
    Right("create", "", "namespaces"),
    Right("create", "apiextensions.k8s.io", "customresourcedefinitions"),
    Right("create", "rbac.authorization.k8s.io", "clusterroles"),
    Right("create", "rbac.authorization.k8s.io", "clusterrolebindings"),
    Right("create", "admissionregistration.k8s.io", "mutatingwebhookconfigurations"),
)


@dataclass(frozen=True)
class Check:
    right: Right
    allowed: bool
    reason: str = ""


@dataclass(frozen=True)
class Access:
    """What the API server said: its version and, per required right, allowed or denied."""

    context: str
    server: str
    version: str  # "1.31"
    git_version: str  # "v1.31.4+k3s1"
    checks: tuple[Check, ...]

    @property
    def denied(self) -> list[Right]:
        return [c.right for c in self.checks if not c.allowed]

    @property
    def allowed(self) -> bool:
        return not self.denied


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _server_label(ctx: ClusterContext) -> str:
    """The server URL without any user:password@ in it."""
    url = urlsplit(ctx.server)
    return f"{url.scheme}://{url.hostname}{':' + str(url.port) if url.port else ''}{url.path}"


def _start_hint(ctx: ClusterContext) -> str:
    """How to start the cluster behind a context whose name says which tool made it."""
    if ctx.name.startswith("k3d-"):
        return f"start it with `k3d cluster start {ctx.name[4:]}`"
    if ctx.name.startswith("kind-"):
        return f"start it with `docker start {ctx.name[5:]}-control-plane`"
    if ctx.name == "minikube" or ctx.cluster == "minikube":
        return "start it with `minikube start`"
    return "start it, or connect the VPN or network it is reached through"


def _exec_credentials(ctx: ClusterContext) -> dict:
    """Run the context's exec plugin as kubectl does and return its ExecCredential status."""
    plugin = ctx.credentials.exec
    assert plugin is not None
    what = f"the exec plugin {plugin.command!r} of context {ctx.name!r}"
    interactive = plugin.interactive_mode != "Never" and sys.stdin is not None and sys.stdin.isatty()
    if plugin.interactive_mode == "Always" and not interactive:
        raise ClusterRefused(f"{what} needs an interactive terminal (interactiveMode: Always); nothing was done. "
                             "Run the deploy from a terminal, or log in first so the plugin needs no input")
    spec: dict = {"interactive": interactive}
    if plugin.provide_cluster_info:
        cluster: dict = {"server": ctx.server, "insecure-skip-tls-verify": ctx.insecure_skip_tls_verify}
        if ctx.certificate_authority_data:
            cluster["certificate-authority-data"] = base64.b64encode(ctx.certificate_authority_data).decode()
        if ctx.tls_server_name:
            cluster["tls-server-name"] = ctx.tls_server_name
        spec["cluster"] = cluster
    env = {**os.environ, **dict(plugin.env),
           "KUBERNETES_EXEC_INFO": json.dumps({"apiVersion": plugin.api_version, "kind": "ExecCredential",
                                               "spec": spec})}
    try:
        done = subprocess.run([plugin.command, *plugin.args], env=env, capture_output=True, text=True,
                              stdin=None if interactive else subprocess.DEVNULL, timeout=EXEC_TIMEOUT)
    except FileNotFoundError:
        hint = _one_line(plugin.install_hint) if plugin.install_hint else "install it, or put it on PATH"
        raise ClusterRefused(f"{what} is not installed or not on PATH; nothing was done. {hint}") from None
    except subprocess.TimeoutExpired:
        raise ClusterRefused(f"{what} did not finish within {EXEC_TIMEOUT}s; nothing was done. Run it by hand "
                             "(kubectl get ns --context " + ctx.name + ") to log in, then retry") from None
    except OSError as exc:
        raise ClusterRefused(f"{what} cannot be run ({exc.strerror}); nothing was done. Check the command in the "
                             "kubeconfig") from None
    if done.returncode != 0:
        last = next((line for line in reversed(done.stderr.splitlines()) if line.strip()), "no message")
        raise ClusterRefused(f"{what} failed (exit {done.returncode}: {_one_line(last)}); nothing was done. Log in "
                             f"again (run `kubectl get ns --context {ctx.name}` to see the plugin's prompt), then retry")
    try:
        cred = json.loads(done.stdout)
        status = cred["status"] if cred.get("apiVersion") == plugin.api_version else None
    except (ValueError, KeyError, TypeError, AttributeError):
        status = None
    if not isinstance(status, dict) or not (status.get("token") or status.get("clientCertificateData")):
        raise ClusterRefused(f"{what} did not print an ExecCredential of {plugin.api_version} with a token or a "
                             "client certificate; nothing was done. Update the plugin or the kubeconfig's exec "
                             "apiVersion")
    return status


@contextmanager
def _private_file(data: bytes):
    """A 0600 temporary file holding `data` (ssl loads client keys from files only), deleted on exit."""
    fd, path = tempfile.mkstemp(prefix="recipe-kube-")  # created 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        yield path
    finally:
        os.unlink(path)


def _tls(ctx: ClusterContext, cert: bytes | str | None, key: bytes | str | None) -> ssl.SSLContext:
    """The TLS settings of the context: whom to trust, and the client certificate (data or files)."""
    try:
        if ctx.insecure_skip_tls_verify:
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            tls.check_hostname = False
            tls.verify_mode = ssl.CERT_NONE
        elif ctx.certificate_authority_data:
            data = ctx.certificate_authority_data
            tls = ssl.create_default_context(cadata=data.decode("ascii") if b"-----BEGIN" in data else data)
        else:
            tls = ssl.create_default_context(cafile=ctx.certificate_authority)  # None: the system's CAs
    except (ssl.SSLError, ValueError, UnicodeDecodeError):
        raise KubeconfigError(f"the certificate authority of cluster {ctx.cluster!r} is not a PEM certificate; "
                              "nothing was done. Write the kubeconfig again with your cluster tool") from None
    if cert is None or key is None:
        return tls
    try:
        if isinstance(cert, bytes) and isinstance(key, bytes):
            with _private_file(cert) as cert_file, _private_file(key) as key_file:
                tls.load_cert_chain(cert_file, key_file)
        else:
            tls.load_cert_chain(str(cert), str(key))
    except (ssl.SSLError, OSError):
        raise KubeconfigError(f"the client certificate and key of user {ctx.user!r} (context {ctx.name!r}) cannot "
                              "be loaded (not PEM, or not a pair); nothing was done. Write the kubeconfig again, "
                              "or log in again") from None
    return tls


class _Connection(http.client.HTTPSConnection):
    """HTTPS with a TLS server name other than the host when the kubeconfig sets tls-server-name."""

    def __init__(self, host: str, port: int | None, *, server_name: str | None, **kwargs):
        super().__init__(host, port, **kwargs)
        self._server_name = server_name

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self._server_name or self.host)


class _Api:
    """Requests to one API server, every failure turned into a one-line NotReady."""

    def __init__(self, ctx: ClusterContext, timeout: float):
        self.ctx, self.timeout = ctx, timeout
        creds = ctx.credentials
        cert = creds.client_certificate_data or creds.client_certificate
        key = creds.client_key_data or creds.client_key
        token = creds.token
        if creds.token_file:
            try:
                with open(creds.token_file, encoding="utf-8") as handle:
                    token = handle.read().strip()
            except (OSError, UnicodeDecodeError):
                raise KubeconfigError(f"the tokenFile {creds.token_file} of user {ctx.user!r} cannot be read; "
                                      "nothing was done. Check the file, or log in again") from None
        if creds.exec is not None and not token and cert is None:
            status = _exec_credentials(ctx)
            token = status.get("token") or None
            if status.get("clientCertificateData"):
                cert = str(status["clientCertificateData"]).encode()
                key = str(status.get("clientKeyData", "")).encode()
        self.headers = {"Accept": "application/json", "User-Agent": "recipe-preflight"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        url = urlsplit(ctx.server)
        self.prefix = url.path.rstrip("/")
        if url.scheme == "https":
            self.conn: http.client.HTTPConnection = _Connection(
                url.hostname or "", url.port, server_name=ctx.tls_server_name, timeout=timeout,
                context=_tls(ctx, cert, key))
        else:
            self.conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=timeout)

    def _unreachable(self, cause: str) -> ClusterUnreachable:
        ctx = self.ctx
        return ClusterUnreachable(f"cannot reach the API server {_server_label(ctx)} of context {ctx.name!r} "
                                  f"({cause}); nothing was done. Is the cluster running? {_start_hint(ctx)}, then retry")

    def request(self, method: str, path: str, body: dict | None = None, *, answered: tuple[int, ...] = ()) -> dict:
        """The answer to one request. `answered`: statuses the caller turns into its own message (404, 403),
        returned as {"kind": "Status", "code": status} rather than raised."""
        ctx, where = self.ctx, f"{method} {path}"
        headers = dict(self.headers)
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            self.conn.request(method, self.prefix + path, body=payload, headers=headers)
            response = self.conn.getresponse()
            status, raw = response.status, response.read()
        except socket.gaierror as exc:
            raise self._unreachable(f"its host name does not resolve: {_one_line(exc.strerror or exc)}") from None
        except ssl.SSLCertVerificationError as exc:
            raise ClusterUnreachable(
                f"the API server {_server_label(ctx)} of context {ctx.name!r} presented a certificate the kubeconfig "
                f"does not trust ({_one_line(exc.verify_message or exc.reason or 'verification failed')}); nothing "
                "was done. The cluster was likely recreated: write its kubeconfig again (k3d kubeconfig merge NAME, "
                "or your cloud's get-credentials)") from None
        except ssl.SSLError as exc:
            raise ClusterUnreachable(
                f"the TLS handshake with {_server_label(ctx)} of context {ctx.name!r} failed "
                f"({_one_line(exc.reason or exc)}); nothing was done. The server may reject this context's client "
                "certificate: log in again or write the kubeconfig again") from None
        except (TimeoutError, socket.timeout):
            raise self._unreachable(f"no answer within {self.timeout:g}s") from None
        except (OSError, http.client.HTTPException) as exc:
            raise self._unreachable(_one_line(getattr(exc, "strerror", None) or type(exc).__name__)) from None
        if status == 401:
            raise ClusterRefused(f"the API server {_server_label(ctx)} rejected the credentials of context "
                                 f"{ctx.name!r} (401 Unauthorized: expired or revoked); nothing was done. Log in "
                                 "again (your cloud's get-credentials, kubelogin, or a new token) and retry")
        if status in answered:
            return {"kind": "Status", "code": status}
        if status >= 300:
            retry = " (the server may still be starting: retry in a minute)" if status >= 500 else ""
            raise ClusterRefused(f"the API server {_server_label(ctx)} of context {ctx.name!r} answered {status} "
                                 f"to {where}{retry}; nothing was done. Check the context with "
                                 f"`kubectl get ns --context {ctx.name}`")
        try:
            answer = json.loads(raw)
            if isinstance(answer, dict):
                return answer
        except ValueError:
            pass
        raise ClusterRefused(f"{_server_label(ctx)} of context {ctx.name!r} answered {where} with something other "
                             "than a Kubernetes API object; nothing was done. Check that the context's server URL "
                             "is the cluster's API server")


@contextmanager
def session(ctx: ClusterContext, *, timeout: float = 8):
    """Requests to the context's API server (`.request`), its credentials resolved once (an exec plugin run once)."""
    api = _Api(ctx, timeout)
    try:
        yield api
    finally:
        api.conn.close()


def _version(answer: dict) -> tuple[str, str]:
    """("1.31", "v1.31.4+k3s1"); managed clusters write minor as "31+", so gitVersion is the fallback."""
    git = str(answer.get("gitVersion", ""))
    major = re.sub(r"\D", "", str(answer.get("major", "")))
    minor = re.sub(r"\D", "", str(answer.get("minor", "")))
    if not (major and minor):
        found = re.match(r"v?(\d+)\.(\d+)", git)
        major, minor = found.groups() if found else ("", "")
    return (f"{major}.{minor}" if major and minor else "unknown"), git


def probe(ctx: ClusterContext, *, timeout: float = 8, api: _Api | None = None) -> Access:
    """Ask the context's API server its version and whether each of REQUIRED_RIGHTS is allowed (through `api`, a
    `session` the caller holds open for more questions; else one of its own)."""
    if api is None:
        with session(ctx, timeout=timeout) as api:
            return probe(ctx, api=api)
    version, git_version = _version(api.request("GET", "/version"))
    checks = []
    for right in REQUIRED_RIGHTS:
        review = api.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": right.verb, "group": right.group, "resource": right.resource}},
        })
        status = review.get("status") or {}
        checks.append(Check(right, bool(status.get("allowed")) and not status.get("denied"),
                            _one_line(status.get("reason") or "")))
    return Access(ctx.name, _server_label(ctx), version, git_version, tuple(checks))


def _minor(version: str) -> tuple[int, int] | None:
    found = re.fullmatch(r"(\d+)\.(\d+)", version)
    return (int(found[1]), int(found[2])) if found else None


def require_access(ctx: ClusterContext, supported_versions: list[str], *, timeout: float = 8,
                   api: _Api | None = None) -> Access:
    """The Access of a cluster the stack may be deployed to, else NotReady with the cause and the fix.

    `supported_versions`: the Kubernetes versions the stack's pinned charts support
    (recipes.kubernetes.versions.kubernetes_range(...).versions()); empty: no version-bound chart."""
    access = probe(ctx, timeout=timeout, api=api)
    server = f"{access.server} (context {ctx.name!r})"
    if supported_versions and access.version not in supported_versions:
        known = sorted(v for v in map(_minor, supported_versions) if v)
        span = f"{supported_versions[0]}-{supported_versions[-1]}" if len(supported_versions) > 1 else supported_versions[0]
        running = _minor(access.version)
        older = bool(running and known and running < known[0])
        side = "older than" if older else "newer than" if running and known and running > known[-1] else "not in"
        fix = "Upgrade the cluster" if older else "Use a cluster of a supported version"
        raise ClusterRefused(f"{server} runs Kubernetes {access.version} ({access.git_version or 'no gitVersion'}), "
                             f"{side} the {span} this stack's pinned Istio/cert-manager/Seldon/KServe charts "
                             f"support; nothing was done. {fix} (k3d: k3d cluster create NAME --image "
                             f"rancher/k3s:v{supported_versions[-1]}.X-k3s1) or deploy with a context on one")
    if access.denied:
        rights = ", ".join(r.describe() for r in access.denied)
        raise ClusterRefused(f"context {ctx.name!r} may not {rights} on {access.server}, which the stack's deploy "
                             "does; nothing was done. Ask a cluster-admin to grant it (check with `kubectl auth "
                             f"can-i {access.denied[0].describe()} --context {ctx.name}`) or deploy with a context "
                             "that has these rights")
    return access
