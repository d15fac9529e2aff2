"""Sign-in state for one browser tab. `st.session_state` lives on the server and dies
with the tab: a reload signs the user out. Idle and absolute timeouts are enforced here,
on every run, on the server side."""

from __future__ import annotations

import time
import uuid

import streamlit as st

from data import audit
from data.access import Actor
from data.db import get_engine, write_session
from data.migrate import upgrade
from data.settings import get_settings
from data.users import SignInError, sign_in

ACTOR_KEY = "actor"


@st.cache_resource(show_spinner=False)
def _store_ready(url: str) -> bool:
    """Migrate the store once per process and URL (the engine is cached, never a Session)."""
    upgrade(get_engine(url))
    return True


def ensure_store() -> None:
    _store_ready(get_settings().database_url)


def current_actor() -> Actor | None:
    """The signed-in actor, or None; signs out when a timeout has passed."""
    actor = st.session_state.get(ACTOR_KEY)
    if actor is None:
        return None
    settings = get_settings()
    now = time.time()
    idle = now - st.session_state.get("last_seen", now)
    age = now - st.session_state.get("signed_in_at", now)
    if idle > settings.session_idle_minutes * 60 or age > settings.session_max_hours * 3600:
        sign_out(reason="timeout")
        st.session_state["signed_out_message"] = "You were signed out after a period of inactivity."
        return None
    st.session_state["last_seen"] = now
    return actor


def sign_in_form() -> None:
    """The sign-in form; on success stores the actor and reruns."""
    st.title("Sign in")
    if message := st.session_state.pop("signed_out_message", None):
        st.info(message)
    with st.form("sign_in"):
        username = st.text_input("Username", key="sign_in_username")
        password = st.text_input("Password", type="password", key="sign_in_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            actor = sign_in(username=username, password=password, session_id=uuid.uuid4().hex)
        except SignInError as exc:
            st.error(str(exc))
            return
        start_session(actor)
        st.rerun()


def start_session(actor: Actor) -> None:
    st.session_state[ACTOR_KEY] = actor
    st.session_state["signed_in_at"] = st.session_state["last_seen"] = time.time()


def sign_out(reason: str = "sign_out") -> None:
    actor = st.session_state.pop(ACTOR_KEY, None)
    if actor is not None:
        with write_session() as session:
            audit.record(session, actor=actor, action="sign_out", entity="user",
                         entity_id=actor.user_id, reason=reason)
    for key in list(st.session_state.keys()):
        del st.session_state[key]


def require_actor() -> Actor:
    """For pages: the signed-in actor (dashboard.py only runs pages for signed-in users)."""
    actor = st.session_state.get(ACTOR_KEY)
    if actor is None:
        st.stop()
    return actor


def require_permission(actor: Actor, permission: str) -> None:
    if not actor.can(permission):
        st.error("Your role does not give access to this page.")
        st.stop()
