"""Deliver the on-call outbox (`manage.py deliver`): e-mail through SMTP, webhooks as an
HTTP POST of the JSON payload. At least once, never twice at the same time:

1. Claim (one short write transaction): for each due row (status pending, next_attempt_at
   <= now), a conditional UPDATE that adds 1 to `attempts` and pushes `next_attempt_at`
   a lease (5 minutes) ahead, WHERE the row is still pending, due and at the attempt
   count just read. Two deliverers can read the same row; only one UPDATE matches it
   (SQLite serialises the claims with BEGIN IMMEDIATE; PostgreSQL re-checks the WHERE
   after the row lock). A deliverer that dies mid-send leaves the row to be retried when
   its lease runs out.
2. Send, outside any transaction (SMTP and HTTP each with a 10 s timeout).
3. Record (one short write transaction per row): delivered; or, after a failure, pending
   again after an exponential backoff (1, 2, 4 ... minutes, at most 60), or failed after
   `MAX_ATTEMPTS`. Each attempt is audited ('deliver' / 'deliver_failed', entity
   'notification', the outbox id, the channel and the attempt; no address, no patient).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from data.selfreport.mailer import MailError, send_mail
from data.store import audit
from data.store.db import write_session
from models.access import SYSTEM, Actor
from models.tables import Outbox

MAX_ATTEMPTS = 8
BACKOFF_CAP_MINUTES = 60
LEASE = timedelta(minutes=5)
WEBHOOK_TIMEOUT_SECONDS = 10
ERROR_MAX = 500


class DeliveryError(RuntimeError):
    """One attempt failed (the text is kept as the row's last_error)."""


@dataclass
class DeliveryReport:
    """What one pass did."""

    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"deliver: {self.claimed} due, {self.delivered} delivered, "
                f"{self.retrying} to retry, {self.failed} failed for good")


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 1, 2, 4 ... minutes, capped."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), BACKOFF_CAP_MINUTES))


def oncall_email(payload: dict) -> tuple[str, str]:
    """Subject and body of an on-call e-mail: the payload only (no identifiers)."""
    subject = f"[{payload.get('clinic')}] Safety alert: {payload.get('summary')}"
    body = (f"A patient's self-reported answer opened a safety alert at clinic "
            f"{payload.get('clinic')}.\n\n{payload.get('summary')}\n"
            f"Opened: {payload.get('opened_at')}\nAlert: #{payload.get('alert_id')}\n\n"
            f"Review and act on it on the Safety page (sign-in required):\n"
            f"{payload.get('link')}\n")
    return subject, body


def post_webhook(url: str, payload: dict) -> None:
    """POST the payload as JSON; any 2xx answer is a delivery."""
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "ketamine-outcomes"})
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"webhook answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"webhook unreachable: {reason}") from None
    if not 200 <= status < 300:
        raise DeliveryError(f"webhook answered HTTP {status}")


def send(row: Outbox) -> None:
    """One attempt at one notification; raises DeliveryError or MailError on failure."""
    if row.channel == "webhook":
        post_webhook(row.target, row.payload)
    elif row.channel == "email":
        send_mail(row.target, *oncall_email(row.payload))
    else:
        raise DeliveryError(f"unknown channel {row.channel!r}")


def claim(session: Session, *, now: datetime, limit: int) -> list[Outbox]:
    """Claim up to `limit` due rows (see the module docstring); returns them as claimed."""
    due = session.exec(
        select(Outbox.id, Outbox.attempts)
        .where(Outbox.status == "pending", Outbox.next_attempt_at <= now)
        .order_by(Outbox.next_attempt_at, Outbox.id).limit(limit)).all()
    claimed = []
    for row_id, attempts in due:
        result = session.execute(
            update(Outbox)
            .where(Outbox.id == row_id, Outbox.status == "pending",
                   Outbox.attempts == attempts, Outbox.next_attempt_at <= now)
            .values(attempts=attempts + 1, next_attempt_at=now + LEASE))
        if result.rowcount == 1:
            claimed.append(row_id)
    session.expire_all()
    return [session.get(Outbox, row_id) for row_id in claimed]


def record_attempt(session: Session, *, actor: Actor, row_id: int, attempt: int,
                   error: str | None, now: datetime) -> str:
    """Write one attempt's outcome and its audit event; returns the row's new status."""
    row = session.get(Outbox, row_id)
    if row is None or row.status != "pending" or row.attempts != attempt:
        return "superseded"  # our lease ran out and another deliverer took the row over
    if error is None:
        row.status, row.delivered_at, row.last_error = "delivered", now, ""
    else:
        row.last_error = error[:ERROR_MAX]
        if attempt >= MAX_ATTEMPTS:
            row.status = "failed"
        else:
            row.next_attempt_at = now + backoff(attempt)
    session.add(row)
    audit.record(session, actor=actor, action="deliver" if error is None else "deliver_failed",
                 entity="notification", entity_id=row.id,
                 new={"channel": row.channel, "attempt": attempt, "status": row.status,
                      **({"error": row.last_error} if error else {})})
    return row.status


def deliver_pending(*, actor: Actor = SYSTEM, limit: int = 100,
                    now: Callable[[], datetime] = audit.utcnow,
                    sender: Callable[[Outbox], None] = send) -> DeliveryReport:
    """One pass: claim the due rows, try each once, record each outcome."""
    report = DeliveryReport()
    with write_session() as session:
        rows = claim(session, now=now(), limit=limit)
    report.claimed = len(rows)
    for row in rows:
        try:
            sender(row)
            error = None
        except (DeliveryError, MailError) as exc:
            error = str(exc)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        with write_session() as session:
            status = record_attempt(session, actor=actor, row_id=row.id,
                                    attempt=row.attempts, error=error, now=now())
        if status == "delivered":
            report.delivered += 1
        elif status == "failed":
            report.failed += 1
        elif status == "pending":
            report.retrying += 1
        if error:
            report.errors.append(f"notification {row.id} ({row.channel}) attempt "
                                 f"{row.attempts}: {error}")
    return report
