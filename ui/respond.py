"""The patient's page, reached without signing in and only through `?token=` (dashboard.py
routes here before the sign-in check): the clinic's name, the questionnaires one question
per screen, a thank-you without any score, and the clinic's crisis text at once when item 9
was positive or not answered. The token is read once, kept in this tab's session state and
removed from the address bar."""

from __future__ import annotations

import streamlit as st

from data.selfreport.invitations import InvalidLink, open_link, submit_link
from models.schemas import InputError
from ui.kiosk import in_kiosk_mode
from ui.questionnaire import Questionnaire, hide_chrome
from ui.session import ensure_store

TOKEN_KEY, VIEW_KEY, DONE_KEY, INVALID_KEY = ("respond_token", "respond_view", "respond_done",
                                              "respond_invalid")
PREFIX = "respond_"


def wants_respond_page() -> bool:
    """True when this tab is (or is about to be) the patient's page."""
    return "token" in st.query_params or TOKEN_KEY in st.session_state


def client_key() -> str:
    """Who the bad-token throttle counts (the browser's address, else one shared key)."""
    try:
        return st.context.ip_address or "unknown"
    except Exception:
        return "unknown"


def _take_token() -> None:
    """Move the token from the address bar into this tab's state (once)."""
    if "token" in st.query_params:
        token = st.query_params["token"]
        del st.query_params["token"]
        for key in (VIEW_KEY, DONE_KEY, INVALID_KEY):
            st.session_state.pop(key, None)
        st.session_state[TOKEN_KEY] = token


def respond_screen() -> None:
    if in_kiosk_mode():  # Streamlit may run this page's file without dashboard.py
        st.stop()
    ensure_store()
    hide_chrome()
    _take_token()
    if message := st.session_state.get(INVALID_KEY):
        st.error(message)
        return
    if done := st.session_state.get(DONE_KEY):
        thank_you(done["clinic"], done["crisis"] if done["alert"] else None)
        return
    view = st.session_state.get(VIEW_KEY)
    if view is None:
        try:
            view = open_link(token=st.session_state.get(TOKEN_KEY), client=client_key())
        except InvalidLink as exc:
            st.session_state[INVALID_KEY] = str(exc)
            st.rerun()
        st.session_state[VIEW_KEY] = view
    st.title(view.clinic_name or "Your clinic")
    who = f"For {view.initial} · " if view.initial else ""
    st.caption(f"{who}Questionnaire {view.occasion_text}")
    Questionnaire(PREFIX, view.instruments).render(lambda answers: _submit(view, answers))


def _submit(view, answers: list[dict]) -> bool:
    try:
        done = submit_link(token=st.session_state.get(TOKEN_KEY), answers=answers)
    except InvalidLink as exc:
        st.session_state[INVALID_KEY] = str(exc)
        st.rerun()
    except InputError as exc:
        st.error(f"Your answers could not be saved: {exc}")
        return False
    st.session_state[DONE_KEY] = {"clinic": view.clinic_name, "alert": done.alert_opened,
                                  "crisis": done.crisis_text}
    st.rerun()
    return True  # not reached: st.rerun() ends this run


def thank_you(clinic: str, crisis: str | None) -> None:
    """No score: a thank-you, and the crisis text first when item 9 needs it."""
    if crisis:
        st.error(crisis, icon=":material/emergency:")
    st.title("Thank you")
    st.write(f"Your answers were sent to {clinic or 'your clinic'}. You can close this page.")
