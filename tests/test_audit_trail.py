"""The audit trail's guarantees: the hash format, the append-only triggers, and
`manage.py verify-audit` failing AT the tampered event (docs/AUDIT.md)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

import manage
from data.store import audit
from data.store.db import read_session, write_session
from data.store.settings import PROJECT_ROOT
from models.access import SYSTEM
from models.tables import AuditEvent
from tests.audit_factories import drop_triggers, raw

GENESIS = "0" * 64


def write_events(n: int) -> None:
    """Events 1..n, each noting its number (the store starts with an empty trail)."""
    with write_session() as session:
        for number in range(1, n + 1):
            audit.record(session, actor=SYSTEM, action="note", entity="test",
                         entity_id=number, new=number)


def hashes() -> list[str]:
    with read_session() as session:
        return list(session.exec(select(AuditEvent.hash).order_by(AuditEvent.id)).all())


def verify(capsys, *args: str) -> tuple[int, str, str]:
    code = manage.main(["verify-audit", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_an_event_hash_is_sha256_of_the_previous_hash_and_its_canonical_json(store_url):
    with write_session() as session:
        event = audit.record(session, actor=SYSTEM, action="create", entity="clinic",
                             entity_id=7, new={"code": "CL9"}, reason="opened")
    when = event.occurred_at.isoformat(timespec="seconds")
    assert when.endswith("+00:00")
    payload = ('{"action": "create", "entity": "clinic", "entity_id": "7", "field": null, '
               '"new_value": "{\\"code\\": \\"CL9\\"}", "occurred_at": "' + when + '", '
               '"old_value": null, "patient_id": null, "reason": "opened", '
               '"session_id": null, "user_id": null, "username": "system"}')
    expected = hashlib.sha256((GENESIS + payload).encode()).hexdigest()
    with read_session() as session:
        stored = session.exec(select(AuditEvent)).one()
    assert (stored.prev_hash, stored.hash) == (GENESIS, expected)


def test_each_event_links_to_the_previous_one(store_url):
    write_events(3)
    with read_session() as session:
        events = session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.prev_hash for e in events] == [GENESIS, events[0].hash, events[1].hash]
    assert [e.new_value for e in events] == ["1", "2", "3"]


def test_events_of_one_transaction_chain_from_each_other(store_url):
    with write_session() as session:
        for n in (1, 2, 3):
            audit.record(session, actor=SYSTEM, action="create", entity="clinic", entity_id=n)
    with read_session() as session:
        events = session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.prev_hash for e in events] == [GENESIS, events[0].hash, events[1].hash]


def test_a_rolled_back_event_is_not_the_next_transactions_head(store_url):
    from sqlmodel import Session

    from data.store.db import get_engine

    with Session(get_engine()) as session:  # one session, two transactions
        with session.begin():
            audit.record(session, actor=SYSTEM, action="create", entity="clinic", entity_id=1)
        transaction = session.begin()
        audit.record(session, actor=SYSTEM, action="create", entity="clinic", entity_id=2)
        transaction.rollback()
        with session.begin():
            audit.record(session, actor=SYSTEM, action="create", entity="clinic", entity_id=3)
    with read_session() as session:
        events = session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.entity_id for e in events] == ["1", "3"]
    assert events[1].prev_hash == events[0].hash


@pytest.mark.parametrize("sql", [
    "UPDATE audit_event SET new_value = 'forged' WHERE id = 1",
    "DELETE FROM audit_event WHERE id = 1",
])
def test_the_triggers_refuse_update_and_delete(engine, sql):
    write_events(2)
    with pytest.raises(DBAPIError, match="append-only"):
        raw(engine, sql)
    assert len(hashes()) == 2


def test_an_intact_trail_exits_0_with_the_count_and_the_head_hash(store_url, capsys):
    write_events(5)
    code, out, err = verify(capsys)
    assert code == 0
    assert "audit trail intact: 5 events" in err
    assert out.strip() == hashes()[4]
    assert "event 5" in err


def test_an_empty_trail_is_intact(store_url, capsys):
    code, out, err = verify(capsys)
    assert (code, out.strip()) == (0, GENESIS)
    assert "0 events" in err


def test_an_altered_event_fails_at_that_event(engine, capsys):
    write_events(5)
    drop_triggers(engine)
    raw(engine, "UPDATE audit_event SET new_value = '30' WHERE id = 3")
    code, out, err = verify(capsys)
    assert code == 1
    assert "BROKEN at event 3: content does not match its hash" in err
    assert "2 event(s) before it intact" in err
    assert "append-only triggers missing" in err
    assert out == ""


def test_a_deleted_middle_event_fails_at_its_successor_naming_the_gap(engine, capsys):
    write_events(5)
    drop_triggers(engine)
    raw(engine, "DELETE FROM audit_event WHERE id = 3")
    code, _, err = verify(capsys)
    assert code == 1
    assert "BROKEN at event 4: previous-hash link broken (events 3 before it are missing" in err


def test_an_altered_event_with_a_recomputed_hash_breaks_the_next_link(engine, capsys):
    write_events(5)
    drop_triggers(engine)
    with read_session() as session:  # the forger rewrites event 2 and its own hash
        forged = session.get(AuditEvent, 2)
    forged.new_value = "20"
    raw(engine, "UPDATE audit_event SET new_value = '20', hash = :h WHERE id = 2",
        h=audit.event_hash(forged.prev_hash, forged))
    code, _, err = verify(capsys)
    assert code == 1
    assert "BROKEN at event 3: previous-hash link broken" in err


def test_tampering_is_found_beyond_the_first_batch(engine):
    write_events(7)
    drop_triggers(engine)
    raw(engine, "UPDATE audit_event SET reason = 'x' WHERE id = 6")
    with read_session() as session:
        report = audit.check_chain(session, batch=2)
    assert (report.intact, report.broken_id, report.checked, report.head_id) == (False, 6, 5, 5)


def test_triggers_dropped_on_an_intact_chain_still_fail(engine, capsys):
    write_events(2)
    drop_triggers(engine)
    code, _, err = verify(capsys)
    assert code == 1
    assert "audit trail intact: 2 events" in err
    assert "append-only triggers missing" in err


def test_deleting_the_last_events_is_only_seen_with_a_noted_head(engine, capsys):
    write_events(5)
    noted = hashes()[4]
    assert verify(capsys, "--expect-head", noted)[0] == 0
    drop_triggers(engine)
    raw(engine, "DELETE FROM audit_event WHERE id >= 4")
    # A plain chain cut at its end is still a valid chain (the documented limitation)...
    with read_session() as session:
        report = audit.check_chain(session)
    assert (report.intact, report.checked) == (True, 3)
    # ...but the head noted earlier is gone, and verify-audit says so.
    code, _, err = verify(capsys, "--expect-head", noted)
    assert code == 1
    assert f"noted head {noted} is not part of the verified trail" in err


def test_a_noted_head_stays_valid_while_the_trail_grows(store_url, capsys):
    write_events(2)
    noted = hashes()[1]
    write_events(3)
    code, out, _err = verify(capsys, "--expect-head", noted.upper())
    assert code == 0
    assert out.strip() == hashes()[4]


def test_a_malformed_head_is_bad_input(store_url, capsys):
    code, _, err = verify(capsys, "--expect-head", "abc")
    assert code == 2
    assert "--expect-head" in err


def test_verify_audit_from_the_shell(store_url):
    write_events(3)
    env = {**os.environ, "DATABASE_URL": store_url}
    result = subprocess.run([sys.executable, "manage.py", "verify-audit"], cwd=PROJECT_ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "audit trail intact: 3 events" in result.stderr
