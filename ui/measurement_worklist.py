"""The Outcomes page's data-quality work list (issue 14 item 9): measurement completion
by clinic and by clinician, courses without a baseline, and what is missing where, for a
director to work through. Figures from outcomes.worklist over the page's cached frames."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data.analytics.clinic_outcomes import narrow
from data.analytics.outcome_frames import patient_labels
from data.analytics.outcome_report import OutcomeFilters
from models.access import Actor
from outcomes.worklist import completion_by, courses_without_baseline, work_list
from ui.outcome_cache import _loading_filters, cached_frames, store_version

MAX_ROWS = 500


def _completion_table(table: pd.DataFrame, by: str, label: str) -> pd.DataFrame:
    return pd.DataFrame({
        label: table[by], "Infusions": table["infusions"],
        "With pre and post": table["with_pre_and_post"],
        "Completion": [f"{100 * r:.1f} %" for r in table["rate"]]})


def measurement_worklist_block(actor: Actor, filters: OutcomeFilters, instrument: str) -> None:
    """Completion by clinic and clinician, missing baselines, and the work list."""
    frames = narrow(cached_frames(actor.scope_key, _loading_filters(filters), store_version(),
                                  _actor=actor), filters)
    obs, infusions = frames.obs, frames.infusions
    st.subheader(f"Measurement completion ({instrument})")
    st.caption(f"Share of infusions with both a pre and a post {instrument} with a total "
               "(a follow-up is neither). Every course of the filters counts.")
    if infusions.empty:
        st.info("No infusion for these filters.")
        return
    left, right = st.columns(2)
    left.dataframe(_completion_table(completion_by(obs, infusions, "clinic", instrument),
                                     "clinic", "Clinic"), hide_index=True, key="oc_wl_clinic")
    right.dataframe(_completion_table(
        completion_by(obs, infusions, "infusion_clinician", instrument),
        "infusion_clinician", "Clinician"), hide_index=True, key="oc_wl_clinician")
    missing = courses_without_baseline(obs, infusions, instrument)
    st.caption(f"Courses without a baseline (no pre-infusion {instrument} with a total): "
               f"{len(missing)} of {infusions['course_key'].nunique()}.")
    rows = work_list(obs, infusions, instrument)
    st.markdown(f"**Work list**: {len(rows)} items"
                + (f" (the first {MAX_ROWS} shown)" if len(rows) > MAX_ROWS else ""))
    if rows.empty:
        st.success("Nothing missing.")
        return
    rows = rows.head(MAX_ROWS)
    labels = patient_labels(actor=actor, patient_keys=rows["patient_key"].unique().tolist())
    rows = rows.merge(labels, on="patient_key", how="left")
    st.dataframe(pd.DataFrame({
        "Patient": rows["patient"], "Clinic": rows["clinic"], "Course": rows["course_number"],
        "Infusion": rows["infusion_number"], "Missing": rows["missing"]}),
        hide_index=True, key="oc_wl_list")
