"""A stand-in Kubernetes API server for the cluster-access preflight tests.

HTTPS on 127.0.0.1 (a free port) with a throwaway CA, answering GET /version, SelfSubjectAccessReviews and
GETs of namespaces and Secrets from a per-test table; it may require a client certificate
signed by its CA or a bearer token, and answers 401 otherwise, as an API server does.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Pem:
    cert: bytes
    key: bytes

    def b64(self, which: str) -> str:
        """As a kubeconfig's *-data fields hold it."""
        return base64.b64encode(getattr(self, which)).decode()


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(cn: str) -> tuple[Pem, x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn)).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return _pem(cert, key), cert, key


def issue(ca: tuple[Pem, x509.Certificate, ec.EllipticCurvePrivateKey], cn: str, *, server: bool) -> Pem:
    """A leaf certificate signed by `ca`: a server's for 127.0.0.1/localhost, or a client's for user `cn`."""
    _, ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca_cert.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                                     else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    return _pem(builder.sign(ca_key, hashes.SHA256()), key)


def _pem(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Pem:
    return Pem(cert.public_bytes(serialization.Encoding.PEM),
               key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()))


@dataclass
class StandInApi:
    """The table a test sets: the version answered, the rights denied, what authenticates a caller."""

    url: str = ""
    version: dict = field(default_factory=lambda: {"major": "1", "minor": "31", "gitVersion": "v1.31.4+k3s1"})
    denied: set[tuple[str, str]] = field(default_factory=set)  # (group, resource)
    token: str | None = None  # a bearer token that authenticates
    client_cn: str | None = None  # a client certificate CN that authenticates
    seen: list[dict] = field(default_factory=list)  # every request: method, path, user, body
    # Objects a GET may find: namespaces (name -> labels) and Secrets ((namespace, name) -> data in clear, served
    # base64 as the API does); `forbidden`: what this user may not get ("namespaces", "secrets/NAMESPACE"): 403.
    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)
    secrets: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    forbidden: set[str] = field(default_factory=set)

    def get(self, path: str) -> tuple[int, dict]:
        """GET /api/v1/namespaces/NAME and /api/v1/namespaces/NS/secrets/NAME, as the API server answers them."""
        parts = path.strip("/").split("/")
        if parts[:3] != ["api", "v1", "namespaces"] or len(parts) not in (4, 6) or (len(parts) == 6 and parts[4] != "secrets"):
            return 404, {"kind": "Status", "code": 404}
        kind, gate = ("namespaces", "namespaces") if len(parts) == 4 else ("secrets", f"secrets/{parts[3]}")
        name = parts[-1]
        if gate in self.forbidden:
            return 403, {"kind": "Status", "status": "Failure", "reason": "Forbidden", "code": 403,
                         "message": f'{kind} "{name}" is forbidden: User cannot get resource "{kind}"'}
        if kind == "namespaces" and name in self.namespaces:
            return 200, {"apiVersion": "v1", "kind": "Namespace",
                         "metadata": {"name": name, "labels": dict(self.namespaces[name])}}
        if kind == "secrets" and (parts[3], name) in self.secrets:
            data = {k: base64.b64encode(v.encode()).decode() for k, v in self.secrets[(parts[3], name)].items()}
            return 200, {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                         "metadata": {"name": name, "namespace": parts[3]}, "data": data}
        return 404, {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404,
                     "message": f'{kind} "{name}" not found'}

    def user(self, handler: BaseHTTPRequestHandler) -> str | None:
        peer = handler.connection.getpeercert() if isinstance(handler.connection, ssl.SSLSocket) else None
        cn = next((v for rdn in (peer or {}).get("subject", ()) for k, v in rdn if k == "commonName"), None)
        if self.client_cn and cn == self.client_cn:
            return cn
        if self.token and handler.headers.get("Authorization") == f"Bearer {self.token}":
            return "token-user"
        return None


def _handler(api: StandInApi):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet: pytest shows failures
            pass

        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            user = api.user(self)
            api.seen.append({"method": method, "path": self.path, "user": user, "body": body})
            if user is None:
                self._answer(401, {"kind": "Status", "status": "Failure", "reason": "Unauthorized", "code": 401})
            elif method == "GET" and self.path == "/version":
                self._answer(200, {**api.version, "platform": "linux/amd64"})
            elif method == "GET":
                self._answer(*api.get(self.path))
            elif method == "POST" and self.path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews":
                attrs = body["spec"]["resourceAttributes"]
                denied = (attrs.get("group", ""), attrs["resource"]) in api.denied
                status = {"allowed": not denied}
                if denied:
                    status["reason"] = f"RBAC: {user} may not {attrs['verb']} {attrs['resource']}"
                self._answer(201, {**body, "status": status})
            else:
                self._answer(404, {"kind": "Status", "code": 404})

        def do_GET(self):
            self._serve("GET")

        def do_POST(self):
            self._serve("POST")

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # a client refusing our certificate is a test case
        pass


def serve(api: StandInApi, ca: tuple[Pem, x509.Certificate, ec.EllipticCurvePrivateKey], folder: Path):
    """Start the stand-in on a free port of 127.0.0.1 (api.url is set); returns the server to shut down."""
    leaf = issue(ca, "kube-apiserver", server=True)
    (folder / "server.crt").write_bytes(leaf.cert)
    (folder / "server.key").write_bytes(leaf.key)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(folder / "server.crt", folder / "server.key")
    tls.load_verify_locations(cadata=ca[0].cert.decode())
    tls.verify_mode = ssl.CERT_OPTIONAL  # a client certificate when one is sent, a token otherwise
    server = _Server(("127.0.0.1", 0), _handler(api))
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    api.url = f"https://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server
