"""Kubeconfigs that authenticate through the cloud CLI (exec), never with a static key.

The exec plugin signs in the way the deploy's own credentials do, decided from the
environment of the process running the program (the deploying one, which also runs
the stack's Kubernetes provider): a deploy from CI with a service principal, workload
identity or application default credentials gets a kubeconfig its Kubernetes provider
can use there, not one that needs an interactive CLI login. Only mode flags and
non-secret names go into the file, never a secret: the plugin reads those from the
environment where kubectl runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

# Entra ID application of the AKS AAD server: the audience of every AKS token (same in every tenant).
AKS_AAD_SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
GKE_AUTH_PLUGIN = "gke-gcloud-auth-plugin"


@dataclass(frozen=True)
class ExecAuth:
    """The exec plugin of a kubeconfig's user: command, arguments, extra environment."""

    command: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes")


def eks_exec(cluster_name: str, region: str, environ: Mapping[str, str]) -> ExecAuth:
    """`aws eks get-token`: the AWS CLI's default credential chain, like the deploy's provider.
    A named profile the deploy used (AWS_PROFILE) is kept, so the token comes from the same
    account and role; keys in the environment are read where kubectl runs, never written here."""
    args = ["eks", "get-token", "--cluster-name", cluster_name, "--region", region, "--output", "json"]
    profile = (environ.get("AWS_PROFILE") or "").strip()
    return ExecAuth("aws", args, {"AWS_PROFILE": profile} if profile else {})


def gke_exec(environ: Mapping[str, str]) -> ExecAuth:
    """`gke-gcloud-auth-plugin` with application default credentials: what Pulumi's GCP
    provider signs in with (GOOGLE_APPLICATION_CREDENTIALS, workload identity federation,
    `gcloud auth application-default login`, the metadata server), not gcloud's active account."""
    return ExecAuth(GKE_AUTH_PLUGIN, ["--use_application_default_credentials"])


def aks_login_mode(environ: Mapping[str, str]) -> str:
    """How azure-native signs in, as kubelogin calls it: workloadidentity (OIDC federation:
    ARM_USE_OIDC, or AZURE_FEDERATED_TOKEN_FILE), msi (ARM_USE_MSI), spn (ARM_CLIENT_ID with
    ARM_CLIENT_SECRET or a client certificate), else azurecli (the `az login`)."""
    if _truthy(environ.get("ARM_USE_OIDC")) or environ.get("AZURE_FEDERATED_TOKEN_FILE"):
        return "workloadidentity"
    if _truthy(environ.get("ARM_USE_MSI")):
        return "msi"
    if environ.get("ARM_CLIENT_ID") and (environ.get("ARM_CLIENT_SECRET") or environ.get("ARM_CLIENT_CERTIFICATE_PATH")):
        return "spn"
    return "azurecli"


def aks_exec(environ: Mapping[str, str]) -> ExecAuth:
    """`kubelogin get-token` in the login mode of the deploy's credentials.

    spn and workloadidentity read the same ARM_* variables as azure-native
    (`--use-azurerm-env-vars`: ARM_CLIENT_ID, ARM_CLIENT_SECRET or ARM_CLIENT_CERTIFICATE_PATH,
    ARM_TENANT_ID), so the deploying process needs nothing more; the secret stays in the
    environment. An OIDC token file azure-native was given (ARM_OIDC_TOKEN_FILE_PATH) is
    passed by path; a user-assigned managed identity (msi) by its client id."""
    mode = aks_login_mode(environ)
    args = ["get-token", "--login", mode, "--server-id", AKS_AAD_SERVER_ID]
    if mode in ("spn", "workloadidentity") and environ.get("ARM_CLIENT_ID"):
        args.append("--use-azurerm-env-vars")
    if mode == "workloadidentity" and not environ.get("AZURE_FEDERATED_TOKEN_FILE") and environ.get("ARM_OIDC_TOKEN_FILE_PATH"):
        args += ["--federated-token-file", environ["ARM_OIDC_TOKEN_FILE_PATH"]]
    if mode == "msi" and environ.get("ARM_CLIENT_ID"):
        args += ["--client-id", environ["ARM_CLIENT_ID"]]
    return ExecAuth("kubelogin", args)


def render(context: str, server: str, ca_data: str | None, command: str, args: list[str], env: dict[str, str] | None = None) -> str:
    """A standalone kubeconfig with one cluster, one user (exec plugin) and one context.

    Without `ca_data` the server's certificate is checked against the system's trusted roots
    (GKE's DNS endpoint has a publicly trusted certificate)."""
    exec_spec: dict[str, Any] = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": command,
        "args": args,
        "interactiveMode": "IfAvailable",
        "provideClusterInfo": False,
    }
    if env:
        exec_spec["env"] = [{"name": k, "value": v} for k, v in sorted(env.items())]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server, **({"certificate-authority-data": ca_data} if ca_data else {})}}],
        "users": [{"name": context, "user": {"exec": exec_spec}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        "current-context": context,
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)
