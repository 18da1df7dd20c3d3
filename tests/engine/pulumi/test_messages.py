"""A failed operation's message: the specific error lines, short, and the fix for what people can fix
(a lock, expired credentials, an unreachable cluster)."""

from __future__ import annotations

import pytest
from pulumi.automation import CommandError, CommandResult
from tests.engine.pulumi.deployed_stack import BUCKET_T, BUCKET_URN, REPO_T, REPO_URN, ROOT_URN, STACK, deployed_state
from tests.support.pulumi_engine_fake import diagnostic, failed, pre, summary

from provisioner.engine import ConcurrentUpdate, EngineError, StackTarget
from provisioner.engine.pulumi.messages import MAX_MESSAGE_LINES, credential_hint, failure_lines, lock_time


def test_failed_up_reports_the_error_and_the_resource(engine, cli, target):
    cli.events["up"] = [
        pre(BUCKET_URN, BUCKET_T),
        diagnostic("sdk-v2/provider2.go:520: sdk.helper_schema: creating S3 Bucket (ml-dev-artifacts-abcd): "
                   "BucketAlreadyExists: provider=aws@7.51.1\n", "error", BUCKET_URN),
        failed(BUCKET_URN, BUCKET_T),
        diagnostic("update failed", "error", ROOT_URN),
        summary(create=1),
    ]
    cli.failures["up"] = CommandResult(stdout="Updating (ml-dev)\n" * 200, stderr="error: update failed", code=255)

    with pytest.raises(EngineError) as info:
        engine.up(target, lambda e: None)

    error = info.value
    assert error.resource == BUCKET_URN
    assert "bucket: creating S3 Bucket (ml-dev-artifacts-abcd): BucketAlreadyExists" in error.message
    assert "provider2.go" not in error.message
    assert "update failed" not in error.message
    assert error.message.startswith(f"could not deploy stack {STACK}:")
    assert len(error.diagnostics) == 1
    assert not isinstance(error, ConcurrentUpdate)


def test_failed_command_without_diagnostics_uses_stderr_errors(engine, cli, target):
    stderr = "\n".join(
        ["\x1b[31merror:\x1b[0m could not load plugin for aws provider 'default': no resource plugin 'aws' found"]
        + [f"  noise line {i}" for i in range(100)]
    )
    cli.failures["up"] = CommandResult(stdout="", stderr=stderr, code=255)
    with pytest.raises(EngineError) as info:
        engine.up(target, lambda e: None)
    assert info.value.message.splitlines() == [
        f"could not deploy stack {STACK}:",
        "  could not load plugin for aws provider 'default': no resource plugin 'aws' found",
    ]
    assert info.value.resource is None

    cli.events["up"] = [pre(REPO_URN, REPO_T), failed(REPO_URN, REPO_T)]  # a failure event, no diagnostic
    with pytest.raises(EngineError) as info:
        engine.up(target, lambda e: None)
    assert info.value.resource == REPO_URN


def test_error_messages_stay_short(engine, cli, target):
    long_traceback = "python inline source runtime error: boom\nTraceback (most recent call last):\n" + "  frame\n" * 300 + "KeyError: 'region'"
    cli.events["up"] = [diagnostic(long_traceback, "error", ROOT_URN)] + [
        diagnostic(f"error {i}", "error", BUCKET_URN) for i in range(40)
    ]
    cli.failures["up"] = CommandResult(stdout="python inline source runtime error: boom", stderr="x" * 10000, code=1)
    with pytest.raises(EngineError) as info:
        engine.up(target, lambda e: None)
    lines = info.value.message.splitlines()
    assert len(lines) <= MAX_MESSAGE_LINES
    assert "  python inline source runtime error: boom" in lines and "  KeyError: 'region'" in lines
    assert "frame" not in info.value.message
    assert lines[-1].strip().startswith("...")


def test_concurrent_update(engine, cli, target):
    cli.failures["up"] = CommandResult(
        stdout="", stderr="error: [409] Conflict: Another update is currently in progress.", code=255
    )
    with pytest.raises(ConcurrentUpdate) as info:
        engine.up(target, lambda e: None)
    assert f"recipe repair {STACK} --unlock" in info.value.message
    assert "another process" in info.value.message


def test_locked_file_backend_is_a_concurrent_update(engine, cli, target):
    cli.stacks.add(STACK)
    cli.deployment = deployed_state()
    cli.failures["destroy"] = CommandResult(
        stdout="",
        stderr="error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end "
        "or delete the lock file with `pulumi cancel`.\n  file:///x/.pulumi/locks/ml-dev/1.json: created by "
        "ana@laptop (pid 4242) at 2025-01-02T03:04:05Z",
        code=255,
    )
    with pytest.raises(ConcurrentUpdate) as info:
        engine.destroy(target, lambda e: None)
    assert "ana@laptop (pid 4242)" in info.value.message


@pytest.mark.parametrize(
    "provider,error,fix",
    [
        ("aws", "operation error STS: GetCallerIdentity, https response error StatusCode: 403, api error ExpiredToken", "aws sso login"),
        ("gcp", "oauth2: cannot fetch token: 400 Bad Request Response: invalid_grant", "gcloud auth application-default login"),
        ("azure", "AzureCLICredential: ERROR: AADSTS700082: The refresh token has expired", "az login"),
    ],
)
def test_expired_credentials_come_with_the_fix(engine, cli, make_spec, provider, error, fix):
    from recipes.spec import Layer, load_spec

    flags = {"aws": {}, "gcp": {"project": "demo-project"}, "azure": {}}[provider]
    target = StackTarget(spec=load_spec(Layer("flags", {"provider": provider, "suffix": "a1b2c3", **flags})), backend="s3://state")
    cli.failures["up"] = CommandResult(stdout="", stderr=f"error: {error}", code=255)
    with pytest.raises(EngineError) as info:
        engine.up(target, lambda e: None)
    assert fix in info.value.message and error[:20] in info.value.message


def test_lock_time_is_read_from_the_lock_error():
    text = ("error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end\n"
            "  file:///s/.pulumi/locks/organization/stack-recipes/ml-dev/a.json: created by ana@box (pid 42) at 2025-01-02T09:41:05Z")
    assert lock_time(text) == "2025-01-02 09:41 UTC"
    assert lock_time("no time here") is None


def test_an_unreachable_cluster_comes_with_the_fix(engine, cli, target):
    cli.failures["up"] = CommandResult(
        stdout="", code=255,
        stderr="error: configured Kubernetes cluster is unreachable: unable to load schema information from the API "
               "server: Get \"https://10.0.0.7/openapi/v2\": dial tcp 10.0.0.7:443: i/o timeout",
    )
    with pytest.raises(EngineError) as info:
        engine.up(target, lambda e: None)
    message = info.value.message
    assert "not reachable from this machine" in message and "--cluster-gone" in message
    assert "Nothing was dropped from the state" in message


def test_only_a_cloud_with_one_time_prerequisites_names_their_commands():
    error = ("error: creating ManagedCluster: MissingSubscriptionRegistration: The subscription is not registered "
             "to use namespace 'Microsoft.ContainerService'.")
    assert credential_hint("azure", [error]) == (
        "The subscription has not registered a resource provider the stack needs (once per subscription): run "
        "`az provider register --namespace Microsoft.ContainerService --wait`, then re-run the same command "
        "(`recipe doctor` lists them all).")
    assert credential_hint("aws", [error]) is None  # AWS has no such prerequisite, and these are not its credentials
    assert credential_hint("openstack", ["ExpiredToken"]) is None  # no facts, no hint


def test_a_failure_without_diagnostics_keeps_the_specific_error_lines_once():
    error = CommandError(CommandResult(stdout="Updating (ml-dev)", code=255, stderr=(
        "\x1b[31merror:\x1b[0m sdk-v2/provider2.go:520: creating EKS Cluster: AccessDenied\n"
        "error: creating EKS Cluster: AccessDenied\n"
        "error: update failed")))
    assert failure_lines([], error) == (["creating EKS Cluster: AccessDenied"], [])
