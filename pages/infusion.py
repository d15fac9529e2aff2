"""Log infusion: one infusion with its pre and post scores, saved in one transaction;
scores for an infusion saved earlier; corrections of saved infusions and scores.

The new-infusion form is in sections (tabs: Details, Before, Monitoring, After, Review &
save), every one drawn on each run so no widget loses its value; each questionnaire is a
fragment (a radio tap reruns only it). Save is a button callback that reads the values
from st.session_state; a refused save shows each problem at its field and all of them at
the top, in clinic words, and writes nothing. Course rules (closed course, lapse window,
default type) come first (ui/course_gate.py, outcomes/course_rules.py)."""

from __future__ import annotations

import streamlit as st

from data.clinic.alerts import item9_text
from data.clinic.infusions import (
    Saved,
    add_scores,
    infusion_screen,
    log_infusion,
    start_course,
)
from data.store.clinic_time import today_in
from data.store.db import read_session, write_session
from models.access import PermissionDenied
from models.labels import TIMEPOINT_WORDS, clinic_label, clinic_message
from models.schemas import VITAL_MOMENTS, VITAL_RANGES, AlreadySaved, InputError, total_dose_mg
from models.tables import COURSE_TYPES, Course, Infusion
from models.validation import EARLIEST_VISIT_DATE
from outcomes.course_rules import CourseAdvice, course_advice, default_type
from outcomes.instruments import get_instrument
from ui.corrections import infusion_correction, score_correction
from ui.course_gate import (
    CLOSED_KEY,
    CONTINUE,
    LAPSE_KEY,
    START_NEW,
    closed_course_gate,
    lapse_gate,
    lapse_note,
)
from ui.drafts import after_save, forget_draft, keep_draft, offer_draft
from ui.field_errors import (
    clear_problems,
    current_problems,
    field_problem,
    problem_summary,
    store_problems,
)
from ui.infusion_form import (
    DETAILS,
    FORM,
    FORM_PREFIXES,
    MOMENT_LABELS,
    SECTIONS,
    bp_hold_section,
    details_section,
    infusion_values,
    monitoring_section,
    problem_keys,
    section_of,
    side_effects_section,
    vitals_section,
)
from ui.infusion_monitoring import held_message
from ui.kiosk import kiosk_start_form
from ui.layout import page_setup
from ui.patient_header import no_patient_chosen, patient_header
from ui.score_form import live_summary, score_column, score_columns, score_inputs
from ui.text import flash, reset_widgets, show_flash

KEEP_AFTER_SAVE = ("infusion_route", "infusion_weight_kg", "pre_instruments",
                   "post_instruments")
STEP_KEY = "infusion_step"  # the open section (tabs)
COURSE_SHOWN_KEY = "entry_course_shown"  # the course whose defaults the form holds
SCORES_FORM = "scores"
MODES = ("New infusion", "Scores for a saved infusion", "Correct an infusion", "Correct a score")

actor = page_setup("record_infusions", patient_id=st.session_state.get("patient_id"))
# The form needs the width: a tablet in portrait (820 px) would give the sidebar a third of
# it. The sidebar starts collapsed here (dashboard.py sets it for this page; its arrow
# opens it).
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
    start = cols[1].date_input("Start date", value=today, min_value=EARLIEST_VISIT_DATE,
                               key="course_start")
    if cols[2].button(f"Start course {number}", key="start_course"):
        try:
            with write_session() as session:
                start_course(session, actor=actor, patient_id=screen.patient.id,
                             course_type=course_type, start_date=start, number=number)
        except AlreadySaved as exc:
            st.warning(f"Already saved: {exc}")
        except InputError as exc:
            st.error("Not saved. " + "; ".join(f"{clinic_label(f)}: {rule}"
                                               for f, rule in exc.problems))
        except PermissionDenied as exc:
            st.error(f"Not saved: {exc}")
        else:
            flash("success", f"Course {number} ({course_type}) started.")
            st.session_state.pop("course_choice", None)
            st.rerun()


def _course_defaults(course: Course) -> None:
    """A course other than the last run's (another course or another patient): its next
    number and default type, no stale messages or choices. Runs before the widgets exist."""
    if st.session_state.get(COURSE_SHOWN_KEY) == course.id:
        return
    st.session_state[COURSE_SHOWN_KEY] = course.id
    done = screen.infusions.get(course.id, [])
    st.session_state["infusion_number"] = max((i.number for i in done), default=0) + 1
    st.session_state["infusion_type"] = default_type(
        course.course_type, len(done), screen.protocol["induction_length"])
    clear_problems()
    for key in (CLOSED_KEY, LAPSE_KEY):
        st.session_state[key] = None


def next_course_number() -> int:
    return max((c.number for c in screen.courses), default=0) + 1


def choose_course() -> Course:
    """The course to record in (latest by default); stops when there is none yet."""
    next_number = next_course_number()
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
    _course_defaults(by_id[course_id])
    return by_id[course_id]


def _saved_messages(saved: Saved, what: str) -> None:
    """Queue the result messages for the next run (shown at the top by show_flash)."""
    flash("success", f"{what} saved with {len(saved.assessments)} score(s)"
          + (f" and {len(saved.adverse_events)} adverse event(s)." if saved.adverse_events
             else "."))
    for warning in saved.warnings:
        flash("warning", clinic_message(warning))
    if saved.skipped:
        flash("info", "Not recorded (no answers): " + ", ".join(saved.skipped) + ".")
    for alert in saved.alerts:
        flash("error", f"Suicide-risk alert opened: PHQ-9 item 9 {item9_text(alert.item9_value)} "
                       f"on {alert.observed_on}. Assess the risk, then close the alert on the "
                       "Safety page with the action taken.")


def _refused(exc: Exception, form: str, jump: bool) -> None:
    """A refused save: the problems at their fields and in the summary at the top; the
    section of the first problem is opened. Nothing was written."""
    if isinstance(exc, AlreadySaved):
        clear_problems()
        flash("warning", "Already saved: " + "; ".join(
            f"{clinic_label(f)}: {rule}" for f, rule in exc.problems))
        return
    problems = getattr(exc, "problems", None) or [("input", str(exc))]
    store_problems(problems, problem_keys, form)
    first = next((s for s in (section_of(field) for field, _ in problems) if s), None)
    if jump and first:
        st.session_state[STEP_KEY] = first


def _write(write, form: str, jump: bool = False) -> Saved | None:
    try:
        with write_session() as session:
            return write(session)
    except (InputError, PermissionDenied) as exc:
        _refused(exc, form, jump)
        return None


def _advice(course: Course) -> CourseAdvice:
    return course_advice(
        course_type=course.course_type, status=course.status,
        infusion_dates=[i.administered_on for i in screen.infusions[course.id]],
        new_date=st.session_state.get("infusion_date") or today,
        induction_length=screen.protocol["induction_length"],
        lapse_window_days=screen.protocol["lapse_window_days"])


def _save_infusion(course: Course) -> None:
    """Save button callback: the infusion and its scores, read from st.session_state."""
    values, scores = infusion_values(screen.protocol), score_inputs()
    advice = _advice(course)
    note = None
    if advice.lapsed:
        if st.session_state.get(LAPSE_KEY) != CONTINUE:
            _refused(InputError([("course", "choose first: start a new course, or continue "
                                  f"course {course.number} after the gap")]), FORM, jump=False)
            return
        note = lapse_note(course, advice, screen.protocol["lapse_window_days"])
    def write(session):
        saved = log_infusion(session, actor=actor, course_id=course.id, infusion=values,
                             scores=scores, course_note=note)
        forget_draft(session, actor=actor, patient_id=screen.patient.id)  # same transaction
        return saved

    saved = _write(write, FORM, jump=True)
    if saved is None:
        return
    after_save(screen.patient.id)
    clear_problems()
    if saved.held is not None:  # no ketamine given: a held visit, no infusion number used
        flash("warning", held_message(saved.held))
        reset_widgets(*FORM_PREFIXES, "course_gate_",
                      keep=(*KEEP_AFTER_SAVE, "infusion_date", "infusion_type"),
                      values={"infusion_number": saved.held.planned_number, STEP_KEY: DETAILS})
        return
    _saved_messages(saved, f"Infusion {values['number']}")
    numbers = [i.number for i in screen.infusions[course.id]] + [values["number"]]
    reset_widgets(*FORM_PREFIXES, "course_gate_", keep=KEEP_AFTER_SAVE, values={
        "infusion_number": max(numbers) + 1, "infusion_date": today,
        "infusion_type": default_type(course.course_type, len(numbers),
                                      screen.protocol["induction_length"]),
        STEP_KEY: DETAILS})


def review(course: Course) -> None:
    """What Save will write (refreshed when this section is opened: the tabs rerun)."""
    v = infusion_values(screen.protocol)
    total = total_dose_mg(v["dose_mg_per_kg"], v["weight_kg"])
    st.markdown(f"**Infusion {v['number']}** of course {course.number} · "
                f"{v['administered_on']} · {v['infusion_type']} · {v['route']}")
    dose = (f"{v['dose_mg_per_kg']:g} mg/kg × {v['weight_kg']:g} kg = {total:.1f} mg"
            if total is not None else "dose or weight not entered yet")
    duration = f" · {v['duration_min']} min" if v["duration_min"] is not None else ""
    st.markdown(f"Dose: {dose}{duration}")
    entered = {m: sum(v[f"{k}_{m}"] is not None for k in VITAL_RANGES) for m in VITAL_MOMENTS}
    st.markdown("Vital signs entered: " + ", ".join(
        f"{n} of 4 {MOMENT_LABELS[m].lower()}" for m, n in entered.items()))
    st.markdown("Side effects: " + (", ".join(v["side_effects"]) or "none ticked")
                + (f" · {len(v['adverse_events'])} adverse event(s)" if v["adverse_events"]
                   else ""))
    if v["bp_decision"]:
        st.markdown(f"Blood-pressure decision: {v['bp_decision']}")
    for score in score_inputs():
        _, text = live_summary(get_instrument(score["instrument"]), score["items"])
        st.caption(f"{TIMEPOINT_WORDS[score['timepoint']].capitalize()}: {text}")


def new_infusion(course: Course) -> bool:
    """The new-infusion form, after the course rules; True when it showed the form to
    start a new course."""
    infusions = screen.infusions[course.id]
    advice = _advice(course)
    if advice.closed:
        return closed_course_gate(actor, course, next_course_number(), start_course_form)
    problem_summary(FORM, section_of)  # at the top: above the course question too
    if advice.lapsed:
        choice = lapse_gate(course, advice, max(infusions, key=lambda i: i.administered_on),
                            screen.protocol["lapse_window_days"], next_course_number(), FORM)
        if choice == START_NEW:
            start_course_form(next_course_number())
            return True
    next_number = max((i.number for i in infusions), default=0) + 1
    offer_draft(actor, screen.patient.id)  # an unsaved infusion kept server-side (ui.drafts)
    tabs = st.tabs(SECTIONS, key=STEP_KEY, on_change="rerun")  # every section always drawn
    with tabs[0]:
        details_section(next_number=next_number, protocol=screen.protocol,
                        weight_default=screen.last_weight, today=today,
                        default_type=advice.default_type)
    with tabs[1]:
        vitals_section("before")
        bp_hold_section(screen.protocol)
        st.markdown("**Questionnaires before the infusion**")
        score_column("pre", form=FORM, title=False)
    with tabs[2]:
        vitals_section("peak")
        side_effects_section()
        monitoring_section()
    with tabs[3]:
        vitals_section("discharge")
        st.markdown("**Questionnaires after the infusion**")
        score_column("post", form=FORM, title=False)
    with tabs[4]:
        review(course)
        if current_problems(FORM):
            st.error("Not saved: see the things to fix at the top of the form.")
        st.button("Save infusion and scores", type="primary", key="save_infusion",
                  on_click=_save_infusion, args=(course,))
    keep_draft(actor, screen.patient.id, FORM_PREFIXES)  # each questionnaire fragment too
    return False


def _save_scores(infusions: dict[int, Infusion]) -> None:
    """Save button callback: scores for a saved infusion, read from st.session_state."""
    infusion_id = st.session_state.get("scores_infusion")
    scores = score_inputs()
    saved = _write(lambda s: add_scores(s, actor=actor, infusion_id=infusion_id,
                                        scores=scores), SCORES_FORM)
    if saved is None:
        return
    clear_problems()
    number = infusions[infusion_id].number if infusion_id in infusions else "?"
    _saved_messages(saved, f"Scores of infusion {number}")
    reset_widgets("pre_", "post_", keep=KEEP_AFTER_SAVE)


def scores_for_saved(course: Course) -> None:
    infusions = {i.id: i for i in screen.infusions[course.id]}
    if not infusions:
        st.warning("No infusion is saved in this course yet. A score is recorded against its "
                   "infusion: log the infusion first.")
    problem_summary(SCORES_FORM, section_of)
    infusion_id = st.selectbox(
        "Infusion", list(infusions), index=len(infusions) - 1 if infusions else None,
        key="scores_infusion", placeholder="no infusion saved",
        format_func=lambda i: f"Infusion {infusions[i].number} · {infusions[i].administered_on}")
    field_problem(SCORES_FORM, "infusion")
    score_columns(form=SCORES_FORM)
    st.button("Save scores", type="primary", key="save_scores", on_click=_save_scores,
              args=(infusions,))
    st.divider()
    kiosk_start_form(actor, screen.patient.id, infusions.get(infusion_id))


course = choose_course()
mode = st.radio("What are you recording?", MODES, horizontal=True, key="entry_mode")
start_form_shown = False
if mode == MODES[0]:
    start_form_shown = new_infusion(course)
elif mode == MODES[1]:
    scores_for_saved(course)
elif mode == MODES[2]:
    infusion_correction(actor, screen.infusions[course.id])
else:
    score_correction(actor, course)
if not start_form_shown:
    st.divider()
    with st.expander("Start a new course"):
        start_course_form(next_course_number())
