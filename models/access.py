"""Who is acting, and what they may do. Roles are enforced here, in the services,
not only by hiding pages (issue 5).

- clinician: patients, infusions, scores and alerts of their own clinic(s); outcomes.
- director: the same for the clinics in scope, protocol settings, reports, identified exports.
- auditor: read-only; audit trail; de-identified data only (never identifiers on screen).
- admin: users, clinics and backups; no clinical data on screen.
- import_data (director, admin): score and patient CSV imports (the Import page). A
  director imports into the clinics in scope; an administrator, like the command line,
  into any clinic (see `imports_everywhere`).
- patient: no account; answers the questionnaires one invitation link names (data/selfreport).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement

from models.tables import Role

PERMISSIONS: dict[str, frozenset[str]] = {
    Role.CLINICIAN: frozenset(
        {"view_patients", "edit_patients", "record_infusions", "view_alerts", "close_alerts",
         "view_outcomes"}
    ),
    Role.DIRECTOR: frozenset(
        {"view_patients", "edit_patients", "record_infusions", "view_alerts", "close_alerts",
         "view_outcomes", "edit_settings", "view_audit", "export_identified",
         "export_deidentified", "view_reports", "import_data"}
    ),
    Role.AUDITOR: frozenset(
        {"view_outcomes", "view_audit", "export_deidentified", "view_reports",
         "view_deidentified"}
    ),
    Role.ADMIN: frozenset({"manage_users", "manage_clinics", "backup", "import_data"}),
    # A patient answering through an invitation link (no account): their own questionnaires.
    "patient": frozenset({"answer_questionnaires"}),
}
# The command line acting on the whole store (init-db, seed-demo, import-scores).
PERMISSIONS["system"] = frozenset().union(*PERMISSIONS.values())


class PermissionDenied(PermissionError):
    """The acting user's role or clinic scope does not allow the action.

    Raised inside `write_session()`/`read_session()`, it is audited: the unit of work
    rolls back, then a 'denied' event is written in a transaction of its own.
    """

    def __init__(self, message: str, *, actor: Actor | None = None, permission: str = "",
                 entity: str | None = None, entity_id: object = None) -> None:
        super().__init__(message)
        self.actor, self.permission = actor, permission
        self.entity, self.entity_id = entity, entity_id


@dataclass(frozen=True)
class Actor:
    """The signed-in user as the services see them."""

    user_id: int | None
    username: str
    role: str
    clinic_ids: frozenset[int] = field(default_factory=frozenset)
    all_clinics: bool = False
    session_id: str | None = None
    # when the password this session signed in with was set (a POSIX timestamp): a
    # session whose password was changed since, elsewhere, ends (data.accounts.users.session_check)
    credentials: float | None = None

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())

    def sees_clinic(self, clinic_id: int) -> bool:
        return self.all_clinics or clinic_id in self.clinic_ids

    @property
    def scope_key(self) -> str:
        """A cache key part that separates what different users may see."""
        clinics = "all" if self.all_clinics else ",".join(map(str, sorted(self.clinic_ids)))
        return f"{self.role}:{clinics}"


def require(actor: Actor, permission: str, *, entity: str | None = None,
            entity_id: object = None, message: str | None = None) -> None:
    """Raise PermissionDenied unless the actor's role grants `permission`."""
    if not actor.can(permission):
        raise PermissionDenied(message or f"Your role ({actor.role}) may not {permission}.",
                               actor=actor, permission=permission, entity=entity,
                               entity_id=entity_id)


def require_clinic(actor: Actor, clinic_id: int, *, entity: str | None = None,
                   entity_id: object = None) -> None:
    """Raise PermissionDenied unless the clinic is in the actor's scope."""
    if not actor.sees_clinic(clinic_id):
        raise PermissionDenied("This record belongs to a clinic outside your scope.",
                               actor=actor, permission="clinic_scope", entity=entity,
                               entity_id=entity_id)


def imports_everywhere(actor: Actor) -> bool:
    """Whether an import by `actor` may write into any clinic and create clinics: all-clinic
    scope, or the role that manages clinics (an administrator, as the command line does;
    an administrator has no clinic scope of their own)."""
    return actor.all_clinics or (actor.can("import_data") and actor.can("manage_clinics"))


SYSTEM = Actor(user_id=None, username="system", role="system", all_clinics=True)
"""The command line's actor for store-level work (migrations, seed, import)."""


def scope_filter(actor: Actor, clinic_column: ColumnElement[Any],
                 clinic_ids: list[int] | None = None) -> ColumnElement[bool]:
    """A WHERE clause limiting rows to the actor's clinics (and an optional subset)."""
    if actor.all_clinics:
        return clinic_column.in_(clinic_ids) if clinic_ids else clinic_column.is_not(None)
    allowed = sorted(actor.clinic_ids if clinic_ids is None else set(clinic_ids) & actor.clinic_ids)
    return clinic_column.in_(allowed)
