"""A one-cloud install (`pip install 'stack-recipes[aws]'`): the other clouds' stacks stop with the extra to install.

Run for real: the CLI runs in a Python whose import path is this venv's site-packages minus
pulumi-gcp (module and distribution metadata), which is what `pip install 'stack-recipes[aws]'`
leaves. So `find_spec`, `importlib.metadata` and the programs' own imports all see the SDK missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def aws_only(tmp_path_factory) -> Path:
    """A site directory holding every installed distribution but pulumi-gcp (symlinks)."""
    site = tmp_path_factory.mktemp("aws-only-site")
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if entry.name == "pulumi_gcp" or entry.name.startswith("pulumi_gcp-") or entry.suffix == ".pth":
            continue
        (site / entry.name).symlink_to(entry)
    return site


@pytest.fixture
def recipe(aws_only, tmp_path):
    home = tmp_path / "home"

    def run(*args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{aws_only}", "RECIPE_HOME": str(home),
               "NO_COLOR": "1", "COLUMNS": "200"}
        # -S: no site-packages but the ones on PYTHONPATH (and no .pth file re-adding the full venv).
        return subprocess.run([sys.executable, "-S", "-m", "provisioner.cli", *args], env=env, capture_output=True,
                              text=True, timeout=300, cwd=tmp_path)

    run.home = home
    return run


def test_the_install_really_lacks_the_gcp_sdk_and_only_it(aws_only):
    def imports(module: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-S", "-c", f"import {module}"], capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{aws_only}"})

    assert "No module named 'pulumi_gcp'" in imports("pulumi_gcp").stderr
    assert imports("pulumi_aws").returncode == 0


def test_plan_of_another_cloud_names_the_extra_to_install(recipe):
    result = recipe("plan", "gcp", "--project", "demo-project")
    assert result.returncode == 2, result.stderr
    assert "pulumi-gcp" in result.stderr and "pip install 'stack-recipes[gcp]'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    as_json = recipe("plan", "gcp", "--project", "demo-project", "-o", "json")
    assert as_json.returncode == 2
    assert "stack-recipes[gcp]" in json.loads(as_json.stdout)["error"]["message"]


def test_the_installed_cloud_plans_and_checks_without_the_others(recipe):
    plan = recipe("plan", "aws", "-o", "json")
    assert plan.returncode == 0, plan.stderr
    assert any(r["type"].startswith("aws:eks/") for r in json.loads(plan.stdout)["resources"])
    check = recipe("check", "aws", "--allow-cidr", "203.0.113.0/24", "-o", "json")
    assert check.returncode in (0, 1), check.stderr  # a verdict, whatever it is: the program ran
    assert json.loads(check.stdout)["rules"]


def test_deploy_stops_before_anything_is_recorded(recipe):
    result = recipe("deploy", "gcp", "--project", "demo-project", "--name", "ml-gcp", "--yes")
    assert result.returncode == 2, result.stderr
    assert "pip install 'stack-recipes[gcp]'" in result.stderr
    stacks = recipe("stacks", "-o", "json")
    assert stacks.returncode == 0 and json.loads(stacks.stdout) == []
    assert not (recipe.home / "data" / "passphrase").exists()


def test_doctor_says_deploying_to_that_cloud_is_impossible(recipe):
    result = recipe("doctor", "gcp", "-o", "json")
    assert result.returncode == 1
    verdict = json.loads(result.stdout)
    assert "gcp SDK" in verdict["blocking"]
    sdk = next(c for c in verdict["checks"] if c["name"] == "gcp SDK")
    assert sdk["status"] == "missing" and sdk["fix"] == "pip install 'stack-recipes[gcp]'"
    aws = json.loads(recipe("doctor", "aws", "-o", "json").stdout)
    assert next(c for c in aws["checks"] if c["name"] == "aws SDK")["status"] == "ok"
    assert "aws SDK" not in aws["blocking"]


def test_each_cloud_has_an_extra_with_its_sdk_and_the_core_has_none():
    import re
    import tomllib

    from recipes import facts

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    name = lambda requirement: re.split(r"[<>=\[ ;]", requirement, maxsplit=1)[0]  # noqa: E731
    sdks = {facts.of(p).SDK_DISTRIBUTION for p in facts.CLOUDS}
    assert not sdks & {name(r) for r in project["dependencies"]}  # a one-cloud install stays one cloud
    # The `kubernetes` provider (a cluster that exists) needs only what every install has.
    assert facts.of("kubernetes").SDK_DISTRIBUTION in {name(r) for r in project["dependencies"]}
    extras = project["optional-dependencies"]
    for provider in facts.CLOUDS:
        assert [name(r) for r in extras[provider]] == [facts.of(provider).SDK_DISTRIBUTION]
    assert extras["all"] == [f"stack-recipes[{','.join(facts.CLOUDS)}]"]
    assert "stack-recipes[all]" in extras["test"]
    readme = (ROOT / "README.md").read_text()
    assert "pip install -e '.[all]'" in readme.split("## Run the tests")[0].split("```bash", 1)[1]  # the first command
    for provider in facts.CLOUDS:
        assert f"`pip install -e '.[{provider}]'`" in readme
