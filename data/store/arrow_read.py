"""The one read path for large results: a SQLAlchemy Core select, run on the caller's
connection (its transaction, its snapshot: a streamed export's pages see one state of the
store), returned as a pyarrow Table whose column types are the ones the caller declares
(``int``, ``float``, ``text``, ``date``, ``datetime``, ``bool``, ``binary``), whatever the driver gives
and whatever the first rows hold (a NULL-first column, an empty result).

The statement is compiled and its parameters bound by SQLAlchemy for the connection's
dialect (the same code on SQLite and PostgreSQL); the rows are then taken raw from the
DB-API cursor, a batch at a time, without SQLAlchemy's per-row result processing, and each
batch's columns become Arrow arrays in C (``pyarrow.array`` with the declared type). Values
the driver gives in another form are cast once per batch: SQLite's ISO text dates and
timestamps (stored UTC), its 0/1 booleans.

ADBC only for a streamed read on PostgreSQL (``stream``, ``_adbc_batches``), when
adbc-driver-postgresql is installed: the driver reads the result by COPY in binary and
builds the Arrow arrays in C++ (the XL page's read of 380,573 courses with their packs:
1.0 s, where psycopg's rows took 2.2-3.2 s), on a connection of its own. Everywhere else
the caller's DB-API cursor (docs/PERFORMANCE.md, "One read path"): ADBC's SQLite driver
links its own copy of SQLite, and two copies in one process break each other's file locks
(a read through it missed a commit made through the sqlite3 module); and a read on another
connection is outside the caller's transaction.

COPY (``copy``, PostgreSQL) for a large read that must stay in the caller's transaction
(an export's chunks, in its snapshot): ``COPY (...) TO STDOUT`` as CSV on the caller's own
connection, parsed by ``pyarrow.csv`` (``_copy_table``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import io
import itertools
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import BigInteger, Integer, cast, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import Select
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

Kind = Literal["int", "float", "text", "date", "datetime", "bool", "binary"]
ARROW_TYPES: dict[str, pa.DataType] = {
    "int": pa.int64(), "float": pa.float64(), "text": pa.string(), "date": pa.date32(),
    "datetime": pa.timestamp("us", tz="UTC"), "bool": pa.bool_(), "binary": pa.binary(),
}
BATCH_ROWS = 65_536  # rows fetched and turned into Arrow arrays at a time


def read_table(conn: Connection, stmt: Select, schema: Mapping[str, Kind], *,
               stream: bool = False, copy: bool = False) -> pa.Table:
    """The rows of ``stmt`` as a Table of the columns of ``schema`` (by label, in the
    statement's order; every selected column must be declared), typed as declared.

    ``stream`` (PostgreSQL; SQLite always streams), for one large read that needs no other
    read's snapshot: through ADBC (``_adbc_batches``: its own connection, one statement, one
    snapshot) when installed, else a server-side cursor in binary format on the caller's
    transaction (``_postgres_rows``). Either way the client holds one batch of rows at a
    time instead of libpq's copy of the whole result, and binary values travel as bytes,
    not hex text (the XL store's course packs: 300 MB of hex in libpq before;
    docs/PERFORMANCE.md).

    ``copy`` (PostgreSQL; no ``binary`` column), for a read of many rows that must see
    the caller's transaction: the rows by ``COPY (...) TO STDOUT`` as CSV on the caller's
    connection, parsed by Arrow in C++ (``_copy_table``), no Python object per value. One
    chunk of an XL export's scores (111,000 rows): 0.25 s, where the cursor's rows took
    0.35-0.45 s."""
    names = list(stmt.selected_columns.keys())
    missing = [name for name in names if name not in schema]
    if missing:
        raise ValueError(f"read_table: no declared type for column(s) {missing}")
    kinds = [schema[name] for name in names]
    arrow_schema = pa.schema([(name, ARROW_TYPES[kind]) for name, kind in
                              zip(names, kinds, strict=True)])
    if copy and conn.dialect.name == "postgresql" and "binary" not in kinds:
        return _copy_table(conn, stmt, kinds, arrow_schema)
    postgres_stream = stream and conn.dialect.name == "postgresql"
    if postgres_stream:
        fast = _adbc_batches(conn, stmt, kinds, arrow_schema)
        if fast is not None:
            return pa.Table.from_batches(fast, schema=arrow_schema)
    batches = []
    if postgres_stream:
        result = cursor = _postgres_rows(conn, stmt)
    else:
        result = conn.execute(stmt)  # SQLAlchemy binds the parameters for the dialect
        cursor = result.cursor  # the raw rows: no per-row result processing
    try:
        with paused_gc():
            while rows := cursor.fetchmany(BATCH_ROWS):
                columns = zip(*rows, strict=True)
                batches.append(pa.record_batch(
                    [typed_array(values, kind) for values, kind in
                     zip(columns, kinds, strict=True)], schema=arrow_schema))
                del rows, columns
    finally:
        result.close()
    return pa.Table.from_batches(batches, schema=arrow_schema)


def _postgres_rows(conn: Connection, stmt: Select) -> Any:
    """A server-side (named) psycopg cursor in binary format over ``stmt``, on the caller's
    connection and transaction. SQLAlchemy compiles the statement (IN lists expanded); the
    parameters go to the driver as they are, so the statement must bind plain values
    (numbers, dates, text), not values of a type with its own bind processing."""
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    driver = conn.connection.driver_connection
    cursor = driver.cursor(name=f"read_table_{next(_cursor_names)}", binary=True)
    cursor.execute(compiled.string, compiled.params)
    return cursor


_cursor_names = itertools.count(1)


def _copy_table(conn: Connection, stmt: Select, kinds: list[Kind],
                arrow_schema: pa.Schema) -> pa.Table:
    """``stmt``'s rows through ``COPY (...) TO STDOUT (FORMAT csv)`` on the caller's
    connection and transaction, read by ``pyarrow.csv``.

    Each column travels as text CSV can carry without a parser's guess: a date as its day
    number, a timestamp as microseconds since the epoch (UTC whatever the session's time
    zone), a boolean as 0/1; ints, floats (PostgreSQL writes them exactly) and text as
    they are. NULL is an unquoted empty field and an empty text a quoted one
    (``quoted_strings_can_be_null=False``). psycopg binds the parameters client-side (a
    COPY takes none)."""
    import pyarrow.csv as pa_csv

    inner = stmt.subquery("copied")
    sent = []
    for column, kind in zip(inner.c, kinds, strict=True):
        if kind == "date":
            sent.append(day_number(column))
        elif kind == "datetime":
            sent.append(cast(func.extract("epoch", column) * 1_000_000, BigInteger))
        elif kind == "bool":
            sent.append(cast(column, Integer))
        else:
            sent.append(column)
    compiled = select(*sent).compile(dialect=conn.dialect,
                                     compile_kwargs={"render_postcompile": True})
    driver = conn.connection.driver_connection
    text_out = io.BytesIO()
    with driver.cursor() as cursor, cursor.copy(
            f"COPY ({compiled.string}) TO STDOUT (FORMAT csv)", compiled.params) as copy:
        for data in copy:
            text_out.write(data)
    if not text_out.tell():
        return arrow_schema.empty_table()
    names = [f"c{i}" for i in range(len(kinds))]
    sent_types = {name: _SENT_TYPES.get(kind, ARROW_TYPES[kind])
                  for name, kind in zip(names, kinds, strict=True)}
    text_out.seek(0)
    table = pa_csv.read_csv(
        text_out, read_options=pa_csv.ReadOptions(column_names=names),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            column_types=sent_types, null_values=[""], strings_can_be_null=True,
            quoted_strings_can_be_null=False))
    return pa.table([_as_kind(table.column(i), kind) for i, kind in enumerate(kinds)],
                    schema=arrow_schema)


_SENT_TYPES: dict[str, pa.DataType] = {"date": pa.int32(), "datetime": pa.int64(),
                                       "bool": pa.int8()}


def _adbc_batches(conn: Connection, stmt: Select, kinds: list[Kind],
                  arrow_schema: pa.Schema) -> list[pa.RecordBatch] | None:
    """The rows of ``stmt`` through adbc-driver-postgresql, batch by batch cast to the
    declared types; None when the driver is not installed (the caller then takes a cursor).

    A connection of its own to the engine's database (libpq's URI of the engine's URL),
    closed after the read: the statement sees the committed store at its start, not the
    caller's transaction. SQLAlchemy compiles it for the dialect with numbered parameters
    ($1, $2 ...: ADBC's), bound by the driver; a text parameter holding a NUL is refused
    as the engine's guard refuses it (data/store/db.py)."""
    try:
        import adbc_driver_postgresql.dbapi as adbc
    except ImportError:
        return None
    from data.store.db import refuse_nul

    dialect = type(conn.dialect)(paramstyle="numeric_dollar")
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    params = [compiled.params[name] for name in compiled.positiontup or ()]
    refuse_nul(params)
    uri = conn.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    connection, kept = _adbc_connection(adbc, uri)
    try:
        with connection.cursor() as cursor:
            cursor.execute(compiled.string, params or None)
            batches = [pa.record_batch([_as_kind(batch.column(i), kind) for i, kind in
                                        enumerate(kinds)], schema=arrow_schema)
                       for batch in cursor.fetch_record_batch()]
    except Exception:
        _close(connection)
        if not kept:
            raise
        return _adbc_batches(conn, stmt, kinds, arrow_schema)  # a kept one gone stale
    _give_back(uri, connection)
    return batches


# Idle ADBC connections by URI, at most IDLE_ADBC each: a connection costs ~40 ms to open
# (two per whole read of the course facts). Autocommit: an idle one holds no snapshot.
# Taken out while in use (a connection is used by one thread at a time), closed by
# ``close_adbc_connections`` (data.store.db.dispose_engines).
IDLE_ADBC = 2
_idle_adbc: dict[str, list[Any]] = {}
_idle_lock = threading.Lock()


def _adbc_connection(adbc: Any, uri: str) -> tuple[Any, bool]:
    """An idle connection to ``uri`` (and True), else a new one (and False)."""
    with _idle_lock:
        idle = _idle_adbc.get(uri)
        if idle:
            return idle.pop(), True
    return adbc.connect(uri, autocommit=True), False


def _give_back(uri: str, connection: Any) -> None:
    with _idle_lock:
        idle = _idle_adbc.setdefault(uri, [])
        if len(idle) < IDLE_ADBC:
            idle.append(connection)
            return
    _close(connection)


def _close(connection: Any) -> None:
    with suppress(Exception):  # a connection already broken
        connection.close()


def close_adbc_connections() -> None:
    """Close every idle ADBC connection (the engines are disposed: tests, a restore)."""
    with _idle_lock:
        idle = [c for connections in _idle_adbc.values() for c in connections]
        _idle_adbc.clear()
    for connection in idle:
        _close(connection)


def _as_kind(array: Any, kind: Kind) -> Any:
    """An ADBC or COPY column (an Arrow array or chunked array) as ``kind`` (int4 as
    int64, a day number as a date, epoch microseconds as a timestamp, 0/1 as a bool)."""
    target = ARROW_TYPES[kind]
    if array.type == target:
        return array
    if kind == "date" and pa.types.is_integer(array.type):  # day_number
        return pc.cast(pc.cast(array, pa.int32()), target)
    return pc.cast(array, target)


def typed_array(values: Any, kind: Kind) -> pa.Array:
    """Driver values (a sequence, None = missing) as an Arrow array of ``kind``; a date
    column may hold day numbers (``day_number``)."""
    target = ARROW_TYPES[kind]
    if kind in ("date", "datetime"):
        first = next((v for v in values if v is not None), None)
        if isinstance(first, str):  # SQLite keeps dates and UTC timestamps as ISO text
            text = pa.array(values, pa.string())
            if kind == "date":
                return pc.cast(pc.utf8_slice_codeunits(text, 0, 10), target)
            return pc.assume_timezone(pc.cast(text, pa.timestamp("us")), "UTC")
    try:
        return pa.array(values, target)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # ints as booleans, bools as ints ...
        return pc.cast(pa.array(values), target)


def release_freed_memory() -> None:
    """Hand the memory the allocators keep back to the system: Arrow's pool and glibc's
    heap (``malloc_trim``; nothing elsewhere). Called before and after a whole read of the
    course facts: freed buffers (the read's own, an expired cache's) otherwise stay in the
    process, in pieces the next large arrays do not fit. At XL the page's process peaked
    at 1,291-1,365 MiB without it, 821-852 MiB with it (docs/PERFORMANCE.md, issue 13
    session 6)."""
    pa.default_memory_pool().release_unused()  # Arrow's own pool (mimalloc) too
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is not None:
        trim(0)


_LIBC = ctypes.CDLL(ctypes.util.find_library("c")) if sys.platform == "linux" else None


class day_number(FunctionElement[int]):  # a SQL function: lower case
    """A date column as its day number (days since 1970-01-01, NULL when missing): an
    integer travels from the driver as one small object, where SQLite's ISO text is a
    string to build and parse per value. Declare it ``date`` in the schema; ``read_table``
    takes day numbers for a date column."""

    type = Integer()
    name = "day_number"
    inherit_cache = True


@compiles(day_number, "sqlite")
def _day_number_sqlite(element: day_number, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps a date as 'YYYY-MM-DD'; julianday() of a day is its midnight (n + .5)
    return f"CAST(julianday({compiler.process(element.clauses, **kw)}) - 2440587.5 AS INTEGER)"


@compiles(day_number, "postgresql")
def _day_number_postgresql(element: day_number, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(({compiler.process(element.clauses, **kw)}) - DATE '1970-01-01')"


@contextmanager
def index_reads(conn: Connection) -> Iterator[None]:
    """On PostgreSQL, the reads of the caller's transaction inside this block plan no
    sequential scan and compile no JIT code (``SET LOCAL``, set back on leaving): for
    reads of one chunk by a list of ids, where an index serves every read.

    The planner's estimate of the rows per course id is the table's rows over its sampled
    distinct ids: at XL 82 for a true 28, so one chunk's 4,000 courses looked like 3% of
    the scores and it read all 1.4 GB of them (0.5-0.7 s a chunk) where the index finds
    them in 0.05-0.1 s (docs/PERFORMANCE.md, issue 13 session 11). JIT added ~40 ms to
    each of those short queries. SQLite: nothing to do (it takes the index)."""
    if conn.dialect.name != "postgresql":
        yield
        return
    names = ("enable_seqscan", "jit")
    setting = text("SELECT set_config(:name, :value, true)")
    before = conn.execute(text("SELECT current_setting('enable_seqscan'), "
                               "current_setting('jit')")).one()
    for name in names:
        conn.execute(setting, {"name": name, "value": "off"})
    try:
        yield
    finally:
        # set back for the rest of the transaction; an aborted one ends with its settings
        with suppress(DBAPIError):
            for name, value in zip(names, before, strict=True):
                conn.execute(setting, {"name": name, "value": value})


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector off while a batch of rows exists (plain tuples hold no
    cycles; each collection would scan them all)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --- Arrow columns as the pandas columns the frames hold ------------------------------------

def ints(column: pa.ChunkedArray) -> np.ndarray:
    """int64 (the column must have no missing value)."""
    if column.null_count:
        raise ValueError("ints: the column has missing values (declare it as float)")
    return column.to_numpy().astype("int64", copy=False)


def floats(column: pa.ChunkedArray) -> np.ndarray:
    """float64, missing as NaN."""
    return pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)


def texts(column: pa.ChunkedArray) -> pd.Series:
    """The pandas string dtype ("str"), missing as NaN."""
    return pd.Series(column.to_pandas(), dtype="str")


def days(column: pa.ChunkedArray, unit: str = "s") -> pd.Series:
    """datetime64[unit] from a date column (NaT when missing)."""
    return pd.Series(pc.cast(column, pa.timestamp(unit)).to_pandas(),
                     dtype=f"datetime64[{unit}]")


def bools(column: pa.ChunkedArray) -> np.ndarray:
    """bool (missing as False)."""
    return pc.fill_null(column, False).to_numpy(zero_copy_only=False).astype(bool)
