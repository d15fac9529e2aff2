"""Reading a large SELECT into a DataFrame fast (the observation frame of a 1-million-score
store): the statement runs on the raw DB-API cursor, without SQLAlchemy's per-row result
processing, and the frame is built column by column (low-cardinality text through
``pd.factorize``, dates parsed in one vectorised call). The garbage collector is paused
while the rows exist: they hold no cycles, and each collection would scan them all.

The caller's Core statement is compiled for the connection's dialect, so the same code
runs on SQLite and PostgreSQL; values come back as the driver gives them (SQLite: dates
as ISO text; psycopg: ``date`` objects) and are typed here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection

from data.store.bulk import paused_gc


def fetch_columns(conn: Connection, stmt) -> dict[str, np.ndarray]:
    """Each selected column (by label) as an object array, straight from the driver."""
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = _bind_values(compiled, conn.dialect.name)
    names = [column.name for column in stmt.selected_columns]
    with paused_gc():
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute(str(compiled), params)
            rows = cursor.fetchall()
        finally:
            cursor.close()
        if not rows:
            return {name: np.array([], dtype=object) for name in names}
        return {name: np.array(values, dtype=object)
                for name, values in zip(names, zip(*rows, strict=True), strict=True)}


def _bind_values(compiled, dialect: str):
    values = dict(compiled.params)
    if dialect == "sqlite":  # SQLAlchemy stores SQLite dates as ISO text
        values = {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}
    if compiled.positional:
        return tuple(values[name] for name in compiled.positiontup)
    return values


def as_int(values: np.ndarray) -> np.ndarray:
    return values.astype("int64")


def as_float(values: np.ndarray) -> np.ndarray:
    """Numbers with None as NaN."""
    return np.array(values, dtype="float64")


def as_text(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Text (the pandas string dtype), built once per distinct value; None stays missing."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return pd.array(np.asarray(uniques, dtype=object), dtype="str").take(codes, allow_fill=True)


def as_dates(values: np.ndarray) -> pd.Series:
    """datetime64 from ISO text or date objects (None as NaT)."""
    if len(values) and isinstance(_first(values), str):
        parsed = pd.to_datetime(values, format="%Y-%m-%d")
    else:
        parsed = pd.to_datetime(list(values))
    return pd.Series(parsed).astype("datetime64[s]")


def _first(values: Iterable):
    return next((v for v in values if v is not None), None)
