"""NetworkPolicies for every namespace the stack owns: deny by default, then each flow of the topology.

The clusters enforce NetworkPolicy on every cloud (EKS's VPC CNI network policy agent, GKE
Dataplane V2, AKS with Cilium). In each namespace given, `default-deny` selects every pod
for both directions with no rule, `allow-dns` opens DNS, and each row of
`segmentation_flows.flows()` whose namespace (and whose peers' namespaces of ours) the stack
has becomes one NetworkPolicy: what the row does not admit, no pod of ours sends or receives.
Kubelet probes need no rule (a node always reaches its own pods).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..cloud import ClusterHandle
from . import segmentation_flows as table
from .segmentation_flows import ANYWHERE, DEFAULT_DENY, DEFAULT_DENY_WHY, EGRESS, IDENTITY_ENDPOINTS, INGRESS, Flow, Pods

WHY_ANNOTATION = "stack-recipes.dev/why"


@dataclass
class SegmentationArgs:
    cluster: ClusterHandle
    labels: dict[str, str]
    # Namespace name -> its Namespace resource: the namespaces to segment (each policy waits for its namespace).
    namespaces: dict[str, pulumi.Resource]
    # The cloud's link-local identity endpoints as (CIDR, TCP port): recipes/facts/<cloud>.py IDENTITY_ENDPOINTS.
    identity_endpoints: tuple[tuple[str, int], ...] = ()
    # MLflow's own port on the gateway's load balancer beside the models' (None: no such port).
    tracker_port_beside_models: int | None = None
    # --domain: the certificate comes from Let's Encrypt through HTTP-01 (the gateway routes the
    # challenge to cert-manager's solver, the controller checks it through the load balancer).
    acme_http01: bool = False
    # The port of a bucket endpoint of the user's when it is not 443 (--bucket-endpoint; None: 443 or none).
    bucket_port: int | None = None


def applicable(args: SegmentationArgs) -> list[Flow]:
    """The flows this stack gets: DNS in every namespace given, and each topology row whose namespace
    and peer namespaces the stack has."""
    unknown = sorted(set(args.namespaces) - table.STACK_NAMESPACES)
    if unknown:
        # A namespace whose flows nobody wrote down would be cut off by its default-deny.
        raise ValueError(f"no network flows are known for namespace(s) {', '.join(unknown)}: "
                         "add their rows to recipes/kubernetes/segmentation_flows.py")
    present = set(args.namespaces)
    rows = [table.dns(ns) for ns in args.namespaces]
    for flow in table.flows(args.tracker_port_beside_models, args.acme_http01, args.bucket_port):
        if flow.namespace not in present or not table.peer_namespaces(flow) <= present:
            continue
        if IDENTITY_ENDPOINTS in flow.peers and not args.identity_endpoints:
            continue  # the cloud's identity is reached over HTTPS (AKS): nothing link-local to open
        rows.append(flow)
    return rows


def default_deny_spec() -> dict[str, Any]:
    return {"pod_selector": {}, "policy_types": [INGRESS, EGRESS]}


def policy_spec(flow: Flow, identity_endpoints: tuple[tuple[str, int], ...]) -> dict[str, Any]:
    """One flow as a NetworkPolicy spec (the Pulumi SDK's keys)."""
    peer_key = "from_" if flow.direction == INGRESS else "to"
    rules: list[dict[str, Any]] = []
    selected = [_peer(p) for p in flow.peers if isinstance(p, Pods)]
    if selected:
        rules.append({peer_key: selected, **_ports(flow.ports)})
    if ANYWHERE in flow.peers:
        rules.append(_ports(flow.ports))  # no peer: any source or destination
    if IDENTITY_ENDPOINTS in flow.peers:
        rules += [{peer_key: [{"ip_block": {"cidr": cidr}}], **_ports((("TCP", port),))}
                  for cidr, port in identity_endpoints]
    return {
        "pod_selector": flow.pods,
        "policy_types": [flow.direction],
        "ingress" if flow.direction == INGRESS else "egress": rules,
    }


def _peer(pods: Pods) -> dict[str, Any]:
    peer: dict[str, Any] = {"pod_selector": pods.selector}
    if pods.namespace is not None:  # both selectors in one peer: these pods in that namespace
        peer["namespace_selector"] = {"match_labels": {table.NAMESPACE_NAME_LABEL: pods.namespace}}
    return peer


def _ports(ports: tuple[tuple[str, int], ...]) -> dict[str, Any]:
    return {"ports": [{"protocol": protocol, "port": port} for protocol, port in ports]} if ports else {}


class Segmentation(pulumi.ComponentResource):
    policies: dict[tuple[str, str], k8s.networking.v1.NetworkPolicy]  # (namespace, name) -> policy

    def __init__(self, name: str, args: SegmentationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:kubernetes:Segmentation", name, None, opts)
        self.policies = {}
        for namespace in args.namespaces:
            self._policy(name, args, namespace, DEFAULT_DENY, default_deny_spec(), DEFAULT_DENY_WHY)
        for flow in applicable(args):
            self._policy(name, args, flow.namespace, flow.name, policy_spec(flow, args.identity_endpoints), flow.why)
        self.register_outputs({"policies": sorted(f"{ns}/{policy}" for ns, policy in self.policies)})

    def _policy(self, name: str, args: SegmentationArgs, namespace: str, policy: str, spec: dict[str, Any],
                why: str) -> None:
        self.policies[(namespace, policy)] = k8s.networking.v1.NetworkPolicy(
            f"{name}-{namespace}-{policy}",
            metadata={"name": policy, "namespace": namespace, "labels": args.labels,
                      "annotations": {WHY_ANNOTATION: why}},
            spec=spec,
            opts=pulumi.ResourceOptions(parent=self, provider=args.cluster.provider,
                                        depends_on=[args.namespaces[namespace]]),
        )
