"""The stack records: atomic, no secrets, damaged files isolated."""

from __future__ import annotations

import json
import stat

import pytest

from provisioner.stacks.records import StackRecords, RecordsCorrupt, RecordsError, StackNotFound, StackRecord, atomic_write


@pytest.fixture
def records(tmp_path, monkeypatch):
    monkeypatch.setenv("RECIPE_HOME", str(tmp_path))
    return StackRecords()


def record(name="ml-dev", **changes) -> StackRecord:
    base = StackRecord(name=name, provider="aws", region="eu-west-1", status="ready", source="deploy",
                       outputs={"provider": "aws", "region": "eu-west-1", "stack_name": name,
                                "bucket": {"name": "b", "uri": "s3://b"}})
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def test_round_trip_and_operation(records):
    r = record()
    r.start("deploy")
    r.finish("failed", "boom", "urn:x")
    records.save(r)
    loaded = records.get("ml-dev")
    assert loaded.outputs == r.outputs and loaded.last_operation.message == "boom" and loaded.last_operation.resource == "urn:x"
    assert json.loads((records.root / "ml-dev.json").read_text())["format"] == 1


def test_refuses_to_store_a_secret(records):
    r = record()
    r.outputs["tracker"] = {"flavor": "mlflow", "uri": "u", "username": "admin", "password": "pw"}
    with pytest.raises(RecordsError, match="secret"):
        records.save(r)
    assert records.find("ml-dev") is None


def test_names_are_validated_before_touching_paths(records):
    with pytest.raises(RecordsError):
        records.find("../../etc/passwd")


def test_unknown_stack_lists_known_ones(records):
    records.save(record("alpha-stack"))
    with pytest.raises(StackNotFound, match="alpha-stack"):
        records.get("beta-stack")


def test_corrupt_record_names_file_and_line_and_spares_the_others(records):
    records.save(record("good-stack"))
    bad = records.root / "bad-stack.json"
    bad.write_text('{\n  "name": "bad-stack",\n  oops\n}')
    found, errors = records.all()
    assert [r.name for r in found] == ["good-stack"]
    assert len(errors) == 1 and f"{bad}:3" in str(errors[0])
    with pytest.raises(RecordsCorrupt):
        records.get("bad-stack")
    (records.root / "odd-stack.json").write_text(json.dumps({**record("odd-stack").to_json(), "status": "exploded"}))
    assert "unknown status" in str(records.all()[1][-1])


def test_atomic_write_sets_mode_from_the_start(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    target.chmod(0o644)
    atomic_write(target, "secret", mode=0o600)
    assert target.read_text() == "secret" and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]  # no temp file left behind
