"""Account (every signed-in user): change your own password. A user whose password an
administrator reset is sent here first, before any other page."""

from __future__ import annotations

import streamlit as st

from data.accounts.passwords import MIN_LENGTH as MIN_PASSWORD
from data.accounts.users import UserError, change_own_password
from ui.layout import page_setup

actor = page_setup()
st.title("Change password")
st.caption("At least 12 characters; a phrase of unrelated words is best. Common passwords, "
           "the app's name, your username and repeated or sequential characters are "
           "refused. Changing it signs your other sessions out.")
if message := st.session_state.pop("password_changed", None):
    st.success(message)
if st.session_state.get("must_change_password"):
    st.warning("An administrator asked you to choose a new password before you continue.")

with st.form("change_password", clear_on_submit=True):
    old = st.text_input("Current password", type="password", key="account_old_password")
    new = st.text_input(f"New password (at least {MIN_PASSWORD} characters)", type="password",
                        key="account_new_password")
    confirm = st.text_input("Repeat the new password", type="password",
                            key="account_confirm_password")
    submitted = st.form_submit_button("Change password", type="primary",
                                      key="account_change_password")
if submitted:
    if new != confirm:
        st.error("Repeat the new password: the two entries differ.")
    else:
        try:
            kept = change_own_password(actor=actor, old_password=old, new_password=new)
        except UserError as exc:
            st.error(str(exc))
        else:
            st.session_state["actor"] = kept  # this session goes on; the others end
            st.session_state["must_change_password"] = False
            st.session_state["password_changed"] = "Password changed."
            st.rerun()
