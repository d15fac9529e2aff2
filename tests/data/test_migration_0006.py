"""Migration 0006 on a store holding infusions (SQLite, and PostgreSQL with
TEST_DATABASE_URL): the monitoring columns arrive empty ("not recorded"), the old
adverse-event note is kept, the adverse_event and held-visit tables take rows, foreign
keys hold, and the downgrade returns to 0004 without losing the infusions."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from data.store.migrate import upgrade
from tests.data.migration_store import downgrade, store_at

T = "'2025-03-10 09:00:00'"
ROWS = [
    f"INSERT INTO clinic (id, code, name, created_at) VALUES (1, 'CL1', 'Clinic', {T})",
    "INSERT INTO patient (id, clinic_id, patient_code, study_id, name, notes, created_at) "
    f"VALUES (1, 1, 'P-1', 'S-1', '', '', {T})",
    "INSERT INTO course (id, patient_id, number, course_type, status, created_at) "
    f"VALUES (1, 1, 1, 'induction', 'active', {T})",
    "INSERT INTO infusion (id, course_id, number, administered_on, infusion_type, "
    "side_effects, side_effect_other, adverse_event, bp_sys_before, bp_dia_before, created_at) "
    f"VALUES (1, 1, 1, '2025-03-10', 'induction', '[]', '', 'vomited once', 250, 90, {T}), "
    f"(2, 1, 2, '2025-03-12', 'induction', '[]', '', '', 130, 80, {T})",
]


@pytest.fixture
def engine_at_0004(tmp_path, monkeypatch):
    with store_at("0004", tmp_path, monkeypatch, ROWS) as engine:
        yield engine


def test_infusions_survive_with_empty_monitoring(engine_at_0004):
    upgrade(engine_at_0004, "0006")
    with engine_at_0004.connect() as conn:
        rows = conn.execute(text(
            "SELECT id, bp_sys_before, adverse_event, bp_decision, bp_decision_reason, "
            "sedation_moaas, dissociation, discharge_ready_minutes FROM infusion ORDER BY id"
        )).all()
    assert [tuple(r) for r in rows] == [(1, 250, "vomited once", None, "", None, None, None),
                                        (2, 130, "", None, "", None, None, None)]
    if engine_at_0004.dialect.name == "sqlite":
        with engine_at_0004.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []


def test_the_new_tables_take_rows_and_check_their_keys(engine_at_0004):
    upgrade(engine_at_0004, "0006")
    with engine_at_0004.begin() as conn:
        conn.execute(text(
            "INSERT INTO adverseevent (infusion_id, category, description, severity, "
            f"action_taken, recorded_at) VALUES (1, 'other', 'x', 'serious', 'y', {T})"))
        conn.execute(text(
            "INSERT INTO heldvisit (course_id, planned_number, visit_on, bp_sys, bp_dia, "
            f"decision, reason, recorded_at) VALUES (1, 3, '2025-03-14', 180, 100, 'held', "
            f"'r', {T})"))
    with pytest.raises(IntegrityError), engine_at_0004.begin() as conn:
        conn.execute(text(
            "INSERT INTO adverseevent (infusion_id, category, description, severity, "
            f"action_taken, recorded_at) VALUES (99, 'other', 'x', 'mild', 'y', {T})"))
    with engine_at_0004.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM adverseevent")).scalar() == 1
        assert conn.execute(text("SELECT planned_number FROM heldvisit")).scalar() == 3


def test_downgrade_to_0004_keeps_the_infusions(engine_at_0004):
    upgrade(engine_at_0004, "0006")
    with engine_at_0004.begin() as conn:
        conn.execute(text("UPDATE infusion SET sedation_moaas = 4 WHERE id = 1"))
    downgrade(engine_at_0004, "0004")
    names = inspect(engine_at_0004).get_table_names()
    assert "adverseevent" not in names and "heldvisit" not in names
    with engine_at_0004.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM infusion")).scalar() == 2
