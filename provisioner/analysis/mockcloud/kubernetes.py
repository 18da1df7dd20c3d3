"""Mock answers for pulumi-kubernetes: load balancer addresses, Helm release status, the user's bucket Secret."""

from __future__ import annotations

import base64
from typing import Any

from recipes.facts.any_cloud import HELM_RELEASE, SECRET, SERVICE

from . import Context, digest

# What `recipe plan` shows for the load balancer's address below (see PLACEHOLDERS in __init__).
# The IP is one of TEST-NET-3 (203.0.113.0/24) alone: not followed by a prefix, it is no user's CIDR.
PLACEHOLDERS = (
    (r"\ba[0-9a-f]{24}-[0-9a-f]{10}\.elb\.amazonaws\.com", "<load-balancer-hostname>"),
    (r"(?<![\d.])203\.0\.113\.\d{1,3}(?![\d./])", "<load-balancer-ip>"),
)


# The API server's default --service-node-port-range.
NODE_PORT_RANGE = (30000, 32767)


class KubernetesError(Exception):
    """What the API server answers a request it refuses."""


def validate_service(name: str, spec: dict[str, Any]) -> None:
    """The Service validation of the API server (pkg/apis/core/validation) our Services could trip."""
    kind = spec.get("type") or "ClusterIP"
    invalid = f'Service "{name}" is invalid: '
    seen: set[int] = set()
    for i, port in enumerate(spec.get("ports") or []):
        node_port = port.get("nodePort")
        if node_port is None:
            continue
        node_port = int(node_port)
        if kind == "ClusterIP":
            raise KubernetesError(f"{invalid}spec.ports[{i}].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'")
        if not NODE_PORT_RANGE[0] <= node_port <= NODE_PORT_RANGE[1]:
            raise KubernetesError(f"{invalid}spec.ports[{i}].nodePort: Invalid value: {node_port}: provided port is not "
                                  f"in the valid range. The range of valid ports is {NODE_PORT_RANGE[0]}-{NODE_PORT_RANGE[1]}")
        if node_port in seen:
            raise KubernetesError(f"{invalid}spec.ports[{i}].nodePort: Duplicate value: {node_port}")
        seen.add(node_port)
    if spec.get("loadBalancerSourceRanges") and kind != "LoadBalancer":
        raise KubernetesError(f"{invalid}spec.loadBalancerSourceRanges: Forbidden: may only be used when `type` is "
                              "'LoadBalancer'")


def computed(type_: str, name: str, inputs: dict[str, Any], context: Context) -> dict[str, Any]:
    if type_ == SERVICE:
        validate_service(((inputs.get("metadata") or {}).get("name")) or name, inputs.get("spec") or {})
    if type_ == SERVICE and (inputs.get("spec") or {}).get("type") == "LoadBalancer":
        h = digest(name, length=34)
        return {
            "status": {
                "loadBalancer": {
                    "ingress": [{"hostname": f"a{h[:24]}-{h[24:34]}.elb.amazonaws.com", "ip": f"203.0.113.{int(h[:2], 16) % 250 + 1}"}]
                }
            }
        }
    if type_ == HELM_RELEASE:
        return {"status": {"name": inputs.get("name", name), "namespace": inputs.get("namespace"), "status": "deployed"}}
    return {}


def read(type_: str, resource_id: str, inputs: dict[str, Any], context: Context) -> dict[str, Any] | None:
    """The one object a stack reads from a cluster it did not create: the Secret --bucket-secret names (the deploy
    preflight checks that it exists with both keys), holding `bucket_secret_keys`, base64 as the API serves `data`.
    Anything else does not exist (None)."""
    from recipes.spec_values import secret_ref

    spec = context.spec
    if type_ != SECRET or not getattr(spec, "bucket_secret", ""):
        return None
    namespace, name = secret_ref(spec.bucket_secret)
    if resource_id != f"{namespace}/{name}":
        return None
    data = {key: base64.b64encode(value.encode()).decode() for key, value in bucket_secret_keys(resource_id).items()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace},
            "type": "Opaque", "data": data}


def bucket_secret_keys(resource_id: str) -> dict[str, str]:
    """What the user's bucket Secret NAMESPACE/NAME holds in the mock cloud: a key pair shaped as S3's (20 upper-case
    alphanumerics, 40 characters), one per Secret, so a copy of it is told from the in-cluster store's keys."""
    from recipes.kubernetes.namespaces import BUCKET_SECRET_KEYS

    access_key, secret_key = BUCKET_SECRET_KEYS
    return {access_key: "AKIA" + digest("access", resource_id, length=16).upper(),
            secret_key: digest("secret", resource_id, length=40)}
