"""The canonical outputs schema: validation, and what is secret."""

from __future__ import annotations

import copy

import pytest

from recipes import outputs
from recipes.outputs import MASK, OutputsError

from tests.stacks.sample import KUBECONFIG, OUTPUTS


def full() -> dict:
    return copy.deepcopy(OUTPUTS)


def error(data) -> str:
    with pytest.raises(OutputsError) as info:
        outputs.validate(data)
    return str(info.value)


def test_schema_declares_the_secrets():
    assert set(outputs.SECRET_PATHS) == {("cluster", "kubeconfig"), ("tracker", "password"),
                                         ("bucket", "access_key_id"), ("bucket", "secret_access_key")}


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
    data["bucket"] = {"name": "models", "uri": "s3://models", "account": "mldevab18f7"}
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
    assert outputs.secrets(full()) == {"cluster": {"kubeconfig": KUBECONFIG}, "tracker": {"password": "s3cr3t-pw"}}
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


# --------------------------------------------------------------------------
# values: what our programs emit (VALUES), per cloud where they differ

# Each cloud's bucket and registry in the forms its program emits (recipes/<cloud>/bucket.py and
# registry.py); tests/stacks/test_registration.py registers each cloud's real plan outputs.
CLOUD_FORMS = {
    "aws": {"region": "eu-west-1", "bucket": {"name": "ml-dev-artifacts-abc123", "uri": "s3://ml-dev-artifacts-abc123"},
            "registry": {"uri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com"}},
    "gcp": {"region": "us-central1", "bucket": {"name": "ml-dev-artifacts-abc123", "uri": "gs://ml-dev-artifacts-abc123"},
            "registry": {"uri": "us-central1-docker.pkg.dev/demo-project/ml-dev"}},
    "azure": {"region": "westeurope", "bucket": {"name": "artifacts", "uri": "az://artifacts", "account": "stmldevabc123"},
              "registry": {"uri": "crmldevabc123.azurecr.io"}},
}
SCHEME = {"aws": "s3://", "gcp": "gs://", "azure": "az://"}
OTHER_CLOUDS = [(p, o) for p in CLOUD_FORMS for o in CLOUD_FORMS if p != o]


def of_cloud(provider: str) -> dict:
    return {**full(), "provider": provider, **copy.deepcopy(CLOUD_FORMS[provider])}


def one_line_naming(message: str, key: str) -> None:
    assert "\n" not in message and f"'{key}'" in message and "expected" in message, message


@pytest.mark.parametrize("provider", CLOUD_FORMS)
def test_each_clouds_own_forms_are_valid(provider):
    assert outputs.validate(of_cloud(provider))["bucket"] == CLOUD_FORMS[provider]["bucket"]


@pytest.mark.parametrize("provider, other", OTHER_CLOUDS)
def test_another_clouds_bucket_is_refused_with_this_clouds_scheme(provider, other):
    data = of_cloud(provider)
    data["bucket"] = CLOUD_FORMS[other]["bucket"]
    message = error(data)
    one_line_naming(message, "bucket.uri")
    assert f"{SCHEME[provider]}" in message and f"e.g. {SCHEME[provider]}" in message


@pytest.mark.parametrize("provider, other", OTHER_CLOUDS)
def test_another_clouds_registry_is_refused(provider, other):
    data = of_cloud(provider)
    data["registry"] = CLOUD_FORMS[other]["registry"]
    message = error(data)
    one_line_naming(message, "registry.uri")
    assert repr(CLOUD_FORMS[other]["registry"]["uri"]) in message


@pytest.mark.parametrize("provider, uri", [
    ("aws", "123456789012.dkr.ecr.us-east-1.amazonaws.com"),  # another region's registry
    ("aws", "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"),  # a scheme ZenML would not take
    ("aws", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/zenml"),  # a repository path, which ZenML refuses for ECR
    ("gcp", "europe-west1-docker.pkg.dev/demo-project/ml-dev"),
    ("gcp", "us-central1-docker.pkg.dev/demo-project"),  # no repository
    ("azure", "https://crmldevabc123.azurecr.io"),
])
def test_registry_in_the_wrong_region_or_form_is_refused(provider, uri):
    data = of_cloud(provider)
    data["registry"]["uri"] = uri
    message = error(data)
    one_line_naming(message, "registry.uri")
    assert CLOUD_FORMS[provider]["region"] in message or provider == "azure"


@pytest.mark.parametrize("path, value, expected", [
    ("tracker.flavor", "wandb", "mlflow"),
    ("deployer.flavor", "kfserving", "seldon or kserve"),
    ("bucket.uri", "not-a-uri", "s3://"),
    ("bucket.uri", "s3://", "s3://"),
    ("tracker.uri", "mlflow.example:5000", "http(s) URL"),
    ("deployer.base_url", "ftp://gw.example", "http(s) URL"),
    ("cluster.endpoint", "http://x.eks", "https URL"),
    ("tracker.ca_certificate", "MIIBszCCAVmgAwIBAgIU", "PEM certificate"),
    ("deployer.ca_certificate", "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n", "PEM certificate"),
])
def test_a_value_our_programs_never_emit_is_refused_with_an_example(path, value, expected):
    data = full()
    component, name = path.split(".")
    data[component][name] = value
    message = error(data)
    one_line_naming(message, path)
    assert f"is {value!r}"[:40] in message and expected in message


@pytest.mark.parametrize("path, value", [
    ("deployer.flavor", "kserve"),
    ("tracker.uri", "https://[2001:db8::7]:5000"),
    ("cluster.endpoint", "https://ml-dev-d535dfed.hcp.westeurope.azmk8s.io:443"),
    ("tracker.ca_certificate", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
])
def test_the_other_forms_our_programs_emit_are_valid(path, value):
    data = full()
    component, name = path.split(".")
    data[component][name] = value
    assert outputs.validate(data)[component][name] == value


def test_an_unknown_region_is_refused_as_a_spec_refuses_it():
    data = full()
    data["region"] = "mars-1"
    message = error(data)
    assert "'region'" in message and "unknown aws region 'mars-1'" in message and "\n" not in message


@pytest.mark.parametrize("kubeconfig, problem", [
    ("apiVersion: v1\nkind: Config\ncontexts: [\n", "not YAML"),
    ("{{ .Values.kubeconfig }}", "not YAML"),
    ("apiVersion: v1\nkind: Pod\n", "not a kubeconfig"),
    ("- just\n- a list\n", "not a kubeconfig"),
    ("when: 2001-13-01\n", "unreadable YAML"),
    (KUBECONFIG.replace("- name: recipe-ml-dev\n  context", "- name: admin@other\n  context"), "no context named 'recipe-ml-dev'"),
    ("apiVersion: v1\nkind: Config\n", "no context named 'recipe-ml-dev'"),
])
def test_a_kubeconfig_must_parse_and_hold_the_named_context(kubeconfig, problem):
    data = full()
    data["cluster"]["kubeconfig"] = kubeconfig
    message = error(data)
    one_line_naming(message, "cluster.kubeconfig")
    assert problem in message
    assert kubeconfig.strip() not in message  # a secret is named, never shown
    # A record's public copy (no secrets) is not the kubeconfig's reader: it was checked on the way in.
    assert outputs.validate(data, with_secrets=False)["cluster"]["kubeconfig"] == kubeconfig
