"""The Outcomes page's safety section shows the monitoring counts (AppTest): visits held
for blood pressure, adverse events by severity, sedation and dissociation."""

from __future__ import annotations

import pytest

from tests.clinical_factories import PHQ9_POST, PHQ9_PRE, log, make_course, make_patient, score
from tests.factories import make_user
from tests.pages.conftest import go, joined, sign_in, table_with

AE = {"category": "other", "description": "vasovagal", "action_taken": "legs raised"}


@pytest.fixture
def store(store_url):
    clin = make_user("clin", "clinician", ("CL1",))
    make_user("boss", "director", ("CL1",))
    course = make_course(clin, make_patient(clin))
    log(clin, course, 1, scores=[score("PHQ-9", "pre", PHQ9_PRE),
                                 score("PHQ-9", "post", PHQ9_POST)], sedation_moaas=4, dissociation="mild", discharge_ready_minutes=40,
        adverse_events=[{**AE, "severity": "mild"}, {**AE, "severity": "serious"}])
    log(clin, course, 2, bp_sys_before=171, bp_dia_before=90, bp_decision="held",
        bp_decision_reason="171/90", dose_mg_per_kg=None)
    log(clin, course, 2, bp_sys_before=165, bp_dia_before=90, bp_decision="proceeded",
        bp_decision_reason="165/90 stable", sedation_moaas=4, dissociation="severe",
        discharge_ready_minutes=60)


def test_the_safety_section_counts_holds_events_and_sedation(app, store):
    sign_in(app, "boss")
    go(app, "pages/outcomes.py")
    app.session_state["oc_section"] = "Safety & data quality"
    app.run()
    assert not app.exception, app.exception
    shown = {m.label: m.value for m in app.metric}
    assert shown["Visits held for blood pressure"] == "1"
    assert shown["Adverse events"] == "2"
    assert shown["Median minutes to discharge-ready"] == "50"  # (40 + 60) / 2
    assert "held 1 · rescheduled 0 · above the rule but proceeded 1" in joined(app.caption)
    assert "mild 1 · moderate 0 · severe 0 · serious 1" in joined(app.caption)
    table = table_with(app, "Sedation at peak")
    assert dict(zip(table["Sedation at peak"], table["Sedation: infusions"], strict=True)) == {
        "MOAA/S 5": "0", "MOAA/S 4": "2", "MOAA/S 3": "0", "MOAA/S 2": "0", "MOAA/S 1": "0",
        "MOAA/S 0": "0", "not recorded": "0"}
    assert dict(zip(table["Dissociation"], table["Dissociation: infusions"],
                    strict=True)) == {
        "none": "0", "mild": "1", "moderate": "0", "severe": "1", "not recorded": "0", "": ""}
