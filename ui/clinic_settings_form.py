"""The Settings page's clinic block: a director's on-call e-mail and webhook, the crisis
text patients see, the clinic's time zone and the self-report schedule, for one clinic of
their scope."""

from __future__ import annotations

import streamlit as st

from data.analytics.overview import clinics_in_scope
from data.selfreport.clinic_settings import (
    DEFAULT_CRISIS_TEXT,
    clinic_by_code,
    get_clinic_settings,
    update_clinic_settings,
)
from data.selfreport.schedules import load_schedule, update_schedule
from data.store.clinic_time import time_zone_names
from data.store.db import read_session, write_session
from models.access import Actor, PermissionDenied
from outcomes.schedule import RULE_LABELS, RULES, SELF_REPORT_INSTRUMENTS
from ui.text import flash, show_problems


def clinic_settings_block(actor: Actor) -> None:
    st.header("Clinic: on-call, time zone and patient self-report")
    with read_session() as session:
        codes = [c.code for c in clinics_in_scope(session, actor=actor)]
    if not codes:
        st.info("No clinic in your scope.")
        return
    code = st.selectbox("Clinic", codes, key="clinic_settings_code")
    with read_session() as session:
        view = get_clinic_settings(session, actor=actor, code=code)
        schedule = load_schedule(session, clinic_by_code(session, code))
    with st.form("clinic_settings"):
        email = st.text_input("On-call e-mail", value=view["oncall_email"],
                              key=f"clinic_email_{code}",
                              help="Receives a message (no patient identifiers) when a "
                                   "patient's own answer opens a safety alert.")
        webhook = st.text_input("On-call webhook (http or https URL)",
                                value=view["oncall_webhook"], key=f"clinic_webhook_{code}",
                                help="Receives the same notification as a JSON POST.")
        crisis = st.text_area("Crisis text shown to patients (empty: the default)",
                              value=view["crisis_text"], max_chars=1000,
                              key=f"clinic_crisis_{code}")
        st.caption(f"Default: {DEFAULT_CRISIS_TEXT}")
        zones = list(time_zone_names())
        if view["time_zone"] not in zones:
            zones.insert(0, view["time_zone"])
        time_zone = st.selectbox(
            "Clinic time zone", zones, index=zones.index(view["time_zone"]),
            key=f"clinic_time_zone_{code}",
            help="'Today' (the Today list, due questionnaires, boosters, date defaults) and "
                 "every time shown for this clinic are in this zone. Stored times stay UTC.")
        st.markdown("**Self-report schedule** (follow-up questionnaires; none chosen: off)")
        chosen = {rule: st.multiselect(RULE_LABELS[rule].capitalize(), SELF_REPORT_INSTRUMENTS,
                                       default=schedule.get(rule, []),
                                       key=f"clinic_schedule_{rule}_{code}")
                  for rule in RULES}
        submitted = st.form_submit_button("Save clinic settings", key="save_clinic_settings")
    st.info(f"Patients of {code} see: {view['crisis_text_shown']}")
    if submitted:
        try:
            with write_session() as session:
                update_clinic_settings(session, actor=actor, code=code, changes={
                    "oncall_email": email, "oncall_webhook": webhook, "crisis_text": crisis,
                    "time_zone": time_zone})
                update_schedule(session, actor=actor, code=code, schedule=chosen)
        except (ValueError, PermissionDenied) as exc:
            show_problems(exc)
        else:
            flash("success", f"Saved the settings of clinic {code}.")
            st.rerun()
