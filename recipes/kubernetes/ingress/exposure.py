"""How the front door is reached on a cluster we did not create (`--expose`, provider `kubernetes`), as data.

- loadbalancer: a Service of type LoadBalancer, as on the clouds; its address comes from the cluster's load
  balancer implementation (k3d's built-in one, MetalLB, a cloud's). Without one it stays <pending> and the
  deploy waits for nothing that comes, so `plan` warns where that is likely (kind, bare metal).
- nodeport: a Service of type NodePort on fixed ports (NODE_PORTS), reached at a node's address. The
  program knows no node address (the Kubernetes provider lists no nodes before resources exist), so it
  uses the host of the kubeconfig's API server URL (`node_host`): on k3d, kind, minikube and single-node or
  kubeadm clusters that host is a node (or this machine, where the local tools map ports), and NodePorts
  are open on every node, control plane included. A server behind a virtual IP or a managed cluster's API
  endpoint is not a node: there the load balancer (or port-forward) is the mode to use, as `plan` says.
  A host of 0.0.0.0 (k3d's default binding) is this machine: 127.0.0.1.
- port-forward: ClusterIP only; the user runs `kubectl port-forward` (PORT_FORWARD_COMMAND) and the URLs
  are https://localhost:<local port>, the certificate covering localhost and 127.0.0.1.

Ports below 1024 would need root on the user's machine, so a forwarded door's local port is above it.
"""

from __future__ import annotations

import ipaddress
import shlex
from urllib.parse import urlsplit

from . import tls

MODELS_DOOR = "models"  # the model deployer's HTTPS port on the front door (IstioIngress.doors)
EXPOSE_MODES = ("loadbalancer", "nodeport", "port-forward")  # --expose (recipes/spec_values.py)

# One fixed nodePort per gateway port (30000-32767, the API server's default service-node-port-range):
# stable URLs across redeploys, and what a k3d/kind port mapping names at cluster creation.
NODE_PORTS = {80: 30080, 443: 30443, 5000: 30500}

# The local port `kubectl port-forward` binds for a gateway port: unprivileged, and easy to read.
LOCAL_PORTS = {80: 8080, 443: 8443}

GATEWAY_SERVICE = "ingress-lb"  # the gateway's own Service: recipes/program.py's IstioIngress("ingress"), "<name>-lb"

# What a plan shows for the node's address before the user's kubeconfig is read.
PLACEHOLDER_NODE = "<node-address>"
LOCALHOST = "localhost"
# Server hosts that mean this machine (k3d binds the API server to 0.0.0.0 and maps it to the host).
THIS_MACHINE = ("0.0.0.0", "::", "127.0.0.1", "::1", "localhost")


def front_doors(spec) -> tuple[tuple[str, int], ...]:
    """The gateway's HTTPS ports by workload: Seldon's models on 443, MLflow on 443 alone or on 5000 beside them."""
    doors: list[tuple[str, int]] = []
    if spec.has("deployer") and spec.deployer == "seldon":
        doors.append((MODELS_DOOR, tls.HTTPS_PORT))
    if spec.has("tracker"):
        doors.append(("mlflow", tls.TRACKER_PORT_BESIDE_MODELS if spec.has("deployer") else tls.HTTPS_PORT))
    return tuple(doors)


def forwarded_ports(spec) -> list[int]:
    """The gateway ports a port-forward stack's users forward: its doors, and port 80 where KServe serves models."""
    ports = [port for _, port in front_doors(spec)]
    if spec.has("deployer") and spec.deployer == "kserve":
        ports.append(tls.HTTP_PORT)  # KServe's raw deployments answer on the gateway's port 80 (deployer.py)
    return ports


def node_port(port: int) -> int:
    return NODE_PORTS[port]


def local_port(port: int) -> int:
    return LOCAL_PORTS.get(port, port)


def node_host(server: str) -> str:
    """The node address of a nodeport stack: the kubeconfig server URL's host (see the module's docstring)."""
    host = urlsplit(server).hostname or ""
    if not host or host.startswith("<"):
        return PLACEHOLDER_NODE
    if host in THIS_MACHINE:
        return "127.0.0.1"
    return host


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def service_names(service: str, namespace: str) -> tuple[str, ...]:
    """The gateway Service's in-cluster names: pods (pipeline steps) reach the front door by these where the
    users' URL (localhost, a node port) means nothing inside the cluster, so the certificate covers them too."""
    return (f"{service}.{namespace}.svc", f"{service}.{namespace}.svc.cluster.local")


def port_forward_command(service: str, namespace: str, ports: list[int], context: str = "") -> str:
    """kubectl port-forward -n NAMESPACE svc/SERVICE LOCAL:PORT ... (on the stack's context when known)."""
    argv = ["kubectl", *(["--context", context] if context else []), "port-forward", "-n", namespace,
            f"svc/{service}", *(f"{local_port(p)}:{p}" for p in ports)]
    return shlex.join(argv)


def front_door_forward(spec) -> str | None:
    """The `kubectl port-forward` a --expose port-forward stack's users run for its localhost URLs (an output,
    and a note of plan and deploy); None for any other stack."""
    from ..namespaces import ISTIO_NAMESPACE

    if spec.expose != "port-forward" or not front_doors(spec):
        return None
    return port_forward_command(GATEWAY_SERVICE, ISTIO_NAMESPACE, forwarded_ports(spec), spec.context)
