"""The `kubernetes` provider's tests run on a machine with no kubeconfig of the user's: the program plans with
placeholders for what only the user's context knows (tests that need one write their own, `KUBECONFIG`)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def no_kubeconfig(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("RECIPE_HOME", str(tmp_path / "home"))
