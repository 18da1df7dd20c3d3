"""The cluster preflight beyond access (provisioner/operations/cluster_tenancy.py), against the stand-in API server
of kube_api.py: the user's --bucket-secret (deploy, preview, refresh) and one stack per cluster (deploy only).
Refusals go through `recipe deploy` with the real PulumiEngine and the stand-in `pulumi` CLI: exit 2, one line,
nothing recorded, no value of the Secret anywhere."""

from __future__ import annotations

import pytest

from provisioner.operations import preflight
from provisioner.operations.cluster_tenancy import stack_namespaces
from recipes import naming
from recipes.spec import Layer, load_spec

from tests.operations import test_kubernetes_preflight as kube
from tests.operations.test_cluster_access import write_config

TOKEN = kube.TOKEN
SECRET_VALUE = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"  # must never be shown
KEYS = {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": SECRET_VALUE}
USERS_BUCKET = ("--bucket", "s3://ml-artifacts", "--bucket-endpoint", "https://minio.corp.example")
OURS = {naming.STACK_TAG: "ml-local", naming.MANAGED_BY_TAG: naming.MANAGED_BY}

bare, machine, ca, api = kube.bare, kube.machine, kube.ca, kube.api  # fixtures


@pytest.fixture
def config(api, ca, tmp_path):
    return write_config(tmp_path / "config", api.url, ca[0].b64("cert"), {"token": TOKEN})


def deploy(config, *extra: str):
    return kube.recipe("deploy", "kubernetes", "--name", "ml-local", "--kubeconfig", str(config), "--context", "k3d-ml",
                       *extra, "--yes")


def stopped(result, *parts: str) -> str:
    line = kube.stopped(result, *parts)
    assert SECRET_VALUE not in result.stdout + result.stderr and KEYS["AWS_ACCESS_KEY_ID"] not in result.stderr
    return line


def spec_for(config, **values):
    return load_spec(Layer("flags", {"provider": "kubernetes", "name": "ml-local", "kubeconfig": str(config),
                                     "context": "k3d-ml", **values}))


def asked(api) -> list[str]:
    return [r["path"] for r in api.seen if r["method"] == "GET" and r["path"].startswith("/api/v1/")]


# --------------------------------------------------------------------------
# --bucket-secret

def test_a_missing_bucket_secret_says_how_to_create_it(machine, api, config):
    line = stopped(deploy(config, *USERS_BUCKET, "--bucket-secret", "ml/bucket-keys"),
                   "Secret ml/bucket-keys (--bucket-secret) not found in context 'k3d-ml'",
                   "kubectl create secret generic bucket-keys -n ml --context k3d-ml",
                   "--from-literal=AWS_ACCESS_KEY_ID=... --from-literal=AWS_SECRET_ACCESS_KEY=...")
    assert "nothing was done" in line
    assert "/api/v1/namespaces/ml/secrets/bucket-keys" in asked(api)


def test_a_bare_secret_name_is_looked_up_in_namespace_default(machine, api, config):
    stopped(deploy(config, *USERS_BUCKET, "--bucket-secret", "bucket-keys"), "Secret default/bucket-keys")
    assert "/api/v1/namespaces/default/secrets/bucket-keys" in asked(api)


def test_a_secret_this_context_may_not_read_names_the_can_i_command(machine, api, config):
    api.secrets[("ml", "bucket-keys")] = dict(KEYS)
    api.forbidden = {"secrets/ml"}
    stopped(deploy(config, *USERS_BUCKET, "--bucket-secret", "ml/bucket-keys"), "403 Forbidden",
            "kubectl auth can-i get secrets -n ml --context k3d-ml")


@pytest.mark.parametrize("data,missing", [
    ({"AWS_ACCESS_KEY_ID": KEYS["AWS_ACCESS_KEY_ID"]}, "has no AWS_SECRET_ACCESS_KEY"),
    ({"AWS_SECRET_ACCESS_KEY": SECRET_VALUE, "aws_access_key_id": "lowercase-is-another-key"}, "has no AWS_ACCESS_KEY_ID"),
    ({"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": SECRET_VALUE}, "has no AWS_ACCESS_KEY_ID"),
    ({"password": SECRET_VALUE}, "has no AWS_ACCESS_KEY_ID and no AWS_SECRET_ACCESS_KEY"),
])
def test_a_secret_lacking_a_key_names_the_key_and_no_value(machine, api, config, data, missing):
    api.secrets[("ml", "bucket-keys")] = data
    line = stopped(deploy(config, *USERS_BUCKET, "--bucket-secret", "ml/bucket-keys"),
                   f"Secret ml/bucket-keys (--bucket-secret) in context 'k3d-ml' {missing}", "kubectl apply -f -")
    assert "lowercase-is-another-key" not in line


def test_a_secret_in_a_namespace_the_stack_creates_is_refused_before_anything_is_asked(machine, api, config):
    api.secrets[("mlflow", "bucket-keys")] = dict(KEYS)
    stopped(deploy(config, *USERS_BUCKET, "--bucket-secret", "mlflow/bucket-keys"),
            "in namespace mlflow, which the stack creates and its destroy deletes", "--bucket-secret ml/bucket-keys")
    assert asked(api) == []


def test_the_secret_is_checked_by_the_operations_that_run_the_program_only(machine, api, config):
    api.secrets[("ml", "bucket-keys")] = dict(KEYS)
    spec = spec_for(config, bucket="s3://ml-artifacts", bucket_secret="ml/bucket-keys")
    for operation in ("preview", "refresh"):
        api.seen.clear()
        preflight.require_cluster(spec, operation)
        assert asked(api) == ["/api/v1/namespaces/ml/secrets/bucket-keys"]  # and no namespace: not a deploy
    del api.secrets[("ml", "bucket-keys")]
    with pytest.raises(preflight.NotReady, match="not found"):
        preflight.require_cluster(spec, "preview")
    # destroy, repair, backup (no operation named) never read it: a stack stays removable without it.
    api.seen.clear()
    preflight.require_cluster(spec)
    assert asked(api) == []


# --------------------------------------------------------------------------
# One stack per cluster

def test_the_namespaces_checked_are_those_the_program_creates(config):
    default = stack_namespaces(spec_for(config))
    assert {"mlflow", "zenml", "istio-system", "objectstore", "seldon-system", "seldon"} <= set(default)
    users_bucket = stack_namespaces(spec_for(config, bucket="s3://ml-artifacts", bucket_secret="ml/keys"))
    assert "objectstore" not in users_bucket and "mlflow" in users_bucket
    kserve = stack_namespaces(spec_for(config, deployer="kserve"))
    assert {"kserve", "kserve-models"} <= set(kserve) and "seldon" not in kserve


def test_another_stacks_namespace_refuses_the_deploy_and_records_nothing(machine, api, config):
    api.namespaces["objectstore"] = {**OURS, naming.STACK_TAG: "team-b"}
    stopped(deploy(config), "context 'k3d-ml' already holds stack team-b (namespace objectstore)",
            "one stack per cluster", "Destroy team-b", "deploy to another context")


def test_a_namespace_of_someone_else_refuses_the_deploy(machine, api, config):
    api.namespaces["istio-system"] = {"app.kubernetes.io/part-of": "platform"}
    stopped(deploy(config), "namespace istio-system exists in context 'k3d-ml' and is not stack-recipes'",
            f"no {naming.STACK_TAG} label", "AlreadyExists", "delete it", "use another context")


def test_namespaces_this_context_may_not_read_name_the_can_i_command(machine, api, config):
    api.forbidden = {"namespaces"}
    stopped(deploy(config), "may not read namespace", "kubectl auth can-i get namespaces --context k3d-ml")


def test_the_stacks_own_namespaces_are_an_update(machine, api, config):
    spec = spec_for(config)
    created = stack_namespaces(spec)
    api.namespaces.update({name: dict(OURS) for name in created})  # a redeploy, or the kept store re-adopted
    api.namespaces["team-a-tools"] = {naming.STACK_TAG: "team-b"}  # not one of ours: never asked
    preflight.require_cluster(spec, "deploy")
    assert asked(api) == [f"/api/v1/namespaces/{name}" for name in created]


def test_destroy_is_never_stopped_by_another_stack(machine, api, config):
    spec = spec_for(config)
    api.namespaces.update({name: {naming.STACK_TAG: "team-b"} for name in stack_namespaces(spec)})
    with pytest.raises(preflight.NotReady, match="already holds stack team-b"):
        preflight.require_cluster(spec, "deploy")
    for operation in (None, "preview", "refresh"):
        preflight.require_cluster(spec, operation)


def test_a_deploys_cluster_checks_log_in_once(machine, api, ca, tmp_path):
    """Access, the bucket Secret and the namespaces are asked in one session: an exec plugin (a corporate login,
    `aws eks get-token`) runs once per preflight, not once per check."""
    import json
    import sys

    runs = tmp_path / "plugin-runs"
    script = tmp_path / "login" / "get-token"
    script.parent.mkdir()
    credential = {"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": {"token": TOKEN}}
    script.write_text(f"#!{sys.executable}\nopen({str(runs)!r}, 'a').write('run\\n')\n"
                      f"print({json.dumps(credential)!r})\n")
    script.chmod(0o755)
    config = write_config(tmp_path / "config", api.url, ca[0].b64("cert"), {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": str(script), "interactiveMode": "Never"}})
    api.secrets[("ml", "bucket-keys")] = dict(KEYS)
    spec = spec_for(config, bucket="s3://ml-artifacts", bucket_secret="ml/bucket-keys")
    preflight.require_cluster(spec, "deploy")
    assert asked(api)[0] == "/api/v1/namespaces/ml/secrets/bucket-keys" and len(asked(api)) > 1  # every check ran
    assert runs.read_text().splitlines() == ["run"]
