"""The small vocabulary the rules' predicates are written in: find resources, read inputs, judge.

Why shared: every cloud's predicates ask the same questions of a plan (the resources of
a type, what references what, a nested input, "every one of them satisfies ..."), and
a few rules have the same shape on every cloud (immutable tags, a restricted endpoint,
envelope encryption), so each cloud only says what to look at.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from provisioner.analysis.plan import Plan, PlannedResource

STATUSES = ("pass", "fail", "warn", "option", "n/a")
NOT_IN_STACK = "not in this stack"
NO_CLUSTER = "no cluster in this stack"


def open_to_internet(cidrs) -> bool:
    """Whether --allow-cidr admits every address (0.0.0.0/0, ::/0): no restriction at all."""
    import ipaddress

    return any(ipaddress.ip_network(str(c), strict=False).prefixlen == 0 for c in cidrs or ())


OPEN_CIDR_NOTE = "--allow-cidr 0.0.0.0/0 admits every address"


@dataclass
class Verdict:
    status: str
    detail: str = ""
    resources: list[str] = field(default_factory=list)  # names of failing resources


def of(plan: Plan, type_: str) -> list[PlannedResource]:
    return plan.by_type(type_)


def linked(plan: Plan, resource: PlannedResource, type_: str) -> list[PlannedResource]:
    """Resources of `type_` that reference `resource` (it is among their dependencies)."""
    return [r for r in of(plan, type_) if resource.urn in r.dependencies]


def get(value: Any, *path: str | int, default: Any = None) -> Any:
    """A nested input (`get(inputs, "vpcConfig", "publicAccessCidrs")`); `default` where the path ends."""
    for key in path:
        if isinstance(key, int):
            value = value[key] if isinstance(value, list) and len(value) > key else None
        else:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            return default
    return value


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def policy_doc(value: Any) -> dict[str, Any]:
    """An IAM-style policy document, whether recorded as JSON text or as a dict."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return {}
    return value if isinstance(value, dict) else {}


def statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    found = doc.get("Statement") or []
    return found if isinstance(found, list) else [found]


# --------------------------------------------------------------------------
# Verdicts


def each(resources: list[PlannedResource], ok: Callable[[PlannedResource], bool], good: str, bad: str) -> Verdict:
    """pass when every resource satisfies `ok`; n/a when there is none."""
    if not resources:
        return Verdict("n/a", NOT_IN_STACK)
    failing = [r.name for r in resources if not ok(r)]
    return Verdict("fail", bad, failing) if failing else Verdict("pass", good)


def each_of(plan: Plan, type_: str, ok: Callable[[PlannedResource], bool], good: str, bad: str) -> Verdict:
    """`each` over the plan's resources of `type_`."""
    return each(of(plan, type_), ok, good, bad)


def present(plan: Plan, type_: str, good: str) -> Verdict:
    """pass when the stack has a `type_` (the cloud guarantees the rule for it); n/a otherwise."""
    return Verdict("pass", good) if of(plan, type_) else Verdict("n/a", NOT_IN_STACK)


def option_if_present(plan: Plan, type_: str, detail: str, absent: str = NOT_IN_STACK) -> Verdict:
    """The rule needs a paid option on this cloud: `option` when the stack has a `type_`."""
    return Verdict("option", detail) if of(plan, type_) else Verdict("n/a", absent)


def immutable_tags(plan: Plan, type_: str, ok: Callable[[PlannedResource], bool]) -> Verdict:
    """R1 on any cloud: immutable tags are an option, unless --immutable-tags asked for them."""
    resources = of(plan, type_)
    if not resources:
        return Verdict("n/a", NOT_IN_STACK)
    if all(ok(r) for r in resources):
        return Verdict("pass", "immutable tags")
    if plan.spec.immutable_tags:
        return Verdict("fail", "--immutable-tags given but tags are mutable", [r.name for r in resources if not ok(r)])
    return Verdict("option", "mutable tags: ZenML re-pushes the same tag for each build; --immutable-tags if you tag yourself")


def restricted_endpoint(plan: Plan, type_: str, private: Callable[[PlannedResource], bool],
                        restricted: Callable[[PlannedResource], bool]) -> Verdict:
    """C1 on any cloud: the Kubernetes API private, or restricted to --allow-cidr; open only as a warning."""
    clusters = of(plan, type_)
    if not clusters:
        return Verdict("n/a", NO_CLUSTER)
    if all(private(c) for c in clusters):
        return Verdict("pass", "private endpoint")
    if open_to_internet(plan.spec.allow_cidrs):
        return Verdict("warn", f"the Kubernetes API endpoint is open to the internet ({OPEN_CIDR_NOTE}; "
                               "authentication only); restrict it with --allow-cidr YOUR.IP.ADDRESS/32")
    if all(restricted(c) for c in clusters):
        return Verdict("pass", "endpoint restricted to --allow-cidr")
    if plan.spec.allow_cidrs or plan.spec.private_endpoint:
        return Verdict("fail", "the endpoint ignores --allow-cidr / --private-endpoint", [c.name for c in clusters])
    return Verdict("warn", "the Kubernetes API endpoint is open to the internet (authentication only); restrict it with --allow-cidr")


def secrets_encryption(plan: Plan, type_: str, ok: Callable[[PlannedResource], bool]) -> Verdict:
    """C3 on any cloud: envelope encryption of Kubernetes secrets, an option that needs --kms."""
    clusters = of(plan, type_)
    if not clusters:
        return Verdict("n/a", NO_CLUSTER)
    if not plan.spec.kms:
        return Verdict("option", "envelope encryption of secrets needs a KMS key (costs money): --kms")
    return each(clusters, ok, "secrets encrypted with the stack's key", "--kms given but secrets are not envelope-encrypted")
