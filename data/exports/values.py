"""Plain values for the writers: UTC datetimes, ISO text for JSON, the table as rows,
and the JSON document of a row kind."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

from data.exports.tables import Table
from data.files.frame import ColumnTable, write_rows
from data.files.safe_csv import utc  # re-exported: the exports' writers use it


def json_value(value: Any) -> Any:
    """A JSON-ready value: dates and datetimes as ISO 8601 text."""
    if isinstance(value, datetime):
        return utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def table_rows(table: Table | ColumnTable) -> Iterator[list[Any]]:
    """The rows as lists in the columns' order (hidden '_' keys left out)."""
    names = table.column_names
    if isinstance(table, ColumnTable):
        yield from map(list, table.iter_rows(names))
        return
    for row in table.rows:
        yield [row.get(name) for name in names]


def table_records(table: Table | ColumnTable) -> list[dict[str, Any]]:
    """The rows as JSON-ready dicts in the columns' order."""
    names = table.column_names
    if isinstance(table, ColumnTable):  # each distinct value made JSON-ready once
        columns = [table.column(name).map(json_value).take() for name in names]
        return [dict(zip(names, values, strict=True))
                for values in zip(*columns, strict=True)] if names else \
            [{} for _ in range(table.n_rows)]
    return [{name: json_value(row.get(name)) for name in names} for row in table.rows]


def json_document(document: dict[str, Any], table: Table | ColumnTable) -> bytes:
    """The UTF-8 bytes of `json.dumps(document | {"rows": table_records(table)}, indent=1,
    ensure_ascii=False) + "\n"`. A column-wise table's rows are written from its columns
    (each distinct value encoded once, no dict per row): the same text, without holding
    a million dicts and the whole document as one string."""
    head = json.dumps(document | {"rows": []}, indent=1, ensure_ascii=False)
    empty = '"rows": []\n}'
    names = table.column_names
    if not (isinstance(table, ColumnTable) and names and table.n_rows
            and head.endswith(empty)):  # "rows" is the last key
        whole = json.dumps(document | {"rows": table_records(table)}, indent=1,
                           ensure_ascii=False)
        return (whole + "\n").encode("utf-8")
    out = io.BytesIO()
    out.write((head[:-len(empty)] + '"rows": [\n').encode("utf-8"))
    write_rows(out, [table.column(n) for n in names], [_json_field(n) for n in names],
               table.n_rows, sep=",\n", start="  {\n", end="\n  }", between=",\n")
    out.write(b"\n ]\n}\n")
    return out.getvalue()


def _json_field(name: str) -> Callable[[Any], str]:
    """One `"name": value` line of a row object, as json.dumps(indent=1) nests it."""
    key = "   " + json.dumps(name, ensure_ascii=False) + ": "
    return lambda value: key + json.dumps(json_value(value), ensure_ascii=False)


def generated_by(actor: Any, *, deidentified: bool) -> str:
    """Who exported, as a file may say it: a de-identified file names no staff member
    (the role only; the audit event keeps the user)."""
    if deidentified:
        article = "an" if actor.role[:1] in "aeiou" else "a"
        return f"{article} {actor.role} (the user is recorded in the store's audit trail)"
    return f"{actor.username} ({actor.role})"
