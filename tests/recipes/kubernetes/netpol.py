"""A NetworkPolicy evaluator for tests: does the cluster let this connection through?

Kubernetes' semantics (networking.k8s.io/v1), on policies as the API server receives them
(camelCase keys, as a plan records them):
- a pod is isolated for a direction when any policy of its namespace selects it and has
  that policyType (policyTypes absent: Ingress, plus Egress when the policy has egress rules);
- a connection needs the sender's egress and the receiver's ingress: on each side, a pod
  not isolated for that direction allows everything, an isolated one what any rule of any
  policy selecting it admits (policies only add);
- a rule with no peers admits every peer, with no ports every port; a peer is an ipBlock
  (cidr minus except, matched against the endpoint's address) or selectors: podSelector
  alone means pods of the policy's namespace, namespaceSelector alone every pod of the
  matching namespaces, both in one peer means both;
- label selectors: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist);
  every namespace carries kubernetes.io/metadata.name;
- ports: protocol defaults to TCP, endPort makes a range. Named ports are refused (our
  policies use numbers, and a name depends on the receiving pod's spec).
Not modelled: traffic from a pod's own node (always allowed, e.g. kubelet probes) and
hostNetwork pods.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
DIRECTIONS = ("Ingress", "Egress")


@dataclass(frozen=True)
class Endpoint:
    """A pod (namespace set) or an address outside the pod network (namespace None)."""

    name: str
    namespace: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    ip: str | None = None

    @property
    def is_pod(self) -> bool:
        return self.namespace is not None


def pod(name: str, namespace: str, labels: Mapping[str, str] | None = None, ip: str | None = None) -> Endpoint:
    return Endpoint(name, namespace, dict(labels or {}), ip)


def address(ip: str, name: str = "") -> Endpoint:
    return Endpoint(name or ip, None, {}, ip)


class PolicyError(ValueError):
    """A policy the evaluator cannot judge (the API server would refuse it, or it needs a pod's spec)."""


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A LabelSelector on a set of labels; an empty selector selects everything."""
    if selector is None:
        raise PolicyError("a missing selector is not an empty one")
    unknown = set(selector) - {"matchLabels", "matchExpressions"}
    if unknown:
        raise PolicyError(f"unknown selector keys {sorted(unknown)}")
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if operator == "In":
            if not values:
                raise PolicyError(f"{key} In needs values")
            if labels.get(key) not in values:
                return False
        elif operator == "NotIn":
            if not values:
                raise PolicyError(f"{key} NotIn needs values")
            if key in labels and labels[key] in values:
                return False
        elif operator in ("Exists", "DoesNotExist"):
            if values:
                raise PolicyError(f"{key} {operator} takes no values")
            if (key in labels) != (operator == "Exists"):
                return False
        else:
            raise PolicyError(f"unknown operator {operator!r}")
    return True


class Cluster:
    """NetworkPolicies (whole objects: metadata + spec) and the namespaces' labels."""

    def __init__(self, policies: Iterable[Mapping[str, Any]], namespace_labels: Mapping[str, Mapping[str, str]] | None = None):
        self.policies = [dict(p) for p in policies]
        self.namespace_labels = {ns: dict(labels) for ns, labels in (namespace_labels or {}).items()}
        for policy in self.policies:
            if not policy.get("metadata", {}).get("namespace"):
                raise PolicyError(f"policy {policy.get('metadata', {}).get('name')!r} has no namespace")

    def labels_of_namespace(self, namespace: str) -> dict[str, str]:
        return {**self.namespace_labels.get(namespace, {}), NAMESPACE_NAME_LABEL: namespace}

    # --- isolation -------------------------------------------------------------------
    def selecting(self, endpoint: Endpoint, direction: str) -> list[Mapping[str, Any]]:
        """The policies that select `endpoint` and isolate it for `direction`."""
        if direction not in DIRECTIONS:
            raise ValueError(direction)
        if not endpoint.is_pod:
            return []
        return [p for p in self.policies
                if p["metadata"]["namespace"] == endpoint.namespace
                and direction in policy_types(p["spec"])
                and selects(p["spec"].get("podSelector"), endpoint.labels)]

    def isolated(self, endpoint: Endpoint, direction: str) -> bool:
        return bool(self.selecting(endpoint, direction))

    # --- connections -----------------------------------------------------------------
    def allows(self, source: Endpoint, destination: Endpoint, port: int, protocol: str = "TCP") -> bool:
        """Whether a connection from `source` to `destination` on `port`/`protocol` gets through."""
        return (self._admits(source, "Egress", destination, port, protocol)
                and self._admits(destination, "Ingress", source, port, protocol))

    def _admits(self, endpoint: Endpoint, direction: str, peer: Endpoint, port: int, protocol: str) -> bool:
        policies = self.selecting(endpoint, direction)
        if not endpoint.is_pod or not policies:
            return True  # not a pod, or not isolated for this direction
        rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        for policy in policies:
            for rule in policy["spec"].get(rules_key) or []:
                if self._rule_admits(rule, peers_key, policy["metadata"]["namespace"], peer, port, protocol):
                    return True
        return False

    def _rule_admits(self, rule: Mapping[str, Any], peers_key: str, namespace: str, peer: Endpoint, port: int,
                     protocol: str) -> bool:
        unknown = set(rule) - {peers_key, "ports"}
        if unknown:
            raise PolicyError(f"unknown rule keys {sorted(unknown)}")
        peers = rule.get(peers_key) or []
        if peers and not any(self._peer_matches(p, namespace, peer) for p in peers):
            return False
        ports = rule.get("ports") or []
        return not ports or any(port_matches(p, port, protocol) for p in ports)

    def _peer_matches(self, peer: Mapping[str, Any], namespace: str, endpoint: Endpoint) -> bool:
        unknown = set(peer) - {"ipBlock", "namespaceSelector", "podSelector"}
        if unknown:
            raise PolicyError(f"unknown peer keys {sorted(unknown)}")
        if "ipBlock" in peer:
            if len(peer) > 1:
                raise PolicyError("an ipBlock peer has no selectors")
            return in_block(peer["ipBlock"], endpoint.ip)
        if not peer:
            raise PolicyError("an empty peer")
        if not endpoint.is_pod:
            return False
        if "namespaceSelector" in peer:
            if not selects(peer["namespaceSelector"], self.labels_of_namespace(endpoint.namespace)):
                return False
        elif endpoint.namespace != namespace:
            return False
        return "podSelector" not in peer or selects(peer["podSelector"], endpoint.labels)


def policy_types(spec: Mapping[str, Any]) -> list[str]:
    types = spec.get("policyTypes")
    if types is None:
        return ["Ingress", *(["Egress"] if spec.get("egress") else [])]
    unknown = set(types) - set(DIRECTIONS)
    if unknown:
        raise PolicyError(f"unknown policyTypes {sorted(unknown)}")
    return list(types)


def port_matches(entry: Mapping[str, Any], port: int, protocol: str) -> bool:
    if entry.get("protocol", "TCP") != protocol:
        return False
    number = entry.get("port")
    if number is None:
        if "endPort" in entry:
            raise PolicyError("endPort without port")
        return True
    if isinstance(number, str):
        raise PolicyError(f"named port {number!r}: the evaluator takes numbers only")
    end = entry.get("endPort", number)
    if end < number:
        raise PolicyError(f"endPort {end} below port {number}")
    return number <= port <= end


def in_block(block: Mapping[str, Any], ip: str | None) -> bool:
    if ip is None:
        return False
    address_ = ipaddress.ip_address(ip)
    network = ipaddress.ip_network(block["cidr"], strict=False)
    if address_.version != network.version or address_ not in network:
        return False
    for excepted in block.get("except") or []:
        inner = ipaddress.ip_network(excepted, strict=False)
        if not inner.subnet_of(network):
            raise PolicyError(f"except {excepted} is outside {block['cidr']}")
        if address_ in inner:
            return False
    return True
