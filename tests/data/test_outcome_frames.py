"""data.analytics.outcome_frames and data.analytics.clinic_outcomes on the hand-built cohort of
tests/trajectory_cohort.py: scope, course filters, the data version, and the page's
clinic breakdown equal to the export's by-clinic block."""

from __future__ import annotations

from datetime import date

import pytest

from data.analytics.clinic_outcomes import analyse, load_clinic_frames
from data.analytics.outcome_frames import data_version, load_infusions, load_open_alerts
from data.analytics.outcome_report import OutcomeFilters, outcome_summary
from data.clinic.protocol import update_protocol
from data.store.db import write_session
from models.access import SYSTEM, PermissionDenied
from tests.factories import make_user
from tests.trajectory_cohort import import_cohort


@pytest.fixture
def cohort(store_url):
    import_cohort()


def test_infusions_within_scope_with_course_dimensions(cohort):
    north = make_user("dr.north", "clinician", clinics=("NORTH",))
    frame = load_infusions(actor=north, filters=OutcomeFilters())
    assert sorted(frame["clinic"].unique()) == ["NORTH"]  # HV-02 (SOUTH) is out of scope
    assert len(frame) == 5  # course 1: 4 infusions, course 2: 1
    first = frame[frame["course_number"] == 1].iloc[-1]
    assert (first["infusion_type"], first["infusion_route"], first["route"]) == (
        "booster", "IM", "IV")  # route of the course = its first infusion's
    assert first["dose_band"] == "0.5-0.74 mg/kg" and first["side_effects"] == ""
    everyone = load_infusions(actor=SYSTEM, filters=OutcomeFilters(start=date(2024, 3, 1)))
    assert everyone["course_number"].tolist() == [2]  # only HV-01's course 2 starts after


def test_auditor_role_without_outcomes_is_refused(cohort):
    admin = make_user("root.admin", "admin")
    with pytest.raises(PermissionDenied):
        load_infusions(actor=admin, filters=OutcomeFilters())
    auditor = make_user("auditor.b", "auditor", clinics=("NORTH",))
    assert load_open_alerts(actor=auditor, filters=OutcomeFilters()).empty  # no alert rights


def test_data_version_moves_with_writes_only(cohort):
    before = data_version()
    director = make_user("dr.boss", "director", all_clinics=True)  # a write: create user
    after_user = data_version()
    assert after_user > before
    load_infusions(actor=director, filters=OutcomeFilters())  # reads change nothing
    assert data_version() == after_user
    with write_session() as session:
        update_protocol(session, actor=director, changes={"small_cell_threshold": 3})
    assert data_version() > after_user


def test_clinic_breakdown_equals_the_export_block(cohort):
    director = make_user("dr.boss", "director", all_clinics=True)
    filters = OutcomeFilters(after_n=3)
    frames = load_clinic_frames(actor=director, filters=filters)
    analysis = analyse(frames, actor=director, filters=filters, instrument="PHQ-9",
                       today=date(2024, 4, 15))
    block = outcome_summary(actor=director, filters=filters)["PHQ-9"]["by_clinic_after_infusion_3"]
    table = analysis.breakdowns["clinic"].set_index("group")
    for clinic, cell in block.items():  # both clinics have 1 course < 5: suppressed
        assert bool(table.loc[clinic, "suppressed"]) is cell["suppressed"] is True
        assert int(table.loc[clinic, "n_courses"]) == cell["n_courses"] == 1
    # HV-01's current course is course 2 (18 -> 10, 2 infusions): too early for a rule;
    # HV-02 responded (14 -> 6) and its last infusion (2024-02-01) is 74 days before
    # 2024-04-15: over the 42-day booster setting, within the 90-day attention window.
    reasons = dict(zip(analysis.attention["patient"], analysis.attention["reasons"],
                       strict=True))
    assert reasons == {"HV-02": ["overdue for booster"]}


def test_clinician_and_indication_filters_narrow_the_courses(cohort):
    director = make_user("dr.boss", "director", all_clinics=True)
    none = OutcomeFilters(indications=("PTSD",))
    assert outcome_summary(actor=director, filters=none)["PHQ-9"]["overall_latest"][
        "n_courses"] == 0
    trd = OutcomeFilters(indications=("TRD",), clinicians=("dr.north",))
    assert outcome_summary(actor=director, filters=trd)["PHQ-9"]["overall_latest"][
        "n_courses"] == 2  # HV-01's index course and HV-02's
