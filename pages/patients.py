"""Patients: search by patient code or name within the user's clinic scope."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data.db import read_session
from data.overview import clinics_in_scope, search_patients
from ui.layout import page_setup

actor = page_setup("view_patients")
st.title("Patients")

with read_session() as session:
    clinics = clinics_in_scope(session, actor=actor)
clinic_options = {0: "All my clinics"} | {c.id: f"{c.code} ({c.name})" for c in clinics}

left, right = st.columns([3, 1])
query = left.text_input("Search by patient code or name", key="patient_search",
                        placeholder="e.g. DEMO-00012 or a name")
clinic_id = right.selectbox("Clinic", options=list(clinic_options),
                            format_func=clinic_options.get, key="patient_clinic")

with read_session() as session:
    rows = search_patients(session, actor=actor, query=query, clinic_id=clinic_id or None)

if not rows:
    st.info("No patient matches." if query else "No patients yet.")
else:
    st.caption(f"{len(rows)} patient(s)" + (" (first 200 shown)" if len(rows) == 200 else ""))
    frame = pd.DataFrame(rows).drop(columns=["id"])
    st.dataframe(frame, hide_index=True, key="patient_table", column_config={
        "patient_code": "Patient code", "name": "Name", "clinic": "Clinic",
        "birth_date": st.column_config.DateColumn("Birth date"),
        "indication": "Indication", "courses": "Courses",
    })
