"""Issue 12: server-side sessions (data/accounts/sessions.py). Expected values by hand: the row id
is SHA-256 of the token (hashlib), the cookie is `<token>.<HMAC-SHA256(secret, token)>`,
the idle expiry is the last activity + 15 min, the absolute one sign-in + 12 h."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from data.accounts import sessions
from data.accounts.sessions import (
    cookie_value,
    end_session,
    expire_sessions,
    resume_session,
    session_secret,
    session_status,
    sign_in_with_session,
    token_from_cookie,
    touch_session,
)
from data.accounts.users import SignInError, change_own_password, deactivate_user
from data.store.db import read_session, write_session
from data.store.settings import get_settings
from models.tables import AuditEvent, UserSession
from tests.factories import PASSWORD, make_user


@pytest.fixture
def clin(store_url):
    return make_user("dr.sess", "clinician", ("CL1",))


def _row(session_id: str) -> UserSession:
    with read_session() as session:
        return session.get(UserSession, session_id)


def _events(action: str) -> list[AuditEvent]:
    with read_session() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)
                                 .order_by(AuditEvent.id)).all())


def test_sign_in_stores_only_the_hash_and_the_limits(clin):
    actor, token = sign_in_with_session(username="dr.sess", password=PASSWORD,
                                        user_agent="Mozilla/5.0 (iPad)\x00")
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    expected_id = hashlib.sha256(token.encode()).hexdigest()
    assert actor.session_id == expected_id
    row = _row(expected_id)
    assert row.user_id == clin.user_id and row.ended_at is None
    assert row.idle_expires_at - row.created_at == timedelta(minutes=15)
    assert row.absolute_expires_at - row.created_at == timedelta(hours=12)
    assert row.user_agent == "Mozilla/5.0 (iPad)"  # the NUL dropped
    sign_in_event = _events("sign_in")[-1]
    assert sign_in_event.session_id == expected_id
    with read_session() as session:  # the token itself is stored nowhere
        for model in (UserSession, AuditEvent):
            for obj in session.exec(select(model)).all():
                assert token not in repr(obj.model_dump())


def test_a_wrong_password_opens_no_session(clin):
    with pytest.raises(SignInError):
        sign_in_with_session(username="dr.sess", password="wrong-password-1")
    with read_session() as session:
        assert session.exec(select(UserSession)).all() == []


def test_the_cookie_is_signed(clin, monkeypatch):
    monkeypatch.setenv("SESSION_SECRET", "k" * 64)  # no key file in the project folder
    get_settings.cache_clear()
    token = "A" * 43
    mac = hmac.new(session_secret(), token.encode(), hashlib.sha256).hexdigest()
    assert cookie_value(token) == f"{token}.{mac}"
    assert token_from_cookie(f"{token}.{mac}") == token
    for forged in (f"B{token[1:]}.{mac}", f"{token}.{'0' * 64}", token, f"{token}.{mac}.x",
                   "", None, f"{token}é.{mac}", "x" * 300):
        assert token_from_cookie(forged) is None, forged
    get_settings.cache_clear()


def test_a_generated_secret_is_kept_beside_the_store_and_reused(store_url):
    if not store_url.startswith("sqlite"):
        pytest.skip("the key file of a PostgreSQL store is data/.session-secret (project)")
    path = sessions.secret_path(store_url)
    assert path == Path(store_url.removeprefix("sqlite:///") + "-session-secret")
    sessions._secret_for.cache_clear()
    first = session_secret()
    assert len(first) == 64 and path.exists()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    sessions._secret_for.cache_clear()
    assert session_secret() == first  # read back, not drawn again


def test_a_configured_secret_wins(store_url, monkeypatch):
    monkeypatch.setenv("SESSION_SECRET", "x" * 40)
    get_settings.cache_clear()
    assert session_secret() == b"x" * 40
    get_settings.cache_clear()


def _open(clin_name: str = "dr.sess"):
    actor, token = sign_in_with_session(username=clin_name, password=PASSWORD)
    return actor, token, _row(actor.session_id)


@pytest.mark.parametrize(("minutes", "resumed"), [(14, True), (16, False)])
def test_a_reload_resumes_until_the_idle_limit(clin, minutes, resumed):
    actor, token, row = _open()
    with write_session() as session:
        result = resume_session(session, token=token,
                                now=row.created_at + timedelta(minutes=minutes))
    if resumed:
        again, again_row = result
        assert (again.user_id, again.session_id, again.role) == (
            actor.user_id, actor.session_id, "clinician")
        assert again_row.idle_expires_at == row.created_at + timedelta(minutes=14 + 15)
        assert [e.session_id for e in _events("session_resume")] == [actor.session_id]
    else:
        assert result is None
        ended = _row(actor.session_id)
        assert ended.ended_reason == "timeout" and ended.ended_at is not None
        assert _events("sign_out")[-1].reason == "timeout"


def test_the_absolute_limit_holds_however_busy(clin):
    actor, token, row = _open()
    moment = row.created_at
    for _ in range(12 * 4):  # active every 15 minutes... minus a few seconds
        moment += timedelta(minutes=14, seconds=59)
        with write_session() as session:
            if moment >= row.created_at + timedelta(hours=12):
                break
            assert touch_session(session, actor=actor, now=moment) in ("ok", "stale")
    with write_session() as session:
        assert resume_session(session, token=token,
                              now=row.created_at + timedelta(hours=12, seconds=1)) is None
    assert _row(actor.session_id).ended_reason == "timeout"


def test_sign_out_ends_the_row_and_a_reload_finds_nothing(clin):
    actor, token, _ = _open()
    with write_session() as session:
        assert end_session(session, session_id=actor.session_id, reason="sign_out")
        assert not end_session(session, session_id=actor.session_id, reason="sign_out")
    with write_session() as session:
        assert resume_session(session, token=token) is None
        assert session_status(session, actor=actor) == "ended"


def test_a_password_changed_elsewhere_or_a_deactivation_ends_it(clin):
    admin = make_user("boss", "admin")
    _, token_a, _ = _open()
    change_own_password(actor=clin, old_password=PASSWORD, new_password="another-long-phrase-9")
    with write_session() as session:
        assert resume_session(session, token=token_a) is None
    assert _events("sign_out")[-1].reason == "password changed"
    _actor_b, token_b = sign_in_with_session(username="dr.sess",
                                            password="another-long-phrase-9")
    with write_session() as session:
        deactivate_user(session, actor=admin, username="dr.sess")
    with write_session() as session:
        assert resume_session(session, token=token_b) is None
    assert _events("sign_out")[-1].reason == "account changed"


def test_touching_moves_the_idle_expiry_at_most_once_a_minute(clin):
    actor, _, row = _open()
    with write_session() as session:
        assert touch_session(session, actor=actor, now=row.created_at + timedelta(seconds=30)) \
            == "ok"
    assert _row(actor.session_id).last_seen_at == row.created_at  # not a minute yet
    later = row.created_at + timedelta(minutes=5)
    with write_session() as session:
        assert touch_session(session, actor=actor, now=later) == "stale"
    assert _row(actor.session_id).idle_expires_at == later + timedelta(minutes=15)
    with read_session() as session:
        assert session_status(session, actor=actor,
                              now=later + timedelta(minutes=15)) == "expired"


def test_expire_sessions_ends_the_rows_of_unloaded_tabs(clin):
    _, _, row = _open()
    actor2, _, _ = _open()
    with write_session() as session:
        touch_session(session, actor=actor2, now=row.created_at + timedelta(minutes=10))
    with write_session() as session:
        assert expire_sessions(session, now=row.created_at + timedelta(minutes=16)) == 1
    assert _row(row.id).ended_reason == "timeout"
    assert _row(actor2.session_id).ended_at is None
