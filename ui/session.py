"""Sign-in state for one browser tab, kept across reloads (issue 12).

`st.session_state` lives on the server and dies with the tab. The sign-in therefore
also lives in a `user_session` row (data/accounts/sessions.py) that a signed cookie names: a
reload, or a tablet that unloaded the tab, opens a new Streamlit session that finds the
row again from `st.context.cookies` (read once per tab) until sign-out or the idle or
absolute limit ends it. Streamlit cannot set a cookie from Python: a tiny component
(`st.components.v2`, data passed as JSON, never as HTML) writes `document.cookie` with
SameSite=Strict, Secure under https, no URL involved. The cookie cannot be HttpOnly
(JavaScript writes it): see docs/RELIABILITY.md for the trade-off.

Idle and absolute timeouts are enforced here, on every run, on the server side; the
idle watch warns WARN_BEFORE_SECONDS before the idle limit."""

from __future__ import annotations

import math
import time

import streamlit as st

from data.accounts.sessions import (
    COOKIE_NAME,
    cookie_value,
    end_session,
    resume_session,
    session_status,
    sign_in_with_session,
    token_from_cookie,
    touch_session,
)
from data.accounts.users import SignInError, session_check
from data.store import audit
from data.store.db import get_engine, read_session, write_session
from data.store.migrate import upgrade
from data.store.settings import get_settings
from models.access import Actor

ACTOR_KEY = "actor"
COOKIE_CHECKED = "session_cookie_checked"  # this tab has looked at its cookie once
SET_COOKIE = "session_cookie"  # (cookie value, absolute expiry as a POSIX time)
CLEAR_COOKIE = "session_cookie_clear"
WARN_BEFORE_SECONDS = 120


@st.cache_resource(show_spinner=False)
def _store_ready(url: str) -> bool:
    """Migrate the store once per process and URL (the engine is cached, never a Session)."""
    upgrade(get_engine(url))
    return True


def ensure_store() -> None:
    _store_ready(get_settings().database_url)


IDLE_WATCH_SECONDS = 20
TIMED_OUT = "You were signed out after a period of inactivity."


def idle_seconds_left(now: float | None = None) -> float:
    """Seconds until this tab's idle limit (negative once past it)."""
    now = time.time() if now is None else now
    idle = now - st.session_state.get("last_seen", now)
    return get_settings().session_idle_minutes * 60 - idle


def warn_window() -> float:
    """How long before the idle limit the warning shows: WARN_BEFORE_SECONDS, or half the
    limit when the limit is shorter than twice that (a 1-minute test limit warns at 30 s)."""
    return min(WARN_BEFORE_SECONDS, get_settings().session_idle_minutes * 30)


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
        actor = resume_from_cookie()
        if actor is None:
            return None
    if session_expired():
        sign_out(reason="timeout")
        st.session_state["signed_out_message"] = TIMED_OUT
        return None
    status = _check_row(actor)
    if status != "ok":
        sign_out(reason="timeout" if status == "expired" else "ended elsewhere")
        st.session_state["signed_out_message"] = (
            TIMED_OUT if status == "expired" else "You were signed out (in another tab of "
            "this browser, or by an administrator).")
        return None
    st.session_state["last_seen"] = time.time()
    return actor


def browser_cookie() -> str | None:
    """The session cookie the browser sent when this tab connected (tests patch this)."""
    try:
        return st.context.cookies.get(COOKIE_NAME)
    except Exception:
        return None


def browser_user_agent() -> str:
    try:
        return st.context.headers.get("User-Agent") or ""
    except Exception:
        return ""


def resume_from_cookie() -> Actor | None:
    """Once per tab: the session a signed cookie names (a reload), or None. A cookie that
    is forged, unknown, ended or expired is cleared in the browser."""
    if st.session_state.get(COOKIE_CHECKED):
        return None
    st.session_state[COOKIE_CHECKED] = True
    value = browser_cookie()
    if not value:
        return None
    token = token_from_cookie(value)
    resumed = None
    if token is not None:
        with write_session() as session:
            resumed = resume_session(session, token=token)
    if resumed is None:
        st.session_state[CLEAR_COOKIE] = True
        return None
    actor, row = resumed
    st.session_state[ACTOR_KEY] = actor
    st.session_state["signed_in_at"] = row.created_at.timestamp()  # the absolute limit holds
    st.session_state["last_seen"] = time.time()
    st.session_state[SET_COOKIE] = (value, row.absolute_expires_at.timestamp())
    with read_session() as session:
        state = session_check(session, actor=actor)
    st.session_state["must_change_password"] = state == "change_password"
    return actor


def _check_row(actor: Actor) -> str:
    """The server row of this tab's session: 'ok', 'ended' or 'expired'. Read on every
    full run; written (`last_seen_at`) only when older than TOUCH_EVERY_SECONDS."""
    if not actor.session_id:
        return "ok"
    with read_session() as session:
        status = session_status(session, actor=actor)
    if status == "stale":
        with write_session() as session:
            status = touch_session(session, actor=actor)
    return "ok" if status == "stale" else status


def session_cookie() -> None:
    """Write (or clear) the session cookie in the browser. Pages render it through
    page_setup (in the sidebar), the sign-in form renders the clearing one."""
    if st.session_state.pop(CLEAR_COOKIE, False):
        clear_cookie_in_browser()
    elif cookie := st.session_state.get(SET_COOKIE):
        value, expires = cookie
        _cookie_writer()(data={"name": COOKIE_NAME, "value": value,
                               "max_age": max(0, int(expires - time.time()))},
                         key="session_cookie_writer", height=0)


def clear_cookie_in_browser() -> None:
    """While the tablet is handed to a patient (kiosk), the browser holds no cookie: a
    reload then shows the sign-in form, not the clinician's session. The tab's own
    sign-in is kept and the cookie written again when the clinician unlocks."""
    _cookie_writer()(data={"name": COOKIE_NAME, "value": "", "max_age": 0},
                     key="session_cookie_clear", height=0)


_COOKIE_JS = """
export default function (component) {
  const data = component.data;
  if (!data || !data.name) { return; }
  const parts = [data.name + "=" + encodeURIComponent(data.value || ""), "Path=/",
                 "SameSite=Strict", "Max-Age=" + (data.value ? data.max_age : 0)];
  if (window.location.protocol === "https:") { parts.push("Secure"); }
  document.cookie = parts.join("; ");
}
"""
_WRITER = []


def _cookie_writer():
    if not _WRITER:
        _WRITER.append(st.components.v2.component("kot_session_cookie", js=_COOKIE_JS))
    return _WRITER[0]


@st.fragment(run_every=IDLE_WATCH_SECONDS)
def idle_watch() -> None:
    """Runs by itself every IDLE_WATCH_SECONDS while a page is open (it reads no data):
    in the last `warn_window()` seconds before the idle limit it shows a warning with a
    "Stay signed in" button (a full run, which is activity); once the session is past its
    limit it signs out and reruns the whole app, so the page, patient names included,
    gives way to the sign-in form without waiting for a click. Its own runs are not
    activity: only full runs move `last_seen`."""
    if st.session_state.get(ACTOR_KEY) is None:
        return
    if session_expired():
        sign_out(reason="timeout")
        st.session_state["signed_out_message"] = TIMED_OUT
        st.rerun(scope="app")
    left = idle_seconds_left()
    if left <= warn_window():
        minutes = max(1, math.ceil(left / 60))
        st.warning(f"No activity for a while: you will be signed out in about {minutes} "
                   f"minute{'s' if minutes != 1 else ''}. An unsaved infusion is kept as a "
                   "draft and offered back when you sign in again.",
                   icon=":material/timer:")
        if st.button("Stay signed in", key="stay_signed_in"):
            st.rerun(scope="app")  # a full run: activity


def sign_in_form() -> None:
    """The sign-in form; on success stores the actor and reruns."""
    st.title("Sign in")
    session_cookie()  # clears a cookie left by a sign-out or an ended session
    if message := st.session_state.pop("signed_out_message", None):
        st.info(message)
    with st.form("sign_in"):
        username = st.text_input("Username", key="sign_in_username")
        password = st.text_input("Password", type="password", key="sign_in_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            actor, token = sign_in_with_session(username=username, password=password,
                                                user_agent=browser_user_agent())
        except SignInError as exc:
            st.error(str(exc))
            return
        start_session(actor, token)
        st.rerun()


def start_session(actor: Actor, token: str | None = None) -> None:
    st.session_state[ACTOR_KEY] = actor
    st.session_state[COOKIE_CHECKED] = True
    st.session_state["signed_in_at"] = st.session_state["last_seen"] = time.time()
    if token is not None:
        expires = time.time() + get_settings().session_max_hours * 3600
        st.session_state[SET_COOKIE] = (cookie_value(token), expires)
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
    """End this tab's sign-in and its server row (one transaction, audited), forget the
    tab's state, and clear the cookie in the browser on the next run."""
    actor = st.session_state.pop(ACTOR_KEY, None)
    if actor is not None:
        with write_session() as session:
            end_session(session, session_id=actor.session_id, reason=reason)
            audit.record(session, actor=actor, action="sign_out", entity="user",
                         entity_id=actor.user_id, reason=reason)
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state[COOKIE_CHECKED] = True  # the cookie the tab connected with is stale
    st.session_state[CLEAR_COOKIE] = True


def require_actor() -> Actor:
    """For pages: the signed-in actor (dashboard.py only runs pages for signed-in users).

    The timeouts are checked again here: with a pages/ directory Streamlit can run a page
    script without dashboard.py (its v1 multipage mode: AppTest's reruns, or a server's
    first request), and a timed-out session must not see the page then either."""
    if st.session_state.get(ACTOR_KEY) is None and resume_from_cookie() is None:
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
