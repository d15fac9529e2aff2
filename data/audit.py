"""The audit trail's single write path: every service write calls `record()` inside its
own transaction, so the event commits or rolls back with the change it records.

Tamper evidence: each event's hash is SHA-256 over the previous event's hash and the
event's own canonical content; `verify_chain()` walks it. Database triggers (see the
migrations) refuse UPDATE and DELETE on the table.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, select

from data.access import Actor
from models.tables import AuditEvent

GENESIS_HASH = "0" * 64
_HASHED_FIELDS = (
    "occurred_at", "user_id", "username", "action", "entity", "entity_id", "patient_id",
    "field", "old_value", "new_value", "reason", "session_id",
)


def utcnow() -> datetime:
    """Aware UTC timestamp, to the second (hashed identically on SQLite and PostgreSQL)."""
    return datetime.now(UTC).replace(microsecond=0)


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)


def event_hash(prev_hash: str, event: AuditEvent) -> str:
    """SHA-256 of the previous hash and this event's canonical JSON content."""
    content = {name: getattr(event, name) for name in _HASHED_FIELDS}
    content["occurred_at"] = event.occurred_at.isoformat(timespec="seconds")
    payload = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()


def _last_hash(session: Session) -> str:
    if session.get_bind().dialect.name == "postgresql":
        # Serialise appends to the chain across concurrent transactions.
        session.exec(text("SELECT pg_advisory_xact_lock(727274)"))
    last = session.exec(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    return last or GENESIS_HASH


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity: str | None = None,
    entity_id: Any = None,
    patient_id: int | None = None,
    field: str | None = None,
    old: Any = None,
    new: Any = None,
    reason: str | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction."""
    event = AuditEvent(
        occurred_at=utcnow(), user_id=actor.user_id, username=actor.username, action=action,
        entity=entity, entity_id=None if entity_id is None else str(entity_id),
        patient_id=patient_id, field=field, old_value=_as_text(old), new_value=_as_text(new),
        reason=reason, session_id=actor.session_id, prev_hash="", hash="",
    )
    event.prev_hash = _last_hash(session)
    event.hash = event_hash(event.prev_hash, event)
    session.add(event)
    session.flush()
    return event


def record_changes(
    session: Session, *, actor: Actor, action: str, entity: str, entity_id: Any,
    changes: Iterable[tuple[str, Any, Any]], patient_id: int | None = None,
    reason: str | None = None,
) -> None:
    """One event per changed field (field, old, new)."""
    for field_name, old, new in changes:
        record(session, actor=actor, action=action, entity=entity, entity_id=entity_id,
               patient_id=patient_id, field=field_name, old=old, new=new, reason=reason)


def verify_chain(session: Session, batch: int = 5000) -> tuple[bool, int | None, str]:
    """Walk the chain in id order. Returns (intact, first broken event id, message)."""
    prev, checked, last_id = GENESIS_HASH, 0, 0
    while True:
        rows = session.exec(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).all()
        if not rows:
            return True, None, f"audit trail intact: {checked} events"
        for event in rows:
            if event.prev_hash != prev:
                return False, event.id, f"event {event.id}: previous-hash link broken"
            if event_hash(prev, event) != event.hash:
                return False, event.id, f"event {event.id}: content does not match its hash"
            prev, last_id, checked = event.hash, event.id, checked + 1
