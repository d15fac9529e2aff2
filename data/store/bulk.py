"""The one bulk writer, shared by the score import, the patient import and the demo seed.

Callers hand over validated, in-memory tables and their session: the rows are inserted in
the caller's transaction. One write path (issue 11 item 2): the SQL is
``sqlalchemy.insert(table)`` compiled for the connection's dialect (its column list and
positional parameters, cached per process), sent on the driver's cursor as an
executemany of plain tuples, in chunks of 20,000. The ids of new parents come back from
the insert itself: ``INSERT ... RETURNING id, <natural key>`` in pages of multi-row
VALUES (SQLite 3.35+, PostgreSQL without COPY), each id matched to its row by the key it
returns, since neither database promises RETURNING's row order for a multi-row VALUES
(SQLAlchemy's ``sort_by_parameter_order`` would fall back to one statement per row on
SQLite). On PostgreSQL with psycopg 3 the rows go through ``COPY ... FROM STDIN``
(``cursor.copy()`` in psycopg's text format, issue 13), which returns nothing: the ids
are drawn first from the table's sequence (``nextval`` over ``generate_series``; a
sequence never hands a value out twice, so concurrent writers cannot collide) and sent
with the rows. Only tables whose ids the batch needs return them (clinics, users,
patients, courses, infusions; of the scores, those the alerts refer to: after a COPY
these few are looked up by natural key, which the unique indexes make exact). Each value goes
through its column's SQLAlchemy bind processor, as a Core insert would (once per
distinct value for dates, datetimes and booleans), so what is stored is the same; a
driver error is raised as SQLAlchemy's (``IntegrityError``, ...), without the parameters.

A table is a list of records (dicts) or a pandas DataFrame with the same fields as
columns (the score import builds its tables column-wise; in a DataFrame, missing values
are None or NaN, and JSON columns hold their JSON text, see `json_int_lists`).
Records refer to their parents by natural key, never by id:

- clinic: ``code``
- user: ``username`` (+ ``clinics``: clinic codes for UserClinic links)
- patient: ``clinic`` (code), ``patient_code``
- course: ``clinic``, ``patient_code``, ``number``
- infusion: ``clinic``, ``patient_code``, ``course_number``, ``number``
  (``clinician_code`` also sets ``clinician_id`` when a user has that username)
- assessment: ``clinic``, ``patient_code``, ``course_number``, ``infusion_number``,
  ``timepoint``, ``instrument`` (``entered_by_username`` may set ``entered_by_id``)
- alert: the key of its assessment (same six fields) + ``item9_value``, ``observed_on``
  (the assessment's ``administered_on``: it tells apart the follow-ups of one infusion,
  C4), ``status``

Clinics, users, patients, courses and infusions that already exist (by natural key)
are reused, not duplicated; assessments and alerts are always new (the importer checks
conflicts first; the unique constraints refuse the rest). One record per natural key, and
every parent a record refers to is in the batch too (existing or new).
"""

from __future__ import annotations

import gc
import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import JSON, cast, func, insert, literal, select
from sqlalchemy.dialects.postgresql import REGCLASS
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, SQLModel

from data.store.audit import utcnow
from data.store.outcome_queue import mark_courses_stale  # their outcomes change (issue 13)
from data.store.pseudonyms import new_study_ids
from models.tables import (
    Assessment,
    Clinic,
    Course,
    Infusion,
    Patient,
    SafetyAlert,
    User,
    UserClinic,
)

CHUNK_SIZE = 20_000
USE_COPY = True  # PostgreSQL (psycopg 3): COPY instead of executemany (bench compares both)
_LOOKUP_CHUNK = 5_000  # ids per IN (...) when reading existing or new rows
Record = dict[str, Any]
Table = list[Record] | pd.DataFrame


@dataclass
class BulkRecords:
    """Validated tables to write, each a list of dicts or a DataFrame keyed as the module says."""

    clinics: Table = field(default_factory=list)
    users: Table = field(default_factory=list)
    patients: Table = field(default_factory=list)
    courses: Table = field(default_factory=list)
    infusions: Table = field(default_factory=list)
    assessments: Table = field(default_factory=list)
    alerts: Table = field(default_factory=list)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small objects.

    Bulk loads create millions of dicts that hold no cycles; each automatic collection
    would scan them all again (it more than doubles the time). Reference counting still
    frees memory; the collector resumes afterwards (if it was on).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def json_int_lists(values: np.ndarray, missing: np.ndarray) -> list[str]:
    """The JSON text (as ``json.dumps`` writes it) of each row of a 2-D integer array, null
    where `missing`: '[3, 0, null]'. Rows of single digits are built as bytes in one go."""
    n, width = values.shape
    if n == 0:
        return []
    fast = ~missing.any(axis=1) & ((values >= 0) & (values <= 9)).all(axis=1)
    out = np.empty(n, dtype=object)
    if fast.any():
        digits = values[fast]
        buf = np.empty((len(digits), 3 * width), dtype=np.uint8)  # '[d, d, ..., d]'
        buf[:, 0] = ord("[")
        buf[:, 1::3] = digits + ord("0")
        buf[:, 2::3] = ord(",")
        buf[:, 3::3] = ord(" ")
        buf[:, -1] = ord("]")
        out[fast] = buf.view(f"S{3 * width}").ravel().astype(f"U{3 * width}")
    for i in np.flatnonzero(~fast):
        out[i] = json.dumps([None if m else int(v)
                             for v, m in zip(values[i], missing[i], strict=True)])
    return out.tolist()


# --- tables as columns ------------------------------------------------------------------

class _Columns:
    """Read access to one table, list of dicts or DataFrame, column by column."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.n = len(table)
        self.json_text = isinstance(table, pd.DataFrame)  # JSON columns hold JSON text
        if isinstance(table, pd.DataFrame):
            self.names = set(table.columns)
        else:
            self.names = set()
            for record in table:
                self.names.update(record)

    def __len__(self) -> int:
        return self.n

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def get(self, name: str, default: Any = None) -> list:
        """The column's values; `default` where the column or a record lacks it."""
        if name not in self.names:
            return [default] * self.n
        if isinstance(self.table, pd.DataFrame):
            column = self.table[name]
            if column.dtype == object:
                return column.tolist()
            return column.to_numpy(dtype=object, na_value=None).tolist()
        return [r.get(name, default) for r in self.table]

    def keys(self, *names: str) -> list[tuple]:
        return list(zip(*(self.get(n) for n in names), strict=True))

    def take(self, positions: Sequence[int]) -> _Columns:
        """The rows at `positions` (a new _Columns)."""
        if isinstance(self.table, pd.DataFrame):
            return _Columns(self.table.iloc[list(positions)])
        return _Columns([self.table[i] for i in positions])


def _chunks(seq: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(seq), size):
        yield seq[start:start + size]


# --- natural key -> id ----------------------------------------------------------------

def _select_in(session: Session, model: type[SQLModel], columns: Sequence[str], where: str,
               values: Iterable[Any]) -> list[tuple]:
    """Rows of `columns` (which include `where`) of `model` whose `where` column is in
    `values` (rows the store held before the batch): one range query when the values are
    ids close together, else one query per 5,000 values."""
    table = model.__table__  # type: ignore[attr-defined]
    query = select(*(table.c[c] for c in columns))
    column = table.c[where]
    wanted = sorted(set(values))
    connection = session.connection()
    if wanted and isinstance(wanted[0], int) and wanted[-1] - wanted[0] < 2 * len(wanted):
        at = list(columns).index(where)
        members = set(wanted)
        found = connection.execute(query.where(column.between(wanted[0], wanted[-1])))
        return [tuple(row) for row in found if row[at] in members]
    rows: list[tuple] = []
    for chunk in _chunks(wanted, _LOOKUP_CHUNK):
        rows += map(tuple, connection.execute(query.where(column.in_(chunk))))
    return rows


@dataclass
class _Ids:
    """Natural key -> store id, for rows that exist or were just written."""

    clinics: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)
    patients: dict[tuple, int] = field(default_factory=dict)
    courses: dict[tuple, int] = field(default_factory=dict)
    infusions: dict[tuple, int] = field(default_factory=dict)
    assessments: dict[tuple, int] = field(default_factory=dict)

    def read_clinics(self, session: Session, codes: Iterable[str]) -> None:
        self.clinics.update((code, cid) for cid, code in _select_in(
            session, Clinic, ("id", "code"), "code", codes))

    def read_patients(self, session: Session, keys: Iterable[tuple]) -> None:
        """Ids of the patients `keys` (clinic code, patient code) that the store holds."""
        wanted = set(keys)
        code_of = {cid: code for code, cid in self.clinics.items()}
        clinic_ids = {self.clinics[c] for c, _ in wanted if c in self.clinics}
        for pid, cid, code in _select_in(session, Patient, ("id", "clinic_id", "patient_code"),
                                         "clinic_id", clinic_ids):
            if (code_of[cid], code) in wanted:
                self.patients[(code_of[cid], code)] = pid

    def read_children(self, session: Session, model: type[SQLModel], parent_ids: dict[tuple, int],
                      parents: Iterable[tuple], known: dict[tuple, int]) -> None:
        """Ids of the courses/infusions (`model`) of the `parents` keys, into `known`."""
        link = "patient_id" if model is Course else "course_id"
        key_of = {parent_ids[p]: p for p in set(parents) if p in parent_ids}
        for row_id, parent, number in _select_in(session, model, ("id", link, "number"), link,
                                                 key_of):
            known[(*key_of[parent], number)] = row_id

    def read_assessments(self, session: Session, keys: Iterable[tuple]) -> None:
        """Ids of the assessments `keys` (infusion key, timepoint, instrument, date)."""
        wanted = set(keys)
        key_of = {self.infusions[k[:4]]: k[:4] for k in wanted if k[:4] in self.infusions}
        for aid, infusion, timepoint, instrument, day in _select_in(
                session, Assessment,
                ("id", "infusion_id", "timepoint", "instrument", "administered_on"),
                "infusion_id", key_of):
            key = (*key_of[infusion], timepoint, instrument, _day(day))
            if key in wanted:
                self.assessments[key] = aid


def _day(value: object) -> str:
    """An ISO day of a date, datetime or stored text (the drivers differ), for keys."""
    return str(value)[:10]


_PATIENT = ("clinic", "patient_code")
_COURSE = ("clinic", "patient_code", "number")
_INFUSION = ("clinic", "patient_code", "course_number", "number")
_SLOT = ("clinic", "patient_code", "course_number", "infusion_number", "timepoint", "instrument")
_SCORE_KEY = ("infusion_id", "timepoint", "instrument", "administered_on")  # in the table


@dataclass
class _Batch:
    """The records as columns, with their natural keys."""

    clinics: _Columns
    users: _Columns
    patients: _Columns
    courses: _Columns
    infusions: _Columns
    assessments: _Columns
    alerts: _Columns

    @classmethod
    def of(cls, records: BulkRecords) -> _Batch:
        return cls(*(_Columns(getattr(records, name)) for name in (
            "clinics", "users", "patients", "courses", "infusions", "assessments", "alerts")))


def _existing_ids(session: Session, batch: _Batch) -> _Ids:
    """Look up, by natural key, the rows of `batch` that the store already holds."""
    ids = _Ids()
    ids.read_clinics(session, [*batch.clinics.get("code"), *batch.patients.get("clinic")])
    ids.users = dict(session.execute(select(User.username, User.id)).all())
    ids.read_patients(session, batch.patients.keys(*_PATIENT))
    ids.read_children(session, Course, ids.patients, batch.courses.keys(*_PATIENT), ids.courses)
    course_keys = [k[:3] for k in batch.infusions.keys(*_INFUSION)]
    ids.read_children(session, Infusion, ids.courses, course_keys, ids.infusions)
    return ids


def count_new(session: Session, records: BulkRecords) -> dict[str, int]:
    """How many rows `write_records` would create (existing rows are reused)."""
    batch = _Batch.of(records)
    ids = _existing_ids(session, batch)
    return {
        "clinics": sum(k not in ids.clinics for k in batch.clinics.get("code")),
        "users": sum(k not in ids.users for k in batch.users.get("username")),
        "patients": sum(k not in ids.patients for k in batch.patients.keys(*_PATIENT)),
        "courses": sum(k not in ids.courses for k in batch.courses.keys(*_COURSE)),
        "infusions": sum(k not in ids.infusions for k in batch.infusions.keys(*_INFUSION)),
        "assessments": len(batch.assessments),
        "alerts": len(batch.alerts),
    }


# --- inserting --------------------------------------------------------------------------

def _defaults(model: type[SQLModel], now: datetime) -> dict[str, Any]:
    """Every insertable column of `model` with its default (created_at: `now`)."""
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name == "id":
            continue
        if info.default_factory is not None:
            values[name] = info.default_factory()
        elif info.is_required():
            values[name] = now if name in ("created_at", "entered_at", "opened_at") else None
        else:
            values[name] = info.default
    return values


def _bound(processor: Any, values: list) -> list:
    """`values` through a bind processor, once per distinct value where values repeat."""
    if processor is None:
        return values
    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, date | bool):  # few distinct days, two booleans
        memo = {v: processor(v) for v in set(values)}
        return [memo[v] for v in values]
    return list(map(processor, values))


@dataclass(frozen=True)
class _Statement:
    """The SQL of one bulk insert, from ``sqlalchemy.insert(table)`` compiled for the dialect:
    the columns in the order of its positional parameters, and (when it returns ids) the
    text of one row's VALUES group, which a page of rows repeats."""

    sql: str
    columns: tuple[str, ...]
    row_values: str = ""


_STATEMENTS: dict[tuple, _Statement] = {}  # compiled once per process (about 2 ms each)


def _statement(dialect: Any, table: Any, names: Sequence[str], key: Sequence[str]) -> _Statement:
    """``insert(table)`` for the columns `names`, compiled for `dialect` with positional
    parameters; with `key`, ``RETURNING id, *key`` (the natural key that matches each
    returned id to its row: neither SQLite nor PostgreSQL promise RETURNING's row order for
    a multi-row VALUES, so the writer does not rely on it)."""
    cache_key = (dialect.name, dialect.paramstyle, table.name, tuple(names), tuple(key))
    if cache_key in _STATEMENTS:
        return _STATEMENTS[cache_key]
    statement = insert(table)
    if key:
        statement = statement.returning(table.c.id, *(table.c[k] for k in key))
    compiled = statement.compile(dialect=dialect, column_keys=list(names),
                                 for_executemany=bool(key))
    columns = tuple(compiled.positiontup or ())
    if sorted(columns) != sorted(names):
        raise RuntimeError(f"{table.name}: the compiled insert binds {columns}, not {names}")
    row_values = ""
    if key:
        # the one VALUES group of the statement, as SQLAlchemy's own "insertmanyvalues"
        # finds it to send many rows in one statement
        row_values = f"({compiled._insertmanyvalues.single_values_expr})"
        if compiled.string.count(row_values) != 1:
            raise RuntimeError(f"{table.name}: no single VALUES group in {compiled.string}")
    _STATEMENTS[cache_key] = _Statement(compiled.string, columns, row_values)
    return _STATEMENTS[cache_key]


def _positional(dialect: Any) -> Any:
    """`dialect`, or the same dialect with psycopg's positional ``%s`` markers (SQLAlchemy's
    psycopg dialect names its parameters; the driver's cursor takes either)."""
    if dialect.positional:
        return dialect
    positional = type(dialect)(paramstyle="format")
    positional.server_version_info = dialect.server_version_info
    return positional


# Rows per multi-row INSERT ... RETURNING on SQLite and PostgreSQL without COPY (one
# statement text per page size, kept in the driver's statement cache). In a 100,000-row
# import the infusions took the same CPU at 25 to 100 rows a page and more at 10; 1,000 is
# slower (docs/PERFORMANCE.md, "One write path").
RETURNING_PAGE = 50
_MAX_PARAMETERS = 32_000  # SQLite: at most 32,766 per statement (3.32+); PostgreSQL 65,535


class _Writer:
    """Rows into the caller's transaction: the SQL of ``insert(table)`` compiled for the
    dialect, sent on the driver's cursor (executemany of plain tuples); the ids of new
    rows from RETURNING, or on PostgreSQL with COPY from the table's sequence."""

    def __init__(self, session: Session, now: datetime, chunk_size: int) -> None:
        self.session, self.now, self.chunk_size = session, now, chunk_size
        self.dialect = session.get_bind().dialect
        self.sql_dialect = _positional(self.dialect)
        self.copy = (USE_COPY and self.dialect.name == "postgresql"
                     and self.dialect.driver == "psycopg")
        self.sequences: dict[str, str] = {}  # table -> its id sequence (PostgreSQL)

    def _columns(self, model: type[SQLModel], rows: _Columns,
                 links: dict[str, list]) -> dict[str, Sequence]:
        """Each insertable column of `model`: its values from `links`, the rows or its
        default, through the column's bind processor (as a Core insert would)."""
        table = model.__table__  # type: ignore[attr-defined]
        columns: dict[str, Sequence] = {}
        for name, default in _defaults(model, self.now).items():
            column = table.c[name]
            processor = column.type.dialect_impl(self.dialect).bind_processor(self.dialect)
            if isinstance(column.type, JSON) and rows.json_text and name in rows:
                # the text SQLite's processor would write; psycopg sends a str untyped,
                # and PostgreSQL reads it as json
                processor = None
            if name in links:
                columns[name] = _bound(processor, links[name])
            elif name in rows:
                columns[name] = _bound(processor, rows.get(name, default))
            else:  # the same value on every row: converted once
                columns[name] = [default if processor is None else processor(default)] * len(rows)
        return columns

    def insert(self, model: type[SQLModel], rows: _Columns, links: dict[str, list], *,
               key: Sequence[str] = (), wanted: Sequence[bool] | None = None,
               ) -> list[int | None]:
        """Insert `rows` of `model`: each column from the rows, `links`, or its default.

        With `key` (the table's columns that tell its rows apart), return the id of each
        row (of each row where `wanted`, None elsewhere), in the order of `rows`."""
        n = len(rows)
        if not n:
            return []
        table = model.__table__  # type: ignore[attr-defined]
        columns = self._columns(model, rows, links)
        if key and wanted is None:
            wanted = [True] * n
        if not key or not any(wanted or ()):
            key, wanted = (), None
        if self.copy:
            # COPY returns nothing: the ids of a parent table are drawn from its sequence
            # and sent with the rows. A few wanted among many (the scores alerts refer to)
            # are left to the caller's look-up by natural key: drawing an id for each of a
            # hundred thousand scores would cost more than that one query.
            reserved = self._reserve_ids(table, n) if key and all(wanted or ()) else None
            self._copy(table, columns, reserved)
            return [None] * n if reserved is None else list(reserved)
        plain = _statement(self.sql_dialect, table, list(columns), ())
        tuples = list(zip(*(columns[c] for c in plain.columns), strict=True))
        ids: list[int | None] = [None] * n
        returning = _statement(self.sql_dialect, table, list(columns), key) if key else None
        keys = [columns[k] for k in key]
        with self._cursor(plain.sql) as cursor:
            for start, stop, returns in _runs(wanted or [False] * n):
                if returns and returning is not None:
                    self._insert_returning(cursor, returning, tuples, keys, start, stop, ids)
                    continue
                for chunk in _chunks(tuples[start:stop], self.chunk_size):
                    cursor.executemany(plain.sql, chunk)
        return ids

    @contextmanager
    def _cursor(self, sql: str) -> Iterator[Any]:
        """The driver's cursor of the session's connection (so in its transaction); its
        errors raised as SQLAlchemy's (IntegrityError, ...), as Core would, without the
        parameters (patient data) in the message."""
        cursor = self.session.connection().connection.driver_connection.cursor()
        try:
            with self._driver_errors(sql):
                yield cursor
        finally:
            cursor.close()

    @contextmanager
    def _driver_errors(self, sql: str) -> Iterator[None]:
        dbapi = self.dialect.loaded_dbapi
        try:
            yield
        except dbapi.Error as error:
            raise DBAPIError.instance(sql, None, error, dbapi.Error, hide_parameters=True,
                                      dialect=self.dialect) from error

    def _insert_returning(self, cursor: Any, statement: _Statement, tuples: list[tuple],
                          keys: list[Sequence], start: int, stop: int, ids: list) -> None:
        """Rows start..stop in pages of multi-row ``INSERT ... RETURNING id, *key``, each
        returned id put at the row of its key (`keys`: the key columns)."""
        width = max(1, len(statement.columns))
        page = max(1, min(RETURNING_PAGE, _MAX_PARAMETERS // width))
        rows = zip(*(column[start:stop] for column in keys), strict=True)
        position = dict(zip(rows, range(start, stop), strict=True))
        if len(position) != stop - start:
            raise ValueError("bulk insert: two rows with the same natural key")
        head, tail = statement.sql.split(statement.row_values)
        texts: dict[int, str] = {}
        flat = list(itertools.chain.from_iterable(tuples[start:stop]))
        for first in range(0, stop - start, page):
            size = min(page, stop - start - first)
            if size not in texts:
                texts[size] = head + ", ".join([statement.row_values] * size) + tail
            cursor.execute(texts[size], flat[first * width:(first + size) * width])
            for row in cursor.fetchall():
                ids[position.pop(row[1:])] = row[0]
        if position:
            raise RuntimeError(f"bulk insert: {len(position)} rows without a returned id")

    def _reserve_ids(self, table: Any, n: int) -> list[int]:
        """`n` new ids of `table` from its sequence (PostgreSQL, for COPY, which returns
        nothing): nextval never hands a value out twice, to this transaction or to a
        concurrent writer, so the rows may carry them; ascending, as the rows are."""
        connection = self.session.connection()
        if table.name not in self.sequences:  # once: per row it is a catalog look-up
            self.sequences[table.name] = connection.execute(
                select(func.pg_get_serial_sequence(table.name, "id"))).scalar_one()
        sequence = cast(literal(self.sequences[table.name]), REGCLASS)
        reserved = connection.execute(
            select(func.nextval(sequence)).select_from(func.generate_series(1, n))).scalars()
        return sorted(reserved)

    def _copy(self, table: Any, columns: dict[str, Sequence], ids: list[int] | None) -> None:
        names = list(columns)
        values = [columns[c] for c in names]
        if ids is not None:
            names, values = ["id", *names], [ids, *values]
        quote = self.dialect.identifier_preparer.quote
        sql = f"COPY {quote(table.name)} ({', '.join(quote(n) for n in names)}) FROM STDIN"
        with self._driver_errors(sql):
            _copy_rows(self.session.connection(), sql, zip(*values, strict=True))


def _runs(flags: Sequence[bool]) -> Iterator[tuple[int, int, bool]]:
    """(start, stop, flag) of each run of equal `flags`."""
    start = 0
    for flag, group in itertools.groupby(flags):
        stop = start + sum(1 for _ in group)
        yield start, stop, bool(flag)
        start = stop


def _copy_rows(connection: Any, sql: str, rows: Iterable[tuple]) -> None:
    """The rows through PostgreSQL's COPY FROM STDIN on the session's own psycopg connection
    (so in its transaction). Each value is adapted by psycopg as a parameter would be,
    in COPY's text format (None: NULL; JSON columns: their JSON text)."""
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def _new(rows: _Columns, keys: list, known: dict) -> tuple[_Columns, list]:
    """The rows whose key is not in `known`, and their keys."""
    positions = [i for i, key in enumerate(keys) if key not in known]
    if len(positions) == len(keys):
        return rows, keys
    return rows.take(positions), [keys[i] for i in positions]


def _write_people(writer: _Writer, batch: _Batch, ids: _Ids) -> dict[str, int]:
    """Clinics, users (+ clinic links) and patients."""
    clinics, codes = _new(batch.clinics, batch.clinics.get("code"), ids.clinics)
    ids.clinics.update(zip(codes, writer.insert(Clinic, clinics, {}, key=("code",)),
                           strict=True))
    users, names = _new(batch.users, batch.users.get("username"), ids.users)
    ids.users.update(zip(names, writer.insert(User, users, {}, key=("username",)), strict=True))
    if names:
        links = [(ids.users[name], ids.clinics[code])
                 for name, clinics_of in zip(names, users.get("clinics", ()), strict=True)
                 for code in clinics_of or ()]
        writer.insert(UserClinic, _Columns(pd.DataFrame(links, columns=["user_id", "clinic_id"])),
                      {})
    patients, keys = _new(batch.patients, batch.patients.keys(*_PATIENT), ids.patients)
    study_ids = patients.get("study_id")
    fresh = iter(new_study_ids(sum(not s for s in study_ids)))
    new_ids = writer.insert(Patient, patients, {
        "clinic_id": [ids.clinics[c] for c, _ in keys],
        "study_id": [s or next(fresh) for s in study_ids]}, key=("clinic_id", "patient_code"))
    ids.patients.update(zip(keys, new_ids, strict=True))
    return {"clinics": len(codes), "users": len(names), "patients": len(keys)}


def _user_ids(rows: _Columns, id_column: str, name_column: str, users: dict[str, int]) -> list:
    """A user id per row: `id_column`, else the id of the user named in `name_column`."""
    ids = rows.get(id_column)
    if name_column not in rows:
        return ids
    return [i if i is not None else users.get(name)
            for i, name in zip(ids, rows.get(name_column), strict=True)]


def _alerted_rows(rows: _Columns, infusion_keys: list[tuple], alerted: set[tuple]
                  ) -> dict[int, tuple]:
    """The rows of the scores that alerts refer to (their slot keys), whose ids the alerts
    need: a few in many, found through their infusions first."""
    infusions = {key[:4] for key in alerted}
    candidates = [i for i, key in enumerate(infusion_keys) if key in infusions]
    if not candidates:
        return {}
    timepoints, instruments, days = (rows.get(name) for name in
                                     ("timepoint", "instrument", "administered_on"))
    out = {}
    for i in candidates:
        slot = (*infusion_keys[i], timepoints[i], instruments[i], _day(days[i]))
        if slot in alerted:
            out[i] = slot
    return out


def _write_treatment(writer: _Writer, batch: _Batch, ids: _Ids) -> dict[str, int]:
    """Courses, infusions, assessments and safety alerts."""
    users = ids.users
    courses, keys = _new(batch.courses, batch.courses.keys(*_COURSE), ids.courses)
    new_ids = writer.insert(Course, courses, {"patient_id": [ids.patients[k[:2]] for k in keys]},
                            key=("patient_id", "number"))
    ids.courses.update(zip(keys, new_ids, strict=True))
    created = {"courses": len(keys)}

    infusions, keys = _new(batch.infusions, batch.infusions.keys(*_INFUSION), ids.infusions)
    clinician = _user_ids(infusions, "clinician_id", "clinician_code", users)
    new_ids = writer.insert(Infusion, infusions, {"course_id": [ids.courses[k[:3]] for k in keys],
                                                  "clinician_id": clinician},
                            key=("course_id", "number"))
    ids.infusions.update(zip(keys, new_ids, strict=True))
    created["infusions"] = len(keys)

    rows = batch.assessments
    parents = {key: (ids.courses[key[:3]], infusion) for key, infusion in ids.infusions.items()}
    infusion_keys = rows.keys(*_SLOT[:4])
    links = [parents[key] for key in infusion_keys]
    course_ids = [course for course, _ in links]
    infusion_ids = [infusion for _, infusion in links]
    entered = _user_ids(rows, "entered_by_id", "entered_by_username", users)
    alerts = batch.alerts
    keys = [(*key[:-1], _day(key[-1])) for key in alerts.keys(*_SLOT, "observed_on")]
    alerted = _alerted_rows(rows, infusion_keys, set(keys))
    new_ids = writer.insert(Assessment, rows, {"course_id": course_ids, "infusion_id": infusion_ids,
                                               "entered_by_id": entered},
                            key=_SCORE_KEY if alerted else (),
                            wanted=[i in alerted for i in range(len(rows))] if alerted else None)
    ids.assessments.update((slot, new_ids[i]) for i, slot in alerted.items()
                           if new_ids[i] is not None)
    created["assessments"] = len(rows)

    missing = [k for k in set(keys) if k not in ids.assessments]
    if missing:  # scores the store held before this batch
        ids.read_assessments(writer.session, missing)
    writer.insert(SafetyAlert, alerts, {"assessment_id": [ids.assessments[k] for k in keys],
                                        "patient_id": [ids.patients[k[:2]] for k in keys],
                                        "clinic_id": [ids.clinics[k[0]] for k in keys]})
    created["alerts"] = len(alerts)
    return created


def write_records(session: Session, records: BulkRecords, *,
                  chunk_size: int = CHUNK_SIZE) -> dict[str, int]:
    """Insert `records` in the caller's transaction; return how many rows of each were created."""
    batch = _Batch.of(records)
    ids = _existing_ids(session, batch)
    writer = _Writer(session, utcnow(), chunk_size)
    created = _write_people(writer, batch, ids)
    created.update(_write_treatment(writer, batch, ids))

    touched = {k[:3] for k in batch.infusions.keys(*_INFUSION)}
    touched |= {k[:3] for k in batch.assessments.keys(*_SLOT[:3])}
    mark_courses_stale(session, (ids.courses.get(k) for k in touched))
    return created
