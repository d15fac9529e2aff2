"""data.store.arrow_read: the declared types and the statement's order, whatever the driver
gives (SQLite: ISO text dates and timestamps, 0/1 booleans; psycopg: date, datetime, bool)
and whatever the first rows hold. Runs on SQLite and, with TEST_DATABASE_URL, PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    false,
    insert,
    select,
)
from sqlmodel.sql.sqltypes import UTCDateTime

from data.store import arrow_read
from data.store.arrow_read import days, floats, ints, read_table, texts

SCHEMA = {"id": "int", "n": "int", "x": "float", "s": "text", "d": "date", "ts": "datetime",
          "b": "bool"}
EXPECTED_TYPES = [pa.int64(), pa.int64(), pa.float64(), pa.string(), pa.date32(),
                  pa.timestamp("us", tz="UTC"), pa.bool_()]
T1 = datetime(2026, 3, 1, 8, 30, 15, 250000, tzinfo=UTC)


@pytest.fixture
def probe(engine):
    """A table of 5 rows whose first three hold only NULLs (beside the id)."""
    metadata = MetaData()
    table = Table("arrow_probe", metadata, Column("id", Integer, primary_key=True),
                  Column("n", Integer), Column("x", Float), Column("s", String(20)),
                  Column("d", Date), Column("ts", UTCDateTime()), Column("b", Boolean))
    metadata.create_all(engine)
    rows = [{"id": i, "n": None, "x": None, "s": None, "d": None, "ts": None, "b": None}
            for i in (1, 2, 3)]
    rows += [{"id": 4, "n": 7, "x": 2.5, "s": "PHQ-9", "d": date(2026, 2, 28), "ts": T1,
              "b": True},
             {"id": 5, "n": 0, "x": 3.0, "s": "é", "d": date(2024, 2, 29), "ts": T1,
              "b": False}]
    with engine.begin() as conn:
        conn.execute(insert(table), rows)
    yield table
    metadata.drop_all(engine)


def test_null_first_columns_keep_their_declared_types_across_batches(engine, probe,
                                                                     monkeypatch):
    """Batches of 2 rows: the first batch holds only NULLs, the later ones the values."""
    monkeypatch.setattr(arrow_read, "BATCH_ROWS", 2)
    with engine.connect() as conn:
        table = read_table(conn, select(probe).order_by(probe.c.id), SCHEMA)
    assert table.schema.types == EXPECTED_TYPES
    assert table.column_names == list(SCHEMA)
    assert table.to_pydict() == {
        "id": [1, 2, 3, 4, 5], "n": [None, None, None, 7, 0],
        "x": [None, None, None, 2.5, 3.0], "s": [None, None, None, "PHQ-9", "é"],
        "d": [None, None, None, date(2026, 2, 28), date(2024, 2, 29)],
        "ts": [None, None, None, T1, T1], "b": [None, None, None, True, False]}


def test_rows_come_in_the_statements_order(engine, probe):
    with engine.connect() as conn:
        table = read_table(conn, select(probe.c.id, probe.c.d).order_by(probe.c.id.desc()),
                           SCHEMA)
    assert table["id"].to_pylist() == [5, 4, 3, 2, 1]
    assert table["d"].to_pylist() == [date(2024, 2, 29), date(2026, 2, 28), None, None, None]


def test_an_empty_result_has_the_declared_types(engine, probe):
    with engine.connect() as conn:
        table = read_table(conn, select(probe).where(false()), SCHEMA)
    assert table.num_rows == 0
    assert table.schema.types == EXPECTED_TYPES


def test_bound_parameters_and_expressions(engine, probe):
    """A date bound as a parameter (SQLite compares ISO text), a boolean expression (0/1
    on SQLite), a whole number read as float."""
    stmt = (select(probe.c.id, (probe.c.n > 3).label("big"), probe.c.n.label("n_float"))
            .where(probe.c.d >= date(2025, 1, 1)))
    with engine.connect() as conn:
        table = read_table(conn, stmt, {"id": "int", "big": "bool", "n_float": "float"})
    assert table.to_pydict() == {"id": [4], "big": [True], "n_float": [7.0]}


def test_pandas_columns(engine, probe):
    with engine.connect() as conn:
        table = read_table(conn, select(probe).order_by(probe.c.id), SCHEMA)
    assert ints(table["id"]).tolist() == [1, 2, 3, 4, 5]
    assert str(floats(table["n"]).dtype) == "float64"
    assert floats(table["n"]).tolist()[3:] == [7.0, 0.0]
    assert texts(table["s"]).isna().tolist() == [True, True, True, False, False]
    assert texts(table["s"]).dtype == "str"
    stamps = days(table["d"])
    assert str(stamps.dtype) == "datetime64[s]"
    assert stamps.isna().sum() == 3
    assert stamps.iloc[4].date() == date(2024, 2, 29)
    with pytest.raises(ValueError, match="missing values"):
        ints(table["n"])


def test_every_column_needs_a_declared_type(engine, probe):
    with engine.connect() as conn, pytest.raises(ValueError, match=r"\['s'\]"):
        read_table(conn, select(probe.c.id, probe.c.s), {"id": "int"})


def test_day_numbers(engine, probe):
    """day_number: days since 1970-01-01 (NULL stays NULL), read back as the same dates
    when declared ``date`` (SQLite: julianday of ISO text; PostgreSQL: date subtraction)."""
    stmt = (select(probe.c.id, arrow_read.day_number(probe.c.d).label("n"),
                   arrow_read.day_number(probe.c.d).label("d"))
            .where(probe.c.id >= 3).order_by(probe.c.id))
    with engine.connect() as conn:
        table = read_table(conn, stmt, {"id": "int", "n": "int", "d": "date"})
    # 2024-02-29: 54 years of 365 days + 13 leap days (1972..2020) + 31 + 28 = 19,782
    assert table.to_pydict() == {"id": [3, 4, 5], "n": [None, 20512, 19782],
                                 "d": [None, date(2026, 2, 28), date(2024, 2, 29)]}


@pytest.mark.parametrize("driver", ["adbc", "cursor"])
def test_a_streamed_read_gives_the_same_table_batch_by_batch(engine, probe, monkeypatch,
                                                             driver):
    """``stream`` (PostgreSQL: through ADBC, or without it a named binary cursor on the
    caller's transaction): the same rows and types, NULL-first batches, an IN list, a text
    and a date bound, and bytes as bytes; a read after it on the same connection still
    works."""
    monkeypatch.setattr(arrow_read, "BATCH_ROWS", 2)
    if driver == "cursor":
        monkeypatch.setattr(arrow_read, "_adbc_batches", lambda *args: None)
    elif engine.dialect.name == "postgresql":  # ADBC (a requirement) reads it, no cursor
        monkeypatch.setattr(arrow_read, "_postgres_rows", None)
    stmt = (select(probe, (probe.c.s + "!").cast(LargeBinary).label("raw"))
            .where(probe.c.id.in_([1, 2, 3, 4, 5]), (probe.c.d >= date(2024, 1, 1))
                   | probe.c.d.is_(None)).order_by(probe.c.id))
    schema = {**SCHEMA, "raw": "binary"}
    with engine.connect() as conn:
        plain = read_table(conn, stmt, schema)
        streamed = read_table(conn, stmt, schema, stream=True)
        after = read_table(conn, select(probe.c.id).order_by(probe.c.id), SCHEMA)
    assert streamed.equals(plain)
    assert streamed["raw"].to_pylist() == [None, None, None, b"PHQ-9!", "é!".encode()]
    assert after["id"].to_pylist() == [1, 2, 3, 4, 5]


def test_a_streamed_read_refuses_a_nul_in_a_text_parameter(engine, probe):
    """PostgreSQL's engine guard (data/store/db.py) holds for ADBC's own connection too."""
    from data.store.db import UnstorableText

    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite stores a NUL: no guard")

    stmt = select(probe.c.id).where(probe.c.s == "PHQ\x009")
    with engine.connect() as conn, pytest.raises(UnstorableText, match="U\\+0000"):
        read_table(conn, stmt, SCHEMA, stream=True)


def test_adbc_connections_are_kept_idle_replaced_when_broken_and_closed(engine, probe,
                                                                       monkeypatch):
    """A whole read opens no new ADBC connection when an idle one is kept (~40 ms each);
    a kept one that broke is replaced and the read still answers; disposing the engines
    closes them."""
    from data.store.db import dispose_engines

    if engine.dialect.name != "postgresql":
        pytest.skip("ADBC reads PostgreSQL only")
    import adbc_driver_postgresql.dbapi as adbc

    opened = []
    real_connect = adbc.connect

    def connect(uri, **kwargs):
        opened.append(kwargs)
        return real_connect(uri, **kwargs)

    monkeypatch.setattr(adbc, "connect", connect)
    monkeypatch.setattr(arrow_read, "_postgres_rows", None)  # ADBC or nothing
    arrow_read.close_adbc_connections()
    stmt = select(probe.c.id).order_by(probe.c.id)
    with engine.connect() as conn:
        first = read_table(conn, stmt, SCHEMA, stream=True)
        again = read_table(conn, stmt, SCHEMA, stream=True)
    assert first["id"].to_pylist() == again["id"].to_pylist() == [1, 2, 3, 4, 5]
    assert opened == [{"autocommit": True}]  # the second read took the idle one
    (kept,) = [c for idle in arrow_read._idle_adbc.values() for c in idle]
    kept.close()  # broken under the pool (a server restart, a dropped connection)
    with engine.connect() as conn:
        assert read_table(conn, stmt, SCHEMA, stream=True)["id"].to_pylist() == [1, 2, 3, 4, 5]
    assert len(opened) == 2  # replaced
    dispose_engines()
    assert arrow_read._idle_adbc == {}


def test_a_copied_read_gives_the_same_table_in_the_callers_transaction(engine, probe):
    """``copy`` (PostgreSQL: COPY ... TO STDOUT as CSV, read by pyarrow.csv): the same rows
    and types as the cursor's, for the values CSV makes hard: an empty text (not NULL), a
    comma, a quote and a line break in one, a time before 1970 to the microsecond, a float
    that is not a short decimal; parameters (an IN list, a date) bound; a row the caller's
    transaction wrote and did not commit is read; an empty result keeps its types.
    (SQLite has no COPY: the cursor reads it, and the same table comes back.)"""
    early = datetime(1969, 7, 20, 20, 17, 40, 123456, tzinfo=UTC)
    tricky = [{"id": 6, "n": -3, "x": 0.1 + 0.2, "s": "", "d": date(1969, 12, 31),
               "ts": early, "b": False},
              {"id": 7, "n": -2**31, "x": -1e-300, "s": 'a,"b"\nc;\\N', "d": date(2000, 1, 1),
               "ts": T1, "b": None}]
    stmt = (select(probe).where(probe.c.id.in_([1, 4, 5, 6, 7]),
                                (probe.c.d >= date(1969, 1, 1)) | probe.c.d.is_(None))
            .order_by(probe.c.id))
    with engine.begin() as conn:
        conn.execute(insert(probe), tricky)  # not committed while it is read
        plain = read_table(conn, stmt, SCHEMA)
        copied = read_table(conn, stmt, SCHEMA, copy=True)
        empty = read_table(conn, select(probe).where(false()), SCHEMA, copy=True)
        conn.rollback()
    assert copied.equals(plain)
    assert copied.schema.types == EXPECTED_TYPES
    assert copied.to_pydict() == {
        "id": [1, 4, 5, 6, 7], "n": [None, 7, 0, -3, -2**31],
        "x": [None, 2.5, 3.0, 0.1 + 0.2, -1e-300], "s": [None, "PHQ-9", "é", "", 'a,"b"\nc;\\N'],
        "d": [None, date(2026, 2, 28), date(2024, 2, 29), date(1969, 12, 31), date(2000, 1, 1)],
        "ts": [None, T1, T1, early, T1], "b": [None, True, False, False, None]}
    assert empty.num_rows == 0 and empty.schema.types == EXPECTED_TYPES
