"""Hardened pod and container settings shared by every workload we run.

One place for the CIS / Checkov Kubernetes rules (T2): non-root, no privilege
escalation, all capabilities dropped, seccomp, read-only root filesystem,
resource requests and limits.
"""

from __future__ import annotations

from typing import Any

# Pod Security admission, on every namespace the stack creates (T4).
RESTRICTED_NAMESPACE_LABELS = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
}


def chart_namespace_labels() -> dict[str, str]:
    """Namespaces of third-party charts (Istio, cert-manager, the model deployer's operator): `baseline`
    enforced (no privileged pods, host namespaces or host paths), `restricted` audited and warned, as their
    charts do not all set what `restricted` demands (seccomp profiles, non-root on every container)."""
    return _pod_security("baseline", audit="restricted", warn="restricted")


def user_workload_namespace_labels() -> dict[str, str]:
    """Namespaces where users' own containers run (pipeline steps, model servers): `baseline` enforced, as
    users' images often run as root; `restricted` audited so a cluster admin sees what would not pass."""
    return _pod_security("baseline", audit="restricted")


def _pod_security(enforce: str, **modes: str) -> dict[str, str]:
    labels = {"pod-security.kubernetes.io/enforce": enforce, "pod-security.kubernetes.io/enforce-version": "latest"}
    for mode, level in modes.items():
        labels[f"pod-security.kubernetes.io/{mode}"] = level
        labels[f"pod-security.kubernetes.io/{mode}-version"] = "latest"
    return labels


def pod_security_context(uid: int, fs_group: int | None = None) -> dict[str, Any]:
    return {
        "run_as_non_root": True,
        "run_as_user": uid,
        "run_as_group": uid,
        "fs_group": fs_group if fs_group is not None else uid,
        "seccomp_profile": {"type": "RuntimeDefault"},
    }


def container_security_context(read_only_root: bool = True) -> dict[str, Any]:
    return {
        "allow_privilege_escalation": False,
        "privileged": False,
        "read_only_root_filesystem": read_only_root,
        "run_as_non_root": True,
        "capabilities": {"drop": ["ALL"]},
    }


def resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> dict[str, Any]:
    return {
        "requests": {"cpu": cpu, "memory": memory},
        "limits": {"cpu": cpu_limit, "memory": memory_limit},
    }


def container(
    name: str, image: str, command: list[Any], env: list[dict[str, Any]], requests_and_limits: dict[str, Any],
    mounts: list[dict[str, Any]],
) -> dict[str, Any]:
    """A container with the hardened settings: read-only root filesystem, the image pulled once per node."""
    return {
        "name": name,
        "image": image,
        "image_pull_policy": "IfNotPresent",
        "command": command,
        "env": env,
        "security_context": container_security_context(read_only_root=True),
        "resources": requests_and_limits,
        "volume_mounts": mounts,
    }


def metadata(name: str, namespace: str | Any, labels: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": labels, **extra}


def identity_secrets(name: str, secrets: dict[str, dict[str, Any]], namespace: Any, labels: dict[str, str],
                     opts: Any) -> list[Any]:
    """A workload identity's Secrets (WorkloadIdentity.secrets) in the workload's namespace, values as Pulumi secrets."""
    import pulumi
    import pulumi_kubernetes as k8s

    return [k8s.core.v1.Secret(f"{name}-{secret}", metadata=metadata(secret, namespace, labels), type="Opaque",
                               string_data={k: pulumi.Output.secret(v) for k, v in data.items()}, opts=opts)
            for secret, data in secrets.items()]
