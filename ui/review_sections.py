"""The Outcomes page's "Retention & fair comparison" section (OUTCOMES.md section 7): D1
retention, the D2 p-chart and the D3 funnel plot with a case-mix adjusted view.

The whole-result figures (retention, the monthly p-chart, the funnel by clinic) come from
the s.6 summary, the numbers ``manage.py export outcomes`` writes; by clinician, by
quarter and the case-mix view come from the cached analysis (``outcomes.review``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data.analytics.clinic_outcomes import ClinicAnalysis
from figures import review as review_charts
from outcomes.retention import ANCHOR
from ui.outcome_sections import DASH, Memo, chart, pct

TREND_PERIODS = {"month": "Month", "quarter": "Quarter"}
FUNNEL_GROUPS = {"clinic": "Clinic", "clinician": "Clinician"}
LIMIT_LABELS = {"lower": "Lower limit", "upper": "Upper limit", "lower95": "Lower 95 %",
                "upper95": "Upper 95 %", "lower998": "Lower 99.8 %", "upper998": "Upper 99.8 %"}
NOTES = {
    "retention": (
        "Infusions, not scores, decide it (D1). A course has **completed induction** when its "
        "highest infusion number reaches the induction length I; otherwise it is **in "
        "progress** while it is neither discontinued nor completed and its last infusion is "
        "at most L days old (the lapse window, a protocol setting); otherwise it **stopped "
        "after** its last infusion. Completion rate = completed / (completed + stopped). "
        "Booster uptake = completed courses with an infusion numbered above I."),
    "trend": (
        "p-chart (D2): courses by the month (or quarter) of their first infusion; response "
        "after N, observed. Centre = all responders / all evaluable courses; limits = centre "
        "± 3 √(centre (1 − centre) / n), clipped to 0-100 %: the normal approximation (a "
        "convention). A coloured point lies outside its limits. Periods with fewer evaluable "
        "courses than the small-cell threshold show counts only but count in the centre."),
    "funnel": (
        "Funnel plot (D3): target = the observed response rate after N over all courses; "
        "limits target ± z √(target (1 − target) / n) with z = 1.96 (95 %) and 3.09 "
        "(99.8 %), clipped: the normal approximation, a convention (exact binomial limits "
        "are the alternative). Groups outside the 99.8 % limits are named. Small cells show "
        "counts only."),
    "case_mix": (
        "Case-mix adjusted (indirect standardisation by baseline severity band): expected "
        "responders = the sum, over the group's evaluable courses, of the overall observed "
        "response rate of their baseline severity band; observed / expected above 1 means "
        "more responders than its case mix predicts. Shown on screen only; a convention of "
        "this app."),
}


def review_section(summary: dict, analysis: ClinicAnalysis, after_n: int, memo: Memo) -> None:
    """Retention, trend over time and the fair comparison of clinics and clinicians."""
    small_cell = analysis.parameters["small_cell"]
    _retention(summary["retention"], analysis, memo)
    _trend(summary[analysis.instrument][f"trend_by_start_month_after_infusion_{after_n}"],
           analysis, after_n, memo)
    _funnel(summary[analysis.instrument][f"funnel_by_clinic_after_infusion_{after_n}"],
            analysis, after_n, memo)
    st.caption(f"Small-cell threshold: {small_cell} courses (O11).")


def _retention(retention: dict, analysis: ClinicAnalysis, memo: Memo) -> None:
    st.subheader("Retention through the induction")
    induction = retention["induction_length"]
    completed = retention["n_completed_induction"]
    cols = st.columns(5)
    cols[0].metric("Courses", retention["n_courses"], help=NOTES["retention"])
    cols[1].metric("In progress", retention["n_in_progress"], help=NOTES["retention"])
    cols[2].metric(f"Completed induction ({induction})", completed, help=NOTES["retention"])
    cols[3].metric("Completion rate", pct(retention["completion_rate"]),
                   help=NOTES["retention"])
    cols[3].caption(f"{completed} of {completed + retention['n_stopped']} completed or stopped")
    cols[4].metric("Booster uptake", pct(None if not completed
                                         else retention["n_with_booster"] / completed),
                   help=NOTES["retention"])
    cols[4].caption(f"{retention['n_with_booster']} of {completed} completed courses")
    left, right = st.columns([3, 2])
    with left:
        chart(memo, "oc_retention_chart", lambda: review_charts.retention_figure(retention))
    with right:
        stopped = retention["stopped_after_infusion"]
        st.dataframe(pd.DataFrame({"Stopped after infusion": list(stopped),
                                   "Courses": list(stopped.values())}),
                     hide_index=True, key="oc_retention_stopped")
        st.caption(f"Stopped: {retention['n_stopped']} · as of {retention['as_of']} · lapse "
                   f"window {retention['lapse_window_days']} days")
    st.info(f"Published anchor: {ANCHOR}")
    for column, label in FUNNEL_GROUPS.items():
        table = analysis.review.get(f"retention_by_{column}")
        if table is not None and not table.empty:
            st.markdown(f"**Retention by {label.lower()}**")
            st.dataframe(retention_display(table, label), hide_index=True,
                         key=f"oc_retention_by_{column}")
    st.caption(NOTES["retention"])


def retention_display(table: pd.DataFrame, label: str) -> pd.DataFrame:
    """Retention by group as shown: suppressed cells say so (O11)."""
    def cell(value, suppressed: bool, rate: bool = False) -> str:
        if suppressed:
            return "suppressed"
        if rate:
            return pct(value)
        return DASH if value is None or pd.isna(value) else str(int(value))

    hidden = table["suppressed"].tolist()
    out = {label: table["group"], "Courses": table["n_courses"]}
    for column, title, rate in (
            ("n_in_progress", "In progress", False), ("n_completed_induction", "Completed", False),
            ("n_stopped", "Stopped", False), ("stopped_after_1", "Stopped after 1", False),
            ("completion_rate", "Completion rate", True),
            ("booster_rate", "Booster uptake", True)):
        out[title] = [cell(v, s, rate) for v, s in zip(table[column], hidden, strict=True)]
    return pd.DataFrame(out)


def _trend(months: dict, analysis: ClinicAnalysis, after_n: int, memo: Memo) -> None:
    st.subheader(f"Response after infusion {after_n} over time (p-chart)")
    period = st.radio("Group courses by", list(TREND_PERIODS), format_func=TREND_PERIODS.get,
                      horizontal=True, key="oc_trend_period")
    blocks = months if period == "month" else analysis.review.get("trend_by_quarter", {})
    if not blocks:
        st.info("No course with a start date for these filters.")
    else:
        chart(memo, f"oc_trend_chart_{period}",
              lambda: review_charts.p_chart_figure(blocks, TREND_PERIODS[period]))
        st.dataframe(limits_display(blocks, TREND_PERIODS[period], ("lower", "upper")),
                     hide_index=True, key="oc_trend_table")
    st.caption(NOTES["trend"])


def _funnel(by_clinic: dict, analysis: ClinicAnalysis, after_n: int, memo: Memo) -> None:
    st.subheader(f"Fair comparison after infusion {after_n} (funnel plot)")
    group = st.radio("Compare", list(FUNNEL_GROUPS), format_func=FUNNEL_GROUPS.get,
                     horizontal=True, key="oc_funnel_by")
    blocks = by_clinic if group == "clinic" else analysis.review.get("funnel_by_clinician", {})
    label = FUNNEL_GROUPS[group]
    if not blocks:
        st.info("No course for these filters.")
        return
    chart(memo, f"oc_funnel_chart_{group}", lambda: review_charts.funnel_figure(blocks, label))
    outside = [name for name, b in blocks.items() if b["signal"]]
    st.markdown("Outside the 99.8 % limits: " + (", ".join(
        f"{name} ({blocks[name]['signal']})" for name in outside) if outside else "none"))
    st.dataframe(limits_display(blocks, label, ("lower95", "upper95", "lower998",
                                                "upper998")),
                 hide_index=True, key="oc_funnel_table")
    st.caption(NOTES["funnel"])
    mix = analysis.review.get(f"case_mix_by_{group}")
    if mix is not None and not mix.empty:
        st.markdown(f"**Case-mix adjusted by baseline severity ({label.lower()})**")
        st.dataframe(pd.DataFrame({
            label: mix["group"], "Evaluable": mix["n_evaluable"],
            "Observed responders": _counts(mix["responders"], mix["suppressed"]),
            "Expected responders": [("suppressed" if s else (DASH if pd.isna(v) else f"{v:.2f}"))
                                    for v, s in zip(mix["expected"], mix["suppressed"],
                                                    strict=True)],
            "Observed / expected": [("suppressed" if s else (DASH if pd.isna(v) else f"{v:.2f}"))
                                    for v, s in zip(mix["ratio"], mix["suppressed"],
                                                    strict=True)],
        }), hide_index=True, key="oc_case_mix_table")
        st.caption(NOTES["case_mix"])


def _counts(values: pd.Series, suppressed: pd.Series) -> list[str]:
    return ["suppressed" if s else (DASH if pd.isna(v) else str(int(v)))
            for v, s in zip(values, suppressed, strict=True)]


def limits_display(blocks: dict, label: str, limits: tuple[str, ...]) -> pd.DataFrame:
    """A p-chart or funnel as a table: rates and limits as percentages, signals in words."""
    rows = []
    for name, b in blocks.items():
        row = {label: name, "Evaluable": b["n_evaluable"], "Responders": b["responders"],
               "Response": pct(b["rate"])}
        row.update({LIMIT_LABELS[key]: pct(b[key]) for key in limits})
        row["Signal"] = b["signal"] or ""
        rows.append(row)
    return pd.DataFrame(rows)
