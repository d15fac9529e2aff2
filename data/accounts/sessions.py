"""Server-side sign-in sessions that survive a reload (issue 12 item 1).

At sign-in the server draws a random 256-bit token; the browser keeps it in a cookie,
signed with HMAC-SHA256 under `session_secret()` (`<token>.<hmac hex>`); the store keeps
only its SHA-256 (the `user_session` row's id, also the audit trail's `session_id`).
A reload or an unloaded tab opens a new Streamlit session: `resume_session` finds the
row again from the cookie, unless it was ended (sign-out, account change) or is past the
idle or the absolute limit (the same settings as an open tab: SESSION_IDLE_MINUTES,
SESSION_MAX_HOURS). The token never appears in a URL, a log or the trail.

Services take the session keyword-only and never commit. Creating the row shares the
sign-in's transaction and audit event; ending it shares the sign-out's; a resume is
audited (`session_resume`). Touching `last_seen_at` is not audited (a heartbeat), and
happens at most every TOUCH_EVERY_SECONDS per session.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from sqlmodel import Session, or_, select

from data.accounts.users import SIGN_IN_FAILED, SignInError, actor_for, authenticate
from data.store import audit
from data.store.db import write_session
from data.store.settings import PROJECT_ROOT, get_settings
from models.access import Actor
from models.tables import User, UserSession

COOKIE_NAME = "kot_session"
TOUCH_EVERY_SECONDS = 60
USER_AGENT_MAX = 120


# --- the cookie ------------------------------------------------------------------------


def secret_path(database_url: str) -> Path:
    """Where a generated key is kept: beside a SQLite store (`<store>-session-secret`),
    else in the project's data/ folder (PostgreSQL: set SESSION_SECRET on every instance)."""
    if database_url.startswith("sqlite:///") and ":memory:" not in database_url:
        store = Path(database_url.removeprefix("sqlite:///"))
        return store.with_name(store.name + "-session-secret")
    return PROJECT_ROOT / "data" / ".session-secret"


@lru_cache(maxsize=8)
def _secret_for(configured: str, database_url: str) -> bytes:
    if configured:
        return configured.encode("utf-8")
    path = secret_path(database_url)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="ascii").strip()
        if len(key) < 32:
            raise RuntimeError(f"{path}: the session key is too short; delete the file "
                               "(every user signs in again) or set SESSION_SECRET") from None
        return key.encode("ascii")
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key.encode("ascii")


def session_secret() -> bytes:
    """The cookie signing key: SESSION_SECRET, or one generated once and kept on disk."""
    settings = get_settings()
    return _secret_for(settings.session_secret, settings.database_url)


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _mac(token: str) -> str:
    return hmac.new(session_secret(), token.encode("ascii"), hashlib.sha256).hexdigest()


def cookie_value(token: str) -> str:
    return f"{token}.{_mac(token)}"


def token_from_cookie(value: str | None) -> str | None:
    """The token of a well-formed cookie whose signature verifies, else None."""
    if not value or len(value) > 200 or value.count(".") != 1:
        return None
    token, mac = value.split(".")
    try:
        token.encode("ascii")
    except UnicodeEncodeError:
        return None
    return token if hmac.compare_digest(mac, _mac(token)) else None


# --- the rows ----------------------------------------------------------------------------


def _limits() -> tuple[timedelta, timedelta]:
    settings = get_settings()
    return (timedelta(minutes=settings.session_idle_minutes),
            timedelta(hours=settings.session_max_hours))


def _user_agent_summary(user_agent: str) -> str:
    printable = "".join(c for c in user_agent if c.isprintable())
    return printable[:USER_AGENT_MAX]


def _password_set_at(actor: Actor) -> datetime | None:
    return None if actor.credentials is None else datetime.fromtimestamp(actor.credentials, UTC)


def create_session(session: Session, *, actor: Actor, token: str, user_agent: str = "",
                   now: datetime | None = None) -> UserSession:
    """The row of a session that has just signed in (in the sign-in's transaction)."""
    now = now or audit.utcnow()
    idle, absolute = _limits()
    row = UserSession(id=token_hash(token), user_id=actor.user_id, created_at=now,
                      last_seen_at=now, idle_expires_at=now + idle,
                      absolute_expires_at=now + absolute,
                      password_set_at=_password_set_at(actor),
                      user_agent=_user_agent_summary(user_agent))
    session.add(row)
    session.flush()
    return row


def sign_in_with_session(*, username: str, password: str,
                         user_agent: str = "") -> tuple[Actor, str]:
    """Check the password and open a server-side session in one transaction: the actor
    and the token for the cookie. SignInError (same message whatever was wrong)."""
    token = new_token()
    with write_session() as session:
        actor = authenticate(session, username=username, password=password,
                             session_id=token_hash(token))
        if actor is not None:
            expire_sessions(session)  # housekeeping: the rows of tabs simply closed
            create_session(session, actor=actor, token=token, user_agent=user_agent)
    if actor is None:
        raise SignInError(SIGN_IN_FAILED)
    return actor, token


def _expired(row: UserSession, now: datetime) -> bool:
    return now >= row.idle_expires_at or now >= row.absolute_expires_at


def end_session(session: Session, *, session_id: str | None, reason: str,
                now: datetime | None = None) -> bool:
    """Mark a session ended (sign-out, timeout, account change); False when there was no
    open row. The caller audits the sign-out in the same transaction."""
    row = session.get(UserSession, session_id) if session_id else None
    if row is None or row.ended_at is not None:
        return False
    row.ended_at, row.ended_reason = now or audit.utcnow(), reason[:40]
    session.add(row)
    return True


def session_status(session: Session, *, actor: Actor, now: datetime | None = None) -> str:
    """A signed-in tab's row, read only: 'ok'; 'stale' (to touch: `last_seen_at` older than
    TOUCH_EVERY_SECONDS, or this tab changed its own password); 'ended' (signed out
    elsewhere: another tab of the same browser, an account change); 'expired' (past a
    limit on the server's clock). A tab signed in without a row (tests) is 'ok'."""
    row = session.get(UserSession, actor.session_id) if actor.session_id else None
    if row is None:
        return "ok"
    if row.ended_at is not None:
        return "ended"
    now = now or audit.utcnow()
    if _expired(row, now):
        return "expired"
    if (now - row.last_seen_at).total_seconds() >= TOUCH_EVERY_SECONDS or not _same_time(
            row.password_set_at, _password_set_at(actor)):
        return "stale"
    return "ok"


def touch_session(session: Session, *, actor: Actor, now: datetime | None = None) -> str:
    """When the row is 'stale': move its `last_seen_at` and idle expiry (a heartbeat, not
    audited) and note the password this tab holds. Returns `session_status` as it was."""
    now = now or audit.utcnow()
    status = session_status(session, actor=actor, now=now)
    if status != "stale":
        return status
    row = session.get(UserSession, actor.session_id)
    if row is None:
        return status
    idle, _ = _limits()
    row.last_seen_at = now
    row.idle_expires_at = min(now + idle, row.absolute_expires_at)
    row.password_set_at = _password_set_at(actor)  # this tab changed its own password
    session.add(row)
    return status


def resume_session(session: Session, *, token: str, now: datetime | None = None,
                   ) -> tuple[Actor, UserSession] | None:
    """A reloaded tab's session from its cookie's token, or None (unknown, ended, past a
    limit, account deactivated or password changed since: such a row is ended here,
    audited `sign_out` with the reason). A resume is audited `session_resume`."""
    now = now or audit.utcnow()
    row = session.get(UserSession, token_hash(token))
    if row is None or row.ended_at is not None:
        return None
    user = session.get(User, row.user_id)
    actor = actor_for(session, user, row.id)
    reason = None
    if _expired(row, now):
        reason = "timeout"
    elif not user.active:
        reason = "account changed"
    elif not _same_time(row.password_set_at, user.password_changed_at):
        reason = "password changed"
    if reason:
        end_session(session, session_id=row.id, reason=reason, now=now)
        audit.record(session, actor=actor, action="sign_out", entity="user",
                     entity_id=user.id, reason=reason)
        return None
    idle, _ = _limits()
    row.last_seen_at = now
    row.idle_expires_at = min(now + idle, row.absolute_expires_at)
    session.add(row)
    audit.record(session, actor=actor, action="session_resume", entity="user",
                 entity_id=user.id)
    return actor, row


def _same_time(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a.timestamp() - b.timestamp()) < 0.001


def expire_sessions(session: Session, *, now: datetime | None = None) -> int:
    """End every open row past a limit (reason timeout), e.g. from a nightly job; the
    rows of tabs that were unloaded (every sign-in runs it). Not audited per row: the
    user was not there."""
    now = now or audit.utcnow()
    rows = session.exec(select(UserSession).where(
        UserSession.ended_at.is_(None),
        or_(UserSession.idle_expires_at <= now, UserSession.absolute_expires_at <= now))).all()
    for row in rows:
        row.ended_at, row.ended_reason = now, "timeout"
        session.add(row)
    return len(rows)
