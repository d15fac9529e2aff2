"""Users, clinics and sign-in.

Passwords: argon2id with OWASP's minimum parameters (19 MiB, 2 iterations, 1 lane).
Sign-in gives the same message, with similar timing, for an unknown user, a wrong
password, a deactivated or a locked account; failures lock the account for a while.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, func, select

from data.accounts.passwords import password_problem
from data.store import audit
from data.store.clinic_time import default_time_zone
from data.store.db import write_session
from data.store.settings import get_settings
from models.access import Actor, require
from models.tables import ROLES, Clinic, Role, User, UserClinic
from models.validation import NAME_MAX, clinic_code_problem, text_problem

HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_DUMMY_HASH = HASHER.hash("not-a-real-password")
USERNAME_RE = re.compile(r"^[A-Za-z0-9._-]{3,80}$")
CLINIC_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")  # models.validation
SIGN_IN_FAILED = "Sign-in failed: unknown username, wrong password, or a locked account."


class UserError(ValueError):
    """Bad input for a user or clinic (message names the field and the rule)."""


class SignInError(Exception):
    """Sign-in refused; the message never says which part was wrong."""


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def check_password_rule(password: str, *, username: str = "", full_name: str = "") -> None:
    """The password rule of data/accounts/passwords.py (length, common and context-specific
    passwords; NIST SP 800-63B): UserError naming the rule."""
    if problem := password_problem(password, username=username, full_name=full_name):
        raise UserError(problem)
    if len(password) > 256:
        raise UserError("password: must be at most 256 characters")


def count_users(session: Session) -> int:
    return session.exec(select(func.count()).select_from(User)).one()


def case_variants(session: Session, codes: set[str]) -> dict[str, str]:
    """Codes of `codes` that differ only in case from a stored clinic's code -> that code
    (a case variant must not silently become a second clinic)."""
    lowered = {c.lower(): c for c in codes}
    stored = session.exec(select(Clinic.code).where(func.lower(Clinic.code).in_(lowered))).all()
    by_lower = {s.lower(): s for s in stored}
    return {c: by_lower[c.lower()] for c in codes
            if c.lower() in by_lower and by_lower[c.lower()] != c}


def case_variant_problem(code: str, stored: str) -> str:
    return (f"'{code}' differs only in case from the clinic '{stored}'; write '{stored}' "
            "(clinic codes are unique whatever their case)")


def get_or_create_clinic(session: Session, *, actor: Actor, code: str, name: str = "") -> Clinic:
    """The clinic with `code`, created (and audited) when missing."""
    code = code.strip()
    if problem := clinic_code_problem(code):
        raise UserError(f"clinic: {problem}")
    clinic = session.exec(select(Clinic).where(Clinic.code == code)).first()
    if clinic is None and (variant := case_variants(session, {code}).get(code)):
        raise UserError(f"clinic: {case_variant_problem(code, variant)}")
    if clinic is None:
        if problem := text_problem(name.strip(), limit=NAME_MAX):
            raise UserError(f"clinic name: {problem}")
        clinic = Clinic(code=code, name=name.strip() or code, created_at=audit.utcnow(),
                        time_zone=default_time_zone())
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
    if problem := text_problem(full_name.strip(), limit=NAME_MAX):
        raise UserError(f"full name: {problem}")
    check_password_rule(password, username=username, full_name=full_name)
    if session.exec(select(User).where(User.username == username)).first():
        raise UserError(f"username: '{username}' is already taken")
    if role in (Role.CLINICIAN, Role.DIRECTOR) and not clinic_codes and not all_clinics:
        raise UserError("clinic: a clinician or director needs at least one clinic")
    clinics = [get_or_create_clinic(session, actor=actor, code=c) for c in clinic_codes]
    user = User(username=username, full_name=full_name.strip(), password_hash=hash_password(password),
                role=role, all_clinics=all_clinics, created_at=audit.utcnow(),
                password_changed_at=_password_set_now())
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
                 session_id=session_id, credentials=_credentials(user))


def _credentials(user: User) -> float | None:
    changed = user.password_changed_at
    return changed.timestamp() if changed is not None else None


def _password_set_now() -> datetime:
    """When a password is set, to the microsecond (two changes in one second differ)."""
    return datetime.now(UTC)


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
    if HASHER.check_needs_rehash(user.password_hash):  # parameters raised since it was made
        user.password_hash = HASHER.hash(password)
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
         "clinics": "all" if u.all_clinics else ", ".join(sorted(scope.get(u.id, []))),
         "all_clinics": u.all_clinics, "must_change_password": u.must_change_password}
        for u in session.exec(select(User).order_by(User.username)).all()
    ]


# --- Administrators change users; users change their own password (each audited) ---------


def _user_named(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username.strip())).first()
    if user is None:
        raise UserError(f"username: no user '{username.strip()}'")
    return user


def _admin_target(session: Session, actor: Actor, username: str, what: str) -> User:
    require(actor, "manage_users", entity="user", message=f"Only an administrator can {what}.")
    return _user_named(session, username)


def _is_last_active_admin(session: Session, user: User) -> bool:
    if user.role != Role.ADMIN or not user.active:
        return False
    others = session.exec(select(func.count()).select_from(User).where(
        User.role == Role.ADMIN, User.active, User.id != user.id)).one()
    return others == 0


def set_user_active(session: Session, *, actor: Actor, username: str, active: bool,
                    reason: str | None = None) -> User:
    """Deactivate (cannot sign in; history kept) or reactivate a user (administrators)."""
    user = _admin_target(session, actor, username, "deactivate or reactivate users")
    if user.active == active:
        return user
    if not active and user.id == actor.user_id:
        raise UserError("active: you cannot deactivate your own account")
    if not active and _is_last_active_admin(session, user):
        raise UserError("active: the last active administrator cannot be deactivated")
    user.active = active
    if active:
        user.failed_logins, user.locked_until = 0, None
    session.add(user)
    audit.record(session, actor=actor, action="update", entity="user", entity_id=user.id,
                 field="active", old=not active, new=active, reason=reason)
    return user


def deactivate_user(session: Session, *, actor: Actor, username: str,
                    reason: str | None = None) -> User:
    return set_user_active(session, actor=actor, username=username, active=False, reason=reason)


def reactivate_user(session: Session, *, actor: Actor, username: str,
                    reason: str | None = None) -> User:
    return set_user_active(session, actor=actor, username=username, active=True, reason=reason)


def _clinic_codes(session: Session, user_id: int) -> list[str]:
    return sorted(session.exec(select(Clinic.code).join(UserClinic, UserClinic.clinic_id == Clinic.id)
                               .where(UserClinic.user_id == user_id)).all())


def change_role(session: Session, *, actor: Actor, username: str, role: str,
                clinic_codes: tuple[str, ...] = (), all_clinics: bool = False,
                reason: str | None = None) -> User:
    """Change a user's role and clinic scope; one audit event per changed field."""
    user = _admin_target(session, actor, username, "change roles")
    if role not in ROLES:
        raise UserError(f"role: must be one of {', '.join(ROLES)}")
    codes = sorted({c.strip() for c in clinic_codes if c.strip()})
    if role == Role.ADMIN:  # administrators see no clinical data: no clinic scope
        codes, all_clinics = [], False
    if role in (Role.CLINICIAN, Role.DIRECTOR) and not codes and not all_clinics:
        raise UserError("clinic: a clinician or director needs at least one clinic")
    if user.id == actor.user_id and role != user.role:
        raise UserError("role: ask another administrator to change your own role")
    if role != Role.ADMIN and _is_last_active_admin(session, user):
        raise UserError("role: the last active administrator must stay an administrator")
    old_codes = _clinic_codes(session, user.id)
    clinics = [get_or_create_clinic(session, actor=actor, code=c) for c in codes]
    changes = [(f, old, new) for f, old, new in (
        ("role", user.role, role), ("clinics", old_codes, codes),
        ("all_clinics", user.all_clinics, all_clinics)) if old != new]
    if not changes:
        return user
    for link in session.exec(select(UserClinic).where(UserClinic.user_id == user.id)).all():
        session.delete(link)
    session.flush()
    session.add_all(UserClinic(user_id=user.id, clinic_id=c.id) for c in clinics)
    user.role, user.all_clinics = role, all_clinics
    session.add(user)
    audit.record_changes(session, actor=actor, action="update", entity="user",
                         entity_id=user.id, changes=changes, reason=reason)
    return user


def force_password_reset(session: Session, *, actor: Actor, username: str,
                         temporary_password: str | None = None,
                         reason: str | None = None) -> User:
    """Make a user change their password at next sign-in; optionally set a temporary one
    (audited as a change of 'password' with no value: never the password or its hash)."""
    user = _admin_target(session, actor, username, "force a password reset")
    if temporary_password:
        check_password_rule(temporary_password, username=user.username,
                            full_name=user.full_name)
        user.password_hash = hash_password(temporary_password)
        user.password_changed_at = _password_set_now()
        user.failed_logins, user.locked_until = 0, None
        audit.record(session, actor=actor, action="update", entity="user", entity_id=user.id,
                     field="password", reason=reason or "temporary password set")
    if not user.must_change_password:
        audit.record(session, actor=actor, action="update", entity="user", entity_id=user.id,
                     field="must_change_password", old=False, new=True, reason=reason)
    user.must_change_password = True
    session.add(user)
    return user


def change_own_password(*, actor: Actor, old_password: str, new_password: str) -> Actor:
    """The signed-in user changes their password (its own transaction, so a wrong current
    password's audit event commits); raises UserError naming the field. Returns the
    actor for this session (it keeps going); the user's other sessions end at their next
    run (session_check)."""
    with write_session() as session:
        problem = _change_password(session, actor, old_password, new_password)
        if not problem:
            credentials = _credentials(session.get(User, actor.user_id))
    if problem:
        raise UserError(problem)
    return replace(actor, credentials=credentials)


def _change_password(session: Session, actor: Actor, old_password: str,
                     new_password: str) -> str | None:
    user = session.get(User, actor.user_id) if actor.user_id else None
    if user is None or not user.active:
        raise UserError("account: not found or deactivated")
    check_password_rule(new_password, username=user.username, full_name=user.full_name)
    if not _verify(user.password_hash, old_password):
        audit.record(session, actor=actor, action="password_change_failed", entity="user",
                     entity_id=user.id, field="password")
        return "current password: incorrect"
    if new_password == old_password:
        raise UserError("new password: must differ from the current password")
    user.password_hash = hash_password(new_password)
    user.password_changed_at = _password_set_now()
    audit.record(session, actor=actor, action="update", entity="user", entity_id=user.id,
                 field="password", reason="changed by the user")
    if user.must_change_password:
        user.must_change_password = False
        audit.record(session, actor=actor, action="update", entity="user", entity_id=user.id,
                     field="must_change_password", old=True, new=False)
    session.add(user)
    return None


def session_check(session: Session, *, actor: Actor) -> str:
    """For a signed-in browser session, on every run: 'ended' when the account was
    deactivated or its role or scope changed since sign-in, 'password_changed' when its
    password was set since this session signed in (by the user in another session, or a
    temporary one by an administrator), 'change_password' when the user must change it
    first, else 'ok'."""
    user = session.get(User, actor.user_id) if actor.user_id else None
    if user is None or not user.active:
        return "ended"
    now_actor = actor_for(session, user, actor.session_id)
    if (now_actor.role, now_actor.all_clinics, now_actor.clinic_ids) != (
            actor.role, actor.all_clinics, actor.clinic_ids):
        return "ended"
    if actor.credentials is not None and now_actor.credentials != actor.credentials:
        return "password_changed"
    return "change_password" if user.must_change_password else "ok"
