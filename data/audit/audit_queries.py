"""Reading the audit trail (issue 5): filtered events, one record's history rebuilt from
its events, a CSV export of the filtered events (itself audited; text cells made inert
against formula injection by `data.files.safe_csv`), and the chain check.

Who sees what (docs/AUDIT.md):
- every function requires `view_audit` (directors and auditors);
- events about a patient are limited to the actor's clinic scope; events about no
  patient (sign-ins, users, settings, denials) are visible to every `view_audit` role;
- a role without `view_patients` (the auditor) never sees patient identifiers: patients
  are shown by internal id and study id only; the old/new values of identifying and
  free-text fields (`IDENTIFYING_FIELDS`, also inside a whole-record JSON value) and the
  reason of an event about a patient (free text) read '[redacted]', on screen and in the
  export. Who, when, what action, which record and which field stay visible.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import and_, func, or_, true
from sqlmodel import Session, select

from data.files.readback import read_back_listing
from data.files.safe_csv import write_csv
from data.store import audit
from data.store.schema_check import trigger_differences
from models.access import SYSTEM, Actor, require
from models.tables import AuditEvent, Patient, User

REDACTED = "[redacted]"
# Fields whose values identify a patient or may (free text): redacted for auditors.
IDENTIFYING_FIELDS = frozenset({
    "name", "patient_name", "patient_code", "birth_date", "notes", "note", "comment",
    "free_text", "action_note", "adverse_event", "side_effect_other",
})
# Entities whose fields are not about a patient: a clinic's or a setting's "name" is kept.
NON_PATIENT_ENTITIES = frozenset({"clinic", "user", "protocol", "setting", "audit_event"})
SCREEN_LIMIT = 500

EVENT_COLUMNS = ["id", "occurred_at", "username", "action", "entity", "entity_id",
                 "patient_id", "study_id", "field", "old_value", "new_value", "reason",
                 "session_id"]


@dataclass(frozen=True)
class AuditFilter:
    """What the Audit page filters on (empty means any)."""

    username: str | None = None
    patient: str | None = None  # internal id or study id (patient code for clinical roles)
    action: str | None = None
    start: date | None = None  # inclusive, UTC calendar days
    end: date | None = None  # inclusive


@dataclass(frozen=True)
class EventPage:
    frame: pd.DataFrame  # newest first, at most `limit` rows
    total: int  # every matching event


@dataclass(frozen=True)
class AuditExport:
    data: bytes
    rows: int
    sha256: str
    filename: str
    filters: AuditFilter


def sees_identifiers(actor: Actor) -> bool:
    """Only the clinical roles see patient identifiers in the trail."""
    return actor.can("view_patients")


def filter_choices(session: Session, *, actor: Actor) -> dict[str, list[str]]:
    """The page's filter choices: the accounts (and 'system'), and the actions and entities
    that occur in the trail (indexed columns: quick on a million events)."""
    require(actor, "view_audit", entity="audit_event")
    choices = {
        name: sorted(v for v in session.exec(select(column).distinct()).all() if v)
        for name, column in (("actions", AuditEvent.action), ("entities", AuditEvent.entity))
    }
    # Usernames from the accounts table: a full scan of the trail is slow. Failed sign-ins
    # under unknown names are found with the action filter.
    users = set(session.exec(select(User.username)).all()) | {SYSTEM.username}
    return {"users": sorted(users), **choices}


def search_events(session: Session, *, actor: Actor, filters: AuditFilter,
                  limit: int = SCREEN_LIMIT) -> EventPage:
    """The matching events, newest first, redacted for the actor."""
    require(actor, "view_audit", entity="audit_event")
    where = _where(session, actor, filters)
    total = session.exec(
        select(func.count()).select_from(AuditEvent)
        .outerjoin(Patient, Patient.id == AuditEvent.patient_id).where(where)
    ).one()
    rows = session.exec(
        _event_select(actor).where(where).order_by(AuditEvent.id.desc()).limit(limit)
    ).all()
    return EventPage(_frame(actor, rows), total)


def record_history(session: Session, *, actor: Actor, entity: str,
                   entity_id: str) -> pd.DataFrame:
    """One record's history rebuilt from its events, oldest first: one row per field
    change (a created or deleted record's values are spread over one row per field)."""
    require(actor, "view_audit", entity=entity, entity_id=entity_id)
    stmt = (_event_select(actor)
            .where(AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id).strip(),
                   _scope(actor))
            .order_by(AuditEvent.id))
    changes = [change for row in session.exec(stmt).all() for change in _changes(actor, row)]
    return pd.DataFrame(changes, columns=["event_id", "occurred_at", "username", "action",
                                          "field", "old_value", "new_value", "reason"])


def rebuilt_values(history: pd.DataFrame) -> dict[str, Any]:
    """Each field's latest value according to a `record_history` frame."""
    values: dict[str, Any] = {}
    for row in history.itertuples():
        if isinstance(row.field, str) and row.field:
            values[row.field] = None if pd.isna(row.new_value) else row.new_value
    return values


def export_events_csv(session: Session, *, actor: Actor, filters: AuditFilter) -> AuditExport:
    """Every matching event as CSV (redacted for the actor, formula-neutralised), and an
    'export' event with the row count and SHA-256 of the bytes, in the same transaction."""
    require(actor, "view_audit", entity="audit_event")
    where = _where(session, actor, filters)
    events = [_display(actor, row) for row in
              session.exec(_event_select(actor).where(where).order_by(AuditEvent.id))]
    data = write_csv(_columns(actor), events)  # text cells made inert (OWASP)
    rows = len(events)
    read_back_listing(data, "csv", rows)  # or ExportReadBackError: neither handed nor audited
    digest = hashlib.sha256(data).hexdigest()
    audit.record(session, actor=actor, action="export", entity="audit_event",
                 new={"format": "csv", "rows": rows, "sha256": digest,
                      "filters": _filter_summary(session, actor, filters)})
    stamp = audit.utcnow().strftime("%Y%m%dT%H%M%SZ")
    return AuditExport(data, rows, digest, f"audit-events-{stamp}.csv", filters)


@dataclass(frozen=True)
class TrailCheck:
    chain: audit.ChainReport
    missing_triggers: list[str]
    head_found: bool | None = None  # None when no head was noted

    @property
    def ok(self) -> bool:
        return self.chain.intact and not self.missing_triggers and self.head_found is not False


def verify_trail(session: Session, *, actor: Actor, expect_head: str | None = None,
                 batch: int = 20_000) -> TrailCheck:
    """Walk the chain, check the append-only triggers, and (optionally) that a head hash
    noted earlier is still in the trail (the only way to see events deleted at the end)."""
    require(actor, "view_audit", entity="audit_event")
    report = audit.check_chain(session, batch)
    dialect = session.get_bind().dialect.name
    present = set(audit.append_only_triggers(session))
    missing = [t for t in audit.EXPECTED_TRIGGERS.get(dialect, []) if t not in present]
    # names are not enough: a same-named no-op trigger, or a planted one, must fail too
    missing += [d for d in trigger_differences(session.connection())
                if not any(d.startswith(f"trigger {t}") and "missing" in d for t in missing)]
    head_found = None
    if expect_head:
        noted = session.exec(select(AuditEvent.id).where(AuditEvent.hash == expect_head)).first()
        head_found = noted is not None and (report.head_id or 0) >= noted
    return TrailCheck(report, missing, head_found)


def redact(entity: str | None, field: str | None, value: str | None) -> str | None:
    """An event value as an auditor may see it: identifying fields read '[redacted]'."""
    if value is None or entity in NON_PATIENT_ENTITIES:
        return value
    if field in IDENTIFYING_FIELDS:
        return REDACTED
    if field is None and value[:1] in ("{", "["):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        return json.dumps(_redact_keys(parsed), sort_keys=True, ensure_ascii=False, default=str)
    return value


def _redact_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if k in IDENTIFYING_FIELDS else _redact_keys(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_keys(v) for v in value]
    return value


def _columns(actor: Actor) -> list[str]:
    columns = list(EVENT_COLUMNS)
    if sees_identifiers(actor):
        columns.insert(columns.index("study_id") + 1, "patient_code")
    return columns


def _event_select(actor: Actor):
    columns = [AuditEvent.id, AuditEvent.occurred_at, AuditEvent.username, AuditEvent.action,
               AuditEvent.entity, AuditEvent.entity_id, AuditEvent.patient_id,
               Patient.study_id, AuditEvent.field, AuditEvent.old_value,
               AuditEvent.new_value, AuditEvent.reason, AuditEvent.session_id]
    if sees_identifiers(actor):
        columns.insert(8, Patient.patient_code)
    return select(*columns).outerjoin(Patient, Patient.id == AuditEvent.patient_id)


def _display(actor: Actor, row: Any) -> list[Any]:
    """One event row as shown: UTC timestamp text, values redacted for the actor."""
    values = dict(zip(_columns(actor), row, strict=True))
    values["occurred_at"] = _utc_text(values["occurred_at"])
    if not sees_identifiers(actor):
        for key in ("old_value", "new_value"):
            values[key] = redact(values["entity"], values["field"], values[key])
        if values["patient_id"] is not None and values["reason"]:
            values["reason"] = REDACTED  # a clinician's free text (e.g. an alert's note)
    return list(values.values())


def _frame(actor: Actor, rows: list[Any]) -> pd.DataFrame:
    return pd.DataFrame([_display(actor, row) for row in rows], columns=_columns(actor))


def _changes(actor: Actor, row: Any) -> list[dict[str, Any]]:
    """A history row per changed field; a whole-record value (create/delete) spread out."""
    event = dict(zip(_columns(actor), _display(actor, row), strict=True))
    base = {"event_id": event["id"], "occurred_at": event["occurred_at"],
            "username": event["username"], "action": event["action"],
            "reason": event["reason"]}
    old, new = _as_record(event["old_value"]), _as_record(event["new_value"])
    if event["field"] is None and (old is not None or new is not None):
        keys = sorted(set(old or {}) | set(new or {}))
        return [base | {"field": key, "old_value": _text((old or {}).get(key)),
                        "new_value": _text((new or {}).get(key))} for key in keys]
    return [base | {"field": event["field"], "old_value": event["old_value"],
                    "new_value": event["new_value"]}]


def _as_record(value: str | None) -> dict | None:
    if not value or not value.startswith("{"):
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _utc_text(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _scope(actor: Actor):
    """Patient events of the actor's clinics, and every event about no patient."""
    if actor.all_clinics:
        return true()
    return or_(AuditEvent.patient_id.is_(None),
               Patient.clinic_id.in_(sorted(actor.clinic_ids)))


def _where(session: Session, actor: Actor, filters: AuditFilter):
    clauses = [_scope(actor)]
    if filters.username:
        clauses.append(AuditEvent.username == filters.username)
    if filters.action:
        clauses.append(AuditEvent.action == filters.action)
    if filters.start:
        clauses.append(AuditEvent.occurred_at >= _day_start(filters.start))
    if filters.end:
        clauses.append(AuditEvent.occurred_at < _day_start(filters.end + timedelta(days=1)))
    if filters.patient and filters.patient.strip():
        clauses.append(AuditEvent.patient_id.in_(_patient_ids(session, actor, filters.patient)))
    return and_(*clauses)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _patient_ids(session: Session, actor: Actor, text: str) -> list[int]:
    """The patients a filter text names: internal id, study id, or (clinical roles only,
    so an auditor cannot probe codes) patient code."""
    text = text.strip()
    if text.isdigit():
        return [int(text)]
    match = Patient.study_id == text.upper()
    if sees_identifiers(actor):
        match = or_(match, Patient.patient_code == text)
    return list(session.exec(select(Patient.id).where(match)).all())


def _filter_summary(session: Session, actor: Actor, filters: AuditFilter) -> dict[str, Any]:
    """The export's filters for its audit event: patients by internal id, never by code."""
    summary = {k: v for k, v in asdict(filters).items() if v and k != "patient"}
    if filters.patient and filters.patient.strip():
        summary["patient_ids"] = _patient_ids(session, actor, filters.patient)
    return {k: str(v) if isinstance(v, date) else v for k, v in summary.items()}
