"""The canonical outputs schema: validation, and what is secret."""

from __future__ import annotations

import copy

import pytest

from recipes import outputs
from recipes.outputs import MASK, OutputsError

from tests.stacks.sample import OUTPUTS


def full() -> dict:
    return copy.deepcopy(OUTPUTS)


def error(data) -> str:
    with pytest.raises(OutputsError) as info:
        outputs.validate(data)
    return str(info.value)


def test_schema_declares_the_secrets():
    assert set(outputs.SECRET_PATHS) == {("cluster", "kubeconfig"), ("tracker", "password")}


def test_validate_full_outputs():
    data = full()
    clean = outputs.validate(data)
    assert clean == data
    assert outputs.components(clean) == ["cluster", "bucket", "registry", "tracker", "deployer"]


def test_validate_returns_a_copy_without_unknown_keys():
    data = full()
    data["tracker"]["extra"] = "x"
    data["something_else"] = {"a": 1}
    clean = outputs.validate(data)
    assert "extra" not in clean["tracker"]
    assert "something_else" not in clean
    clean["bucket"]["name"] = "changed"
    assert data["bucket"]["name"] == "ml-dev-artifacts-abc123"


def test_absent_components_are_not_part_of_the_stack():
    data = {k: v for k, v in full().items() if k in ("provider", "region", "stack_name", "bucket", "registry")}
    data["tracker"] = None
    clean = outputs.validate(data)
    assert outputs.components(clean) == ["bucket", "registry"]
    assert "tracker" not in clean


@pytest.mark.parametrize("path", [
    "cluster.name", "cluster.endpoint", "cluster.kubeconfig", "cluster.context",
    "bucket.name", "bucket.uri", "registry.uri",
    "tracker.flavor", "tracker.uri", "tracker.username", "tracker.password",
    "deployer.flavor", "deployer.namespace", "deployer.base_url",
])
@pytest.mark.parametrize("how", ["missing", "empty", "none"])
def test_missing_required_field_is_named(path, how):
    data = full()
    component, field = path.split(".")
    if how == "missing":
        del data[component][field]
    else:
        data[component][field] = "" if how == "empty" else None
    message = error(data)
    assert f"'{path}'" in message


@pytest.mark.parametrize("key", ["provider", "region", "stack_name"])
def test_missing_top_level_key_is_named(key):
    data = full()
    del data[key]
    assert f"'{key}'" in error(data)
    data[key] = 3
    assert f"'{key}'" in error(data)


def test_bucket_account_is_optional_and_kept_when_given():
    data = full()
    assert "account" not in outputs.validate(data)["bucket"]
    data["bucket"] = {"name": "models", "uri": "az://models", "account": "mldevab18f7"}
    assert outputs.validate(data)["bucket"]["account"] == "mldevab18f7"
    data["bucket"]["account"] = 5
    assert "'bucket.account'" in error(data)


@pytest.mark.parametrize("value", [5, ["a"], {"a": "b"}, True])
def test_field_values_must_be_strings(value):
    data = full()
    data["tracker"]["uri"] = value
    message = error(data)
    assert "'tracker.uri'" in message and "string" in message


def test_component_must_be_an_object():
    data = full()
    data["registry"] = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    message = error(data)
    assert "'registry'" in message and "uri" in message


def test_no_components_at_all():
    assert "no stack components" in error({"provider": "aws", "region": "eu-west-1", "stack_name": "ml-dev"})


def test_not_a_mapping():
    with pytest.raises(OutputsError) as info:
        outputs.validate(["provider"], source="ml-dev.json")
    assert str(info.value).startswith("ml-dev.json: ")


def test_source_prefixes_messages():
    data = full()
    del data["tracker"]["password"]
    with pytest.raises(OutputsError) as info:
        outputs.validate(data, source="registry entry ml-dev")
    assert str(info.value) == "registry entry ml-dev: missing key 'tracker.password'"


def test_public_drops_secrets_only():
    data = full()
    before = copy.deepcopy(data)
    public = outputs.public(data)
    assert "password" not in public["tracker"]
    assert "kubeconfig" not in public["cluster"]
    assert public["tracker"]["username"] == "admin"
    assert public["cluster"]["context"] == "recipe-ml-dev"
    assert public["bucket"] == data["bucket"]
    assert data == before  # the input is not modified
    assert "s3cr3t-pw" not in repr(public)


def test_masked_replaces_secrets():
    data = full()
    before = copy.deepcopy(data)
    masked = outputs.masked(data)
    assert masked["tracker"]["password"] == MASK
    assert masked["cluster"]["kubeconfig"] == MASK
    assert {k: v for k, v in masked["tracker"].items() if k != "password"} == {
        k: v for k, v in data["tracker"].items() if k != "password"
    }
    assert data == before
    assert "s3cr3t-pw" not in repr(masked)


def test_public_and_masked_of_a_partial_stack():
    data = {"provider": "aws", "region": "eu-west-1", "stack_name": "ml-dev", "bucket": full()["bucket"]}
    assert outputs.public(data) == data
    assert outputs.masked(data) == data


def test_secrets_only():
    assert outputs.secrets(full()) == {"cluster": {"kubeconfig": "apiVersion: v1\nkind: Config\n"}, "tracker": {"password": "s3cr3t-pw"}}
    data = full()
    del data["cluster"]
    assert outputs.secrets(data) == {"tracker": {"password": "s3cr3t-pw"}}


def test_merge_secrets_restores_the_full_outputs():
    data = full()
    public = outputs.public(data)
    merged = outputs.merge_secrets(public, outputs.secrets(data))
    assert merged == data
    assert "password" not in public["tracker"]  # the public copy is untouched


def test_merge_secrets_ignores_non_secret_fields_and_absent_components():
    public = outputs.public(full())
    del public["cluster"]
    merged = outputs.merge_secrets(
        public,
        {"tracker": {"password": "pw", "uri": "http://evil"}, "cluster": {"kubeconfig": "x"}, "bucket": {"name": "other"}},
    )
    assert merged["tracker"]["password"] == "pw"
    assert merged["tracker"]["uri"] == "http://mlflow.example"
    assert merged["bucket"]["name"] == "ml-dev-artifacts-abc123"
    assert "cluster" not in merged


def test_round_trip_through_validate():
    data = full()
    assert outputs.validate(outputs.merge_secrets(outputs.public(data), outputs.secrets(data))) == data
    # The public copy alone is not complete outputs: the missing secret is named.
    with pytest.raises(OutputsError, match=r"'cluster\.kubeconfig'"):
        outputs.validate(outputs.public(data))
