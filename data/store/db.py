"""The engine and the units of work.

SQLite gets WAL, a busy timeout, foreign keys and synchronous=FULL from one connect
listener, and write transactions that BEGIN IMMEDIATE (so two writers queue on the
lock instead of failing on upgrade). The same code runs on PostgreSQL.

SQLite's own wait for the write lock is a poll (sleeps of up to 100 ms): with many
writers at once the lock sits idle between polls and an unlucky writer can starve past
the busy timeout ("database is locked"). So the writers of a store file first queue on
an exclusive `flock` of `<store>-writelock` next to it: the kernel wakes a waiter the
moment the previous write transaction ends, a killed process releases it, and the busy
timeout remains for other programs (a backup, the sqlite3 shell). Issue 6 measured the
difference: 16 processes x 200 saves lost 27 saves to 'database is locked' without it.

Pages never open sessions: services call `write_session()` / `read_session()`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from data.store.settings import get_settings
from models.access import PermissionDenied

try:
    import fcntl
except ImportError:  # not POSIX: SQLite's busy timeout alone
    fcntl = None  # type: ignore[assignment]

_ENGINES: dict[str, Engine] = {}
_HELD = threading.local()  # lock files this thread holds (a nested write must not self-wait)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        # REPLACE's implicit delete fires delete triggers only with recursive triggers on:
        # without it, INSERT OR REPLACE would overwrite an audit event past the
        # append-only triggers (issue 15).
        cursor.execute("PRAGMA recursive_triggers=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        immediate = conn.get_execution_options().get("write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class UnstorableText(ValueError):
    """A text parameter PostgreSQL cannot store (a NUL): refused before the statement is
    sent, so no driver error echoes the statement or its parameters (issue 15)."""


def _refuse_nul(engine: Engine) -> None:
    """PostgreSQL text cannot hold U+0000; the forms and imports refuse it by their text
    rule, and this guard refuses it anywhere else (a search box, a filter) with a message
    that names the problem, not the value. Bulk writes (executemany) are left to the
    rules that validated them."""
    @event.listens_for(engine, "before_cursor_execute")
    def _check(conn, cursor, statement, parameters, context, executemany):
        if executemany or not parameters:
            return
        refuse_nul(parameters.values() if isinstance(parameters, dict) else parameters)


def refuse_nul(values: Iterable[object]) -> None:
    """``UnstorableText`` when a text value holds a NUL (the guard of ``_refuse_nul``, also
    for a statement sent through another driver: data/store/arrow_read.py)."""
    if any(isinstance(v, str) and "\x00" in v for v in values):
        raise UnstorableText("input: contains a control character (U+0000); only "
                             "printable text is accepted")


def make_engine(url: str | None = None) -> Engine:
    """Build an engine for `url` (default: settings.database_url), configured for the store."""
    settings = get_settings()
    url = url or settings.database_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}
        )
        _configure_sqlite(engine, settings.sqlite_busy_timeout_ms)
    else:
        engine = create_engine(url, pool_pre_ping=True)
        _refuse_nul(engine)
    return engine


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for `url` (one per URL, created on first use)."""
    url = url or get_settings().database_url
    if url not in _ENGINES:
        _ENGINES[url] = make_engine(url)
    return _ENGINES[url]


def dispose_engines() -> None:
    """Close every pooled connection (tests, restore), the idle ADBC ones too."""
    from data.store.arrow_read import close_adbc_connections

    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()
    close_adbc_connections()


def _writer_lock_path(engine: Engine) -> str | None:
    """`<store>-writelock` for a SQLite file store; None otherwise."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return f"{database}-writelock"


@contextmanager
def _writer_turn(engine: Engine) -> Iterator[None]:
    """Wait for this store's writer lock (SQLite files only; see the module docstring)."""
    path = _writer_lock_path(engine)
    held = _HELD.__dict__.setdefault("paths", set())
    if fcntl is None or path is None or path in held:
        yield
        return
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o666)  # flock needs no write access
    except OSError:  # e.g. a read-only directory: SQLite's busy timeout alone
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        held.add(path)
        try:
            yield
        finally:
            held.discard(path)
    finally:
        os.close(fd)  # releases the lock


@contextmanager
def write_session(engine: Engine | None = None) -> Iterator[Session]:
    """One write transaction: BEGIN IMMEDIATE on SQLite, commit on success, roll back on error."""
    engine = engine or get_engine()
    bound = engine.execution_options(write=True)
    try:
        with (_writer_turn(engine), Session(bound, expire_on_commit=False) as session,
              session.begin()):
            yield session
    except PermissionDenied as exc:
        _audit_denial(exc, engine)
        raise
    from data.store.outcome_queue import refresh_after_commit

    refresh_after_commit(session, engine)  # committed: a save's course outcome brought up to date


@contextmanager
def read_session(engine: Engine | None = None) -> Iterator[Session]:
    """A read-only unit of work (deferred BEGIN; never commits; loaded objects stay usable)."""
    try:
        with Session(engine or get_engine(), expire_on_commit=False) as session:
            yield session
    except PermissionDenied as exc:
        _audit_denial(exc, engine)
        raise


def _audit_denial(exc: PermissionDenied, engine: Engine | None) -> None:
    """A refused action is audited in its own transaction (the refused one rolled back)."""
    if exc.actor is None or getattr(exc, "audited", False):
        return
    from data.store import audit

    with write_session(engine) as session:
        audit.record(session, actor=exc.actor, action="denied", entity=exc.entity,
                     entity_id=exc.entity_id, reason=exc.permission or str(exc))
    exc.audited = True
