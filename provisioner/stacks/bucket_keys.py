"""What a bucket reached with keys adds to the exports (the `kubernetes` provider: facts BUCKET_STATIC_KEYS).

A cluster we did not create has no workload identity we can rely on, so ZenML and this machine's tools reach
the bucket with keys and, for an S3-compatible store, its endpoint (`bucket.endpoint`). The keys are outputs
(secrets) only where the stack generated them (the in-cluster store); with --bucket-secret they are the user's,
in a Kubernetes Secret the deploy copies to where the pods run (Pulumi secrets) but no output of ours. Either way the ZenML stack file refers to them as a ZenML secret unless
the user asked for them in clear (--show-secrets), as it does the MLflow password.

The in-cluster store's endpoint (http://<service>.<namespace>.svc.cluster.local:8333) is what the stack's pods
use; this machine reaches it only through `kubectl port-forward`. The dotenv (this machine's tools) then uses
http://localhost:<port>; the ZenML stack keeps the in-cluster endpoint (its pipeline pods need it) and says how
this machine's ZenML client reaches the same name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from recipes import facts

# (output field, ZenML secret key, environment variable): the ZenML keys are those `zenml secret create
# NAME --KEY=VALUE` takes, the variables those boto3, s3fs and MLflow's S3 client read.
KEYS = (("access_key_id", "aws_access_key_id", "AWS_ACCESS_KEY_ID"),
        ("secret_access_key", "aws_secret_access_key", "AWS_SECRET_ACCESS_KEY"))
# The artifact store configuration fields ZenML's s3 flavor takes the keys in (S3ArtifactStoreConfig).
ZENML_FIELDS = {"aws_access_key_id": "key", "aws_secret_access_key": "secret"}
IN_CLUSTER_SUFFIXES = (".svc.cluster.local", ".svc")  # a Service's DNS names


def applies(data: dict[str, Any]) -> bool:
    # A record of an unknown provider is refused by the exporter with its fix, not here.
    provider = data.get("provider")
    return "bucket" in data and provider in facts.PROVIDERS and bool(facts.of(provider).BUCKET_STATIC_KEYS)


def zenml_secret_name(stack: str) -> str:
    return f"{stack}-bucket"


def has_keys(data: dict[str, Any]) -> bool:
    """The stack generated the keys (outputs), so they can be shown, registered, written."""
    bucket = data.get("bucket") or {}
    return all(bucket.get(output) for output, _, _ in KEYS)


def secret_values(data: dict[str, Any]) -> dict[str, str]:
    """The ZenML secret's values (only from outputs that hold the keys)."""
    return {key: data["bucket"][output] for output, key, _ in KEYS}


@dataclass(frozen=True)
class PortForward:
    command: str
    local_url: str
    host: str


def port_forward(data: dict[str, Any]) -> PortForward | None:
    """How this machine reaches an in-cluster endpoint (None: the endpoint is not a Service in the cluster)."""
    endpoint = (data.get("bucket") or {}).get("endpoint")
    if not endpoint:
        return None
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    suffix = next((s for s in IN_CLUSTER_SUFFIXES if host.endswith(s)), None)
    labels = host[: -len(suffix)].split(".") if suffix else []
    if len(labels) != 2 or not all(labels):  # <service>.<namespace>
        return None
    service, namespace = labels
    port = parts.port or 80
    context = (data.get("cluster") or {}).get("context")
    where = f"--context {context} " if context else ""
    return PortForward(command=f"kubectl {where}-n {namespace} port-forward svc/{service} {port}:{port}",
                       local_url=f"http://localhost:{port}", host=host)


@dataclass
class ZenmlStore:
    """What the artifact store's configuration gains, and what the user is told."""

    configuration: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    in_clear: bool = False
    secret: str | None = None  # the ZenML secret referred to, when --register can create it (the keys are outputs)
    secret_note: str | None = None  # the note saying how to create it (dropped by --register)


def zenml_store(data: dict[str, Any], show_secrets: bool) -> ZenmlStore:
    stack, endpoint = data["stack_name"], data["bucket"].get("endpoint")
    configuration: dict[str, Any] = {}
    if endpoint:
        configuration["client_kwargs"] = {"endpoint_url": endpoint}
    secret = zenml_secret_name(stack)
    out = ZenmlStore(configuration)
    if show_secrets and has_keys(data):
        configuration.update({ZENML_FIELDS[key]: value for key, value in secret_values(data).items()})
        out.in_clear = True
    else:
        configuration.update({ZENML_FIELDS[key]: "{{" + f"{secret}.{key}" + "}}" for _, key, _ in KEYS})
        if has_keys(data):
            read = ("$(recipe outputs {stack} --show-secrets --output json | python -c 'import json,sys; "
                    "print(json.load(sys.stdin)[\"bucket\"][\"{output}\"])')")
            values = " ".join(f"--{key}=\"{read.format(stack=stack, output=output)}\"" for output, key, _ in KEYS)
            out.secret, out.secret_note = secret, (
                f"The bucket's keys are referenced as ZenML secret {secret!r}; create it before importing: "
                f"zenml secret create {secret} {values}")
            out.notes.append(out.secret_note)
        else:
            out.notes.append(
                f"The bucket's keys are yours (the Kubernetes Secret named by --bucket-secret; no output of the "
                f"stack): the artifact store refers to ZenML secret {secret!r}, which you create before "
                f"importing (also before --register): zenml secret create {secret} "
                "--aws_access_key_id=<AWS_ACCESS_KEY_ID> --aws_secret_access_key=<AWS_SECRET_ACCESS_KEY>")
    forward = port_forward(data)
    if forward is not None:
        out.notes.append(
            f"The artifact store's endpoint {endpoint} is inside the cluster: the pipeline pods reach it, this "
            f"machine does not. ZenML on this machine uses it too (it uploads your code and reads artifacts there): "
            f"run `{forward.command}` and map the name to it: "
            f"`echo '127.0.0.1 {forward.host}' | sudo tee -a /etc/hosts`.")
    return out


def dotenv_lines(data: dict[str, Any], show_secrets: bool, line) -> tuple[list[str], bool]:
    """The bucket's endpoint and keys for this machine's tools (boto3, s3fs, MLflow's S3 client), and whether
    a key was written. `line(key, value)` writes one variable."""
    lines: list[str] = []
    endpoint = data["bucket"].get("endpoint")
    forward = port_forward(data)
    if forward is not None:
        lines += [f"# The bucket's S3 API is inside the cluster ({endpoint}, what the stack's pods use); this",
                  f"# machine reaches it on {forward.local_url} while `{forward.command}` runs."]
        endpoint = forward.local_url
        if "tracker" in data:
            # MLflow's server offers its clients URLs signed for the bucket's in-cluster name (multipart
            # downloads and uploads, MLflow >= 3.x), which this machine does not resolve: through the tracker.
            lines += ["# MLflow moves artifacts through the tracker, not by URLs naming the in-cluster address:",
                      line("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", "false"),
                      line("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "false")]
    if endpoint:
        # boto3 (and s3fs) read the first, MLflow's S3 client the second.
        lines += [line("AWS_ENDPOINT_URL_S3", endpoint), line("MLFLOW_S3_ENDPOINT_URL", endpoint)]
    if not has_keys(data):
        lines.append("# AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: the bucket's keys are yours (the Secret named by "
                     "--bucket-secret): set them yourself")
        return lines, False
    if not show_secrets:
        lines.append("# AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: re-export with --show-secrets to include them")
        return lines, False
    lines += [line(variable, data["bucket"][output]) for output, _, variable in KEYS]
    return lines, True


# What in a user entry of a kubeconfig is a credential itself, not a path to one or a command that gets one.
STATIC_CREDENTIALS = ("client-key-data", "token", "password")


def kubeconfig_credentials(text: str) -> list[str]:
    """The static credentials the kubeconfig embeds (names of the fields), for the export's note."""
    import yaml

    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError:
        return []
    users = config.get("users") if isinstance(config, dict) else None
    found = {key for item in users or [] if isinstance(item, dict) and isinstance(item.get("user"), dict)
             for key in STATIC_CREDENTIALS if item["user"].get(key)}
    return sorted(found)
