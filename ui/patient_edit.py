"""Patient forms: register (Patients page) and edit with a reason (record page).

Widgets carry no limits of their own beyond what the browser needs (the date picker's
range): the service refuses bad values with the field and the rule."""

from __future__ import annotations

from typing import Any

import streamlit as st

from data.clinic.patients import register_patient, update_patient
from data.store.db import write_session
from models.access import Actor, PermissionDenied
from models.labels import clinic_message
from models.schemas import (
    EARLIEST_BIRTH_DATE,
    INDICATIONS,
    NAME_MAX,
    NOTES_MAX,
    AlreadySaved,
    InputError,
    age_warning,
)
from models.tables import SEXES, Clinic, Patient
from ui.text import clear_keys, code_span, flash, reset_widgets, show_problems

OTHER = "other (type it)"
NEW_PREFIX = "new_patient_"


def _indication(prefix: str, current: str | None) -> str | None:
    options = ["", *INDICATIONS, OTHER]
    known = current in INDICATIONS or not current
    choice = st.selectbox("Indication", options, key=f"{prefix}indication",
                          index=options.index(current or "") if known else len(options) - 1,
                          format_func=lambda v: v or "(not recorded)")
    if choice != OTHER:
        return choice or None
    return st.text_input("Indication (other)", value="" if known else current,
                         key=f"{prefix}indication_other") or None


def patient_fields(prefix: str, current: dict[str, Any]) -> dict[str, Any]:
    """The editable patient fields; returns the PatientIn input (without clinic)."""
    left, right = st.columns(2)
    code = left.text_input("Patient code (the clinic's MRN)", value=current.get("patient_code", ""),
                           key=f"{prefix}code")
    name = right.text_input("Name", value=current.get("name", ""), key=f"{prefix}name",
                            help=f"Stored and shown exactly as typed (up to {NAME_MAX} characters).")
    birth = left.date_input("Birth date", value=current.get("birth_date"),
                            min_value=EARLIEST_BIRTH_DATE, key=f"{prefix}birth_date")
    sexes = ["", *SEXES]
    sex = right.selectbox("Sex", sexes, index=sexes.index(current.get("sex") or ""),
                          format_func=lambda v: v or "(not recorded)", key=f"{prefix}sex")
    with left:
        indication = _indication(prefix, current.get("indication"))
    trials = right.number_input("Failed antidepressant trials (0-30)",
                                value=current.get("failed_trials"), step=1,
                                key=f"{prefix}failed_trials")
    notes = st.text_area("Notes", value=current.get("notes", ""), key=f"{prefix}notes",
                         help=f"Up to {NOTES_MAX} characters, shown as plain text.")
    if warning := age_warning(birth):
        st.warning(clinic_message(warning))
    return {"patient_code": code, "name": name, "birth_date": birth, "sex": sex or None,
            "indication": indication, "failed_trials": trials, "notes": notes}


def register_patient_form(actor: Actor, clinics: list[Clinic]) -> None:
    """Register a patient in one of the actor's clinics; offers to open the new record."""
    options = {c.id: f"{c.code} ({c.name})" for c in clinics}
    if not options:
        st.info("You have no clinic assigned: ask an administrator.")
        return
    clinic_id = st.selectbox("Clinic", list(options), format_func=options.get,
                             key=f"{NEW_PREFIX}clinic")
    values = patient_fields(NEW_PREFIX, {})
    if not st.button("Register patient", type="primary", key="register_patient"):
        return
    try:
        with write_session() as session:
            patient = register_patient(session, actor=actor,
                                       patient={"clinic_id": clinic_id, **values})
    except AlreadySaved as exc:
        st.warning(f"Already registered: {code_span(exc)}")
        return
    except (InputError, PermissionDenied) as exc:
        show_problems(exc)
        return
    flash("success", f"Patient {code_span(patient.patient_code)} registered.")
    if warning := age_warning(patient.birth_date):
        flash("warning", clinic_message(warning))
    clear_keys(NEW_PREFIX)
    st.session_state["patient_id"] = patient.id
    st.switch_page("pages/patient.py")


def edit_patient_form(actor: Actor, patient: Patient) -> None:
    """Edit the patient's details; a reason is required and kept in the history."""
    prefix = f"edit_{patient.id}_"
    current = {f: getattr(patient, f) for f in ("patient_code", "name", "birth_date", "sex",
                                                 "indication", "failed_trials", "notes")}
    values = patient_fields(prefix, current)
    reason = st.text_input("Reason for the change (required)", key=f"{prefix}reason")
    if not st.button("Save patient details", key="save_patient_edit"):
        return
    changes = {k: v for k, v in values.items() if v != current[k]}
    if not changes:
        st.info("Nothing to save: no field differs from the saved record.")
        return
    try:
        with write_session() as session:
            changed = update_patient(session, actor=actor, patient_id=patient.id,
                                     changes=changes, reason=reason)
    except (InputError, PermissionDenied) as exc:
        show_problems(exc)
        return
    flash("success", "Saved: " + ", ".join(changed) + ". The change and its reason are in "
          "the record's history.")
    reset_widgets(f"{prefix}reason")
    st.rerun()
