"""`recipe doctor` shows the cloud prerequisites (Azure providers, GCP bootstrap APIs) without changing anything."""

from __future__ import annotations

import json

import pytest

from tests.operations.cloud_clis import DEFAULT_STACK, ENABLE, FRESH, commands_for

pytestmark = pytest.mark.filterwarnings(r"ignore::DeprecationWarning:pulumi_(gcp|azure_native)\..*")


def doctor_rows(run, tmp_path, monkeypatch) -> dict:
    monkeypatch.setenv("HOME", str(tmp_path / "empty-home"))
    result = run("doctor", "--output", "json")
    doc = json.loads(result.stdout)
    # No Pulumi CLI on these PATHs: not ready to deploy (exit 1), every check still made.
    assert result.exit_code == 1 and doc["blocking"][0] == "pulumi CLI", result.stderr
    return {c["name"]: c for c in doc["checks"]}


@pytest.fixture
def only_stand_ins(bin_dir, monkeypatch):
    monkeypatch.setenv("PATH", str(bin_dir))  # no real cloud CLI: fast and hermetic
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "demo-project")


def test_doctor_shows_missing_azure_providers_and_changes_nothing(run, home, az, gcloud, only_stand_ins, tmp_path, monkeypatch):
    row = doctor_rows(run, tmp_path, monkeypatch)["azure resource providers"]
    assert row["status"] == "missing"
    for namespace in [*DEFAULT_STACK, "Microsoft.KeyVault"]:
        assert namespace in row["detail"]
    assert "Microsoft.Authorization" in row["detail"]  # registered
    assert "recipe deploy azure" in row["fix"] and commands_for(["Microsoft.KeyVault"])[0] in row["fix"]
    assert az.registered() == [] and [c[:2] for c in az.calls] == [["provider", "list"]]


def test_doctor_azure_providers_ok(run, home, az, gcloud, only_stand_ins, tmp_path, monkeypatch):
    az.set(providers={n: "Registered" for n in FRESH})
    row = doctor_rows(run, tmp_path, monkeypatch)["azure resource providers"]
    assert row["status"] == "ok" and "Microsoft.ContainerService" in row["detail"]


def test_doctor_shows_the_gcp_bootstrap_apis(run, home, az, gcloud, only_stand_ins, tmp_path, monkeypatch):
    assert doctor_rows(run, tmp_path, monkeypatch)["gcp bootstrap APIs"]["status"] == "ok"
    gcloud.set(enabled=["storage.googleapis.com"])
    row = doctor_rows(run, tmp_path, monkeypatch)["gcp bootstrap APIs"]
    assert row["status"] == "missing" and row["fix"] == ENABLE
    assert "serviceusage.googleapis.com" in row["detail"] and "cloudresourcemanager.googleapis.com" in row["detail"]
    assert not [c for c in gcloud.calls if c[:2] == ["services", "enable"]]


def test_doctor_without_the_clouds_clis_does_not_check(run, home, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "demo-project")
    rows = doctor_rows(run, tmp_path, monkeypatch)
    assert rows["azure resource providers"]["status"] == "not checked"
    assert rows["gcp bootstrap APIs"]["status"] == "not checked"
