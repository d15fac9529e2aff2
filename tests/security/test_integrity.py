"""Issue 15, integrity: the audit trail cannot be overwritten, and a store or a backup
whose schema differs from the migrations' (missing, altered or planted triggers, extra
columns, indexes, tables) is refused by `restore` and caught by `verify-audit` /
`verify-store` (exit 1 naming the first difference). The expected schema is the one a
fresh store gets from the production migrations (data/store/schema_check.py)."""

from __future__ import annotations

import os
import sqlite3

import pytest
from sqlalchemy.exc import DBAPIError

import manage
from data.store import audit
from data.store.db import write_session
from models.access import SYSTEM
from tests.audit_factories import raw

POSTGRES = bool(os.environ.get("TEST_DATABASE_URL"))
sqlite_only = pytest.mark.skipif(POSTGRES, reason="SQLite file and SQLite syntax")

COLUMNS = ("id, occurred_at, user_id, username, action, entity, entity_id, patient_id, field, "
           "old_value, new_value, reason, session_id, prev_hash, hash")
FORGED = COLUMNS.replace("new_value", "'forged'")


def write_events(n: int) -> None:
    with write_session() as session:
        for number in range(1, n + 1):
            audit.record(session, actor=SYSTEM, action="note", entity="test", new=number)


def run(capsys, *argv: str) -> tuple[int, str]:
    code = manage.main(list(argv))
    return code, capsys.readouterr().err


OVERWRITES = [
    # (statement, SQLite only) - each must be refused by the append-only triggers
    pytest.param(f"INSERT OR REPLACE INTO audit_event ({COLUMNS}) SELECT {FORGED} "
                 "FROM audit_event WHERE id = 1", marks=sqlite_only, id="insert-or-replace"),
    pytest.param(f"REPLACE INTO audit_event ({COLUMNS}) SELECT {FORGED} FROM audit_event "
                 "WHERE id = 1", marks=sqlite_only, id="replace-into"),
    pytest.param(f"INSERT INTO audit_event ({COLUMNS}) SELECT {FORGED} FROM audit_event "
                 "WHERE id = 1 ON CONFLICT (id) DO UPDATE SET new_value = 'forged'",
                 id="upsert-on-id"),
    pytest.param(f"INSERT INTO audit_event ({COLUMNS}) SELECT {FORGED.replace('id,', '99,', 1)} "
                 "FROM audit_event WHERE id = 1 ON CONFLICT (hash) DO UPDATE SET "
                 "new_value = 'forged'", id="upsert-on-hash"),
    pytest.param("INSERT OR REPLACE INTO audit_event (" + COLUMNS + ") SELECT "
                 + FORGED.replace("id,", "99,", 1) + " FROM audit_event WHERE id = 1",
                 marks=sqlite_only, id="replace-on-hash-with-a-new-id"),
    pytest.param("UPDATE OR REPLACE audit_event SET new_value = 'forged' WHERE id = 1",
                 marks=sqlite_only, id="update-or-replace"),
    pytest.param("DELETE FROM audit_event", id="delete-all"),
]


@pytest.mark.parametrize("sql", OVERWRITES)
def test_an_audit_event_cannot_be_overwritten(engine, sql, capsys):
    write_events(2)
    with pytest.raises(DBAPIError, match="append-only"):
        raw(engine, sql)
    code, err = run(capsys, "verify-audit")
    assert code == 0 and "audit trail intact: 2 events" in err


@pytest.fixture
def sqlite_file(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite")
    return engine.url.database


NO_OP = "BEGIN SELECT 1; END"
SQLITE_TAMPERING = [
    # (name, statements, fragment of the first difference)
    ("no-op trigger under the append-only name",
     ["DROP TRIGGER audit_event_no_update",
      f"CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event {NO_OP}"],
     "trigger audit_event_no_update: its definition differs"),
    ("append-only trigger dropped", ["DROP TRIGGER audit_event_no_delete"],
     "trigger audit_event_no_delete: missing"),
    ("planted trigger zeroing totals",
     ["CREATE TRIGGER zero_totals AFTER INSERT ON assessment BEGIN "
      "UPDATE assessment SET total = 0 WHERE id = NEW.id; END"],
     "trigger zero_totals: not part of the schema"),
    ("trigger renamed", ["ALTER TABLE audit_event RENAME TO audit_event_old",
                         "ALTER TABLE audit_event_old RENAME TO audit_event"], None),
    ("extra column", ["ALTER TABLE patient ADD COLUMN exfil TEXT"],
     "table patient: its definition differs"),
    ("index dropped", ["DROP INDEX ix_audit_event_occurred_at"],
     "index ix_audit_event_occurred_at: missing"),
    ("extra index", ["CREATE INDEX ix_spy ON patient (name)"], "index ix_spy: not part"),
    ("extra table", ["CREATE TABLE stash (x)"], "table stash: not part"),
    ("view", ["CREATE VIEW names AS SELECT name FROM patient"], "view names: not part"),
]


@pytest.mark.parametrize(("name", "statements", "first"), SQLITE_TAMPERING,
                         ids=[c[0] for c in SQLITE_TAMPERING])
def test_a_tampered_sqlite_store_and_backup_are_detected(sqlite_file, tmp_path, capsys, name,
                                                         statements, first):
    from data.audit.backup import BackupError, backup, restore

    write_events(2)
    backup(tmp_path / "b.db", actor=SYSTEM)
    conn = sqlite3.connect(tmp_path / "b.db")
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    code, err = run(capsys, "verify-store", str(tmp_path / "b.db"))
    if first is None:  # renaming a table and back rewrites its triggers to the same text
        assert code == 0, err
        return
    assert code == 1 and first in err, err
    with pytest.raises(BackupError, match="schema is not the one the migrations build"):
        restore(tmp_path / "b.db", actor=SYSTEM)
    # the same tampering on the live store: verify-store, and verify-audit for triggers
    conn = sqlite3.connect(sqlite_file)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    code, err = run(capsys, "verify-store")
    assert code == 1 and first in err
    code, err = run(capsys, "verify-audit")
    assert code == (1 if first.startswith("trigger") else 0), err


def test_an_untouched_store_and_backup_pass(store_url, tmp_path, capsys):
    write_events(3)
    assert run(capsys, "verify-store") == (0, run(capsys, "verify-store")[1])
    code, err = run(capsys, "verify-store")
    assert code == 0 and "match" in err
    if not POSTGRES:
        from data.audit.backup import backup, restore

        backup(tmp_path / "b.db", actor=SYSTEM)
        assert run(capsys, "verify-store", str(tmp_path / "b.db"))[0] == 0
        restore(tmp_path / "b.db", actor=SYSTEM)


POSTGRES_TAMPERING = [
    ("no-op trigger function",
     ["CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$ "
      "BEGIN RETURN NEW; END; $$ LANGUAGE plpgsql"],
     "function audit_event_append_only: its definition differs"),
    ("no-op trigger under the append-only name",
     ["CREATE OR REPLACE FUNCTION keep() RETURNS trigger AS $$ BEGIN RETURN NEW; END; $$ "
      "LANGUAGE plpgsql",
      "DROP TRIGGER audit_event_no_update ON audit_event",
      "CREATE TRIGGER audit_event_no_update BEFORE UPDATE OR DELETE ON audit_event "
      "FOR EACH ROW EXECUTE FUNCTION keep()"],
     "trigger audit_event_no_update on audit_event: its definition differs"),
    ("planted trigger zeroing totals",
     ["CREATE OR REPLACE FUNCTION zero() RETURNS trigger AS $$ BEGIN NEW.total := 0; "
      "RETURN NEW; END; $$ LANGUAGE plpgsql",
      "CREATE TRIGGER zero_totals BEFORE INSERT ON assessment FOR EACH ROW "
      "EXECUTE FUNCTION zero()"],
     "trigger zero_totals on assessment: not part"),
    ("truncate trigger dropped", ["DROP TRIGGER audit_event_no_truncate ON audit_event"],
     "trigger audit_event_no_truncate on audit_event: missing"),
    ("extra column", ["ALTER TABLE patient ADD COLUMN exfil text"], "column patient.exfil"),
    ("index dropped", ["DROP INDEX ix_audit_event_occurred_at"],
     "index ix_audit_event_occurred_at: missing"),
]


@pytest.mark.skipif(not POSTGRES, reason="PostgreSQL catalogue")
@pytest.mark.parametrize(("name", "statements", "first"), POSTGRES_TAMPERING,
                         ids=[c[0] for c in POSTGRES_TAMPERING])
def test_a_tampered_postgres_store_is_detected(engine, capsys, name, statements, first):
    write_events(2)
    for statement in statements:
        raw(engine, statement)
    code, err = run(capsys, "verify-store")
    assert code == 1 and first in err, err
    code, err = run(capsys, "verify-audit")
    assert code == (1 if first.startswith(("trigger", "function")) else 0), err


@pytest.mark.skipif(not POSTGRES, reason="PostgreSQL roles")
def test_a_role_that_cannot_build_the_expected_schema_fails_the_check(engine, capsys):
    """Without CREATE on the database the triggers cannot be compared: verify-store and
    verify-audit say so and exit 1 rather than pass unverified."""
    from sqlalchemy import create_engine, text

    with engine.begin() as conn:
        conn.execute(text("DROP ROLE IF EXISTS schema_check_reader"))
        conn.execute(text("CREATE ROLE schema_check_reader LOGIN"))
        conn.execute(text("GRANT USAGE ON SCHEMA public TO schema_check_reader"))
        conn.execute(text("GRANT SELECT ON ALL TABLES IN SCHEMA public TO "
                          "schema_check_reader"))
        conn.execute(text("REVOKE CREATE ON DATABASE clinic_test FROM PUBLIC"))
    from data.store.schema_check import differences

    url = engine.url.set(username="schema_check_reader")
    reader = create_engine(url)
    try:
        problems = differences(reader)
    finally:
        reader.dispose()
        with engine.begin() as conn:
            conn.execute(text("GRANT CREATE ON DATABASE clinic_test TO PUBLIC"))
            conn.execute(text("DROP OWNED BY schema_check_reader"))
            conn.execute(text("DROP ROLE schema_check_reader"))
    assert problems and problems[0].startswith("schema: the migrations' schema could not")
