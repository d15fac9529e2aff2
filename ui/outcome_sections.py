"""The Outcomes page's sections: headline figures (from the s.6 summary, exactly what
``manage.py export outcomes`` writes), charts and tables, each with its note."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from data.analytics.clinic_outcomes import ClinicAnalysis
from data.selfreport.completion import selfreport_quality
from data.store.db import read_session
from figures import charts
from models.access import Actor
from models.tables import SOURCE_LABELS
from outcomes.breakdowns import DIMENSION_LABELS
from outcomes.summary import NHS_KEY
from ui.dose_sections import published_benchmarks
from ui.monitoring_summary import monitoring_block
from ui.outcome_cache import TTL_SECONDS, ResponseSection
from ui.outcome_notes import NOTES

DASH = "—"
CHART = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
# The page's sections (tabs), by id; only the open one runs.
SECTIONS = {"response": "Response over time", "breakdowns": "Breakdowns",
            "durability": "Durability", "safety": "Safety & data quality",
            "attention": "Needs attention", "review": "Retention & fair comparison",
            "dose": "Dose and tolerability"}
SECTION_KEY = "oc_section"
# Widgets inside a section: when their section is closed they are not rendered, and
# Streamlit would forget their value; `keep_widget_values` keeps it.
SECTION_WIDGETS = (SECTION_KEY, "oc_dimension", "oc_attention_patient", "oc_trend_period",
                   "oc_funnel_by")
MEMO_KEY = "outcome_page_memo"
PATIENT_PAGE = "pages/patient.py"

Memo = dict[str, object]


def keep_widget_values(keys: tuple[str, ...] = SECTION_WIDGETS) -> None:
    """Keep the values of widgets that a run may not render (a closed section, or a run
    stopped early): writing a widget's value back to Session State before the widget is
    called is Streamlit's documented way to interrupt its widget clean-up."""
    for key in keys:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def section_tabs() -> tuple[dict[str, object], str]:
    """The sections as tabs (by id) and the id of the open one. A tab change reruns the
    page (``on_change="rerun"``), and a closed tab's ``.open`` is False, so the page
    runs the open section's code only instead of every tab's on every rerun."""
    tabs = dict(zip(SECTIONS, st.tabs(list(SECTIONS.values()), key=SECTION_KEY,
                                      on_change="rerun"), strict=True))
    shown = next((section for section, tab in tabs.items() if tab.open), "response")
    return tabs, shown


def page_memo(*key: object, ttl: float = TTL_SECONDS) -> Memo:
    """This browser session's built figures and display tables for one page state.
    ``key``: the user, their scope, the filters, the instrument, the day and the data
    version (their inputs are cached under the same key); at most ``ttl`` seconds old,
    like those caches. Held in Session State, never in a cache shared between sessions
    (they show patient data); only the latest page state's are kept. (The first section's
    figures are made with it: ``response_over_time``.)"""
    memo = st.session_state.get(MEMO_KEY)
    now = time.monotonic()
    if memo is None or memo[0] != key or now - memo[1] > ttl:
        memo = (key, now, {})
        st.session_state[MEMO_KEY] = memo
    return memo[2]


def built(memo: Memo, key: str, build: Callable[[], Any]) -> Any:
    """``build()``, once per page state."""
    if key not in memo:
        memo[key] = build()
    return memo[key]


def chart(memo: Memo, key: str, build: Callable[[], go.Figure]) -> None:
    """``st.plotly_chart`` of the figure ``build`` returns, built once per page state."""
    st.plotly_chart(built(memo, key, build), key=key, config=CHART)


def pct(rate) -> str:
    """A rate (fraction) as '62.5 %'; a null rate as a dash."""
    return DASH if rate is None or pd.isna(rate) else f"{100 * float(rate):.1f} %"


def of(count, total, what: str) -> str:
    return "not defined" if count is None else f"{count} of {total} {what}"


def headline(summary: dict, instrument: str, after_n: int) -> None:
    """Response and remission after N and at the latest score, both denominators labelled."""
    block = summary[instrument]
    after, latest = block[f"after_infusion_{after_n}"], block["overall_latest"]
    st.caption(
        f"{after['n_courses']} course(s) with {instrument} scores, {after['n_with_baseline']} "
        f"with a baseline; {after['n_evaluable']} evaluable after infusion {after_n}, "
        f"{latest['n_evaluable']} at the latest score"
        + ("" if after["n_baseline_in_remission"] is None else
           f"; {after['n_baseline_in_remission']} already in remission at baseline") + ".")
    groups = st.columns(2)
    for col, title, data, key in ((groups[0], f"After infusion {after_n}", after, "after_n"),
                                  (groups[1], "At the latest score", latest, "latest")):
        with col.container(border=True):
            st.markdown(f"**{title}**")
            note = NOTES["response_after_n"] if key == "after_n" else NOTES["latest_rates"]
            rem_note = NOTES["remission_after_n"] if key == "after_n" else NOTES["latest_rates"]
            top, bottom = st.columns(2), st.columns(2)
            _metric(top[0], "Response · observed", data["response_rate_observed"],
                    of(data["responders"], data["n_evaluable"], "evaluable"), note)
            _metric(top[1], "Response · ITT", data["response_rate_itt"],
                    of(data["responders"], data["n_with_baseline"], "with a baseline"), note)
            _metric(bottom[0], "Remission · observed", data["remission_rate_observed"],
                    of(data["remitters"], data["n_evaluable"], "evaluable"), rem_note)
            _metric(bottom[1], "Remission · ITT", data["remission_rate_itt"],
                    of(data["remitters"], data["n_with_baseline"], "with a baseline"), rem_note)
    published_benchmarks(instrument)


def change_and_safety(summary: dict, instrument: str, after_n: int) -> None:
    """Reliable change, NHS paired recovery, item-9 resolution and time to response."""
    latest = summary[instrument]["overall_latest"]
    nhs, item9 = summary[NHS_KEY], summary.get("PHQ-9", {}).get("item9")
    with st.container(border=True):
        st.markdown("**Reliable change, recovery and suicidal ideation**")
        cols = st.columns(4)
        _metric(cols[0], "Reliable improvement", latest["reliable_improvement_rate"],
                of(latest["reliable_improvement"], latest["n_evaluable"], "evaluable (latest)"),
                NOTES["reliable"])
        _metric(cols[1], "Reliable deterioration", latest["reliable_deterioration_rate"],
                of(latest["reliable_deterioration"], latest["n_evaluable"],
                   "evaluable (latest)"), NOTES["reliable"])
        _metric(cols[2], "NHS recovery (PHQ-9 + GAD-7)", nhs["recovery_rate"],
                f"{nhs['recovered']} of {nhs['n_case_at_baseline']} cases at baseline; "
                f"reliable recovery {pct(nhs['reliable_recovery_rate'])}", NOTES["nhs"])
        resolved = None if item9 is None else item9[f"baseline_positive_resolved_after_{after_n}"]
        answered = None if item9 is None else item9[
            f"baseline_positive_with_item9_after_{after_n}"]
        _metric(cols[3], f"Item 9 resolved after infusion {after_n}",
                None if not answered else resolved / answered,
                "no PHQ-9 scores" if item9 is None else
                f"{resolved} of {answered} positive at baseline; "
                f"{item9['n_emergent_positive']} emergent", NOTES["item9"])
        if item9 is not None:
            _day_after(item9)
    _time_to_response(summary[instrument]["time_to_first_response"], after_n)


def _day_after(item9: dict) -> None:
    """O12: baseline-positive courses checked the day of / after infusion 1, and resolved."""
    checked = item9["day_after_first_infusion_checked"]
    resolved = item9["day_after_first_infusion_resolved"]
    cols = st.columns(4)
    _metric(cols[0], "Item 9 resolved by the day after infusion 1",
            resolved / checked if checked else None,
            f"{resolved} of {checked} baseline-positive courses with a PHQ-9 follow-up the "
            "day of infusion 1 or the day after (O12)", NOTES["item9_day_after"])


def _time_to_response(ttr: dict, after_n: int) -> None:
    with st.container(border=True):
        st.markdown("**Time to first response**")
        cols = st.columns(4)
        _metric(cols[0], f"Responded by infusion {after_n} (KM)",
                ttr[f"km_cumulative_response_by_{after_n}"],
                f"{ttr['n_ever_responded']} course(s) ever responded", NOTES["km"])
        _metric(cols[1], f"Remitted by infusion {after_n} (KM)",
                ttr[f"km_cumulative_remission_by_{after_n}"], "", NOTES["km"])
        cols[2].metric("Median infusions to first response", _number(ttr["median_infusions"]),
                       help=NOTES["km"])
        cols[2].caption("among courses that responded")
        cols[3].metric("Median infusions to remission",
                       _number(ttr["median_infusions_to_remission"]), help=NOTES["km"])
        cols[3].caption("among courses that remitted")


def _metric(col, label: str, rate, caption: str, note: str) -> None:
    col.metric(label, pct(rate), help=note)
    if caption:
        col.caption(caption)


def _number(value, digits: int | None = None) -> str:
    if value is None:
        return DASH
    return f"{value:.{digits}f}" if digits is not None else f"{value:g}"


def response_over_time(response: ResponseSection) -> None:
    """KM curve, severity distribution and waterfall: figures made with the section, once
    per page state for every user of the scope (``ui.outcome_cache.response_section_for``;
    after a save by the worker, not the render)."""
    figures = response.figures
    left, right = st.columns(2)
    with left:
        st.subheader("Cumulative response by infusion")
        st.plotly_chart(figures["oc_km_chart"], key="oc_km_chart", config=CHART)
        st.caption(NOTES["km"])
    with right:
        st.subheader("Severity at baseline and latest")
        st.plotly_chart(figures["oc_severity_chart"], key="oc_severity_chart", config=CHART)
        st.caption(NOTES["severity"])
    st.subheader("Change per course (waterfall)")
    if "oc_waterfall_chart" not in figures:
        st.info("No evaluable course for these filters.")
    else:
        st.plotly_chart(figures["oc_waterfall_chart"], key="oc_waterfall_chart", config=CHART)
    st.caption(NOTES["waterfall"])


def breakdown_section(analysis: ClinicAnalysis, after_n: int, memo: Memo) -> None:
    """Response after N by indication and dose band side by side, then any other dimension."""
    small_cell = analysis.parameters["small_cell"]
    st.caption(NOTES["breakdowns"] + f" Small-cell threshold: {small_cell} courses.")
    left, right = st.columns(2)
    for col, dimension in ((left, "indication"), (right, "dose_band")):
        with col:
            _breakdown(analysis, dimension, small_cell, after_n, memo, compact=True)
    other = st.radio("More breakdowns", ["clinic", "clinician", "route", "start_month"],
                     format_func=DIMENSION_LABELS.get, horizontal=True, key="oc_dimension")
    _breakdown(analysis, other, small_cell, after_n, memo)


def _breakdown(analysis: ClinicAnalysis, dimension: str, small_cell: int, after_n: int,
               memo: Memo, *, compact: bool = False) -> None:
    label = DIMENSION_LABELS[dimension]
    table = analysis.breakdowns[dimension]
    st.subheader(f"By {label.lower()}")
    if table.empty:
        st.info("No course for these filters.")
        return
    chart(memo, f"oc_breakdown_{dimension}",
          lambda: charts.breakdown_figure(table, label, small_cell=small_cell))
    shown = breakdown_display(table, label, after_n)
    if compact:
        shown = shown[[label, "Courses", f"Evaluable after {after_n}", "Response (observed)",
                       "95 % interval", "Response (ITT)"]].rename(columns={
            f"Evaluable after {after_n}": "Evaluable", "Response (observed)": "Observed",
            "95 % interval": "95 % CI", "Response (ITT)": "ITT"})
    st.dataframe(shown, hide_index=True, key=f"oc_breakdown_table_{dimension}")


def breakdown_display(table: pd.DataFrame, label: str, after_n: int) -> pd.DataFrame:
    """The breakdown as the screen shows it: suppressed cells say so instead of a figure."""
    hidden = table["suppressed"].tolist()

    def rate(column: str) -> list[str]:
        return ["suppressed" if s else pct(v) for v, s in zip(table[column], hidden, strict=True)]

    def count(column: str) -> list[str]:
        return ["suppressed" if s else ("" if pd.isna(v) else str(int(v)))
                for v, s in zip(table[column], hidden, strict=True)]

    interval = ["suppressed" if s else (DASH if pd.isna(lo) else
                                        f"{100 * lo:.0f}-{100 * hi:.0f} %")
                for lo, hi, s in zip(table["response_ci_low"], table["response_ci_high"], hidden,
                                     strict=True)]
    return pd.DataFrame({
        label: table["group"], "Courses": table["n_courses"],
        "With baseline": table["n_with_baseline"],
        f"Evaluable after {after_n}": table["n_evaluable"],
        "Responders": count("responders"),
        "Response (observed)": rate("response_rate_observed"), "95 % interval": interval,
        "Response (ITT)": rate("response_rate_itt"),
        "Remitters": count("remitters"),
        "Remission (observed)": rate("remission_rate_observed"),
        "Remission (ITT)": rate("remission_rate_itt"),
    })


def durability_section(analysis: ClinicAnalysis, memo: Memo) -> None:
    """Among responders, how long response lasts; booster intervals."""
    summary, boosters = analysis.durability_summary, analysis.booster_summary
    cols = st.columns(4)
    cols[0].metric("Responders (pre-infusion)", summary["n_responders"],
                   help=NOTES["durability"])
    cols[1].metric("Lost response", pct(summary["lost_rate"]), help=NOTES["durability"])
    cols[1].caption(f"{summary['n_lost']} of {summary['n_responders']} responders")
    cols[2].metric("Median weeks to loss", _number(summary["median_weeks_to_loss"], 1),
                   help=NOTES["durability"])
    cols[2].caption(f"median infusions to loss: {_number(summary['median_infusions_to_loss'])}")
    cols[3].metric("Still responding at 12 weeks (KM)",
                   pct(summary["still_responding_at_12_weeks"]), help=NOTES["durability"])
    cols[3].caption(f"at 4 weeks {pct(summary['still_responding_at_4_weeks'])}, at 8 weeks "
                    f"{pct(summary['still_responding_at_8_weeks'])}")
    left, right = st.columns(2)
    with left:
        st.subheader("Staying in response")
        chart(memo, "oc_durability_chart",
              lambda: charts.durability_figure(analysis.durability_km))
        st.caption(NOTES["durability"])
    with right:
        st.subheader("Booster intervals")
        overdue = analysis.parameters["booster_overdue_days"]
        chart(memo, "oc_booster_chart",
              lambda: charts.booster_figure(analysis.boosters, overdue))
        st.caption(f"{boosters['n_boosters']} booster(s) in {boosters['n_courses_with_booster']} "
                   f"course(s); median {_number(boosters['median_days'])} days (quartiles "
                   f"{_number(boosters['q1_days'])}-{_number(boosters['q3_days'])}). "
                   + NOTES["boosters"])


def safety_section(analysis: ClinicAnalysis, memo: Memo) -> None:
    """Side effects and adverse events per infusion; data completeness."""
    safety, complete = analysis.safety, analysis.completeness
    cols = st.columns(4)
    cols[0].metric("Infusions with a side effect", pct(safety["side_effect_rate"]),
                   help=NOTES["safety"])
    cols[0].caption(f"{safety['infusions_with_side_effect']} of {safety['n_infusions']} "
                    "infusions")
    cols[1].metric("Infusions with an adverse event", pct(safety["adverse_event_rate"]),
                   help=NOTES["safety"])
    cols[1].caption(f"{safety['infusions_with_adverse_event']} of {safety['n_infusions']}")
    cols[2].metric(f"Infusions with pre and post {analysis.instrument}",
                   pct(complete["pre_and_post_rate"]), help=NOTES["completeness"])
    cols[2].caption(f"{complete['infusions_with_pre_and_post']} of {complete['n_infusions']}")
    cols[3].metric("Courses without a baseline", pct(complete["without_baseline_rate"]),
                   help=NOTES["completeness"])
    cols[3].caption(f"{complete['courses_without_baseline']} of {complete['n_courses']} "
                    f"courses; {complete['incomplete_administrations']} incomplete "
                    "administration(s)")
    st.subheader("Side effects per infusion")
    if analysis.side_effects.empty:
        st.info("No side effect recorded for these filters.")
    else:
        chart(memo, "oc_side_effect_chart",
              lambda: charts.side_effect_figure(analysis.side_effects))
    if analysis.safety_by_dose is not None and len(analysis.safety_by_dose):
        st.subheader("Side effects and adverse events by dose band (per infusion)")
        st.dataframe(safety_dose_display(analysis.safety_by_dose), hide_index=True,
                     width="stretch", key="oc_safety_by_dose")
        st.caption("Each infusion in the band of its own dose (mg/kg); bands with fewer "
                   f"courses than the small-cell threshold ({analysis.parameters['small_cell']}) "
                   "show counts only (O11). Associations, not dose-finding.")
    st.caption(NOTES["safety"] + " " + NOTES["completeness"])
    monitoring_block(analysis.monitoring)


def safety_dose_display(table: pd.DataFrame) -> pd.DataFrame:
    def count(column: str) -> list[str]:
        return ["—" if pd.isna(v) else str(int(v)) for v in table[column]]

    return pd.DataFrame({
        "Dose band (infusion)": table["dose_band"],
        "Courses": table["n_courses"].astype(int),
        "Infusions": table["n_infusions"].astype(int),
        "With a side effect": count("infusions_with_side_effect"),
        "Side-effect rate": [pct(v) for v in table["side_effect_rate"]],
        "With an adverse event": count("infusions_with_adverse_event"),
        "Adverse-event rate": [pct(v) for v in table["adverse_event_rate"]],
    })


def attention_section(actor: Actor, analysis: ClinicAnalysis, memo: Memo) -> None:
    """The needs-attention list; users who see patients can open one's outcome view."""
    st.caption(NOTES["attention"] + f" Booster interval setting: "
               f"{analysis.parameters['booster_overdue_days']} days. Attention window: "
               f"patients last seen more than {analysis.parameters['attention_window_days']} "
               "days ago are left out (an open alert is always listed).")
    if analysis.attention.empty:
        st.success("No patient needs attention under these rules.")
        return
    st.dataframe(built(memo, "oc_attention_table", lambda: attention_table(analysis)),
                 hide_index=True, key="oc_attention_table")
    if actor.can("view_patients"):
        choices = built(memo, "oc_attention_choices", lambda: dict(zip(
            analysis.attention["patient"], analysis.attention["patient_key"], strict=True)))
        left, right = st.columns([3, 1])
        chosen = left.selectbox("Open a patient's outcome view", list(choices),
                                key="oc_attention_patient")
        if right.button("Open outcome view", key="oc_open_patient") and chosen is not None:
            st.session_state["patient_id"] = int(choices[chosen])
            st.switch_page(PATIENT_PAGE)


def attention_table(analysis: ClinicAnalysis) -> pd.DataFrame:
    """The needs-attention list as the screen shows it."""
    rows = analysis.attention
    return pd.DataFrame({
        "Patient": rows["patient"], "Clinic": rows["clinic"],
        "Needs attention because": rows["reasons"].map(", ".join),
        "Baseline": rows["baseline"], "Latest": rows["latest"],
        "Infusions received": rows["latest_received"],
        "Change": rows["pct_change"].map(lambda v: DASH if pd.isna(v) else f"{v:+.0f} %"),
        "Days since last infusion": rows["days_since_infusion"],
        "Open alerts": rows["open_alerts"],
    })


def selfreport_quality_block(actor: Actor, filters: Any) -> None:
    """Self-report data quality: link completion and scores by source (counts only)."""
    with read_session() as session:
        quality = selfreport_quality(session, actor=actor, clinic_ids=filters.clinic_ids,
                                     start=filters.start, end=filters.end)
    st.subheader("Patient self-report")
    cols = st.columns(4)
    cols[0].metric("Questionnaire links created", quality["created"])
    cols[1].metric("Completed", quality["completed"])
    cols[2].metric("Expired unanswered", quality["expired"])
    cols[3].metric("Completion rate", pct(quality["completion_rate"]),
                   help="Completed / (completed + expired); open and revoked links are "
                        "left out.")
    st.caption("Scores by source: " + ", ".join(
        f"{SOURCE_LABELS.get(source, source)} {n}"
        for source, n in quality["scores_by_source"].items()))
    st.caption(f"PHQ-9 scores with item 9 not answered (prefers not to answer, or blank in an "
               f"import): {quality['phq9_item9_not_answered']}. Each within the alert window "
               "opened an 'item 9 not answered' alert (OUTCOMES.md section 1).")
