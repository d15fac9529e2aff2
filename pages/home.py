"""Home: the user's clinics and this month's activity."""

from __future__ import annotations

import streamlit as st

from data.analytics.overview import clinics_in_scope, home_counts
from data.store.db import read_session
from models.tables import Role
from ui.drafts import drafts_notice
from ui.layout import page_setup

actor = page_setup()
st.title("Home")

if actor.role == Role.ADMIN:
    st.write("Administrators manage users, clinics and backups; clinical data is not shown "
             "to this role.")
    st.page_link("pages/users.py", label="Manage users", icon=":material/manage_accounts:")
    st.stop()

with read_session() as session:
    clinics = clinics_in_scope(session, actor=actor)
    counts = home_counts(session, actor=actor)

drafts_notice(actor)  # unsaved infusions kept after a reload or an idle sign-out
st.caption("Clinics: " + (", ".join(f"{c.code} ({c.name})" for c in clinics) or "none assigned"))
cols = st.columns(4)
cols[0].metric("Patients", counts["patients"])
cols[1].metric("Treatment courses", counts["courses"])
cols[2].metric("Infusions this month", counts["infusions_this_month"])
cols[3].metric("Open safety alerts", counts["open_alerts"])
if actor.can("view_patients"):
    st.page_link("pages/patients.py", label="Find a patient", icon=":material/group:")
