"""Mock answers for pulumi-tls: placeholders for the stack CA, which only a deploy generates.

The PEM blocks are syntactically PEM but say what they are: nobody should mistake a
plan's CA for a real one, and nothing offline may depend on a key that was never made.
Rejects what the provider rejects for the inputs the program sets.
"""

from __future__ import annotations

from typing import Any

from recipes.facts.any_cloud import TLS_PRIVATE_KEY, TLS_SELF_SIGNED_CERT

from . import Context, digest

ALGORITHMS = ("RSA", "ECDSA", "ED25519")
CURVES = ("P224", "P256", "P384", "P521")
USES = {"digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
        "cert_signing", "crl_signing", "encipher_only", "decipher_only", "any_extended", "server_auth",
        "client_auth", "code_signing", "email_protection", "ipsec_end_system", "ipsec_tunnel", "ipsec_user",
        "timestamping", "ocsp_signing", "microsoft_server_gated_crypto", "netscape_server_gated_crypto"}


def placeholder_pem(kind: str, name: str) -> str:
    return f"-----BEGIN {kind}-----\nUExBTiBQTEFDRUhPTERFUg== {digest(kind, name)} (generated at deploy)\n-----END {kind}-----\n"


def computed(type_: str, name: str, inputs: dict[str, Any], context: Context) -> dict[str, Any]:
    if type_ == TLS_PRIVATE_KEY:
        algorithm = inputs.get("algorithm")
        if algorithm not in ALGORITHMS:
            raise ValueError(f"tls_private_key {name}: expected algorithm to be one of {list(ALGORITHMS)}, got {algorithm}")
        if algorithm == "ECDSA" and inputs.get("ecdsaCurve", "P224") not in CURVES:
            raise ValueError(f"tls_private_key {name}: expected ecdsa_curve to be one of {list(CURVES)}")
        return {"privateKeyPem": placeholder_pem("PRIVATE KEY", name), "publicKeyPem": placeholder_pem("PUBLIC KEY", name)}
    if type_ == TLS_SELF_SIGNED_CERT:
        unknown = set(inputs.get("allowedUses") or []) - USES
        if unknown or not inputs.get("allowedUses"):
            raise ValueError(f"tls_self_signed_cert {name}: allowed_uses must be a non-empty subset of the known uses; "
                             f"unknown: {sorted(unknown)}")
        if int(inputs.get("validityPeriodHours") or 0) <= 0:
            raise ValueError(f"tls_self_signed_cert {name}: validity_period_hours must be positive")
        return {"certPem": placeholder_pem("CERTIFICATE", name)}
    return {}
