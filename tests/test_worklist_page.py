"""The data-quality work list on the Outcomes page (Safety & data quality section)."""

from __future__ import annotations

from datetime import date

from data.analytics.clinic_outcomes import load_clinic_frames
from data.analytics.outcome_report import OutcomeFilters
from models.access import SYSTEM
from outcomes.worklist import completion_by, work_list
from tests.pages.conftest import table_with
from tests.test_outcomes_page import open_outcomes, open_section


def test_director_works_through_the_list_and_auditor_sees_no_codes(demo):
    frames = load_clinic_frames(actor=SYSTEM, filters=OutcomeFilters(as_of=date(2026, 6, 1)))
    expected = completion_by(frames.obs, frames.infusions, "clinic")
    items = work_list(frames.obs, frames.infusions)
    at = open_outcomes("demo.director")
    open_section(at, "Safety & data quality")
    by_clinic = table_with(at, "With pre and post")
    assert by_clinic["Clinic"].tolist() == expected["clinic"].tolist()
    assert by_clinic["With pre and post"].tolist() == expected["with_pre_and_post"].tolist()
    assert table_with(at, "Clinician")["Infusions"].sum() == len(frames.infusions)
    assert any(f"**Work list**: {len(items)} items" in m.value for m in at.markdown)
    if len(items):
        shown = table_with(at, "Missing")
        assert shown["Patient"].astype(str).str.startswith("DEMO-").all()
        auditor = open_outcomes("demo.auditor")
        open_section(auditor, "Safety & data quality")
        assert not table_with(auditor, "Missing")["Patient"].astype(str).str.startswith(
            "DEMO-").any()
