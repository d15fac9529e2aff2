"""Patient record: header, courses with their infusions and scores, item-9 history, open
alerts and the correction history. Opening the record is audited (action 'view')."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data.clinic.patients import record_view
from data.clinic.records import patient_record
from data.store.clinic_time import patient_zone
from data.store.db import read_session, write_session
from models.access import PermissionDenied
from models.schemas import InputError
from ui.course_status import course_status_form
from ui.invitations_panel import invitations_section
from ui.layout import is_new_visit, page_setup
from ui.patient_edit import edit_patient_form
from ui.patient_header import no_patient_chosen, patient_header
from ui.patient_outcomes import render_patient_outcomes
from ui.text import human_table, labelled, show_flash


def _latest_infusion(courses: list[dict]) -> int | None:
    """The latest course's last infusion number (the invitation form's default)."""
    rows = courses[-1]["rows"] if courses else []
    return max((r["infusion"] for r in rows), default=None)


ITEM9_LABELS = {"date": "Date", "course": "Course", "infusion": "Infusion",
                "timepoint": "Timepoint", "item 9": "Item 9", "answered by": "Answered by",
                "alert": "Alert"}
HISTORY_LABELS = {"when": "When", "by": "By", "record": "Record", "field": "Field",
                  "old": "Old value", "new": "New value", "reason": "Reason"}

actor = page_setup("view_patients", patient_id=st.session_state.get("patient_id"))
show_flash()
patient_id = st.session_state.get("patient_id") or no_patient_chosen()

# One 'view' event per opening of a record (not per rerun while the user works on it).
fresh = is_new_visit() or st.session_state.get("viewed_patient_id") != patient_id
try:
    if fresh:
        with write_session() as session:
            record_view(session, actor=actor, patient_id=patient_id)
        st.session_state["viewed_patient_id"] = patient_id
    with read_session() as session:
        record = patient_record(session, actor=actor, patient_id=patient_id)
except (PermissionDenied, InputError) as exc:
    st.error(f"This patient record cannot be opened: {exc}")
    st.stop()

patient = record.patient
st.title("Patient record")
patient_header(patient, record.clinic)
details = st.columns(4)
with details[0]:
    labelled("Sex", patient.sex or "not recorded")
with details[1]:
    labelled("Indication", patient.indication or "not recorded")
with details[2]:
    labelled("Failed antidepressant trials",
             "not recorded" if patient.failed_trials is None else patient.failed_trials)
with details[3]:
    labelled("Study ID (de-identified exports)", patient.study_id)
if patient.notes:
    st.text("Notes:\n" + patient.notes)

actions = st.columns(3)
if actor.can("record_infusions") and actions[0].button("Log infusion", type="primary",
                                                       key="log_infusion"):
    st.switch_page("pages/infusion.py")
if actions[1].button("Back to patients", key="back_to_patients"):
    st.switch_page("pages/patients.py")

render_patient_outcomes(actor, patient_id)

st.header("Courses")
if not record.courses:
    st.info("No treatment course yet. Use 'Log infusion' to start one.")
for course in record.courses:
    st.subheader(f"Course {course['number']} · {course['type']} · started "
                 f"{course['start_date'] or 'unknown'} · {course['status']}")
    if course["rows"]:
        st.dataframe(pd.DataFrame(course["rows"]), hide_index=True,
                     key=f"course_table_{course['id']}")
    else:
        st.caption("No infusion recorded in this course yet.")
    if course["held"]:
        st.caption("Visits held or rescheduled for blood pressure (no ketamine given; not "
                   "infusions, so not counted in outcomes):")
        st.dataframe(pd.DataFrame(course["held"]), hide_index=True,
                     key=f"held_table_{course['id']}")
    if actor.can("record_infusions"):
        course_status_form(actor, course)
st.caption("Post-infusion PHQ-9 and GAD-7 scores ask about the last 2 weeks: they are a "
           "different measurement from the pre-infusion scores and are labelled as such.")

invitations_section(actor, patient_id, _latest_infusion(record.courses))

st.header("PHQ-9 item 9 (suicidal ideation) history")
if record.item9:
    st.dataframe(human_table(pd.DataFrame(record.item9), ITEM9_LABELS), hide_index=True,
                 key="item9_table")
else:
    st.caption("No PHQ-9 item 9 answer recorded.")

st.header("Correction history")
if record.history:
    with read_session() as session:
        zone = patient_zone(session, patient_id)  # times in the clinic's zone
    st.dataframe(human_table(pd.DataFrame(record.history), HISTORY_LABELS, zone),
                 hide_index=True, key="history_table")
else:
    st.caption("No correction so far. Corrections and course status changes keep the "
               "previous values here.")

if actor.can("edit_patients"):
    with st.expander("Edit patient details"):
        edit_patient_form(actor, patient)
