"""The patient header shared by the record and infusion pages (plain text only)."""

from __future__ import annotations

from datetime import date

import streamlit as st

from data.store.clinic_time import format_date, patient_today
from data.store.db import read_session
from models.labels import clinic_message
from models.schemas import age_on, age_warning
from models.tables import Patient
from ui.text import labelled


def patient_header(patient: Patient, clinic: str, today: date | None = None) -> None:
    """Code, name, clinic and age as plain text, and the under-18 warning."""
    if today is None:  # the calendar day in the zone of the patient's clinic
        with read_session() as session:
            today = patient_today(session, patient.id)
    cols = st.columns(4)
    with cols[0]:
        labelled("Patient code", patient.patient_code)
    with cols[1]:
        labelled("Name", patient.name or "(not recorded)")
    with cols[2]:
        labelled("Clinic", clinic)
    with cols[3]:
        if patient.birth_date:
            labelled("Age", f"{age_on(patient.birth_date, today)} (born "
                            f"{format_date(patient.birth_date)})")
        else:
            labelled("Age", "birth date not recorded")
    if warning := age_warning(patient.birth_date, today):
        st.warning(clinic_message(warning))


def no_patient_chosen() -> None:
    """Shown when a patient page is opened without a patient selected; stops the page."""
    st.info("Choose a patient on the Patients page first.")
    st.page_link("pages/patients.py", label="Find a patient", icon=":material/group:")
    st.stop()
