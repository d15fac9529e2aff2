"""Issue 12 item 1 in AppTest: a reload (a new Streamlit session that sends the signed
cookie) keeps the sign-in until sign-out or a limit; a warning shows before the idle
limit; an unsaved infusion is kept server-side and offered back after signing in again,
then discarded on save or on request.

AppTest has no browser: `ui.session.browser_cookie` (what `st.context.cookies` holds in
a real tab) is patched with the value the sign-in put in the cookie writer."""

from __future__ import annotations

import inspect
import re
import time

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

import ui.session
from data.store.db import read_session
from models.tables import AuditEvent, Draft, UserSession
from tests.apptest import fresh_app
from tests.clinical_factories import make_patient
from tests.factories import make_user
from tests.pages.conftest import count, go, joined, sign_in
from tests.pages.test_infusion_page import fill_infusion, open_infusion_page, save


@pytest.fixture
def clin(store_url):
    return make_user("clin", "clinician", ("CL1",))


@pytest.fixture
def patient_id(clin):
    return make_patient(clin, code="P-1", name="Ann Smith")


def cookie_of(at) -> str:
    value, _expires = at.session_state[ui.session.SET_COOKIE]
    return value


def reload_with(monkeypatch, value: str | None):
    """A new tab of the same browser: fresh session state, the cookie sent."""
    monkeypatch.setattr(ui.session, "browser_cookie", lambda: value)
    return fresh_app()


def titles(at) -> list[str]:
    return [t.value for t in at.title]


# --- sessions -----------------------------------------------------------------------------


def test_a_reload_keeps_the_sign_in(app, clin, monkeypatch):
    sign_in(app, "clin")
    value = cookie_of(app)
    token = value.split(".")[0]
    with read_session() as session:
        row = session.exec(select(UserSession)).one()
    assert row.id != token and token not in value.split(".")[1]  # only the hash is stored
    with reload_with(monkeypatch, value) as tab:
        tab.run()
        assert not tab.exception
        assert titles(tab) == ["Today"]  # a clinician starts on Today
        assert tab.session_state["actor"].session_id == row.id
        assert tab.session_state["actor"].username == "clin"
    with read_session() as session:
        resumed = session.exec(select(AuditEvent).where(
            AuditEvent.action == "session_resume")).one()
    assert resumed.session_id == row.id


def test_sign_out_ends_it_for_a_reload_too(app, clin, monkeypatch):
    sign_in(app, "clin")
    value = cookie_of(app)
    app.button(key="sign_out").click().run()
    assert "actor" not in app.session_state
    assert app.session_state[ui.session.CLEAR_COOKIE] is True  # cleared on the next run
    with read_session() as session:
        assert session.exec(select(UserSession)).one().ended_reason == "sign_out"
    with reload_with(monkeypatch, value) as tab:
        tab.run()
        assert titles(tab) == ["Sign in"]
        assert tab.session_state[ui.session.COOKIE_CHECKED] is True


@pytest.mark.parametrize("forge", [lambda v: v[:-1] + ("0" if v[-1] != "0" else "1"),
                                   lambda v: ("y" if v[0] == "x" else "x") + v[1:],
                                   lambda v: v.split(".")[0]])
def test_a_forged_cookie_signs_nobody_in(app, clin, monkeypatch, forge):
    sign_in(app, "clin")
    with reload_with(monkeypatch, forge(cookie_of(app))) as tab:
        tab.run()
        assert titles(tab) == ["Sign in"]
        assert "actor" not in tab.session_state


def test_a_reload_after_the_idle_limit_signs_in_again(app, clin, monkeypatch):
    sign_in(app, "clin")
    value = cookie_of(app)
    app.session_state["last_seen"] = time.time() - 16 * 60
    app.run()  # the open tab times out first: the row ends with it
    assert titles(app) == ["Sign in"]
    with reload_with(monkeypatch, value) as tab:
        tab.run()
        assert titles(tab) == ["Sign in"]
    with read_session() as session:
        assert session.exec(select(UserSession)).one().ended_reason == "timeout"


def test_a_tab_signed_out_elsewhere_follows(app, clin, monkeypatch):
    sign_in(app, "clin")
    with reload_with(monkeypatch, cookie_of(app)) as tab:
        tab.run()
        tab.button(key="sign_out").click().run()  # the other tab signs out
    app.run()
    assert titles(app) == ["Sign in"]
    assert "another tab" in app.info[0].value


def _watched_page(idle_minutes: float) -> None:
    """What the idle watch sees between full runs (its own runs are not activity)."""
    import time

    import streamlit as st

    from data.accounts.users import sign_in
    from tests.factories import PASSWORD
    from ui.session import ACTOR_KEY, idle_watch

    if "started" not in st.session_state:
        st.session_state["started"] = True
        st.session_state[ACTOR_KEY] = sign_in(username="clin", password=PASSWORD)
        st.session_state["signed_in_at"] = time.time() - idle_minutes * 60
        st.session_state["last_seen"] = time.time() - idle_minutes * 60
    idle_watch()
    st.text("page")


@pytest.mark.parametrize(("idle_minutes", "warned"), [(10, False), (12.9, False), (13.5, True),
                                                  (14.9, True)])
def test_a_warning_two_minutes_before_the_idle_limit(clin, idle_minutes, warned):
    source = inspect.getsource(_watched_page).replace("def _watched_page(", "def page(")
    at = AppTest.from_string(source + f"\n\npage({idle_minutes!r})\n", default_timeout=30)
    at.run()
    assert not at.exception
    shown = [w.value for w in at.warning if "signed out in about" in w.value]
    assert bool(shown) is warned
    if warned:  # 15 - 13.5 = 1.5 minutes left, rounded up: "about 2"; 0.1 left: "about 1"
        minutes = {13.5: "2 minutes", 14.9: "1 minute."}[idle_minutes]
        assert f"signed out in about {minutes}" in shown[0]
        assert "kept as a draft" in shown[0]
        assert [b.key for b in at.button] == ["stay_signed_in"]


# --- drafts ------------------------------------------------------------------------------


def _draft() -> Draft | None:
    with read_session() as session:
        return session.exec(select(Draft)).first()


def _type_half_an_infusion(app) -> None:
    app.number_input(key="infusion_weight_kg").set_value(70.0)
    app.number_input(key="vital_hr_before").set_value(72)
    app.checkbox(key="se_nausea").check()
    app.run()


def test_an_infusion_is_kept_as_a_draft_as_it_is_typed(app, patient_id):
    open_infusion_page(app, patient_id)
    assert _draft() is None  # the blank form is no draft
    _type_half_an_infusion(app)
    draft = _draft()
    assert draft.kind == "infusion" and draft.patient_id == patient_id
    assert draft.payload["infusion_weight_kg"] == 70.0
    assert draft.payload["vital_hr_before"] == 72
    assert draft.payload["se_nausea"] is True


def test_a_draft_is_offered_back_after_an_idle_sign_out(app, patient_id):
    open_infusion_page(app, patient_id)
    _type_half_an_infusion(app)
    app.session_state["last_seen"] = time.time() - 16 * 60
    app.run()
    assert titles(app) == ["Sign in"]
    assert "inactivity" in app.info[0].value
    # Signing in again (AppTest reruns a page without dashboard.py, so the sign-in goes
    # through a fresh app; the browser test signs in again in the same tab).
    with fresh_app() as again:
        sign_in(again, "clin")
        again.session_state["patient_id"] = patient_id
        go(again, "pages/infusion.py")
        restore = again.button(key="draft_restore_infusion")
        assert re.fullmatch(r"Restore your unsaved infusion from \d\d:\d\d", restore.label)
        assert again.number_input(key="infusion_weight_kg").value is None  # not restored yet
        again.number_input(key="vital_hr_before").set_value(99).run()  # typing while pending
        assert _draft().payload["vital_hr_before"] == 72  # the kept draft is not overwritten
        again.button(key="draft_restore_infusion").click().run()
        assert not again.exception
        assert again.number_input(key="infusion_weight_kg").value == 70.0
        assert again.number_input(key="vital_hr_before").value == 72
        assert again.checkbox(key="se_nausea").value is True
        assert not [b for b in again.button if b.key == "draft_restore_infusion"]
        fill_infusion(again, dose=0.5, weight=70.0)
        save(again)
        assert "Infusion 1 saved" in joined(again.success)
        assert count(Draft) == 0  # discarded with the save, in its transaction
        assert not _events("draft_discard")
        again.number_input(key="vital_hr_before").set_value(80).run()
        assert _draft().payload["vital_hr_before"] == 80  # the next infusion is a new draft
        assert _draft().payload["infusion_number"] == 2


def _events(action: str) -> list[AuditEvent]:
    with read_session() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_a_draft_discarded_on_request(app, patient_id):
    open_infusion_page(app, patient_id)
    _type_half_an_infusion(app)
    with fresh_app() as tab:  # another tab (or after a reload), signed in again
        sign_in(tab, "clin")
        tab.session_state["patient_id"] = patient_id
        go(tab, "pages/infusion.py")
        tab.button(key="draft_discard_infusion").click().run()
        assert count(Draft) == 0
        assert not [b for b in tab.button if b.key == "draft_restore_infusion"]
        assert tab.number_input(key="infusion_weight_kg").value is None
    assert [e.patient_id for e in _events("draft_discard")] == [patient_id]


def test_the_start_page_lists_the_drafts_and_opens_one(app, patient_id):
    open_infusion_page(app, patient_id)
    _type_half_an_infusion(app)
    with fresh_app() as tab:
        sign_in(tab, "clin")
        texts = [t.value for t in tab.text]
        assert any(re.fullmatch(r"Infusion for patient P-1, kept at \d\d:\d\d on \d\d \w{3}", t)
                   for t in texts), texts
        draft_id = _draft().id
        tab.button(key=f"open_draft_{draft_id}").click().run()
        tab.switch_page("pages/infusion.py").run()  # AppTest: a page's switch is not sticky
        assert tab.button(key="draft_restore_infusion")


def test_another_users_draft_is_not_offered(app, patient_id):
    make_user("clin2", "clinician", ("CL1",))
    open_infusion_page(app, patient_id)
    _type_half_an_infusion(app)
    with fresh_app() as tab:
        sign_in(tab, "clin2")
        tab.session_state["patient_id"] = patient_id
        go(tab, "pages/infusion.py")
        assert not [b for b in tab.button if b.key == "draft_restore_infusion"]
        assert not [t for t in tab.text if "Infusion for patient" in t.value]


def test_a_password_changed_in_this_tab_keeps_the_reload_elsewhere_not(app, clin, monkeypatch):
    """The tab that changes its own password goes on, across a reload too; a session
    signed in before the change elsewhere does not come back."""
    new_password = "a-brand-new-passphrase-7"
    with fresh_app() as older:  # another device, signed in before the change
        sign_in(older, "clin")
        older_cookie = cookie_of(older)
    sign_in(app, "clin")
    go(app, "pages/account.py")
    app.text_input(key="account_old_password").input("correct-horse-battery")
    app.text_input(key="account_new_password").input(new_password)
    app.text_input(key="account_confirm_password").input(new_password)
    app.button(key="account_change_password").click().run()
    assert not app.exception
    app.run()  # the next full run notes the new password on this session's row
    with reload_with(monkeypatch, cookie_of(app)) as tab:
        tab.run()
        assert titles(tab) == ["Today"]  # a clinician starts on Today
    with reload_with(monkeypatch, older_cookie) as tab:
        tab.run()
        assert titles(tab) == ["Sign in"]
