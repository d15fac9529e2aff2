"""D1 retention through the store: infusions (not scores) decide it, the headline's courses
(index courses unless all courses), `--as-of` moves the lapse window, the lapse window is a
validated protocol setting."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta

import pandas as pd
import pytest
from sqlalchemy import func
from sqlmodel import select

from data.analytics.outcome_report import OutcomeFilters, outcome_summary
from data.clinic.infusions import set_course_status
from data.clinic.protocol import ProtocolError, validate_setting
from data.store.db import write_session
from models.access import SYSTEM
from tests.cli_runner import run_manage
from tests.clinical_factories import PHQ9_PRE, TODAY, log, make_course, make_patient, score
from tests.factories import make_user


def course_with(actor, patient_id: int, last_day: date, n: int) -> int:
    """A course of n infusions one day apart, the last on ``last_day``; a PHQ-9 pre score on
    infusion 1 only (later infusions have no score: infusions decide retention)."""
    course_id = make_course(actor, patient_id)
    for k in range(1, n + 1):
        day = last_day - timedelta(days=n - k)
        log(actor, course_id, k, scores=[score("PHQ-9", "pre", PHQ9_PRE)] if k == 1 else [],
            administered_on=day)
    return course_id


@pytest.fixture
def store(store_url):
    clin = make_user("clin", "clinician", ("CL1",))
    complete = make_patient(clin, "P-1")
    course_with(clin, complete, TODAY - timedelta(days=60), 6)            # completed
    course_with(clin, make_patient(clin, "P-2"), TODAY - timedelta(days=21), 2)  # L days ago
    stopped = course_with(clin, make_patient(clin, "P-3"), TODAY, 1)
    with write_session() as session:
        set_course_status(session, actor=clin, course_id=stopped, status="discontinued",
                          reason="patient moved away")
    course_with(clin, complete, TODAY, 1)  # P-1's second course: counted with all courses
    return store_url


def test_retention_as_of_today_and_the_day_after(store):
    today = outcome_summary(actor=SYSTEM, filters=OutcomeFilters(as_of=TODAY))["retention"]
    assert today == {
        "n_courses": 3, "n_in_progress": 1, "n_completed_induction": 1, "n_stopped": 1,
        "stopped_after_infusion": {"1": 1, "2": 0, "3": 0, "4": 0, "5": 0},
        "reached_infusion": {"1": 3, "2": 2, "3": 1, "4": 1, "5": 1, "6": 1},
        "completion_rate": 0.5, "n_with_booster": 0, "induction_length": 6,
        "lapse_window_days": 21, "as_of": "2025-03-10"}
    later = outcome_summary(actor=SYSTEM, filters=OutcomeFilters(
        as_of=TODAY + timedelta(days=1)))["retention"]  # P-2: 22 days, stopped after 2
    assert (later["n_in_progress"], later["n_stopped"]) == (0, 2)
    assert later["stopped_after_infusion"]["2"] == 1
    assert later["completion_rate"] == round(1 / 3, 4)
    every = outcome_summary(actor=SYSTEM, filters=OutcomeFilters(as_of=TODAY,
                                                                 all_courses=True))["retention"]
    assert every["n_courses"] == 4 and every["n_in_progress"] == 2  # P-1's new course


def test_export_outcomes_as_of(store):
    # a few courses: with the default small-cell threshold (5) the de-identified export
    # shows their count only (issue 15: every block, retention included); lowered here
    from data.clinic.protocol import update_protocol
    from data.store.db import write_session

    with write_session() as session:
        update_protocol(session, actor=SYSTEM, changes={"small_cell_threshold": 2})
    assert os.environ["DATABASE_URL"] == store
    run = run_manage("export", "outcomes", "--as-of", "2025-03-11")
    assert run.returncode == 0, run.stderr
    retention = json.loads(run.stdout)["retention"]
    assert retention["as_of"] == "2025-03-11" and retention["n_stopped"] == 2
    bad = run_manage("export", "outcomes", "--as-of", "11/03/2025")
    assert bad.returncode == 2 and "--as-of" in bad.stderr


@pytest.mark.parametrize("value", [0, 366, 2.5, "x"])
def test_lapse_window_is_validated(value):
    with pytest.raises(ProtocolError, match="lapse_window_days"):
        validate_setting("lapse_window_days", value)
    assert validate_setting("lapse_window_days", 28) == 28


def test_retention_keeps_to_the_actors_clinics(store):
    other = make_user("clin2", "clinician", ("CL2",))
    course_with(other, make_patient(other, "Q-1", clinic="CL2"), TODAY, 6)  # completed, CL2
    mine = make_user("clin1b", "director", ("CL1",))
    retention = outcome_summary(actor=mine, filters=OutcomeFilters(as_of=TODAY))["retention"]
    assert (retention["n_courses"], retention["n_completed_induction"]) == (3, 1)
    everyone = outcome_summary(actor=SYSTEM, filters=OutcomeFilters(as_of=TODAY))["retention"]
    assert (everyone["n_courses"], everyone["n_completed_induction"]) == (4, 2)


def test_each_courses_last_infusion_and_its_date_are_read_exactly(store):
    """read_progress (and the summary's read of the courses without packs, which shares
    with_last_infusion): the highest infusion number and that infusion's own date, nothing
    for a course without an infusion (SQLite reads both from one integer: number * 2**32 + day + 2**31)."""
    from data.analytics.course_progress import read_progress
    from data.store.db import read_session
    from models.tables import Course

    clin = make_user("clin2", "clinician", ("CL1",))
    patient = make_patient(clin, "P-9")
    empty = make_course(clin, patient)  # no infusion yet
    nine = course_with(clin, patient, date(2024, 2, 29), 9)
    progress = read_progress().set_index("course_key")
    assert progress.loc[nine, "last_infusion"] == 9
    assert progress.loc[nine, "last_date"] == pd.Timestamp(2024, 2, 29)
    assert progress.loc[empty, "last_infusion"] is pd.NA
    assert pd.isna(progress.loc[empty, "last_date"])
    with read_session() as session:
        courses = session.exec(select(func.count()).select_from(Course)).one()
    assert len(progress) == courses  # every course, with or without infusions
