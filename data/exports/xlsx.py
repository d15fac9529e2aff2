"""Excel workbooks: one sheet per table plus a 'definitions' sheet, typed cells, no formulas.

Every text value is written as a string cell (data_type 's', an inline string): openpyxl
would otherwise store text starting with '=' as a formula. Text that a spreadsheet could
still read as a formula once edited (starting with = + - @ tab CR LF) also gets Excel's
"quote prefix" cell style, which keeps it text without changing the value. Integers,
decimals, dates, date-times (UTC, without zone: Excel has none) and booleans are real
Excel types.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from data.exports.tables import Table
from data.exports.values import table_rows, utc
from data.files.columns import ColumnSpec
from data.files.safe_csv import is_dangerous

MAX_TEXT = 32_767  # Excel's limit for one cell
TYPE_NAMES = {"int": "integer", "float": "decimal number", "text": "text", "date": "date",
              "datetime": "date and time (UTC)", "bool": "TRUE/FALSE",
              "age": "integer, or '90+'"}
_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")
_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="1F4E79")


def clean_text(text: str) -> str:
    """Text Excel accepts: control characters other than tab/LF removed, length capped.

    Carriage returns become line feeds, as an XML reader would make them anyway.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _NOT_XML.sub("\ufffd", text)  # XML 1.0 cannot hold them (stored before issue 15)
    return ILLEGAL_CHARACTERS_RE.sub("", text)[:MAX_TEXT]


def typed_cell(ws, value: Any) -> WriteOnlyCell:
    """A cell of the value's own Excel type; text is always a string, never a formula."""
    if isinstance(value, float) and value != value:  # NaN
        value = None
    if value is None or isinstance(value, bool | int | float):
        return WriteOnlyCell(ws, value=value)
    if isinstance(value, datetime):
        cell = WriteOnlyCell(ws, value=utc(value).replace(tzinfo=None))
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = "yyyy-mm-dd"
        return cell
    text = clean_text(str(value))
    cell = WriteOnlyCell(ws, value=None)
    cell.value = text
    cell.data_type = "s"  # never 'f': text that starts with '=' stays text
    if is_dangerous(text):
        cell.quotePrefix = True
    return cell


def _header(ws, names: Sequence[str]) -> list[WriteOnlyCell]:
    cells = []
    for name in names:
        cell = typed_cell(ws, name)
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
        cells.append(cell)
    return cells


def _widths(names: Sequence[str], rows: list[list[Any]]) -> list[float]:
    widths = [len(n) + 2 for n in names]
    for row in rows[:200]:
        for i, value in enumerate(row):
            if value is not None:
                widths[i] = max(widths[i], min(len(str(value)) + 2, 60))
    return [max(8, w) for w in widths]


def add_sheet(wb: Workbook, title: str, names: Sequence[str], rows: list[list[Any]],
              wrap: bool = False) -> None:
    """One sheet: a styled, frozen, filterable header row, then typed rows."""
    ws = wb.create_sheet(title[:31])
    for i, width in enumerate(_widths(names, rows), 1):
        ws.column_dimensions[get_column_letter(i)].width = min(width, 80 if wrap else 60)
    ws.freeze_panes = "A2"
    if names:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(names))}{len(rows) + 1}"
    ws.append(_header(ws, names))
    for row in rows:
        cells = [typed_cell(ws, v) for v in row]
        if wrap:
            for cell in cells:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.append(cells)


def definition_rows(tables: Sequence[Table], about: Sequence[tuple[str, Any]],
                    extra: Sequence[tuple[str, ColumnSpec]] = ()) -> list[list[Any]]:
    """The 'definitions' sheet: the export's facts, then every column of every sheet."""
    rows: list[list[Any]] = [["(export)", key, "", value] for key, value in about]
    for table in tables:
        rows += [["(de-identification)", table.name, "", note] for note in table.notes]
    for table in tables:
        rows += [[table.name, c.name, TYPE_NAMES[c.kind], c.description] for c in table.columns]
    rows += [[sheet, c.name, TYPE_NAMES[c.kind], c.description] for sheet, c in extra]
    return rows


# An Excel sheet holds 1,048,576 rows: the header and 1,048,575 data rows. A longer table
# (a network's scores: ~1.1 million at 40,000 patients) continues on 'scores (2)', ...
MAX_SHEET_ROWS = 1_048_575


def sheet_parts(name: str, rows: list[list[Any]]) -> list[tuple[str, list[list[Any]]]]:
    """(sheet title, rows) for a table: one sheet, or several of MAX_SHEET_ROWS rows."""
    if len(rows) <= MAX_SHEET_ROWS:
        return [(name, rows)]
    return [(name if k == 0 else f"{name[:25]} ({k + 1})", rows[start:start + MAX_SHEET_ROWS])
            for k, start in enumerate(range(0, len(rows), MAX_SHEET_ROWS))]


def write_workbook(tables: Sequence[Table], *, about: Sequence[tuple[str, Any]],
                   extra_definitions: Sequence[tuple[str, ColumnSpec]] = ()) -> bytes:
    """The workbook's bytes: one sheet per table, then 'definitions'."""
    wb = Workbook(write_only=True)
    for table in tables:
        rows = list(table_rows(table))
        for title, part in sheet_parts(table.name, rows):
            add_sheet(wb, title, table.column_names, part)
    add_sheet(wb, "definitions", ["sheet", "column", "type", "description"],
              definition_rows(tables, about, extra_definitions), wrap=True)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
