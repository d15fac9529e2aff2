"""The Outcomes page's monitoring block (in the safety section): blood-pressure holds,
adverse events by severity, sedation and dissociation (``outcomes.monitoring``). Counts
only, over every infusion of the filtered courses, like the rest of the safety section."""

from __future__ import annotations

import pandas as pd
import streamlit as st

NOTE = ("Hold rule: the pre-infusion blood pressure above the protocol's limits (systolic > "
        "160 or diastolic > 100 mmHg by default). Held and rescheduled visits gave no ketamine"
        ": they are not infusions and count in no outcome. Each adverse event counts once; "
        "adverse-event notes of older records have no severity. Sedation: MOAA/S at peak "
        "(5 alert ... 0 no response to pain).")


def monitoring_block(summary: dict) -> None:
    """Holds, adverse events by severity, sedation and dissociation, in a few lines."""
    if not summary:
        return
    st.subheader("Infusion monitoring")
    cols = st.columns(3)
    holds = summary["bp_held"] + summary["bp_rescheduled"]
    cols[0].metric("Visits held for blood pressure", holds)
    cols[0].caption(f"held {summary['bp_held']} · rescheduled {summary['bp_rescheduled']} · "
                    f"above the rule but proceeded {summary['bp_above_rule_proceeded']}")
    by_severity = summary["adverse_events_by_severity"]
    cols[1].metric("Adverse events", summary["adverse_events"])
    cols[1].caption(" · ".join(f"{k} {v}" for k, v in by_severity.items())
                    + (f" · notes without severity {summary['adverse_notes_without_severity']}"
                       if summary["adverse_notes_without_severity"] else ""))
    median = summary["discharge_minutes_median"]
    cols[2].metric("Median minutes to discharge-ready", "—" if median is None else f"{median:g}")
    cols[2].caption(f"recorded for {summary['discharge_minutes_recorded']} of "
                    f"{summary['n_infusions']} infusions")
    st.dataframe(distribution_table(summary), hide_index=True, key="oc_monitoring_table")
    st.caption(NOTE)


def distribution_table(summary: dict) -> pd.DataFrame:
    """Infusions per sedation (MOAA/S) and dissociation value, side by side."""
    sedation = [(f"MOAA/S {k}" if k != "not recorded" else k, v)
                for k, v in summary["sedation_moaas"].items()]
    dissociation = list(summary["dissociation"].items())
    rows = max(len(sedation), len(dissociation))
    pad = [("", None)] * rows
    sedation, dissociation = (sedation + pad)[:rows], (dissociation + pad)[:rows]
    return pd.DataFrame({
        "Sedation at peak": [k for k, _ in sedation],
        "Sedation: infusions": [str(v) if v is not None else "" for _, v in sedation],
        "Dissociation": [k for k, _ in dissociation],
        "Dissociation: infusions": [str(v) if v is not None else "" for _, v in dissociation],
    })
