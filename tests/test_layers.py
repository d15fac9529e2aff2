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


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, dotted module) of every absolute import in the file, functions included;
    `from data import x` counts as module data.x (x is a room or a module)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, f"data.{alias.name}") for alias in node.names] \
                if node.module == "data" else [(node.lineno, node.module)]
    return found


def project_imports(path: Path) -> list[tuple[int, str]]:
    """(line, top package) of every import of a project package in the file."""
    return [(line, name.split(".")[0]) for line, name in imported(path)
            if name.split(".")[0] in PROJECT]


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


# The rooms of data/, like an import-linter `layers` contract inside the package: each
# room may import the rooms listed for it (and itself), never one above it.
ROOMS_MAY_IMPORT = {
    "store": set(),
    "files": set(),
    "audit": {"store", "files"},
    "accounts": {"store"},
    "clinic": {"store", "files", "audit", "accounts"},
    "selfreport": {"store", "files", "audit", "accounts", "clinic"},
    "analytics": {"store", "files", "audit", "accounts", "clinic", "selfreport"},
    "exports": {"store", "files", "audit", "accounts", "clinic", "selfreport", "analytics"},
    "imports": {"store", "files", "audit", "accounts", "clinic"},
    "seed": {"store", "files", "audit", "accounts", "clinic", "selfreport", "analytics",
             "imports"},
}
DATA_MODULES = [p for p in MODULES if p.relative_to(ROOT).parts[0] == "data"]


def data_room_imports(path: Path) -> list[tuple[int, str]]:
    """(line, room) of every import of a room of data/ in the file (`from data import x`
    counts as room x)."""
    return [(line, name.split(".")[1]) for line, name in imported(path)
            if name.startswith("data.") and name.split(".")[1] in ROOMS_MAY_IMPORT]


def test_every_room_is_in_the_contract():
    rooms = {p.name for p in (ROOT / "data").iterdir()
             if p.is_dir() and (p / "__init__.py").exists()}
    assert rooms == set(ROOMS_MAY_IMPORT)
    loose = [p.name for p in (ROOT / "data").glob("*.py") if p.name != "__init__.py"]
    assert not loose, f"modules outside a room: {loose}"


@pytest.mark.parametrize("path", [p for p in DATA_MODULES if len(p.relative_to(ROOT).parts) > 2],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_a_room_imports_only_the_rooms_below_it(path: Path):
    room = path.relative_to(ROOT).parts[1]
    allowed = ROOMS_MAY_IMPORT[room] | {room}
    wrong = [f"line {line}: data.{r}" for line, r in data_room_imports(path) if r not in allowed]
    assert not wrong, f"{path.relative_to(ROOT)} imports a room above it: {wrong}"


def test_the_room_check_catches_an_upward_import(tmp_path):
    bad = tmp_path / "x.py"
    bad.write_text("def f():\n    from data.analytics import observations\n"
                   "from data import clinic\n", encoding="utf-8")
    assert sorted(data_room_imports(bad)) == [(2, "analytics"), (3, "clinic")]
