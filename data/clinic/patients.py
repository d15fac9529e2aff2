"""Patients: register, read within the actor's clinic scope, edit with a reason, and the
audited record view.

Every change is audited with its old value, new value and reason, so the record's history
keeps the previous values. Identifying fields (patient_code, name, birth_date, notes) are
redacted by the audit trail's readers for roles that must not see identifiers
(data/audit/audit_queries.py); the creation event itself carries no identifier.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from data.store import audit
from data.store.clinic_time import today_in
from data.store.pseudonyms import new_study_id
from models.access import Actor, require, require_clinic
from models.schemas import AlreadySaved, InputError, PatientIn, check_reason, parse
from models.tables import Clinic, Patient

EDITABLE_FIELDS = ("patient_code", "name", "birth_date", "sex", "indication", "failed_trials",
                   "notes")


def get_patient(session: Session, *, actor: Actor, patient_id: int) -> Patient:
    """One patient, if the actor may see patients of its clinic."""
    require(actor, "view_patients", entity="patient", entity_id=patient_id,
            message="This role does not see patient records.")
    patient = session.get(Patient, patient_id) if patient_id else None
    if patient is None:
        raise InputError([("patient", f"no patient with id {patient_id}")])
    require_clinic(actor, patient.clinic_id, entity="patient", entity_id=patient_id)
    return patient


def clinic_code(session: Session, clinic_id: int) -> str:
    clinic = session.get(Clinic, clinic_id)
    return clinic.code if clinic else "?"


def _check_code_free(session: Session, clinic_id: int, code: str,
                     exclude_id: int | None = None) -> None:
    stmt = select(Patient.id).where(Patient.clinic_id == clinic_id, Patient.patient_code == code)
    found = session.exec(stmt).first()
    if found is not None and found != exclude_id:
        raise AlreadySaved([("patient_code", f"'{code}' is already registered in clinic "
                             f"{clinic_code(session, clinic_id)}; patient codes are unique "
                             "per clinic")])


def _clinic_today(session: Session, patient: PatientIn | dict) -> date:
    """Today in the zone of the clinic the new patient is registered in (UTC if unknown)."""
    clinic_id = patient.clinic_id if isinstance(patient, PatientIn) else patient.get("clinic_id")
    try:
        clinic = session.get(Clinic, int(clinic_id)) if clinic_id is not None else None
    except (TypeError, ValueError):
        clinic = None
    return today_in(clinic)


def register_patient(session: Session, *, actor: Actor, patient: PatientIn | dict,
                     today: date | None = None) -> Patient:
    """Validate, check scope and code uniqueness, then create the patient (audited)."""
    require(actor, "edit_patients", entity="patient",
            message="This role may not register patients.")
    data = parse(PatientIn, patient, today=today or _clinic_today(session, patient))
    require_clinic(actor, data.clinic_id, entity="patient")
    if session.get(Clinic, data.clinic_id) is None:
        raise InputError([("clinic", f"no clinic with id {data.clinic_id}")])
    _check_code_free(session, data.clinic_id, data.patient_code)
    row = Patient(**data.model_dump(), study_id=new_study_id(), created_at=audit.utcnow())
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise AlreadySaved([("patient_code", f"'{data.patient_code}' is already saved in this "
                             "clinic")]) from None
    audit.record(session, actor=actor, action="create", entity="patient", entity_id=row.id,
                 patient_id=row.id, new={"clinic": clinic_code(session, row.clinic_id),
                                         "study_id": row.study_id, "sex": row.sex,
                                         "indication": row.indication,
                                         "failed_trials": row.failed_trials})
    return row


def patient_values(patient: Patient) -> dict[str, Any]:
    """The editable fields of a saved patient, as PatientIn takes them."""
    return {"clinic_id": patient.clinic_id, **{f: getattr(patient, f) for f in EDITABLE_FIELDS}}


def update_patient(session: Session, *, actor: Actor, patient_id: int, changes: dict[str, Any],
                   reason: str, today: date | None = None) -> list[str]:
    """Apply validated changes with a reason; return the fields that changed (audited)."""
    require(actor, "edit_patients", entity="patient", entity_id=patient_id,
            message="This role may not edit patients.")
    patient = get_patient(session, actor=actor, patient_id=patient_id)
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise InputError([(name, "cannot be changed here; editable: "
                           + ", ".join(EDITABLE_FIELDS)) for name in unknown])
    reason = check_reason(reason)
    data = parse(PatientIn, {**patient_values(patient), **changes},
                 today=today or today_in(session.get(Clinic, patient.clinic_id)))
    if data.patient_code != patient.patient_code:
        _check_code_free(session, patient.clinic_id, data.patient_code, exclude_id=patient.id)
    changed = [(f, getattr(patient, f), getattr(data, f)) for f in EDITABLE_FIELDS
               if getattr(patient, f) != getattr(data, f)]
    for field, _old, new in changed:
        setattr(patient, field, new)
    session.add(patient)
    audit.record_changes(session, actor=actor, action="correct", entity="patient",
                         entity_id=patient.id, patient_id=patient.id, reason=reason,
                         changes=changed)
    return [f for f, _, _ in changed]


def record_view(session: Session, *, actor: Actor, patient_id: int) -> Patient:
    """Opening a patient record is audited (action 'view', entity 'patient')."""
    patient = get_patient(session, actor=actor, patient_id=patient_id)
    audit.record(session, actor=actor, action="view", entity="patient", entity_id=patient.id,
                 patient_id=patient.id)
    return patient
