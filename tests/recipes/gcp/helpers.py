"""Type tokens and small readers the GCP program tests share."""

from __future__ import annotations

import json
from typing import Any

from recipes.spec import StackSpec

from recipes.facts import gcp as facts

from tests.recipes.plans import program_spec


GCP_PROVIDER = "pulumi:providers:gcp"
ACCOUNT_IAM = "gcp:serviceaccount/iAMMember:IAMMember"


ENCRYPTION = "recipes:gcp:Encryption"


ALL_APIS = {
    "compute.googleapis.com", "container.googleapis.com", "iam.googleapis.com", "iamcredentials.googleapis.com",
    "cloudresourcemanager.googleapis.com", "storage.googleapis.com", "artifactregistry.googleapis.com",
    "containerscanning.googleapis.com", "binaryauthorization.googleapis.com",
}


def gcp_spec(**values: Any) -> StackSpec:
    """The GCP spec the program tests plan (project demo-project, us-central1), with `values` as flags."""
    return program_spec("gcp", **values)


def children_by_type(plan, type_: str, name: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for r in plan.children(plan.one(type_, name).urn):
        out.setdefault(r.type, []).append(r)
    return out


def as_map(value: Any) -> dict:
    """Provider inputs are recorded JSON-encoded."""
    return json.loads(value) if isinstance(value, str) else value


def service_urns(plan, *apis: str) -> set[str]:
    return {s.urn for s in plan.by_type(facts.PROJECT_SERVICE) if s.inputs["service"] in apis}


def grants_by_component(plan) -> dict[str, Any]:
    return {g.name.removeprefix("encryption-").removesuffix("-agent"): g for g in plan.by_type(facts.KMS_CRYPTO_KEY_IAM_MEMBER)}


def key_id(plan) -> str:
    key = plan.one(facts.KMS_CRYPTO_KEY)
    return f"{key.inputs['keyRing']}/cryptoKeys/{key.inputs['name']}"
