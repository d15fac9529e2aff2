"""Users (administrators): who can sign in, their role and clinic scope."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data.accounts.users import (
    UserError,
    change_role,
    create_user,
    deactivate_user,
    force_password_reset,
    list_users,
    reactivate_user,
)
from data.store.db import read_session, write_session
from models.tables import ROLES
from ui.layout import page_setup
from ui.text import human_table

actor = page_setup("manage_users")
st.title("Users")

if message := st.session_state.pop("users_message", None):
    st.success(message)
with read_session() as session:
    users = list_users(session, actor=actor)
USER_LABELS = {"username": "Username", "full_name": "Full name", "role": "Role",
               "active": "Active", "clinics": "Clinics", "all_clinics": "All clinics",
               "must_change_password": "Must change password"}
st.dataframe(human_table(pd.DataFrame(users, columns=list(USER_LABELS)), USER_LABELS),
             hide_index=True, key="users_table")

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
        st.session_state["users_message"] = f"User {username.strip()} added."
        st.rerun()

st.subheader("Change a user")
target = st.selectbox("User", [u["username"] for u in users], index=None, key="manage_user",
                      placeholder="Choose a user")
if target:
    row = next(u for u in users if u["username"] == target)
    reason = st.text_input("Reason (recorded in the audit trail)", key=f"manage_reason_{target}")

    def _apply(change, success: str, **kwargs) -> None:
        """Run one user service in its own transaction; show its rule on a refusal."""
        try:
            with write_session() as session:
                change(session, actor=actor, username=target, reason=reason or None, **kwargs)
        except UserError as exc:
            st.error(str(exc))
        else:
            st.session_state["users_message"] = success
            st.rerun()

    if row["active"]:
        if st.button("Deactivate", key=f"manage_deactivate_{target}"):
            _apply(deactivate_user, f"{target} deactivated.")
    elif st.button("Reactivate", key=f"manage_reactivate_{target}"):
        _apply(reactivate_user, f"{target} reactivated.")

    with st.form(f"change_role_{target}"):
        new_role = st.selectbox("Role", ROLES, index=ROLES.index(row["role"]),
                                key=f"manage_role_{target}")
        scope = "" if row["all_clinics"] else row["clinics"]
        new_clinics = st.text_input("Clinic codes (comma-separated)", value=scope,
                                    key=f"manage_clinics_{target}")
        new_all = st.checkbox("All clinics", value=row["all_clinics"], key=f"manage_all_{target}")
        if st.form_submit_button("Save role and scope", key=f"manage_save_role_{target}"):
            codes = tuple(c.strip() for c in new_clinics.split(",") if c.strip())
            _apply(change_role, f"{target}: role and scope saved.", role=new_role,
                   clinic_codes=codes, all_clinics=new_all)

    with st.form(f"force_reset_{target}"):
        temporary = st.text_input("Temporary password (optional, at least 12 characters)",
                                  type="password", key=f"manage_temp_password_{target}")
        if st.form_submit_button("Force a password change at next sign-in",
                                 key=f"manage_force_reset_{target}"):
            _apply(force_password_reset, f"{target} must change their password.",
                   temporary_password=temporary or None)
