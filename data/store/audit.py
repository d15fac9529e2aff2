"""The audit trail's single write path: every service write calls `record()` inside its
own transaction, so the event commits or rolls back with the change it records.

Tamper evidence: each event's hash is SHA-256 over the previous event's hash and the
event's own canonical content; `check_chain()` walks it (`manage.py verify-audit`).
Database triggers (see the migrations) refuse UPDATE and DELETE on the table. What the
chain cannot show (events cut from its END) and how a noted head hash covers it:
docs/AUDIT.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select as sa_select
from sqlalchemy import text
from sqlmodel import Session, select

from models.access import Actor
from models.tables import AuditEvent
from models.validation import InputError, text_problem

GENESIS_HASH = "0" * 64
# The canonical JSON of an event's content (the same as json.dumps with these options).
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str)
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
    return _content_hash(prev_hash, [getattr(event, name) for name in _HASHED_FIELDS])


def _content_hash(prev_hash: str, values: Sequence[Any]) -> str:
    """The hash of one event from its `_HASHED_FIELDS` values, in that order."""
    content = dict(zip(_HASHED_FIELDS, values, strict=True))
    content["occurred_at"] = content["occurred_at"].isoformat(timespec="seconds")
    payload = _CANONICAL.encode(content)
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()


def _last_hash(session: Session) -> str:
    """The chain's head as this transaction sees it: read (and, on PostgreSQL, locked) by
    the transaction's first event; later events of the same transaction continue from the
    hash the previous one left in `session.info` (one read per save instead of one per
    event; the write lock, BEGIN IMMEDIATE or the advisory lock, is held to the end)."""
    transaction = session.get_transaction()
    cached = session.info.get("audit_head")
    if cached is not None and cached[0] is transaction:
        return cached[1]
    if session.get_bind().dialect.name == "postgresql":
        # Serialise appends to the chain across concurrent transactions.
        session.exec(text("SELECT pg_advisory_xact_lock(727274)"))
    last = session.exec(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    return last or GENESIS_HASH


REASON_MAX = 5000


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
    """Append one event in the caller's transaction. A reason is free text typed by a
    user: it passes the shared text rule (InputError naming `reason` otherwise)."""
    if reason is not None and (problem := text_problem(reason, limit=REASON_MAX,
                                                      multiline=True)):
        raise InputError([("reason", problem)])
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
    session.info["audit_head"] = (session.get_transaction(), event.hash)
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


@dataclass(frozen=True)
class ChainReport:
    """The outcome of one walk of the chain."""

    intact: bool
    checked: int  # events verified intact (before the first broken one)
    broken_id: int | None = None
    message: str = ""
    head_id: int | None = None  # the last intact event: an operator notes its hash
    head_hash: str = GENESIS_HASH


def check_chain(session: Session, batch: int = 20_000) -> ChainReport:
    """Walk the chain in id order, in keyset batches of plain rows (no ORM objects), and
    report the first event whose link or content does not match, or the intact head.

    A deleted event shows as its successor's broken link (named with the missing ids).
    Deleting the LAST events leaves a valid shorter chain: only a head hash noted
    outside the store (`verify-audit --expect-head`) reveals that (docs/AUDIT.md).
    """
    columns = [AuditEvent.id, AuditEvent.prev_hash, AuditEvent.hash]
    columns += [getattr(AuditEvent, name) for name in _HASHED_FIELDS]
    prev, checked, last_id = GENESIS_HASH, 0, 0
    head_id: int | None = None
    connection = session.connection()  # plain Core rows: no ORM loading per event
    while True:
        rows = connection.execute(
            sa_select(*columns).where(AuditEvent.id > last_id).order_by(AuditEvent.id)
            .limit(batch)
        ).all()
        if not rows:
            return ChainReport(True, checked, message=f"audit trail intact: {checked} events",
                               head_id=head_id, head_hash=prev)
        for event_id, prev_hash, stored_hash, *values in rows:
            problem = None
            if prev_hash != prev:
                gap = _gap(last_id, event_id)
                problem = "previous-hash link broken" + (
                    f" (events {gap} before it are missing: deleted?)" if gap else
                    " (the event before it was altered or removed)")
            elif _content_hash(prev, values) != stored_hash:
                problem = "content does not match its hash (altered)"
            if problem:
                return ChainReport(False, checked, event_id, f"event {event_id}: {problem}",
                                   head_id=head_id, head_hash=prev)
            prev, last_id, head_id, checked = stored_hash, event_id, event_id, checked + 1


def _gap(last_id: int, event_id: int) -> str:
    """'5' or '5-7' for the ids missing between two consecutive events ('' for none).

    Only a hint: PostgreSQL sequences also skip ids of rolled-back transactions.
    """
    if event_id - last_id <= 1:
        return ""
    first, last = last_id + 1, event_id - 1
    return str(first) if first == last else f"{first}-{last}"


def verify_chain(session: Session, batch: int = 20_000) -> tuple[bool, int | None, str]:
    """Walk the chain in id order. Returns (intact, first broken event id, message)."""
    report = check_chain(session, batch)
    return report.intact, report.broken_id, report.message


def append_only_triggers(session: Session) -> list[str]:
    """The names of the triggers that refuse UPDATE/DELETE on audit_event (migration 0002)."""
    if session.get_bind().dialect.name == "sqlite":
        sql = ("SELECT name FROM sqlite_master WHERE type = 'trigger' "
               "AND tbl_name = 'audit_event' ORDER BY name")
    else:
        sql = ("SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_event'::regclass "
               "AND NOT tgisinternal ORDER BY tgname")
    return list(session.exec(text(sql)).scalars().all())


EXPECTED_TRIGGERS = {
    "sqlite": ["audit_event_no_delete", "audit_event_no_update"],
    "postgresql": ["audit_event_no_truncate", "audit_event_no_update"],
}
