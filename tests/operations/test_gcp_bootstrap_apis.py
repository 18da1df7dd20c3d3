"""GCP's bootstrap APIs (Service Usage, Resource Manager) must be on before the program enables
the others: a deploy without them stops with exit 2 and the one command (`gcloud` stand-in)."""

from __future__ import annotations

import json

import pytest

from provisioner.engine.pulumi.messages import credential_hint
from provisioner.stacks.records import StackRecords

from tests.operations.cloud_clis import BOOTSTRAP, ENABLE

pytestmark = pytest.mark.filterwarnings(r"ignore::DeprecationWarning:pulumi_(gcp|azure_native)\..*")

DEPLOY_GCP = ["deploy", "gcp", "--name", "ml-dev", "--project", "demo-project", "--region", "us-central1"]


# --------------------------------------------------------------------------
# GCP: the bootstrap APIs

def test_gcp_deploy_with_the_bootstrap_apis_on_proceeds(run, home, engine, gcloud):
    result = run(*DEPLOY_GCP, "--yes")
    assert result.exit_code == 0, result.stderr
    assert ["services", "list", "--enabled", "--project", "demo-project", "--format=json"] in gcloud.calls
    assert not [c for c in gcloud.calls if c[:2] == ["services", "enable"]]


@pytest.mark.parametrize("off", [["serviceusage.googleapis.com"], ["cloudresourcemanager.googleapis.com"], BOOTSTRAP])
def test_gcp_deploy_stops_with_exit_2_and_the_one_command(run, home, engine, gcloud, off):
    gcloud.set(enabled=[api for api in [*BOOTSTRAP, "storage.googleapis.com"] if api not in off])
    result = run(*DEPLOY_GCP, "--yes")
    assert result.exit_code == 2
    assert ENABLE in result.stderr
    assert all(api in result.stderr for api in off)
    assert engine.calls == [] and StackRecords().find("ml-dev") is None  # nothing recorded
    assert not [c for c in gcloud.calls if c[:2] == ["services", "enable"]]
    doc = json.loads(run(*DEPLOY_GCP, "--yes", "--output", "json").stdout)
    assert doc["error"]["exit_code"] == 2 and doc["error"]["commands"] == [ENABLE]


def test_gcp_service_usage_off_where_gcloud_bills_is_reported_as_off(run, home, engine, gcloud):
    gcloud.set(error="ERROR: (gcloud.services.list) PERMISSION_DENIED: Service Usage API has not been used in project "
                     "123456789012 before or it is disabled. Enable it by visiting https://console.developers.google.com"
                     "/apis/api/serviceusage.googleapis.com/overview?project=123456789012 then retry. reason: SERVICE_DISABLED")
    result = run(*DEPLOY_GCP, "--yes")
    assert result.exit_code == 2 and ENABLE in result.stderr


def test_without_gcloud_the_gcp_check_is_skipped_with_a_note(run, home, engine, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    result = run(*DEPLOY_GCP, "--yes")
    assert result.exit_code == 0, result.stderr
    assert "note: could not check" in result.stderr and "gcloud CLI not found" in result.stderr and ENABLE in result.stderr


def test_a_gcloud_that_cannot_answer_skips_the_gcp_check(run, home, engine, gcloud):
    gcloud.set(error="ERROR: (gcloud.services.list) You do not currently have an active account selected.")
    result = run(*DEPLOY_GCP, "--yes")
    assert result.exit_code == 0, result.stderr
    assert "active account" in result.stderr


def test_gcp_plan_does_not_check(run, home, gcloud):
    assert run("plan", "gcp", "--project", "demo-project", "--output", "json").exit_code == 0
    assert not [c for c in gcloud.calls if c[0] == "services"]


def test_bootstrap_apis_are_off_is_explained_with_the_command():
    error = ("googleapi: Error 403: Cloud Resource Manager API has not been used in project 123456789012 before or it is "
             "disabled. Enable it by visiting https://console.developers.google.com/apis/api/"
             "cloudresourcemanager.googleapis.com/overview?project=123456789012 then retry.")
    hint = credential_hint("gcp", [error])
    assert hint is not None
    assert ("gcloud services enable serviceusage.googleapis.com cloudresourcemanager.googleapis.com "
            "--project 123456789012") in hint


# --------------------------------------------------------------------------
# doctor: the same state, read only
