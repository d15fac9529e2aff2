"""A patient's own answers, written to the slot they were asked for, with their source.

The kiosk (at the chair, `patient_kiosk`) and an invitation link (`patient_remote`) both
land here. One transaction: the scores, any item-9 alert (positive or not answered) and,
for each alert, the on-call notifications (data/selfreport/outbox.py).

- pre / post of infusion N: that infusion must be saved (a score is recorded against its
  infusion); the score is dated by the infusion.
- followup (OUTCOMES.md C4): dated the day it is answered, it belongs to the course's last
  infusion dated on or before that day; one per (course, instrument, date).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from data.clinic.infusions import Saved
from data.clinic.scores import check_scores, write_scores
from data.selfreport.outbox import queue_alert_notifications
from models.access import Actor
from models.schemas import InputError, ScoreIn
from models.tables import PATIENT_SOURCES, Clinic, Course, Infusion, Patient


def slot_infusion(session: Session, *, course: Course, occasion: str, infusion_number: int,
                  on: date) -> Infusion:
    """The infusion whose slot the answers fill (see the module docstring)."""
    if occasion == "followup":
        stmt = (select(Infusion).where(Infusion.course_id == course.id,
                                       Infusion.administered_on <= on)
                .order_by(Infusion.administered_on.desc(), Infusion.number.desc()))
        infusion = session.exec(stmt).first()
        if infusion is None:
            raise InputError([("occasion", f"a follow-up belongs to an infusion dated on or "
                               f"before {on}; course {course.number} has none")])
        return infusion
    infusion = session.exec(select(Infusion).where(
        Infusion.course_id == course.id, Infusion.number == infusion_number)).first()
    if infusion is None:
        raise InputError([("infusion", f"infusion {infusion_number} of course {course.number} "
                           "is not saved yet; a pre or post questionnaire is recorded "
                           "against its infusion")])
    return infusion


def record_patient_answers(session: Session, *, actor: Actor, patient: Patient,
                           course: Course, occasion: str, infusion_number: int,
                           scores: Sequence[ScoreIn | dict[str, Any]], source: str,
                           completed_at: datetime, on: date) -> Saved:
    """Validate, then write the answers, their alerts and the on-call notifications."""
    if source not in PATIENT_SOURCES:
        raise ValueError(f"source must be one of {PATIENT_SOURCES}, got {source!r}")
    forms = [{**(s.model_dump() if isinstance(s, ScoreIn) else s), "timepoint": occasion}
             for s in scores]
    checked, skipped, problems = check_scores(forms)
    if problems:
        raise InputError(problems)
    if not checked:
        raise InputError([("answers", "no answers given; answer the questions first")])
    infusion = slot_infusion(session, course=course, occasion=occasion,
                             infusion_number=infusion_number, on=on)
    assessments, alerts = write_scores(
        session, actor=actor, infusion=infusion, course=course, patient=patient,
        scores=checked, source=source, completed_at=completed_at,
        administered_on=on if occasion == "followup" else None)
    clinic = session.get(Clinic, patient.clinic_id)
    for alert in alerts:
        queue_alert_notifications(session, actor=actor, alert=alert, clinic=clinic)
    return Saved(infusion, assessments, alerts, [], skipped)
