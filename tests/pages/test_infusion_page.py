"""Log infusion page: the whole infusion day in one save, live totals, every error path
(future date, dose limits, implausible vitals, post score without its infusion, a second
score in a slot, a double submission, another clinic's patient), and corrections."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from data.store.db import read_session
from models.tables import Assessment, AuditEvent, Course, Infusion, SafetyAlert
from tests.clinical_factories import PHQ9_PRE, make_patient, score
from tests.factories import make_user
from tests.pages.conftest import count, go, joined, sign_in, table_with, values
from ui.infusion_form import SECTIONS


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


# (change, clinic label, internal name never shown, rule, section tab holding the field)
@pytest.mark.parametrize(("setup", "label", "internal", "rule", "tab"), [
    (lambda app: app.date_input(key="infusion_date").set_value(date.today() + timedelta(days=1)),
     "Infusion date", "administered_on", "is in the future", 0),
    (lambda app: app.number_input(key="infusion_dose_mg_per_kg").set_value(2.5),
     "Dose (mg/kg)", "dose_mg_per_kg", "above 0 and at most 2.0 mg/kg", 0),
    (lambda app: app.number_input(key="infusion_dose_mg_per_kg").set_value(0.0),
     "Dose (mg/kg)", "dose_mg_per_kg", "above 0 and at most 2.0 mg/kg", 0),
    (lambda app: app.number_input(key="vital_bp_sys_peak").set_value(300),
     "Systolic BP at peak", "bp_sys_peak", "must be 60-250 mmHg", 2),
    (lambda app: app.number_input(key="vital_spo2_discharge").set_value(40),
     "SpO2 at discharge", "spo2_discharge", "must be 50-100 %", 3),
    (lambda app: app.number_input(key="infusion_weight_kg").set_value(20.0),
     "Weight", "weight_kg", "must be 30-300 kg", 0),
    (lambda app: app.number_input(key="infusion_duration_min").set_value(600),
     "Duration", "duration_min", "must be 1-480 min", 0),
    (lambda app: app.number_input(key="vital_bp_sys_before").set_value(400),
     "Systolic BP before", "bp_sys_before", "must be 60-250 mmHg", 1),
])
def test_bad_infusion_input_is_named_in_clinic_words_at_its_field(app, patient_id, setup, label,
                                                                 internal, rule, tab):
    open_infusion_page(app, patient_id)
    fill_infusion(app)
    setup(app)
    answer(app, "pre", "PHQ-9", PHQ9_PRE)
    save(app)
    summary = app.error[0].value  # the first thing on the form: the summary at the top
    assert summary.startswith("**Not saved. 1 thing to fix before saving:**")
    assert f"- {label}: " in summary and rule in summary
    assert rule in joined(app.tabs[tab].error)  # at the field, in its section
    assert app.session_state["infusion_step"] == SECTIONS[tab]  # its section is opened
    everything = joined(app.error) + joined(app.warning) + joined(app.markdown)
    assert internal not in everything
    assert (count(Infusion), count(Assessment), count(SafetyAlert)) == (0, 0, 0)


def test_every_problem_is_listed_at_the_top_and_goes_once_fixed(app, patient_id):
    open_infusion_page(app, patient_id)
    fill_infusion(app, weight=20.0)
    app.number_input(key="vital_bp_sys_before").set_value(400)
    app.number_input(key="vital_hr_discharge").set_value(10)
    save(app)
    summary = app.error[0].value
    assert "3 things to fix before saving:" in summary
    assert "- Weight: 20 kg is not plausible; body weight must be 30-300 kg (1 Details)" in summary
    assert ("- Systolic BP before: 400 mmHg is not plausible; systolic blood pressure before the "
            "infusion must be 60-250 mmHg (2 Before)") in summary
    assert ("- Heart rate at discharge: 10 beats/min is not plausible; heart rate at discharge "
            "must be 30-220 beats/min (4 After)") in summary
    assert "Not saved: see the things to fix at the top of the form." in joined(app.tabs[4].error)
    app.number_input(key="infusion_weight_kg").set_value(70.0).run()  # one fixed
    summary = app.error[0].value
    assert "2 things to fix" in summary and "Weight" not in summary
    assert count(Infusion) == 0


def test_a_blank_item_9_is_prompted_at_the_field_and_refused(app, patient_id):
    open_infusion_page(app, patient_id)
    fill_infusion(app)
    answer(app, "pre", "PHQ-9", [2] * 8)  # items 1-8; item 9 left blank
    app.run()
    before = app.tabs[1]
    assert "Item 9 is required: answer it, or tick 'prefers not to answer'." in \
        joined(before.warning)
    save(app)
    problem = ("PHQ-9 before the infusion, question 9: required: answer item 9 (thoughts of "
               "being better off dead or of self-harm) or choose 'prefers not to answer'")
    assert problem in app.error[0].value
    assert "required: answer item 9" in joined(app.tabs[1].error)  # under item 9
    assert (count(Infusion), count(Assessment), count(SafetyAlert)) == (0, 0, 0)
    app.checkbox(key="pre_PHQ-9_item9_declined").check().run()
    assert "required: answer item 9" not in joined(app.tabs[1].error)  # the field changed
    assert "saving opens an 'item 9 not answered' alert" in joined(app.tabs[1].warning)
    save(app)
    assert "Infusion 1 saved with 1 score(s)." in values(app.success)
    with read_session() as session:
        alert = session.exec(select(SafetyAlert)).one()
        pre = session.exec(select(Assessment)).one()
    assert (alert.item9_value, pre.item9) == (None, None)


def test_the_form_is_in_sections_with_save_last(app, patient_id):
    open_infusion_page(app, patient_id)
    assert [t.label for t in app.tabs] == list(SECTIONS)
    assert [t.label for t in app.tabs] == ["1 Details", "2 Before", "3 Monitoring", "4 After",
                                           "5 Review & save"]
    assert app.tabs[0].number_input(key="infusion_number").value == 1
    assert app.tabs[1].radio(key="pre_PHQ-9_item_1") is not None
    assert app.tabs[3].radio(key="post_PHQ-9_item_1") is not None
    assert app.tabs[4].button(key="save_infusion") is not None


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
    assert "Already saved: Infusion number: infusion 1 of course 1 is already saved" in \
        joined(app.warning)
    assert (count(Infusion), count(Assessment), count(SafetyAlert)) == (1, 1, 1)


def test_a_post_score_without_its_infusion_is_refused(app, patient_id):
    open_infusion_page(app, patient_id)
    app.radio(key="entry_mode").set_value("Scores for a saved infusion").run()
    assert "No infusion is saved in this course yet" in joined(app.warning)
    app.multiselect(key="pre_instruments").set_value([])
    answer(app, "post", "PHQ-9", [1] * 9)
    app.button(key="save_scores").click().run()
    assert "- Infusion: a score is recorded against its infusion; log the infusion first" in \
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


def _log_on(actor, course_id: int, number: int, day: date) -> None:
    from data.clinic.infusions import log_infusion
    from data.store.db import write_session

    with write_session() as session:
        log_infusion(session, actor=actor, course_id=course_id, today=date.today(), infusion={
            "number": number, "administered_on": day, "infusion_type": "induction",
            "route": "IV", "dose_mg_per_kg": 0.5, "weight_kg": 70.0})


def _course_id() -> int:
    with read_session() as session:
        return session.exec(select(Course.id)).one()


@pytest.mark.parametrize("status", ["discontinued", "completed"])
def test_a_closed_course_asks_to_reopen_with_a_reason(app, patient_id, clin, status):
    from data.clinic.infusions import set_course_status
    from data.store.db import write_session

    open_infusion_page(app, patient_id)
    with write_session() as session:
        set_course_status(session, actor=clin, course_id=_course_id(), status=status,
                          reason="induction stopped")
    app.run()
    assert f"Course 1 is {status}." in joined(app.warning)
    assert not [b for b in app.button if b.key == "save_infusion"]  # no form into it
    app.radio(key="course_gate_closed").set_value("reopen").run()
    app.button(key="course_gate_reopen").click().run()
    assert "- Reason: required; say why course 1 is now active" in app.error[0].value
    assert app.error[1].value == "required; say why course 1 is now active"  # at the field
    with read_session() as session:
        assert session.get(Course, _course_id()).status == status  # nothing written
    app.text_area(key="course_gate_reason").input("boosters resume after a pause")
    app.button(key="course_gate_reopen").click().run()
    assert "Course 1 reopened (active again)" in joined(app.success)
    with read_session() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.entity == "course",
                                                      AuditEvent.field == "status")
                             .order_by(AuditEvent.id.desc())).first()
        assert session.get(Course, _course_id()).status == "active"
    assert (event.username, event.reason) == ("clin", "boosters resume after a pause")
    assert app.button(key="save_infusion") is not None  # the form is back


def test_a_closed_course_can_start_a_new_course_instead(app, patient_id, clin):
    from data.clinic.infusions import set_course_status
    from data.store.db import write_session

    open_infusion_page(app, patient_id)
    with write_session() as session:
        set_course_status(session, actor=clin, course_id=_course_id(), status="discontinued",
                          reason="no response")
    app.run()
    app.radio(key="course_gate_closed").set_value("new").run()
    app.button(key="start_course").click().run()
    assert "Course 2 (induction) started." in joined(app.success)
    with read_session() as session:
        courses = session.exec(select(Course).order_by(Course.number)).all()
    assert [(c.number, c.status) for c in courses] == [(1, "discontinued"), (2, "active")]
    assert app.button(key="save_infusion") is not None  # course 2, active: the form


def test_a_gap_longer_than_the_lapse_window_asks_for_a_choice(app, patient_id, clin):
    from tests.clinical_factories import make_course

    _log_on(clin, make_course(clin, patient_id), 1, date.today() - timedelta(days=30))
    open_infusion_page(app, patient_id, start_course=False)
    assert "30 days since infusion 1 of course 1" in joined(app.warning)
    assert "longer than the lapse window of 21 days" in joined(app.warning)
    fill_infusion(app)
    save(app)  # no choice stated yet
    assert ("- Course: choose first: start a new course, or continue course 1 after the gap"
            in app.error[0].value)
    assert count(Infusion) == 1
    app.radio(key="course_gate_lapse").set_value("continue").run()
    save(app)
    assert "Infusion 2 saved with 0 score(s)." in values(app.success)
    with read_session() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.entity == "infusion")
                             .order_by(AuditEvent.id.desc())).first()
    assert event.reason.startswith("continues course 1 after 30 days without an infusion "
                                   "(lapse window 21 days)")


def test_within_the_lapse_window_no_question_is_asked(app, patient_id, clin):
    open_infusion_page(app, patient_id)
    _log_on(clin, _course_id(), 1, date.today() - timedelta(days=21))
    app.run()
    assert "lapse window" not in joined(app.warning)
    assert not [r for r in app.radio if r.key == "course_gate_lapse"]


def test_the_type_defaults_to_booster_after_the_induction_length(app, patient_id, clin):
    from tests.clinical_factories import make_course

    course_id = make_course(clin, patient_id)
    for n in range(1, 7):
        _log_on(clin, course_id, n, date.today() - timedelta(days=14 - 2 * n))
    open_infusion_page(app, patient_id, start_course=False)
    assert app.number_input(key="infusion_number").value == 7
    assert app.selectbox(key="infusion_type").value == "booster"
