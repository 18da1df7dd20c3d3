"""`DefaultAzureCredential` for the MLflow pod on AKS: workload identity only, standard library only.

Why this exists: MLflow's Azure Blob artifact repository authenticates with
`azure.identity.DefaultAzureCredential`, and the MLflow image has azure-core and
azure-storage-blob but not azure-identity. Installing azure-identity at pod start
downloaded 14 unpinned packages at every restart (one of them broke MLflow's own
`cryptography<50` pin) and made the tracker depend on a package index being up. No
image with MLflow 3.15, the database drivers and azure-identity is published that we
could pin by digest, and MLflow's other Azure credential paths (account key,
connection string) need shared-key access, which the stack disables (B6).

So the stack mounts this file, from a ConfigMap, as `azure/identity/__init__.py` on
the pod's PYTHONPATH (ahead of the image's packages; `azure` is a namespace package, so
the image's `azure.core` and `azure.storage` stay importable). It does exactly what
azure-identity's WorkloadIdentityCredential does in an AKS pod: read the projected
service-account token that the workload identity webhook mounts, exchange it at Entra
ID's token endpoint for an access token (OAuth 2.0 client credentials with a
federated client assertion), cache it until five minutes before it expires, and read
the token file again for each exchange (the kubelet rotates it). Nothing else.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, NamedTuple

__all__ = ["DefaultAzureCredential", "WorkloadIdentityCredential", "CredentialUnavailableError"]

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com/"
REFRESH_BEFORE_SECONDS = 300
TIMEOUT_SECONDS = 30


try:  # the image's azure-core: the type azure-storage-blob expects
    from azure.core.credentials import AccessToken
except ImportError:  # pragma: no cover - only outside the image

    class AccessToken(NamedTuple):  # type: ignore[no-redef]
        token: str
        expires_on: int


class CredentialUnavailableError(Exception):
    """The pod has no workload identity (the webhook's variables are missing)."""


class WorkloadIdentityCredential:
    def __init__(self, **_: Any) -> None:
        missing = [v for v in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE") if not os.environ.get(v)]
        if missing:
            raise CredentialUnavailableError(
                f"workload identity is not configured: {', '.join(missing)} not set (is the pod labelled "
                "azure.workload.identity/use=true and its service account annotated with the client id?)"
            )
        self.client_id = os.environ["AZURE_CLIENT_ID"]
        self.tenant_id = os.environ["AZURE_TENANT_ID"]
        self.token_file = os.environ["AZURE_FEDERATED_TOKEN_FILE"]
        authority = os.environ.get("AZURE_AUTHORITY_HOST") or DEFAULT_AUTHORITY
        self.token_url = f"{authority.rstrip('/')}/{self.tenant_id}/oauth2/v2.0/token"
        self._cache: dict[tuple[str, ...], AccessToken] = {}
        self._lock = threading.Lock()

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        if not scopes:
            raise ValueError("get_token needs at least one scope")
        with self._lock:
            cached = self._cache.get(scopes)
            if cached is not None and cached.expires_on - REFRESH_BEFORE_SECONDS > time.time():
                return cached
            token = self._exchange(scopes)
            self._cache[scopes] = token
            return token

    def _exchange(self, scopes: tuple[str, ...]) -> AccessToken:
        with open(self.token_file, encoding="utf-8") as f:
            assertion = f.read().strip()
        body = urllib.parse.urlencode({
            "client_id": self.client_id,
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
            "scope": " ".join(scopes),
        }).encode()
        request = urllib.request.Request(self.token_url, data=body, method="POST",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                answer = json.loads(response.read().decode())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise CredentialUnavailableError(f"token exchange at {self.token_url} failed: HTTP {exc.code} {detail}") from None
        if "access_token" not in answer:
            raise CredentialUnavailableError(f"token exchange at {self.token_url} returned no access_token")
        return AccessToken(answer["access_token"], int(time.time()) + int(answer.get("expires_in", 3600)))

    def close(self) -> None:
        pass

    def __enter__(self) -> WorkloadIdentityCredential:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()


# MLflow asks for DefaultAzureCredential; in this pod, workload identity is the only source.
DefaultAzureCredential = WorkloadIdentityCredential
