"""Which half-created resources `recipe repair` can adopt instead of forgetting.

A run killed while Pulumi was creating something leaves a pending create: the
resource may exist in the cloud without being in the state. Clearing it makes
Pulumi forget it, and when its name is fixed by its inputs (the EKS cluster is
named after the stack, buckets and roles too) the next deploy fails with "already
exists" while the orphan keeps billing. For those types the provider id follows
from the inputs the create was started with, so repair hands Pulumi
`--import-pending-creates URN ID`: refresh then reads the resource by that id and
keeps it (or drops it, if the create never reached the cloud).

Each cloud's facts hold the table (IMPORT_ID_FORMATS: resource type -> the provider's
documented import id, as a template of the inputs); types whose ids the cloud
generates (a VPC, a NAT gateway) are not in it: repair lists them for the user to check.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from recipes import facts


def context_of(deployment: Mapping[str, Any] | None, provider: str, spec_context: Mapping[str, str]) -> dict[str, str]:
    """What the ids need beyond a resource's own inputs: the GCP project and region, and the
    Azure subscription (read from an id already in the state)."""
    context = {k: v for k, v in spec_context.items() if v}
    if provider == "azure" and "subscription" not in context:
        for r in (deployment or {}).get("resources") or []:
            rid = str(r.get("id") or "")
            if rid.startswith("/subscriptions/"):
                context["subscription"] = rid.split("/")[2]
                break
    return context


def fill(template: str, inputs: Mapping[str, Any], context: Mapping[str, str]) -> str | None:
    """`template` with each `{field}` from the inputs, else from the context; None when one is
    missing or empty (the create was started without it, or the stack has no such context)."""
    fields = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    values = {name: inputs.get(name) or context.get(name) for name in fields}
    if not all(values.values()):
        return None
    return template.format(**{name: str(value) for name, value in values.items()})


def import_id(provider: str, type_: str, inputs: Mapping[str, Any], context: Mapping[str, str]) -> str | None:
    """The provider id a pending create of `type_` has in the cloud, if its inputs fix it."""
    if provider not in facts.PROVIDERS:
        return None
    template = facts.of(provider).IMPORT_ID_FORMATS.get(type_)
    return fill(template, inputs, context) if template is not None else None
