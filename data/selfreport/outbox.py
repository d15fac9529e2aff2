"""The on-call outbox: a notification queued in the same transaction as the alert a
patient's answer opened, so a crash cannot lose it. `manage.py deliver` sends it.

Messages carry no identifiers: alert id, clinic code, kind, time and a link to the Safety
page (OUTCOMES.md section 1; issue 10)."""

from __future__ import annotations

from sqlmodel import Session

from data.store import audit
from data.store.settings import get_settings
from models.access import Actor
from models.tables import Clinic, Outbox, SafetyAlert

KIND_TEXT = {"positive": "PHQ-9 item 9 positive (suicidal ideation)",
             "not_answered": "PHQ-9 item 9 not answered"}


def alert_message(alert: SafetyAlert, clinic: Clinic) -> dict:
    """The notification's content: nothing that identifies the patient."""
    base = get_settings().app_base_url.rstrip("/")
    return {"alert_id": alert.id, "clinic": clinic.code, "kind": alert.kind,
            "summary": KIND_TEXT.get(alert.kind, alert.kind),
            "opened_at": alert.opened_at.isoformat(), "link": f"{base}/safety"}


def queue_alert_notifications(session: Session, *, actor: Actor, alert: SafetyAlert,
                              clinic: Clinic) -> list[Outbox]:
    """One outbox row per on-call channel the clinic has set (e-mail, webhook); audited."""
    targets = [("email", clinic.oncall_email), ("webhook", clinic.oncall_webhook)]
    rows = [Outbox(clinic_id=clinic.id, alert_id=alert.id, channel=channel, target=target,
                   payload=alert_message(alert, clinic), status="pending", attempts=0,
                   next_attempt_at=audit.utcnow(), created_at=audit.utcnow())
            for channel, target in targets if target]
    session.add_all(rows)
    session.flush()
    for row in rows:
        audit.record(session, actor=actor, action="queue", entity="notification",
                     entity_id=row.id, new={"alert_id": alert.id, "channel": row.channel})
    return rows
