"""Migration 0005 (sessions and drafts): new tables only; up, down and up again on a
store at 0004; the unique draft slot and the foreign keys hold."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from data.store.migrate import upgrade
from tests.data.migration_store import downgrade, store_at

T = "'2026-12-06 09:00:00'"


@pytest.fixture
def engine_at_0004(tmp_path, monkeypatch):
    with store_at("0004", tmp_path, monkeypatch) as engine:
        yield engine


def _tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_up_down_up(engine_at_0004):
    engine = engine_at_0004
    assert not {"user_session", "draft"} & _tables(engine)
    upgrade(engine)
    assert {"user_session", "draft"} <= _tables(engine)
    downgrade(engine, "0004")
    assert not {"user_session", "draft"} & _tables(engine)
    upgrade(engine)
    assert {"user_session", "draft"} <= _tables(engine)


def test_one_draft_per_user_patient_kind(engine_at_0004):
    engine = engine_at_0004
    upgrade(engine)
    with engine.begin() as c:
        c.execute(text("INSERT INTO clinic (id, code, name, created_at, crisis_text, "
                       f"oncall_email, oncall_webhook) VALUES (1, 'CL1', 'C', {T}, '', '', '')"))
        c.execute(text("INSERT INTO app_user (id, username, full_name, password_hash, role, "
                       "all_clinics, active, must_change_password, failed_logins, created_at) "
                       f"VALUES (1, 'u', '', 'x', 'clinician', false, true, false, 0, {T})"))
        c.execute(text("INSERT INTO patient (id, clinic_id, patient_code, study_id, name, "
                       f"notes, created_at) VALUES (1, 1, 'P-1', 'S-1', '', '', {T})"))
        c.execute(text("INSERT INTO draft (user_id, patient_id, kind, payload, created_at, "
                       f"updated_at) VALUES (1, 1, 'infusion', '{{}}', {T}, {T})"))
    with pytest.raises(IntegrityError), engine.begin() as c:
        c.execute(text("INSERT INTO draft (user_id, patient_id, kind, payload, created_at, "
                       f"updated_at) VALUES (1, 1, 'infusion', '{{}}', {T}, {T})"))
    with pytest.raises(IntegrityError), engine.begin() as c:  # no such user
        c.execute(text("INSERT INTO user_session (id, user_id, created_at, last_seen_at, "
                       "idle_expires_at, absolute_expires_at, user_agent) VALUES "
                       f"('{'a' * 64}', 99, {T}, {T}, {T}, {T}, '')"))
