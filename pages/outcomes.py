"""Outcomes: clinic-wide response and remission, breakdowns, durability, safety and the
needs-attention list, for the courses in the user's scope and the chosen filters.

The headline figures are the OUTCOMES.md s.6 summary, computed by the same function as
`manage.py export outcomes` (the command for these filters is shown at the bottom)."""

from __future__ import annotations

from datetime import date

import streamlit as st

from data.db import read_session
from data.overview import clinics_in_scope
from data.protocol import load_protocol
from ui import outcome_sections as sections
from ui.layout import page_setup
from ui.outcome_cache import analysis_for, options_for, store_version, summary_for
from ui.outcome_filters import cli_command, course_filters, store_filters
from ui.outcome_notes import NOTES

PATIENT_PAGE = "pages/patient.py"

actor = page_setup("view_outcomes")
st.title("Outcomes")

with read_session() as session:
    protocol = load_protocol(session)
    clinics = clinics_in_scope(session, actor=actor)
filters, instrument = store_filters(clinics, protocol)
version = store_version()
filters = course_filters(filters, options_for(actor, filters, version))
summary = summary_for(actor, filters, version)
after_n = filters.after_n

if not summary[instrument]["overall_latest"]["n_courses"]:
    st.info(f"No {instrument} scores for these filters. Change the filters in the sidebar.")
    st.stop()

analysis = analysis_for(actor, filters, instrument, date.today(), version)
rule = (f"the post score of infusion {after_n}" if filters.timepoint_rule == "post"
        else f"the pre score of infusion {after_n + 1}")
st.caption(f"**{instrument}** · after infusion {after_n} = {rule} · "
           f"{'all courses' if filters.all_courses else 'each patient’s index (first) course'}"
           " · every figure’s rule is under “How these figures are computed” at the bottom.")
sections.headline(summary, instrument, after_n)
sections.change_and_safety(summary, instrument, after_n)

tabs = st.tabs(["Response over time", "Breakdowns", "Durability", "Safety & data quality",
                "Needs attention"])
with tabs[0]:
    sections.response_over_time(summary, analysis, after_n)
with tabs[1]:
    sections.breakdown_section(analysis, after_n)
with tabs[2]:
    sections.durability_section(analysis)
with tabs[3]:
    sections.safety_section(analysis)
with tabs[4]:
    st.caption(NOTES["attention"] + f" Booster interval setting: "
               f"{analysis.parameters['booster_overdue_days']} days.")
    if analysis.attention.empty:
        st.success("No patient needs attention under these rules.")
    else:
        st.dataframe(sections.attention_table(analysis), hide_index=True,
                     key="oc_attention_table")
        if actor.can("view_patients"):
            choices = dict(zip(analysis.attention["patient"], analysis.attention["patient_key"],
                               strict=True))
            left, right = st.columns([3, 1])
            chosen = left.selectbox("Open a patient's outcome view", list(choices),
                                    key="oc_attention_patient")
            if right.button("Open outcome view", key="oc_open_patient") and chosen is not None:
                st.session_state["patient_id"] = int(choices[chosen])
                st.switch_page(PATIENT_PAGE)

with st.expander("How these figures are computed"):
    for name, note in NOTES.items():
        st.markdown(f"- **{name.replace('_', ' ')}**: {note}")
    st.markdown("The same headline figures, from the command line:")
    st.code(cli_command(filters, {c.id: c.code for c in clinics}, all_clinics=actor.all_clinics),
            language="bash")
