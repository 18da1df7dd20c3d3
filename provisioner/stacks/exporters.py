"""Render a stack's canonical outputs as a ZenML stack file, JSON, dotenv or kubeconfig.

Renderers are pure: they get the outputs (with secret values only when the
user asked for them) and say whether what they produced holds a secret, so
the caller writes it 0600. Nothing here knows which cloud it is rendering
beyond its ZenML facts (recipes/facts/<cloud>.py).

The dotenv file is `export KEY='value'` lines (see `_dotenv`): `. ./FILE` in
sh/bash/zsh puts the variables in the environment of the programs started
afterwards, and python-dotenv and docker compose's `env_file` read the same
values. `docker run --env-file` does not: it takes the line literally, so the
name would be `export KEY` and the value would keep its quotes.

A stack behind its own CA (no --domain) is trusted, never skipped: the dotenv points
MLflow's client and `requests` at the CA's files (`trust.py`), and the ZenML stack's
pipeline pods mount the CA from the ConfigMap the program creates.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from recipes import facts, outputs
from recipes.errors import BadInput
from recipes.kubernetes import namespaces
from recipes.kubernetes.ingress import tls

from provisioner.stacks import bucket_keys, trust

FORMATS = ("zenml", "json", "dotenv", "kubeconfig")
# The ZenML release this exporter was checked against (see docs/zenml-export.md).
DEFAULT_ZENML_VERSION = "0.98.0"

# ZenML 0.98 has a `seldon` model deployer flavor and no `kserve` one.
ZENML_MODEL_DEPLOYERS = {"seldon": "seldon"}
# The artifact store and container registry flavors, and what ZenML's pipeline pods need
# to reach the bucket without keys, are per-cloud facts (recipes/facts/<cloud>.py, ZenML section).


def pipeline_pod_settings(data: dict[str, Any]) -> dict[str, Any] | None:
    cloud = facts.of(data["provider"])
    settings: dict[str, Any] = {}
    if cloud.PIPELINE_POD_LABELS:
        settings["labels"] = dict(cloud.PIPELINE_POD_LABELS)
    account = (data.get("bucket") or {}).get("account")
    if account and cloud.STORAGE_ACCOUNT_ENV:
        settings["env"] = [{"name": cloud.STORAGE_ACCOUNT_ENV, "value": account}]
    for key, items in trust.ca_pod_settings(data).items():
        settings[key] = [*settings.get(key, []), *items]
    return settings or None


class ExportError(BadInput, ValueError):
    pass


@dataclass
class Rendered:
    text: str
    contains_secrets: bool
    notes: list[str] = field(default_factory=list)  # for stderr: what the user must do next
    # zenml: the ZenML secret the document refers to, and the note (one of `notes`) saying to create it.
    referenced_secret: str | None = None
    secret_note: str | None = None
    # zenml: the ZenML secret of the bucket's keys (bucket_keys.py) --register creates, and its note.
    bucket_secret: str | None = None
    bucket_secret_note: str | None = None


def installed_zenml_version() -> str | None:
    """ZenML's version from package metadata, without importing zenml (slow)."""
    from importlib import metadata

    try:
        return metadata.version("zenml")
    except metadata.PackageNotFoundError:
        return None


def zenml_secret_name(stack: str) -> str:
    return f"{stack}-mlflow"


def secret_reference(secret: str, key: str = "password") -> str:
    """ZenML resolves `{{secret.key}}` from its secret store when a component is used."""
    return "{{" + secret + "." + key + "}}"


def render(
    fmt: str,
    data: dict[str, Any],
    *,
    show_secrets: bool = False,
    zenml_version: str | None = None,
    kubeconfig_path: str | None = None,
    ca_files: trust.CaFiles | None = None,
) -> Rendered:
    """Render canonical outputs `data` (which holds secret values only if `show_secrets`
    or the format needs them, like kubeconfig). A dotenv of a stack with its own CA needs
    `ca_files` (`trust.ca_files`): where the caller writes the CA."""
    check_exportable(data)
    if fmt == "zenml":
        return _zenml(data, show_secrets, zenml_version or installed_zenml_version() or DEFAULT_ZENML_VERSION)
    if fmt == "json":
        shown = data if show_secrets else outputs.public(data)
        return Rendered(json.dumps(shown, indent=2, sort_keys=True) + "\n", contains_secrets=bool(outputs.secrets(shown)))
    if fmt == "dotenv":
        return _dotenv(data, show_secrets, kubeconfig_path, ca_files)
    if fmt == "kubeconfig":
        kubeconfig = (data.get("cluster") or {}).get("kubeconfig")
        if not kubeconfig:
            raise ExportError(f"stack {data.get('stack_name')} has no cluster, so there is no kubeconfig to export")
        return Rendered(kubeconfig if kubeconfig.endswith("\n") else kubeconfig + "\n", contains_secrets=True,
                        notes=kubeconfig_notes(data, kubeconfig))
    raise ExportError(f"unknown format {fmt!r}; use one of: {', '.join(FORMATS)}")


def check_exportable(data: Any) -> None:
    """Refuse outputs no renderer can use (a stack whose deploy failed, a hand-edited or damaged
    record) with what is wrong, rather than fail half-way through a renderer."""
    try:
        outputs.validate(data, source="the stack's outputs", with_secrets=False)
    except outputs.OutputsError as exc:
        name = data.get("stack_name") if isinstance(data, dict) else None
        fix = f"deploy it again, or register it again (`recipe register {name} --outputs FILE --force`)" if name else \
            "deploy the stack (or register it again) so that it has outputs"
        raise ExportError(f"cannot export: {exc.message}; {fix}") from None


def _zenml(data: dict[str, Any], show_secrets: bool, zenml_version: str) -> Rendered:
    stack = data["stack_name"]
    provider = data["provider"]
    notes: list[str] = []
    secret_note = None
    if "bucket" not in data:
        raise ExportError(f"a ZenML stack needs an artifact store, and stack {stack} has no bucket")
    components: dict[str, Any] = {
        "artifact_store": {
            "name": f"{stack}-artifacts",
            "flavor": facts.of(provider).ZENML_ARTIFACT_STORE_FLAVOR,
            "configuration": {"path": data["bucket"]["uri"]},
        }
    }
    store = bucket_keys.zenml_store(data, show_secrets) if bucket_keys.applies(data) else None
    if store is not None:  # keys and an endpoint, no workload identity
        components["artifact_store"]["configuration"].update(store.configuration)
        notes.extend(store.notes)
    if "registry" in data:
        components["container_registry"] = {
            "name": f"{stack}-registry",
            "flavor": facts.of(provider).ZENML_CONTAINER_REGISTRY_FLAVOR,
            "configuration": {"uri": data["registry"]["uri"]},
        }
    if "cluster" in data:
        components["orchestrator"] = {
            "name": f"{stack}-k8s",
            "flavor": "kubernetes",
            "configuration": {
                "kubernetes_context": data["cluster"]["context"],
                "kubernetes_namespace": namespaces.PIPELINES_NAMESPACE,
                # Both run with the account that has the bucket through workload identity.
                "service_account_name": namespaces.PIPELINES_SERVICE_ACCOUNT,
                "step_pod_service_account_name": namespaces.PIPELINES_SERVICE_ACCOUNT,
            },
        }
        pod_settings = pipeline_pod_settings(data)
        if pod_settings:
            # Two copies, not one object twice: YAML would write an anchor and alias.
            components["orchestrator"]["configuration"]["pod_settings"] = pod_settings
            components["orchestrator"]["configuration"]["orchestrator_pod_settings"] = copy.deepcopy(pod_settings)
        notes.append(
            f"The orchestrator uses kube context {data['cluster']['context']!r}: "
            f"run `recipe export {stack} --format kubeconfig -f ~/.kube/{stack}.yaml` and point KUBECONFIG at it."
        )
    else:
        components["orchestrator"] = {"name": f"{stack}-local", "flavor": "local", "configuration": {}}
        notes.append(f"Stack {stack} has no cluster: the ZenML stack uses the local orchestrator.")
    if "tracker" in data:
        tracker = data["tracker"]
        secret = zenml_secret_name(stack)
        password = tracker.get("password") if show_secrets else None
        if show_secrets and not password:
            raise ExportError("the MLflow password is not available to export")
        components["experiment_tracker"] = {
            "name": f"{stack}-mlflow",
            "flavor": "mlflow",
            "configuration": {
                "tracking_uri": tracker["uri"],
                "tracking_username": tracker["username"],
                "tracking_password": password if password else secret_reference(secret),
            },
        }
        if not password:
            secret_note = (
                f"The MLflow password is referenced as ZenML secret {secret!r}; create it before importing: "
                f"zenml secret create {secret} --password=\"$(recipe outputs {stack} --show-secrets --output json "
                "| python -c 'import json,sys; print(json.load(sys.stdin)[\"tracker\"][\"password\"])')\""
            )
            notes.append(secret_note)
        if trust.tracker_ca(data):
            notes.append(ca_note(stack, in_pods="cluster" in data))
    if "deployer" in data:
        deployer = data["deployer"]
        flavor = ZENML_MODEL_DEPLOYERS.get(deployer["flavor"])
        if flavor:
            components["model_deployer"] = {
                "name": f"{stack}-{flavor}",
                "flavor": flavor,
                "configuration": {
                    "kubernetes_namespace": deployer["namespace"],
                    "base_url": deployer["base_url"],
                    "secret": None,
                    # The Secret the program put in the models namespace (rclone's S3 remote: the bucket's
                    # keys and endpoint), where the cluster gives pods no bucket credentials. ZenML then
                    # names it as each SeldonDeployment's envSecretRefName rather than writing one itself
                    # from the artifact store's keys (which it logs as deprecated; it still works in 0.98).
                    "kubernetes_secret_name": deployer.get("storage_secret"),
                },
            }
        else:
            account = deployer.get("storage_service_account")
            reads = (f" Its InferenceServices read the bucket as ServiceAccount {account!r} of namespace "
                     f"{deployer['namespace']!r} (spec.predictor.serviceAccountName: {account}).") if account else ""
            notes.append(
                f"ZenML {zenml_version} has no {deployer['flavor']!r} model deployer flavor: "
                "it is left out of the ZenML stack (it is still on the cluster)." + reads
            )
    document = {"stack_name": stack, "zenml_version": zenml_version, "components": components}
    text = yaml.safe_dump(document, sort_keys=False)
    return Rendered(text, contains_secrets=(show_secrets and "tracker" in data) or bool(store and store.in_clear),
                    notes=notes, referenced_secret=secret if secret_note else None, secret_note=secret_note,
                    bucket_secret=store.secret if store else None, bucket_secret_note=store.secret_note if store else None)


def kubeconfig_notes(data: dict[str, Any], text: str) -> list[str]:
    """A cluster we did not create: the kubeconfig is the user's own context, and says whether it holds credentials."""
    if data["provider"] in facts.CLOUDS:
        return []
    context = data["cluster"]["context"]
    embedded = bucket_keys.kubeconfig_credentials(text)
    if not embedded:
        return [f"This is your own kubeconfig context {context!r} as your kubeconfig has it (no credential copied)."]
    return [f"This is your own kubeconfig context {context!r} as your kubeconfig has it, and it embeds static "
            f"credentials ({', '.join(embedded)}): the file is written 0600; keep it as you keep your kubeconfig."]


def ca_note(stack: str, *, in_pods: bool) -> str:
    """How each ZenML client comes to trust the stack CA (the stack file holds no CA itself)."""
    pods = (f"its pipeline pods trust it through the ConfigMap {tls.CA_CONFIGMAP!r} in namespace "
            f"{namespaces.PIPELINES_NAMESPACE!r} (the orchestrator's pod settings set {tls.CA_ENV}); ") if in_pods else ""
    return (f"MLflow is served over HTTPS with a certificate of stack {stack}'s own CA: {pods}on this machine, "
            f"`recipe export {stack} --format dotenv -f {stack}.env` and `. ./{stack}.env` before using the "
            f"ZenML stack (it sets {tls.CA_ENV} to the CA's file).")


# The dotenv file must mean the same thing to every reader we support:
#   * `. ./FILE` in a POSIX sh (dash, bash, zsh), or `set -a; . ./FILE; set +a`;
#   * python-dotenv (`dotenv_values`, `load_dotenv`; checked with 1.2);
#   * docker compose's `env_file` (compose-go's parser, which drops `export `).
# `docker run --env-file` is not one of them: it does no parsing at all, so it
# would take `export KEY` as the name and keep the quotes in the value.
# Every value is written `export KEY='value'`. Inside single quotes sh expands
# nothing and compose-go takes the text as is, but python-dotenv and compose-go
# are not quite sh, so a value they could read differently is refused instead.


def dotenv_refusal(value: str) -> str | None:
    """What in `value` keeps it from being written as `'value'` for every reader, or None."""
    for char in value:
        if char in "\n\r":  # python-dotenv reads the file in text mode (\r becomes \n); one line, one variable
            return "a line break"
        if char == "\0":  # no environment variable can hold one
            return "a NUL character"
        if (char < " " and char != "\t") or char == "\x7f":
            return f"a control character (U+{ord(char):04X})"
    if "'" in value:  # sh has no escape inside single quotes
        return "a single quote (')"
    if "\\\\" in value:  # python-dotenv reads \\ in single quotes as one backslash; sh keeps both
        return "two backslashes in a row (python-dotenv would read them as one)"
    if value.endswith("\\"):  # python-dotenv and compose-go read \' as an escaped quote, not the end
        return "a trailing backslash (python-dotenv and docker compose would not see the closing quote)"
    if "${" in value:  # python-dotenv interpolates ${VAR} even in single quotes; sh and compose do not
        return "'${' (python-dotenv would substitute a variable there, even in single quotes)"
    return None


def dotenv_line(key: str, value: str) -> str:
    why = dotenv_refusal(value)
    if why:
        # The value is not shown: it may be a password.
        raise ExportError(f"cannot write {key} to a dotenv file: its value contains {why}; "
                          "use --format json instead")
    return f"export {key}='{value}'"


def _dotenv(data: dict[str, Any], show_secrets: bool, kubeconfig_path: str | None,
            ca_files: trust.CaFiles | None) -> Rendered:
    if trust.stack_ca(data) is not None and ca_files is None:
        raise ExportError(f"stack {data['stack_name']} has its own CA: a dotenv export needs the CA's file (trust.ca_files)")
    lines = [
        f"# stack-recipes: {data['stack_name']} ({data['provider']}, {data['region']})",
        "# Load it into your environment with `. ./FILE` (sh, bash, zsh; keep the ./, sh looks a",
        "# bare name up in PATH) or `set -a; . ./FILE; set +a`. python-dotenv and docker compose's",
        "# env_file read it too; `docker run --env-file` does not (it keeps `export` and the quotes).",
    ]

    def put(key: str, value: Any) -> None:
        if value:
            lines.append(dotenv_line(key, str(value)))

    put("RECIPE_STACK", data["stack_name"])
    put("RECIPE_PROVIDER", data["provider"])
    put("RECIPE_REGION", data["region"])
    contains = False
    forward = (data.get("cluster") or {}).get("port_forward")
    if forward:  # --expose port-forward: the localhost URLs below answer while it runs
        lines.append(f"# MLflow and the models answer on localhost while `{forward}` runs.")
    if "tracker" in data:
        put("MLFLOW_TRACKING_URI", data["tracker"]["uri"])
        put("MLFLOW_TRACKING_USERNAME", data["tracker"]["username"])
        if show_secrets and data["tracker"].get("password"):
            put("MLFLOW_TRACKING_PASSWORD", data["tracker"]["password"])
            contains = True
        else:
            lines.append("# MLFLOW_TRACKING_PASSWORD: re-export with --show-secrets to include it")
    if "bucket" in data:
        put("ARTIFACT_STORE_URI", data["bucket"]["uri"])
        put("AZURE_STORAGE_ACCOUNT", data["bucket"].get("account"))
        if bucket_keys.applies(data):
            bucket_lines, with_keys = bucket_keys.dotenv_lines(data, show_secrets, dotenv_line)
            lines.extend(bucket_lines)
            contains = contains or with_keys
    if "registry" in data:
        put("CONTAINER_REGISTRY_URI", data["registry"]["uri"])
    if "cluster" in data:
        put("KUBECONFIG", kubeconfig_path)
        put("KUBE_CONTEXT", data["cluster"]["context"])
    if "deployer" in data:
        put("MODEL_DEPLOYER_FLAVOR", data["deployer"]["flavor"])
        put("MODEL_DEPLOYER_NAMESPACE", data["deployer"]["namespace"])
        put("MODEL_DEPLOYER_BASE_URL", data["deployer"]["base_url"])
    if ca_files is not None:
        lines.extend(dotenv_ca_lines(data, ca_files))
    return Rendered("\n".join(lines) + "\n", contains_secrets=contains)


def dotenv_ca_lines(data: dict[str, Any], files: trust.CaFiles) -> list[str]:
    """The variables that make clients trust the stack CA, and what each is for."""
    lines = [
        "# HTTPS: this stack's endpoints have a certificate of the stack's own CA (public, not a secret).",
        "# RECIPE_CA_CERT: that CA alone, for other clients, e.g. `curl --cacert \"$RECIPE_CA_CERT\" https://...`.",
        dotenv_line("RECIPE_CA_CERT", str(files.ca)),
    ]
    if trust.tracker_ca(data):
        lines += [
            "# MLFLOW_TRACKING_SERVER_CERT_PATH: MLflow's client verifies the tracker against it (only the tracker).",
            dotenv_line("MLFLOW_TRACKING_SERVER_CERT_PATH", str(files.ca)),
        ]
    lines += [
        "# REQUESTS_CA_BUNDLE: certifi's public CAs plus the stack CA, for `requests` calls without a",
        "# verify= of their own (ZenML's Seldon predictions, your scripts); the public CAs are kept so",
        "# every other site still verifies. It replaces a REQUESTS_CA_BUNDLE you set yourself.",
        dotenv_line("REQUESTS_CA_BUNDLE", str(files.bundle)),
    ]
    return lines
