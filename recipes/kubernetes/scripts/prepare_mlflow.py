"""Prepare MLflow's two databases before its server starts (an init container, in the MLflow image).

Why a separate step, run once per pod start before any server worker:

1. Schema migrations run here, once. Left to the server, every web worker migrates
   the auth database on its own and, on an empty database, they race
   (`UniqueViolation ... alembic_version_auth`: workers crash and restart). An image
   upgrade that needs a schema upgrade is applied here too (`mlflow db upgrade`).
2. The admin account's password is set to the one in `basic_auth.ini` (from the
   stack's Kubernetes Secret), creating the account if it is missing. MLflow itself
   only creates the admin once, on an empty database, so without this step a
   rotated password (a new Pulumi secret) would never take effect, the old one would
   stay valid, and every export and ZenML secret would break. A password changed in
   MLflow's UI is reset to the stack's on the next start: the stack's Secret is the
   one source of truth.

Reads the same configuration as the server: MLFLOW_BACKEND_STORE_URI and the
basic-auth ini at MLFLOW_AUTH_CONFIG_PATH. Prints no secret.
"""

from __future__ import annotations

import os
import sys


def migrate_tracking_database(uri: str) -> str:
    # The same steps as the server's own store (empty database) and `mlflow db upgrade`.
    from mlflow.store.db import utils as db

    engine = db.create_sqlalchemy_engine_with_retry(uri)
    try:
        if db._is_empty_database(engine):
            db._initialize_tables(engine)
            return "created"
        db._upgrade_db(engine)
        return "up to date"
    finally:
        engine.dispose()


def reconcile_admin(username: str, password: str, database_uri: str) -> str:
    from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore()
    store.init_db(database_uri)  # migrates the auth database to head
    try:
        if store.has_user(username):
            store.update_user(username, password=password, is_admin=True)
            return "password set"
        store.create_user(username, password, is_admin=True)
        return "created"
    finally:
        store.engine.dispose()


def main() -> int:
    from mlflow.server.auth.config import read_auth_config

    backend_uri = os.environ.get("MLFLOW_BACKEND_STORE_URI")
    if not backend_uri:
        print("prepare: MLFLOW_BACKEND_STORE_URI is not set", file=sys.stderr)
        return 2
    config = read_auth_config()  # MLFLOW_AUTH_CONFIG_PATH
    print(f"prepare: tracking database {migrate_tracking_database(backend_uri)}", flush=True)
    outcome = reconcile_admin(config.admin_username, config.admin_password, config.database_uri)
    print(f"prepare: auth database migrated; admin {config.admin_username!r}: {outcome}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
