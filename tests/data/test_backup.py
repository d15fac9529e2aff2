"""Backup (online API, under concurrent writes) and restore (checked before replacing)."""

from __future__ import annotations

import multiprocessing as mp
import os
import sqlite3

import pytest
from sqlmodel import func, select

from data.audit.backup import BackupError, backup, check_file, restore
from data.store import db
from data.store.audit import record
from models.access import SYSTEM, Actor, PermissionDenied
from models.tables import AuditEvent

pytestmark = pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")),
                                reason="SQLite backup API; PostgreSQL uses pg_dump")


def _writer(url: str, n: int) -> None:
    os.environ["DATABASE_URL"] = url
    from data.store.settings import get_settings

    get_settings.cache_clear()
    for i in range(n):
        with db.write_session(db.get_engine(url)) as session:
            record(session, actor=SYSTEM, action="test_write", new={"i": i})


def _count(url: str) -> int:
    with db.read_session(db.get_engine(url)) as session:
        return session.exec(select(func.count()).select_from(AuditEvent)).one()


def test_backup_under_concurrent_writes_is_consistent(store_url, tmp_path):
    ctx = mp.get_context("spawn")
    writers = [ctx.Process(target=_writer, args=(store_url, 150)) for _ in range(2)]
    for w in writers:
        w.start()
    reports = [backup(tmp_path / f"b{i}.db", actor=SYSTEM) for i in range(3)]
    for w in writers:
        w.join(120)
        assert w.exitcode == 0
    for report in reports:
        assert report["integrity"] == "ok"
        assert report["audit"].startswith("audit trail intact")
    assert _count(store_url) == 2 * 150 + 3  # every write kept, plus 3 backup events


def test_restore_returns_the_store_to_the_backup(store_url, tmp_path):
    _writer(store_url, 5)
    backup(tmp_path / "b.db", actor=SYSTEM)  # 5 writes + 1 backup event
    _writer(store_url, 7)
    assert _count(store_url) == 13
    restore(tmp_path / "b.db", actor=SYSTEM)
    assert _count(store_url) == 6 + 1  # the backup's 6 events + the restore event
    assert check_file(db.get_engine().url.database)["audit"] == "audit trail intact: 7 events"


@pytest.mark.parametrize(("content", "message"), [
    (b"not a database at all" * 100, "not a store of this application"),
    (None, "not a store of this application"),  # an empty SQLite file of another program
])
def test_restore_refuses_a_file_that_is_not_a_store(store_url, tmp_path, content, message):
    _writer(store_url, 2)
    bad = tmp_path / "bad.db"
    if content is None:
        sqlite3.connect(bad).execute("CREATE TABLE other (x)").connection.close()
    else:
        bad.write_bytes(content)
    with pytest.raises(BackupError, match=message):
        restore(bad, actor=SYSTEM)
    assert _count(store_url) == 2  # nothing replaced


def test_restore_refuses_a_backup_with_a_broken_audit_chain(store_url, tmp_path):
    _writer(store_url, 3)
    backup(tmp_path / "b.db", actor=SYSTEM)
    conn = sqlite3.connect(tmp_path / "b.db")
    conn.execute("DROP TRIGGER audit_event_no_update")
    conn.execute("UPDATE audit_event SET new_value = '{\"i\": 99}' WHERE id = 2")
    conn.commit()
    conn.close()
    with pytest.raises(BackupError, match="audit trail broken at event 2"):
        restore(tmp_path / "b.db", actor=SYSTEM)


def test_backup_refuses_to_overwrite_the_store_and_needs_the_backup_permission(store_url):
    with pytest.raises(BackupError, match="must not overwrite"):
        backup(db.get_engine().url.database, actor=SYSTEM)
    clinician = Actor(user_id=1, username="c", role="clinician")
    with pytest.raises(PermissionDenied):
        backup("/tmp/never.db", actor=clinician)
    with db.read_session() as session:
        denied = session.exec(select(AuditEvent).where(AuditEvent.action == "denied")).all()
    assert [e.reason for e in denied] == ["backup"]
