"""Before an infusion is logged into a course (issue 12 item 4; rules in
outcomes/course_rules.py): a completed or discontinued course asks to reopen it (reason,
audited) or start a new course; a gap longer than the lapse window suggests a new course,
and the user states the choice.

Widget keys start with "course_gate_" (not part of the infusion form's draft)."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from data.clinic.infusions import reopen_course
from data.store.db import write_session
from models.access import Actor, PermissionDenied
from models.schemas import InputError
from models.tables import Course, Infusion
from outcomes.course_rules import CourseAdvice
from ui.field_errors import clear_problems, field_problem, problem_summary, store_problems
from ui.text import flash, reset_widgets

REOPEN, START_NEW, CONTINUE = "reopen", "new", "continue"
CLOSED_KEY, LAPSE_KEY, REASON_KEY = ("course_gate_closed", "course_gate_lapse",
                                     "course_gate_reason")
GATE_FORM = "course_gate"


def _reopen(actor: Actor, course_id: int, number: int) -> None:
    """Button callback: reopen the course with the reason typed."""
    try:
        with write_session() as session:
            reopen_course(session, actor=actor, course_id=course_id,
                          reason=st.session_state.get(REASON_KEY))
    except InputError as exc:
        store_problems(exc.problems, lambda field: (REASON_KEY,), GATE_FORM)
        return
    except PermissionDenied as exc:
        flash("error", f"Not reopened: {exc}")
        return
    clear_problems()
    flash("success", f"Course {number} reopened (active again); the reason is in the "
                     "record's history.")
    reset_widgets("course_gate_")


def closed_course_gate(actor: Actor, course: Course, next_number: int,
                       start_course_form: Callable[[int], None]) -> bool:
    """A completed or discontinued course: reopen it or start a new one (the infusion form
    is not shown for a closed course). True when the new-course form was shown."""
    problem_summary(GATE_FORM, lambda field: None)
    st.warning(f"Course {course.number} is {course.status}. An infusion is logged into an "
               f"active course: reopen course {course.number} (the reason is kept in the "
               f"record's history) or start course {next_number}.",
               icon=":material/block:")
    labels = {REOPEN: f"Reopen course {course.number}",
              START_NEW: f"Start a new course (course {next_number})"}
    choice = st.radio("How do you want to go on?", list(labels), index=None, key=CLOSED_KEY,
                      format_func=labels.get)
    if choice == REOPEN:
        st.text_area("Reason for reopening (required)", key=REASON_KEY, max_chars=2000,
                     help="e.g. 'boosters resume after a planned pause'. Kept in the record's "
                          "history with your name.")
        field_problem(GATE_FORM, "reason")
        st.button(f"Reopen course {course.number}", key="course_gate_reopen", type="primary",
                  on_click=_reopen, args=(actor, course.id, course.number))
    elif choice == START_NEW:
        start_course_form(next_number)
        return True
    return False


def lapse_note(course: Course, advice: CourseAdvice, window: int) -> str:
    """The stated choice kept with the infusion's audit event."""
    return (f"continues course {course.number} after {advice.gap_days} days without an "
            f"infusion (lapse window {window} days); chosen on the infusion screen")


def lapse_gate(course: Course, advice: CourseAdvice, last: Infusion, window: int,
               next_number: int, form: str) -> str | None:
    """The gap since the course's last infusion is longer than the lapse window: suggest a
    new course; returns the choice (None until one is made)."""
    st.warning(f"{advice.gap_days} days since infusion {last.number} of course "
               f"{course.number} ({last.administered_on}): longer than the lapse window of "
               f"{window} days (protocol setting). A new course is suggested.",
               icon=":material/event_busy:")
    labels = {START_NEW: f"Start a new course (course {next_number})",
              CONTINUE: f"Continue course {course.number} (log this infusion into it)"}
    choice = st.radio("This infusion:", list(labels), index=None, key=LAPSE_KEY,
                      format_func=labels.get)
    field_problem(form, "course")
    return choice
