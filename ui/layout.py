"""What every page shows around its content: who is signed in, a sign-out button, and the
open suicide-risk alert banner. Pages call `page_setup()` first (rendered by the page,
not by dashboard.py, so it is part of each page's own run)."""

from __future__ import annotations

import streamlit as st

from data.access import Actor
from data.db import read_session
from data.overview import count_open_alerts
from ui.session import require_actor, require_permission, sign_out


def page_setup(permission: str | None = None) -> Actor:
    """The signed-in actor, after the sidebar, the alert banner and the permission check."""
    actor = require_actor()
    with st.sidebar:
        st.caption(f"Signed in as **{actor.username}** ({actor.role})")
        if st.button("Sign out", key="sign_out"):
            sign_out()
            st.rerun()
    alert_banner(actor)
    if permission:
        require_permission(actor, permission)
    return actor


def alert_banner(actor: Actor) -> None:
    """Open alerts are shown on every page to the users of that clinic."""
    with read_session() as session:
        n_open = count_open_alerts(session, actor=actor)
    if n_open:
        st.error(f"**{n_open} open suicide-risk alert(s)** (PHQ-9 item 9 positive) need a "
                 "clinician's acknowledgement with the action taken.", icon="🚨")
