"""CSV writing that spreadsheets cannot turn into formulas (CSV/formula injection).

OWASP's advice: a text cell beginning with '=', '+', '-', '@', a tab or a carriage
return (we add a line feed) is prefixed with a single quote and the cell is quoted, so
Excel, LibreOffice and Google Sheets show it as text. Only text is neutralised: numbers,
dates and booleans are written from typed values, so a negative number in a numeric
column stays a number.

`write_csv_columns` writes a column-wise table (data.exports.frame.Coded columns): each
distinct value of a column is formatted once by `format_cell`, the same function the
row writer applies to every cell, so the bytes are the same.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from data.exports.frame import Coded
from data.exports.values import utc

DANGEROUS_FIRST = ("=", "+", "-", "@", "\t", "\r", "\n")
_NEEDS_QUOTES = (",", '"', "\n", "\r")


def is_dangerous(text: str) -> bool:
    """True when a spreadsheet could read `text` as a formula."""
    return text.startswith(DANGEROUS_FIRST)


def neutralise(text: str) -> str:
    """The text with a leading single quote when it is dangerous (OWASP)."""
    return "'" + text if is_dangerous(text) else text


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


CHUNK_ROWS = 50_000  # rows joined at a time: the text of one chunk at most, then bytes
JOINT_LIMIT = 1 << 20  # most value combinations a block of adjacent columns may have


def write_csv_columns(header: Sequence[str], columns: Sequence[Coded], n_rows: int) -> bytes:
    """The same bytes as `write_csv` of the rows, from columns.

    Each distinct value of a column is formatted (and neutralised) once by `format_cell`.
    Adjacent columns are then written as blocks: columns that share their codes (the
    course's study ID, clinic and start; the items of one administration) or whose value
    combinations are few (infusion number, timepoint, instrument, year) are joined into
    one piece of text per distinct combination, so a row is a handful of pieces to join.
    """
    blocks = [_block(group) for group in _groups(columns)]
    out = io.BytesIO()
    out.write((",".join(format_cell(h) for h in header) + "\n").encode("utf-8"))
    for start in range(0, n_rows, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, n_rows)
        pieces = [texts.take(codes[start:stop]) for codes, texts in blocks]
        if len(pieces) == 1:
            lines = pieces[0]
        elif pieces:
            lines = map(",".join, zip(*pieces, strict=True))
        else:
            lines = [""] * (stop - start)
        out.write(("\n".join(lines) + "\n").encode("utf-8"))
    return out.getvalue()


def _groups(columns: Sequence[Coded]) -> list[list[Coded]]:
    """Adjacent columns in blocks of at most JOINT_LIMIT combinations of their codes."""
    groups: list[list[Coded]] = []
    size = 0
    for column in columns:
        shared = bool(groups) and any(column.codes is c.codes for c in groups[-1])
        if shared:
            groups[-1].append(column)
            continue
        if not groups or size * max(len(column.values), 1) > JOINT_LIMIT:
            groups.append([column])
            size = max(len(column.values), 1)
        else:
            groups[-1].append(column)
            size *= max(len(column.values), 1)
    return groups


def _block(group: list[Coded]) -> tuple[np.ndarray, np.ndarray]:
    """The block's codes, and its text (fields joined by commas) for each code."""
    bases: list[np.ndarray] = []  # the distinct code arrays of the block
    for column in group:
        if not any(column.codes is b for b in bases):
            bases.append(column.codes)
    if len(bases) == 1:  # one code array: the values line up with it
        codes, picks = bases[0], [None] * len(group)
    else:  # the joint code of each row, then the combinations that occur
        sizes = [max(len(next(c for c in group if c.codes is b).values), 1) for b in bases]
        joint = np.zeros(len(bases[0]), dtype=np.int64)
        for base, n in zip(bases, sizes, strict=True):
            joint = joint * n + base
        codes, combinations = pd.factorize(joint)
        parts, rest = [], combinations
        for n in reversed(sizes):
            rest, part = np.divmod(rest, n)
            parts.append(part)
        parts.reverse()
        picks = [parts[next(i for i, b in enumerate(bases) if c.codes is b)] for c in group]
    texts = []
    for column, pick in zip(group, picks, strict=True):
        formatted = np.empty(len(column.values), dtype=object)
        formatted[:] = [format_cell(v) for v in column.values]
        texts.append(formatted if pick is None else formatted.take(pick))
    joined = np.empty(len(texts[0]), dtype=object)
    joined[:] = list(map(",".join, zip(*texts, strict=True))) if len(texts) > 1 else texts[0]
    return codes, joined
