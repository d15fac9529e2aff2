"""Users, clinics and sign-in.

Passwords: argon2id with OWASP's minimum parameters (19 MiB, 2 iterations, 1 lane).
Sign-in gives the same message, with similar timing, for an unknown user, a wrong
password, a deactivated or a locked account; failures lock the account for a while.
"""

from __future__ import annotations

import re
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, func, select

from data import audit
from data.access import Actor, require
from data.db import write_session
from data.settings import get_settings
from models.tables import ROLES, Clinic, User, UserClinic

HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_DUMMY_HASH = HASHER.hash("not-a-real-password")
USERNAME_RE = re.compile(r"^[A-Za-z0-9._-]{3,80}$")
CLINIC_CODE_RE = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
MIN_PASSWORD = 12
SIGN_IN_FAILED = "Sign-in failed: unknown username, wrong password, or a locked account."


class UserError(ValueError):
    """Bad input for a user or clinic (message names the field and the rule)."""


class SignInError(Exception):
    """Sign-in refused; the message never says which part was wrong."""


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def check_password_rule(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password: must be at least {MIN_PASSWORD} characters")
    if len(password) > 256:
        raise UserError("password: must be at most 256 characters")


def count_users(session: Session) -> int:
    return session.exec(select(func.count()).select_from(User)).one()


def get_or_create_clinic(session: Session, *, actor: Actor, code: str, name: str = "") -> Clinic:
    """The clinic with `code`, created (and audited) when missing."""
    code = code.strip()
    if not CLINIC_CODE_RE.match(code):
        raise UserError("clinic: code must be 1-40 letters, digits, '.', '_' or '-'")
    clinic = session.exec(select(Clinic).where(Clinic.code == code)).first()
    if clinic is None:
        clinic = Clinic(code=code, name=name.strip() or code, created_at=audit.utcnow())
        session.add(clinic)
        session.flush()
        audit.record(session, actor=actor, action="create", entity="clinic",
                     entity_id=clinic.id, new={"code": code, "name": clinic.name})
    return clinic


def create_user(
    session: Session, *, actor: Actor, username: str, password: str, role: str,
    clinic_codes: tuple[str, ...] = (), all_clinics: bool = False, full_name: str = "",
) -> User:
    """Validate, then create a user with their clinic scope (admins only, or the first user)."""
    first_user = count_users(session) == 0
    if not first_user:
        require(actor, "manage_users", entity="user",
                message="Only an administrator can create users.")
    username = username.strip()
    if not USERNAME_RE.match(username):
        raise UserError("username: 3-80 letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise UserError(f"role: must be one of {', '.join(ROLES)}")
    check_password_rule(password)
    if session.exec(select(User).where(User.username == username)).first():
        raise UserError(f"username: '{username}' is already taken")
    if role in ("clinician", "director") and not clinic_codes and not all_clinics:
        raise UserError("clinic: a clinician or director needs at least one clinic")
    clinics = [get_or_create_clinic(session, actor=actor, code=c) for c in clinic_codes]
    user = User(username=username, full_name=full_name.strip(), password_hash=hash_password(password),
                role=role, all_clinics=all_clinics, created_at=audit.utcnow(),
                password_changed_at=audit.utcnow())
    session.add(user)
    session.flush()
    for clinic in clinics:
        session.add(UserClinic(user_id=user.id, clinic_id=clinic.id))
    audit.record(session, actor=actor, action="create", entity="user", entity_id=user.id,
                 new={"username": username, "role": role, "clinics": list(clinic_codes),
                      "all_clinics": all_clinics})
    return user


def actor_for(session: Session, user: User, session_id: str | None = None) -> Actor:
    clinic_ids = session.exec(select(UserClinic.clinic_id).where(UserClinic.user_id == user.id)).all()
    return Actor(user_id=user.id, username=user.username, role=user.role,
                 clinic_ids=frozenset(clinic_ids), all_clinics=user.all_clinics,
                 session_id=session_id)


def sign_in(*, username: str, password: str, session_id: str | None = None) -> Actor:
    """Sign a user in (its own transaction, so a failure's audit event and lock commit)."""
    with write_session() as session:
        actor = authenticate(session, username=username, password=password,
                             session_id=session_id)
    if actor is None:
        raise SignInError(SIGN_IN_FAILED)
    return actor


def authenticate(session: Session, *, username: str, password: str,
                 session_id: str | None = None) -> Actor | None:
    """Check a sign-in; audit success and failure; lock after repeated failures."""
    settings = get_settings()
    user = session.exec(select(User).where(User.username == username.strip())).first()
    now = audit.utcnow()
    ok = _verify(user.password_hash if user else _DUMMY_HASH, password)
    who = Actor(user_id=user.id if user else None, username=username.strip()[:80],
                role=user.role if user else "unknown", session_id=session_id)
    usable = user is not None and user.active and not (user.locked_until and user.locked_until > now)
    if not (ok and usable):
        if user is not None and user.active:
            user.failed_logins += 1
            if user.failed_logins >= settings.lockout_failures:
                user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
                user.failed_logins = 0
            session.add(user)
        audit.record(session, actor=who, action="sign_in_failed", entity="user",
                     entity_id=user.id if user else None)
        return None
    user.failed_logins, user.locked_until = 0, None
    session.add(user)
    audit.record(session, actor=who, action="sign_in", entity="user", entity_id=user.id)
    return actor_for(session, user, session_id)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def list_users(session: Session, *, actor: Actor) -> list[dict]:
    """Every user with their clinic scope (administrators only)."""
    require(actor, "manage_users", entity="user", message="Only an administrator can list users.")
    scope = {}
    for user_id, code in session.exec(
        select(UserClinic.user_id, Clinic.code).join(Clinic, Clinic.id == UserClinic.clinic_id)
    ).all():
        scope.setdefault(user_id, []).append(code)
    return [
        {"username": u.username, "full_name": u.full_name, "role": u.role, "active": u.active,
         "clinics": "all" if u.all_clinics else ", ".join(sorted(scope.get(u.id, [])))}
        for u in session.exec(select(User).order_by(User.username)).all()
    ]
