"""What `recipe destroy` keeps of a `kubernetes` stack (issue 17: "volume retained and adopted on redeploy").

The in-cluster store's volume claim and the namespace it lives in (Kubernetes deletes every object of a
deleted namespace, whatever Pulumi's retainOnDelete says), through the provider that adopts them when a
deploy finds them already there. Planned under Pulumi's mocks, then deployed, destroyed and deployed again
through the CLI on the FakeEngine (tests/support/fakes.py: Pulumi's rules and a model of what exists).
"""

from __future__ import annotations

from typer.testing import CliRunner

from provisioner import cli
from recipes.facts import any_cloud as k8s_facts

from tests.recipes.existing.specs import spec
from tests.recipes.plans import fresh_plan, protected, retained

KEPT = {(k8s_facts.NAMESPACE, "objectstore-ns"), (k8s_facts.PERSISTENT_VOLUME_CLAIM, "objectstore")}
KEPT_OBJECTS = {(k8s_facts.NAMESPACE, "objectstore"), (k8s_facts.PERSISTENT_VOLUME_CLAIM, "objectstore/objectstore-data")}
DEPLOY = ("deploy", "kubernetes", "--context", "k3d-ml", "--name", "ml-local", "--yes")


def providers(plan) -> dict[str, object]:
    return {p.name: p for p in plan.by_type(k8s_facts.KUBERNETES_PROVIDER)}


def test_the_store_namespace_is_kept_with_its_volume_claim():
    plan = fresh_plan(spec())
    assert protected(plan) == KEPT and retained(plan) == KEPT
    # The claim is in the kept namespace (not in one a destroy deletes, taking the claim with it).
    claim = plan.one(k8s_facts.PERSISTENT_VOLUME_CLAIM, "objectstore")
    assert claim.inputs["metadata"]["namespace"] == plan.one(k8s_facts.NAMESPACE, "objectstore-ns").inputs["metadata"]["name"]


def test_delete_data_keeps_nothing_and_changes_nothing_else():
    kept, released = fresh_plan(spec()), fresh_plan(spec().with_changes(delete_data=True))
    assert protected(released) == set() and retained(released) == set()
    assert sorted(r.urn for r in released.resources) == sorted(r.urn for r in kept.resources)


def test_only_what_a_destroy_keeps_goes_through_the_adopting_provider():
    plan = fresh_plan(spec())
    found = providers(plan)
    strict, adopting = found["cluster-k8s"], found["cluster-k8s-kept"]
    assert str(adopting.inputs.get("upsertExistingObjects")).lower() == "true"
    # Everything else fails AlreadyExists on an object it did not create (someone else's istio-system).
    assert "upsertExistingObjects" not in strict.inputs
    # The same cluster: same kubeconfig (a secret), same pinned context, server-side apply on both.
    for name in ("kubeconfig", "context", "enableServerSideApply"):
        assert adopting.inputs[name] == strict.inputs[name], name
    assert "kubeconfig" in adopting.secret_inputs
    on_adopting = {(r.type, r.name) for r in plan.resources
                   if r.custom and (r.provider or "").startswith(adopting.urn + "::")}
    assert on_adopting == KEPT


def test_a_users_bucket_creates_no_store_and_keeps_nothing():
    plan = fresh_plan(spec(bucket="s3://ml-artifacts", bucket_endpoint="https://minio.corp.example",
                               bucket_secret="ml-artifacts-keys"))
    assert protected(plan) == set() and retained(plan) == set()
    assert not any(r.provider and "cluster-k8s-kept" in r.provider for r in plan.resources if r.custom)


def run(*args: str):
    result = CliRunner().invoke(cli.app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result


def objects(engine) -> dict[tuple[str, str], int]:
    """What exists in the (fake) cluster: (type, namespace/name) -> which incarnation."""
    return {(p.type, p.name): p.uid for p in engine.cloud.physical_resources() if p.type.startswith("kubernetes:")}


def test_destroy_leaves_the_namespace_and_claim_and_a_redeploy_takes_them_back(engine):
    run(*DEPLOY)
    first = objects(engine)
    assert KEPT_OBJECTS <= first.keys()
    assert (k8s_facts.SECRET, "objectstore/objectstore-config") in first

    destroyed = run("destroy", "ml-local", "--yes")
    assert objects(engine) == {key: first[key] for key in KEPT_OBJECTS}  # everything else is gone
    # The user is told what holds their data and how to delete it, as on the clouds.
    told = destroyed.stderr.split("Kept (your data):", 1)[1].splitlines()
    assert told[1].split() == [k8s_facts.PERSISTENT_VOLUME_CLAIM, "objectstore/objectstore-data"], destroyed.stderr
    assert told[2] == "Delete them later with: recipe destroy ml-local --delete-data"
    (state,) = engine.state.values()
    # The state keeps them too (so `--delete-data` can delete them later), with what managing them needs; the
    # generated keys are not among them: a redeploy generates new ones (recipes/existing/objectstore.py).
    assert {(r.type, r.name) for r in state if r.custom and not r.type.startswith("pulumi:")} == KEPT
    assert not [r for r in state if r.type == k8s_facts.RANDOM_PASSWORD]
    # Whatever a redeploy whose state is lost would find in the cluster is on the adopting provider.
    assert all("cluster-k8s-kept" in (r.provider or "") for r in state if r.protect)

    run(*DEPLOY)
    again = objects(engine)
    assert {key: again[key] for key in KEPT_OBJECTS} == {key: first[key] for key in KEPT_OBJECTS}  # the same volume
    assert first.keys() == again.keys()  # and the rest of the stack back beside it
    assert again[(k8s_facts.SECRET, "objectstore/objectstore-config")] != first[(k8s_facts.SECRET, "objectstore/objectstore-config")]


def test_destroy_delete_data_takes_the_namespace_and_claim(engine):
    run(*DEPLOY)
    run("destroy", "ml-local", "--delete-data", "--yes")
    assert objects(engine) == {} and engine.cloud.physical_resources() == []
    assert all(not resources for resources in engine.state.values())


def lose_the_state(engine) -> None:
    """What a deploy meets when the stack's state is gone but the cluster is not: the stack removed from its
    backend after a destroy, another backend, a laptop lost (the record forgotten with it)."""
    for backend in engine.backends.values():
        backend.states.clear()
    run("forget", "ml-local", "--yes")


def test_a_deploy_without_state_adopts_the_kept_volume(engine):
    run(*DEPLOY)
    first = objects(engine)
    run("destroy", "ml-local", "--yes")
    lose_the_state(engine)

    run(*DEPLOY)  # the strict fake fails AlreadyExists on any existing object not created through the adopting provider
    again = objects(engine)
    assert {key: again[key] for key in KEPT_OBJECTS} == {key: first[key] for key in KEPT_OBJECTS}  # the same volume
    (state,) = engine.state.values()
    assert KEPT <= {(r.type, r.name) for r in state}  # managed again: a later destroy keeps them, --delete-data deletes


def test_an_object_of_someone_else_is_never_adopted(engine):
    """Only the kept namespace and claim go through the adopting provider: a fixed-name object of ours that
    exists already (someone else's mlflow namespace, a stack deployed from another state) fails the deploy."""
    run(*DEPLOY)
    lose_the_state(engine)  # everything still runs in the cluster, as another user's stack would

    result = CliRunner().invoke(cli.app, list(DEPLOY))
    assert result.exit_code != 0
    assert "already exists" in result.stderr
    # The kept volume was adopted at most; the other stack's objects are still there, untouched.
    assert (k8s_facts.NAMESPACE, "mlflow") in objects(engine)


def test_the_users_bucket_secret_is_read_and_never_deleted(engine):
    """--bucket-secret names a Secret of the user's: the program reads it (Secret.get), so neither a destroy nor
    `--delete-data` deletes it; what we made of it (the copies in our namespaces) goes with the stack."""
    from tests.support.pulumi_rules import Cloud

    cloud = engine.clouds.setdefault("in-cluster", Cloud())  # the cluster, before the stack: the user's Secret in it
    users = cloud.create(k8s_facts.SECRET, "users-own", {"metadata": {"name": "bucket-keys", "namespace": "ml"}})
    deploy = (*DEPLOY, "--bucket", "s3://ml-artifacts", "--bucket-endpoint", "https://minio.corp.example",
              "--bucket-secret", "ml/bucket-keys")
    run(*deploy)
    deployed = objects(engine)
    assert {(k8s_facts.SECRET, "mlflow/bucket-keys"), (k8s_facts.SECRET, "zenml/bucket-keys")} <= deployed.keys()
    (state,) = engine.state.values()
    assert not [r for r in state if r.type == k8s_facts.SECRET and r.inputs.get("metadata", {}).get("namespace") == "ml"]
    run("destroy", "ml-local", "--yes")
    run(*deploy)
    run("destroy", "ml-local", "--delete-data", "--yes")
    assert objects(engine) == {(k8s_facts.SECRET, "ml/bucket-keys"): users.uid}
