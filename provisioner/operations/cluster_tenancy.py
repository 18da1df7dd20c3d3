"""Is the user's cluster ready for this stack, beyond access (cluster_access.py)? Two checks, each a NotReady
(exit 2, nothing recorded) with the fix, through the same API client:

- the Secret --bucket-secret names exists where the user keeps it and holds both keys the program copies
  (deploy, preview, refresh: each runs the program, whose read of it fails midway otherwise);
- one stack per cluster (deploy): every namespace the stack creates has a fixed name (mlflow, zenml,
  istio-system, objectstore, ...), so a namespace of another stack would be taken over (the kept `objectstore`
  is adopted on redeploy: recipes/existing/cluster.py) and one of someone else's fails AlreadyExists only midway.
  A namespace labelled with this stack is an update, or the kept store being taken back.

No value of a Secret reaches a message, a log or an exception: only which key is missing.
"""

from __future__ import annotations

from recipes import naming
from recipes.facts.any_cloud import NAMESPACE
from recipes.kubernetes.namespaces import BUCKET_SECRET_KEYS
from recipes.spec_values import secret_ref

from provisioner.operations.cluster_access import ClusterContext, ClusterRefused, session

__all__ = ["TENANCY_OPERATIONS", "require_bucket_secret", "require_own_namespaces", "require_tenancy",
           "stack_namespaces"]

# The operations that run the program (and so read the user's Secret); `deploy` also creates the namespaces.
TENANCY_OPERATIONS = ("deploy", "preview", "refresh")


def require_tenancy(ctx: ClusterContext, spec, operation: str | None, *, timeout: float = 8, api=None) -> None:
    """The checks `operation` needs on the cluster of a `kubernetes` stack (none for destroy, repair, backup:
    a stack must stay removable whatever else the cluster holds)."""
    secret = spec.bucket_secret if spec.bucket and operation in TENANCY_OPERATIONS else ""
    if not secret and operation != "deploy":
        return
    namespaces = stack_namespaces(spec) if operation == "deploy" else []
    held, name = secret_ref(secret) if secret else ("", "")
    if held in namespaces:  # our destroy deletes the namespace, and the user's Secret with it
        raise ClusterRefused(f"--bucket-secret {held}/{name} is in namespace {held}, which the stack creates and its "
                             "destroy deletes, with everything in it; nothing was done. Keep the Secret in a namespace "
                             f"of yours: kubectl create secret generic {name} -n ml ..., then --bucket-secret ml/{name}")
    if api is None:  # a session of its own; preflight.require_cluster shares the access check's
        with session(ctx, timeout=timeout) as api:
            return require_tenancy(ctx, spec, operation, api=api)
    if secret:
        require_bucket_secret(api, ctx, secret)
    if namespaces:
        require_own_namespaces(api, ctx, spec.name, namespaces)


def require_bucket_secret(api, ctx: ClusterContext, ref: str) -> None:
    """The user's Secret (--bucket-secret [NAMESPACE/]NAME) exists, may be read, and holds both keys."""
    namespace, name = secret_ref(ref)
    answer = api.request("GET", f"/api/v1/namespaces/{namespace}/secrets/{name}", answered=(403, 404))
    code = answer.get("code") if answer.get("kind") == "Status" else None
    create = (f"kubectl create secret generic {name} -n {namespace} --context {ctx.name} "
              + " ".join(f"--from-literal={key}=..." for key in BUCKET_SECRET_KEYS))
    if code == 404:
        raise ClusterRefused(f"Secret {namespace}/{name} (--bucket-secret) not found in context {ctx.name!r}; nothing "
                             f"was done. Create it: {create}")
    if code == 403:
        raise ClusterRefused(f"context {ctx.name!r} may not read Secret {namespace}/{name} (--bucket-secret, 403 "
                             "Forbidden), which the deploy copies the bucket's keys from; nothing was done. Check with "
                             f"`kubectl auth can-i get secrets -n {namespace} --context {ctx.name}`, and ask for that "
                             "right or name a Secret this context may read")
    data = answer.get("data")
    missing = [key for key in BUCKET_SECRET_KEYS if not (isinstance(data, dict) and data.get(key))]
    if missing:
        raise ClusterRefused(f"Secret {namespace}/{name} (--bucket-secret) in context {ctx.name!r} has no "
                             f"{' and no '.join(missing)} (or it is empty); nothing was done. Write both keys into it: "
                             f"{create} --dry-run=client -o yaml | kubectl apply -f -")


def stack_namespaces(spec) -> list[str]:
    """The namespaces the stack creates, as its own program declares them (the offline plan, computed once per
    process: the deploy's security baseline reuses it)."""
    from provisioner.analysis.plan import run_plan

    plan = run_plan(spec)
    names = {(r.inputs.get("metadata") or {}).get("name") for r in plan.resources if r.type == NAMESPACE}
    return sorted(n for n in names if isinstance(n, str))


def require_own_namespaces(api, ctx: ClusterContext, stack: str, namespaces: list[str]) -> None:
    """None of `namespaces` belongs to another stack or to someone else; those of `stack` are its own."""
    others: dict[str, list[str]] = {}  # other stack -> its namespaces here
    foreign: list[str] = []
    for namespace in namespaces:
        answer = api.request("GET", f"/api/v1/namespaces/{namespace}", answered=(403, 404))
        code = answer.get("code") if answer.get("kind") == "Status" else None
        if code == 404:
            continue
        if code == 403:
            raise ClusterRefused(f"context {ctx.name!r} may not read namespace {namespace} (403 Forbidden), which the "
                                 "deploy checks to keep one stack per cluster; nothing was done. Check with "
                                 f"`kubectl auth can-i get namespaces --context {ctx.name}`, and ask a cluster-admin "
                                 "for that right or deploy with a context that has it")
        labels = (answer.get("metadata") or {}).get("labels") or {}
        holder = labels.get(naming.STACK_TAG)
        if holder == stack:
            continue
        if holder:
            others.setdefault(str(holder), []).append(namespace)
        else:
            foreign.append(namespace)
    if others:  # the first other stack found: its own destroy is the fix
        other, held = next(iter(others.items()))
        raise ClusterRefused(f"context {ctx.name!r} already holds stack {other} ({_named(held)}): one stack per "
                             f"cluster, whose namespaces have fixed names; nothing was done. Destroy {other} "
                             f"(recipe destroy {other}; a destroyed stack keeps its object store's namespace: "
                             f"recipe destroy {other} --delete-data deletes it, data included), or deploy to "
                             "another context")
    if foreign:
        one = len(foreign) == 1
        raise ClusterRefused(f"{_named(foreign)} {'exists' if one else 'exist'} in context {ctx.name!r} and "
                             f"{'is' if one else 'are'} not stack-recipes' (no {naming.STACK_TAG} label); nothing was "
                             "done. The deploy creates these names and would fail midway (AlreadyExists): delete "
                             f"{'it' if one else 'them'} if no one uses {'it' if one else 'them'}, or use another context")


def _named(namespaces: list[str]) -> str:
    return ("namespace " if len(namespaces) == 1 else "namespaces ") + ", ".join(namespaces)
