"""The score read of the observation frame (data/analytics/observations.py): each score
with its own infusion's number and date (matched by infusion id, not joined), dates as
day numbers, instrument and timepoint as integer codes, and a value outside the codes
read as text. Expected values written from the fixture by hand. SQLite and, with
TEST_DATABASE_URL, PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from data.analytics.observations import load_observations
from data.clinic.infusions import start_course
from data.store.db import get_engine, write_session
from tests.clinical_factories import (
    GAD7_PRE,
    PHQ9_POST,
    PHQ9_PRE,
    TODAY,
    log,
    make_patient,
    score,
)
from tests.factories import make_user

COLUMNS = ["course_number", "instrument", "infusion_number", "timepoint", "date", "total",
           "item9", "infusion_date", "course_start"]


@pytest.fixture
def course(store_url):
    clin = make_user("clin", "clinician", ("CL1",))
    patient = make_patient(clin)
    with write_session() as session:
        course_id = start_course(session, actor=clin, patient_id=patient,
                                 start_date=date(2025, 3, 3), today=TODAY).id
    log(clin, course_id, number=1, administered_on=date(2025, 3, 3),
        scores=[score("PHQ-9", "pre", PHQ9_PRE), score("GAD-7", "pre", GAD7_PRE)])
    log(clin, course_id, number=2, administered_on=date(2025, 3, 6),
        scores=[score("PHQ-9", "pre", PHQ9_PRE), score("PHQ-9", "post", PHQ9_POST)])
    return clin, course_id


def rows(frame):
    return [tuple(row) for row in frame[COLUMNS].itertuples(index=False)]


def by_score(frame):
    return sorted(rows(frame), key=lambda row: (row[2], row[3], row[1]))


PHQ_PRE_1 = (1, "PHQ-9", 1, "pre", "2025-03-03", 17.0, 1.0, "2025-03-03", "2025-03-03")
GAD_PRE_1 = (1, "GAD-7", 1, "pre", "2025-03-03", 12.0, float("nan"), "2025-03-03",
             "2025-03-03")
PHQ_PRE_2 = (1, "PHQ-9", 2, "pre", "2025-03-06", 17.0, 1.0, "2025-03-06", "2025-03-03")
PHQ_POST_2 = (1, "PHQ-9", 2, "post", "2025-03-06", 8.0, 0.0, "2025-03-06", "2025-03-03")


def as_text(frame):
    out = frame.copy()
    for name in ("date", "infusion_date", "course_start"):
        out[name] = out[name].dt.strftime("%Y-%m-%d")
    out["item9"] = out["item9"].fillna(-1.0)
    return out


def expected(*rows_):
    return sorted([(*row[:6], -1.0 if row[6] != row[6] else row[6], *row[7:])
                   for row in rows_], key=lambda row: (row[2], row[3], row[1]))


def test_each_score_has_its_own_infusions_number_and_date(course):
    clin, course_id = course
    frame = load_observations(actor=clin)
    assert frame["course_key"].tolist() == [course_id] * 4
    assert frame["instrument"].dtype == "str" and frame["timepoint"].dtype == "str"
    assert str(frame["date"].dtype) == "datetime64[s]"
    assert by_score(as_text(frame)) == expected(PHQ_PRE_1, GAD_PRE_1, PHQ_PRE_2, PHQ_POST_2)
    phq = load_observations(actor=clin, instruments=["PHQ-9"])
    assert by_score(as_text(phq)) == expected(PHQ_PRE_1, PHQ_PRE_2, PHQ_POST_2)


def test_an_instrument_or_timepoint_outside_the_codes_is_read_as_text(course):
    """Not written by the application (it validates both); a store edited by hand or an
    instrument added later must still read exactly, not as a wrong or missing code."""
    clin, _course_id = course
    with get_engine().begin() as conn:
        conn.execute(text("UPDATE assessment SET instrument = 'XYZ-1' "
                          "WHERE instrument = 'GAD-7'"))
        conn.execute(text("UPDATE assessment SET timepoint = 'mid' "
                          "WHERE timepoint = 'post'"))
    frame = load_observations(actor=clin)
    assert by_score(as_text(frame)) == expected(
        PHQ_PRE_1, (*GAD_PRE_1[:1], "XYZ-1", *GAD_PRE_1[2:]), PHQ_PRE_2,
        (*PHQ_POST_2[:3], "mid", *PHQ_POST_2[4:]))
    assert frame["instrument"].dtype == "str" and frame["timepoint"].dtype == "str"


def test_rows_come_in_the_order_of_the_scores_ids(course):
    clin, _course_id = course
    with get_engine().connect() as conn:
        stored = conn.execute(text("SELECT instrument, timepoint FROM assessment "
                                   "ORDER BY id")).all()
    frame = load_observations(actor=clin)
    assert list(zip(frame["instrument"], frame["timepoint"], strict=True)) == \
        [tuple(row) for row in stored]
    assert frame["infusion_number"].tolist() == [1, 1, 2, 2]
