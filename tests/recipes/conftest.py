"""Fixtures every program test folder (aws/, gcp/, azure/, kubernetes/) may use."""

from __future__ import annotations

import pytest


CREDENTIAL_VARIABLES = (
    "AWS_PROFILE", "ARM_CLIENT_ID", "ARM_CLIENT_SECRET", "ARM_CLIENT_CERTIFICATE_PATH", "ARM_TENANT_ID",
    "ARM_USE_OIDC", "ARM_USE_MSI", "ARM_OIDC_TOKEN_FILE_PATH", "AZURE_FEDERATED_TOKEN_FILE",
)


@pytest.fixture
def clean_env(monkeypatch):
    """No credential variable of the machine running the tests decides a kubeconfig here."""
    for variable in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch
