"""Property tests: whatever a user or a file throws at the spec loader, the stack-file
reader and `register --outputs`, the answer is a valid result or one clean error:
never a traceback, never a cloud call, nothing written on error."""

from __future__ import annotations

import ipaddress
import json
import string

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from provisioner import cli
from provisioner.stacks.registration import register_outputs
from provisioner.stacks.records import StackRecords, RecordsError
from provisioner.stacks.stackfile import read_stack_file
from recipes import naming
from recipes.outputs import OutputsError
from recipes.spec import COMPONENTS, FILE_FIELDS, PROVIDERS, Layer, SpecError, StackSpec, load_spec

from tests.support.fakes import FakeEngine

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**12, max_value=10**12), st.floats(allow_nan=True),
    st.text(max_size=40), st.sampled_from(["aws", "gcp", "azure", "ml-dev", "eu-west-1", "us-central1", "westeurope",
                                           "1", "3", "-1", "t3.large", "true", "deployer", "10.0.0.0/8", "private", "public"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)), max_leaves=8)
keys = st.one_of(st.sampled_from(FILE_FIELDS), st.text(max_size=12))
mappings = st.dictionaries(keys, values, max_size=8)

cidrs = st.one_of(
    st.builds(lambda a, p: f"{ipaddress.IPv4Address(a)}/{p}", st.integers(0, 2**32 - 1), st.integers(0, 40)),
    st.builds(lambda a, p: f"{ipaddress.IPv6Address(a)}/{p}", st.integers(0, 2**128 - 1), st.integers(0, 130)),
    st.text(alphabet=string.digits + "./:", max_size=20),
)
sizes = st.one_of(st.integers(-5, 200), st.text(alphabet=string.digits + "-+. ", max_size=5), st.floats(-5, 200))


def _valid(spec: StackSpec) -> None:
    """A spec that loads is fully valid: names check out and it reloads to itself."""
    assert spec.provider in PROVIDERS
    assert naming.check_stack_name(spec.name) is None
    assert 1 <= spec.min_nodes <= spec.max_nodes <= 100
    assert set(spec.components) <= set(COMPONENTS) and spec.components
    spec.names.check(spec.provider)
    for cidr in spec.allow_cidrs:
        assert ipaddress.ip_network(cidr, strict=True).version == 4
    assert load_spec(Layer("again", spec.to_mapping())) == spec


@SETTINGS
@given(mappings)
def test_any_mapping_is_a_valid_spec_or_one_spec_error(data):
    try:
        spec = load_spec(Layer("stack.yaml", data))
    except SpecError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    _valid(spec)


@SETTINGS
@given(provider=st.sampled_from(PROVIDERS), allow=st.lists(cidrs, max_size=3), low=sizes, high=sizes,
       name=st.text(max_size=25), region=st.text(max_size=20))
def test_sizes_cidrs_names_and_regions(provider, allow, low, high, name, region):
    data = {"provider": provider, "allow_cidrs": allow, "min_nodes": low, "max_nodes": high, "name": name,
            "region": region, "project": "demo-project" if provider == "gcp" else None}
    try:
        spec = load_spec(Layer("flags", data))
    except SpecError as exc:
        assert "\n" not in str(exc)
        return
    _valid(spec)


@SETTINGS
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode),
                 mappings.map(lambda d: json.dumps(d, default=str).encode())))
def test_any_stack_file_is_read_or_refused_cleanly(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("f") / "stack.yaml"
    path.write_bytes(content)
    try:
        spec = load_spec(read_stack_file(path))
    except SpecError as exc:
        assert str(exc).startswith(str(path)) or "provider" in str(exc) or "flags" not in str(exc)
        return
    _valid(spec)


outputs_documents = st.one_of(
    values,
    st.fixed_dictionaries(
        {"provider": scalars, "region": scalars, "stack_name": st.just("ml-dev")},
        optional={c: st.one_of(values, st.dictionaries(st.sampled_from(["name", "uri", "endpoint", "kubeconfig", "context",
                                                                       "flavor", "username", "password", "namespace",
                                                                       "base_url", "account"]), scalars, max_size=6))
                  for c in COMPONENTS},
    ),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(outputs_documents)
@example({"provider": None, "region": None, "stack_name": "ml-dev", "cluster": 1.0})  # once crashed register
def test_register_any_outputs_file(tmp_path_factory, monkeypatch, document):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("RECIPE_HOME", str(home))
    path = home / "outputs.json"
    path.write_text(json.dumps(document, default=str))
    records = StackRecords()
    try:
        record = register_outputs("ml-dev", path, records=records)
    except (OutputsError, RecordsError) as exc:
        assert "\n" not in str(exc)
        assert records.find("ml-dev") is None and not (home / "data" / "secrets").exists()
        return
    assert records.get("ml-dev").outputs == record.outputs


FLAGS = st.lists(
    st.tuples(st.sampled_from(["--name", "--region", "--min-nodes", "--max-nodes", "--allow-cidr", "--without",
                               "--node-type", "--tag", "--network", "--deployer", "--kubernetes-version", "--suffix"]),
              st.text(alphabet=string.ascii_letters + string.digits + "-_./=:, ", max_size=14)),
    max_size=4,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(provider=st.sampled_from(["aws", "gcp", "azure", "oracle"]), flags=FLAGS)
def test_deploy_with_random_flags_never_traces_and_bad_input_never_reaches_the_engine(tmp_path_factory, monkeypatch, provider, flags):
    monkeypatch.setenv("RECIPE_HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "demo-project")
    fake = FakeEngine()
    monkeypatch.setattr(cli.context, "make_engine", lambda: fake)
    args = ["deploy", provider, "--yes", *[x for pair in flags for x in pair]]
    result = CliRunner().invoke(cli.app, args, catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr + result.stdout
    assert result.exit_code in (0, 1, 2), (args, result.stderr)
    if result.exit_code == 2:
        assert fake.calls == []
