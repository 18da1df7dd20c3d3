"""Fixtures of the Pulumi rules model's tests: the small program, a backend running it, a deployed stack."""

from __future__ import annotations

import pytest

from tests.support.pulumi_rules import RulesBackend
from tests.support.rules_toy_program import STACK, Events, Program, killed_while_creating


@pytest.fixture
def p() -> Program:
    return Program()


@pytest.fixture
def backend() -> RulesBackend:
    return RulesBackend(program_resources=lambda program: program)


@pytest.fixture
def stack(backend, p):
    s = backend.stack(STACK)
    s.up(p.all(), Events())
    return s


@pytest.fixture
def orphaned(backend, p):
    """db's create was killed: pending in the state, existing in the cloud."""
    s = killed_while_creating(backend, "db", STACK, p.all())
    s.unlock()
    return s
