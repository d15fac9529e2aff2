"""Patients: search by patient code or name within the user's clinic scope, with each
patient's last infusion, latest PHQ-9 and band, open alerts and what is next due
(data/analytics/today.py); one tap on a row opens the record; register a patient."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data.analytics.overview import clinics_in_scope, search_patients
from data.analytics.today import patient_status
from data.store.db import read_session
from ui.layout import page_setup
from ui.patient_edit import register_patient_form
from ui.text import human_table, show_flash

LABELS = {"patient_code": "Patient code", "name": "Name", "latest_phq9": "Latest PHQ-9",
          "open_alerts": "Open alerts", "next_due": "Next due",
          "last_infusion": "Last infusion", "clinic": "Clinic", "birth_date": "Birth date",
          "indication": "Indication", "courses": "Courses"}

actor = page_setup("view_patients")
st.title("Patients")
show_flash()

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
    status = patient_status(session, actor=actor, patient_ids=[r["id"] for r in rows])
rows = [{**r, **status[r["id"]]} for r in rows]

if not rows:
    st.info("No patient matches." if query else "No patients yet.")
else:
    st.caption(f"{len(rows)} patient(s)" + (" (first 200 shown)" if len(rows) == 200 else ""))
    st.caption("Tap a row to open the patient's record.")
    event = st.dataframe(human_table(pd.DataFrame(rows)[list(LABELS)], LABELS),
                         hide_index=True, key="patient_table", on_select="rerun",
                         selection_mode="single-row", width="stretch")
    picked = list(event.selection.rows) if event is not None else []
    if picked and 0 <= picked[0] < len(rows):
        st.session_state["patient_id"] = int(rows[picked[0]]["id"])
        st.switch_page("pages/patient.py")
    by_id = {r["id"]: r for r in rows}
    if st.session_state.get("open_patient") not in by_id:
        st.session_state.pop("open_patient", None)
    pick, go = st.columns([3, 1], vertical_alignment="bottom")
    chosen = pick.selectbox(
        "Open a patient record", list(by_id), key="open_patient",
        format_func=lambda i: (f"{by_id[i]['patient_code']} · {by_id[i]['name'] or '(no name)'}"
                               f" · {by_id[i]['clinic']}"))
    if go.button("Open record", type="primary", key="open_record"):
        st.session_state["patient_id"] = chosen
        st.switch_page("pages/patient.py")

if actor.can("edit_patients"):
    with st.expander("Register a patient", expanded=not rows):
        register_patient_form(actor, clinics)
