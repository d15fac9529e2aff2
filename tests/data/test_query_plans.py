"""A save and the reads around it use indexes, not a scan of a table that grows with the
store (issue 13: the cost of a save follows the change, not the store).

Found: 0004 made uq_assessment_slot partial (WHERE timepoint <> 'followup'), after 0003
had dropped the plain infusion index as its duplicate; a lookup by infusion alone could no
longer use it, so every save scanned every score (~100 ms of a ~130 ms save at 1.2 million
scores). Migration 0009 indexes assessment(infusion_id) again.

Each statement the code runs is captured and explained with SQLite's EXPLAIN QUERY PLAN;
a "SCAN" of a growing table is a failure. SQLite only (PostgreSQL's planner would scan
tables this small anyway)."""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
import pytest
from sqlalchemy import event, text
from sqlmodel import select

from data.analytics.today import patient_status
from data.clinic.records import patient_record
from data.store import db
from data.store.db import read_session, write_session
from models.tables import Infusion
from tests.clinical_factories import (
    PHQ9_POST,
    PHQ9_PRE,
    TODAY,
    log,
    make_course,
    make_patient,
    score,
)
from tests.factories import make_user

pytestmark = pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")),
                                reason="EXPLAIN QUERY PLAN is SQLite's")

GROWING = ("assessment", "infusion", "course", "patient", "safetyalert", "course_outcome",
           "course_outcome_stale", "adverseevent", "heldvisit", "audit_event", "draft",
           "user_session", "invitation")
# The audit chain's head: the last row by primary key (a step back along the rowid).
CHAIN_HEAD = re.compile(r"ORDER BY audit_event\.id DESC\s+LIMIT", re.I)


@contextmanager
def captured() -> Iterator[list[tuple[str, object]]]:
    seen: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters[0] if executemany else parameters))

    engine = db.get_engine()
    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", keep)


def full_scans(store: str, statements: list[tuple[str, object]]) -> list[str]:
    """'<plan line> | <statement>' for each scan of a growing table."""
    found = []
    with sqlite3.connect(store) as conn:
        for statement, parameters in statements:
            if not re.match(r"\s*(SELECT|UPDATE|DELETE|WITH)\b", statement, re.I):
                continue
            if CHAIN_HEAD.search(statement):
                continue
            for row in conn.execute(f"EXPLAIN QUERY PLAN {statement}", parameters or ()):
                scanned = re.match(r"SCAN (\w+)", row[3])
                if scanned and scanned.group(1) in GROWING:
                    found.append(f"{row[3]} | {' '.join(statement.split())[:160]}")
    conn.close()
    return found


def save_and_read(patient_code: str) -> list[tuple[str, object]]:
    """A new patient's first infusion with PHQ-9 pre and post (an item-9 alert), then the
    record and the patient list's status of that patient: the statements they ran."""
    director = make_user(f"director.{patient_code.lower()}", "director")
    patient_id = make_patient(director, code=patient_code, clinic="CL1")
    course_id = make_course(director, patient_id)
    with captured() as seen:
        log(director, course_id, 1, scores=[score("PHQ-9", "pre", PHQ9_PRE),
                                            score("PHQ-9", "post", PHQ9_POST)])
        with read_session() as session:
            patient_record(session, actor=director, patient_id=patient_id, today=TODAY)
            patient_status(session, actor=director, patient_ids=[patient_id])
    return seen


@pytest.fixture
def store(store_url) -> str:
    return store_url.removeprefix("sqlite:///")


def test_a_save_and_the_record_read_scan_no_growing_table(store):
    seen = save_and_read("PLAN-1")
    assert any("assessment" in s for s, _ in seen)  # the save's slot check was captured
    assert full_scans(store, seen) == []


def test_the_check_catches_a_lookup_that_lost_its_index(store):
    with write_session() as session:  # as the store was between 0004 and 0009
        session.execute(text("DROP INDEX ix_assessment_infusion_id"))
    scans = full_scans(store, save_and_read("PLAN-2"))
    assert any(s.startswith("SCAN assessment") for s in scans), scans


def test_the_progress_of_written_patients_scans_no_growing_table(store):
    """The Outcomes page's kept retention frame is patched after a save with
    ``read_progress(patient_ids=...)``: the last infusion of each of their courses and its
    date are found by one seek of ix_infusion_course_number_date (migration 0010, which
    holds both), not by grouping every infusion nor by a second seek into the table."""
    from data.analytics.course_progress import read_progress

    director = make_user("director.plan3", "director")
    patient_id = make_patient(director, code="PLAN-3", clinic="CL1")
    course_id = make_course(director, patient_id)
    log(director, course_id, 1, scores=[score("PHQ-9", "pre", PHQ9_PRE)])
    log(director, course_id, 2, scores=[score("PHQ-9", "post", PHQ9_POST)])
    with captured() as seen:
        progress = read_progress(patient_ids=[patient_id])
    assert progress["last_infusion"].tolist() == [2]  # two infusions logged
    with read_session() as session:
        second = session.exec(select(Infusion.administered_on).where(
            Infusion.course_id == course_id, Infusion.number == 2)).one()
    assert progress["last_date"].tolist() == [pd.Timestamp(second)]
    assert any("infusion" in s for s, _ in seen)
    assert full_scans(store, seen) == []
    with sqlite3.connect(store) as conn:
        plans = [row[3] for statement, parameters in seen if "infusion" in statement
                 for row in conn.execute(f"EXPLAIN QUERY PLAN {statement}", parameters or ())]
    conn.close()
    assert any("COVERING INDEX ix_infusion_course_number_date" in p for p in plans), plans


def test_the_facts_of_written_patients_scan_no_growing_table(store):
    """The kept outcome facts are patched after a save with ``load_facts(patient_ids=...)``:
    their courses and the courses' packs (course_outcome_pack, read beside the courses,
    scoped by the same conditions) are found by index (the queue's count of stale courses, a scan of a table kept near empty,
    is left aside)."""
    from data.analytics.course_outcomes import load_facts

    director = make_user("director.plan4", "director")
    patient_id = make_patient(director, code="PLAN-4", clinic="CL1")
    course_id = make_course(director, patient_id)
    log(director, course_id, 1, scores=[score("PHQ-9", "pre", PHQ9_PRE),
                                        score("PHQ-9", "post", PHQ9_POST)])

    def read():
        return load_facts(actor=director, after_n=6, timepoint_rule="post",
                          patient_ids=[patient_id], dimensions=True, doses=False, lean=True)

    read()  # the save's course is recomputed here (its queue entry removed)
    with captured() as seen:
        facts = read()
    assert facts["course_key"].tolist() == [course_id]  # one PHQ-9 row
    reads = [(s, p) for s, p in seen if "course_outcome_stale" not in s]
    assert any("FROM course_outcome_pack" in s for s, _ in reads)
    assert full_scans(store, reads) == []
