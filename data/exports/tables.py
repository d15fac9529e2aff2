"""The identified export tables, read within the actor's clinic scope.

Each loader returns a `Table` (rows as dicts of plain Python values, in the columns'
order, plus hidden keys starting with '_' that the de-identification needs: the course
anchor date). Permission checks happen in `data.exports.service`, not here.

Date range: patients, infusions and scores are selected by their course's start date
(as the outcome figures are); audit events by the day they happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Bundle
from sqlmodel import Session, or_, select

from data.access import Actor
from data.exports.columns import (
    AUDIT_COLUMNS,
    INFUSION_COLUMNS,
    PATIENT_COLUMNS,
    ColumnSpec,
    score_columns,
)
from data.observations import scope_filter
from models.tables import Assessment, AuditEvent, Clinic, Course, Infusion, Patient, User
from outcomes.instruments import get_instrument


@dataclass(frozen=True)
class RowFilters:
    """Which rows: clinics (None = every clinic in scope) and a course-start date range."""

    clinic_ids: tuple[int, ...] | None = None
    start: date | None = None
    end: date | None = None


@dataclass
class Table:
    """One exported table: its columns and its rows (dicts keyed by column name)."""

    name: str
    columns: tuple[ColumnSpec, ...]
    rows: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)  # what the de-identification did

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def n_rows(self) -> int:
        return len(self.rows)


def _first_infusions():  # noqa: ANN202
    return (select(Infusion.course_id, func.min(Infusion.administered_on).label("first_on"))
            .group_by(Infusion.course_id).subquery())


def _course_rows(actor: Actor, filters: RowFilters):  # noqa: ANN202
    """WHERE parts shared by the course-level tables."""
    parts = [scope_filter(actor, Patient.clinic_id,
                          list(filters.clinic_ids) if filters.clinic_ids else None)]
    if filters.start:
        parts.append(Course.start_date >= filters.start)
    if filters.end:
        parts.append(Course.start_date <= filters.end)
    return parts


def age_in_years(birth: date | None, on: date | None) -> int | None:
    """Whole years completed on `on` (None when either date is unknown)."""
    if birth is None or on is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def load_patients(session: Session, *, actor: Actor, filters: RowFilters,
                  today: date) -> Table:
    first = _first_infusions()
    anchor = func.coalesce(Course.start_date, first.c.first_on)
    courses = (
        select(Course.patient_id, func.count(Course.id).label("n_courses"),
               func.min(anchor).label("first_start"))
        .outerjoin(first, first.c.course_id == Course.id)
        .join(Patient, Patient.id == Course.patient_id)
        .where(*_course_rows(actor, filters))
        .group_by(Course.patient_id).subquery()
    )
    stmt = (select(Patient, Clinic.code, courses.c.n_courses, courses.c.first_start)
            .join(Clinic, Clinic.id == Patient.clinic_id)
            .where(scope_filter(actor, Patient.clinic_id,
                                list(filters.clinic_ids) if filters.clinic_ids else None))
            .order_by(Clinic.code, Patient.study_id))
    if filters.start or filters.end:
        stmt = stmt.join(courses, courses.c.patient_id == Patient.id)
    else:
        stmt = stmt.outerjoin(courses, courses.c.patient_id == Patient.id)
    rows = []
    for p, clinic, n_courses, first_start in session.exec(stmt).all():
        first_start = _as_date(first_start)
        rows.append({
            "study_id": p.study_id, "patient_code": p.patient_code, "name": p.name,
            "birth_date": p.birth_date,
            "age_at_first_course": age_in_years(p.birth_date, first_start or today),
            "sex": p.sex, "indication": p.indication, "failed_trials": p.failed_trials,
            "clinic": clinic, "n_courses": int(n_courses or 0),
            "first_course_start": first_start, "notes": p.notes,
        })
    return Table("patients", PATIENT_COLUMNS, rows)


def load_infusions(session: Session, *, actor: Actor, filters: RowFilters) -> Table:
    first = _first_infusions()
    stmt = (
        select(Infusion, Course, Patient.study_id, Patient.patient_code, Clinic.code,
               first.c.first_on, User.username)
        .join(Course, Course.id == Infusion.course_id)
        .join(Patient, Patient.id == Course.patient_id)
        .join(Clinic, Clinic.id == Patient.clinic_id)
        .join(first, first.c.course_id == Course.id)
        .outerjoin(User, User.id == Infusion.clinician_id)
        .where(*_course_rows(actor, filters))
        .order_by(Clinic.code, Patient.study_id, Course.number, Infusion.number)
    )
    rows = []
    for inf, course, study_id, code, clinic, first_on, username in session.exec(stmt).all():
        anchor = course.start_date or _as_date(first_on)
        row = {
            "study_id": study_id, "patient_code": code, "clinic": clinic,
            "course_number": course.number, "course_type": course.course_type,
            "course_status": course.status, "course_start": anchor,
            "infusion_number": inf.number, "administered_on": inf.administered_on,
            "started_at": inf.started_at, "infusion_type": inf.infusion_type,
            "route": inf.route, "dose_mg_per_kg": inf.dose_mg_per_kg,
            "total_dose_mg": inf.total_dose_mg, "weight_kg": inf.weight_kg,
            "duration_min": inf.duration_min,
            "side_effects": "; ".join(str(s) for s in inf.side_effects or []),
            "side_effect_other": inf.side_effect_other,
            "adverse_event_recorded": bool((inf.adverse_event or "").strip()),
            "adverse_event": inf.adverse_event,
            "clinician": username or inf.clinician_code, "_anchor": anchor,
        }
        for spec in INFUSION_COLUMNS:
            if spec.name not in row:  # the vital signs
                row[spec.name] = getattr(inf, spec.name)
        rows.append(row)
    return Table("infusions", INFUSION_COLUMNS, rows)


# The assessment columns the export writes, as a Bundle: plain rows with attribute access
# instead of ORM objects (a million Assessment instances took most of the export's time).
_SCORE_FIELDS = Bundle(
    "assessment", Assessment.timepoint, Assessment.instrument, Assessment.administered_on,
    Assessment.items, Assessment.functional_difficulty, Assessment.total, Assessment.severity,
    Assessment.complete, Assessment.source, Assessment.entered_at)


def load_scores(session: Session, *, actor: Actor, filters: RowFilters,
                instruments: tuple[str, ...] | None = None) -> Table:
    """One row per assessment, items spread over item_1..item_n."""
    first = _first_infusions()
    stmt = (
        select(_SCORE_FIELDS, Course.number, Course.start_date, first.c.first_on, Infusion.number,
               Patient.study_id, Patient.patient_code, Clinic.code, User.username)
        .join(Infusion, Infusion.id == Assessment.infusion_id)
        .join(Course, Course.id == Assessment.course_id)
        .join(Patient, Patient.id == Course.patient_id)
        .join(Clinic, Clinic.id == Patient.clinic_id)
        .join(first, first.c.course_id == Course.id)
        .outerjoin(User, User.id == Assessment.entered_by_id)
        .where(*_course_rows(actor, filters))
        .order_by(Clinic.code, Patient.study_id, Course.number, Infusion.number,
                  Assessment.timepoint.desc(), Assessment.instrument)
    )
    if instruments:
        stmt = stmt.where(Assessment.instrument.in_(instruments))
    rows, widest = [], 0
    for (a, course_number, start, first_on, infusion_number, study_id, code, clinic,
         username) in session.exec(stmt).all():
        anchor = start or _as_date(first_on)
        items = list(a.items or [])
        widest = max(widest, get_instrument(a.instrument).n_items, len(items))
        rows.append({
            "study_id": study_id, "patient_code": code, "clinic": clinic,
            "course_number": course_number, "course_start": anchor,
            "infusion_number": infusion_number, "timepoint": a.timepoint,
            "instrument": a.instrument, "administered_on": a.administered_on,
            **{f"item_{i}": v for i, v in enumerate(items, 1)},
            "functional_difficulty": a.functional_difficulty, "total": a.total,
            "severity": a.severity, "complete": a.complete, "source": a.source,
            "entered_by": username, "entered_at": a.entered_at, "_anchor": anchor,
        })
    return Table("scores", score_columns(widest or 9), rows)


def load_audit(session: Session, *, actor: Actor, filters: RowFilters) -> Table:
    """Events; a user scoped to some clinics sees patient events of those clinics only."""
    stmt = (select(AuditEvent, Patient.study_id, Patient.patient_code, Patient.clinic_id)
            .outerjoin(Patient, Patient.id == AuditEvent.patient_id)
            .order_by(AuditEvent.id))
    if not actor.all_clinics or filters.clinic_ids:
        stmt = stmt.where(or_(AuditEvent.patient_id.is_(None), scope_filter(
            actor, Patient.clinic_id, list(filters.clinic_ids) if filters.clinic_ids else None)))
    if filters.start:
        stmt = stmt.where(
            AuditEvent.occurred_at >= datetime.combine(filters.start, time.min, UTC))
    if filters.end:
        stmt = stmt.where(AuditEvent.occurred_at < datetime.combine(
            filters.end + timedelta(days=1), time.min, UTC))
    rows = [
        {"id": e.id, "occurred_at": e.occurred_at, "user": e.username, "action": e.action,
         "entity": e.entity, "entity_id": e.entity_id, "study_id": study_id,
         "patient_code": code, "field": e.field, "old_value": e.old_value,
         "new_value": e.new_value, "reason": e.reason, "session_id": e.session_id,
         "prev_hash": e.prev_hash, "hash": e.hash, "_patient": e.patient_id is not None}
        for e, study_id, code, _clinic in session.exec(stmt).all()
    ]
    return Table("audit", AUDIT_COLUMNS, rows)


def _as_date(value: Any) -> date | None:
    """SQLite hands aggregate dates back as text."""
    if value is None or isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    return date.fromisoformat(str(value)[:10])
