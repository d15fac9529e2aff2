"""What every page shows around its content: who is signed in, a sign-out button, and the
open suicide-risk alert banner. Pages call `page_setup()` first (rendered by the page,
not by dashboard.py, so it is part of each page's own run)."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from data.analytics.overview import count_open_alerts
from data.clinic.alerts import patient_open_alerts
from data.store.audit import utcnow
from data.store.db import read_session
from models.access import Actor
from outcomes.alert_times import age_text
from ui.kiosk import in_kiosk_mode
from ui.respond import wants_respond_page
from ui.session import require_actor, require_permission, session_cookie, sign_out
from ui.text import apply_widget_resets


def page_setup(permission: str | None = None, *, patient_id: int | None = None) -> Actor:
    """The signed-in actor, after the sidebar, the alert banner and the permission check.

    A page showing one patient passes `patient_id`: the banner names that patient's open
    alerts first, then the clinic count.

    A tab in kiosk mode or showing a patient's link page runs no staff page, even when
    Streamlit runs a page script without dashboard.py (see ui.session.require_actor)."""
    if in_kiosk_mode() or wants_respond_page():
        st.stop()
    actor = require_actor()
    note_page()
    apply_widget_resets()
    with st.sidebar:
        st.caption(f"Signed in as **{actor.username}** ({actor.role})")
        if st.button("Sign out", key="sign_out"):
            sign_out()
            st.rerun()
        session_cookie()  # keeps the sign-in across a reload (ui.session)
    alert_banner(actor, patient_id=patient_id)
    if permission:
        require_permission(actor, permission)
    return actor


def note_page() -> None:
    """Remember this run's page and the previous run's (the record page audits each opening
    of a record, not each rerun while the user works on it)."""
    ctx = get_script_run_ctx()
    st.session_state["previous_page"] = st.session_state.get("current_page")
    st.session_state["current_page"] = ctx.page_script_hash if ctx else None


def is_new_visit() -> bool:
    """True when the previous run showed another page (or none)."""
    return st.session_state.get("previous_page") != st.session_state.get("current_page")


WHEN = {"pre": "before infusion {n}", "post": "after infusion {n}",
        "followup": "at a follow-up of infusion {n}"}
KIND_TEXT = {"positive": "item 9 positive", "not_answered": "item 9 not answered"}


def patient_alert_text(alerts: list[dict], now: object) -> str:
    """'This patient: item 9 positive before infusion 3, 2 h ago; ...' (no user text)."""
    parts = [f"{KIND_TEXT.get(a['kind'], a['kind'])} "
             f"{WHEN.get(a['timepoint'], '{n}').format(n=a['infusion'])}, "
             f"{age_text(a['opened_at'], now)}" for a in alerts]
    return "This patient: " + "; ".join(parts) + "."


def alert_banner(actor: Actor, *, patient_id: int | None = None) -> None:
    """Open alerts are shown on every page to the users of that clinic; on a patient's page,
    that patient's open alerts come first."""
    with read_session() as session:
        n_open = count_open_alerts(session, actor=actor)
        mine = (patient_open_alerts(session, actor=actor, patient_id=patient_id)
                if n_open and patient_id else [])
    if n_open:
        lead = f"**{patient_alert_text(mine, utcnow())}**\n\n" if mine else ""
        st.error(f"{lead}**{n_open} open suicide-risk alert(s)** in your clinics (PHQ-9 item 9 "
                 "positive or not answered) need a clinician's acknowledgement with the action "
                 "taken.", icon=":material/emergency:")
        st.page_link("pages/safety.py", label="Review the open alerts",
                     icon=":material/emergency:")
