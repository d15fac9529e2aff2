"""The patient record as the record page shows it: header, courses with their infusions
and scores, the item-9 history and the correction history (from the audit trail)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session, select

from data.clinic.monitoring import adverse_event_text, adverse_events_by_infusion, held_visits_of
from data.clinic.patients import clinic_code, get_patient
from data.store.clinic_time import today_in
from models.access import Actor
from models.schemas import age_on, age_warning
from models.tables import (
    PATIENT_SOURCES,
    SOURCE_LABELS,
    AdverseEvent,
    Assessment,
    AuditEvent,
    Clinic,
    Course,
    HeldVisit,
    Infusion,
    Patient,
    SafetyAlert,
)
from outcomes.instruments import INSTRUMENT_NAMES

TIMEPOINT_SHORT = {"pre": "pre", "post": "post-infusion", "followup": "follow-up"}
TIMEPOINT_ORDER = {"pre": 0, "post": 1, "followup": 2}  # C2 and C4
DASH = "—"  # not recorded


@dataclass
class PatientRecord:
    patient: Patient
    clinic: str
    age: int | None
    age_warning: str | None
    courses: list[dict[str, Any]] = field(default_factory=list)  # each with 'rows'
    item9: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)


def score_label(row: Assessment) -> str:
    """'12 (moderate)', 'incomplete' or the total alone for a legacy total-only score."""
    if row.total is None:
        return "incomplete"
    return f"{row.total} ({row.severity})" if row.severity else str(row.total)


def score_column(timepoint: str, instrument: str) -> str:
    return f"{instrument} {TIMEPOINT_SHORT[timepoint]}"


def _infusion_row(inf: Infusion, scores: list[Assessment], columns: list[str],
                  events: list[AdverseEvent] = ()) -> dict[str, Any]:
    """Number, date, type, then the course's score columns (read first), then details."""
    row: dict[str, Any] = {"infusion": inf.number, "date": inf.administered_on,
                           "type": inf.infusion_type, **dict.fromkeys(columns, "")}
    for score in sorted(scores, key=lambda s: s.administered_on):
        column = score_column(score.timepoint, score.instrument)
        text = score_label(score) + (" · patient-reported" if score.source in PATIENT_SOURCES
                                     else "")
        if score.timepoint == "followup":  # several per infusion (C4): each with its date
            text = f"{text} on {score.administered_on}"
            row[column] = f"{row[column]}; {text}" if row[column] else text
        else:
            row[column] = text
    row.update({
        "route": inf.route or "", "dose mg/kg": inf.dose_mg_per_kg,
        "total mg": inf.total_dose_mg, "weight kg": inf.weight_kg,
        "duration min": inf.duration_min,
        "BP before": _bp(inf.bp_sys_before, inf.bp_dia_before),
        "BP peak": _bp(inf.bp_sys_peak, inf.bp_dia_peak),
        "BP discharge": _bp(inf.bp_sys_discharge, inf.bp_dia_discharge),
        "HR before/peak/discharge": _trio(inf.hr_before, inf.hr_peak, inf.hr_discharge),
        "SpO2 before/peak/discharge": _trio(inf.spo2_before, inf.spo2_peak,
                                            inf.spo2_discharge),
        "side effects": ", ".join(inf.side_effects or []),
        **monitoring_cells(inf, events),
    })
    return row


def monitoring_cells(inf: Infusion, events: list[AdverseEvent] = ()) -> dict[str, str]:
    """The record's monitoring columns of one infusion; "—" when not recorded."""
    decision = DASH if inf.bp_decision is None else (
        f"{inf.bp_decision}: {inf.bp_decision_reason}" if inf.bp_decision_reason
        else inf.bp_decision)
    texts = [adverse_event_text(e) for e in events]
    if (inf.adverse_event or "").strip():  # the free-text note of older records
        texts.append(f"note: {inf.adverse_event}")
    return {
        "BP decision": decision,
        "sedation (MOAA/S)": DASH if inf.sedation_moaas is None else str(inf.sedation_moaas),
        "dissociation": inf.dissociation or DASH,
        "ready for discharge (min)": (DASH if inf.discharge_ready_minutes is None
                                      else str(inf.discharge_ready_minutes)),
        "adverse events": "; ".join(texts) or "none recorded",
    }


def held_rows(held: list[HeldVisit]) -> list[dict[str, Any]]:
    """A course's visits held or rescheduled for blood pressure (no ketamine given)."""
    return [{"date": h.visit_on, "planned infusion": h.planned_number, "decision": h.decision,
             "BP before": _bp(h.bp_sys, h.bp_dia), "HR": DASH if h.hr is None else str(h.hr),
             "reason": h.reason} for h in held]


def _bp(systolic: int | None, diastolic: int | None) -> str:
    """'142/88'; a missing half shows as '—' ('142/—'); nothing recorded: ''."""
    if systolic is None and diastolic is None:
        return ""
    return f"{DASH if systolic is None else systolic}/{DASH if diastolic is None else diastolic}"


def _trio(*values: int | None) -> str:
    return "" if all(v is None for v in values) else " / ".join(
        DASH if v is None else str(v) for v in values)


def _score_columns(scores: list[Assessment]) -> list[str]:
    """The course's (instrument, timepoint) columns: catalogue order, then pre, post and
    follow-up."""
    order = {name: n for n, name in enumerate(INSTRUMENT_NAMES)}
    slots = sorted({(s.instrument, s.timepoint) for s in scores},
                   key=lambda slot: (order.get(slot[0], 99), TIMEPOINT_ORDER[slot[1]]))
    return [score_column(timepoint, instrument) for instrument, timepoint in slots]


def course_tables(session: Session, patient_id: int) -> list[dict[str, Any]]:
    """Per course: its header fields and one row per infusion with its scores."""
    courses = session.exec(select(Course).where(Course.patient_id == patient_id)
                           .order_by(Course.number)).all()
    result = []
    for course in courses:
        infusions = session.exec(select(Infusion).where(Infusion.course_id == course.id)
                                 .order_by(Infusion.number)).all()
        scores: dict[int, list[Assessment]] = {}
        saved = list(session.exec(select(Assessment).where(Assessment.course_id == course.id)))
        for score in saved:
            scores.setdefault(score.infusion_id, []).append(score)
        columns = _score_columns(saved)
        events = adverse_events_by_infusion(session, [i.id for i in infusions])
        result.append({"id": course.id, "number": course.number, "type": course.course_type,
                       "start_date": course.start_date, "status": course.status,
                       "label": course.label,
                       "rows": [_infusion_row(i, scores.get(i.id, []), columns,
                                              events.get(i.id, [])) for i in infusions],
                       "held": held_rows(held_visits_of(session, [course.id]))})
    return result


def item9_history(session: Session, patient_id: int) -> list[dict[str, Any]]:
    """Every answered PHQ-9 item 9 of the patient, in time order, with its alert."""
    stmt = (select(Assessment, Infusion.number, Course.number, SafetyAlert.status)
            .join(Infusion, Infusion.id == Assessment.infusion_id)
            .join(Course, Course.id == Assessment.course_id)
            .outerjoin(SafetyAlert, SafetyAlert.assessment_id == Assessment.id)
            .where(Course.patient_id == patient_id, Assessment.instrument == "PHQ-9",
                   Assessment.item9.is_not(None))
            .order_by(Assessment.administered_on, Course.number, Infusion.number))
    rows = sorted(session.exec(stmt).all(), key=lambda r: (
        r[0].administered_on, r[2], r[1], TIMEPOINT_ORDER[r[0].timepoint]))
    return [{"date": a.administered_on, "course": course_no, "infusion": inf_no,
             "timepoint": TIMEPOINT_SHORT[a.timepoint], "item 9": a.item9,
             "answered by": SOURCE_LABELS.get(a.source, a.source), "alert": status or ""}
            for a, inf_no, course_no, status in rows]


def _record_names(session: Session, patient_id: int) -> dict[tuple[str, str], str]:
    """'infusion 3 (course 1)', 'PHQ-9 pre, infusion 3 (course 1)' per audited entity."""
    names: dict[tuple[str, str], str] = {("patient", str(patient_id)): "patient details"}
    stmt = (select(Infusion, Course.number).join(Course)
            .where(Course.patient_id == patient_id))
    for course_id, course_no in session.exec(select(Course.id, Course.number)
                                             .where(Course.patient_id == patient_id)):
        names[("course", str(course_id))] = f"course {course_no}"
    infusion_names = {}
    for inf, course_no in session.exec(stmt).all():
        infusion_names[inf.id] = f"infusion {inf.number} (course {course_no})"
        names[("infusion", str(inf.id))] = infusion_names[inf.id]
    for a in session.exec(select(Assessment).where(Assessment.infusion_id.in_(infusion_names))):
        names[("assessment", str(a.id))] = (f"{score_column(a.timepoint, a.instrument)}, "
                                            f"{infusion_names[a.infusion_id]}")
    return names


def correction_history(session: Session, patient_id: int) -> list[dict[str, Any]]:
    """Every correction of the record and every course status change, newest first: who,
    when, record, field, old, new, reason."""
    course_status = (AuditEvent.entity == "course") & (AuditEvent.field == "status")
    events = session.exec(select(AuditEvent).where(
        AuditEvent.patient_id == patient_id,
        (AuditEvent.action == "correct") | ((AuditEvent.action == "update") & course_status))
        .order_by(AuditEvent.id.desc())).all()
    names = _record_names(session, patient_id)
    return [{"when": e.occurred_at, "by": e.username or "", "record":
             names.get((e.entity or "", e.entity_id or ""), f"{e.entity} {e.entity_id}"),
             "field": e.field or "", "old": e.old_value or "", "new": e.new_value or "",
             "reason": e.reason or ""} for e in events]


def patient_record(session: Session, *, actor: Actor, patient_id: int,
                   today: date | None = None) -> PatientRecord:
    """Everything the record page shows (the caller audits the view: patients.record_view)."""
    patient = get_patient(session, actor=actor, patient_id=patient_id)
    today = today or today_in(session.get(Clinic, patient.clinic_id))
    age = age_on(patient.birth_date, today) if patient.birth_date else None
    return PatientRecord(
        patient=patient, clinic=clinic_code(session, patient.clinic_id), age=age,
        age_warning=age_warning(patient.birth_date, today),
        courses=course_tables(session, patient.id), item9=item9_history(session, patient.id),
        history=correction_history(session, patient.id))
