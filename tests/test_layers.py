"""The layers of docs/DEVELOPING.md for the whole tree, like an import-linter `layers`
contract: pages -> ui -> (data, figures) -> models -> outcomes; cli beside ui. A module may
import its own package and the packages below it, never one above (imports inside
functions included: a lazy import is still a dependency)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ("pages", "ui", "cli", "data", "figures", "models", "outcomes")
MAY_IMPORT = {
    "outcomes": set(),
    "models": {"outcomes"},
    "figures": {"outcomes"},
    "data": {"models", "outcomes", "figures"},
    "ui": {"data", "figures", "models", "outcomes"},
    "cli": {"data", "figures", "models", "outcomes"},
    "pages": {"ui", "data", "figures", "models", "outcomes"},
}


def project_imports(path: Path) -> list[tuple[int, str]]:
    """(line, top package) of every import of a project package in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        found += [(node.lineno, n.split(".")[0]) for n in names if n.split(".")[0] in PROJECT]
    return found


MODULES = sorted(p for package in PROJECT for p in (ROOT / package).rglob("*.py")
                 if "migrations" not in p.parts)


def test_every_package_is_walked():
    assert {p.relative_to(ROOT).parts[0] for p in MODULES} == set(PROJECT)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_module_imports_only_its_layer_and_below(path: Path):
    package = path.relative_to(ROOT).parts[0]
    allowed = MAY_IMPORT[package] | {package}
    wrong = [f"line {line}: {top}" for line, top in project_imports(path) if top not in allowed]
    assert not wrong, f"{path.relative_to(ROOT)} imports a layer above it: {wrong}"


def test_the_check_catches_an_upward_import(tmp_path):
    bad = tmp_path / "x.py"
    bad.write_text("def f():\n    from ui.layout import page_setup\n", encoding="utf-8")
    assert project_imports(bad) == [(2, "ui")]
