"""CSV writing that spreadsheets cannot turn into formulas (CSV/formula injection).

OWASP's advice: a text cell beginning with '=', '+', '-', '@', a tab or a carriage
return (we add a line feed) is prefixed with a single quote and the cell is quoted, so
Excel, LibreOffice and Google Sheets show it as text. A spreadsheet may also split a
line on another separator (';' in many locales, a tab, '|'): a cell holding a separator
followed by a trigger (`a;=1+1`) would start a formula in the next column there, so
such a cell is neutralised too: the leading quote, a quote after each such separator
(`'a;'=1+1`, inert however the line is split) and double quotes around the cell. Every
cell holding a separator is quoted, so a quote-aware reader keeps it one cell. Only text is neutralised: numbers,
dates and booleans are written from typed values, so a negative number in a numeric
column stays a number.

`write_csv_columns` writes a column-wise table (data.files.frame.Coded columns): each
distinct value of a column is formatted once by `format_cell`, the function the row
writer applies to every cell, so the bytes are the same.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from data.files.frame import Coded, write_rows


def utc(moment: datetime) -> datetime:
    """An aware UTC datetime (the store keeps UTC; SQLite hands it back naive)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

DANGEROUS_FIRST = ("=", "+", "-", "@", "\t", "\r", "\n")
SEPARATORS = (",", ";", "\t", "|")
_NEEDS_QUOTES = (",", '"', "\n", "\r", ";", "\t", "|")
_SEPARATED_TRIGGER = re.compile(r"([,;\t|])(?=[=+\-@\t\r\n])")


def is_dangerous(text: str) -> bool:
    """True when a spreadsheet could read `text`, or a part of it after a field
    separator (, ; tab |), as a formula."""
    return text.startswith(DANGEROUS_FIRST) or _SEPARATED_TRIGGER.search(text) is not None


def neutralise(text: str) -> str:
    """The text made inert (OWASP): a leading single quote, and one after each separator
    that a trigger follows; unchanged when not dangerous."""
    if not is_dangerous(text):
        return text
    return "'" + _SEPARATED_TRIGGER.sub(r"\1'", text)


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def format_cell(value: Any) -> str:
    """One CSV field: typed values as plain text, text neutralised and quoted as needed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if is_dangerous(text):
        return _quoted(neutralise(text))
    if any(ch in text for ch in _NEEDS_QUOTES) or text != text.strip(" "):
        return _quoted(text)
    return text


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 CSV bytes (RFC 4180 quoting, '\\n' line ends) with every text cell made inert."""
    buffer = io.StringIO()
    buffer.write(",".join(format_cell(h) for h in header) + "\n")
    for row in rows:
        buffer.write(",".join(format_cell(v) for v in row) + "\n")
    return buffer.getvalue().encode("utf-8")


def write_csv_columns(header: Sequence[str], columns: Sequence[Coded], n_rows: int) -> bytes:
    """The same bytes as `write_csv` of the rows, from columns: each distinct value of a
    column formatted (and neutralised) once by `format_cell` (see `frame.write_rows`)."""
    out = io.BytesIO()
    out.write((",".join(format_cell(h) for h in header) + "\n").encode("utf-8"))
    write_rows(out, columns, [format_cell] * len(columns), n_rows, sep=",", end="\n")
    return out.getvalue()
