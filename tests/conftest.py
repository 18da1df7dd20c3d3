"""Shared fixtures: specs, and offline plans.

A plan runs the real Pulumi program under Pulumi's mock runtime
(`provisioner.analysis.plan.run_plan`), whose own per-process cache plans each
distinct spec once; the `plans` fixture reads that cache, it keeps none of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from provisioner.analysis.critical_path import provider_urn
from recipes import facts
from recipes.spec import Layer, StackSpec, load_spec

AWS_FLAGS: dict[str, Any] = {"provider": "aws", "region": "eu-west-1", "name": "ml-dev"}
AWS_PROVIDER_TYPE = "pulumi:providers:aws"
# Each cloud's default stack as flags, and its control plane's type.
DEFAULT_FLAGS: dict[str, dict[str, Any]] = {
    "aws": {"provider": "aws", "name": "ml-dev"},
    "gcp": {"provider": "gcp", "name": "ml-dev", "project": "demo-project"},
    "azure": {"provider": "azure", "name": "ml-dev"},
}
CONTROL_PLANE = {provider: facts.of(provider).CLUSTER_TYPE for provider in facts.PROVIDERS}


def spec_for(provider: str, **values: Any) -> StackSpec:
    """A cloud's default stack, with `values` changed."""
    return load_spec(Layer("flags", {**DEFAULT_FLAGS[provider], **values}))


def aws_spec(**values: Any) -> StackSpec:
    """The default AWS spec, with `values` given as flags on top."""
    return load_spec(Layer("flags", {**AWS_FLAGS, **values}))


class PlanView:
    """A recorded plan plus graph helpers (parents, dependencies) for assertions."""

    def __init__(self, plan: Any):
        self.plan = plan
        self._by_urn = {r.urn: r for r in plan.resources}

    def __getattr__(self, item: str) -> Any:  # resources, outputs, raw_outputs, by_type, one, get, ...
        return getattr(self.plan, item)

    # --- identity -----------------------------------------------------------
    def keys(self) -> set[tuple[str, str]]:
        """The (type, name) of every resource: what a switch may add or remove."""
        return {(r.type, r.name) for r in self.plan.resources}

    def types(self) -> set[str]:
        return {r.type for r in self.plan.resources}

    def of_prefix(self, prefix: str) -> list[Any]:
        return [r for r in self.plan.resources if r.type.startswith(prefix)]

    def custom(self, prefix: str = "") -> list[Any]:
        return [r for r in self.plan.resources if r.custom and r.type.startswith(prefix)]

    # --- tree ---------------------------------------------------------------
    def children(self, urn: str) -> list[Any]:
        return [r for r in self.plan.resources if r.parent == urn]

    def subtree(self, root: Any) -> list[Any]:
        """`root` and everything parented (transitively) under it."""
        out, todo = [], [root]
        while todo:
            node = todo.pop()
            out.append(node)
            todo.extend(self.children(node.urn))
        return out

    def ancestors(self, resource: Any) -> list[Any]:
        out = []
        while resource.parent:
            resource = self._by_urn[resource.parent]
            out.append(resource)
        return out

    # --- dependencies ---------------------------------------------------------
    def deps_closure(self, resource: Any) -> set[str]:
        """Every urn `resource` waits for, directly or through its dependencies and provider."""
        seen: set[str] = set()
        todo = list(self._direct(resource))
        while todo:
            urn = todo.pop()
            if urn in seen or urn not in self._by_urn:
                continue
            seen.add(urn)
            todo.extend(self._direct(self._by_urn[urn]))
        return seen

    def _direct(self, resource: Any) -> Iterable[str]:
        yield from resource.dependencies
        if resource.provider:
            yield provider_urn(resource.provider)

    def inputs_json(self) -> str:
        """Every recorded input of every resource, as one JSON text."""
        return json.dumps([r.inputs for r in self.plan.resources], default=str)


def plan_of(spec: StackSpec | Mapping[str, Any] | None = None, **values: Any) -> PlanView:
    """The plan of `spec` (or of the default AWS spec with `values` as flags), viewed for assertions.

    Plans come from run_plan's own per-process cache (keyed by spec, delete_data and
    tracker_backup), so each distinct spec is planned once however many tests ask for it.
    """
    from provisioner.analysis.plan import run_plan

    if spec is None or isinstance(spec, Mapping):
        spec = aws_spec(**{**dict(spec or {}), **values})
    elif values:
        raise TypeError("give a spec or flag values, not both")
    return PlanView(run_plan(spec))


@pytest.fixture(scope="session")
def plans():
    """`plans(spec)` or `plans(**aws_flags)`: the one way tests get an offline plan."""
    return plan_of


@pytest.fixture(scope="session")
def make_spec():
    return aws_spec


@pytest.fixture(scope="session")
def helpers():
    """Small pure helpers shared by the test modules."""

    class _Helpers:
        provider_urn = staticmethod(provider_urn)

    return _Helpers


@pytest.fixture(scope="session")
def aws_plan(plans) -> PlanView:
    """The default AWS stack: every component, seldon, private network, no --allow-cidr."""
    return plans()


ALLOW_CIDRS = ["203.0.113.0/24", "198.51.100.7/32"]
USER_TAGS = {"team": "ml-platform", "cost-center": "4242"}


@pytest.fixture(scope="session")
def restricted_plan(plans) -> PlanView:
    """The default stack with --allow-cidr and user tags."""
    return plans(allow_cidrs=ALLOW_CIDRS, tags=USER_TAGS)


@pytest.fixture(scope="session")
def allow_cidrs() -> list[str]:
    return list(ALLOW_CIDRS)


@pytest.fixture(scope="session")
def user_tags() -> dict[str, str]:
    return dict(USER_TAGS)


def pytest_configure(config):
    # pulumi_aws warns about its own deprecated aliases on import: noise, not ours.
    config.addinivalue_line("filterwarnings", r"ignore::DeprecationWarning:pulumi_aws\..*")


# Test folders whose every test carries a marker (pyproject.toml declares them): the slow ones a
# developer deselects with -m "not <marker>".
FOLDER_MARKERS = {"dataplane": "dataplane", "scanners": "scanners"}


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        path = Path(str(item.fspath))
        if path.is_relative_to(here) and path.relative_to(here).parts[0] in FOLDER_MARKERS:
            item.add_marker(getattr(pytest.mark, FOLDER_MARKERS[path.relative_to(here).parts[0]]))


@pytest.fixture(autouse=True, scope="session")
def _no_user_files(tmp_path_factory):
    """Nothing a test runs writes under the user's real config, data or cache dirs."""
    import os

    if "RECIPE_HOME" not in os.environ:
        os.environ["RECIPE_HOME"] = str(tmp_path_factory.mktemp("recipe-home"))
    yield


@pytest.fixture(autouse=True)
def _no_real_cloud_clis(tmp_path_factory, monkeypatch):
    """The machine's own `az` and `gcloud` are never run by a test: first on PATH are stand-ins
    that answer as a CLI that is not logged in, so `recipe deploy`'s prerequisite check skips
    with a note (tests/operations/conftest.py puts its own stand-ins before these)."""
    import os

    bin_dir = tmp_path_factory.getbasetemp() / "no-cloud-clis"
    if not bin_dir.exists():
        bin_dir.mkdir()
        for name in ("az", "gcloud"):
            script = bin_dir / name
            script.write_text("#!/bin/sh\necho \"ERROR: Please run 'login' to set up an account (test stand-in).\" >&2\nexit 1\n")
            script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty RECIPE_HOME of the test's own: registry, state, passphrase, caches."""
    monkeypatch.setenv("RECIPE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def engine(monkeypatch):
    """The CLI's engine replaced at the seam by a FakeEngine."""
    from provisioner import cli

    from tests.support.fakes import FakeEngine

    fake = FakeEngine()
    monkeypatch.setattr(cli.context, "make_engine", lambda: fake)
    return fake
