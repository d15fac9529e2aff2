"""The build fails if `unsafe_allow_html`, `st.html` or `components.html` is ever given
non-constant content (issue 6: untrusted text is rendered inert)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from data.store.settings import PROJECT_ROOT

SOURCES = [PROJECT_ROOT / "dashboard.py", *sorted((PROJECT_ROOT / "pages").glob("*.py")),
           *sorted((PROJECT_ROOT / "ui").glob("*.py"))]
HTML_CALLS = {"html"}  # st.html(...), components.html(...), st.components.v1.html(...)


def _is_constant(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def raw_html_violations(source: str, filename: str = "<src>") -> list[str]:
    """Calls that pass non-constant content to raw-HTML rendering."""
    problems = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
            node.func, "id", "")
        unsafe = any(k.arg == "unsafe_allow_html" and not (
            isinstance(k.value, ast.Constant) and k.value.value is False) for k in node.keywords)
        if unsafe or name in HTML_CALLS:
            content = node.args[0] if node.args else None
            if content is None or not _is_constant(content):
                problems.append(f"{filename}:{node.lineno} {name}() with non-constant content")
    return problems


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_no_user_content_reaches_raw_html(path: Path):
    assert raw_html_violations(path.read_text(encoding="utf-8"), str(path)) == []


@pytest.mark.parametrize(("source", "flagged"), [
    ('st.markdown(name, unsafe_allow_html=True)', True),
    ('st.markdown(f"<b>{name}</b>", unsafe_allow_html=True)', True),
    ('st.html(note)', True),
    ('components.html("<p>" + x + "</p>")', True),
    ('st.markdown("<hr>", unsafe_allow_html=True)', False),
    ('st.markdown(name, unsafe_allow_html=False)', False),
    ('st.markdown(name)', False),
])
def test_the_detector_itself(source, flagged):
    assert bool(raw_html_violations(source)) is flagged
