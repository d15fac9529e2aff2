"""Backup and restore of the SQLite store with SQLite's online backup API: safe while
the app is writing (never a plain file copy). On PostgreSQL use pg_dump / pg_restore
(see docs/OPERATIONS.md).

Restore checks the candidate file first (integrity, schema revision, the whole schema
against the one the migrations build (data/store/schema_check.py), audit chain) and
only then copies it, page by page under SQLite's lock, over the live store.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import Engine, make_url

from data.store import audit
from data.store.db import get_engine, write_session
from models.access import Actor, require


class BackupError(ValueError):
    """The backup or restore cannot proceed (message says why)."""


def _store_path(engine: Engine) -> Path:
    url = make_url(str(engine.url))
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise BackupError("backup/restore: only for a SQLite file store; on PostgreSQL use "
                          "pg_dump and pg_restore (docs/OPERATIONS.md)")
    return Path(url.database)


def backup(target: str | Path, *, actor: Actor, engine: Engine | None = None) -> dict:
    """Copy the live store to `target` with the online backup API; audited."""
    engine = engine or get_engine()
    source_path = _store_path(engine)
    target = Path(target)
    if target.resolve() == source_path.resolve():
        raise BackupError("FILE: the backup must not overwrite the live store")
    with write_session(engine) as session:
        require(actor, "backup", entity="store")
        audit.record(session, actor=actor, action="backup", entity="store", new=target.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(source_path, timeout=60)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst, pages=1024)
    finally:
        dst.close()
        src.close()
    return check_file(target)


def check_file(path: str | Path) -> dict:
    """Integrity, schema revision and audit-chain check of a store file (read-only)."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"FILE: {path} does not exist")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchone()[0]
            revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
            patients = conn.execute("SELECT count(*) FROM patient").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"FILE: not a store of this application ({exc})") from None
    if result != "ok":
        raise BackupError(f"FILE: integrity check failed: {result}")
    from data.store.schema_check import sqlite_file_differences

    head = _head_revision()
    if revision != head:
        raise BackupError(f"FILE: schema revision {revision} is not this version's "
                          f"{head}; restore with the matching version, then run init-db")
    intact, broken_id, message = _verify_file_chain(path)
    if not intact:
        raise BackupError(f"FILE: audit trail broken at event {broken_id}: {message}")
    schema = sqlite_file_differences(path)
    if schema:
        raise BackupError(f"FILE: the schema is not the one the migrations build "
                          f"({len(schema)} difference(s)); first: {schema[0]}")
    return {"integrity": result, "revision": revision, "patients": patients, "audit": message}


def _head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    from data.store.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _verify_file_chain(path: Path) -> tuple[bool, int | None, str]:
    from data.store.db import make_engine, read_session

    engine = make_engine(f"sqlite:///{path}")
    try:
        with read_session(engine) as session:
            return audit.verify_chain(session)
    finally:
        engine.dispose()


def restore(source: str | Path, *, actor: Actor, engine: Engine | None = None) -> dict:
    """Check `source`, then copy it over the live store (online backup API); audited."""
    engine = engine or get_engine()
    live_path = _store_path(engine)
    with write_session(engine) as session:  # refused (and audited) before anything changes
        require(actor, "backup", entity="store")
    report = check_file(source)
    from alembic.script import ScriptDirectory

    from data.store.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if report["revision"] != head:
        raise BackupError(f"FILE: schema revision {report['revision']} is not this version's "
                          f"{head}; restore with the matching version, then run init-db")
    engine.dispose()
    src = sqlite3.connect(f"file:{Path(source)}?mode=ro", uri=True)
    dst = sqlite3.connect(live_path, timeout=60)
    try:
        src.backup(dst, pages=1024)
    finally:
        dst.close()
        src.close()
    with write_session(engine) as session:
        audit.record(session, actor=actor, action="restore", entity="store",
                     new=Path(source).name)
    return report
