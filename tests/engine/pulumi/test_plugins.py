"""Every resource plugin a stack's program uses is installed first, at its Python SDK's version."""

from __future__ import annotations

import pytest
from tests.engine.pulumi.deployed_stack import sdk_version
from tests.support.pulumi_engine_fake import summary

from recipes import facts

from provisioner import paths
from provisioner.engine import EngineError, StackTarget
from provisioner.engine.pulumi.plugins import plugin_distribution, required_plugins

SDK_PLUGINS = [("aws", "pulumi_aws"), ("kubernetes", "pulumi_kubernetes"), ("random", "pulumi_random"), ("tls", "pulumi_tls")]


def test_plugins_installed_at_the_sdk_versions(engine, cli, target):
    engine.up(target, lambda e: None)
    installs = [c.args[:5] for c in cli.called("plugin install")]
    assert installs == [
        ["plugin", "install", "resource", name, "v" + sdk_version(dist)] for name, dist in SDK_PLUGINS
    ]
    assert cli.commands().index("plugin install") < cli.commands().index("up")


def test_plugins_already_listed_are_not_installed_again(engine, cli, target):
    cli.plugins = [
        {"name": name, "kind": "resource", "version": sdk_version(dist), "size": 1,
         "lastUsedTime": "2025-01-02T03:04:05.000Z"}
        for name, dist in SDK_PLUGINS if name != "random"
    ]
    cli.plugins.append({"name": "random", "kind": "resource", "version": "0.0.1", "size": 1,
                        "lastUsedTime": "2025-01-02T03:04:05.000Z"})
    engine.up(target, lambda e: None)
    assert [c.args[3:5] for c in cli.called("plugin install")] == [["random", "v" + sdk_version("pulumi_random")]]
    cli.events["preview"] = [summary(same=3)]
    engine.preview(target, lambda e: None)
    assert len(cli.called("plugin ls")) == 1  # checked once per engine and provider


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure"])
def test_every_plugin_a_stack_uses_is_installed_first(plans, provider):
    # The plugins the program's resources really use (their type's package), with --kms too.
    from tests.conftest import spec_for

    used = {r.type.split(":", 1)[0] for variant in ({}, {"kms": True})
            for r in plans(spec_for(provider, **variant)).resources if r.custom}
    used -= {"pulumi"}  # provider resources: pulumi:providers:<plugin>
    assert used <= set(facts.of(provider).PULUMI_PLUGINS), used - set(facts.of(provider).PULUMI_PLUGINS)
    assert plugin_distribution("azure-native") == "pulumi_azure_native"


def test_community_plugins_install_from_their_own_server(engine, cli):
    from tests.conftest import spec_for

    target = StackTarget(spec=spec_for("gcp", suffix="a1b2c3"), backend=paths.default_backend())
    engine.up(target, lambda e: None)
    (time_install,) = [c for c in cli.called("plugin install") if c.args[3] == "time"]
    assert time_install.args[4] == "v" + sdk_version("pulumiverse_time")
    assert time_install.value("--server") == "github://api.github.com/pulumiverse/pulumi-time"


def test_a_community_plugin_comes_from_its_own_sdk_and_an_unknown_cloud_has_none():
    assert plugin_distribution("time") == "pulumiverse_time"
    assert plugin_distribution("kubernetes") == "pulumi_kubernetes"
    with pytest.raises(EngineError, match="no Pulumi plugins known for provider 'openstack'"):
        required_plugins("openstack")
