"""docs/ is what the code cites: it must say what the code does."""

from __future__ import annotations

import re
from pathlib import Path

from provisioner.analysis.baseline import RULES

ROOT = Path(__file__).resolve().parent.parent


def test_the_baseline_document_lists_exactly_the_rules_recipe_check_evaluates():
    text = (ROOT / "docs" / "security-baseline.md").read_text()
    rows = [line for line in text.splitlines() if re.match(r"^\| [A-Z]\d \|", line)]
    listed = [tuple(cell.strip() for cell in row.strip("|").split("|")) for row in rows]
    assert listed == [(r.id, r.title, ", ".join(r.anchors), r.default) for r in RULES]


def test_nothing_cites_files_outside_the_repository():
    for path in [*ROOT.glob("provisioner/**/*.py"), *ROOT.glob("recipes/**/*.py"), ROOT / "pyproject.toml",
                 ROOT / "README.md", *ROOT.glob("docs/*.md")]:
        assert "../shared" not in path.read_text(), path


def test_docs_cited_by_the_code_exist():
    cited = set()
    for path in [*ROOT.glob("provisioner/**/*.py"), *ROOT.glob("recipes/**/*.py"), ROOT / "pyproject.toml"]:
        cited |= set(re.findall(r"docs/[\w.-]+\.md", path.read_text()))
    assert cited and all((ROOT / doc).is_file() for doc in cited), cited
