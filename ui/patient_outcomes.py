"""The patient's outcome view, rendered inside the patient record page: the trajectory
chart, the course's outcome in figures and words, item 9, vitals and side effects per
infusion, and the one-page progress report (PDF).

Every figure comes from the outcome engine applied to the patient's own observations
(``outcomes.trajectory.course_outcomes``), so it matches the clinic view's rules.
"""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from data.analytics.patient_view import PatientView, load_patient_view, record_progress_report
from data.store.audit import utcnow
from figures import charts
from models.access import Actor, PermissionDenied
from models.schemas import InputError
from models.tables import AlertStatus
from outcomes.instruments import INSTRUMENT_NAMES
from outcomes.trajectory import (
    course_outcome_lines,
    course_outcomes,
    infusion_gaps,
    item9_history,
    observation_label,
    trajectory_points,
)
from ui.progress_report import build_progress_report, outcome_cells

AXES = {"infusion": "Infusion number", "date": "Date"}
REPORT_KEY = "pv_report_pdf"
DASH = "—"
CHART_NOTE = ("Scores before (●) and after (○) each infusion; ★ marks boosters, ◇ follow-ups "
              "answered between visits, and a centre dot (⊙) a score the patient answered "
              "(at the chair or through a link); shaded gaps are "
              "more than 14 days between infusions (a display convention). Dashed: the course's "
              "baseline (O1); dotted green: the response line at half the baseline (O4); "
              "dash-dot: the remission line (O5). Hover a point for date, dose and route.")


def render_patient_outcomes(actor: Actor, patient_id: int) -> None:
    """The outcome view of one patient (scope-checked by the loader; the page audits the view)."""
    try:
        view = load_patient_view(actor=actor, patient_id=patient_id)
    except (PermissionDenied, InputError) as exc:
        st.error(f"The outcome view cannot be opened: {exc}")
        return
    st.header("Outcome trajectory")
    if view.observations["total"].notna().sum() == 0:
        st.info("No scored questionnaire yet: the trajectory appears after the first score.")
        return
    protocol = view.protocol
    after_n = int(protocol["induction_length"])
    limits = {"MADRS": int(protocol["madrs_remission_max"])}
    outcomes = course_outcomes(view.observations, after_n=after_n,
                               timepoint_rule=protocol["timepoint_rule"], remission_max=limits)
    course_number, axis = _controls(view)
    obs, infusions = _course_frames(view, course_number)
    figure = trajectory_chart(view, obs, infusions, outcomes, axis=axis)
    st.plotly_chart(figure, key="pv_trajectory_chart",
                    config={"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d"]})
    st.caption(CHART_NOTE)
    shown = course_number or int(view.courses["course_number"].max())
    course_rows = outcomes[outcomes["course_number"] == shown]
    _outcome(course_rows, shown, after_n, limits)
    _item9(obs, view)
    _vitals(infusions)
    _report(actor, view, shown, course_rows)


def trajectory_chart(view: PatientView, obs: pd.DataFrame, infusions: pd.DataFrame,
                     outcomes: pd.DataFrame, *, axis: str = "infusion",
                     height_per_instrument: int = 300):
    """The trajectory figure of the given observations (screen and PDF)."""
    gaps = infusion_gaps(infusions, booster_days=int(view.protocol["booster_overdue_days"]))
    return charts.trajectory_figure(
        trajectory_points(obs, infusions), outcomes, infusions, axis=axis,
        remission_max={"MADRS": int(view.protocol["madrs_remission_max"])}, gaps=gaps,
        height_per_instrument=height_per_instrument)


def _controls(view: PatientView) -> tuple[int | None, str]:
    numbers = view.courses["course_number"].astype(int).tolist()
    options = [0, *numbers] if len(numbers) > 1 else numbers
    left, right = st.columns([2, 2])
    chosen = left.selectbox("Course", options, key="pv_course",
                            index=len(options) - 1,
                            format_func=lambda n: "All courses" if n == 0 else _course_label(
                                view, n))
    axis = right.radio("Horizontal axis", list(AXES), format_func=AXES.get, horizontal=True,
                       key="pv_axis")
    return (chosen or None), axis


def _course_label(view: PatientView, number: int) -> str:
    row = view.courses[view.courses["course_number"] == number].iloc[0]
    start = "start unknown" if pd.isna(row["course_start"]) else f"{row['course_start']:%Y-%m-%d}"
    return f"Course {number} ({row['course_type']}, {start}, {row['status']})"


def _course_frames(view: PatientView, course_number: int | None):
    if course_number is None:
        return view.observations, view.infusions
    keep = view.courses.loc[view.courses["course_number"] == course_number, "course_key"]
    return (view.observations[view.observations["course_key"].isin(keep)],
            view.infusions[view.infusions["course_key"].isin(keep)])


def _outcome(rows: pd.DataFrame, course_number: int, after_n: int, limits: dict) -> None:
    """Baseline, latest, change, response, remission and first response, in figures and words."""
    st.subheader(f"Course {course_number}: is the patient better than at baseline?")
    if rows.empty:
        st.info("No score in this course yet.")
        return
    present = [n for n in INSTRUMENT_NAMES if n in set(rows["instrument"])]
    instrument = st.radio("Instrument", present, horizontal=True, key="pv_instrument")
    row = rows[rows["instrument"] == instrument].iloc[0]
    _outcome_metrics(row)
    for line in course_outcome_lines(row, instrument, after_n, limits.get(instrument)):
        st.markdown(f"- {line}")
    table = pd.DataFrame([outcome_cells(r) for _, r in rows.iterrows()],
                         columns=["Instrument", "Baseline (from)", "Latest (at)", "Change",
                                  "Responder", "In remission", "First response"])
    st.dataframe(table, hide_index=True, key="pv_outcome_table")


def _outcome_metrics(row: pd.Series) -> None:
    """Baseline, latest (with the change), percent change, response, remission, first response."""
    cols = st.columns(6)
    if pd.isna(row["baseline"]):
        cols[0].metric("Baseline", "none", help="No pre-infusion score with a total (O1).")
        return
    cols[0].metric("Baseline", f"{row['baseline']:g}", help="The first pre-infusion score of "
                   "the course with a total (O1).")
    cols[0].caption(f"pre score of infusion {int(row['baseline_infusion'])}")
    if pd.isna(row["latest"]):
        cols[1].metric("Latest", "—", help="No score after the baseline yet (O2).")
        return
    cols[1].metric("Latest", f"{row['latest']:g}", delta=f"{row['change']:+g} vs baseline",
                   delta_color="inverse", help="The last score after the baseline (O2); "
                   "lower is better.")
    cols[1].caption(observation_label(row["latest_timepoint"], int(row["latest_infusion"])))
    change = "undefined" if pd.isna(row["pct_change"]) else f"{row['pct_change']:+.1f} %"
    cols[2].metric("Change from baseline", change, help="100 x (latest - baseline) / baseline "
                   "(O3); undefined at baseline 0.")
    cols[3].metric("Responder", _yes_no(row["response"]), help="2 x latest <= baseline (O4).")
    cols[3].caption(f"response at or below {row['baseline'] / 2:g}")
    cols[4].metric("In remission", _yes_no(row["remission"]), help="Latest at or below the "
                   "instrument's remission maximum (O5).")
    first = row["first_response_received"]
    cols[5].metric("Infusions to first response", "not yet" if pd.isna(first) else
                   f"{int(first)}", help="Infusions received at the first score meeting O4 "
                   "(O8): k at the post score of infusion k, k - 1 at its pre score.")


def _yes_no(flag) -> str:
    return "—" if pd.isna(flag) else ("yes" if bool(flag) else "no")


def _item9(obs: pd.DataFrame, view: PatientView) -> None:
    st.subheader("PHQ-9 item 9 (suicidal ideation)")
    history = item9_history(obs)
    if history.empty:
        st.caption("No PHQ-9 item 9 answer in this course.")
        return
    st.plotly_chart(charts.item9_figure(history), key="pv_item9_chart",
                    config={"displaylogo": False})
    positives = int(history["positive"].sum())
    open_alerts = int((view.alerts["status"] == AlertStatus.OPEN).sum()) if len(view.alerts) else 0
    st.caption(f"{positives} positive answer(s) (>= 1) in {len(history)}; {open_alerts} open "
               "alert(s) for this patient. The full history with alert status is in the "
               "record below.")


def _vitals(infusions: pd.DataFrame) -> None:
    st.subheader("Vitals and side effects per infusion")
    if infusions.empty:
        st.caption("No infusion recorded.")
        return

    def pair(a: str, b: str) -> pd.Series:
        return [("" if pd.isna(x) and pd.isna(y) else  # a missing half: '74/—', not '74/'
                 f"{DASH if pd.isna(x) else int(x)}/{DASH if pd.isna(y) else int(y)}")
                for x, y in zip(infusions[a], infusions[b], strict=True)]

    table = pd.DataFrame({
        "Course": infusions["course_number"], "Infusion": infusions["infusion_number"],
        "Date": infusions["date"].dt.date, "Type": infusions["infusion_type"],
        "Route": infusions["route"], "Dose mg/kg": infusions["dose_mg_per_kg"],
        "BP before": pair("bp_sys_before", "bp_dia_before"),
        "BP peak": pair("bp_sys_peak", "bp_dia_peak"),
        "BP discharge": pair("bp_sys_discharge", "bp_dia_discharge"),
        "HR before/peak": pair("hr_before", "hr_peak"),
        "SpO2 before/peak": pair("spo2_before", "spo2_peak"),
        "Side effects": infusions["side_effects"], "Adverse event": infusions["adverse_event"],
    })
    st.dataframe(table, hide_index=True, key="pv_vitals_table")


def progress_report_pdf(view: PatientView, course_number: int, rows: pd.DataFrame, *,
                        generated_by: str) -> bytes:
    """The one-page PDF of one course: its chart, outcome table and words, sessions."""
    obs, infusions = _course_frames(view, course_number)
    figure = trajectory_chart(view, obs, infusions, rows, height_per_instrument=210)
    instrument = "PHQ-9" if "PHQ-9" in set(rows["instrument"]) else rows["instrument"].iloc[0]
    lines = course_outcome_lines(
        rows[rows["instrument"] == instrument].iloc[0], instrument,
        int(view.protocol["induction_length"]),
        int(view.protocol["madrs_remission_max"]) if instrument == "MADRS" else None)
    return build_progress_report(view, course_number=course_number, outcomes=rows, lines=lines,
                                 figure=figure, generated_by=generated_by,
                                 generated_at=utcnow())


def _report(actor: Actor, view: PatientView, course_number: int, rows: pd.DataFrame) -> None:
    """Build the one-page PDF on request (audited), then offer it for download."""
    st.subheader("Progress report")
    st.caption("A one-page PDF for the chart or the referring doctor: chart, outcome, sessions, "
               "and who generated it when. It identifies the patient; generating it is audited.")
    key = (view.patient["id"], course_number)
    if st.button("Prepare progress report (PDF)", key="pv_report_build"):
        with st.spinner("Drawing the chart and the PDF..."):
            pdf = progress_report_pdf(view, course_number, rows, generated_by=actor.username)
        record_progress_report(actor=actor, patient_id=view.patient["id"])
        st.session_state[REPORT_KEY] = (key, pdf)
    stored = st.session_state.get(REPORT_KEY)
    if stored and stored[0] == key:
        code = re.sub(r"[^A-Za-z0-9._-]", "_", view.patient["patient_code"])
        st.download_button("Download progress report (PDF)", stored[1], mime="application/pdf",
                           file_name=f"progress-{code}-course-{course_number}.pdf",
                           key="pv_report_download", type="primary")
