"""Administrators change users; users change their own password. Each change is audited
with field, old and new value, never a password or its hash."""

from __future__ import annotations

import pytest
from sqlmodel import select

from data.accounts.users import (
    SignInError,
    UserError,
    change_own_password,
    change_role,
    deactivate_user,
    force_password_reset,
    reactivate_user,
    session_check,
    sign_in,
)
from data.store.db import read_session, write_session
from models.access import SYSTEM
from models.tables import AuditEvent
from tests.factories import PASSWORD, get_user, make_user

NEW_PASSWORD = "a-brand-new-password"


@pytest.fixture
def people(store_url):
    return {"admin": make_user("boss", "admin"), "clin": make_user("dr.who", "clinician")}


def events_after(first_id: int) -> list[tuple]:
    """(action, entity, entity_id, field, old, new, reason, username) of the later events."""
    with read_session() as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.id > first_id)
                            .order_by(AuditEvent.id)).all()
    return [(e.action, e.entity, e.entity_id, e.field, e.old_value, e.new_value, e.reason,
             e.username) for e in rows]


def last_id() -> int:
    with read_session() as session:
        return session.exec(select(AuditEvent.id).order_by(AuditEvent.id.desc())).first() or 0


def admin_does(service, actor, **kwargs):
    with write_session() as session:
        return service(session, actor=actor, **kwargs)


def test_deactivate_and_reactivate_are_audited_and_block_sign_in(people):
    uid, start = str(people["clin"].user_id), last_id()
    admin_does(deactivate_user, people["admin"], username="dr.who", reason="left the clinic")
    with pytest.raises(SignInError):
        sign_in(username="dr.who", password=PASSWORD)
    admin_does(reactivate_user, people["admin"], username="dr.who", reason="came back")
    assert sign_in(username="dr.who", password=PASSWORD).username == "dr.who"
    assert events_after(start) == [
        ("update", "user", uid, "active", "true", "false", "left the clinic", "boss"),
        ("sign_in_failed", "user", uid, None, None, None, None, "dr.who"),
        ("update", "user", uid, "active", "false", "true", "came back", "boss"),
        ("sign_in", "user", uid, None, None, None, None, "dr.who"),
    ]


def test_deactivating_an_inactive_user_writes_nothing(people):
    admin_does(deactivate_user, people["admin"], username="dr.who")
    start = last_id()
    admin_does(deactivate_user, people["admin"], username="dr.who")
    assert events_after(start) == []


@pytest.mark.parametrize(("username", "message"), [
    ("boss", "you cannot deactivate your own account"),
    ("ghost", "username: no user 'ghost'"),
])
def test_deactivation_refusals(people, username, message):
    with pytest.raises(UserError, match=message):
        admin_does(deactivate_user, people["admin"], username=username)


def test_the_last_active_administrator_stays(people):
    # The command line acts as SYSTEM: it must not leave the store without an administrator.
    with pytest.raises(UserError, match="last active administrator cannot be deactivated"):
        admin_does(deactivate_user, SYSTEM, username="boss")
    with pytest.raises(UserError, match="last active administrator must stay"):
        admin_does(change_role, SYSTEM, username="boss", role="director",
                   clinic_codes=("CL1",))
    make_user("boss2", "admin")
    admin_does(deactivate_user, SYSTEM, username="boss")  # boss2 remains
    assert not get_user("boss").active


def test_a_role_and_scope_change_writes_one_event_per_changed_field(people):
    uid, start = str(people["clin"].user_id), last_id()
    admin_does(change_role, people["admin"], username="dr.who", role="director",
               clinic_codes=("CL2", "CL1"), reason="promoted")
    assert events_after(start) == [
        ("create", "clinic", "2", None, None, '{"code": "CL2", "name": "CL2"}', None, "boss"),
        ("update", "user", uid, "role", "clinician", "director", "promoted", "boss"),
        ("update", "user", uid, "clinics", '["CL1"]', '["CL1", "CL2"]', "promoted", "boss"),
    ]
    user = get_user("dr.who")
    assert (user.role, user.all_clinics) == ("director", False)


def test_an_administrator_has_no_clinic_scope(people):
    admin_does(change_role, people["admin"], username="dr.who", role="admin",
               clinic_codes=("CL1",))
    changed = [(f, old, new) for _, _, _, f, old, new, _, _ in events_after(0)[-2:]]
    assert changed == [("role", "clinician", "admin"), ("clinics", '["CL1"]', "[]")]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"username": "boss", "role": "director", "clinic_codes": ("CL1",)},
     "ask another administrator"),
    ({"username": "dr.who", "role": "director"}, "needs at least one clinic"),
    ({"username": "dr.who", "role": "superuser"}, "role: must be one of"),
])
def test_role_change_refusals(people, kwargs, message):
    with pytest.raises(UserError, match=message):
        admin_does(change_role, people["admin"], **kwargs)


def test_a_forced_reset_with_a_temporary_password(people):
    uid, start = str(people["clin"].user_id), last_id()
    temporary = "temporary-pass-123"
    admin_does(force_password_reset, people["admin"], username="dr.who",
               temporary_password=temporary, reason="forgot it")
    assert events_after(start) == [
        ("update", "user", uid, "password", None, None, "forgot it", "boss"),
        ("update", "user", uid, "must_change_password", "false", "true", "forgot it", "boss"),
    ]
    actor = sign_in(username="dr.who", password=temporary)
    with read_session() as session:
        assert session_check(session, actor=actor) == "change_password"
    kept = change_own_password(actor=actor, old_password=temporary, new_password=NEW_PASSWORD)
    with read_session() as session:
        assert session_check(session, actor=kept) == "ok"  # the session that changed it
        assert session_check(session, actor=actor) == "password_changed"  # as it was before
    assert sign_in(username="dr.who", password=NEW_PASSWORD)
    assert not get_user("dr.who").must_change_password
    everything = repr(events_after(0))
    assert temporary not in everything and NEW_PASSWORD not in everything
    assert "$argon2" not in everything


def test_changing_ones_own_password(people):
    actor, uid, start = people["clin"], str(people["clin"].user_id), last_id()
    with pytest.raises(UserError, match="current password: incorrect"):
        change_own_password(actor=actor, old_password="not-my-password", new_password=NEW_PASSWORD)
    with pytest.raises(UserError, match="at least 12 characters"):
        change_own_password(actor=actor, old_password=PASSWORD, new_password="short-11chr")
    with pytest.raises(UserError, match="must differ"):
        change_own_password(actor=actor, old_password=PASSWORD, new_password=PASSWORD)
    change_own_password(actor=actor, old_password=PASSWORD, new_password="exactly-12ch")
    assert events_after(start) == [
        ("password_change_failed", "user", uid, "password", None, None, None, "dr.who"),
        ("update", "user", uid, "password", None, None, "changed by the user", "dr.who"),
    ]
    with pytest.raises(SignInError):
        sign_in(username="dr.who", password=PASSWORD)
    assert sign_in(username="dr.who", password="exactly-12ch")


@pytest.mark.parametrize(("change", "expected"), [
    (lambda admin: admin_does(deactivate_user, admin, username="dr.who"), "ended"),
    (lambda admin: admin_does(change_role, admin, username="dr.who", role="clinician",
                              clinic_codes=("CL1", "CL2")), "ended"),
    (lambda admin: admin_does(force_password_reset, admin, username="dr.who"),
     "change_password"),
])
def test_a_signed_in_session_follows_account_changes(people, change, expected):
    actor = sign_in(username="dr.who", password=PASSWORD, session_id="tab-1")
    with read_session() as session:
        assert session_check(session, actor=actor) == "ok"
    change(people["admin"])
    with read_session() as session:
        assert session_check(session, actor=actor) == expected
