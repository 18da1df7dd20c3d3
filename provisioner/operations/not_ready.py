"""The error of every check a machine or a cluster fails before an operation: nothing was touched (exit 2).

Its own module so that the checks (preflight.py, and the cluster's in cluster_access.py, which preflight.py
runs for provider `kubernetes`) share it without importing each other."""

from __future__ import annotations

from recipes.errors import BadInput


class NotReady(BadInput):
    """This machine cannot run the operation (no usable Pulumi CLI, no credentials): nothing was touched."""
