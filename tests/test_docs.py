"""docs/ is what the code cites: it must say what the code does."""

from __future__ import annotations

import re
from pathlib import Path

from provisioner.analysis.baseline import RULES

ROOT = Path(__file__).resolve().parent.parent


def test_the_baseline_document_lists_exactly_the_rules_recipe_check_evaluates():
    text = (ROOT / "docs" / "security-rules.md").read_text()
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


def test_the_readme_table_of_stack_fields_is_the_field_table():
    """README, "Describe a stack in a file": one row per stack-file field, its flags and its clouds."""
    from recipes.stack_fields import BY_NAME, FILE_FIELDS, PROVIDERS

    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Describe a stack in a file"):text.index("## Without the `recipe` CLI")]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in section.splitlines()
            if re.match(r"^\| `\w+` \|", line)]
    assert sorted(row[0].strip("`") for row in rows) == sorted(FILE_FIELDS)
    for name, flags, clouds in rows:
        field = BY_NAME[name.strip("`")]
        spelled = re.findall(r"`(-[-\w]+)`", flags)
        assert spelled == [s for flag in field.flags for s in flag.split("/")], name
        assert (clouds == "all") == (field.clouds == PROVIDERS) and clouds in ("all", ", ".join(field.clouds)), name


def test_the_readme_security_table_is_what_recipe_check_says():
    """README, "Security baseline": each rule's verdict on the dev and prod stacks, and its scanner trade-offs."""
    from provisioner.analysis.baseline import evaluate
    from provisioner.analysis.plan import run_plan
    from recipes.spec import Layer, load_spec
    from tests.conftest import spec_for

    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Security baseline"):text.index("## What each stack contains")]
    rows = {cells[0]: cells for cells in ([c.strip() for c in line.strip("|").split("|")] for line in section.splitlines()
                                         if re.match(r"^\| [A-Z]\d \|", line))}
    assert list(rows) == [r.id for r in RULES]
    own_cluster = load_spec(Layer("flags", {"provider": "kubernetes", "name": "ml-dev", "context": "k3d-ml"}))
    for column, provider in enumerate(("aws", "gcp", "azure", "kubernetes"), start=2):
        spec = own_cluster if provider == "kubernetes" else spec_for(provider)
        dev = {r.rule.id: r.verdict.status for r in evaluate(run_plan(spec))}
        prod = {r.rule.id: r.verdict.status for r in evaluate(run_plan(spec.with_changes(profile="prod")
                                                                       if provider == "kubernetes" else
                                                                       spec_for(provider, profile="prod")))}
        for rule in RULES:
            assert rows[rule.id][column] == f"{dev[rule.id]} / {prod[rule.id]}", (rule.id, provider)
    for rule in RULES:
        assert rows[rule.id][1] == rule.title
        assert re.findall(r"C\w+_\d+", rows[rule.id][6]) == list(rule.trade_offs), rule.id
        for anchor in rule.trade_offs:
            assert f"- **{rule.id}** `{anchor}`: " in section, (rule.id, anchor)
