"""The stack's front door on this machine: a stack CA, a gateway certificate it signs, and
a TLS-terminating proxy on 127.0.0.1 in front of a plain-HTTP server (Istio's gateway
in front of MLflow).

The program's CA is pulumi-tls's `SelfSignedCert` (Go's crypto/x509) and the gateway's
certificate is cert-manager's `Certificate`; here both are made with `cryptography` from
the plan's own inputs (the PrivateKey's curve; the SelfSignedCert's allowed uses,
validity and subject; the Certificate's key, usages and duration), or from
recipes/kubernetes/ingress/tls.py when there is no plan at hand. What Go adds by itself
is added too: the critical basic constraints and key usage, a CA's subject key
identifier (Go generates one for every CA since 1.15) and, in a certificate it signs, the
authority key identifier (taken from the CA's). Python 3.13's strict verification
(urllib3 sets it too) fails a chain without those identifiers.

The gateway's certificate is for 127.0.0.1, as the program writes it for a load
balancer's IP (an IP SAN and that IP as the common name): the proxy is that address.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import select
import socket
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recipes.kubernetes.ingress import tls

from .pods import free_port

LOCAL_IP = "127.0.0.1"

# pulumi-tls's allowed_uses and cert-manager's usages: the key usages, and the extended ones.
KEY_USAGES = {
    "digital_signature": "digital_signature", "digital signature": "digital_signature",
    "content_commitment": "content_commitment", "content commitment": "content_commitment",
    "key_encipherment": "key_encipherment", "key encipherment": "key_encipherment",
    "data_encipherment": "data_encipherment", "data encipherment": "data_encipherment",
    "key_agreement": "key_agreement", "key agreement": "key_agreement",
    "cert_signing": "key_cert_sign", "cert sign": "key_cert_sign",
    "crl_signing": "crl_sign", "crl sign": "crl_sign",
}
EXTENDED_USAGES = {"server_auth": "SERVER_AUTH", "server auth": "SERVER_AUTH",
                   "client_auth": "CLIENT_AUTH", "client auth": "CLIENT_AUTH"}
CURVES = {"P224": "SECP224R1", "P256": "SECP256R1", "P384": "SECP384R1", "P521": "SECP521R1"}
SIZES = {224: "P224", 256: "P256", 384: "P384", 521: "P521"}


@dataclass(frozen=True)
class Pair:
    certificate_pem: str
    key_pem: str
    certificate: Any  # cryptography's x509.Certificate
    key: Any


def default_ca_inputs(stack: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The PrivateKey's and SelfSignedCert's inputs as the program passes them (tls.py's values)."""
    return ({"algorithm": tls.CA_KEY_ALGORITHM, "ecdsaCurve": tls.CA_ECDSA_CURVE},
            {"isCaCertificate": True, "validityPeriodHours": tls.CA_VALIDITY_HOURS, "allowedUses": list(tls.CA_USES),
             "subject": {"commonName": tls.ca_common_name(stack), "organization": "stack-recipes"}})


def plan_inputs(plan: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The stack CA's PrivateKey and SelfSignedCert inputs and the gateway Certificate's spec, from a plan."""
    def one(type_: str, kind: str | None = None) -> dict[str, Any]:
        found = [r.inputs for r in plan.resources if r.type == type_ and (kind is None or r.inputs.get("kind") == kind)]
        assert len(found) == 1, f"expected one {type_} in the plan, found {len(found)}"
        return found[0]

    ca = one("tls:index/selfSignedCert:SelfSignedCert")
    keys = [r.inputs for r in plan.resources if r.type == "tls:index/privateKey:PrivateKey"]
    assert len(keys) == 1, f"expected the stack CA's one PrivateKey, found {len(keys)}"
    certificate = one("kubernetes:cert-manager.io/v1:Certificate", "Certificate")["spec"]
    return keys[0], ca, certificate


def _ec_key(curve: str):
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(getattr(ec, CURVES[curve])())


def _key_usage(usages: list[str]):
    from cryptography import x509

    unknown = [u for u in usages if u not in KEY_USAGES and u not in EXTENDED_USAGES]
    assert not unknown, f"usages this model of Go's x509 does not know: {unknown}"
    flags = {name: False for name in set(KEY_USAGES.values())}
    flags.update({KEY_USAGES[u]: True for u in usages if u in KEY_USAGES})
    key_usage = x509.KeyUsage(**flags, encipher_only=False, decipher_only=False)
    extended = [getattr(x509.oid.ExtendedKeyUsageOID, EXTENDED_USAGES[u]) for u in usages if u in EXTENDED_USAGES]
    return key_usage, extended


def _pem(certificate, key) -> Pair:
    from cryptography.hazmat.primitives import serialization

    return Pair(certificate.public_bytes(serialization.Encoding.PEM).decode(),
                key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()).decode(),
                certificate, key)


def make_ca(key_inputs: dict[str, Any], cert_inputs: dict[str, Any]) -> Pair:
    """What pulumi-tls's PrivateKey and SelfSignedCert make of these inputs."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    assert key_inputs["algorithm"] == "ECDSA", key_inputs
    key = _ec_key(key_inputs["ecdsaCurve"])
    subject = cert_inputs.get("subject") or {}
    name = x509.Name([attribute for attribute in (
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, subject["organization"]) if subject.get("organization") else None,
        x509.NameAttribute(NameOID.COMMON_NAME, subject["commonName"]) if subject.get("commonName") else None,
    ) if attribute is not None])
    now = datetime.datetime.now(datetime.timezone.utc)
    key_usage, extended = _key_usage(list(cert_inputs.get("allowedUses") or []))
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now)
               .not_valid_after(now + datetime.timedelta(hours=float(cert_inputs["validityPeriodHours"])))
               .add_extension(key_usage, critical=True)
               .add_extension(x509.BasicConstraints(ca=bool(cert_inputs.get("isCaCertificate")), path_length=None),
                              critical=True))
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    if cert_inputs.get("isCaCertificate"):
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    return _pem(builder.sign(key, hashes.SHA256()), key)


def make_server(ca: Pair, spec: dict[str, Any], ip: str = LOCAL_IP) -> Pair:
    """What cert-manager's CA issuer signs for this Certificate spec, issued for `ip`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    private = spec.get("privateKey") or {}
    assert private.get("algorithm") == "ECDSA", private
    key = _ec_key(SIZES[int(private["size"])])
    hours = re.fullmatch(r"(\d+)h", spec["duration"])
    assert hours, f"duration {spec['duration']!r}: only whole hours are modelled"
    now = datetime.datetime.now(datetime.timezone.utc)
    key_usage, extended = _key_usage(list(spec["usages"]))
    authority = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ip)]))
               .issuer_name(ca.certificate.subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now)
               .not_valid_after(now + datetime.timedelta(hours=int(hours.group(1))))
               .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False)
               .add_extension(key_usage, critical=True)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(authority), critical=False))
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    return _pem(builder.sign(ca.key, hashes.SHA256()), key)


class TlsProxy:
    """TLS on 127.0.0.1:<free port> with `server`'s certificate (signed by `ca`), forwarded as
    plain TCP to `backend` (host, port): what the gateway does in front of MLflow."""

    def __init__(self, ca: Pair, server: Pair, backend: tuple[str, int], workdir: Path):
        self.ca_pem = ca.certificate_pem  # what the stack would export as ca_certificate
        workdir.mkdir(parents=True, exist_ok=True)
        cert, key = workdir / "gateway.crt", workdir / "gateway.key"
        cert.write_text(server.certificate_pem)
        key.write_text(server.key_pem)
        key.chmod(0o600)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2  # the gateway's minProtocolVersion
        self.context.load_cert_chain(cert, key)
        self.backend = backend
        self.port = free_port()
        self.listener = socket.create_server((LOCAL_IP, self.port))
        self.handshakes_failed = 0
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name="tls-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"https://{LOCAL_IP}:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed by stop()
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            client.settimeout(30)
            secure = self.context.wrap_socket(client, server_side=True)
        except (ssl.SSLError, OSError):
            with self._lock:
                self.handshakes_failed += 1  # the client refused our certificate, or went away
            client.close()
            return
        try:
            upstream = socket.create_connection(self.backend, timeout=30)
        except OSError:
            secure.close()
            return
        with self._lock:
            self._open.update({secure, upstream})
        try:
            self._relay(secure, upstream)
        finally:
            with self._lock:
                self._open.difference_update({secure, upstream})
            for sock in (secure, upstream):
                try:
                    sock.close()
                except OSError:
                    pass

    @staticmethod
    def _relay(secure: ssl.SSLSocket, upstream: socket.socket) -> None:
        """Bytes both ways from one thread (an SSL socket is not for two threads at once),
        until either side closes, as a proxy does."""
        other = {secure: upstream, upstream: secure}
        while True:
            # Data OpenSSL already decrypted is not visible to select().
            ready = [secure] if secure.pending() else select.select([secure, upstream], [], [], 120)[0]
            if not ready:
                return  # idle
            for source in ready:
                try:
                    chunk = source.recv(65536)
                    if not chunk:
                        return
                    other[source].sendall(chunk)
                except (OSError, ssl.SSLError):
                    return

    def stop(self) -> None:
        self.listener.close()
        with self._lock:
            still_open = list(self._open)
        for sock in still_open:
            try:
                sock.close()
            except OSError:
                pass
        self._thread.join(timeout=10)
