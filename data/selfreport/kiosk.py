"""The kiosk at the chair: the clinician hands the tablet to the patient for one saved
infusion's pre or post questionnaires (an invitation of channel "kiosk" that never leaves
the tab), and takes it back with their own password.

Unlocking checks the signed-in clinician's password with data.accounts.users.authenticate (so a
wrong password is audited as 'sign_in_failed' and counts towards the account lock-out) and
audits 'kiosk_unlock'; an unanswered hand-over is revoked at unlock."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from data.accounts.users import authenticate
from data.selfreport.invitations import KIOSK_HOURS, create_invitation, revoke_invitation
from data.store import audit
from data.store.db import write_session
from models.access import Actor, require
from models.schemas import InputError
from models.tables import Invitation


def start_kiosk(session: Session, *, actor: Actor, patient_id: int, instruments: Sequence[str],
                occasion: str, infusion_number: int) -> tuple[Invitation, str]:
    """A kiosk hand-over for pre or post of a saved infusion (valid KIOSK_HOURS)."""
    require(actor, "record_infusions", entity="invitation")
    if occasion not in ("pre", "post"):
        raise InputError([("occasion", "pre or post (at the chair)")])
    return create_invitation(session, actor=actor, patient_id=patient_id,
                             instruments=instruments, occasion=occasion,
                             infusion_number=infusion_number, expires_hours=KIOSK_HOURS,
                             channel="kiosk")


def unlock_kiosk(*, actor: Actor, password: str, invitation_id: int | None) -> bool:
    """True when `password` is the signed-in clinician's (its own transaction, so a failed
    attempt's audit event commits); an unanswered hand-over is revoked then."""
    with write_session() as session:
        ok = authenticate(session, username=actor.username, password=password or "",
                          session_id=actor.session_id) is not None
        if not ok:
            audit.record(session, actor=actor, action="kiosk_unlock_failed",
                         entity="invitation", entity_id=invitation_id)
            return False
        inv = session.get(Invitation, invitation_id) if invitation_id else None
        if inv is not None and inv.completed_at is None and inv.revoked_at is None:
            revoke_invitation(session, actor=actor, invitation_id=inv.id)
        audit.record(session, actor=actor, action="kiosk_unlock", entity="invitation",
                     entity_id=invitation_id, patient_id=inv.patient_id if inv else None)
    return True
