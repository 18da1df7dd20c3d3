"""The bucket rules (B1-B5) on the `kubernetes` provider: the in-cluster object store is ours, so it is judged
(recipes/existing/objectstore.py); a bucket of the user's (--bucket) is theirs, its settings their own.

Why here and not "n/a, your cluster decides": we deploy the store, so what it does about public access,
transport and old versions is the stack's doing, and `recipe check` says so, failures and weaker defaults
included.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from provisioner.analysis.plan import Plan, PlannedResource
from recipes.facts.any_cloud import SERVICE
from recipes.facts.kubernetes import IN_CLUSTER_STORE

from .queries import Verdict, get, of

USERS_BUCKET = "your bucket (--bucket): its own settings decide it"
NO_BUCKET = "no bucket in this stack"


def _store_parts(plan: Plan, type_: str) -> list[PlannedResource] | None:
    """The in-cluster store's resources of `type_`; None when the stack has no in-cluster store."""
    stores = {r.urn for r in of(plan, IN_CLUSTER_STORE)}
    return [r for r in of(plan, type_) if r.parent in stores] if stores else None


def _absent(plan: Plan) -> Verdict:
    return Verdict("n/a", USERS_BUCKET if plan.spec.bucket else NO_BUCKET)


def store_private(plan: Plan) -> Verdict:
    """B1: the store has no address outside the cluster, and answers the stack's keys only."""
    services = _store_parts(plan, SERVICE)
    if services is None:
        return _absent(plan)
    exposed = [s.name for s in services if get(s.inputs, "spec", "type", default="ClusterIP") != "ClusterIP"]
    if exposed:
        return Verdict("fail", "the in-cluster object store is reachable from outside the cluster", exposed)
    return Verdict("pass", "the in-cluster object store has no address outside the cluster (ClusterIP) and one "
                           "identity, the stack's, with rights on its bucket only")


def store_https(plan: Plan) -> Verdict:
    """B4: the bucket's endpoint. The in-cluster store speaks plain HTTP to the stack's pods (NetworkPolicies
    admit only its clients, on the S3 port); a bucket of the user's is reached over HTTPS unless on this machine."""
    if _store_parts(plan, SERVICE) is not None:
        return Verdict("warn", "the in-cluster object store speaks plain HTTP inside the cluster, to the stack's "
                               "pods only (NetworkPolicies, N6); this machine reaches it through kubectl "
                               "port-forward's tunnel")
    if not plan.spec.bucket:
        return Verdict("n/a", NO_BUCKET)
    endpoint = plan.spec.bucket_endpoint
    if endpoint and urlsplit(endpoint).scheme != "https":
        return Verdict("warn", f"your bucket's endpoint {endpoint} is plain HTTP (allowed on this machine only)")
    return Verdict("pass", "your bucket is reached over HTTPS" + (f" ({endpoint})" if endpoint else " (AWS S3)"))


def store_versioned(plan: Plan) -> Verdict:
    """B5: the in-cluster store keeps no old versions (they would fill its volume, which nothing expires)."""
    if _store_parts(plan, SERVICE) is None:
        return _absent(plan)
    return Verdict("warn", "the in-cluster object store keeps no old versions: an overwritten or deleted artifact "
                           "is gone (the volume itself is kept on destroy, D1)")
