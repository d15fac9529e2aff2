"""One patient's outcome view: courses, infusions, scores (as an observation frame, so the
outcome engine computes the course outcome exactly as for the clinic), alerts, and the
record's session tables and item-9 history (``data.clinic.records``).

Scope: ``view_patients`` and the patient's clinic (``data.clinic.patients.get_patient``); a
refusal is audited at the unit-of-work boundary. Opening the view is audited by the
record page's ``data.clinic.patients.record_view``; generating a progress report by
``record_progress_report``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlmodel import Session, select

from data.clinic.patients import clinic_code, get_patient
from data.clinic.protocol import load_protocol
from data.clinic.records import course_tables, item9_history
from data.store import audit
from data.store.db import read_session, write_session
from models.access import Actor
from models.tables import Assessment, Course, Infusion, Patient, SafetyAlert, User

VITALS = (
    "bp_sys_before", "bp_dia_before", "hr_before", "spo2_before", "bp_sys_peak", "bp_dia_peak",
    "hr_peak", "spo2_peak", "bp_sys_discharge", "bp_dia_discharge", "hr_discharge",
    "spo2_discharge",
)  # fmt: skip


@dataclass
class PatientView:
    """Everything the patient view shows, already scope-checked."""

    patient: dict[str, Any]
    courses: pd.DataFrame
    infusions: pd.DataFrame
    observations: pd.DataFrame
    alerts: pd.DataFrame
    protocol: dict[str, Any]
    sessions: list[dict[str, Any]]  # data.clinic.records.course_tables: per course, infusion rows
    item9: list[dict[str, Any]]  # data.clinic.records.item9_history: answered item 9s, alert status


def load_patient_view(*, actor: Actor, patient_id: int) -> PatientView:
    """The patient's record for the outcome view, within the actor's scope (not audited:
    the page audits the view once, with ``data.clinic.patients.record_view``)."""
    with read_session() as session:
        patient = get_patient(session, actor=actor, patient_id=patient_id)
        clinic = clinic_code(session, patient.clinic_id)
        info = {
            "id": patient.id, "patient_code": patient.patient_code, "name": patient.name,
            "clinic": clinic, "clinic_id": patient.clinic_id, "study_id": patient.study_id,
            "birth_date": patient.birth_date, "sex": patient.sex,
            "indication": patient.indication or "unspecified",
        }
        courses = _courses(session, patient_id)
        return PatientView(
            patient=info, courses=courses, infusions=_infusions(session, courses),
            observations=_observations(session, patient, clinic, courses),
            alerts=_alerts(session, patient_id), protocol=load_protocol(session),
            sessions=course_tables(session, patient_id),
            item9=item9_history(session, patient_id),
        )


def _courses(session: Session, patient_id: int) -> pd.DataFrame:
    rows = session.exec(select(Course).where(Course.patient_id == patient_id)
                        .order_by(Course.number)).all()
    return pd.DataFrame(
        [{"course_key": c.id, "course_number": c.number, "label": c.label,
          "course_type": c.course_type, "course_start": c.start_date, "status": c.status}
         for c in rows],
        columns=["course_key", "course_number", "label", "course_type", "course_start",
                 "status"],
    ).assign(course_start=lambda f: pd.to_datetime(f["course_start"]))


def _infusions(session: Session, courses: pd.DataFrame) -> pd.DataFrame:
    keys = courses["course_key"].tolist()
    rows = session.exec(
        select(Infusion, User.username).outerjoin(User, User.id == Infusion.clinician_id)
        .where(Infusion.course_id.in_(keys)).order_by(Infusion.course_id, Infusion.number)
    ).all() if keys else []
    numbers = dict(zip(courses["course_key"], courses["course_number"], strict=True))
    records = [{
        "course_key": i.course_id, "course_number": numbers[i.course_id],
        "infusion_number": i.number, "date": i.administered_on,
        "infusion_type": i.infusion_type, "route": i.route, "dose_mg_per_kg": i.dose_mg_per_kg,
        "total_dose_mg": i.total_dose_mg, "weight_kg": i.weight_kg,
        "duration_min": i.duration_min, **{v: getattr(i, v) for v in VITALS},
        "side_effects": ", ".join([*(i.side_effects or []), *([i.side_effect_other]
                                                              if i.side_effect_other else [])]),
        "adverse_event": i.adverse_event or "",
        "clinician": username or i.clinician_code or "",
    } for i, username in rows]
    columns = ["course_key", "course_number", "infusion_number", "date", "infusion_type",
               "route", "dose_mg_per_kg", "total_dose_mg", "weight_kg", "duration_min",
               *VITALS, "side_effects", "adverse_event", "clinician"]
    frame = pd.DataFrame(records, columns=columns)
    return frame.assign(date=pd.to_datetime(frame["date"]),
                        dose_mg_per_kg=frame["dose_mg_per_kg"].astype("float64"))


def _observations(session: Session, patient: Patient, clinic: str,
                  courses: pd.DataFrame) -> pd.DataFrame:
    """The patient's scores as an observation frame (docs/OBSERVATIONS.md)."""
    keys = courses["course_key"].tolist()
    rows = session.exec(
        select(Assessment, Infusion.number, Infusion.administered_on).join(Infusion, Infusion.id == Assessment.infusion_id)
        .where(Assessment.course_id.in_(keys))
    ).all() if keys else []
    course = courses.set_index("course_key")
    frame = pd.DataFrame([{
        "course_key": a.course_id, "patient_key": patient.id, "clinic": clinic,
        "course_number": int(course.at[a.course_id, "course_number"]),
        "course_start": course.at[a.course_id, "course_start"], "instrument": a.instrument,
        "infusion_number": number, "timepoint": a.timepoint, "date": a.administered_on,
        "total": a.total, "item9": a.item9, "infusion_date": given_on, "assessment_id": a.id,
        "source": a.source,
    } for a, number, given_on in rows], columns=["course_key", "patient_key", "clinic",
                                                 "course_number", "course_start", "instrument",
                                                 "infusion_number", "timepoint", "date", "total",
                                                 "item9", "infusion_date", "assessment_id",
                                                 "source"])
    return frame.astype({"course_key": "int64", "patient_key": "int64", "course_number": "int64",
                         "infusion_number": "int64", "total": "float64", "item9": "float64"}
                        ).assign(date=lambda f: pd.to_datetime(f["date"]),
                                 infusion_date=lambda f: pd.to_datetime(f["infusion_date"]),
                                 course_start=lambda f: pd.to_datetime(f["course_start"]))


def _alerts(session: Session, patient_id: int) -> pd.DataFrame:
    rows = session.exec(select(SafetyAlert).where(SafetyAlert.patient_id == patient_id)
                        .order_by(SafetyAlert.observed_on)).all()
    return pd.DataFrame(
        [{"observed_on": a.observed_on, "item9": a.item9_value, "status": a.status,
          "action": a.action or "", "closed_at": a.closed_at} for a in rows],
        columns=["observed_on", "item9", "status", "action", "closed_at"],
    )


def record_progress_report(*, actor: Actor, patient_id: int) -> None:
    """Audit that the actor generated this patient's progress report (an identified PDF)."""
    with write_session() as session:
        get_patient(session, actor=actor, patient_id=patient_id)
        audit.record(session, actor=actor, action="export", entity="patient_report",
                     entity_id=patient_id, patient_id=patient_id, new="progress report PDF")
