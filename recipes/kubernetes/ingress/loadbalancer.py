"""Services of type LoadBalancer: how the tracker and deployer are reached.

Created as our own resources (not inside a Helm chart) for two reasons: Pulumi
deletes them, and waits for the cloud load balancer to go, before it deletes
the cluster and network, so nothing is orphaned; and their status carries the
address we export.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from ...cloud import ClusterHandle
from ..workload import metadata
from . import exposure


def load_balancer(
    name: str,
    namespace: pulumi.Input[str],
    *,
    selector: dict[str, str],
    ports: tuple[tuple[str, int], ...],
    cluster: ClusterHandle,
    allow_cidrs: tuple[str, ...],
    labels: dict[str, str],
    opts: pulumi.ResourceOptions,
    expose: str = "loadbalancer",
) -> tuple[k8s.core.v1.Service, pulumi.Output[str]]:
    """A LoadBalancer Service open only to `allow_cidrs` (and then the cluster's own sources,
    `cluster.internal_sources`), or to anyone without them; returns it and its address (an IP,
    or a hostname on AWS) once the cloud has assigned one.

    `ports` (name, port) are each served to the same port on the pods: one load balancer for
    several workloads behind one gateway. `expose` (a cluster we did not create, exposure.py):
    nodeport makes it a NodePort Service on fixed node ports, its address the node's; port-forward a
    ClusterIP Service reached as localhost."""
    service_type = {"loadbalancer": "LoadBalancer", "nodeport": "NodePort", "port-forward": "ClusterIP"}[expose]
    spec: dict = {
        "type": service_type,
        "selector": selector,
        "ports": [{"name": port_name, "port": number, "target_port": number, "protocol": "TCP",
                   **({"node_port": exposure.node_port(number)} if expose == "nodeport" else {})}
                  for port_name, number in ports],
    }
    if allow_cidrs and expose == "loadbalancer":  # spec_values refuses --allow-cidr with the others
        # The stack's own pods reach this address too (pipeline steps log to MLflow at its
        # public URL): how they arrive is the cloud's business, see each cluster's handle.
        internal = [s for s in cluster.internal_sources if not (isinstance(s, str) and s in allow_cidrs)]
        spec["load_balancer_source_ranges"] = [*allow_cidrs, *internal]
    service = k8s.core.v1.Service(
        name,
        metadata=metadata(name, namespace, labels, annotations=dict(cluster.load_balancer_annotations)),
        spec=spec,
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create="15m", delete="15m"))
        ),
    )
    if expose == "nodeport":
        return service, cluster.endpoint.apply(exposure.node_host)
    if expose == "port-forward":
        return service, pulumi.Output.from_input(exposure.LOCALHOST)
    return service, service_address(service, name, cluster)


def public_port(port: int, expose: str) -> int:
    """The port clients use for the gateway's `port`: the same on a load balancer, else the node or local port."""
    if expose == "nodeport":
        return exposure.node_port(port)
    if expose == "port-forward":
        return exposure.local_port(port)
    return port


def service_address(service: k8s.core.v1.Service, name: str, cluster: ClusterHandle) -> pulumi.Output[str]:
    """The load balancer's IP or hostname, once the cloud has given it one."""
    field = cluster.load_balancer_address

    def address(status) -> str:
        # Service status is a mapping (a typed output object in a deploy, the same under mocks).
        ingress = ((status or {}).get("load_balancer") or {}).get("ingress") or []
        found = ingress[0].get(field) if ingress else None
        if not found:
            raise ValueError(f"load balancer {name} has no {field} yet")
        return found

    return service.status.apply(address)


def service_url(host: pulumi.Input[str], port: int, scheme: str = "https") -> pulumi.Output[str]:
    """https://<host>[:port] (the scheme's default port, 443 or 80, is left out)."""
    suffix = "" if port == {"https": 443, "http": 80}[scheme] else f":{port}"
    return pulumi.Output.concat(f"{scheme}://", host, suffix)
