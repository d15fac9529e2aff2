"""Showing user-typed text safely, and one-shot messages that survive a rerun.

User text (names, codes, notes...) is never markdown- or HTML-interpreted: it goes
through `st.text`, a dataframe, or a code span built by `code_span()`."""

from __future__ import annotations

import math
import re
from datetime import date, datetime

import numpy as np
import pandas as pd
import streamlit as st

FLASH_KEY = "flash_messages"
RESET_KEY = "widget_resets"


def code_span(value: object) -> str:
    """A markdown code span showing `value` literally (its backticks cannot close it)."""
    text = " ".join(str(value).splitlines()) or " "
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {text} {fence}"


def labelled(label: str, value: object) -> None:
    """'label: value' as plain text (never interpreted)."""
    st.text(f"{label}: {'' if value is None else value}")


def flash(kind: str, message: str) -> None:
    """Queue a message (success, info, warning, error) for the next run of the page."""
    st.session_state.setdefault(FLASH_KEY, []).append((kind, message))


def show_flash() -> None:
    for kind, message in st.session_state.pop(FLASH_KEY, []):
        getattr(st, kind)(message)


def show_problems(exc: Exception) -> None:
    """An input error: one line per field and rule, as plain text inside st.error."""
    problems = getattr(exc, "problems", None)
    lines = [f"{field}: {rule}" for field, rule in problems] if problems else [str(exc)]
    st.error("Not saved. " + " · ".join(code_span(line) if needs_code(line) else line
                                        for line in lines))


_MARKDOWN_RISK = re.compile(r"[\\`*\[\]<>#~|!$&=]|:\w|://|www\.|(?<!\w)_|_(?!\w)")


def markdown_safe(line: str) -> str:
    """`line` for st.error/st.warning/st.success: as a code span when markdown could
    interpret part of it (a report line may quote a cell of an uploaded file)."""
    return code_span(line) if needs_code(line) else line


def needs_code(line: str) -> bool:
    """True when markdown could interpret part of the line (emphasis, links, HTML...)."""
    return bool(_MARKDOWN_RISK.search(line))


def clear_keys(*prefixes: str) -> None:
    """Forget values whose key starts with one of `prefixes` (widgets that leave the screen).

    A widget that stays on screen keeps its value in the browser when its key is only
    deleted: use `reset_widgets()` for those."""
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and key.startswith(prefixes):
            del st.session_state[key]


def _blank(value: object) -> object:
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        return ""
    if isinstance(value, list):
        return []
    return None


def reset_widgets(*prefixes: str, keep: tuple[str, ...] = (),
                  values: dict[str, object] | None = None) -> None:
    """Blank the widgets whose key starts with `prefixes` (except `keep`; `values` override)
    on the next run. Applied by `apply_widget_resets()` before any widget exists, so the
    browser shows the new values too. Call st.rerun() after this."""
    resets = {key: _blank(value) for key, value in st.session_state.items()
              if isinstance(key, str) and key.startswith(prefixes) and key not in keep}
    resets.update(values or {})
    st.session_state[RESET_KEY] = {**st.session_state.get(RESET_KEY, {}), **resets}


def apply_widget_resets() -> None:
    """Set the values queued by `reset_widgets()` (page_setup calls it first thing)."""
    for key, value in st.session_state.pop(RESET_KEY, {}).items():
        st.session_state[key] = value


MISSING = "—"


def shown(value: object, zone: object = None) -> object:
    """A value as a clinician reads it: '—' for a missing value (None, NaN, NaT, '', []),
    'Yes'/'No' for a flag, '6 Dec 2026' for a date, '6 Dec 2026 14:05' for a time in the
    clinic's zone (`zone`: a clinic, a zone name; UTC when None), a list joined by ', '."""
    from data.store.clinic_time import format_date, format_datetime

    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, str):
        return value if value.strip() and value not in ("None", "nan", "NaN") else MISSING
    if isinstance(value, bool | np.bool_):
        return "Yes" if value else "No"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or MISSING
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return format_datetime(value, zone)
    if isinstance(value, date):
        return format_date(value)
    if value is pd.NA:
        return MISSING
    return value


def human_table(frame: pd.DataFrame, labels: dict[str, str] | None = None,
                zone: object = None) -> pd.DataFrame:
    """A table for clinicians: columns renamed by `labels` (the others get their name
    with '_' as spaces, capitalised), and every cell through `shown()` (missing values
    '—', never 'None' or 'NaN') as text; number columns with no missing value stay
    numbers."""
    labels = labels or {}
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        values = frame[column]
        numeric = (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
                   and not values.isna().any())
        text = str(column).replace("_", " ")
        name = labels.get(column) or text[:1].upper() + text[1:]
        out[name] = values if numeric else values.map(lambda v: str(shown(v, zone)))
    return out
