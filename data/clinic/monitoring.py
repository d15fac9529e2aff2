"""Monitoring records of an infusion visit (issue 12 item 5): adverse events and visits
held or rescheduled for blood pressure (rules: models/monitoring_schema.py).

Writes take the session keyword-only, never commit, and audit in the same transaction;
reads serve the record, the PDF report, the Outcomes page's safety section and exports.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlmodel import Session, select

from data.store import audit
from models.access import Actor, require, require_clinic
from models.monitoring_schema import AdverseEventIn, parse_adverse_events
from models.tables import AdverseEvent, Course, HeldVisit, Infusion, Patient
from models.validation import InputError, ModelProblems


def write_adverse_events(session: Session, *, actor: Actor, infusion: Infusion,
                         patient_id: int, events: Sequence[AdverseEventIn]) -> list[AdverseEvent]:
    """The infusion's adverse events, each audited (action 'create', entity 'adverse_event')."""
    rows = []
    for event in events:
        row = AdverseEvent(infusion_id=infusion.id, **event.model_dump(),
                           recorded_at=audit.utcnow(), recorded_by_id=actor.user_id)
        session.add(row)
        session.flush()
        audit.record(session, actor=actor, action="create", entity="adverse_event",
                     entity_id=row.id, patient_id=patient_id,
                     new={"infusion_id": infusion.id, "category": row.category,
                          "severity": row.severity, "action_taken": row.action_taken,
                          "description": row.description})
        rows.append(row)
    return rows


def add_adverse_events(session: Session, *, actor: Actor, infusion_id: int | None,
                       events: Sequence[AdverseEventIn | dict[str, Any]]) -> list[AdverseEvent]:
    """Adverse events noticed after the infusion was saved (validated first, audited)."""
    require(actor, "record_infusions", entity="adverse_event", entity_id=infusion_id,
            message="This role may not record infusions or adverse events.")
    infusion = session.get(Infusion, infusion_id) if infusion_id else None
    if infusion is None:
        raise InputError([("infusion", "an adverse event is recorded against its infusion; "
                           "choose a saved infusion")])
    course = session.get(Course, infusion.course_id)
    patient = session.get(Patient, course.patient_id)
    require_clinic(actor, patient.clinic_id, entity="infusion", entity_id=infusion.id)
    if not events:
        raise InputError([("adverse_events", "none entered; describe at least one event")])
    try:
        checked = parse_adverse_events(list(events))
    except ModelProblems as exc:
        raise InputError(exc.problems) from None
    return write_adverse_events(session, actor=actor, infusion=infusion,
                                patient_id=patient.id, events=checked)


def record_held_visit(session: Session, *, actor: Actor, course: Course, patient_id: int,
                      data: Any) -> HeldVisit:
    """A visit held or rescheduled for blood pressure (``data``: a validated InfusionIn)."""
    row = HeldVisit(course_id=course.id, planned_number=data.number,
                    visit_on=data.administered_on, bp_sys=data.bp_sys_before,
                    bp_dia=data.bp_dia_before, hr=data.hr_before, spo2=data.spo2_before,
                    decision=data.bp_decision, reason=data.bp_decision_reason,
                    recorded_at=audit.utcnow(), recorded_by_id=actor.user_id)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="create", entity="held_visit", entity_id=row.id,
                 patient_id=patient_id, reason=row.reason,
                 new={"course": course.number, "planned_number": row.planned_number,
                      "visit_on": row.visit_on, "bp": f"{row.bp_sys}/{row.bp_dia}",
                      "decision": row.decision})
    return row


def adverse_events_by_infusion(session: Session,
                               infusion_ids: Iterable[int]) -> dict[int, list[AdverseEvent]]:
    """Each infusion's adverse events, in the order recorded."""
    ids = list(infusion_ids)
    result: dict[int, list[AdverseEvent]] = {}
    if not ids:
        return result
    rows = session.exec(select(AdverseEvent).where(AdverseEvent.infusion_id.in_(ids))
                        .order_by(AdverseEvent.id)).all()
    for row in rows:
        result.setdefault(row.infusion_id, []).append(row)
    return result


def held_visits_of(session: Session, course_ids: Iterable[int]) -> list[HeldVisit]:
    """The courses' held visits, in date order."""
    ids = list(course_ids)
    if not ids:
        return []
    return list(session.exec(select(HeldVisit).where(HeldVisit.course_id.in_(ids))
                             .order_by(HeldVisit.visit_on, HeldVisit.id)).all())


def adverse_event_text(event: AdverseEvent) -> str:
    """'raised blood pressure (moderate): labetalol given' with the description if any."""
    what = event.category if not event.description else f"{event.category}: {event.description}"
    return f"{what} ({event.severity}); action: {event.action_taken}"
