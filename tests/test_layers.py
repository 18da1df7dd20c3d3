"""The architecture holds: imports only go down the layers, no module imports itself back,
and no file or folder outgrows what a reader takes in (docs/architecture.md).

Read from the source with `ast`, lazy imports inside functions included: an import that
only runs later is still a dependency a reader has to follow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("provisioner", "recipes")

# Each part of the code, and the parts below it that it may import (its own modules aside).
BELOW: dict[str, set[str]] = {
    "cli": {"operations", "engine.pulumi", "engine.core", "engine", "analysis", "stacks", "integrations", "paths", "recipes"},
    "operations": {"engine.core", "engine", "analysis", "stacks", "integrations", "paths", "recipes"},
    "engine.pulumi": {"engine.core", "engine", "paths", "recipes"},
    "engine.core": {"engine", "paths", "recipes"},
    "engine": {"paths", "recipes"},
    "analysis": {"integrations", "paths", "recipes"},
    "stacks": {"integrations", "paths", "recipes"},
    "integrations": {"paths", "recipes"},
    "paths": {"recipes"},
    "recipes": set(),
}
MAX_LINES = 400
MAX_MODULES_PER_FOLDER = 12


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "scripts" not in path.relative_to(ROOT).parts:  # run in pods, not imported
                found[module_name(path)] = path
    return found


def part_of(module: str) -> str:
    """Which layer a module belongs to (see BELOW)."""
    if module.split(".")[0] == "recipes":
        return "recipes"
    rest = module.split(".")[1:]
    if not rest:
        return "paths"  # the package itself holds nothing
    if rest[0] == "engine":
        if len(rest) == 1:
            return "engine"  # the seam: protocol, result types, errors
        return "engine.pulumi" if rest[1] == "pulumi" else "engine.core"
    return rest[0]


def imports(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules `module` imports, anywhere in its body."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


GRAPH = {name: imports(name, path, modules()) for name, path in modules().items()}


def test_the_layers_are_known():
    """A new top-level folder in provisioner/ needs a place in the layers before it can land."""
    assert {part_of(name) for name in GRAPH} <= set(BELOW)


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_only_go_down(module):
    here = part_of(module)
    upward = sorted(f"{target} ({part_of(target)})" for target in GRAPH[module]
                    if part_of(target) != here and part_of(target) not in BELOW[here])
    assert not upward, f"{module} ({here}) imports upward or sideways: {', '.join(upward)}"


def test_no_import_cycle():
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    assert not cycles, f"import cycles: {cycles}"


def source_files() -> list[Path]:
    return sorted(p for folder in (*PACKAGES, "tests", "benchmarks") for p in (ROOT / folder).rglob("*.py"))


def test_no_source_file_outgrows_one_concept():
    long = [f"{p.relative_to(ROOT)} ({n})" for p in source_files() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert not long, f"over {MAX_LINES} lines: {', '.join(long)}"


def test_no_folder_holds_more_modules_than_a_reader_can_scan():
    folders: dict[Path, int] = {}
    for path in source_files():
        if path.name != "__init__.py":
            folders[path.parent] = folders.get(path.parent, 0) + 1
    crowded = [f"{folder.relative_to(ROOT)} ({n})" for folder, n in folders.items() if n > MAX_MODULES_PER_FOLDER]
    assert not crowded, f"over {MAX_MODULES_PER_FOLDER} modules: {', '.join(crowded)}"
