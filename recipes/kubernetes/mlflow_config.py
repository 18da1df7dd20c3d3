"""What the MLflow pod reads: its auth config, its start-up script, and their checksum.

Kept apart from the Deployment so the data-plane tests and the pod read the very same
text: the tests take these files from the plan, never from a copy.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

# The init container's script (see scripts/prepare_mlflow.py for why it exists).
PREPARE_SCRIPT = "prepare_mlflow.py"
PREPARE_SOURCE = (Path(__file__).parent / "scripts" / PREPARE_SCRIPT).read_text(encoding="utf-8")

# Web workers of MLflow's uvicorn server. Each costs ~170-200 MiB at idle (MLflow, the
# auth app, SQLAlchemy and the cloud SDKs loaded per process); two serve a team's
# tracking traffic and keep the pod far below its memory limit (README: tracker memory).
WORKERS = 2
# MLflow 3.x starts a background job runner (huey, 7 more processes) unless told not to.
# It runs MLflow's own GenAI jobs (scorers, prompt optimization), which ZenML never uses,
# and it alone pushed the pod past its 2Gi limit at idle.
SERVER_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def basic_auth_ini(database_uri: str, username: str, password: str) -> str:
    """MLflow's basic-auth config: the auth database and the admin account."""

    # configparser treats % as interpolation: double it in values.
    def esc(value: str) -> str:
        return value.replace("%", "%%")

    return (
        "[mlflow]\n"
        "default_permission = READ\n"
        f"database_uri = {esc(database_uri)}\n"
        f"admin_username = {esc(username)}\n"
        f"admin_password = {esc(password)}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )


def checksum(*parts: str) -> str:
    """A digest of what the pod reads from Secrets and ConfigMaps, for the pod template.

    Kubernetes does not restart pods when a mounted Secret changes, and a `pulumi up`
    that only rotates the admin password changes only the Secret: with this digest in
    the pod template's annotations the Deployment rolls, and the init container sets
    the new password before the server starts."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part.encode()).digest())
    return digest.hexdigest()
