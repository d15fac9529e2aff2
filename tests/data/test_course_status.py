"""A course is marked completed or discontinued (or active again) with a reason: audited
field by field, shown in the record's history, refused without a reason or out of scope."""

from __future__ import annotations

import pytest
from sqlmodel import select

from data.clinic.infusions import set_course_status
from data.clinic.records import correction_history
from data.store.db import read_session, write_session
from models.access import PermissionDenied
from models.schemas import InputError
from models.tables import AuditEvent, Course
from tests.clinical_factories import make_course, make_patient
from tests.factories import make_user


@pytest.fixture
def clin(store_url):
    return make_user("clin", "clinician", ("CL1",))


@pytest.fixture
def course_id(clin):
    return make_course(clin, make_patient(clin))


def change(actor, course_id: int, status: str, reason: str | None) -> None:
    with write_session() as session:
        set_course_status(session, actor=actor, course_id=course_id, status=status,
                          reason=reason)


def status_of(course_id: int) -> str:
    with read_session() as session:
        return session.get(Course, course_id).status


def status_events() -> list[tuple]:
    with read_session() as session:
        return [(e.action, e.entity, e.field, e.old_value, e.new_value, e.reason, e.username)
                for e in session.exec(select(AuditEvent).where(AuditEvent.field == "status",
                                                               AuditEvent.entity == "course"))]


def test_discontinuing_a_course_records_who_why_and_the_previous_status(clin, course_id):
    change(clin, course_id, "discontinued", "stopped: raised blood pressure")
    assert status_of(course_id) == "discontinued"
    assert status_events() == [("update", "course", "status", "active", "discontinued",
                                "stopped: raised blood pressure", "clin")]
    change(clin, course_id, "active", "resumed after a cardiology review")
    assert status_of(course_id) == "active"
    with read_session() as session:
        patient_id = session.get(Course, course_id).patient_id
        history = correction_history(session, patient_id)
    assert [(h["record"], h["field"], h["old"], h["new"], h["reason"]) for h in history] == [
        ("course 1", "status", "discontinued", "active", "resumed after a cardiology review"),
        ("course 1", "status", "active", "discontinued", "stopped: raised blood pressure")]


@pytest.mark.parametrize(("status", "reason", "field", "rule"), [
    ("completed", "", "reason", "required; say why course 1 is now completed"),
    ("completed", "   ", "reason", "required; say why course 1 is now completed"),
    ("completed", None, "reason", "required; say why course 1 is now completed"),
    ("paused", "holiday", "status",
     "'paused' is not allowed; one of active, completed, discontinued"),
    ("active", "no change", "status", "course 1 is already active"),
])
def test_bad_status_changes_are_refused_naming_the_field(clin, course_id, status, reason,
                                                          field, rule):
    with pytest.raises(InputError) as caught:
        change(clin, course_id, status, reason)
    assert caught.value.problems == [(field, rule)]
    assert status_of(course_id) == "active" and status_events() == []


def test_a_clinician_of_another_clinic_and_an_auditor_may_not(clin, course_id):
    other = make_user("other", "clinician", ("CL2",))
    auditor = make_user("aud", "auditor", ("CL1",))
    for actor in (other, auditor):
        with pytest.raises(PermissionDenied):
            change(actor, course_id, "completed", "induction complete")
    assert status_of(course_id) == "active" and status_events() == []
