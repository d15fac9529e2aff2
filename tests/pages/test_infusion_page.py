"""Log infusion page: the whole infusion day in one save, live totals, every error path
(future date, dose limits, implausible vitals, post score without its infusion, a second
score in a slot, a double submission, another clinic's patient), and corrections."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from data.db import read_session
from models.tables import Assessment, AuditEvent, Course, Infusion, SafetyAlert
from tests.clinical_factories import PHQ9_PRE, make_patient, score
from tests.factories import make_user
from tests.pages.conftest import count, go, joined, sign_in, table_with, values


@pytest.fixture
def clin(store_url):
    return make_user("clin", "clinician", ("CL1",))


@pytest.fixture
def patient_id(clin):
    return make_patient(clin, code="P-1", name="Ann Smith")


def open_infusion_page(app, patient_id: int, start_course: bool = True):
    sign_in(app, "clin")
    app.session_state["patient_id"] = patient_id
    go(app, "pages/infusion.py")
    assert app.title[0].value == "Log infusion"
    if start_course:
        app.button(key="start_course").click().run()
        assert "Course 1 (induction) started." in joined(app.success)
    return app


def answer(app, timepoint: str, instrument: str, items: list[int]) -> None:
    for n, value in enumerate(items, 1):
        app.radio(key=f"{timepoint}_{instrument}_item_{n}").set_value(value)


def fill_infusion(app, dose: float = 0.5, weight: float = 70.0) -> None:
    app.number_input(key="infusion_weight_kg").set_value(weight)
    app.number_input(key="infusion_dose_mg_per_kg").set_value(dose)


def save(app):
    app.button(key="save_infusion").click().run()
    assert not app.exception, app.exception
    return app


def test_a_whole_infusion_day_in_one_save(app, patient_id):
    open_infusion_page(app, patient_id)
    assert app.number_input(key="infusion_number").value == 1
    assert app.date_input(key="infusion_date").value == date.today()
    assert app.selectbox(key="infusion_type").value == "induction"
    fill_infusion(app)
    app.number_input(key="vital_bp_sys_before").set_value(128)
    app.number_input(key="vital_bp_dia_before").set_value(84)
    app.checkbox(key="se_dissociation").check()
    answer(app, "pre", "PHQ-9", PHQ9_PRE)
    answer(app, "post", "PHQ-9", [1] * 8 + [0])
    app.run()
    assert "35.0 mg" in values(app.metric)  # 0.5 mg/kg x 70 kg, live
    assert "PHQ-9 total 17 / 27: moderately severe" in values(app.success)
    assert "PHQ-9 total 8 / 27: mild" in values(app.success)
    assert "saving opens a suicide-risk alert" in joined(app.error)
    assert "Post-infusion PHQ-9: its questions ask about the last 2 weeks" in joined(app.caption)
    save(app)
    assert "Infusion 1 saved with 2 score(s)." in values(app.success)
    assert "Suicide-risk alert opened: PHQ-9 item 9 = 1" in joined(app.error)
    assert "1 open suicide-risk alert(s)" in joined(app.error)  # the banner
    assert "Not recorded (no answers): pre GAD-7, post GAD-7." in values(app.info)
    assert app.number_input(key="infusion_number").value == 2  # the form is ready for the next
    with read_session() as session:
        inf = session.exec(select(Infusion)).one()
        scores = session.exec(select(Assessment).order_by(Assessment.timepoint.desc())).all()
    assert (inf.total_dose_mg, inf.bp_sys_before, inf.side_effects) == (35.0, 128, ["dissociation"])
    assert [(a.timepoint, a.total, a.item9) for a in scores] == [("pre", 17, 1), ("post", 8, 0)]
    assert count(SafetyAlert) == 1


def test_live_dose_warning_and_radios_offer_only_valid_answers(app, patient_id):
    open_infusion_page(app, patient_id)
    fill_infusion(app, dose=1.2, weight=80.0)
    app.run()
    assert "96.0 mg" in values(app.metric)
    assert "above the protocol's warning level of 1.0 mg/kg" in joined(app.warning)
    assert app.radio(key="pre_PHQ-9_item_1").options == [
        "0 · Not at all", "1 · Several days", "2 · More than half the days",
        "3 · Nearly every day"]  # an out-of-range item cannot be entered on screen


@pytest.mark.parametrize("setup, field, rule", [
    (lambda app: app.date_input(key="infusion_date").set_value(date.today() + timedelta(days=1)),
     "administered_on", "is in the future"),
    (lambda app: app.number_input(key="infusion_dose_mg_per_kg").set_value(2.5),
     "dose_mg_per_kg", "above 0 and at most 2.0 mg/kg"),
    (lambda app: app.number_input(key="infusion_dose_mg_per_kg").set_value(0.0),
     "dose_mg_per_kg", "above 0 and at most 2.0 mg/kg"),
    (lambda app: app.number_input(key="vital_bp_sys_peak").set_value(300),
     "bp_sys_peak", "must be 60-250 mmHg"),
    (lambda app: app.number_input(key="vital_spo2_discharge").set_value(40),
     "spo2_discharge", "must be 50-100 %"),
    (lambda app: app.number_input(key="infusion_weight_kg").set_value(20.0),
     "weight_kg", "must be 30-300 kg"),
    (lambda app: app.number_input(key="infusion_duration_min").set_value(600),
     "duration_min", "must be 1-480 min"),
])
def test_bad_infusion_input_is_named_and_nothing_written(app, patient_id, setup, field, rule):
    open_infusion_page(app, patient_id)
    fill_infusion(app)
    setup(app)
    answer(app, "pre", "PHQ-9", PHQ9_PRE)
    save(app)
    message = joined(app.error)
    assert "Not saved." in message and field in message and rule in message
    assert (count(Infusion), count(Assessment), count(SafetyAlert)) == (0, 0, 0)


def test_a_double_submission_is_already_saved(app, patient_id):
    open_infusion_page(app, patient_id)
    fill_infusion(app)
    answer(app, "pre", "PHQ-9", PHQ9_PRE)
    save(app)
    # The second click of a double click carries the same form: infusion number 1 again.
    fill_infusion(app)
    app.number_input(key="infusion_number").set_value(1)
    answer(app, "pre", "PHQ-9", PHQ9_PRE)
    save(app)
    assert "Already saved: number: infusion 1 of course 1 is already saved" in \
        joined(app.warning)
    assert (count(Infusion), count(Assessment), count(SafetyAlert)) == (1, 1, 1)


def test_a_post_score_without_its_infusion_is_refused(app, patient_id):
    open_infusion_page(app, patient_id)
    app.radio(key="entry_mode").set_value("Scores for a saved infusion").run()
    assert "No infusion is saved in this course yet" in joined(app.warning)
    app.multiselect(key="pre_instruments").set_value([])
    answer(app, "post", "PHQ-9", [1] * 9)
    app.button(key="save_scores").click().run()
    assert "infusion: a score is recorded against its infusion; log the infusion first" in \
        joined(app.error)
    assert count(Assessment) == 0


def test_a_second_pre_score_of_an_instrument_is_refused(app, patient_id, clin):
    from tests.clinical_factories import log

    open_infusion_page(app, patient_id)
    with read_session() as session:
        course_id = session.exec(select(Course.id)).one()
    log(clin, course_id, scores=[score("PHQ-9", "pre", [0] * 9)])
    app.radio(key="entry_mode").set_value("Scores for a saved infusion").run()
    answer(app, "pre", "PHQ-9", [1] * 9)
    answer(app, "post", "GAD-7", [1] * 7)
    app.button(key="save_scores").click().run()
    assert "infusion 1 already has a pre-infusion PHQ-9" in joined(app.warning)
    assert count(Assessment) == 1  # nothing of the submission, not even the GAD-7
    app.multiselect(key="pre_instruments").set_value([])
    app.button(key="save_scores").click().run()
    assert "Scores of infusion 1 saved with 1 score(s)." in values(app.success)
    assert count(Assessment) == 2


def test_another_clinics_patient_cannot_be_opened(app, clin):
    other = make_user("clin2", "clinician", ("CL2",))
    foreign = make_patient(other, code="X-1", clinic="CL2")
    sign_in(app, "clin")
    app.session_state["patient_id"] = foreign
    go(app, "pages/infusion.py")
    assert "outside your scope" in joined(app.error)
    assert "Log infusion" not in values(app.title)
    with read_session() as session:
        denied = session.exec(select(AuditEvent).where(AuditEvent.action == "denied")).all()
    assert [(e.username, e.entity) for e in denied] == [("clin", "patient")]


def test_no_patient_chosen(app, clin):
    go(sign_in(app, "clin"), "pages/infusion.py")
    assert "Choose a patient on the Patients page first." in values(app.info)


def test_corrections_need_a_reason_and_reach_the_history(app, patient_id):
    open_infusion_page(app, patient_id)
    fill_infusion(app)
    answer(app, "pre", "PHQ-9", PHQ9_PRE)
    save(app)
    app.radio(key="entry_mode").set_value("Correct an infusion").run()
    app.selectbox(key="fix_field").set_value("dose_mg_per_kg").run()
    with read_session() as session:
        infusion_id = session.exec(select(Infusion.id)).one()
    assert "Saved value: 0.5" in values(app.text)
    app.number_input(key=f"fix_value_{infusion_id}_dose_mg_per_kg").set_value(0.6)
    app.button(key="save_fix").click().run()
    assert "reason: required" in joined(app.error)
    app.text_input(key="fix_reason").input("pump showed 0.6")
    app.button(key="save_fix").click().run()
    assert "Dose (mg/kg) corrected" in joined(app.success)
    app.radio(key="entry_mode").set_value("Correct a score").run()
    assert app.radio(key="fix_pre_PHQ-9_item_9").value == 1  # saved answers are filled in
    app.radio(key="fix_pre_PHQ-9_item_9").set_value(0)
    app.text_input(key="fix_score_reason").input("item 9 misheard").run()
    assert "PHQ-9 total 16 / 27: moderately severe" in values(app.success)
    app.button(key="save_score_fix").click().run()
    assert "Score corrected" in joined(app.success)
    with read_session() as session:
        inf = session.exec(select(Infusion)).one()
        pre = session.exec(select(Assessment)).one()
    assert (inf.dose_mg_per_kg, inf.total_dose_mg) == (0.6, 42.0)
    assert (pre.total, pre.item9) == (16, 0)
    assert count(SafetyAlert) == 1  # the original alert is kept
    app.button(key="back_to_record").click().run()
    go(app, "pages/patient.py")
    history = table_with(app, "Reason")
    assert list(history["Field"])[:2] == ["total", "item_9"]
    assert "pump showed 0.6" in set(history["Reason"])
