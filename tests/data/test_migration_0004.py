"""Migration 0004 on a store holding scores and alerts: provenance mapped, nothing lost,
foreign keys intact, the new slots enforced (one pre/post per infusion and instrument,
one follow-up per course, instrument and date)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from data.store.migrate import upgrade
from tests.data.migration_store import store_at

T = "'2025-03-10 09:00:00'"
ROWS = [
    f"INSERT INTO clinic (id, code, name, created_at) VALUES (1, 'CL1', 'Clinic', {T})",
    "INSERT INTO patient (id, clinic_id, patient_code, study_id, name, notes, created_at) "
    f"VALUES (1, 1, 'P-1', 'S-1', '', '', {T})",
    "INSERT INTO course (id, patient_id, number, course_type, status, created_at) "
    f"VALUES (1, 1, 1, 'induction', 'active', {T})",
    "INSERT INTO infusion (id, course_id, number, administered_on, infusion_type, "
    "side_effects, side_effect_other, adverse_event, created_at) "
    f"VALUES (1, 1, 1, '2025-03-10', 'induction', '[]', '', '', {T})",
    "INSERT INTO assessment (id, course_id, infusion_id, timepoint, instrument, "
    "administered_on, items, total, complete, item9, source, entered_at) VALUES "
    f"(1, 1, 1, 'pre', 'PHQ-9', '2025-03-10', '[2,2,2,2,2,2,2,2,1]', 17, true, 1, 'form', {T}),"
    f"(2, 1, 1, 'post', 'PHQ-9', '2025-03-10', '[1,1,1,1,1,1,1,1,0]', 8, true, 0, 'seed', {T}),"
    f"(3, 1, 1, 'pre', 'GAD-7', '2025-03-10', '[1,1,1,1,1,1,1]', 7, true, NULL, 'import', {T})",
    "INSERT INTO safetyalert (id, assessment_id, patient_id, clinic_id, item9_value, "
    f"observed_on, status, opened_at, action_note) VALUES (1, 1, 1, 1, 1, '2025-03-10', "
    f"'open', {T}, '')",
]


@pytest.fixture
def engine_at_0003(tmp_path, monkeypatch):
    with store_at("0003", tmp_path, monkeypatch, ROWS) as engine:
        yield engine


def _followup(conn, id_: int, day: str) -> None:
    conn.execute(text(
        "INSERT INTO assessment (id, course_id, infusion_id, timepoint, instrument, "
        "administered_on, items, complete, source, entered_at) VALUES "
        f"({id_}, 1, 1, 'followup', 'PHQ-9', '{day}', '[]', false, 'patient_remote', {T})"))


def test_scores_and_alerts_survive_with_their_provenance(engine_at_0003):
    upgrade(engine_at_0003)
    with engine_at_0003.connect() as conn:
        rows = conn.execute(text("SELECT id, source, completed_at IS NOT NULL FROM assessment "
                                 "ORDER BY id")).all()
        alert = conn.execute(text("SELECT assessment_id, kind, item9_value FROM safetyalert"
                                  )).one()
        clinic = conn.execute(text("SELECT crisis_text, oncall_email, oncall_webhook "
                                   "FROM clinic")).one()
    # form and seed rows were entered by clinicians; an import has no completion time
    assert [tuple(r) for r in rows] == [(1, "clinician", True), (2, "clinician", True),
                                        (3, "import", False)]
    assert tuple(alert) == (1, "positive", 1)
    assert tuple(clinic) == ("", "", "")
    if engine_at_0003.dialect.name == "sqlite":
        with engine_at_0003.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_the_new_slots_are_enforced_by_the_store(engine_at_0003):
    upgrade(engine_at_0003)
    with engine_at_0003.begin() as conn:  # two follow-ups of one infusion, other days: fine
        _followup(conn, 10, "2025-03-11")
        _followup(conn, 11, "2025-03-18")
    with pytest.raises(IntegrityError), engine_at_0003.begin() as conn:
        _followup(conn, 12, "2025-03-11")  # the same course, instrument and date
    with pytest.raises(IntegrityError), engine_at_0003.begin() as conn:
        conn.execute(text(  # a second pre PHQ-9 of infusion 1
            "INSERT INTO assessment (id, course_id, infusion_id, timepoint, instrument, "
            "administered_on, items, complete, source, entered_at) VALUES "
            f"(13, 1, 1, 'pre', 'PHQ-9', '2025-03-12', '[]', false, 'clinician', {T})"))
