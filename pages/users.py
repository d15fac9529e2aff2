"""Users (administrators): who can sign in, their role and clinic scope."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data.db import read_session, write_session
from data.users import UserError, create_user, list_users
from models.tables import ROLES
from ui.layout import page_setup

actor = page_setup("manage_users")
st.title("Users")

with read_session() as session:
    users = list_users(session, actor=actor)
st.dataframe(pd.DataFrame(users), hide_index=True, key="users_table")

st.subheader("Add a user")
with st.form("add_user", clear_on_submit=False):
    username = st.text_input("Username", key="new_username")
    full_name = st.text_input("Full name", key="new_full_name")
    role = st.selectbox("Role", ROLES, key="new_role")
    clinics = st.text_input("Clinic codes (comma-separated; created when new)", key="new_clinics")
    all_clinics = st.checkbox("All clinics (network-wide director or auditor)", key="new_all")
    password = st.text_input("Initial password (at least 12 characters)", type="password",
                             key="new_password")
    submitted = st.form_submit_button("Add user", type="primary")
if submitted:
    codes = tuple(c.strip() for c in clinics.split(",") if c.strip())
    try:
        with write_session() as session:
            create_user(session, actor=actor, username=username, password=password, role=role,
                        clinic_codes=codes, all_clinics=all_clinics, full_name=full_name)
    except UserError as exc:
        st.error(str(exc))
    else:
        st.success(f"User {username.strip()} added.")
        st.rerun()
