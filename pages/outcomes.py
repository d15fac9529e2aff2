"""Outcomes: clinic-wide response and remission, breakdowns, durability, safety and the
needs-attention list, for the courses in the user's scope and the chosen filters.

The headline figures are the OUTCOMES.md s.6 summary, computed by the same function as
`manage.py export outcomes` (the command for these filters is shown at the bottom)."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from data.analytics.overview import clinics_in_scope
from data.clinic.protocol import load_protocol
from data.store.clinic_time import actor_today
from data.store.db import read_session
from ui import outcome_sections as sections
from ui.dose_sections import dose_section
from ui.layout import page_setup
from ui.measurement_worklist import measurement_worklist_block
from ui.outcome_cache import (
    options_for,
    response_section_for,
    section_analysis_for,
    store_version,
    summary_for,
)
from ui.outcome_filters import cli_command, course_filters, store_filters
from ui.outcome_notes import NOTES
from ui.review_sections import review_section

actor = page_setup("view_outcomes")
sections.keep_widget_values()
st.title("Outcomes")

with read_session() as session:
    protocol = load_protocol(session)
    clinics = clinics_in_scope(session, actor=actor)
    today = actor_today(session, actor)  # in the zone of the user's (first) clinic
filters, instrument = store_filters(clinics, protocol)
version = store_version()
filters = course_filters(filters, options_for(actor, filters, version))
filters = replace(filters, as_of=today)  # D1 retention is judged today, as the CLI's
summary = summary_for(actor, filters, version)
after_n = filters.after_n

if not summary[instrument]["overall_latest"]["n_courses"]:
    st.info(f"No {instrument} scores for these filters. Change the filters in the sidebar.")
    st.stop()

rule = (f"the post score of infusion {after_n}" if filters.timepoint_rule == "post"
        else f"the pre score of infusion {after_n + 1}")
st.caption(f"**{instrument}** · after infusion {after_n} = {rule} · "
           f"{'all courses' if filters.all_courses else 'each patient’s index (first) course'}"
           " · every figure’s rule is under “How these figures are computed” at the bottom.")
sections.headline(summary, instrument, after_n)
sections.change_and_safety(summary, instrument, after_n)

# Only the open section runs: it reads its part of the (cached) analysis and builds its
# figures and tables once per page state (sections.page_memo).
tabs, shown = sections.section_tabs()
# (the first section is made with its figures, after a save by a worker: not this run)
analysis = None if shown == "response" else section_analysis_for(
    actor, filters, instrument, today, version, shown)
memo = sections.page_memo(actor.username, actor.scope_key, filters, instrument, today, version)
with tabs[shown]:
    if shown == "response":
        sections.response_over_time(
            response_section_for(actor, filters, instrument, today, version))
    elif shown == "breakdowns":
        sections.breakdown_section(analysis, after_n, memo)
    elif shown == "durability":
        sections.durability_section(analysis, memo)
    elif shown == "safety":
        sections.safety_section(analysis, memo)
        sections.selfreport_quality_block(actor, filters)
        measurement_worklist_block(actor, filters, instrument)
    elif shown == "review":
        review_section(summary, analysis, after_n, memo)
    elif shown == "dose":
        dose_section(actor, filters, instrument, after_n, version)
    else:
        sections.attention_section(actor, analysis, memo)

with st.expander("How these figures are computed"):
    for name, note in NOTES.items():
        st.markdown(f"- **{name.replace('_', ' ')}**: {note}")
    st.markdown("The same headline figures, from the command line:")
    st.code(cli_command(filters, {c.id: c.code for c in clinics}, all_clinics=actor.all_clinics),
            language="bash")
