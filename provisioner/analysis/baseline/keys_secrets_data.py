"""The baseline's whole-stack checks (I2, S1, D1): keys, secrets and data, judged the same on every cloud.

Why together: each reads the whole plan rather than one cloud's resources, with the cloud's
part (which types are keys, which hold data) read from recipes/facts/<cloud>.py.
"""

from __future__ import annotations

import json

from provisioner.analysis.plan import Plan
from recipes import facts
from recipes.facts.aws import EKS_CLUSTER
from recipes.facts import kubernetes as k8s_provider_facts
from recipes.facts.gcp import GKE_CLUSTER
from recipes.facts.any_cloud import KUBERNETES_PROVIDER, PERSISTENT_VOLUME_CLAIM, SECRET

from .queries import Verdict, each, of

# The outputs that must be Pulumi secrets: (component, field).
SECRET_OUTPUTS = (("cluster", "kubeconfig"), ("tracker", "password"))


def no_long_lived_keys(plan: Plan) -> Verdict:
    """I2"""
    key_types = facts.of(plan.spec.provider).LONG_LIVED_KEY_TYPES
    found = [r.name for r in plan.resources if r.type in key_types]
    return Verdict("fail", "long-lived keys", found) if found else Verdict("pass", "no access keys or key files")


def secrets_are_secret(plan: Plan) -> Verdict:
    """S1: Secret data, kubeconfigs and generated passwords are Pulumi secrets, and never in clear in an input."""
    bad = [s.name for s in of(plan, SECRET)
           if ("stringData" in s.inputs and "stringData" not in s.secret_inputs)
           or ("data" in s.inputs and "data" not in s.secret_inputs)]
    bad += [p.name for p in of(plan, KUBERNETES_PROVIDER) if "kubeconfig" in p.inputs and "kubeconfig" not in p.secret_inputs]
    expected = {f"{c}.{f}" for c, f in SECRET_OUTPUTS if c in plan.raw_outputs}
    missing = sorted(expected - set(plan.secret_outputs))
    if missing:
        bad += missing
    # No generated secret may appear in clear in any recorded input.
    raw = json.dumps([r.inputs for r in plan.resources], default=str)
    password = (plan.raw_outputs.get("tracker") or {}).get("password")
    if password and password in raw:
        bad.append("a plaintext password in resource inputs")
    return Verdict("fail", "a secret is not a Pulumi secret", bad) if bad else Verdict("pass", "passwords, kubeconfigs and Secret data are Pulumi secrets")


def data_survives(plan: Plan) -> Verdict:
    """D1: destroy keeps the bucket and registry (protected and retained), and nothing else blocks it."""
    blocking = [c.name for c in of(plan, GKE_CLUSTER) if c.inputs.get("deletionProtection") is not False]
    blocking += [c.name for c in of(plan, EKS_CLUSTER) if c.inputs.get("deletionProtection") is True]
    data = [r for t in facts.of(plan.spec.provider).DATA_TYPES for r in of(plan, t)]
    return _kept_on_destroy(plan, data, blocking, what="bucket and registry", absent="no bucket or registry in this stack")


def store_survives(plan: Plan) -> Verdict:
    """D1 on the `kubernetes` provider: the in-cluster object store's volume (the bucket's data) is protected
    and kept on destroy; a bucket of the user's (--bucket) is theirs, never ours to delete."""
    stores = {r.urn for r in of(plan, k8s_provider_facts.IN_CLUSTER_STORE)}
    data = [r for r in of(plan, PERSISTENT_VOLUME_CLAIM) if r.parent in stores]
    return _kept_on_destroy(plan, data, [], what="the in-cluster bucket's volume",
                            absent="no in-cluster bucket in this stack (--bucket: the user's bucket, never deleted)")


def _kept_on_destroy(plan: Plan, data: list, blocking: list[str], *, what: str, absent: str) -> Verdict:
    # `recipe destroy` removes everything unprotected and keeps what is protected: protection
    # on anything that is not kept data would make the stack impossible to destroy.
    stuck = [r.name for r in plan.resources if r.protect and not r.retain_on_delete]
    if stuck:
        return Verdict("fail", "protected resources that destroy would never remove", stuck)
    if blocking:
        return Verdict("fail", "deletion protection would make destroy fail", blocking)
    if not data:
        return Verdict("n/a", absent)
    if plan.spec.delete_data:
        return Verdict("option", f"--delete-data: destroy removes {what}")
    return each(data, lambda r: r.retain_on_delete and r.protect,
                f"{what}: protected and kept on destroy (not with --delete-data)",
                f"{what}: not protected and retained on destroy")
