"""AppTest: first-run setup, sign-in, a wrong password, and each role's navigation."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from data.store.db import read_session
from models.tables import AuditEvent, User
from tests.apptest import fresh_app
from tests.apptest import submit_sign_in as sign_in
from tests.factories import make_user


@pytest.fixture
def app(store_url):
    with fresh_app() as at:
        yield at


def test_first_run_creates_the_administrator(app):
    app.run()
    assert not app.exception
    assert "Welcome" in app.title[0].value
    app.text_input(key="setup_username").input("boss")
    app.text_input(key="setup_password").input("a-long-password-1")
    app.text_input(key="setup_confirm").input("a-long-password-1")
    app.button[0].click().run()
    assert not app.exception
    with read_session() as session:
        user = session.exec(select(User)).one()
    assert (user.username, user.role) == ("boss", "admin")
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert app.title[0].value == "Sign in"


def test_first_run_refuses_mismatched_and_short_passwords(app):
    app.run()
    app.text_input(key="setup_username").input("boss")
    app.text_input(key="setup_password").input("a-long-password-1")
    app.text_input(key="setup_confirm").input("a-long-password-2")
    app.button[0].click().run()
    assert "differ" in app.error[0].value
    app.text_input(key="setup_password").input("short")
    app.text_input(key="setup_confirm").input("short")
    app.button[0].click().run()
    assert "at least 12 characters" in app.error[0].value
    with read_session() as session:
        assert session.exec(select(func.count()).select_from(User)).one() == 0


def test_sign_in_and_wrong_password(app):
    make_user("dr.who", "clinician")
    sign_in(app, "dr.who", "wrong-password-123")
    assert "Sign-in failed" in app.error[0].value
    assert app.title[0].value == "Sign in"
    sign_in(app, "nobody", "wrong-password-123")
    assert "Sign-in failed" in app.error[0].value  # same message for an unknown user
    sign_in(app, "dr.who")
    assert app.title[0].value == "Today"  # a clinician's start page
    with read_session() as session:
        actions = session.exec(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-3:] == ["sign_in_failed", "sign_in_failed", "sign_in"]


PAGE_FILES = {"Home": "pages/home.py", "Patients": "pages/patients.py",
              "Users": "pages/users.py", "Today": "pages/today.py"}
START = {"clinician": "Today", "director": "Today", "auditor": "Home", "admin": "Home"}


@pytest.mark.parametrize(
    ("role", "visible", "hidden"),
    [
        ("clinician", {"Today", "Home", "Patients"}, {"Users"}),
        ("director", {"Today", "Home", "Patients"}, {"Users"}),
        ("auditor", {"Home"}, {"Today", "Patients", "Users"}),
        ("admin", {"Home", "Users"}, {"Today", "Patients"}),
    ],
)
def test_navigation_follows_the_role(app, role, visible, hidden):
    make_user("someone", role)
    sign_in(app, "someone")
    assert app.title[0].value == START[role]
    for title in sorted(visible):
        app.switch_page(PAGE_FILES[title]).run()
        assert not app.exception
        assert app.title[0].value == title
    for title in sorted(hidden):  # asking for a page outside the role never shows it
        app.switch_page(PAGE_FILES[title]).run()
        assert not app.exception
        assert title not in [t.value for t in app.title]


def test_sign_out_returns_to_sign_in(app):
    make_user("dr.who", "clinician")
    sign_in(app, "dr.who")
    app.sidebar.button(key="sign_out").click().run()
    assert "actor" not in app.session_state
    assert not {"Home", "Today"} & {t.value for t in app.title}
    with read_session() as session:
        last = session.exec(select(AuditEvent.action).order_by(AuditEvent.id.desc())).first()
    assert last == "sign_out"
