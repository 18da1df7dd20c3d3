"""What the CLI's end-to-end tests share: the deploy they start from, and looks at its results."""

from __future__ import annotations

import stat
from pathlib import Path

from provisioner.stacks.records import StackRecords

from tests.support.fakes import FakeEngine

DEPLOY = ["deploy", "aws", "--name", "ml-dev", "--region", "eu-west-1", "--yes"]


def stack_records() -> StackRecords:
    return StackRecords()


def password_of(engine: FakeEngine) -> str:
    plan = next(iter(engine.plans.values()))
    return plan.raw_outputs["tracker"]["password"]


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)
