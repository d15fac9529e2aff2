"""Test data for the audit trail: a patient with a recorded history, written the way the
patient services write it (the row and its audit events in one transaction)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlmodel import select

from data.store import audit
from data.store.db import write_session
from models.access import Actor
from models.tables import Clinic, Patient


def add_patient(actor: Actor, *, clinic: str, code: str, name: str, study_id: str,
                birth: date = date(1970, 5, 17)) -> int:
    """A patient created by `actor` (a 'create' event holding the whole record)."""
    with write_session() as session:
        clinic_id = session.exec(select(Clinic.id).where(Clinic.code == clinic)).one()
        patient = Patient(clinic_id=clinic_id, patient_code=code, study_id=study_id, name=name,
                          birth_date=birth, notes="", created_at=audit.utcnow())
        session.add(patient)
        session.flush()
        audit.record(session, actor=actor, action="create", entity="patient",
                     entity_id=patient.id, patient_id=patient.id,
                     new={"patient_code": code, "name": name, "birth_date": birth.isoformat(),
                          "sex": "female"})
        return patient.id


def rename_patient(actor: Actor, patient_id: int, old: str, new: str, reason: str) -> None:
    """A name correction: one 'update' event with field, old and new."""
    with write_session() as session:
        patient = session.get(Patient, patient_id)
        patient.name = new
        session.add(patient)
        audit.record(session, actor=actor, action="update", entity="patient",
                     entity_id=patient_id, patient_id=patient_id, field="name", old=old,
                     new=new, reason=reason)


def change_indication(actor: Actor, patient_id: int, old: str | None, new: str) -> None:
    with write_session() as session:
        audit.record(session, actor=actor, action="update", entity="patient",
                     entity_id=patient_id, patient_id=patient_id, field="indication",
                     old=old, new=new, reason="diagnosis revised")


ALICE = dict(clinic="CL1", code="P-001", name="Alice Example", study_id="S-AAAA2222BB")
BOB = dict(clinic="CL2", code="P-900", name="Bob Other", study_id="S-BBBB3333CC")
IDENTIFIERS = ("Alice", "Alicia", "Bob", "P-001", "P-900", "1970-05-17")


def build_trail() -> dict:
    """Two clinics and four users; Alice (CL1) created, renamed and re-diagnosed by
    dr.clin; Bob (CL2) created by dr.other. Returns the actors and the patient ids."""
    from tests.factories import make_user

    people = {
        "clin": make_user("dr.clin", "clinician", ("CL1",)),
        "other": make_user("dr.other", "clinician", ("CL2",)),
        "director": make_user("dr.dir", "director", ("CL1",)),
        "auditor": make_user("aud", "auditor", all_clinics=True),
    }
    alice = add_patient(people["clin"], **ALICE)
    rename_patient(people["clin"], alice, "Alice Example", "Alicia Example", "spelling")
    change_indication(people["clin"], alice, "TRD", "bipolar depression")
    bob = add_patient(people["other"], **BOB)
    return {**people, "alice": alice, "bob": bob}


def drop_triggers(engine) -> None:
    """What an attacker with raw database access does first."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_event_no_update"))
            conn.execute(text("DROP TRIGGER audit_event_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER audit_event_no_update ON audit_event"))
            conn.execute(text("DROP TRIGGER audit_event_no_truncate ON audit_event"))


def raw(engine, sql: str, **params) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)
