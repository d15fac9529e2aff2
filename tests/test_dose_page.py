"""The Outcomes page's "Dose and tolerability" section and the published benchmarks beside
the headline (issue 14 items 5 and 6), on the demo store of tests/test_outcomes_page.py;
and the scope of the dose frame's read."""

from __future__ import annotations

from datetime import date

import pytest

from data.analytics.dose_frame import load_dose_frame
from data.analytics.outcome_frames import load_infusions
from data.analytics.outcome_report import OutcomeFilters, outcome_summary
from models.access import PermissionDenied
from tests.factories import make_user
from tests.test_outcomes_page import actor, clinic_ids, open_outcomes, open_section
from ui.dose_sections import BENCHMARK_WARNING, NOT_DOSE_FINDING

SECTION = "Dose and tolerability"


def table(at, column: str):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_dose_section_renders_on_the_demo_store(demo):
    at = open_outcomes("demo.director")
    open_section(at, SECTION)
    assert not at.exception
    assert any(i.value == NOT_DOSE_FINDING for i in at.info)
    assert any("Sedation (MOAA/S at peak) and dissociation are recorded" in c.value
               for c in at.caption)
    response = table(at, "Dose band (course median)")
    summary = outcome_summary(actor=actor("demo.director"), filters=OutcomeFilters())
    # every headline course is in one band
    assert response["Courses"].sum() == summary["PHQ-9"]["after_infusion_6"]["n_courses"]
    tolerability = table(at, "Dose band (infusion)")
    infusions = load_infusions(actor=actor("demo.director"), filters=OutcomeFilters())
    assert tolerability["Infusions"].sum() == len(infusions)  # every infusion, once
    assert "Systolic rise ≥ 20 mmHg" in tolerability.columns
    # the titrated demo seed (0.5 up to 0.6-1.2 mg/kg): courses in several median bands
    assert (response["Courses"] > 0).sum() >= 3, response
    assert (tolerability["Infusions"] > 0).sum() >= 3, tolerability  # none below 0.5


def test_the_safety_section_shows_each_infusions_dose_band(demo):
    at = open_outcomes("demo.director")
    open_section(at, "Safety & data quality")
    bands = table(at, "Adverse-event rate")
    assert "BP-rise rate" not in bands.columns  # the safety table, not the dose section's
    infusions = load_infusions(actor=actor("demo.director"), filters=OutcomeFilters())
    assert bands["Infusions"].sum() == len(infusions)  # every infusion once, by its own dose
    # counted independently: each infusion's own dose against the bands' boundaries
    dose = infusions["infusion_dose"]
    expected = {"< 0.5 mg/kg": int((dose < 0.5).sum()),
                "0.5-0.74 mg/kg": int(((dose >= 0.5) & (dose < 0.75)).sum()),
                "0.75-0.99 mg/kg": int(((dose >= 0.75) & (dose < 1.0)).sum()),
                ">= 1.0 mg/kg": int((dose >= 1.0).sum())}
    shown = dict(zip(bands["Dose band (infusion)"], bands["Infusions"], strict=True))
    assert shown == {band: n for band, n in expected.items() if n}
    assert len(shown) >= 3


def test_published_benchmarks_beside_the_headline(demo):
    at = open_outcomes("demo.director")
    assert not at.exception
    assert any(w.value == BENCHMARK_WARNING for w in at.warning)
    bench = table(at, "Definition")
    assert bench["Source"].tolist()[:3] == ["McInnes et al. 2022"] * 3
    assert bench["Published"].tolist()[:3] == ["53.6 %", "28.9 %", "8.4 %"]
    assert "Oliver et al. 2022" in bench["Source"].tolist()


def test_the_dose_frame_keeps_to_the_scope_and_the_filters(demo):
    director, clinician = actor("demo.director"), actor("demo.clin1")
    everything = load_dose_frame(actor=director, filters=OutcomeFilters())
    assert set(everything["course_key"]) == set(
        load_infusions(actor=director, filters=OutcomeFilters())["course_key"])
    mine = load_dose_frame(actor=clinician, filters=OutcomeFilters())
    expected = set(load_infusions(actor=clinician, filters=OutcomeFilters())["course_key"])
    assert set(mine["course_key"]) == expected
    assert expected < set(everything["course_key"])
    one = OutcomeFilters(clinic_ids=clinic_ids("DEMO-S"), start=date(2025, 1, 1),
                         end=date(2026, 3, 31))
    chosen = load_dose_frame(actor=director, filters=one)
    assert len(chosen) == len(load_infusions(actor=director, filters=one)) > 0
    admin = make_user("dose.admin", "admin")
    with pytest.raises(PermissionDenied):
        load_dose_frame(actor=admin, filters=OutcomeFilters())
