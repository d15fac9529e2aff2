"""Issue 6.4: sign-in resists guessing and a forgotten session does not stay open.

- Passwords are argon2id with OWASP's minimum parameters (m=19456 KiB, t=2, p=1).
- LOCKOUT_FAILURES failed sign-ins lock the account for LOCKOUT_MINUTES (settings);
  the right password is refused while locked and works once the lock has expired.
- Unknown user, wrong password, locked and deactivated accounts get the same message,
  with similar timing (medians within a factor of 3: a dummy hash is verified for an
  unknown user).
- The server signs a browser session out after SESSION_IDLE_MINUTES (15) idle, and after
  SESSION_MAX_HOURS (12) in all, checked on every run (AppTest).
- Users change their own password; administrators deactivate users and force a reset:
  the old password stops working at once (data/accounts/users.py, pages/account.py, pages/users.py;
  their pages are tested in tests/test_user_pages.py).
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from argon2 import PasswordHasher, extract_parameters
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from data.accounts.users import (
    HASHER,
    SIGN_IN_FAILED,
    SignInError,
    change_own_password,
    deactivate_user,
    force_password_reset,
    hash_password,
    sign_in,
)
from data.store import audit
from data.store.db import read_session, write_session
from data.store.settings import get_settings
from models.tables import AuditEvent, User
from tests.apptest import fresh_app
from tests.apptest import submit_sign_in as signed_in
from tests.factories import PASSWORD, get_user, make_user

OWASP_PREFIX = "$argon2id$v=19$m=19456,t=2,p=1$"


def failed_sign_in(username: str, password: str) -> str:
    with pytest.raises(SignInError) as caught:
        sign_in(username=username, password=password)
    return str(caught.value)


def set_locked_until(username: str, when) -> None:
    with write_session() as session:
        user = session.exec(select(User).where(User.username == username)).one()
        user.locked_until = when
        session.add(user)


# --- password hashing ----------------------------------------------------------------


def test_password_hashes_are_argon2id_with_owasp_minimum_parameters(store_url):
    assert (HASHER.memory_cost, HASHER.time_cost, HASHER.parallelism) == (19456, 2, 1)
    assert hash_password("some-long-password").startswith(OWASP_PREFIX)
    make_user("dr.hash", "clinician")
    stored = get_user("dr.hash").password_hash
    assert stored.startswith(OWASP_PREFIX)
    assert PASSWORD not in stored
    assert PasswordHasher().verify(stored, PASSWORD)  # a standard argon2 hash, salted
    assert hash_password(PASSWORD) != hash_password(PASSWORD)


# --- lockout -------------------------------------------------------------------------


def test_five_failures_lock_the_account_for_the_set_time_then_it_works_again(store_url):
    settings = get_settings()
    assert (settings.lockout_failures, settings.lockout_minutes) == (5, 15)  # defaults
    make_user("dr.lock", "clinician")
    for _ in range(4):
        assert failed_sign_in("dr.lock", "wrong-password-1") == SIGN_IN_FAILED
    assert get_user("dr.lock").locked_until is None  # 4 failures: not yet
    before = audit.utcnow()
    failed_sign_in("dr.lock", "wrong-password-1")
    locked_until = get_user("dr.lock").locked_until
    assert locked_until is not None
    minutes = (locked_until.replace(tzinfo=before.tzinfo) - before).total_seconds() / 60
    assert 14.9 <= minutes <= 15.1
    # the right password is refused while locked, with the same message
    assert failed_sign_in("dr.lock", PASSWORD) == SIGN_IN_FAILED
    set_locked_until("dr.lock", audit.utcnow() - timedelta(seconds=1))  # the lock expired
    assert sign_in(username="dr.lock", password=PASSWORD).username == "dr.lock"
    user = get_user("dr.lock")
    assert (user.failed_logins, user.locked_until) == (0, None)


def test_the_lock_expires_on_the_clock(store_url, monkeypatch):
    make_user("dr.clock", "clinician")
    for _ in range(5):
        failed_sign_in("dr.clock", "wrong-password-1")
    real_now = audit.utcnow()
    monkeypatch.setattr(audit, "utcnow", lambda: real_now + timedelta(minutes=14, seconds=50))
    assert failed_sign_in("dr.clock", PASSWORD) == SIGN_IN_FAILED  # 14:50 later: still locked
    monkeypatch.setattr(audit, "utcnow", lambda: real_now + timedelta(minutes=15, seconds=10))
    assert sign_in(username="dr.clock", password=PASSWORD).username == "dr.clock"


def test_the_lockout_follows_its_settings(store_url, monkeypatch):
    monkeypatch.setenv("LOCKOUT_FAILURES", "3")
    monkeypatch.setenv("LOCKOUT_MINUTES", "60")
    get_settings.cache_clear()
    make_user("dr.strict", "clinician")
    before = audit.utcnow()
    for _ in range(3):
        failed_sign_in("dr.strict", "wrong-password-1")
    locked_until = get_user("dr.strict").locked_until
    assert locked_until is not None
    assert (locked_until.replace(tzinfo=before.tzinfo) - before).total_seconds() / 60 >= 59.9
    get_settings.cache_clear()


# --- the same answer for every failure -----------------------------------------------


def test_every_failure_gets_the_same_message(store_url):
    admin = make_user("boss", "admin")
    make_user("dr.gone", "clinician")
    make_user("dr.locked", "clinician")
    with write_session() as session:
        deactivate_user(session, actor=admin, username="dr.gone")
    set_locked_until("dr.locked", audit.utcnow() + timedelta(minutes=10))
    messages = {
        "unknown user": failed_sign_in("nobody-here", PASSWORD),
        "wrong password": failed_sign_in("dr.locked", "wrong-password-1"),
        "locked": failed_sign_in("dr.locked", PASSWORD),
        "deactivated": failed_sign_in("dr.gone", PASSWORD),
        "empty": failed_sign_in("", ""),
    }
    assert set(messages.values()) == {SIGN_IN_FAILED}
    with read_session() as session:
        actions = session.exec(select(AuditEvent.action).order_by(AuditEvent.id.desc())
                               .limit(5)).all()
    assert actions == ["sign_in_failed"] * 5  # every attempt is audited


class _CountingHasher:
    """The real hasher, counting each verification and the parameters of the hash checked."""

    def __init__(self, real: PasswordHasher) -> None:
        self.real, self.checked = real, []

    def verify(self, password_hash: str, password: str) -> bool:
        self.checked.append(extract_parameters(password_hash))
        return self.real.verify(password_hash, password)

    def __getattr__(self, name: str):
        return getattr(self.real, name)


def test_an_unknown_user_costs_the_same_password_check_as_a_wrong_password(store_url,
                                                                           monkeypatch):
    """No timing side channel: an unknown user name is checked against a dummy hash with the
    same Argon2 parameters as a real one, exactly once, like a wrong password (counted, not
    timed: a timing ratio fails on a loaded machine)."""
    import data.accounts.users as users

    make_user("dr.timed", "clinician")
    counting = _CountingHasher(users.HASHER)
    monkeypatch.setattr(users, "HASHER", counting)
    for username in ("no-such-user", "dr.timed"):
        with pytest.raises(SignInError):
            sign_in(username=username, password="wrong-password-1")
    with read_session() as session:
        real = session.exec(select(User.password_hash).where(User.username == "dr.timed")).one()
    assert counting.checked == [extract_parameters(real)] * 2


def test_a_sign_in_upgrades_a_hash_made_with_weaker_parameters(store_url):
    """Argon2 parameters raised later: the next good sign-in re-hashes (check_needs_rehash)."""
    make_user("dr.old", "clinician")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with write_session() as session:
        user = session.exec(select(User).where(User.username == "dr.old")).one()
        user.password_hash = weak
        session.add(user)
    sign_in(username="dr.old", password=PASSWORD)
    with read_session() as session:
        stored = session.exec(select(User.password_hash).where(User.username == "dr.old")).one()
    assert stored != weak
    assert extract_parameters(stored).time_cost == 2
    assert extract_parameters(stored).memory_cost == 19456


# --- server-side session timeouts (AppTest) ------------------------------------------


@pytest.fixture
def app(store_url):
    with fresh_app() as at:
        yield at


def titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def last_sign_out_reason() -> str | None:
    with read_session() as session:
        event = session.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    return event.reason if event and event.action == "sign_out" else None


@pytest.mark.parametrize(("idle_minutes", "signed_out"), [(14, False), (16, True)])
def test_an_idle_session_is_signed_out_after_15_minutes(app, idle_minutes, signed_out):
    assert get_settings().session_idle_minutes == 15
    make_user("dr.idle", "clinician")
    signed_in(app, "dr.idle")
    assert titles(app) == ["Today"]  # a clinician's start page
    app.session_state["last_seen"] = time.time() - idle_minutes * 60
    app.run()
    assert not app.exception
    if signed_out:
        assert "actor" not in app.session_state
        assert titles(app) == ["Sign in"]
        assert "inactivity" in app.info[0].value
        assert last_sign_out_reason() == "timeout"
    else:
        assert titles(app) == ["Today"]


def test_a_session_ends_after_the_absolute_limit_even_when_busy(app):
    assert get_settings().session_max_hours == 12
    make_user("dr.long", "clinician")
    signed_in(app, "dr.long")
    app.session_state["signed_in_at"] = time.time() - 12 * 3600 - 60
    app.session_state["last_seen"] = time.time()  # active a moment ago
    app.run()
    assert "actor" not in app.session_state
    assert titles(app) == ["Sign in"]
    assert last_sign_out_reason() == "timeout"


def test_the_idle_limit_is_a_setting(app, monkeypatch):
    monkeypatch.setenv("SESSION_IDLE_MINUTES", "5")
    get_settings.cache_clear()
    make_user("dr.short", "clinician")
    signed_in(app, "dr.short")
    app.session_state["last_seen"] = time.time() - 6 * 60
    app.run()
    assert titles(app) == ["Sign in"]
    get_settings.cache_clear()


# --- password change, deactivation, forced reset --------------------------------------


def test_a_changed_or_reset_password_and_a_deactivation_take_effect_at_once(store_url):
    admin = make_user("boss", "admin")
    actor = make_user("dr.change", "clinician")
    change_own_password(actor=actor, old_password=PASSWORD, new_password="my-new-password-1")
    assert failed_sign_in("dr.change", PASSWORD) == SIGN_IN_FAILED
    assert sign_in(username="dr.change", password="my-new-password-1")
    with write_session() as session:
        force_password_reset(session, actor=admin, username="dr.change",
                             temporary_password="temporary-pass-9")
    assert failed_sign_in("dr.change", "my-new-password-1") == SIGN_IN_FAILED
    assert sign_in(username="dr.change", password="temporary-pass-9")
    assert get_user("dr.change").must_change_password
    with write_session() as session:
        deactivate_user(session, actor=admin, username="dr.change")
    assert failed_sign_in("dr.change", "temporary-pass-9") == SIGN_IN_FAILED
