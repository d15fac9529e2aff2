"""The infusion form's monitoring section (AppTest): the hold warning appears at the vitals
as soon as the pre-infusion blood pressure is above the rule (161 warns, 160 does not), the
save is refused naming bp_decision until a decision is given, a held visit uses no infusion
number, and sedation, dissociation, discharge minutes and adverse events are saved."""

from __future__ import annotations

import pytest
from sqlmodel import select

from data.store.db import read_session
from models.tables import AdverseEvent, HeldVisit, Infusion
from tests.clinical_factories import make_patient
from tests.factories import make_user
from tests.pages.conftest import count, joined, values
from tests.pages.test_infusion_page import fill_infusion, open_infusion_page, save


@pytest.fixture
def patient_id(store_url):
    return make_patient(make_user("clin", "clinician", ("CL1",)), code="P-1")


def set_pre_bp(app, systolic, diastolic):
    app.number_input(key="vital_bp_sys_before").set_value(systolic)
    app.number_input(key="vital_bp_dia_before").set_value(diastolic)
    app.run()


def test_the_warning_shows_at_the_vitals_above_the_rule_only(app, patient_id):
    open_infusion_page(app, patient_id)
    set_pre_bp(app, 160, 100)
    assert "hold rule" not in joined(app.warning)
    assert not [r for r in app.radio if r.key == "infusion_bp_decision"]
    set_pre_bp(app, 161, 100)
    assert ("Blood pressure before the infusion: 161/100 mmHg is above the protocol's hold "
            "rule") in joined(app.warning)  # clinic words, not the field's code (bp_before)
    assert app.radio(key="infusion_bp_decision").value is None


def test_a_systolic_of_250_is_refused_until_a_decision_is_given(app, patient_id):
    open_infusion_page(app, patient_id)
    fill_infusion(app)
    set_pre_bp(app, 250, 90)
    save(app)
    assert "Blood-pressure decision" in joined(app.error) and "required" in joined(app.error)
    assert count(Infusion) == 0
    app.radio(key="infusion_bp_decision").set_value("proceeded")
    app.text_area(key="infusion_bp_decision_reason").set_value("repeat 158/90 after rest")
    app.selectbox(key="infusion_sedation_moaas").set_value(3)
    app.selectbox(key="infusion_dissociation").set_value("mild")
    app.number_input(key="infusion_discharge_ready_minutes").set_value(40)
    app.number_input(key="infusion_ae_count").set_value(1).run()
    app.selectbox(key="infusion_ae_1_category").set_value("raised blood pressure")
    app.selectbox(key="infusion_ae_1_severity").set_value("moderate")
    app.text_input(key="infusion_ae_1_action").set_value("labetalol 10 mg IV")
    save(app)
    assert "Infusion 1 saved with 0 score(s) and 1 adverse event(s)." in values(app.success)
    with read_session() as session:
        row = session.exec(select(Infusion)).one()
        event = session.exec(select(AdverseEvent)).one()
    assert (row.bp_sys_before, row.bp_decision, row.bp_decision_reason, row.sedation_moaas,
            row.dissociation, row.discharge_ready_minutes) == (
        250, "proceeded", "repeat 158/90 after rest", 3, "mild", 40)
    assert (event.category, event.severity, event.action_taken) == (
        "raised blood pressure", "moderate", "labetalol 10 mg IV")
    assert app.number_input(key="infusion_ae_count").value is None  # blanked for the next


def test_an_adverse_event_row_left_blank_is_refused_by_field(app, patient_id):
    open_infusion_page(app, patient_id)
    fill_infusion(app)
    app.number_input(key="infusion_ae_count").set_value(1).run()
    save(app)
    assert "Adverse event 1, category" in joined(app.error)
    assert "Adverse event 1, action taken" in joined(app.error)
    assert count(Infusion) == 0


def test_a_held_visit_is_saved_without_an_infusion(app, patient_id):
    open_infusion_page(app, patient_id)
    app.number_input(key="infusion_weight_kg").set_value(70.0)
    set_pre_bp(app, 178, 104)
    app.radio(key="infusion_bp_decision").set_value("held").run()
    assert "no ketamine is given" in joined(app.info)
    app.text_area(key="infusion_bp_decision_reason").set_value("178/104 twice; GP review")
    save(app)
    assert "Visit held for blood pressure (178/104 mmHg)" in joined(app.warning)
    assert count(Infusion) == 0 and count(HeldVisit) == 1
    assert app.number_input(key="infusion_number").value == 1  # still infusion 1 to come
