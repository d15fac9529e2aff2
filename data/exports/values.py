"""Plain values for the writers: UTC datetimes, ISO text for JSON, the table as rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

from data.exports.frame import ColumnTable
from data.exports.tables import Table


def utc(moment: datetime) -> datetime:
    """An aware UTC datetime (the store keeps UTC; SQLite hands it back naive)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


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
