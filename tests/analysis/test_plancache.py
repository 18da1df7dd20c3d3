"""The on-disk plan cache: the same plan back, recomputed whenever its key changes, never an error."""

from __future__ import annotations

import json
import stat

import pytest
from typer.testing import CliRunner

from provisioner import cli

from provisioner.analysis import plan

from provisioner.analysis import plancache
from recipes.spec import Layer, load_spec


@pytest.fixture
def fresh(monkeypatch):
    """No in-process memo, and a count of real plan runs."""
    monkeypatch.setattr(plan, "_PLANS", {})
    runs = []
    real = plan._run_plan

    def counting(spec, program):
        runs.append(spec)
        return real(spec, program)

    monkeypatch.setattr(plan, "_run_plan", counting)
    return runs


def spec(**values):
    return load_spec(Layer("t", {"provider": "aws", **values}))


def test_a_cached_plan_is_the_plan(fresh, tmp_path, monkeypatch):
    first = plan.run_plan(spec(), cache_dir=tmp_path)
    monkeypatch.setattr(plan, "_PLANS", {})
    second = plan.run_plan(spec(), cache_dir=tmp_path)
    assert len(fresh) == 1  # computed once
    assert second is not first
    assert second.to_json() == first.to_json()
    assert second.secret_outputs == first.secret_outputs == ["cluster.kubeconfig", "tracker.password"]
    # Secret outputs are kept as digests only: no password or kubeconfig is written to disk.
    text = next(tmp_path.glob("*.json")).read_text()
    for path in first.secret_outputs:
        component, field = path.split(".")
        assert str(first.raw_outputs[component][field]) not in text
        assert second.raw_outputs[component][field].startswith("secret sha256:")
    assert second.raw_outputs["bucket"] == first.raw_outputs["bucket"]
    assert [r.custom_timeouts for r in second.resources] == [r.custom_timeouts for r in first.resources]
    from provisioner.analysis.costs import estimate

    assert estimate(second).to_json() == estimate(first).to_json()
    from provisioner.analysis.baseline import evaluate

    assert [r.to_json() for r in evaluate(second)] == [r.to_json() for r in evaluate(first)]


def test_the_key_is_the_spec_and_the_code(fresh, tmp_path, monkeypatch):
    plan.run_plan(spec(), cache_dir=tmp_path)
    monkeypatch.setattr(plan, "_PLANS", {})
    plan.run_plan(spec(region="eu-west-1"), cache_dir=tmp_path)
    assert len(fresh) == 2
    monkeypatch.setattr(plan, "_PLANS", {})
    monkeypatch.setattr(plancache, "_fingerprint", "other code")
    plan.run_plan(spec(), cache_dir=tmp_path)
    assert len(fresh) == 3
    assert len(list(tmp_path.glob("*.json"))) == 3


def test_the_fingerprint_covers_the_program_sources():
    names = {p.name for p in plancache.SOURCES}
    assert {"recipes", "mockcloud", "plan.py", "plan_model.py"} == names
    assert all(p.exists() for p in plancache.SOURCES)


def test_a_broken_cache_file_is_recomputed_and_rewritten(fresh, tmp_path, monkeypatch):
    plan.run_plan(spec(), cache_dir=tmp_path)
    [path] = tmp_path.glob("*.json")
    path.write_text("{not json")
    monkeypatch.setattr(plan, "_PLANS", {})
    again = plan.run_plan(spec(), cache_dir=tmp_path)
    assert len(fresh) == 2 and again.resources
    assert json.loads(path.read_text())["format"] == plancache.FORMAT


def test_cache_files_are_private_and_bounded(fresh, tmp_path, monkeypatch):
    monkeypatch.setattr(plancache, "KEEP", 2)
    for region in ("us-east-1", "eu-west-1", "us-west-2"):
        monkeypatch.setattr(plan, "_PLANS", {})
        plan.run_plan(spec(region=region), cache_dir=tmp_path / "plans")
    files = list((tmp_path / "plans").glob("*.json"))
    assert len(files) == 2
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert stat.S_IMODE((tmp_path / "plans").stat().st_mode) == 0o700


def test_the_cache_can_be_switched_off(fresh, tmp_path, monkeypatch):
    monkeypatch.setenv("RECIPE_PLAN_CACHE", "0")
    plan.run_plan(spec(), cache_dir=tmp_path)
    monkeypatch.setattr(plan, "_PLANS", {})
    plan.run_plan(spec(), cache_dir=tmp_path)
    assert len(fresh) == 2 and not list(tmp_path.glob("*.json"))


def test_recipe_plan_uses_the_cache_under_recipe_home(fresh, tmp_path, monkeypatch):
    monkeypatch.setenv("RECIPE_HOME", str(tmp_path))
    outputs = []
    for _ in range(2):
        monkeypatch.setattr(plan, "_PLANS", {})
        result = CliRunner().invoke(cli.app, ["plan", "azure", "--cost", "--output", "json"], catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        outputs.append(json.loads(result.stdout))
    assert len(fresh) == 1 and outputs[0] == outputs[1]
    assert list((tmp_path / "cache" / "plans").glob("*.json"))
