"""The patient record shows each infusion's monitoring: the blood-pressure decision with
its reason, sedation, dissociation, discharge minutes and adverse events ("—" when not
recorded, never "None"), the visits held for blood pressure, and vitals with a missing half
as '74/—' (not '74/')."""

from __future__ import annotations

import pytest

from tests.clinical_factories import PHQ9_PRE, log, make_course, make_patient, score
from tests.factories import make_user
from tests.pages.conftest import go, sign_in, table_with

AE = {"category": "nausea or vomiting", "severity": "mild", "action_taken": "ondansetron 4 mg"}


@pytest.fixture
def patient_id(store_url):
    clin = make_user("clin", "clinician", ("CL1",))
    pid = make_patient(clin, code="P-1")
    course = make_course(clin, pid)
    log(clin, course, 1, scores=[score("PHQ-9", "pre", PHQ9_PRE)], bp_sys_before=166,
        bp_dia_before=92, bp_decision="proceeded", bp_decision_reason="158/90 on repeat",
        sedation_moaas=4, dissociation="moderate", discharge_ready_minutes=50, hr_before=74,
        adverse_events=[AE])
    log(clin, course, 2, bp_sys_before=172, bp_dia_before=96, bp_decision="held",
        bp_decision_reason="stays above 170", dose_mg_per_kg=None)
    log(clin, course, 2, hr_before=70, hr_peak=81)  # nothing of the monitoring recorded
    return pid


def test_the_record_shows_monitoring_and_held_visits(app, patient_id):
    sign_in(app, "clin")
    app.session_state["patient_id"] = patient_id
    go(app, "pages/patient.py")
    table = table_with(app, "sedation (MOAA/S)")
    first, second = table.iloc[0], table.iloc[1]
    assert list(table["infusion"]) == [1, 2]  # the held visit took no number
    assert first["BP decision"] == "proceeded: 158/90 on repeat"
    assert (first["sedation (MOAA/S)"], first["dissociation"],
            first["ready for discharge (min)"]) == ("4", "moderate", "50")
    assert first["adverse events"] == "nausea or vomiting (mild); action: ondansetron 4 mg"
    assert first["HR before/peak/discharge"] == "74 / — / —"
    assert (second["BP decision"], second["sedation (MOAA/S)"], second["dissociation"],
            second["ready for discharge (min)"], second["adverse events"]) == (
        "—", "—", "—", "—", "none recorded")
    held = table_with(app, "planned infusion")
    assert held.iloc[0].to_dict() | {"date": None} == {
        "date": None, "planned infusion": 2, "decision": "held", "BP before": "172/96",
        "HR": "—", "reason": "stays above 170"}
    vitals = table_with(app, "HR before/peak")
    assert list(vitals["HR before/peak"]) == ["74/—", "70/81"]
