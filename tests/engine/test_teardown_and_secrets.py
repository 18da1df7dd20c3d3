"""Teardown loses nothing and leaves nothing; secrets never leak — on every cloud.

Driven through the CLI with FakeEngine, whose state follows PulumiEngine's
rules (the real program's resources; a plain destroy keeps the data and what
it needs in the state; --delete-data removes everything).
"""

from __future__ import annotations

import stat

import pytest
from typer.testing import CliRunner

from provisioner import cli

from tests.support.fakes import FakeEngine

DEPLOY = {
    "aws": ["aws", "--region", "eu-west-1"],
    "gcp": ["gcp", "--project", "demo-project", "--region", "us-central1"],
    "azure": ["azure", "--region", "westeurope"],
}
# What must never outlive a destroy: compute, network, load balancers, identities.
MUST_GO = {
    "aws": ("aws:eks/", "aws:ec2/", "aws:iam/", "kubernetes:"),
    "gcp": ("gcp:container/", "gcp:compute/", "gcp:serviceaccount/", "kubernetes:"),
    "azure": ("azure-native:containerservice:", "azure-native:network:", "azure-native:managedidentity:", "kubernetes:"),
}
PRIMARY_DATA = {
    "aws": {"aws:s3/bucket:Bucket", "aws:ecr/repository:Repository"},
    "gcp": {"gcp:storage/bucket:Bucket", "gcp:artifactregistry/repository:Repository"},
    "azure": {"azure-native:storage:StorageAccount", "azure-native:containerregistry:Registry"},
}


def run(*args: str):
    result = CliRunner().invoke(cli.app, list(args), catch_exceptions=False)
    return result


def deployed(engine: FakeEngine, provider: str):
    assert run("deploy", *DEPLOY[provider], "--name", "ml-dev", "--yes").exit_code == 0
    key = next(iter(engine.state))
    return key, list(engine.state[key])


@pytest.mark.parametrize("provider", sorted(DEPLOY))
def test_destroy_deletes_everything_but_the_data(home, engine, provider):
    key, created = deployed(engine, provider)
    result = run("destroy", "ml-dev", "--yes")
    assert result.exit_code == 0, result.stderr
    kept = engine.state[key]
    kept_custom = [r for r in kept if r.custom]
    # The data itself is kept, with its settings...
    assert PRIMARY_DATA[provider] <= {r.type for r in kept_custom}
    # ...and nothing that runs or routes survives.
    leftovers = [r.type for r in kept_custom if r.type.startswith(MUST_GO[provider])]
    assert leftovers == []
    # Every kept resource is retained on purpose or needed by what is retained.
    retained = {r.urn for r in kept if r.retain_on_delete}
    assert retained and all(r.retain_on_delete or not r.custom or r.type.startswith(("pulumi:providers:", "gcp:projects/service:"))
                            or any(r.urn in x.dependencies for x in kept) for r in kept)
    # destroy names what it kept and how to delete it later
    for r in kept_custom:
        if r.type in PRIMARY_DATA[provider]:
            assert r.name in {"bucket", "registry"}
    assert "recipe destroy ml-dev --delete-data" in result.stderr


@pytest.mark.parametrize("provider", sorted(DEPLOY))
def test_delete_data_after_destroy_leaves_nothing(home, engine, provider):
    key, _ = deployed(engine, provider)
    assert run("destroy", "ml-dev", "--yes").exit_code == 0
    assert run("destroy", "ml-dev", "--delete-data", "--yes").exit_code == 0
    assert engine.state[key] == []


@pytest.mark.parametrize("provider", sorted(DEPLOY))
def test_load_balancers_go_before_the_cluster_and_network(home, engine, provider):
    """Pulumi deletes a resource's dependents first: the LB Services must (transitively)
    depend on the cluster and the network, so their cloud load balancers are gone first."""
    _, created = deployed(engine, provider)
    by_urn = {r.urn: r for r in created}

    def closure(r):
        seen, todo = set(), list(r.dependencies) + ([r.provider.rsplit("::", 1)[0]] if r.provider else [])
        while todo:
            urn = todo.pop()
            if urn in seen or urn not in by_urn:
                continue
            seen.add(urn)
            x = by_urn[urn]
            todo += list(x.dependencies) + ([x.provider.rsplit("::", 1)[0]] if x.provider else [])
        return {by_urn[u].type for u in seen}

    network = {"aws": "aws:ec2/vpc:Vpc", "gcp": "gcp:compute/network:Network", "azure": "azure-native:network:VirtualNetwork"}[provider]
    cluster = {"aws": "aws:eks/cluster:Cluster", "gcp": "gcp:container/cluster:Cluster", "azure": "azure-native:containerservice:ManagedCluster"}[provider]
    balancers = [r for r in created if r.type == "kubernetes:core/v1:Service" and (r.inputs.get("spec") or {}).get("type") == "LoadBalancer"]
    assert len(balancers) == 1  # the tracker is served through the deployer's
    for lb in balancers:
        assert {network, cluster} <= closure(lb), lb.name


@pytest.mark.parametrize("provider", sorted(DEPLOY))
def test_no_secret_on_screen_or_on_disk_unless_asked(home, engine, provider, tmp_path):
    seen: list[str] = []
    plan = run("plan", *DEPLOY[provider], "--name", "ml-dev", "--output", "json")
    seen += [plan.stdout, plan.stderr]
    deploy = run("deploy", *DEPLOY[provider], "--name", "ml-dev", "--yes")
    seen += [deploy.stdout, deploy.stderr]
    raw = next(iter(engine.plans.values())).raw_outputs
    password, kubeconfig = raw["tracker"]["password"], raw["cluster"]["kubeconfig"]
    for args in (["outputs", "ml-dev"], ["outputs", "ml-dev", "--output", "json"], ["stacks", "--output", "json"],
                 ["export", "ml-dev", "--format", "zenml"], ["export", "ml-dev", "--format", "json"],
                 ["export", "ml-dev", "--format", "dotenv"], ["check", "ml-dev", "--output", "json"]):
        result = run(*args)
        assert result.exit_code == 0, (args, result.stderr)
        seen += [result.stdout, result.stderr]
    files = {fmt: tmp_path / f"out.{fmt}" for fmt in ("zenml", "json", "dotenv")}
    for fmt, path in files.items():
        assert run("export", "ml-dev", "--format", fmt, "-o", str(path)).exit_code == 0
    text = "\n".join(seen)
    on_disk = {p: p.read_text(errors="ignore") for p in [*home.rglob("*"), *files.values()] if p.is_file()}
    assert password not in text and kubeconfig not in text
    for path, content in on_disk.items():
        assert password not in content, path
        if content.strip() == kubeconfig.strip():
            # The only place the kubeconfig may be: the dotenv's KUBECONFIG file, private.
            assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.parent.name == "kubeconfig"
    registry_files = list((home / "config").rglob("*.json"))
    assert registry_files and all(password not in f.read_text() and "kubeconfig\": \"" not in f.read_text() for f in registry_files)
    # With --show-secrets the secret is there, and the file is private.
    shown = tmp_path / "shown.yaml"
    assert run("export", "ml-dev", "--format", "zenml", "--show-secrets", "-o", str(shown)).exit_code == 0
    assert password in shown.read_text() and stat.S_IMODE(shown.stat().st_mode) == 0o600
