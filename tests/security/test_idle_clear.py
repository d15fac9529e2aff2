"""Issue 15, privacy: an idle session's page clears itself. `ui.session.idle_watch` is a
fragment that reruns every IDLE_WATCH_SECONDS without a click; past the idle limit it
signs out (audited, reason timeout) and reruns the whole app, so the sign-in form
replaces the page. Its own runs do not count as activity."""

from __future__ import annotations

import inspect

from sqlmodel import select
from streamlit.testing.v1 import AppTest

from data.store.db import read_session
from models.tables import AuditEvent
from tests.factories import make_user


def _page(idle_minutes: float) -> None:
    import time

    import streamlit as st

    from data.accounts.users import sign_in
    from tests.factories import PASSWORD
    from ui.session import ACTOR_KEY, idle_watch

    if "started" not in st.session_state and "signed_out_message" not in st.session_state:
        st.session_state["started"] = True
        st.session_state[ACTOR_KEY] = sign_in(username="dr.idle", password=PASSWORD)
        st.session_state["signed_in_at"] = time.time() - idle_minutes * 60
        st.session_state["last_seen"] = time.time() - idle_minutes * 60
    idle_watch()
    if st.session_state.get(ACTOR_KEY) is None:
        st.text("SIGN-IN FORM")
    else:
        st.text("Patient Zyxwvut Qqqq")


def run_page(idle_minutes: float) -> AppTest:
    source = inspect.getsource(_page).replace("def _page(", "def page(")
    at = AppTest.from_string(source + f"\n\npage({idle_minutes!r})\n", default_timeout=30)
    return at.run()


def test_an_idle_page_signs_out_and_clears_itself(store_url):
    make_user("dr.idle", "clinician", ("CL1",))
    at = run_page(idle_minutes=16)
    assert not at.exception
    assert [t.value for t in at.text] == ["SIGN-IN FORM"]
    assert "inactivity" in at.session_state["signed_out_message"]
    with read_session() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "sign_out")).one()
    assert (event.username, event.reason) == ("dr.idle", "timeout")


def test_an_active_page_stays_and_the_watch_is_not_activity(store_url):
    make_user("dr.idle", "clinician", ("CL1",))
    at = run_page(idle_minutes=14)
    assert [t.value for t in at.text] == ["Patient Zyxwvut Qqqq"]
    seen = at.session_state["last_seen"]
    at.run()  # the watch ran again; last_seen is moved only by current_actor()
    assert at.session_state["last_seen"] == seen


def test_the_watch_runs_by_itself():
    from ui.session import IDLE_WATCH_SECONDS, idle_watch

    assert IDLE_WATCH_SECONDS <= 60
    assert "run_every" in inspect.getsource(inspect.getmodule(idle_watch))
