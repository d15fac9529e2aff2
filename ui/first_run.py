"""First-run screen: no user exists yet. Create the administrator and, optionally,
load the synthetic demo clinic (with demo accounts) to explore the product."""

from __future__ import annotations

import streamlit as st

from data.accounts.users import UserError, create_user
from data.store.db import write_session
from models.access import SYSTEM
from models.tables import Role

DEMO_PATIENTS = 120


def first_run_screen() -> None:
    st.title("Welcome: set up your outcome tracker")
    st.write(
        "No user exists in this store yet. Create the administrator account. "
        "Administrators manage users, clinics and backups; clinicians and medical "
        "directors, created next, record and review treatment."
    )
    with st.form("first_run"):
        username = st.text_input("Administrator username", key="setup_username")
        full_name = st.text_input("Full name", key="setup_full_name")
        password = st.text_input("Password (at least 12 characters)", type="password",
                                 key="setup_password")
        confirm = st.text_input("Repeat password", type="password", key="setup_confirm")
        demo = st.checkbox(
            f"Also load the demo clinic ({DEMO_PATIENTS} synthetic patients, with demo "
            "accounts demo.director, demo.clin1 and demo.auditor, password 'demo-password')",
            key="setup_demo",
        )
        submitted = st.form_submit_button("Create administrator", type="primary")
    if not submitted:
        return
    if password != confirm:
        st.error("Repeat password: the two passwords differ.")
        return
    try:
        with write_session() as session:
            create_user(session, actor=SYSTEM, username=username, password=password,
                        role=Role.ADMIN, full_name=full_name)
    except UserError as exc:
        st.error(str(exc))
        return
    if demo:
        from data.seed.seed import seed_demo

        with st.spinner("Loading the synthetic demo clinic..."):
            seed_demo(n_patients=DEMO_PATIENTS, seed=42)
    st.session_state["setup_done"] = True
    st.rerun()
