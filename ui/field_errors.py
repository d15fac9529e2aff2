"""Problems of a refused save shown where they belong (issue 12 item 3): each at its field
(under the widget) and all of them in a summary at the top of the form, in clinic words
(models/labels.py), never internal field names.

A save stores the problems with a snapshot of the widget values they were found on
(`store_problems`); a field's message is shown while its widgets still hold those values,
so it goes away once the user changes the field. Nothing here writes to the store."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import streamlit as st

from models.labels import clinic_label
from ui.text import code_span, needs_code

PROBLEMS_KEY = "entry_problems"

KeysOf = Callable[[str], tuple[str, ...]]


def _snapshot(keys: Iterable[str]) -> tuple:
    return tuple(st.session_state.get(k) for k in keys)


def store_problems(problems: list[tuple[str, str]], keys_of: KeysOf, form: str) -> None:
    """Remember a refused save's problems of `form` ('infusion', 'scores') for this run and
    the next ones (until the field changes or a save succeeds)."""
    st.session_state[PROBLEMS_KEY] = {
        "form": form,
        "problems": [(field, rule, keys_of(field), _snapshot(keys_of(field)))
                     for field, rule in problems]}


def clear_problems() -> None:
    st.session_state.pop(PROBLEMS_KEY, None)


def current_problems(form: str) -> list[tuple[str, str]]:
    """(field, rule) of the last refused save of `form` whose fields are unchanged."""
    stored = st.session_state.get(PROBLEMS_KEY)
    if not stored or stored["form"] != form:
        return []
    return [(field, rule) for field, rule, keys, snap in stored["problems"]
            if not keys or _snapshot(keys) == snap]


def field_problem(form: str, *fields: str) -> None:
    """The message(s) of `fields` under their widget (call it right after the widget)."""
    for field, rule in current_problems(form):
        if field in fields:
            st.error(_safe(rule), icon=":material/error:")


def problem_summary(form: str, section_of: Callable[[str], str | None]) -> None:
    """'3 things to fix before saving:' with one line per problem, at the top of the form."""
    problems = current_problems(form)
    if not problems:
        return
    lines = []
    for field, rule in problems:
        where = section_of(field)
        line = f"{clinic_label(field)}: {rule}" + (f" ({where})" if where else "")
        lines.append(f"- {_safe(line)}")
    n = len(problems)
    head = "1 thing to fix" if n == 1 else f"{n} things to fix"
    st.error(f"**Not saved. {head} before saving:**\n\n" + "\n".join(lines),
             icon=":material/error:")


def _safe(line: str) -> str:
    """A message as markdown that cannot be interpreted (rules may quote typed text)."""
    return code_span(line) if needs_code(line) else line
