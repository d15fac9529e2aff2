"""AppTest of user management (pages/users.py) and the account page (pages/account.py):
administrators' changes are audited; a forced reset sends the user to change the
password first; a deactivated user's open session ends."""

from __future__ import annotations

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from data.accounts.users import deactivate_user, force_password_reset
from data.store.db import read_session, write_session
from models.access import SYSTEM
from models.tables import AuditEvent
from tests.apptest import fresh_app
from tests.factories import PASSWORD, get_user, make_user
from tests.test_app import sign_in

NEW_PASSWORD = "a-brand-new-password"


@pytest.fixture
def app(store_url):
    with fresh_app() as at:
        yield at


def last_events(n: int) -> list[tuple]:
    with read_session() as session:
        rows = session.exec(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(n)).all()
    return [(e.username, e.action, e.field, e.old_value, e.new_value, e.reason)
            for e in reversed(rows)]


def titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def open_user(at: AppTest, target: str) -> AppTest:
    at.switch_page("pages/users.py").run()
    at.selectbox(key="manage_user").select(target).run()
    assert not at.exception
    return at


def test_an_administrator_deactivates_changes_and_resets_a_user(app):
    make_user("boss", "admin")
    make_user("dr.who", "clinician")
    sign_in(app, "boss")
    open_user(app, "dr.who")
    app.text_input(key="manage_reason_dr.who").input("on leave")
    app.button(key="manage_deactivate_dr.who").click().run()
    assert not app.exception
    assert "dr.who deactivated." in app.success[0].value
    assert last_events(1) == [("boss", "update", "active", "true", "false", "on leave")]
    assert not get_user("dr.who").active

    open_user(app, "dr.who")
    app.button(key="manage_reactivate_dr.who").click().run()
    app.selectbox(key="manage_role_dr.who").select("director")
    app.text_input(key="manage_clinics_dr.who").input("CL1")
    app.button(key="manage_save_role_dr.who").click().run()
    assert not app.exception
    assert get_user("dr.who").role == "director"
    assert last_events(1) == [("boss", "update", "role", "clinician", "director", "on leave")]

    open_user(app, "dr.who")
    app.text_input(key="manage_temp_password_dr.who").input("short")
    app.button(key="manage_force_reset_dr.who").click().run()
    assert "at least 12 characters" in app.error[0].value
    app.text_input(key="manage_temp_password_dr.who").input("")
    app.button(key="manage_force_reset_dr.who").click().run()
    assert get_user("dr.who").must_change_password
    assert last_events(1) == [("boss", "update", "must_change_password", "false", "true",
                               "on leave")]


def test_a_forced_reset_sends_the_user_to_change_the_password_first(app):
    make_user("dr.who", "clinician")
    with write_session() as session:
        force_password_reset(session, actor=SYSTEM, username="dr.who")
    sign_in(app, "dr.who")
    assert titles(app) == ["Change password"]
    assert "administrator asked you" in app.warning[0].value
    with pytest.raises(ValueError):  # no other page is registered until the change
        app.switch_page("pages/home.py")
    app.text_input(key="account_old_password").input(PASSWORD)
    app.text_input(key="account_new_password").input(NEW_PASSWORD)
    app.text_input(key="account_confirm_password").input(NEW_PASSWORD)
    app.button(key="account_change_password").click().run()
    assert not app.exception
    assert app.success[0].value == "Password changed."
    app.switch_page("pages/home.py").run()
    assert titles(app) == ["Home"]
    assert [a for _, a, f, *_ in last_events(2)] == ["update", "update"]
    assert [f for _, _, f, *_ in last_events(2)] == ["password", "must_change_password"]


def test_a_reset_forced_during_a_session_sends_the_user_to_the_account_page(app):
    make_user("dr.who", "clinician")
    sign_in(app, "dr.who")
    assert titles(app) == ["Today"]  # a clinician's start page
    with write_session() as session:
        force_password_reset(session, actor=SYSTEM, username="dr.who")
    app.run()
    assert not app.exception
    assert titles(app) == ["Change password"]


def test_the_account_page_refuses_a_wrong_or_mismatched_password(app):
    make_user("dr.who", "clinician")
    sign_in(app, "dr.who")
    app.switch_page("pages/account.py").run()
    app.text_input(key="account_old_password").input("not-my-password")
    app.text_input(key="account_new_password").input(NEW_PASSWORD)
    app.text_input(key="account_confirm_password").input(NEW_PASSWORD)
    app.button(key="account_change_password").click().run()
    assert "current password: incorrect" in app.error[0].value
    assert last_events(1)[0][:3] == ("dr.who", "password_change_failed", "password")
    app.text_input(key="account_old_password").input(PASSWORD)
    app.text_input(key="account_new_password").input(NEW_PASSWORD)
    app.text_input(key="account_confirm_password").input(NEW_PASSWORD + "x")
    app.button(key="account_change_password").click().run()
    assert "differ" in app.error[0].value


@pytest.mark.parametrize("role", ["clinician", "director", "auditor", "admin"])
def test_every_role_reaches_the_account_page(app, role):
    make_user("someone", role)
    sign_in(app, "someone")
    app.switch_page("pages/account.py").run()
    assert not app.exception
    assert titles(app) == ["Change password"]


def test_a_deactivated_users_open_session_ends(app):
    make_user("dr.who", "clinician")
    sign_in(app, "dr.who")
    assert titles(app) == ["Today"]  # a clinician's start page
    with write_session() as session:
        deactivate_user(session, actor=SYSTEM, username="dr.who", reason="left")
    app.run()
    assert not app.exception
    # (AppTest reruns only the page, so the sign-in form of dashboard.py is not drawn.)
    assert "actor" not in app.session_state
    assert not {"Home", "Today"} & set(titles(app))
    assert "changed by an administrator" in app.session_state["signed_out_message"]
    assert last_events(1)[0][:2] == ("dr.who", "sign_out")
