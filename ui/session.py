"""Sign-in state for one browser tab. `st.session_state` lives on the server and dies
with the tab: a reload signs the user out. Idle and absolute timeouts are enforced here,
on every run, on the server side."""

from __future__ import annotations

import time
import uuid

import streamlit as st

from data import audit
from data.access import Actor
from data.db import get_engine, read_session, write_session
from data.migrate import upgrade
from data.settings import get_settings
from data.users import SignInError, session_check, sign_in

ACTOR_KEY = "actor"


@st.cache_resource(show_spinner=False)
def _store_ready(url: str) -> bool:
    """Migrate the store once per process and URL (the engine is cached, never a Session)."""
    upgrade(get_engine(url))
    return True


def ensure_store() -> None:
    _store_ready(get_settings().database_url)


IDLE_WATCH_SECONDS = 20
TIMED_OUT = "You were signed out after a period of inactivity."


def session_expired(now: float | None = None) -> bool:
    """Whether this tab's session has passed its idle or absolute limit."""
    settings = get_settings()
    now = time.time() if now is None else now
    idle = now - st.session_state.get("last_seen", now)
    age = now - st.session_state.get("signed_in_at", now)
    return idle > settings.session_idle_minutes * 60 or age > settings.session_max_hours * 3600


def current_actor() -> Actor | None:
    """The signed-in actor, or None; signs out when a timeout has passed."""
    actor = st.session_state.get(ACTOR_KEY)
    if actor is None:
        return None
    if session_expired():
        sign_out(reason="timeout")
        st.session_state["signed_out_message"] = TIMED_OUT
        return None
    st.session_state["last_seen"] = time.time()
    return actor


@st.fragment(run_every=IDLE_WATCH_SECONDS)
def idle_watch() -> None:
    """Runs by itself every IDLE_WATCH_SECONDS while a page is open (it draws nothing and
    reads no data): once the session is past its limit it signs out and reruns the whole
    app, so the page, patient names included, gives way to the sign-in form without
    waiting for a click. Its own runs are not activity: only full runs move `last_seen`."""
    if st.session_state.get(ACTOR_KEY) is None or not session_expired():
        return
    sign_out(reason="timeout")
    st.session_state["signed_out_message"] = TIMED_OUT
    st.rerun(scope="app")


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
    with read_session() as session:  # dashboard.py shows only the account page until changed
        state = session_check(session, actor=actor)
    st.session_state["must_change_password"] = state == "change_password"


def follow_account_changes(actor: Actor) -> None:
    """On every page run: end the session of an account deactivated (or whose role or
    clinic scope changed) since sign-in; send a user who must change their password to
    the account page (dashboard.py restricts the navigation while the flag is set)."""
    with read_session() as session:
        state = session_check(session, actor=actor)
    if state == "ended":
        sign_out(reason="account changed")
        st.session_state["signed_out_message"] = ("Your account was changed by an "
                                                  "administrator: sign in again.")
        st.rerun()
    if state == "password_changed":
        sign_out(reason="password changed")
        st.session_state["signed_out_message"] = ("The password of this account was changed "
                                                  "since you signed in: sign in again.")
        st.rerun()
    must_change = state == "change_password"
    if must_change != st.session_state.get("must_change_password", False):
        st.session_state["must_change_password"] = must_change
        if must_change:
            st.switch_page("pages/account.py")
        st.rerun()


def sign_out(reason: str = "sign_out") -> None:
    actor = st.session_state.pop(ACTOR_KEY, None)
    if actor is not None:
        with write_session() as session:
            audit.record(session, actor=actor, action="sign_out", entity="user",
                         entity_id=actor.user_id, reason=reason)
    for key in list(st.session_state.keys()):
        del st.session_state[key]


def require_actor() -> Actor:
    """For pages: the signed-in actor (dashboard.py only runs pages for signed-in users).

    The timeouts are checked again here: with a pages/ directory Streamlit can run a page
    script without dashboard.py (its v1 multipage mode: AppTest's reruns, or a server's
    first request), and a timed-out session must not see the page then either."""
    if st.session_state.get(ACTOR_KEY) is None:
        st.stop()
    actor = current_actor()
    if actor is None:  # timed out just now (current_actor signed it out)
        sign_in_form()
        st.stop()
    follow_account_changes(actor)
    idle_watch()  # clears the page by itself when the session times out
    return actor


def require_permission(actor: Actor, permission: str) -> None:
    if not actor.can(permission):
        st.error("Your role does not give access to this page.")
        st.stop()
