"""Role x action: what each role may do, enforced in the services (not only by hiding
pages), and every refusal audited as a 'denied' event naming the missing permission.

To cover a new service, write a function `action(actor)` calling it the way its page or
command does (inside `write_session()`/`read_session()`), and add a row to MATRIX with
the hand-decided answer for each role and the permission a refusal must name.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlmodel import func, select

from data.access import Actor, PermissionDenied
from data.audit_queries import (
    AuditFilter,
    export_events_csv,
    record_history,
    search_events,
    verify_trail,
)
from data.db import read_session, write_session
from data.observations import load_observations
from data.overview import search_patients
from data.protocol import update_protocol
from data.users import (
    change_own_password,
    change_role,
    create_user,
    deactivate_user,
    force_password_reset,
    list_users,
)
from models.tables import AuditEvent
from tests.factories import PASSWORD, make_user

ROLES = ("clinician", "director", "auditor", "admin")


def _write(service: Callable, **kwargs) -> Callable[[Actor], object]:
    def run(actor: Actor) -> object:
        with write_session() as session:
            return service(session, actor=actor, **kwargs)
    return run


def _read(service: Callable, **kwargs) -> Callable[[Actor], object]:
    def run(actor: Actor) -> object:
        with read_session() as session:
            return service(session, actor=actor, **kwargs)
    return run


ACTIONS: dict[str, Callable[[Actor], object]] = {
    "create user": _write(create_user, username="new.user", password=PASSWORD,
                          role="clinician", clinic_codes=("CL1",)),
    "list users": _read(list_users),
    "deactivate a user": _write(deactivate_user, username="target.user"),
    "change a role": _write(change_role, username="target.user", role="director",
                            clinic_codes=("CL1",)),
    "force a password reset": _write(force_password_reset, username="target.user"),
    "update protocol settings": _write(update_protocol, changes={"induction_length": 8}),
    "search patients": _read(search_patients),
    "load observations": lambda actor: load_observations(actor=actor),
    "view the audit trail": _read(search_events, filters=AuditFilter()),
    "rebuild a record's history": _read(record_history, entity="user", entity_id="1"),
    "export the audit trail": _write(export_events_csv, filters=AuditFilter()),
    "verify the chain": _read(verify_trail),
    "change own password": lambda actor: change_own_password(
        actor=actor, old_password=PASSWORD, new_password="a-brand-new-password"),
}

Y, N = True, False
MATRIX = [
    # action                      clinician director auditor admin  permission refused
    ("create user",                 N, N, N, Y, "manage_users"),
    ("list users",                  N, N, N, Y, "manage_users"),
    ("deactivate a user",           N, N, N, Y, "manage_users"),
    ("change a role",               N, N, N, Y, "manage_users"),
    ("force a password reset",      N, N, N, Y, "manage_users"),
    ("update protocol settings",    N, Y, N, N, "edit_settings"),
    ("search patients",             Y, Y, N, N, "view_patients"),
    ("load observations",           Y, Y, Y, N, "view_outcomes"),
    ("view the audit trail",        N, Y, Y, N, "view_audit"),
    ("rebuild a record's history",  N, Y, Y, N, "view_audit"),
    ("export the audit trail",      N, Y, Y, N, "view_audit"),
    ("verify the chain",            N, Y, Y, N, "view_audit"),
    ("change own password",         Y, Y, Y, Y, None),
]
CASES = [
    pytest.param(action, role, allowed[i], permission, id=f"{role}-{action}")
    for action, *allowed, permission in MATRIX
    for i, role in enumerate(ROLES)
]


def test_every_action_has_a_row():
    assert sorted(ACTIONS) == sorted(row[0] for row in MATRIX)


def _events() -> list[AuditEvent]:
    with read_session() as session:
        return list(session.exec(select(AuditEvent).order_by(AuditEvent.id)).all())


@pytest.fixture
def actors(store_url) -> dict[str, Actor]:
    make_user("target.user", "clinician")
    return {role: make_user(f"the.{role}", role) for role in ROLES}


@pytest.mark.parametrize("action, role, allowed, permission", CASES)
def test_role_may_or_may_not(actors, action, role, allowed, permission):
    actor = actors[role]
    before = len(_events())
    if allowed:
        ACTIONS[action](actor)
        assert "denied" not in [e.action for e in _events()[before:]]
        return
    with pytest.raises(PermissionDenied):
        ACTIONS[action](actor)
    written = _events()[before:]
    assert len(written) == 1  # the refused unit of work rolled back; only its denial stays
    denied = written[0]
    assert (denied.action, denied.user_id, denied.username, denied.reason) == (
        "denied", actor.user_id, f"the.{role}", permission)


def test_a_refused_change_changes_nothing(actors):
    with pytest.raises(PermissionDenied):
        ACTIONS["deactivate a user"](actors["director"])
    with read_session() as session:
        users = {u["username"]: u for u in list_users(session, actor=actors["admin"])}
        n_updates = session.exec(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "update")).one()
    assert users["target.user"]["active"] is True
    assert n_updates == 0
