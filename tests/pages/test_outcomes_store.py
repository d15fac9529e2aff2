"""The Outcomes page reads the course outcomes kept in the store (issue 13 item 1): its first
view (filters, headline, response section) reads no score, and a save shows on the next run
with the figures of a full recomputation from the scores."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from data.analytics.outcome_report import OutcomeFilters, filtered_observations, summary_of
from data.clinic.infusions import log_infusion
from data.store.db import read_session, write_session
from models.access import SYSTEM
from models.tables import Course, CourseOutcome, CourseOutcomeStale, Infusion
from outcomes.breakdowns import severity_distribution, waterfall
from outcomes.engine import course_table
from tests.test_outcomes_page import expected_headline, headline, open_outcomes

DEFAULTS = OutcomeFilters(after_n=6, timepoint_rule="post", all_courses=False)


def _no_scores(**_kwargs):
    raise AssertionError("the observation frame was read")


def full_summary() -> dict:
    return summary_of(filtered_observations(actor=SYSTEM, filters=DEFAULTS), DEFAULTS)


def test_the_first_view_reads_no_score(demo, monkeypatch):
    at = open_outcomes("demo.director")  # builds the stored rows (the seed queued them)
    expected = expected_headline(full_summary()["PHQ-9"], 6)
    monkeypatch.setattr("data.analytics.clinic_outcomes.load_observations", _no_scores)
    monkeypatch.setattr("data.analytics.outcome_report.load_observations", _no_scores)
    import streamlit as st

    st.cache_data.clear()
    at.run()
    assert not at.exception, at.exception
    assert headline(at) == expected
    assert {"oc_severity_chart", "oc_waterfall_chart"} <= {
        e.proto.id.rsplit("-", 1)[-1] for e in at.get("plotly_chart")}


def test_a_save_shows_on_the_next_run_as_a_full_recomputation(demo):
    at = open_outcomes("demo.director")
    before = full_summary()
    assert headline(at) == expected_headline(before["PHQ-9"], 6)
    with read_session() as session:  # a first course not in remission, its next infusion
        course = session.scalar(
            select(func.min(CourseOutcome.course_id))
            .join(Course, Course.id == CourseOutcome.course_id)
            .where(Course.number == 1, CourseOutcome.instrument == "PHQ-9",
                   CourseOutcome.latest > 10))
        number = session.scalar(select(func.max(Infusion.number))
                                .where(Infusion.course_id == course)) + 1
    with write_session() as session:  # PHQ-9 post 0: the course's latest score changes
        log_infusion(session, actor=SYSTEM, course_id=course, today=date(2026, 6, 1),
                     infusion={"number": number, "administered_on": date(2026, 5, 30),
                               "infusion_type": "booster", "route": "IV",
                               "dose_mg_per_kg": 0.5, "weight_kg": 70.0},
                     scores=[{"instrument": "PHQ-9", "timepoint": "post", "items": [0] * 9}])
    with read_session() as session:
        # recomputed by the save once committed: the page reads it, it does not refresh it
        assert session.scalars(select(CourseOutcomeStale.course_id)).all() == []
    at.run()
    assert not at.exception, at.exception
    after = full_summary()
    assert after["PHQ-9"]["overall_latest"] != before["PHQ-9"]["overall_latest"]
    assert headline(at) == expected_headline(after["PHQ-9"], 6)


@pytest.mark.parametrize(("filters", "instrument"), [
    (DEFAULTS, "PHQ-9"),
    (OutcomeFilters(after_n=3, timepoint_rule="next_pre", all_courses=True), "GAD-7"),
    (OutcomeFilters(after_n=2, indications=("TRD",)), "MADRS"),
])
def test_the_response_section_equals_the_engine_on_the_scores(demo, filters, instrument):
    from data.analytics.clinic_outcomes import response_analysis
    from data.analytics.outcome_report import resolved_parameters

    params = resolved_parameters(filters)
    obs = filtered_observations(actor=SYSTEM, filters=filters)
    table = course_table(obs, instrument, after_n=params["after_n"],
                         timepoint_rule=params["timepoint_rule"],
                         all_courses=params["all_courses"],
                         remission_max=params["remission_max"].get(instrument))
    stored = response_analysis(actor=SYSTEM, filters=filters, instrument=instrument)
    assert len(table) > 0
    assert stored.waterfall.reset_index(drop=True).equals(waterfall(table).reset_index(drop=True))
    assert stored.severity.equals(severity_distribution(table, instrument))
