"""The import rule of ARCHITECTURE.md: ``outcomes`` is pure domain code.

Every .py file under outcomes/ is parsed with ``ast``; it may import the stdlib,
pandas and other ``outcomes`` modules, but not streamlit, sqlalchemy, sqlmodel,
plotly, or the project packages data, models and pages (directly, relatively or
through ``importlib.import_module``/``__import__`` with a literal name).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

OUTCOMES_DIR = Path(__file__).resolve().parent.parent / "outcomes"
FORBIDDEN = frozenset({"streamlit", "sqlalchemy", "sqlmodel", "plotly", "data", "models", "pages"})


def _dynamic_import_name(node: ast.Call) -> str | None:
    """The literal module name of ``importlib.import_module('x')`` or ``__import__('x')``."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name not in ("import_module", "__import__") or not node.args:
        return None
    first = node.args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def _imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) for every import; relative imports leaving outcomes/ keep their dots."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                found.append((node.lineno, node.module or ""))
            elif node.level >= 2:  # climbs out of outcomes/ into the project root
                targets = [node.module] if node.module else [a.name for a in node.names]
                found += [(node.lineno, "." * node.level + t) for t in targets]
        elif isinstance(node, ast.Call) and (name := _dynamic_import_name(node)):
            found.append((node.lineno, name))
    return found


def forbidden_imports(source: str) -> list[str]:
    """'line N: module' for every import in ``source`` that outcomes/ must not make."""
    bad = []
    for line, module in _imported_modules(ast.parse(source)):
        top = module.lstrip(".").split(".")[0]
        if top in FORBIDDEN:
            bad.append(f"line {line}: {module}")
    return bad


OUTCOMES_FILES = sorted(OUTCOMES_DIR.rglob("*.py"))


def test_the_walk_finds_the_outcomes_modules() -> None:
    names = {path.name for path in OUTCOMES_FILES}
    assert {"__init__.py", "instruments.py", "scoring.py"} <= names


@pytest.mark.parametrize(
    "path", OUTCOMES_FILES, ids=[str(p.relative_to(OUTCOMES_DIR)) for p in OUTCOMES_FILES]
)
def test_outcomes_module_imports_nothing_forbidden(path: Path) -> None:
    assert forbidden_imports(path.read_text(encoding="utf-8")) == [], path


@pytest.mark.parametrize(
    "source",
    [
        "import streamlit",
        "import streamlit as st",
        "import plotly.express as px",
        "from plotly import graph_objects",
        "import sqlalchemy.orm",
        "from sqlmodel import Session",
        "from data.store.db import x",
        "from data import queries",
        "import models",
        "from models.tables import Patient",
        "from pages import home",
        "from ..data import db",
        "from .. import models",
        "import os\nimport streamlit",
        "def f():\n    import streamlit\n",
        "import importlib\nimportlib.import_module('streamlit')",
        "__import__('data.store.db')",
    ],
)
def test_detector_flags_forbidden_imports(source: str) -> None:
    assert forbidden_imports(source) != []


@pytest.mark.parametrize(
    "source",
    [
        "import pandas as pd",
        "import dataclasses",
        "import database_helpers",
        "from __future__ import annotations",
        "from outcomes.instruments import INSTRUMENTS",
        "from . import instruments",
        "from .scoring import score",
        "import importlib\nimportlib.import_module('json')",
    ],
)
def test_detector_allows_pure_imports(source: str) -> None:
    assert forbidden_imports(source) == []
