"""StackSpec: every input is checked before any cloud call, and every error names its field."""

from __future__ import annotations


import pytest

from recipes import naming
from recipes.spec import COMPONENTS, FILE_FIELDS, Layer, SpecError, StackSpec, load_spec


def flags(**values):
    return Layer("flags", {"provider": "aws", **values})


def error(*layers: Layer) -> str:
    with pytest.raises(SpecError) as info:
        load_spec(*layers)
    message = str(info.value)
    assert "\n" not in message  # one line for the user
    return message


# ---------------------------------------------------------------------------
# Good input


def test_defaults():
    spec = load_spec(flags())
    assert spec.provider == "aws"
    assert spec.name == "ml-dev"
    assert spec.region == "us-east-1"
    assert spec.components == COMPONENTS
    assert (spec.node_type, spec.min_nodes, spec.max_nodes) == ("t3.large", 1, 3)
    assert spec.network == "private"
    assert spec.allow_cidrs == ()
    assert spec.deployer == "seldon"
    assert spec.immutable_tags is False
    assert spec.delete_data is False
    assert spec.suffix == ""  # assigned at the first deploy (operations.assign_suffix)


def test_full_stack_file():
    spec = load_spec(
        Layer(
            "stack.yaml",
            {
                "provider": "aws", "name": "team-a", "region": "eu-central-1",
                # Without the tracker: public nodes with --allow-cidr would lock pipelines out of MLflow.
                "without": ["tracker"], "node_type": "m7g.xlarge", "min_nodes": 2, "max_nodes": 6,
                "network": "public", "allow_cidrs": ["203.0.113.0/24", "198.51.100.7"],
                "deployer": "kserve", "kubernetes_version": "1.33", "immutable_tags": True,
                "suffix": "abcd1234", "tags": {"team": "a", "cost-center": 42},
            },
        )
    )
    assert spec.components == ("cluster", "bucket", "registry", "deployer")
    assert (spec.node_type, spec.min_nodes, spec.max_nodes) == ("m7g.xlarge", 2, 6)
    assert spec.network == "public"
    assert spec.allow_cidrs == ("203.0.113.0/24", "198.51.100.7/32")  # a bare address is a /32
    assert spec.deployer == "kserve"
    assert spec.kubernetes_version == "1.33"
    assert spec.immutable_tags is True
    assert spec.suffix == "abcd1234"
    assert dict(spec.tags) == {"team": "a", "cost-center": "42"}
    assert spec.labels() == {"team": "a", "cost-center": "42", "recipe-stack": "team-a", "managed-by": "stack-recipes"}


def test_flag_forms_of_lists_numbers_and_booleans():
    spec = load_spec(
        flags(without="deployer, tracker", allow_cidrs="10.1.0.0/16,192.0.2.1", min_nodes="2", max_nodes=4.0,
              immutable_tags="yes", tags="team=ml,env=dev")
    )
    assert spec.components == ("cluster", "bucket", "registry")
    assert spec.allow_cidrs == ("10.1.0.0/16", "192.0.2.1/32")
    assert (spec.min_nodes, spec.max_nodes) == (2, 4)
    assert spec.immutable_tags is True
    assert dict(spec.tags) == {"team": "ml", "env": "dev"}


def test_components_list_and_without():
    assert load_spec(flags(components=["bucket", "registry"])).components == ("bucket", "registry")
    # Order is canonical whatever the input order.
    assert load_spec(flags(components=["registry", "bucket"])).components == ("bucket", "registry")
    assert load_spec(flags(components="cluster,deployer", without="deployer")).components == ("cluster",)


def test_later_layers_win_and_none_is_ignored():
    spec = load_spec(
        Layer("stack.yaml", {"provider": "aws", "name": "from-file", "region": "eu-west-1", "min_nodes": 2}),
        Layer("flags", {"name": "from-flags", "region": None}),
    )
    assert spec.name == "from-flags"
    assert spec.region == "eu-west-1"
    assert spec.min_nodes == 2


def test_graviton_and_other_node_types_accepted():
    for node_type in ("t4g.medium", "c7gn.2xlarge", "g5.xlarge", "m6i.large"):
        assert load_spec(flags(node_type=node_type)).node_type == node_type


# ---------------------------------------------------------------------------
# Bad input: each message names the field


@pytest.mark.parametrize("name", ["ML-dev", "ml_dev", "1ml", "ml--dev", "ml-", "ab", "a" * 21, "ml dev"])
def test_invalid_names(name):
    message = error(flags(name=name))
    assert message.startswith("--name: ")
    assert repr(name) in message


def test_invalid_name_in_a_file_names_the_file_and_field():
    message = error(Layer("stack.yaml", {"provider": "aws", "name": "Bad_Name"}))
    assert message.startswith("stack.yaml: name: ")


def test_missing_provider():
    assert "provider" in error(Layer("flags", {"name": "ml-dev"}))


def test_unknown_provider():
    message = error(flags(provider="azurr"))
    assert message.startswith("provider: ")
    assert "'azurr'" in message and "aws" in message


def test_conflicting_providers_name_both_sources():
    message = error(Layer("stack.yaml", {"provider": "aws"}), Layer("flags", {"provider": "gcp"}))
    assert "stack.yaml" in message and "flags" in message
    assert "'gcp'" in message and "'aws'" in message


def test_bad_region_suggests_the_close_one():
    message = error(flags(region="eu-wset-1"))
    assert message.startswith("--region: ")
    assert "'eu-wset-1'" in message
    assert "did you mean" in message.lower()
    assert "eu-west-1" in message


def test_bad_region_without_close_match():
    message = error(flags(region="mars-north-1"))
    assert message.startswith("--region: ")
    assert "'mars-north-1'" in message


def test_min_greater_than_max():
    message = error(flags(min_nodes=5, max_nodes=2))
    assert "min_nodes" in message and "max_nodes" in message
    assert "5" in message and "2" in message


@pytest.mark.parametrize(
    "field,value,fragment",
    [
        ("min_nodes", 0, "at least 1"),
        ("max_nodes", 101, "at most 100"),
        ("node_type", "T3.Large", "machine type"),
        ("node_type", "t3", "machine type"),
        ("network", "hybrid", "one of"),
        ("deployer", "kserv", "one of"),
        ("kubernetes_version", "1.3", "version like"),
        ("suffix", "AB", "4-8 lowercase"),
        ("immutable_tags", "maybe", "true or false"),
    ],
)
def test_bad_values_name_their_field(field, value, fragment):
    message = error(flags(**{field: value}))
    assert message.startswith(f"--{field.replace('_', '-')}: "), message
    assert fragment in message


def test_cidr_with_host_bits_suggests_the_network():
    message = error(flags(allow_cidrs=["10.0.0.1/24"]))
    assert message.startswith("--allow-cidr: ")
    assert "'10.0.0.1/24'" in message
    assert "host bits" in message
    assert "10.0.0.0/24" in message


@pytest.mark.parametrize("cidr", ["banana", "10.0.0.0/33", "300.1.1.1/32", ""])
def test_not_a_cidr(cidr):
    message = error(flags(allow_cidrs=["203.0.113.0/24", cidr]))
    assert message.startswith("--allow-cidr: ")
    assert repr(cidr) in message


@pytest.mark.parametrize("key", ["without", "components"])
def test_unknown_component(key):
    message = error(flags(**{key: ["cluster", "frontend"]}))
    assert message.startswith(f"--{key}: ")
    assert "'frontend'" in message
    assert "tracker" in message  # lists the known ones


def test_tracker_needs_the_cluster():
    message = error(flags(without=["cluster", "deployer"]))
    assert "tracker" in message and "cluster" in message
    assert "--without tracker" in message


def test_tracker_needs_the_bucket():
    message = error(flags(without=["bucket"]))
    assert "tracker" in message and "bucket" in message
    assert "--without tracker" in message


def test_deployer_needs_the_cluster():
    message = error(flags(components=["deployer", "bucket"]))
    assert "deployer" in message and "cluster" in message


def test_nothing_left():
    assert "no components" in error(flags(without=list(COMPONENTS)))


def test_unknown_file_field():
    message = error(Layer("stack.yaml", {"provider": "aws", "colour": "red"}))
    assert message.startswith("stack.yaml: ")
    assert "'colour'" in message
    assert "node_type" in message  # lists the known fields


def test_layer_that_is_not_a_mapping():
    message = error(Layer("stack.yaml", ["provider", "aws"]))  # type: ignore[arg-type]
    assert message.startswith("stack.yaml: ")
    assert "a list" in message


@pytest.mark.parametrize(
    "field,value,fragment",
    [
        ("min_nodes", [1], "whole number"),
        ("max_nodes", True, "whole number"),
        ("min_nodes", "three", "whole number"),
        ("min_nodes", 1.5, "whole number"),
        ("name", {"a": 1}, "expected text, got a mapping"),
        ("region", ["eu-west-1"], "expected text, got a list"),
        ("node_type", True, "expected text"),
        ("allow_cidrs", {"a": "b"}, "expected a list"),
        ("allow_cidrs", [["10.0.0.0/8"]], "list of text"),
        ("without", 3, "expected a list"),
        ("tags", 5, "mapping of tags"),
        ("tags", {"team": ["a"]}, "text to text"),
        ("tags", ["team"], "KEY=VALUE"),
        ("immutable_tags", 1, "true or false"),
    ],
)
def test_wrong_types_in_a_file(field, value, fragment):
    message = error(Layer("stack.yaml", {"provider": "aws", field: value}))
    assert message.startswith(f"stack.yaml: {field}: "), message
    assert fragment in message


@pytest.mark.parametrize(
    "tags,fragment",
    [
        ({"recipe-stack": "other"}, "set by stack-recipes"),
        ({"managed-by": "me"}, "set by stack-recipes"),
        ({"aws:team": "x"}, "reserved by AWS"),
        ({"k" * 129: "x"}, "1-128"),
        ({"team": "v" * 257}, "at most 256"),
        ({"team": "a;b"}, "letters, digits"),
    ],
)
def test_bad_tags(tags, fragment):
    message = error(flags(tags=tags))
    assert message.startswith("--tag: ")
    assert fragment in message


def test_empty_values_are_rejected():
    assert error(flags(name="  ")).startswith("--name: ")
    assert error(flags(region="")).startswith("--region: ")


# ---------------------------------------------------------------------------
# Round trip and derived values


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"name": "team-a", "region": "ap-southeast-2", "without": ["tracker"], "node_type": "m7g.large",
         "min_nodes": 2, "max_nodes": 7, "network": "public", "allow_cidrs": ["203.0.113.0/24", "198.51.100.1"],
         "deployer": "kserve", "kubernetes_version": "1.32", "immutable_tags": True, "suffix": "zz99",
         "tags": {"team": "a", "env": "prod"}},
        {"components": ["bucket", "registry"]},
    ],
)
def test_to_mapping_round_trips(values):
    spec = load_spec(flags(**values))
    mapping = spec.to_mapping()
    assert set(mapping) <= set(FILE_FIELDS)
    again = load_spec(Layer("stack.yaml", mapping))
    assert again == spec
    assert again.to_mapping() == mapping
    # Plain data: what a YAML or JSON file can hold.
    import json

    assert json.loads(json.dumps(mapping)) == mapping


def test_to_mapping_leaves_out_delete_data():
    spec = load_spec(flags()).with_changes(delete_data=True)
    assert "delete_data" not in spec.to_mapping()
    assert load_spec(Layer("stack.yaml", spec.to_mapping())).delete_data is False


def test_with_changes_returns_a_new_spec():
    spec = load_spec(flags())
    changed = spec.with_changes(min_nodes=2)
    assert changed.min_nodes == 2 and spec.min_nodes == 1
    assert isinstance(changed, StackSpec)


def test_a_new_stack_has_no_suffix_until_its_first_deploy():
    spec = load_spec(flags(name="ml-dev", region="eu-west-1"))
    assert spec.suffix == ""
    # Names show the placeholder: never a name anyone could deploy by accident.
    assert spec.names.s3_bucket() == "ml-dev-artifacts-xxxxxx"
    assert "suffix" not in spec.to_mapping()


def test_new_suffixes_are_random_and_valid():
    suffixes = {naming.new_suffix() for _ in range(200)}
    assert len(suffixes) == 200
    assert all(naming.SUFFIX_RE.match(s) and len(s) == 6 and "x" not in s for s in suffixes)


def test_legacy_suffix_is_the_one_older_stacks_were_deployed_with():
    # Pinned: stacks deployed before suffixes were random find their names with it.
    assert naming.legacy_suffix("aws", "ml-dev", "eu-west-1") == "ab18f7"


def test_explicit_suffix_is_used():
    spec = load_spec(flags(suffix="team42"))
    assert spec.names.s3_bucket() == "ml-dev-artifacts-team42"
    assert spec.names.iam_role("nodes") == "ml-dev-nodes-team42"


def test_longest_names_fit_cloud_limits():
    spec = load_spec(flags(name="a" * 20, suffix="z" * 8))
    assert len(spec.names.s3_bucket()) <= 63
    for part in ("cluster", "nodes", "ebs-csi", "mlflow-pod", "pipelines-pod"):
        assert len(spec.names.iam_role(part)) <= 64
    assert spec.names.ecr_repository() == "zenml"
    assert spec.names.kube_context() == "recipe-" + "a" * 20


def test_labels_carry_stack_and_managed_by():
    spec = load_spec(flags(name="ml-dev", tags={"team": "ml"}))
    assert spec.labels() == {"team": "ml", naming.STACK_TAG: "ml-dev", naming.MANAGED_BY_TAG: naming.MANAGED_BY}


def test_ipv6_allow_cidr_is_refused_with_the_reason():
    with pytest.raises(SpecError, match=r"^--allow-cidr: '2001:db8::/32' is IPv6"):
        load_spec(Layer("flags", {"provider": "aws", "allow_cidrs": ["2001:db8::/32"]}))


def test_flag_names_in_errors_match_the_cli():
    with pytest.raises(SpecError, match=r"^--tag: "):
        load_spec(Layer("flags", {"provider": "aws", "tags": ["novalue"]}))


def test_profiles_set_defaults_that_flags_override():
    assert load_spec(flags()).spot is True and load_spec(flags()).profile == "dev"
    prod = load_spec(flags(profile="prod"))
    assert (prod.node_type, prod.min_nodes, prod.max_nodes, prod.spot, prod.kms) == ("m6i.xlarge", 2, 6, False, True)
    mixed = load_spec(flags(profile="prod", node_type="m6i.2xlarge", kms=False, spot=True))
    assert (mixed.node_type, mixed.kms, mixed.spot, mixed.min_nodes) == ("m6i.2xlarge", False, True, 2)
    gcp = load_spec(Layer("f", {"provider": "gcp", "project": "demo-project", "profile": "prod"}))
    assert gcp.regional is True and gcp.node_type == "e2-standard-4"
    azure = load_spec(Layer("f", {"provider": "azure"}))
    assert azure.spot is False  # an AKS system pool cannot be spot
    assert load_spec(Layer("f", {"provider": "azure", "profile": "prod"})).node_type == "Standard_D4s_v5"


def test_bad_profile_and_spot_on_azure():
    assert "profile" in error(flags(profile="cheap")) and "dev" in error(flags(profile="cheap"))
    assert "drop --spot" in error(Layer("f", {"provider": "azure", "spot": True}))
