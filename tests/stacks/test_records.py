"""The stack registry: atomic records, no secrets, damaged files isolated."""

from __future__ import annotations

import json
import stat

import pytest

from provisioner.stacks.records import StackRecords, RecordsCorrupt, RecordsError, StackNotFound, StackRecord, atomic_write


@pytest.fixture
def registry(tmp_path, monkeypatch):
    monkeypatch.setenv("RECIPE_HOME", str(tmp_path))
    return StackRecords()


def record(name="ml-dev", **changes) -> StackRecord:
    base = StackRecord(name=name, provider="aws", region="eu-west-1", status="ready", source="deploy",
                       outputs={"provider": "aws", "region": "eu-west-1", "stack_name": name,
                                "bucket": {"name": "b", "uri": "s3://b"}})
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def test_round_trip_and_operation(registry):
    r = record()
    r.start("deploy")
    r.finish("failed", "boom", "urn:x")
    registry.save(r)
    loaded = registry.get("ml-dev")
    assert loaded.outputs == r.outputs and loaded.last_operation.message == "boom" and loaded.last_operation.resource == "urn:x"
    assert json.loads((registry.root / "ml-dev.json").read_text())["format"] == 1


def test_refuses_to_store_a_secret(registry):
    r = record()
    r.outputs["tracker"] = {"flavor": "mlflow", "uri": "u", "username": "admin", "password": "pw"}
    with pytest.raises(RecordsError, match="secret"):
        registry.save(r)
    assert registry.find("ml-dev") is None


def test_names_are_validated_before_touching_paths(registry):
    with pytest.raises(RecordsError):
        registry.find("../../etc/passwd")


def test_unknown_stack_lists_known_ones(registry):
    registry.save(record("alpha-stack"))
    with pytest.raises(StackNotFound, match="alpha-stack"):
        registry.get("beta-stack")


def test_corrupt_record_names_file_and_line_and_spares_the_others(registry):
    registry.save(record("good-stack"))
    bad = registry.root / "bad-stack.json"
    bad.write_text('{\n  "name": "bad-stack",\n  oops\n}')
    records, errors = registry.all()
    assert [r.name for r in records] == ["good-stack"]
    assert len(errors) == 1 and f"{bad}:3" in str(errors[0])
    with pytest.raises(RecordsCorrupt):
        registry.get("bad-stack")
    (registry.root / "odd-stack.json").write_text(json.dumps({**record("odd-stack").to_json(), "status": "exploded"}))
    assert "unknown status" in str(registry.all()[1][-1])


def test_atomic_write_sets_mode_from_the_start(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    target.chmod(0o644)
    atomic_write(target, "secret", mode=0o600)
    assert target.read_text() == "secret" and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]  # no temp file left behind
