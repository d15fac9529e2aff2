"""The Outcomes page's "Retention & fair comparison" section (OUTCOMES.md section 7, D1-D3):
the numbers on screen equal `manage.py export outcomes` for the same filters."""

from __future__ import annotations

from tests.test_outcomes_page import (
    FILTER_SETS,
    apply,
    array,
    chart,
    chart_keys,
    export,
    metrics,
    open_outcomes,
    open_section,
    shown,
)

SECTION = "Retention & fair comparison"


def test_review_section_equals_the_command_line(demo):
    at = open_outcomes("demo.director")
    open_section(at, SECTION)
    assert chart_keys(at) == {"oc_retention_chart", "oc_trend_chart_month",
                              "oc_funnel_chart_clinic"}
    cli = export(demo)  # as of today, like the page
    retention = cli["retention"]
    values = dict(metrics(at))
    assert values["Courses"] == str(retention["n_courses"])
    assert values["In progress"] == str(retention["n_in_progress"])
    assert values["Completed induction (6)"] == str(retention["n_completed_induction"])
    assert values["Completion rate"] == shown(retention["completion_rate"])
    funnel = next(t for t in chart(at, "oc_retention_chart")["data"]
                  if t["type"] == "funnel")
    assert array(funnel["x"]) == list(retention["reached_infusion"].values())
    assert any("ORKA-2, ASKP3 2022" in i.value for i in at.info)
    by_clinic = next(d.value for d in at.dataframe
                     if "Clinic" in d.value.columns and "Completion rate" in d.value.columns)
    assert by_clinic["Courses"].sum() == retention["n_courses"]  # the same courses
    months = cli["PHQ-9"]["trend_by_start_month_after_infusion_6"]
    trend = next(d.value for d in at.dataframe if "Month" in d.value.columns)
    assert trend["Month"].tolist() == list(months)
    assert trend["Evaluable"].tolist() == [b["n_evaluable"] for b in months.values()]
    assert trend["Response"].tolist() == [shown(b["rate"]) for b in months.values()]
    assert trend["Upper limit"].tolist() == [shown(b["upper"]) for b in months.values()]
    points = next(t for t in chart(at, "oc_trend_chart_month")["data"]
                  if t["name"] == "Response (observed)")
    assert [None if v is None else round(v, 2) for v in array(points["y"])] == [
        None if b["rate"] is None else round(100 * b["rate"], 2) for b in months.values()]
    clinics = cli["PHQ-9"]["funnel_by_clinic_after_infusion_6"]
    table = next(d.value for d in at.dataframe if "Upper 99.8 %" in d.value.columns)
    assert table["Clinic"].tolist() == list(clinics)
    assert table["Upper 99.8 %"].tolist() == [shown(b["upper998"]) for b in clinics.values()]
    assert table["Signal"].tolist() == [b["signal"] or "" for b in clinics.values()]


def test_review_section_with_filters_quarters_and_clinicians(demo):
    widgets, _, _ = FILTER_SETS[2]
    at = open_outcomes("demo.director")
    apply(at, widgets)
    open_section(at, SECTION)
    cli = export(demo, "--after", "3", "--clinic", "DEMO-S", "--indication", "TRD",
                 "--start", "2024-01-01", "--end", "2026-03-31")
    values = dict(metrics(at))
    assert values["Courses"] == str(cli["retention"]["n_courses"])
    assert values["Completion rate"] == shown(cli["retention"]["completion_rate"])
    at.radio(key="oc_trend_period").set_value("quarter").run()
    at.radio(key="oc_funnel_by").set_value("clinician").run()
    assert not at.exception, at.exception
    assert {"oc_trend_chart_quarter", "oc_funnel_chart_clinician"} <= chart_keys(at)
    quarters = next(d.value for d in at.dataframe if "Quarter" in d.value.columns)
    assert len(quarters) and quarters["Quarter"].str.fullmatch(r"\d{4}-Q[1-4]").all()
    assert any("Observed / expected" in d.value.columns for d in at.dataframe)
    assert any("Clinician" in d.value.columns and "Completion rate" in d.value.columns
               for d in at.dataframe)
    at.run()  # the choices stay
    assert at.radio(key="oc_funnel_by").value == "clinician"
