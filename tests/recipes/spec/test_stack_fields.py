"""What derives from the field table (recipes/stack_fields.py): the fields a stack file may say,
how errors name a field, the per-cloud fields, the stack-file form of a spec and Pulumi config."""

from __future__ import annotations

import dataclasses
import json

import pytest

from recipes.spec import Layer, SpecError, StackSpec, load_spec
from recipes.stack_fields import FIELDS, config_values

STACK_FILE_FIELDS = {
    "provider", "name", "region", "location", "project", "zone", "regional", "components", "without", "profile",
    "spot", "node_type", "min_nodes", "max_nodes", "network", "allow_cidrs", "deployer", "kubernetes_version",
    "immutable_tags", "tags", "suffix", "kms", "private_endpoint", "admins", "audit_logs", "network_rules",
    "domain", "acme_email", "context", "kubeconfig", "bucket", "bucket_endpoint", "bucket_secret", "registry",
    "expose",
}


def error(*layers: Layer) -> str:
    with pytest.raises(SpecError) as info:
        load_spec(*layers)
    return str(info.value)


def test_an_unknown_field_lists_every_stack_file_field_and_nothing_else():
    message = error(Layer("stack.yaml", {"provider": "aws", "colour": "red"}))
    assert message.startswith("stack.yaml: unknown field 'colour'; known fields: ")
    assert set(message.split("known fields: ")[1].split(", ")) == STACK_FILE_FIELDS


@pytest.mark.parametrize("key", ["delete_data", "tracker_backup"])
def test_fields_the_commands_set_are_not_stack_file_fields(key):
    assert f"unknown field {key!r}" in error(Layer("stack.yaml", {"provider": "aws", key: True}))


@pytest.mark.parametrize("key,value,label", [
    ("allow_cidrs", ["nope"], "--allow-cidr"), ("tags", ["novalue"], "--tag"), ("admins", ["nobody"], "--admin"),
    ("name", "A", "--name"), ("spot", "maybe", "--spot"), ("min_nodes", "x", "--min-nodes"),
    ("provider", "mars", "provider"), ("without", ["sky"], "--without"),
])
def test_a_flag_error_names_the_flag_a_file_error_the_field(key, value, label):
    given = {"provider": "aws", key: value}
    assert error(Layer("flags", given)).startswith(f"{label}: ")
    assert error(Layer("stack.yaml", given)).startswith(f"stack.yaml: {key}: ")


@pytest.mark.parametrize("key,value", [("project", "demo-project"), ("zone", "us-east-1a"), ("regional", True)])
def test_gcp_fields_are_refused_on_other_clouds(key, value):
    for provider in ("aws", "azure"):
        message = error(Layer("stack.yaml", {"provider": provider, key: value}))
        assert message == f"stack.yaml: {key}: only applies to gcp stacks (this one is {provider})"


def test_the_stack_file_form_leaves_out_other_clouds_fields():
    aws = load_spec(Layer("f", {"provider": "aws"})).to_mapping()
    gcp = load_spec(Layer("f", {"provider": "gcp", "project": "demo-project", "region": "europe-west1"})).to_mapping()
    assert not {"project", "zone", "regional"} & set(aws)
    assert (gcp["project"], gcp["zone"], gcp["regional"]) == ("demo-project", "europe-west1-b", False)
    assert "location" not in aws and "without" not in aws  # inputs only: the spec keeps region and components


def test_stack_spec_has_an_attribute_for_each_spec_field():
    attributes = {f.name for f in dataclasses.fields(StackSpec)}
    assert attributes == {f.name for f in FIELDS if f.in_spec}
    assert attributes == STACK_FILE_FIELDS - {"location", "without"} | {"delete_data", "tracker_backup"}


def test_pulumi_config_text_of_each_kind_is_read():
    config = {"provider": "gcp", "project": "demo-project", "name": "team-a",  # text
              "max_nodes": "4",  # int
              "regional": "true", "kms": "yes",  # bool
              "without": "deployer,tracker", "allow_cidrs": '["203.0.113.0/24"]',  # list: comma-separated or JSON
              "deployer": "kserve",  # choice
              "tags": '{"team": "vision"}',  # mapping: JSON
              "delete_data": "true"}  # not a config field: never read
    values = config_values(config.get)
    assert "delete_data" not in values
    assert values["tags"] == {"team": "vision"} and values["allow_cidrs"] == ["203.0.113.0/24"]
    assert values["without"] == "deployer,tracker" and values["max_nodes"] == "4"
    spec = load_spec(Layer("pulumi config (recipe:*)", values))
    assert (spec.name, spec.max_nodes, spec.regional, spec.kms) == ("team-a", 4, True, True)
    assert spec.components == ("cluster", "bucket", "registry")
    assert (spec.allow_cidrs, spec.deployer, spec.tags) == (("203.0.113.0/24",), "kserve", (("team", "vision"),))
    assert spec.delete_data is False


def as_pulumi_config(mapping: dict) -> dict[str, str]:
    """What `pulumi config set recipe:<field>` stores: text; lists and mappings as JSON."""
    def text(value) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return json.dumps(value) if isinstance(value, (list, dict)) else str(value)
    return {key: text(value) for key, value in mapping.items() if value is not None}


@pytest.mark.parametrize("values", [
    {"provider": "aws", "name": "team-a", "region": "eu-west-1", "without": ["deployer"], "min_nodes": 2,
     "max_nodes": 5, "spot": False, "allow_cidrs": ["203.0.113.0/24"], "kubernetes_version": "1.32",
     "immutable_tags": True, "suffix": "c0ffee", "tags": {"team": "a"}, "kms": True,
     "admins": ["arn:aws:iam::123456789012:role/ml-admins"]},
    {"provider": "gcp", "project": "demo-project", "zone": "us-central1-c", "profile": "prod", "network": "public",
     "suffix": "abcd12"},
    {"provider": "azure", "private_endpoint": True, "deployer": "kserve", "suffix": "abcd12",
     "admins": ["group:00000000-0000-0000-0000-0000000000aa"]},
])
def test_a_spec_round_trips_through_pulumi_config(values):
    spec = load_spec(Layer("stack.yaml", values))
    config = as_pulumi_config(spec.to_mapping())
    assert load_spec(Layer("pulumi config (recipe:*)", config_values(config.get))) == spec
