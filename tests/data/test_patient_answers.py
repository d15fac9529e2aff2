"""A patient's own answers land in the slot they were asked for, with their source; an
item-9 alert a patient's answer opens queues the on-call notifications in the same
transaction (data/selfreport/answers.py, OUTCOMES.md C4 and section 1)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import func, select

from data.clinic.infusions import log_infusion
from data.selfreport.answers import record_patient_answers
from data.store.db import read_session, write_session
from models.schemas import AlreadySaved, InputError
from models.tables import Assessment, Clinic, Course, Outbox, Patient, SafetyAlert
from tests.clinical_factories import TODAY, infusion_input, log, make_course, make_patient
from tests.factories import make_user

DONE = datetime(2025, 3, 11, 21, 5, tzinfo=UTC)


@pytest.fixture
def clin(store_url):
    return make_user("clin", "clinician", ("CL1",))


@pytest.fixture
def course_id(clin):
    course = make_course(clin, make_patient(clin, code="P-001"))
    log(clin, course, number=1)  # 2025-03-10
    with write_session() as session:
        log_infusion(session, actor=clin, course_id=course,
                     infusion=infusion_input(2, administered_on=date(2025, 3, 12)),
                     today=date(2025, 3, 20))
    return course


def answer(clin, course_id, occasion, infusion_number, scores, *, on=TODAY,
           source="patient_remote"):
    with write_session() as session:
        course = session.get(Course, course_id)
        patient = session.get(Patient, course.patient_id)
        return record_patient_answers(
            session, actor=clin, patient=patient, course=course, occasion=occasion,
            infusion_number=infusion_number, scores=scores, source=source,
            completed_at=DONE, on=on)


def phq9(items, **extra):
    return {"instrument": "PHQ-9", "items": items, **extra}


def count(model) -> int:
    with read_session() as session:
        return session.exec(select(func.count()).select_from(model)).one()


def set_oncall(email="oncall@clinic.test", webhook="http://127.0.0.1:9/hook"):
    with write_session() as session:
        clinic = session.exec(select(Clinic).where(Clinic.code == "CL1")).one()
        clinic.oncall_email, clinic.oncall_webhook = email, webhook
        session.add(clinic)


def test_kiosk_answers_land_in_the_pre_slot_with_their_source(clin, course_id):
    saved = answer(clin, course_id, "pre", 2, [phq9([1] * 9)], source="patient_kiosk",
                   on=date(2025, 3, 12))
    (row,) = saved.assessments
    assert (row.timepoint, row.infusion_id, row.source, row.total) == (
        "pre", saved.infusion.id, "patient_kiosk", 9)
    assert saved.infusion.number == 2
    assert row.administered_on == date(2025, 3, 12)  # the infusion's date
    assert row.completed_at == DONE


def test_a_pre_score_of_an_infusion_not_saved_is_refused_and_nothing_written(clin, course_id):
    before = count(Assessment)
    with pytest.raises(InputError, match="infusion 3 of course 1 is not saved yet"):
        answer(clin, course_id, "pre", 3, [phq9([0] * 9)])
    assert count(Assessment) == before


@pytest.mark.parametrize(("on", "infusion"), [
    (date(2025, 3, 10), 1),  # the day of infusion 1: on or before it
    (date(2025, 3, 11), 1),  # the day after infusion 1
    (date(2025, 3, 12), 2),  # the day of infusion 2
    (date(2025, 3, 20), 2),
])
def test_a_followup_belongs_to_the_last_infusion_dated_on_or_before_it(clin, course_id, on,
                                                                     infusion):
    saved = answer(clin, course_id, "followup", 1, [phq9([0] * 9)], on=on)
    (row,) = saved.assessments
    assert (row.timepoint, saved.infusion.number, row.administered_on) == (
        "followup", infusion, on)


def test_a_followup_before_any_infusion_is_refused(clin, course_id):
    with pytest.raises(InputError, match="occasion: a follow-up belongs to an infusion"):
        answer(clin, course_id, "followup", 1, [phq9([0] * 9)], on=date(2025, 3, 9))


def test_one_followup_per_course_instrument_and_date(clin, course_id):
    answer(clin, course_id, "followup", 1, [phq9([0] * 9)], on=date(2025, 3, 11))
    with pytest.raises(AlreadySaved, match="follow-up PHQ-9 dated 2025-03-11"):
        answer(clin, course_id, "followup", 1, [phq9([1] * 9)], on=date(2025, 3, 11))
    answer(clin, course_id, "followup", 1, [{"instrument": "GAD-7", "items": [0] * 7}],
           on=date(2025, 3, 11))  # another instrument the same day is its own slot
    assert count(Assessment) == 2


@pytest.mark.parametrize(("items", "extra", "kind", "value"), [
    ([0] * 8 + [1], {}, "positive", 1),
    ([0] * 8 + [None], {"item9_declined": True}, "not_answered", None),
])
def test_an_item9_alert_from_a_patient_queues_the_oncall_notifications(
        clin, course_id, items, extra, kind, value):
    set_oncall()
    saved = answer(clin, course_id, "followup", 1, [phq9(items, **extra)],
                   on=date(2025, 3, 11))
    (alert,) = saved.alerts
    assert (alert.kind, alert.item9_value, alert.status) == (kind, value, "open")
    with read_session() as session:
        queued = session.exec(select(Outbox).order_by(Outbox.channel)).all()
    assert [(q.channel, q.target, q.status, q.alert_id) for q in queued] == [
        ("email", "oncall@clinic.test", "pending", alert.id),
        ("webhook", "http://127.0.0.1:9/hook", "pending", alert.id)]
    text = str(queued[0].payload)
    assert "P-001" not in text and str(alert.patient_id) not in text.replace(
        str(alert.id), "")


def test_no_oncall_channel_set_queues_nothing_but_the_alert_opens(clin, course_id):
    saved = answer(clin, course_id, "followup", 1, [phq9([0] * 8 + [2])],
                   on=date(2025, 3, 11))
    assert len(saved.alerts) == 1 and count(Outbox) == 0
    assert count(SafetyAlert) == 1


def test_item9_blank_without_the_explicit_choice_writes_nothing(clin, course_id):
    set_oncall()
    before = count(Assessment)
    with pytest.raises(InputError, match="followup PHQ-9 item_9: required"):
        answer(clin, course_id, "followup", 1, [phq9([0] * 8 + [None])], on=date(2025, 3, 11))
    assert (count(Assessment), count(SafetyAlert), count(Outbox)) == (before, 0, 0)


def test_a_clinician_source_is_not_a_patient_answer(clin, course_id):
    with pytest.raises(ValueError, match="source must be one of"):
        answer(clin, course_id, "followup", 1, [phq9([0] * 9)], source="clinician")


def test_the_record_shows_followups_with_their_dates_and_who_answered(clin, course_id):
    from data.clinic.records import course_tables, item9_history

    answer(clin, course_id, "followup", 1, [phq9([1] * 9)], on=date(2025, 3, 11))
    answer(clin, course_id, "followup", 1, [phq9([0] * 9)], on=date(2025, 3, 10))
    with read_session() as session:
        patient_id = session.get(Course, course_id).patient_id
        (course,) = course_tables(session, patient_id)
        history = item9_history(session, patient_id)
    first = course["rows"][0]
    # 9 x 1 = 9 (mild); 0 (minimal); in date order, each dated
    assert first["PHQ-9 follow-up"] == ("0 (minimal) · patient-reported on 2025-03-10; "
                                        "9 (mild) · patient-reported on 2025-03-11")
    assert [(h["date"], h["timepoint"], h["item 9"], h["answered by"]) for h in history] == [
        (date(2025, 3, 10), "follow-up", 0, "Patient (link)"),
        (date(2025, 3, 11), "follow-up", 1, "Patient (link)")]
