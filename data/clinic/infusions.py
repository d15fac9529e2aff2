"""Courses, infusions and the scores taken before and after them.

One infusion screen saves in ONE transaction: the infusion, its scores and any alert,
or nothing. Every input is validated first (models/schemas.py), all problems reported
together. A second click, or a second tab, is caught by the unique slots
(uq_course_number, uq_infusion_number, uq_assessment_slot): checked first, and an
IntegrityError at insert time is reported the same way ("already saved").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from data.clinic.monitoring import record_held_visit, write_adverse_events
from data.clinic.patients import clinic_code, get_patient
from data.clinic.protocol import load_protocol
from data.clinic.scores import check_scores, write_scores
from data.store import audit
from data.store.clinic_time import today_in
from models.access import Actor, require, require_clinic
from models.schemas import (
    AlreadySaved,
    CourseIn,
    InfusionIn,
    InputError,
    ScoreIn,
    check_reason,
    parse,
)
from models.tables import (
    COURSE_STATUSES,
    AdverseEvent,
    Assessment,
    Clinic,
    Course,
    CourseStatus,
    HeldVisit,
    Infusion,
    Patient,
    SafetyAlert,
)
from outcomes.course_rules import default_type


@dataclass
class Saved:
    """What one save wrote, and what the user should read about it."""

    infusion: Infusion | None = None
    assessments: list[Assessment] = field(default_factory=list)
    alerts: list[SafetyAlert] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # blank score forms, not recorded
    adverse_events: list[AdverseEvent] = field(default_factory=list)
    held: HeldVisit | None = None  # held or rescheduled for blood pressure: no infusion


def _require_recording(actor: Actor, entity: str, entity_id: object = None) -> None:
    require(actor, "record_infusions", entity=entity, entity_id=entity_id,
            message="This role may not record infusions or scores.")


def courses_of(session: Session, *, actor: Actor, patient_id: int) -> list[Course]:
    """The patient's courses, oldest first."""
    get_patient(session, actor=actor, patient_id=patient_id)
    return list(session.exec(select(Course).where(Course.patient_id == patient_id)
                             .order_by(Course.number)).all())


def next_course_number(session: Session, *, patient_id: int) -> int:
    last = session.exec(select(func.max(Course.number)).where(Course.patient_id == patient_id))
    return (last.one() or 0) + 1


def start_course(session: Session, *, actor: Actor, patient_id: int,
                 course_type: str = "induction", start_date: date | None = None,
                 number: int | None = None, today: date | None = None) -> Course:
    """A new course, numbered after the patient's last (or `number`, as shown on screen)."""
    _require_recording(actor, "course")
    patient = get_patient(session, actor=actor, patient_id=patient_id)
    today = today or today_in(session.get(Clinic, patient.clinic_id))
    data = parse(CourseIn, {"course_type": course_type, "start_date": start_date or today},
                 today=today)
    number = number or next_course_number(session, patient_id=patient.id)
    if session.exec(select(Course.id).where(Course.patient_id == patient.id,
                                            Course.number == number)).first():
        raise AlreadySaved([("course", f"course {number} of this patient is already saved")])
    course = Course(patient_id=patient.id, number=number, course_type=data.course_type,
                    start_date=data.start_date, status=CourseStatus.ACTIVE, created_at=audit.utcnow())
    session.add(course)
    _flush_or_already_saved(session, "course", f"course {number} of this patient")
    audit.record(session, actor=actor, action="create", entity="course", entity_id=course.id,
                 patient_id=patient.id, new={"number": number, "course_type": course.course_type,
                                             "start_date": course.start_date})
    return course


def set_course_status(session: Session, *, actor: Actor, course_id: int, status: str,
                      reason: str | None) -> Course:
    """Mark a course completed or discontinued (or active again), with the reason (audited:
    field 'status', old and new value). Infusions may still be logged in a completed course
    (boosters follow an induction); a discontinued course leaves the booster-overdue list."""
    _require_recording(actor, "course", course_id)
    course, patient = course_in_scope(session, actor=actor, course_id=course_id)
    if status not in COURSE_STATUSES:
        raise InputError([("status", f"'{status}' is not allowed; one of "
                           f"{', '.join(COURSE_STATUSES)}")])
    if status == course.status:
        raise InputError([("status", f"course {course.number} is already {status}")])
    reason = check_reason(reason, why=f"course {course.number} is now {status}")
    old, course.status = course.status, status
    session.add(course)
    audit.record(session, actor=actor, action="update", entity="course", entity_id=course.id,
                 patient_id=patient.id, field="status", old=old, new=status, reason=reason)
    return course


def _flush_or_already_saved(session: Session, field_name: str, what: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        raise AlreadySaved([(field_name, f"{what} is already saved; nothing new was "
                             "written")]) from None


def course_in_scope(session: Session, *, actor: Actor, course_id: int) -> tuple[Course, Patient]:
    """A course and its patient, if the actor may see the patient's clinic."""
    course = session.get(Course, course_id) if course_id else None
    if course is None:
        raise InputError([("course", f"no course with id {course_id}; start a course first")])
    patient = get_patient(session, actor=actor, patient_id=course.patient_id)
    return course, patient


def next_infusion_number(session: Session, *, course_id: int) -> int:
    last = session.exec(select(func.max(Infusion.number)).where(Infusion.course_id == course_id))
    return (last.one() or 0) + 1


def default_infusion_type(course: Course, number: int, induction_length: int) -> str:
    """Maintenance courses: maintenance; induction courses: induction up to N, then booster
    (infusion `number` follows number - 1 saved ones; outcomes/course_rules.py)."""
    return default_type(course.course_type, number - 1, induction_length)


def reopen_course(session: Session, *, actor: Actor, course_id: int,
                  reason: str | None) -> Course:
    """A completed or discontinued course made active again so an infusion can be logged
    into it (issue 12 item 4): the reason is required and audited (field 'status')."""
    return set_course_status(session, actor=actor, course_id=course_id, status=CourseStatus.ACTIVE,
                             reason=reason)


def _infusion_problems(data: dict[str, Any], today: date,
                       protocol: dict[str, Any]) -> tuple[InfusionIn | None, list]:
    try:
        return parse(InfusionIn, data, today=today, protocol=protocol, new=True), []
    except InputError as exc:
        return None, exc.problems


def _infusion_warnings(infusion: InfusionIn, next_number: int,
                       protocol: dict[str, Any]) -> list[str]:
    warnings = [w for w in [infusion.dose_warning(protocol)] if w]
    if infusion.number > next_number:
        warnings.append(f"number: infusion {infusion.number} leaves a gap (the next number was "
                        f"{next_number})")
    return warnings


def log_infusion(session: Session, *, actor: Actor, course_id: int,
                 infusion: InfusionIn | dict[str, Any], scores: Sequence[ScoreIn | dict] = (),
                 today: date | None = None, course_note: str | None = None) -> Saved:
    """Validate the infusion and its scores, then write them and any alert together.
    `course_note`: the user's stated choice when the screen advised otherwise (e.g. to
    continue a course after a gap longer than the lapse window); kept as the reason of
    the infusion's audit event."""
    _require_recording(actor, "infusion")
    course, patient = course_in_scope(session, actor=actor, course_id=course_id)
    today = today or today_in(session.get(Clinic, patient.clinic_id))
    protocol = load_protocol(session)
    raw = infusion.model_dump() if isinstance(infusion, InfusionIn) else dict(infusion)
    data, problems = _infusion_problems(raw, today, protocol)
    checked, skipped, score_problems = check_scores(scores)
    if course_note is not None:
        try:
            course_note = check_reason(course_note, why="the infusion goes into this course")
        except InputError as exc:
            problems += [("course", rule) for _, rule in exc.problems]
    if problems or score_problems:
        raise InputError(problems + score_problems)
    assert data is not None
    if data.held:
        return _held_visit(session, actor, course, patient, data, checked)
    next_number = next_infusion_number(session, course_id=course.id)
    what = f"infusion {data.number} of course {course.number}"
    if session.exec(select(Infusion.id).where(Infusion.course_id == course.id,
                                              Infusion.number == data.number)).first():
        raise AlreadySaved([("number", f"{what} is already saved; nothing new was written")])
    row = Infusion(course_id=course.id, **data.columns(), total_dose_mg=data.total_dose_mg,
                   clinician_id=actor.user_id, clinician_code=actor.username,
                   created_at=audit.utcnow())
    session.add(row)
    _flush_or_already_saved(session, "number", what)
    audit.record(session, actor=actor, action="create", entity="infusion", entity_id=row.id,
                 patient_id=patient.id, new=_infusion_summary(row), reason=course_note)
    events = write_adverse_events(session, actor=actor, infusion=row, patient_id=patient.id,
                                  events=data.adverse_events)
    assessments, alerts = write_scores(session, actor=actor, infusion=row, course=course,
                                       patient=patient, scores=checked)
    return Saved(row, assessments, alerts, _infusion_warnings(data, next_number, protocol),
                 skipped, events)


def _held_visit(session: Session, actor: Actor, course: Course, patient: Patient,
                data: InfusionIn, checked: list) -> Saved:
    """Held or rescheduled for blood pressure: a HeldVisit (and its adverse events are
    refused with the scores: no infusion to attach them to)."""
    problems = [("scores", f"a {data.bp_decision} visit records no scores (no infusion was "
                 "given); enter them at the infusion")] if checked else []
    if data.adverse_events:
        problems.append(("adverse_events", f"a {data.bp_decision} visit has no infusion to "
                         "attach adverse events to; describe the event in the reason"))
    if problems:
        raise InputError(problems)
    held = record_held_visit(session, actor=actor, course=course, patient_id=patient.id,
                             data=data)
    return Saved(held=held)


def _infusion_summary(row: Infusion) -> dict[str, Any]:
    return {name: getattr(row, name) for name in (
        "number", "administered_on", "infusion_type", "route", "dose_mg_per_kg", "weight_kg",
        "total_dose_mg", "duration_min", "side_effects", "bp_decision", "sedation_moaas",
        "dissociation", "discharge_ready_minutes")}


def add_scores(session: Session, *, actor: Actor, infusion_id: int | None,
               scores: Sequence[ScoreIn | dict]) -> Saved:
    """Scores for an infusion saved earlier (e.g. the post scores, entered later)."""
    _require_recording(actor, "assessment", infusion_id)
    infusion = session.get(Infusion, infusion_id) if infusion_id else None
    if infusion is None:
        raise InputError([("infusion", "a score is recorded against its infusion; log the "
                           "infusion first (a post-infusion score needs its infusion)")])
    course, patient = course_in_scope(session, actor=actor, course_id=infusion.course_id)
    require_clinic(actor, patient.clinic_id, entity="infusion", entity_id=infusion.id)
    checked, skipped, problems = check_scores(scores)
    if problems:
        raise InputError(problems)
    if not checked:
        raise InputError([("scores", "no answers entered; answer at least one item")])
    assessments, alerts = write_scores(session, actor=actor, infusion=infusion, course=course,
                                       patient=patient, scores=checked)
    return Saved(infusion, assessments, alerts, [], skipped)


def infusions_of(session: Session, *, actor: Actor, course_id: int) -> list[Infusion]:
    """A course's infusions in number order."""
    course_in_scope(session, actor=actor, course_id=course_id)
    return list(session.exec(select(Infusion).where(Infusion.course_id == course_id)
                             .order_by(Infusion.number)).all())


def last_weight(session: Session, *, patient_id: int) -> float | None:
    """The weight recorded at the patient's latest infusion (a default for the form)."""
    stmt = (select(Infusion.weight_kg).join(Course).where(Course.patient_id == patient_id,
                                                          Infusion.weight_kg.is_not(None))
            .order_by(Infusion.administered_on.desc(), Infusion.id.desc()))
    return session.exec(stmt).first()


def scores_of(session: Session, *, actor: Actor,
              course_id: int) -> list[tuple[Assessment, int]]:
    """A course's saved scores with their infusion number, in C2/C4 order (pre, post, then
    follow-ups by date)."""
    course_in_scope(session, actor=actor, course_id=course_id)
    stmt = (select(Assessment, Infusion.number).join(Infusion)
            .where(Assessment.course_id == course_id))
    rows = [(a, number) for a, number in session.exec(stmt).all()]
    rank = {"pre": 0, "post": 1, "followup": 2}
    return sorted(rows, key=lambda r: (r[1], rank[r[0].timepoint], r[0].administered_on,
                                       r[0].instrument))


@dataclass
class InfusionScreen:
    """What the infusion page needs before any widget: patient, courses, protocol."""

    patient: Patient
    clinic: str
    courses: list[Course]
    infusions: dict[int, list[Infusion]]  # course id -> infusions in number order
    protocol: dict[str, Any]
    last_weight: float | None
    clinic_zone: str = "UTC"  # the clinic's IANA time zone: "today" for the date defaults


def infusion_screen(session: Session, *, actor: Actor, patient_id: int) -> InfusionScreen:
    """Read the infusion page's context (permission and clinic scope checked)."""
    _require_recording(actor, "infusion")
    courses = courses_of(session, actor=actor, patient_id=patient_id)
    patient = get_patient(session, actor=actor, patient_id=patient_id)
    infusions = {c.id: infusions_of(session, actor=actor, course_id=c.id) for c in courses}
    return InfusionScreen(patient, clinic_code(session, patient.clinic_id), courses, infusions,
                          load_protocol(session), last_weight(session, patient_id=patient_id),
                          session.get(Clinic, patient.clinic_id).time_zone)
