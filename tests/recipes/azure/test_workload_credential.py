"""The MLflow pod's Azure credential: workload identity's token exchange against a local Entra ID stand-in.

A real HTTP server on 127.0.0.1 plays the token endpoint and checks the request the way
Entra ID would (form fields, assertion type, the projected token as the assertion).
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from recipes.azure import workload_credential as wc


TENANT = "00000000-1111-2222-3333-444444444444"
CLIENT = "55555555-6666-7777-8888-999999999999"


@pytest.fixture
def entra(tmp_path, monkeypatch):
    """A token endpoint that accepts the cluster's current projected token only, and counts exchanges."""
    state = {"requests": [], "token_file": tmp_path / "azure-identity-token", "expires_in": 3600,
             "accepted": {"projected-token-1"}}
    state["token_file"].write_text("projected-token-1\n")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
            form = {k: v[0] for k, v in body.items()}
            state["requests"].append((self.path, form))
            ok = (self.path == f"/{TENANT}/oauth2/v2.0/token" and form.get("client_id") == CLIENT
                  and form.get("grant_type") == "client_credentials"
                  and form.get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
                  and form.get("client_assertion") in state["accepted"])
            answer = ({"token_type": "Bearer", "expires_in": state["expires_in"], "access_token": f"access-{len(state['requests'])}"}
                      if ok else {"error": "invalid_client"})
            payload = json.dumps(answer).encode()
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # What the AKS workload identity webhook injects into the pod.
    monkeypatch.setenv("AZURE_CLIENT_ID", CLIENT)
    monkeypatch.setenv("AZURE_TENANT_ID", TENANT)
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(state["token_file"]))
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", f"http://127.0.0.1:{server.server_address[1]}/")
    yield state
    server.shutdown()


def test_exchanges_the_projected_token_for_an_access_token(entra):
    credential = wc.DefaultAzureCredential()
    token = credential.get_token("https://storage.azure.com/.default")
    assert token.token == "access-1"
    path, form = entra["requests"][0]
    assert form["scope"] == "https://storage.azure.com/.default"


def test_caches_until_shortly_before_expiry_and_rereads_the_rotated_token(entra):
    credential = wc.DefaultAzureCredential()
    assert credential.get_token("https://storage.azure.com/.default").token == "access-1"
    assert credential.get_token("https://storage.azure.com/.default").token == "access-1"  # cached
    assert len(entra["requests"]) == 1
    # A token within five minutes of expiry is exchanged again, with the kubelet's new projected token.
    entra["token_file"].write_text("projected-token-2\n")
    entra["accepted"] = {"projected-token-2"}
    entra["expires_in"] = 299
    assert credential.get_token("https://vault.azure.net/.default").token == "access-2"
    assert credential.get_token("https://vault.azure.net/.default").token == "access-3"
    assert [form["client_assertion"] for _, form in entra["requests"]] == ["projected-token-1", "projected-token-2", "projected-token-2"]


def test_a_refused_exchange_says_where_and_why(entra):
    entra["token_file"].write_text("someone-elses-token\n")
    with pytest.raises(wc.CredentialUnavailableError, match=r"HTTP 401 .*invalid_client"):
        wc.DefaultAzureCredential().get_token("https://storage.azure.com/.default")


def test_without_workload_identity_it_says_what_is_missing(monkeypatch):
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(wc.CredentialUnavailableError, match="AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE not set"):
        wc.DefaultAzureCredential()


def test_the_module_imports_only_the_standard_library():
    # It runs in the MLflow image, where nothing may be installed at start.
    import ast
    import sys
    from pathlib import Path

    tree = ast.parse(Path(wc.__file__).read_text())
    imported = {(n.module if isinstance(n, ast.ImportFrom) else a.name).split(".")[0]
                for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                for a in (n.names if isinstance(n, ast.Import) else [n])}
    imported -= {"__future__", "azure"}  # azure.core is the image's, and optional
    assert imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)
