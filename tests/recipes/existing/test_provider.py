"""The `kubernetes` provider's whole program (recipes/existing/ with the shared workloads) under Pulumi's mocks.

Every plan here is fresh (the real program reads the user's kubeconfig, which is not part of the spec) and
runs with KUBECONFIG pointing at a stand-in file, or at none: `recipe plan` must work with no cluster at all.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import yaml

from provisioner.analysis.mockcloud.kubernetes import bucket_secret_keys
from provisioner.analysis.plan import run_plan_revealed
from recipes import outputs
from recipes.facts import any_cloud as k8s_facts
from recipes.spec import Layer, load_spec

from tests.recipes.existing.specs import spec
from tests.conftest import PlanView
from tests.recipes.plans import fresh_plan, pod_spec

TWO_CONTEXTS = textwrap.dedent("""\
    apiVersion: v1
    kind: Config
    current-context: other
    clusters:
    - {name: k3d-ml, cluster: {server: "https://127.0.0.1:6443", certificate-authority: ca.crt}}
    - {name: prod, cluster: {server: "https://prod.example.com"}}
    contexts:
    - {name: k3d-ml, context: {cluster: k3d-ml, user: admin@k3d-ml}}
    - {name: other, context: {cluster: prod, user: prod-admin}}
    users:
    - {name: admin@k3d-ml, user: {token: laptop-token}}
    - {name: prod-admin, user: {token: prod-token}}
""")
STORE = "recipes:existing:InClusterObjectStore"
CLOUD_PREFIXES = ("aws:", "gcp:", "azure-native:", "pulumi:providers:aws", "pulumi:providers:gcp",
                  "pulumi:providers:azure-native")


@pytest.fixture
def kubeconfig(tmp_path, monkeypatch):
    path = tmp_path / "kube" / "config"
    path.parent.mkdir()
    path.write_text(TWO_CONTEXTS)
    monkeypatch.setenv("KUBECONFIG", str(path))
    return path


def mlflow_env(plan) -> dict:
    (server,) = [c for c in pod_spec(plan.one(k8s_facts.DEPLOYMENT, "tracker-server"))["containers"] if c["name"] == "mlflow"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in server["env"]}


def secrets_by_namespace(plan) -> dict[tuple[str, str], object]:
    return {(s.inputs["metadata"]["namespace"], s.inputs["metadata"]["name"]): s for s in plan.by_type(k8s_facts.SECRET)}


def test_plans_offline_with_the_in_cluster_store():
    plan = fresh_plan(spec())
    out = plan.raw_outputs
    assert out["provider"] == "kubernetes" and out["region"] == "in-cluster"
    assert out["cluster"]["context"] == "k3d-ml" and out["cluster"]["endpoint"] == "https://<cluster-endpoint>"
    assert [c["name"] for c in yaml.safe_load(out["cluster"]["kubeconfig"])["contexts"]] == ["k3d-ml"]
    assert {k: out["bucket"][k] for k in ("name", "uri", "endpoint")} == {
        "name": "ml-local-artifacts", "uri": "s3://ml-local-artifacts",
        "endpoint": "http://objectstore.objectstore.svc.cluster.local:8333"}
    assert set(out["bucket"]) == {"name", "uri", "endpoint", "access_key_id", "secret_access_key"}
    assert outputs.validate(out) == out  # every value in the form the outputs table holds for this provider
    assert "registry" not in out and {"tracker", "deployer"} <= set(out)
    assert not [r.type for r in plan.resources if r.type.startswith(CLOUD_PREFIXES)]
    (provider,) = [p for p in plan.by_type(k8s_facts.KUBERNETES_PROVIDER) if p.name == "cluster-k8s"]
    assert provider.inputs["context"] == "k3d-ml" and "kubeconfig" in provider.secret_inputs
    plan.one(STORE, "objectstore")
    # The store's volume and the database's take the cluster's default class.
    claims = plan.by_type(k8s_facts.PERSISTENT_VOLUME_CLAIM)
    assert len(claims) == 2 and not [c for c in claims if "storageClassName" in c.inputs["spec"]]


def test_static_keys_reach_the_tracker_and_pipelines_from_their_own_namespace():
    plan = fresh_plan(spec())
    env = mlflow_env(plan)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert env[key] == {"secretKeyRef": {"name": "objectstore-keys", "key": key}}
    store_svc = plan.one(k8s_facts.SERVICE, "objectstore-svc").inputs["metadata"]
    assert env["MLFLOW_S3_ENDPOINT_URL"] == env["AWS_ENDPOINT_URL_S3"] == \
        f"http://{store_svc['name']}.{store_svc['namespace']}.svc.cluster.local:8333"
    secrets, revealed = secrets_by_namespace(plan), secrets_by_namespace(run_plan_revealed(spec()))
    store_keys = revealed[("objectstore", "objectstore-credentials")].inputs["stringData"]
    # The outputs carry the store's own keys (secrets by the schema), for the exports.
    assert {"AWS_ACCESS_KEY_ID": plan.raw_outputs["bucket"]["access_key_id"],
            "AWS_SECRET_ACCESS_KEY": plan.raw_outputs["bucket"]["secret_access_key"]} == store_keys
    for namespace in ("mlflow", "zenml"):
        assert "stringData" in secrets[(namespace, "objectstore-keys")].secret_inputs
        assert revealed[(namespace, "objectstore-keys")].inputs["stringData"] == store_keys
    # The tracker starts once its namespace's copy exists.
    view = PlanView(plan)
    assert plan.one(k8s_facts.SECRET, "tracker-objectstore-keys").urn in view.deps_closure(
        plan.one(k8s_facts.DEPLOYMENT, "tracker-server"))


def test_the_store_namespace_is_segmented_with_its_clients_flows():
    plan = fresh_plan(spec())
    policies = {(p.inputs["metadata"]["namespace"], p.inputs["metadata"]["name"]) for p in plan.by_type(k8s_facts.NETWORK_POLICY)}
    assert {("objectstore", "default-deny"), ("objectstore", "store-from-tracker"), ("objectstore", "store-from-steps"),
            ("objectstore", "store-from-bucket-job"), ("objectstore", "bucket-job-to-store"),
            ("mlflow", "tracker-to-objectstore"), ("zenml", "steps-to-objectstore")} <= policies


def test_a_bucket_of_the_users_creates_no_store_and_reads_their_secret():
    users = spec(bucket="s3://ml-artifacts", bucket_endpoint="https://minio.corp.example", bucket_secret="ml/bucket-keys")
    plan = fresh_plan(users)
    # The endpoint, and no keys: they are the user's, in their Secret.
    assert plan.raw_outputs["bucket"] == {"name": "ml-artifacts", "uri": "s3://ml-artifacts",
                                          "endpoint": "https://minio.corp.example"}
    assert not plan.by_type(STORE) and not plan.by_type(k8s_facts.PERSISTENT_VOLUME_CLAIM)[1:]
    assert "objectstore" not in {n.inputs["metadata"]["name"] for n in plan.by_type(k8s_facts.NAMESPACE)}
    env = mlflow_env(plan)
    assert env["AWS_SECRET_ACCESS_KEY"] == {"secretKeyRef": {"name": "bucket-keys", "key": "AWS_SECRET_ACCESS_KEY"}}
    assert env["MLFLOW_S3_ENDPOINT_URL"] == "https://minio.corp.example"
    # The user's Secret is read (the mock cloud answers placeholders for it), never declared: no resource of ours
    # is in its namespace. Its two keys are copied, decoded and as Pulumi secrets, where the pods run.
    secrets, revealed = secrets_by_namespace(plan), secrets_by_namespace(run_plan_revealed(users))
    assert not [k for k in secrets if k[0] == "ml" or k[1] == "objectstore-keys"]
    for namespace in ("mlflow", "zenml"):
        assert "stringData" in secrets[(namespace, "bucket-keys")].secret_inputs
        assert revealed[(namespace, "bucket-keys")].inputs["stringData"] == bucket_secret_keys("ml/bucket-keys")
    # The tracker starts once its namespace's copy exists.
    assert plan.one(k8s_facts.SECRET, "tracker-bucket-keys").urn in PlanView(plan).deps_closure(
        plan.one(k8s_facts.DEPLOYMENT, "tracker-server"))
    artifacts = [e for e in pod_spec(plan.one(k8s_facts.DEPLOYMENT, "tracker-server"))["containers"][0]["args"] if "s3://" in e]
    assert artifacts and all(a.count("s3://ml-artifacts/") == 1 for a in artifacts)


def test_the_users_secret_is_read_through_the_stacks_provider_and_must_exist():
    """The read goes where the workloads go (the user's context), and a plan never invents another Secret: a read
    of anything the mock cloud does not know fails as the engine fails a read of nothing."""
    import pulumi
    import pulumi_kubernetes as k8s

    from provisioner.analysis.plan import run_plan
    from recipes.existing import Recipe

    def program(stack):
        recipe = Recipe(stack)
        recipe.bucket()
        assert recipe._existing is not None
        k8s.core.v1.Secret.get("other", "ml/not-the-bucket-secret",
                               opts=pulumi.ResourceOptions(provider=recipe._existing.provider))

    with pytest.raises(Exception, match="resource 'ml/not-the-bucket-secret' does not exist"):
        run_plan(spec(bucket="s3://ml-artifacts", bucket_secret="ml/bucket-keys"), program)
    # Without the stray read, the same program plans: the user's own Secret is known.
    def only_the_bucket(stack):
        Recipe(stack).bucket()

    run_plan(spec(bucket="s3://ml-artifacts", bucket_secret="bucket-keys"), only_the_bucket)


def test_an_aws_s3_bucket_needs_no_endpoint():
    env = mlflow_env(fresh_plan(spec(bucket="s3://ml-artifacts", bucket_secret="ml-bucket-keys")))
    assert "MLFLOW_S3_ENDPOINT_URL" not in env and env["AWS_ACCESS_KEY_ID"]["secretKeyRef"]["name"] == "bucket-keys"


def test_the_users_registry_is_an_output_and_creates_nothing():
    with_registry = fresh_plan(spec(registry="registry.corp.example/ml", without=[]))
    assert with_registry.raw_outputs["registry"] == {"uri": "registry.corp.example/ml"}
    without = fresh_plan(spec())
    def created(plan):
        return {(r.type, r.name) for r in plan.resources if r.custom}

    assert created(with_registry) and created(with_registry) == created(without)


def test_the_exported_kubeconfig_holds_only_the_chosen_context(kubeconfig):
    plan = fresh_plan(spec())
    cluster = plan.raw_outputs["cluster"]
    assert cluster["endpoint"] == "https://127.0.0.1:6443" and cluster["name"] == "k3d-ml"
    outputs.validate(plan.raw_outputs)
    exported = yaml.safe_load(cluster["kubeconfig"])
    assert exported["current-context"] == "k3d-ml"
    assert [c["name"] for c in exported["contexts"]] == ["k3d-ml"]
    assert [c["name"] for c in exported["clusters"]] == ["k3d-ml"]
    assert exported["users"] == [{"name": "admin@k3d-ml", "user": {"token": "laptop-token"}}]
    # A relative file path stays the file kubectl would read.
    assert exported["clusters"][0]["cluster"]["certificate-authority"] == str(kubeconfig.parent / "ca.crt")
    assert "prod-token" not in cluster["kubeconfig"]
    assert "kubeconfig" in plan.secret_outputs or "cluster.kubeconfig" in plan.secret_outputs


def test_without_context_the_current_one_is_pinned(kubeconfig):
    plan = fresh_plan(load_spec(Layer("flags", {"provider": "kubernetes", "name": "ml-local", "without": ["registry"]})))
    assert plan.raw_outputs["cluster"]["context"] == "other"
    (provider,) = [p for p in plan.by_type(k8s_facts.KUBERNETES_PROVIDER) if p.name == "cluster-k8s"]
    assert provider.inputs["context"] == "other"


def test_delete_data_releases_the_store_volume():
    kept = fresh_plan(spec()).one(k8s_facts.PERSISTENT_VOLUME_CLAIM, "objectstore")
    released = fresh_plan(spec().with_changes(delete_data=True)).one(k8s_facts.PERSISTENT_VOLUME_CLAIM, "objectstore")
    assert kept.protect and kept.retain_on_delete
    assert not released.protect and not released.retain_on_delete


def test_recipe_plan_kubernetes_imports_no_cloud_sdk(tmp_path):
    code = textwrap.dedent("""\
        import json, sys
        from provisioner import cli
        try:
            cli.app(["plan", "kubernetes", "--context", "k3d-ml", "--name", "ml-local", "--without", "registry",
                     "--output", "json"])
        except SystemExit as exc:
            code = exc.code
        print(json.dumps({"code": code, "sdks": sorted(m for m in sys.modules
                          if m.split(".")[0] in ("pulumi_aws", "pulumi_gcp", "pulumi_azure_native"))}), file=sys.stderr)
    """)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "KUBECONFIG": str(tmp_path / "absent"),
           "RECIPE_HOME": str(tmp_path / "home"), "PYTHONPATH": str(__import__("pathlib").Path(__file__).parents[3])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    result = json.loads(done.stderr.strip().splitlines()[-1])
    assert result == {"code": 0, "sdks": []}, done.stderr[-2000:]
    assert json.loads(done.stdout)["outputs"]["provider"] == "kubernetes"
