"""Mark a course completed or discontinued (or active again), with the reason."""

from __future__ import annotations

import streamlit as st

from data.clinic.infusions import set_course_status
from data.store.db import write_session
from models.access import Actor, PermissionDenied
from models.schemas import InputError
from models.tables import COURSE_STATUSES, CourseStatus
from ui.text import flash, reset_widgets, show_problems

STATUS_LABELS = {CourseStatus.ACTIVE: "active (treatment continues)",
                 CourseStatus.COMPLETED: "completed",
                 CourseStatus.DISCONTINUED: "discontinued (treatment stopped)"}


def course_status_form(actor: Actor, course: dict) -> None:
    """An expander under one course of the patient record (course: a records.course_tables row)."""
    course_id, current = course["id"], course["status"]
    with st.expander(f"Change the status of course {course['number']} (now {current})"):
        choices = [s for s in COURSE_STATUSES if s != current]
        with st.form(key=f"course_status_form_{course_id}"):
            status = st.selectbox("New status", choices, key=f"course_status_{course_id}",
                                  format_func=STATUS_LABELS.get)
            reason = st.text_area(
                "Reason (required)", key=f"course_status_reason_{course_id}",
                help="Why the course ends or resumes, e.g. 'induction complete, boosters as "
                     "needed' or 'stopped: raised blood pressure'. Kept in the record's history.")
            if not st.form_submit_button("Save status"):
                return
        try:
            with write_session() as session:
                set_course_status(session, actor=actor, course_id=course_id, status=status,
                                  reason=reason)
        except (InputError, PermissionDenied) as exc:
            show_problems(exc)
            return
        flash("success", f"Course {course['number']} is now {status}.")
        reset_widgets(f"course_status_reason_{course_id}")
        st.rerun()
