"""Suicide-risk alerts: a PHQ-9 with item 9 >= 1 (OUTCOMES.md section 1) opens a
SafetyAlert in the same transaction as the score, and so does a PHQ-9 whose item 9 was
not answered ("prefers not to answer" in the app, blank in an import): kind
'not_answered', closed like a positive one.

- An alert never closes by itself. Closing one records the action taken (ALERT_ACTIONS;
  'other' needs a note), who closed it and when.
- Correcting item 9 later keeps the original alert (with the value that raised it); a
  correction that makes item 9 positive on a score without an alert opens one.
- Imported scores get their alerts from the importer ('open' within the protocol's
  window, else 'historical'); historical alerts need no action and cannot be closed.
- One visit's alerts (the pre and post PHQ-9 of one infusion, same date) form a group
  (`visit_key`) that the Safety page closes with one action: `close_alerts` closes and
  audits each alert, all or none.
- The export names the kind for on-call systems (`EXPORT_KINDS`: item9_positive,
  item9_not_answered) and the minutes from opening to closing (`acknowledged_minutes`,
  null while open).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlmodel import Session, select

from data.files.readback import read_back_listing
from data.files.safe_csv import write_csv
from data.store import audit
from models.access import Actor, require, require_clinic, scope_filter
from models.schemas import ALERT_ACTIONS, AlertCloseIn, InputError, check_reason, parse
from models.tables import (
    AlertStatus,
    Assessment,
    Clinic,
    Course,
    Infusion,
    Patient,
    SafetyAlert,
    User,
)
from outcomes.alert_times import acknowledge_minutes

EXPORT_COLUMNS = ("alert_id", "patient_id", "clinic", "date", "instrument", "timepoint",
                  "course", "infusion", "kind", "item9_value", "status", "opened_at", "closed_at",
                  "acknowledged_minutes", "closed_by", "action")
EXPORT_KINDS = {"positive": "item9_positive", "not_answered": "item9_not_answered"}


def alert_kind(assessment: Assessment) -> str | None:
    """'positive' (PHQ-9 item 9 >= 1), 'not_answered' (a PHQ-9 with answers whose item 9
    is missing: declined in the app, blank in an import; OUTCOMES.md section 1), or None."""
    if assessment.instrument != "PHQ-9":
        return None
    if assessment.item9 is not None:
        return "positive" if assessment.item9 >= 1 else None
    return "not_answered" if any(v is not None for v in assessment.items or []) else None


def item9_text(value: int | None) -> str:
    """How an alert's item 9 reads in messages: '= 2', or 'not answered'."""
    return "not answered" if value is None else f"= {value}"


def open_item9_alert(session: Session, *, actor: Actor, assessment: Assessment,
                     patient: Patient, only_positive: bool = False) -> SafetyAlert | None:
    """Open an alert for a positive or unanswered PHQ-9 item 9, unless the score already
    has one (`only_positive`: a correction never turns an answer into "not answered")."""
    kind = alert_kind(assessment)
    if kind is None or (only_positive and kind != "positive"):
        return None
    existing = session.exec(
        select(SafetyAlert).where(SafetyAlert.assessment_id == assessment.id)).first()
    if existing is not None:
        return None
    alert = SafetyAlert(assessment_id=assessment.id, patient_id=patient.id,
                        clinic_id=patient.clinic_id, kind=kind, item9_value=assessment.item9,
                        observed_on=assessment.administered_on, status=AlertStatus.OPEN,
                        opened_at=audit.utcnow())
    session.add(alert)
    session.flush()
    audit.record(session, actor=actor, action="open", entity="alert", entity_id=alert.id,
                 patient_id=patient.id, new={"kind": kind, "item9_value": alert.item9_value,
                                             "assessment_id": assessment.id,
                                             "observed_on": alert.observed_on})
    return alert


def _alert_rows(session: Session, actor: Actor, *, status: str | None = None,
                patient_id: int | None = None) -> list[tuple]:
    stmt = (
        select(SafetyAlert, Patient, Clinic.code, Assessment, Infusion.number, Course.number,
               User.username)
        .join(Patient, Patient.id == SafetyAlert.patient_id)
        .join(Clinic, Clinic.id == SafetyAlert.clinic_id)
        .join(Assessment, Assessment.id == SafetyAlert.assessment_id)
        .join(Infusion, Infusion.id == Assessment.infusion_id)
        .join(Course, Course.id == Assessment.course_id)
        .outerjoin(User, User.id == SafetyAlert.closed_by_id)
        .where(scope_filter(actor, SafetyAlert.clinic_id))
        .order_by(SafetyAlert.observed_on.desc(), SafetyAlert.id.desc())
    )
    if status:
        stmt = stmt.where(SafetyAlert.status == status)
    if patient_id is not None:
        stmt = stmt.where(SafetyAlert.patient_id == patient_id)
    return list(session.exec(stmt).all())


def visit_key(alert: SafetyAlert, assessment: Assessment) -> str:
    """One visit: the infusion and the date of the score (pre and post share both)."""
    return f"{assessment.infusion_id}:{alert.observed_on.isoformat()}"


def list_alerts(session: Session, *, actor: Actor, status: str | None = None,
                patient_id: int | None = None) -> list[dict[str, Any]]:
    """Alerts in the actor's scope (newest first), for the Safety page and the record."""
    require(actor, "view_alerts", entity="alert", message="This role does not see alerts.")
    return [
        {"id": a.id, "patient_db_id": p.id, "patient_code": p.patient_code, "name": p.name,
         "visit": visit_key(a, s),
         "clinic": code, "date": a.observed_on, "instrument": s.instrument,
         "timepoint": s.timepoint, "course": course_no, "infusion": inf_no,
         "kind": a.kind, "item9_value": a.item9_value, "status": a.status,
         "opened_at": a.opened_at, "source": s.source,
         "closed_at": a.closed_at, "closed_by": closer, "action": a.action,
         "action_label": ALERT_ACTIONS.get(a.action or "", ""), "note": a.action_note}
        for a, p, code, s, inf_no, course_no, closer in _alert_rows(
            session, actor, status=status, patient_id=patient_id)
    ]


def patient_open_alerts(session: Session, *, actor: Actor,
                        patient_id: int) -> list[dict[str, Any]]:
    """One patient's open alerts (oldest first) for the banner: kind, timepoint, infusion
    number, opened_at. Empty for a role that does not see alerts or a patient out of scope."""
    if not actor.can("view_alerts"):
        return []
    stmt = (select(SafetyAlert, Assessment.timepoint, Infusion.number)
            .join(Assessment, Assessment.id == SafetyAlert.assessment_id)
            .join(Infusion, Infusion.id == Assessment.infusion_id)
            .where(SafetyAlert.patient_id == patient_id, SafetyAlert.status == AlertStatus.OPEN,
                   scope_filter(actor, SafetyAlert.clinic_id))
            .order_by(SafetyAlert.opened_at, SafetyAlert.id))
    return [{"id": a.id, "kind": a.kind, "timepoint": timepoint, "infusion": number,
             "opened_at": a.opened_at} for a, timepoint, number in session.exec(stmt).all()]


def score_alert(session: Session, *, actor: Actor, assessment_id: int) -> SafetyAlert | None:
    """The alert a score opened (any status), for correction messages; None when it has
    none or the role does not see alerts (the score's scope is checked by its caller)."""
    if not actor.can("view_alerts"):
        return None
    return session.exec(select(SafetyAlert).where(
        SafetyAlert.assessment_id == assessment_id)).first()


def _open_alert(session: Session, actor: Actor, alert_id: int) -> SafetyAlert:
    alert = session.get(SafetyAlert, alert_id) if alert_id else None
    if alert is None:
        raise InputError([("alert", f"no alert with id {alert_id}" if alert_id
                           else "choose the alert to close")])
    require_clinic(actor, alert.clinic_id, entity="alert", entity_id=alert_id)
    if alert.status != AlertStatus.OPEN:
        raise InputError([("alert", f"alert {alert_id} is {alert.status}; only an open alert "
                           "can be closed")])
    return alert


def close_alert(session: Session, *, actor: Actor, alert_id: int, action: str,
                note: str = "") -> SafetyAlert:
    """Close an open alert with the action taken; records who and when (audited)."""
    require(actor, "close_alerts", entity="alert", entity_id=alert_id,
            message="This role may not close safety alerts.")
    alert = session.get(SafetyAlert, alert_id) if alert_id else None
    if alert is None:
        raise InputError([("alert", f"no alert with id {alert_id}" if alert_id
                           else "choose the alert to close")])
    require_clinic(actor, alert.clinic_id, entity="alert", entity_id=alert_id)
    closing = parse(AlertCloseIn, {"action": action, "note": note})
    if alert.status != AlertStatus.OPEN:
        raise InputError([("alert", f"alert {alert_id} is {alert.status}; only an open alert "
                           "can be closed")])
    return _close(session, actor, alert, closing)


def close_alerts(session: Session, *, actor: Actor, alert_ids: list[int], action: str,
                 note: str = "") -> list[SafetyAlert]:
    """Close several open alerts (one visit's pre and post) with one action taken: every
    alert is checked first, then each is closed and audited on its own (all or none)."""
    require(actor, "close_alerts", entity="alert",
            message="This role may not close safety alerts.")
    if not alert_ids:
        raise InputError([("alert", "choose the alert to close")])
    alerts = [_open_alert(session, actor, alert_id) for alert_id in dict.fromkeys(alert_ids)]
    closing = parse(AlertCloseIn, {"action": action, "note": note})
    return [_close(session, actor, alert, closing) for alert in alerts]


def _close(session: Session, actor: Actor, alert: SafetyAlert,
           closing: AlertCloseIn) -> SafetyAlert:
    alert.status, alert.closed_at, alert.closed_by_id = AlertStatus.CLOSED, audit.utcnow(), actor.user_id
    alert.action, alert.action_note = closing.action, closing.note
    session.add(alert)
    audit.record(session, actor=actor, action="close", entity="alert", entity_id=alert.id,
                 patient_id=alert.patient_id, field="status", old=AlertStatus.OPEN, new=AlertStatus.CLOSED,
                 reason=f"{closing.action}: {closing.note}" if closing.note else closing.action)
    return alert


def alert_export_rows(session: Session, *, actor: Actor,
                      open_only: bool = False) -> list[dict[str, Any]]:
    """Alerts for a clinic's on-call routine: patient code, clinic, date, item 9, status."""
    require(actor, "view_alerts", entity="alert", message="This role does not see alerts.")
    rows = _alert_rows(session, actor, status=AlertStatus.OPEN if open_only else None)
    return [
        {"alert_id": a.id, "patient_id": p.patient_code, "clinic": code,
         "date": a.observed_on.isoformat(), "instrument": s.instrument, "timepoint": s.timepoint,
         "course": course_no, "infusion": inf_no, "kind": EXPORT_KINDS.get(a.kind, a.kind),
         "item9_value": a.item9_value, "status": a.status, "opened_at": a.opened_at.isoformat(),
         "closed_at": a.closed_at.isoformat() if a.closed_at else None,
         "acknowledged_minutes": acknowledge_minutes(a.opened_at, a.closed_at),
         "closed_by": closer, "action": a.action}
        for a, p, code, s, inf_no, course_no, closer in reversed(rows)
    ]


def format_alerts(rows: list[dict[str, Any]], fmt: str) -> str:
    """JSON (a list of objects) or CSV (header row, empty cell for none)."""
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    if fmt != "csv":
        raise InputError([("--format", f"'{fmt}' is not available; json or csv")])
    # Patient codes are free text: neutralise formula injection like every CSV export.
    return write_csv(EXPORT_COLUMNS, ([row.get(c) for c in EXPORT_COLUMNS] for row in rows)
                     ).decode("utf-8")


def export_alerts(*, actor: Actor, fmt: str, reason: str | None, open_only: bool = False,
                  clinic: str | None = None) -> str:
    """The alert list as JSON or CSV for the on-call routine, and its trace: it holds
    patient codes and item-9 answers (identified data), so it needs a reason and writes
    an audit event (action 'export', entity 'alert': format, filters, rows, SHA-256 of
    the text, the alert ids; the reason) in the same transaction as the read."""
    from data.store.db import write_session

    if fmt not in ("json", "csv"):
        raise InputError([("--format", f"'{fmt}' is not available; json or csv")])
    try:
        reason = check_reason(reason, "patient codes and item-9 answers are being read")
    except InputError as exc:
        raise InputError([("--reason", rule) for _, rule in exc.problems]) from None
    with write_session() as session:
        rows = alert_export_rows(session, actor=actor, open_only=open_only)
        if clinic:
            rows = [r for r in rows if r["clinic"] == clinic]
        content = format_alerts(rows, fmt)
        read_back_listing(content.encode("utf-8"), fmt, len(rows))  # before it is audited
        audit.record(session, actor=actor, action="export", entity="alert", new={
            "format": fmt, "open_only": open_only, "clinic": clinic, "rows": len(rows),
            "sha256": hashlib.sha256(content.encode("utf-8")).hexdigest(),
            "alert_ids": [r["alert_id"] for r in rows]}, reason=reason)
    return content
