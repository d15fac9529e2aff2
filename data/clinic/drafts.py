"""Unsaved forms kept server-side (issue 12 item 1): a half-entered infusion survives a
reload, an idle sign-out or an unloaded tab, and is offered back to the same user for
the same patient after signing in again.

A draft holds PHI (answers, vitals, notes): it lives in the store only (never a file, a
cookie or the browser's storage), is read and written by its author only (and only while
the patient's clinic is in their scope), is deleted when the form is saved or discarded,
and is deleted after DRAFT_DAYS (setting, 7 days) by every save and load.

Audit: the first save of a draft (`draft_save`) and a discard on request
(`draft_discard`) are audited; later saves of the same draft are not (a draft is a
scratch copy of a form, saved on every change; the infusion, when saved, is audited as
always). Deleting a draft together with the save it became is part of that save.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select

from data.clinic.patients import get_patient
from data.store import audit
from data.store.settings import get_settings
from models.access import Actor, require
from models.tables import Draft, Patient
from models.validation import InputError

DRAFT_KINDS = ("infusion",)
PAYLOAD_MAX_BYTES = 64_000
KEY_MAX = 120


class DraftError(InputError):
    """A draft that cannot be kept (names the field and the rule)."""


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


def _check(kind: str, payload: dict) -> None:
    problems = []
    if kind not in DRAFT_KINDS:
        problems.append(("kind", f"must be one of {', '.join(DRAFT_KINDS)}"))
    if not isinstance(payload, dict):
        raise DraftError([*problems, ("payload", "must be a mapping of field to value")])
    for key, value in payload.items():
        if not isinstance(key, str) or not key or len(key) > KEY_MAX:
            problems.append(("payload", f"field names must be 1-{KEY_MAX} characters"))
        elif _has_nul(value):
            problems.append((key, "must not contain a NUL character"))
    try:
        size = len(json.dumps(payload, ensure_ascii=False).encode("utf-8"))
    except (TypeError, ValueError):
        problems.append(("payload", "values must be text, numbers, true/false, null or lists"))
    else:
        if size > PAYLOAD_MAX_BYTES:
            problems.append(("payload", f"must be at most {PAYLOAD_MAX_BYTES:,} bytes"))
    if problems:
        raise DraftError(problems)


def _mine(session: Session, actor: Actor, patient_id: int, kind: str) -> Draft | None:
    return session.exec(select(Draft).where(Draft.user_id == actor.user_id,
                                            Draft.patient_id == patient_id,
                                            Draft.kind == kind)).first()


def _allowed(session: Session, actor: Actor, patient_id: int) -> None:
    require(actor, "record_infusions", entity="draft",
            message="This role does not record infusions.")
    get_patient(session, actor=actor, patient_id=patient_id)  # the clinic scope


def purge_expired(session: Session, *, now: datetime | None = None) -> int:
    """Delete every draft not changed for DRAFT_DAYS (anyone's: they are expired)."""
    cutoff = (now or audit.utcnow()) - timedelta(days=get_settings().draft_days)
    result = session.exec(delete(Draft).where(col(Draft.updated_at) < cutoff))
    return result.rowcount or 0


def save_draft(session: Session, *, actor: Actor, patient_id: int, kind: str,
               payload: dict, now: datetime | None = None) -> Draft:
    """Keep (create or replace) the actor's draft of `kind` for the patient."""
    _check(kind, payload)
    _allowed(session, actor, patient_id)
    now = now or audit.utcnow()
    purge_expired(session, now=now)
    draft = _mine(session, actor, patient_id, kind)
    if draft is None:
        draft = Draft(user_id=actor.user_id, patient_id=patient_id, kind=kind,
                      payload=payload, created_at=now, updated_at=now)
        session.add(draft)
        session.flush()
        audit.record(session, actor=actor, action="draft_save", entity="draft",
                     entity_id=draft.id, patient_id=patient_id, field=kind)
    else:
        draft.payload, draft.updated_at = payload, now
        session.add(draft)
    return draft


def load_draft(session: Session, *, actor: Actor, patient_id: int, kind: str,
               now: datetime | None = None) -> Draft | None:
    """The actor's own unexpired draft of `kind` for the patient, or None."""
    _allowed(session, actor, patient_id)
    draft = _mine(session, actor, patient_id, kind)
    cutoff = (now or audit.utcnow()) - timedelta(days=get_settings().draft_days)
    if draft is None or draft.updated_at < cutoff:
        return None
    return draft


def my_drafts(session: Session, *, actor: Actor,
              now: datetime | None = None) -> list[tuple[Draft, Patient]]:
    """The actor's unexpired drafts with their patient, newest first, for patients still
    in their scope (reading them is not audited: they are the user's own unsaved work)."""
    if not actor.can("record_infusions") or actor.user_id is None:
        return []
    cutoff = (now or audit.utcnow()) - timedelta(days=get_settings().draft_days)
    drafts = session.exec(select(Draft).where(Draft.user_id == actor.user_id,
                                              Draft.updated_at >= cutoff)
                          .order_by(col(Draft.updated_at).desc())).all()
    kept = []
    for draft in drafts:
        patient = session.get(Patient, draft.patient_id)
        if patient is not None and actor.sees_clinic(patient.clinic_id):
            kept.append((draft, patient))
    return kept


def discard_draft(session: Session, *, actor: Actor, patient_id: int, kind: str,
                  saved: bool = False) -> bool:
    """Delete the actor's draft; audited `draft_discard` unless it became a saved record
    (`saved=True`: called inside that save's transaction). False when there was none."""
    _allowed(session, actor, patient_id)
    draft = _mine(session, actor, patient_id, kind)
    if draft is None:
        return False
    draft_id = draft.id
    session.delete(draft)
    if not saved:
        audit.record(session, actor=actor, action="draft_discard", entity="draft",
                     entity_id=draft_id, patient_id=patient_id, field=kind)
    return True
