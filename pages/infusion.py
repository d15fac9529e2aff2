"""Log infusion: one infusion with its pre and post scores, saved in one transaction;
scores for an infusion saved earlier; corrections of saved infusions and scores."""

from __future__ import annotations

from datetime import date

import streamlit as st

from data.access import PermissionDenied
from data.alerts import item9_text
from data.clinic_time import today_in
from data.db import read_session, write_session
from data.infusions import (
    Saved,
    add_scores,
    default_infusion_type,
    infusion_screen,
    log_infusion,
    start_course,
)
from models.schemas import AlreadySaved, InputError
from models.tables import COURSE_TYPES, Course
from ui.corrections import infusion_correction, score_correction
from ui.infusion_form import FORM_PREFIXES, infusion_fields
from ui.kiosk import kiosk_start_form
from ui.layout import page_setup
from ui.patient_header import no_patient_chosen, patient_header
from ui.score_form import score_columns
from ui.text import flash, reset_widgets, show_flash, show_problems

KEEP_AFTER_SAVE = ("infusion_route", "infusion_weight_kg", "pre_instruments",
                   "post_instruments")
MODES = ("New infusion", "Scores for a saved infusion", "Correct an infusion", "Correct a score")

actor = page_setup("record_infusions")
show_flash()
patient_id = st.session_state.get("patient_id") or no_patient_chosen()
try:
    with read_session() as session:
        screen = infusion_screen(session, actor=actor, patient_id=patient_id)
except (PermissionDenied, InputError) as exc:
    st.error(f"This patient record cannot be opened: {exc}")
    st.stop()

today = today_in(screen.clinic_zone)  # the calendar day in the patient's clinic
st.title("Log infusion")
patient_header(screen.patient, screen.clinic, today)
if st.button("Back to the patient record", key="back_to_record"):
    st.switch_page("pages/patient.py")


def start_course_form(number: int) -> None:
    """Start course `number` (induction or maintenance)."""
    cols = st.columns(3)
    course_type = cols[0].radio("Course type", COURSE_TYPES, horizontal=True,
                                key="course_type")
    start = cols[1].date_input("Start date", value=today, min_value=date(2000, 1, 1),
                               key="course_start")
    if cols[2].button(f"Start course {number}", key="start_course"):
        try:
            with write_session() as session:
                start_course(session, actor=actor, patient_id=screen.patient.id,
                             course_type=course_type, start_date=start, number=number)
        except AlreadySaved as exc:
            st.warning(f"Already saved: {exc}")
        except (InputError, PermissionDenied) as exc:
            show_problems(exc)
        else:
            flash("success", f"Course {number} ({course_type}) started.")
            st.session_state.pop("course_choice", None)
            st.rerun()


def choose_course() -> Course:
    """The course to record in (latest by default); stops when there is none yet."""
    next_number = max((c.number for c in screen.courses), default=0) + 1
    if not screen.courses:
        st.subheader("Start a treatment course")
        st.caption("A course is an induction series plus the boosters that follow it; a new "
                   "induction is a new course.")
        start_course_form(next_number)
        st.stop()
    by_id = {c.id: c for c in screen.courses}
    if st.session_state.get("course_choice") not in by_id:  # another patient's course
        st.session_state.pop("course_choice", None)
    course_id = st.selectbox(  # a stable label: the browser keeps the chosen option's text
        "Course", list(by_id), index=len(by_id) - 1, key="course_choice",
        format_func=lambda cid: (f"Course {by_id[cid].number} · {by_id[cid].course_type} · "
                                 f"started {by_id[cid].start_date}"))
    done = [i.number for i in screen.infusions[course_id]]
    st.caption(f"Status: {by_id[course_id].status} · {len(done)} infusion(s) saved"
               + (f" (numbers {', '.join(map(str, done))})" if done else ""))
    with st.expander("Start a new course"):
        start_course_form(next_number)
    return by_id[course_id]


def report_saved(saved: Saved, what: str, next_values: dict | None,
                 prefixes: tuple[str, ...]) -> None:
    """Queue the result messages, blank the form for the next entry, and rerun."""
    flash("success", f"{what} saved with {len(saved.assessments)} score(s).")
    for warning in saved.warnings:
        flash("warning", warning)
    if saved.skipped:
        flash("info", "Not recorded (no answers): " + ", ".join(saved.skipped) + ".")
    for alert in saved.alerts:
        flash("error", f"Suicide-risk alert opened: PHQ-9 item 9 {item9_text(alert.item9_value)} "
                       f"on {alert.observed_on}. Assess the risk, then close the alert on the "
                       "Safety page with the action taken.")
    reset_widgets(*prefixes, keep=KEEP_AFTER_SAVE, values=next_values)
    st.rerun()


def save(write, what: str, next_values: dict | None = None,  # noqa: ANN001
         prefixes: tuple[str, ...] = FORM_PREFIXES) -> None:
    """Run one write; 'already saved' for a repeated submission, field messages for bad input."""
    try:
        with write_session() as session:
            saved = write(session)
    except AlreadySaved as exc:
        st.warning(f"Already saved: {exc}")
    except (InputError, PermissionDenied) as exc:
        show_problems(exc)
    else:
        report_saved(saved, what, next_values, prefixes)


def new_infusion(course: Course) -> None:
    infusions = screen.infusions[course.id]
    next_number = max((i.number for i in infusions), default=0) + 1
    values = infusion_fields(
        next_number=next_number, protocol=screen.protocol, weight_default=screen.last_weight,
        default_type=default_infusion_type(course, next_number,
                                           screen.protocol["induction_length"]),
        today=today)
    st.divider()
    scores = score_columns()
    if st.button("Save infusion and scores", type="primary", key="save_infusion"):
        following = max(next_number - 1, values["number"] or 0) + 1
        save(lambda s: log_infusion(s, actor=actor, course_id=course.id, infusion=values,
                                    scores=scores), f"Infusion {values['number']}",
             {"infusion_number": following, "infusion_date": today,
              "infusion_type": default_infusion_type(course, following,
                                                     screen.protocol["induction_length"])})


def scores_for_saved(course: Course) -> None:
    infusions = {i.id: i for i in screen.infusions[course.id]}
    if not infusions:
        st.warning("No infusion is saved in this course yet. A score is recorded against its "
                   "infusion: log the infusion first.")
    infusion_id = st.selectbox(
        "Infusion", list(infusions), index=len(infusions) - 1 if infusions else None,
        key="scores_infusion", placeholder="no infusion saved",
        format_func=lambda i: f"Infusion {infusions[i].number} · {infusions[i].administered_on}")
    scores = score_columns()
    if st.button("Save scores", type="primary", key="save_scores"):
        number = infusions[infusion_id].number if infusion_id in infusions else "?"
        save(lambda s: add_scores(s, actor=actor, infusion_id=infusion_id, scores=scores),
             f"Scores of infusion {number}", prefixes=("pre_", "post_"))
    st.divider()
    kiosk_start_form(actor, screen.patient.id, infusions.get(infusion_id))


course = choose_course()
mode = st.radio("What are you recording?", MODES, horizontal=True, key="entry_mode")
if mode == MODES[0]:
    new_infusion(course)
elif mode == MODES[1]:
    scores_for_saved(course)
elif mode == MODES[2]:
    infusion_correction(actor, screen.infusions[course.id])
else:
    score_correction(actor, course)
