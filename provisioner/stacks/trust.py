"""The stack CA outside the cluster: the files a dotenv export points clients at, and
what ZenML's pipeline pods mount to trust it.

Without --domain, the front door's certificate is signed by the stack's own CA
(recipes/kubernetes/ingress/tls.py), whose PEM is a public output
(`tracker.ca_certificate`, `deployer.ca_certificate`). Clients trust exactly that CA:
nothing here turns verification off. With --domain, Let's Encrypt signs it, the
outputs carry no CA and nothing here applies.

Two files, both public (0644):
- `<stack>-ca.pem`: the CA alone. MLflow's client reads it through
  MLFLOW_TRACKING_SERVER_CERT_PATH, which it uses for the tracker's requests only;
  `curl --cacert` takes it too.
- `<stack>-ca-bundle.pem`: certifi's public CAs plus the stack CA, for
  REQUESTS_CA_BUNDLE. `requests` reads that variable for every HTTPS call without
  a `verify=` of its own (ZenML's Seldon predictions, a user's scripts); pointing it
  at the stack CA alone would make every other site (the ZenML server, cloud APIs)
  fail verification, so the bundle keeps the public roots. It is a copy: re-export
  after an upgrade of certifi to pick up its changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recipes.errors import BadInput
from recipes.kubernetes.ingress import tls

from provisioner import paths
from provisioner.paths import atomic_write

# The components whose endpoint the front door serves, each carrying the CA that signed it.
CA_COMPONENTS = ("tracker", "deployer")
# One PEM certificate block. Its body is not decoded: what reads it (OpenSSL) says more than we could.
_PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----", re.DOTALL)

# What ZenML's pipeline pods get (its Kubernetes orchestrator's pod settings, in the
# Kubernetes API's camelCase as ZenML 0.98 expects): the ConfigMap the program creates
# in the pipelines namespace, mounted read-only, and MLflow's client pointed at it.
CA_VOLUME = "stack-ca"
CA_POD_PATH = f"{tls.CA_MOUNT_DIR}/{tls.CA_CONFIGMAP_KEY}"


class CaCertificateError(BadInput, ValueError):
    """A `ca_certificate` output that is not a PEM certificate: no client could use it."""


def stack_ca(data: dict[str, Any]) -> str | None:
    """The PEM of the CA that signed the stack's front door, or None (no front door, or --domain).

    The tracker and the deployer share one gateway, so one CA; should they ever differ,
    both go into the one file (a PEM file may hold several certificates).
    """
    blocks: list[str] = []
    for component in CA_COMPONENTS:
        pem = (data.get(component) or {}).get("ca_certificate")
        if not pem:
            continue
        found = _PEM_BLOCK.findall(pem)
        if not found or _PEM_BLOCK.sub("", pem).strip():
            raise CaCertificateError(f"{component}.ca_certificate of stack {data.get('stack_name')} is not a "
                                     "PEM certificate (-----BEGIN CERTIFICATE----- ...)")
        for block in found:
            block = block.replace("\r\n", "\n")
            if block not in blocks:
                blocks.append(block)
    return "\n".join(blocks) + "\n" if blocks else None


def tracker_ca(data: dict[str, Any]) -> bool:
    """Whether MLflow's client needs the stack CA (its tracker is behind the stack CA)."""
    return bool((data.get("tracker") or {}).get("ca_certificate"))


@dataclass(frozen=True)
class CaFiles:
    """The stack CA's files for a dotenv export: absolute paths, and what to write there."""

    ca: Path
    bundle: Path
    ca_text: str
    bundle_text: str

    def write(self) -> list[Path]:
        """Both files, atomically (a client reading one mid-export sees the old or the new)."""
        for path, text in ((self.ca, self.ca_text), (self.bundle, self.bundle_text)):
            atomic_write(path, text, mode=0o644)
        return [self.ca, self.bundle]


def ca_files(data: dict[str, Any], stack: str, beside: Path | None = None) -> CaFiles | None:
    """The files for the CA of `stack` (a checked record name, safe in a file name): beside
    the dotenv file when one is written (`beside`), else in the stack records' folder,
    beside the stack's record. None without a stack CA."""
    pem = stack_ca(data)
    if pem is None:
        return None
    folder = (beside.expanduser().resolve().parent if beside is not None else paths.records_dir().expanduser().resolve())
    return CaFiles(
        ca=folder / f"{stack}-ca.pem",
        bundle=folder / f"{stack}-ca-bundle.pem",
        ca_text=pem,
        bundle_text=bundle_text(stack, pem),
    )


def bundle_text(stack: str, pem: str) -> str:
    """certifi's CAs (what `requests` trusts by default) followed by the stack CA."""
    import certifi  # requests' own dependency (pulumi-kubernetes needs requests)

    public = Path(certifi.where()).read_text(encoding="ascii")
    return public.rstrip("\n") + f"\n\n# stack-recipes: the stack CA of {stack}\n" + pem


def ca_pod_settings(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The pod settings that give a pipeline pod the stack CA, or {} without one."""
    if stack_ca(data) is None:
        return {}
    settings: dict[str, list[dict[str, Any]]] = {
        "volumes": [{"name": CA_VOLUME, "configMap": {"name": tls.CA_CONFIGMAP}}],
        "volume_mounts": [{"name": CA_VOLUME, "mountPath": tls.CA_MOUNT_DIR, "readOnly": True}],
    }
    if tracker_ca(data):
        settings["env"] = [{"name": tls.CA_ENV, "value": CA_POD_PATH}]
    return settings
