"""The `kubernetes` provider's stack spec: its own fields, and the cloud fields it refuses."""

from __future__ import annotations

import pytest

from recipes.spec import Layer, SpecError, load_spec
from recipes.stack_fields import BY_NAME

BASE = {"provider": "kubernetes", "context": "k3d-ml", "registry": "registry.example.com/ml"}


def load(**values):
    return load_spec(Layer("flags", {**BASE, **values}))


def error(**values) -> str:
    with pytest.raises(SpecError) as caught:
        load(**values)
    return str(caught.value)


def test_defaults_name_the_users_cluster_and_nothing_of_a_cloud():
    spec = load()
    assert (spec.region, spec.context, spec.kubeconfig, spec.bucket, spec.registry) == \
        ("in-cluster", "k3d-ml", "", "", "registry.example.com/ml")
    assert spec.components == ("cluster", "bucket", "registry", "tracker", "deployer")
    # The stack-file form holds no cloud field, and reads back the same.
    data = spec.to_mapping()
    assert not {"node_type", "min_nodes", "max_nodes", "spot", "network", "kms", "audit_logs", "admins"} & set(data)
    assert load_spec(Layer("stack.yaml", data)) == spec


@pytest.mark.parametrize("key,value", [
    ("node_type", "t3.large"), ("min_nodes", 2), ("max_nodes", 5), ("spot", True), ("network", "public"),
    ("kms", True), ("private_endpoint", True), ("admins", ["user:alice@example.com"]),
    ("kubernetes_version", "1.31"), ("audit_logs", True), ("project", "demo-project"), ("zone", "us-east1-b"),
    ("regional", True), ("network_rules", True),
])
def test_fields_of_a_cluster_we_create_are_refused_with_the_fix(key, value):
    message = error(**{key: value})
    label = BY_NAME[key].label
    assert message.startswith(f"{label}: only applies to ")
    assert message.endswith("drop it") or "(this one is kubernetes)" in message


@pytest.mark.parametrize("key", ["context", "kubeconfig", "bucket", "bucket_endpoint", "bucket_secret", "registry"])
def test_its_fields_are_refused_on_the_clouds(key):
    with pytest.raises(SpecError, match=r"only applies to kubernetes stacks \(this one is aws\)"):
        load_spec(Layer("flags", {"provider": "aws", key: "x"}))


def test_the_registry_is_named_or_left_out():
    # No --registry: no registry component (the user's cluster has none of ours to default to).
    assert load(registry=None).components == ("cluster", "bucket", "tracker", "deployer")
    assert load(registry=None, without=["registry"]).registry == ""
    assert "--without registry leaves out" in error(without=["registry"])
    # Asked for by name, it must be named.
    message = error(registry=None, components=["cluster", "registry"])
    assert message.startswith("--components registry: ") and "pass --registry HOST[/PATH]" in message
    assert load(registry=None, components=["cluster", "bucket"]).components == ("cluster", "bucket")


@pytest.mark.parametrize("value,expected", [
    ("registry.example.com", "registry.example.com"), ("k3d-registry.localhost:5000", "k3d-registry.localhost:5000"),
    ("registry.example.com/ml/team-a/", "registry.example.com/ml/team-a"), ("127.0.0.1:5001/ml", "127.0.0.1:5001/ml"),
])
def test_registry_accepted(value, expected):
    assert load(registry=value).registry == expected


@pytest.mark.parametrize("value,why", [
    ("https://registry.example.com/ml", "without a scheme, e.g. registry.example.com/ml"),
    ("registry.example.com/ML", "HOST[:PORT][/PATH]"), ("reg istry", "HOST[:PORT][/PATH]"),
    ("-registry.example.com", "HOST[:PORT][/PATH]"),
])
def test_registry_refused(value, why):
    message = error(registry=value)
    assert message.startswith("--registry: ") and why in message


def test_a_bucket_of_the_users_needs_its_secret_and_takes_an_endpoint():
    spec = load(bucket="s3://ml-artifacts", bucket_endpoint="https://minio.corp.example/", bucket_secret="ml-keys")
    assert (spec.bucket, spec.bucket_endpoint, spec.bucket_secret) == \
        ("s3://ml-artifacts", "https://minio.corp.example", "ml-keys")
    assert load(bucket="s3://ml-artifacts", bucket_secret="ml-keys").bucket_endpoint == ""  # on AWS S3
    missing = error(bucket="s3://ml-artifacts")
    assert "--bucket-secret [NAMESPACE/]NAME" in missing and "kubectl create secret generic" in missing
    for key, value in (("bucket_endpoint", "https://minio.corp.example"), ("bucket_secret", "ml-keys")):
        assert error(**{key: value}).startswith(f"{BY_NAME[key].label}: only applies with --bucket")
    assert "--without bucket leaves out" in error(bucket="s3://ml-artifacts", bucket_secret="k",
                                                  without=["bucket", "tracker"])


@pytest.mark.parametrize("value", ["ml-artifacts", "s3://", "s3://Ml-Artifacts", "s3://ml-artifacts/prefix",
                                   "s3://a", "gs://ml-artifacts", "s3://192.168.1.1", "s3://ml..artifacts"])
def test_bucket_refused(value):
    assert error(bucket=value, bucket_secret="k").startswith("--bucket: ")


@pytest.mark.parametrize("value,ok", [
    ("https://minio.corp.example", True), ("https://minio.corp.example:9000/", True),
    ("http://localhost:9000", True), ("http://127.0.0.1:9000", True),
    ("http://minio.corp.example", False), ("ftp://minio.corp.example", False), ("minio.corp.example", False),
    ("https://key:secret@minio.corp.example", False), ("https://minio.corp.example?x=1", False),
    ("https://minio.corp.example:port", False),
])
def test_bucket_endpoint(value, ok):
    values = {"bucket": "s3://ml-artifacts", "bucket_secret": "k", "bucket_endpoint": value}
    if ok:
        assert load(**values).bucket_endpoint == value.rstrip("/")
    else:
        assert error(**values).startswith("--bucket-endpoint: ")


@pytest.mark.parametrize("value", ["ML-keys", "ml_keys", "-ml-keys", "ml keys", "a" * 254, "ml/", "/ml-keys",
                                   "ML/keys", "ml.team/keys", "a/b/c", "ml/-keys", "a" * 64 + "/keys"])
def test_bucket_secret_refused(value):
    message = error(bucket="s3://ml-artifacts", bucket_secret=value)
    assert message.startswith("--bucket-secret: ") and "[NAMESPACE/]NAME" in message


@pytest.mark.parametrize("value,where", [("ml/bucket-keys", ("ml", "bucket-keys")),
                                         ("bucket-keys", ("default", "bucket-keys")),
                                         ("team-a/keys.v2", ("team-a", "keys.v2"))])
def test_bucket_secret_names_a_secret_in_any_namespace(value, where):
    from recipes.spec_values import secret_ref

    spec = load(bucket="s3://ml-artifacts", bucket_secret=value)
    assert spec.bucket_secret == value and secret_ref(spec.bucket_secret) == where


@pytest.mark.parametrize("value,ok", [("k3d-ml", True), ("arn:aws:eks:eu-west-1:123456789012:cluster/ml", True),
                                      ("kind-kind", True), ("two words", False), ("a,b", False)])
def test_context(value, ok):
    if ok:
        assert load(context=value).context == value
    else:
        assert error(context=value).startswith("--context: ")


@pytest.mark.parametrize("value,ok", [("in-cluster", True), ("on-prem-eu1", True), ("Eu-West", False),
                                      ("-eu", False), ("a" * 64, False)])
def test_region_is_a_free_lowercase_label(value, ok):
    if ok:
        assert load(region=value).region == value
    else:
        assert error(region=value).startswith("--region: ")


def test_tags_follow_kubernetes_label_rules():
    assert dict(load(tags={"team": "ml", "example.com/owner": "a.b-c"}).tags) == {"team": "ml", "example.com/owner": "a.b-c"}
    assert error(tags={"team": "has space"}).startswith("--tag: label team=")
    assert "reserved" in error(tags={"kubernetes.io/name": "x"})
