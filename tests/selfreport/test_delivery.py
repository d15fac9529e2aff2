"""On-call delivery (data/selfreport/delivery.py): a patient-opened alert reaches the
local SMTP server and HTTP receiver; failures retry with backoff 1, 2, 4 ... minutes;
MAX_ATTEMPTS failures end in 'failed'; two deliverers never send one row twice; every
attempt is audited; no message names the patient."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from data.selfreport.answers import record_patient_answers
from data.selfreport.delivery import MAX_ATTEMPTS, backoff, deliver_pending
from data.store import audit
from data.store.db import read_session, write_session
from models.access import SYSTEM
from models.tables import Clinic, Course, Outbox, Patient
from tests.local_servers import free_port
from tests.selfreport.conftest import PATIENT_CODE, PATIENT_NAME, events, set_oncall

T0 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)  # after every row's created_at


def answer_item9_positive(clin, course_id) -> None:
    with write_session() as session:
        course = session.get(Course, course_id)
        patient = session.get(Patient, course.patient_id)
        record_patient_answers(
            session, actor=clin, patient=patient, course=course, occasion="followup",
            infusion_number=1, scores=[{"instrument": "PHQ-9", "items": [1] * 8 + [2]}],
            source="patient_remote", completed_at=datetime(2025, 3, 11, 21, tzinfo=UTC),
            on=date(2025, 3, 11))


def outbox() -> list[Outbox]:
    with read_session() as session:
        return list(session.exec(select(Outbox).order_by(Outbox.id)).all())


def queue(channel: str, target: str, n: int = 1) -> None:
    """Outbox rows as queue_alert_notifications writes them (no alert needed here)."""
    with write_session() as session:
        clinic_id = session.exec(select(Clinic.id).where(Clinic.code == "CL1")).one()
        session.add_all([Outbox(clinic_id=clinic_id, channel=channel, target=target,
                                payload={"alert_id": i, "clinic": "CL1", "kind": "positive"},
                                status="pending", attempts=0, next_attempt_at=audit.utcnow(),
                                created_at=audit.utcnow()) for i in range(n)])


@pytest.mark.parametrize(("attempts", "minutes"), [(1, 1), (2, 2), (3, 4), (4, 8), (6, 32),
                                               (7, 60), (8, 60)])
def test_backoff_doubles_from_one_minute_capped_at_an_hour(attempts, minutes):
    assert backoff(attempts) == timedelta(minutes=minutes)


def test_a_patient_opened_alert_reaches_email_and_webhook(clin, course_id, smtp, receiver):
    set_oncall(email="oncall@clinic.test", webhook=receiver.url)
    answer_item9_positive(clin, course_id)
    assert [(r.channel, r.status) for r in outbox()] == [("email", "pending"),
                                                         ("webhook", "pending")]
    report = deliver_pending(now=lambda: T0)
    assert (report.claimed, report.delivered, report.retrying, report.failed) == (2, 2, 0, 0)
    assert [(r.status, r.attempts, r.delivered_at) for r in outbox()] == [
        ("delivered", 1, T0), ("delivered", 1, T0)]
    (mail,) = smtp.mails
    assert mail.to == ["oncall@clinic.test"]
    assert mail.message["From"] == "outcomes@clinic.test"
    assert "CL1" in mail.text and "PHQ-9 item 9 positive" in mail.text
    assert "http://localhost:8501/safety" in mail.text
    (post,) = receiver.posts
    assert post["clinic"] == "CL1" and post["kind"] == "positive"
    assert post["link"] == "http://localhost:8501/safety"
    for text in (mail.text, json.dumps(post)):
        assert PATIENT_CODE not in text and PATIENT_NAME not in text
        assert "Jane" not in text
    delivered = events("deliver", "notification")
    assert [json.loads(e.new_value)["channel"] for e in delivered] == ["email", "webhook"]
    assert all(e.patient_id is None for e in delivered)
    assert not any("oncall@clinic.test" in (e.new_value or "") for e in events())
    assert deliver_pending(now=lambda: T0 + timedelta(hours=1)).claimed == 0


def test_a_failing_webhook_is_retried_with_backoff_then_delivered(clin, receiver):
    receiver.fail_with = [500, 503]
    queue("webhook", receiver.url)
    first = deliver_pending(now=lambda: T0)
    assert (first.claimed, first.retrying) == (1, 1)
    (row,) = outbox()
    assert (row.status, row.attempts, row.next_attempt_at) == (
        "pending", 1, T0 + timedelta(minutes=1))
    assert row.last_error == "webhook answered HTTP 500"
    # not due yet 59 seconds later
    assert deliver_pending(now=lambda: T0 + timedelta(seconds=59)).claimed == 0
    t1 = T0 + timedelta(minutes=1)
    assert deliver_pending(now=lambda: t1).retrying == 1
    (row,) = outbox()
    assert (row.attempts, row.next_attempt_at) == (2, t1 + timedelta(minutes=2))
    t2 = t1 + timedelta(minutes=2)
    assert deliver_pending(now=lambda: t2).delivered == 1
    (row,) = outbox()
    assert (row.status, row.attempts, row.delivered_at, row.last_error) == (
        "delivered", 3, t2, "")
    assert len(receiver.posts) == 1
    trail = [(e.action, json.loads(e.new_value)["attempt"])
             for e in events(entity="notification")]
    assert trail == [("deliver_failed", 1), ("deliver_failed", 2), ("deliver", 3)]
    assert "HTTP 503" in json.loads(events("deliver_failed")[1].new_value)["error"]


def test_an_unreachable_webhook_fails_for_good_after_max_attempts(clin):
    queue("webhook", f"http://127.0.0.1:{free_port()}/closed")
    now, failed = T0, 0
    for attempt in range(1, MAX_ATTEMPTS + 1):
        report = deliver_pending(now=lambda: now)  # noqa: B023
        assert report.claimed == 1, attempt
        failed += report.failed
        (row,) = outbox()
        assert row.attempts == attempt
        assert "webhook unreachable" in row.last_error
        now = now + backoff(attempt)
    assert failed == 1
    (row,) = outbox()
    assert row.status == "failed"
    assert deliver_pending(now=lambda: now + timedelta(days=1)).claimed == 0
    assert [e.action for e in events(entity="notification")] == ["deliver_failed"] * MAX_ATTEMPTS
    assert json.loads(events("deliver_failed")[-1].new_value)["status"] == "failed"


def test_email_without_smtp_settings_is_retried_with_a_clear_error(clin):
    queue("email", "oncall@clinic.test")
    report = deliver_pending(now=lambda: T0)
    assert report.retrying == 1
    assert "E-mail is not configured: set SMTP_HOST and SMTP_SENDER" in outbox()[0].last_error


def test_two_deliverers_never_send_one_row_twice(clin):
    queue("webhook", "http://127.0.0.1:9/unused", n=6)
    sent: list[int] = []
    lock = threading.Lock()

    def slow_sender(row: Outbox) -> None:
        time.sleep(0.2)  # both deliverers are mid-pass at once
        with lock:
            sent.append(row.id)

    reports = []
    threads = [threading.Thread(target=lambda: reports.append(
        deliver_pending(now=lambda: T0, sender=slow_sender, limit=4))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sent) == len(set(sent)) == sum(r.claimed for r in reports)
    # SQLite queues the claims (4, then the 2 left); on PostgreSQL the second deliverer
    # may lose the race for the same rows and claim fewer: a later pass sends the rest
    deliver_pending(now=lambda: T0, sender=slow_sender)
    assert sorted(sent) == sorted(set(sent)) == [r.id for r in outbox()]
    assert all((r.status, r.attempts) == ("delivered", 1) for r in outbox())
    assert len(events("deliver", "notification")) == 6


def test_a_claimed_row_is_not_claimed_again_while_its_lease_runs(clin):
    queue("webhook", "http://127.0.0.1:9/unused")
    started, release = threading.Event(), threading.Event()

    def stuck_sender(row: Outbox) -> None:
        started.set()
        release.wait(5)

    thread = threading.Thread(target=lambda: deliver_pending(now=lambda: T0,
                                                             sender=stuck_sender))
    thread.start()
    assert started.wait(5)
    assert deliver_pending(now=lambda: T0 + timedelta(minutes=4),
                           sender=lambda row: None).claimed == 0
    release.set()
    thread.join()
    assert [(r.status, r.attempts) for r in outbox()] == [("delivered", 1)]


def test_a_deliverer_that_outlived_its_lease_does_not_overwrite_the_next(clin):
    """The first deliverer hangs past the 5-minute lease; a second one takes the row over
    and delivers it; the first one's late failure is dropped, not recorded."""
    queue("webhook", "http://127.0.0.1:9/unused")
    started, release = threading.Event(), threading.Event()

    def hung_then_failing(row: Outbox) -> None:
        started.set()
        release.wait(5)
        raise OSError("too late")

    thread = threading.Thread(target=lambda: deliver_pending(now=lambda: T0,
                                                             sender=hung_then_failing))
    thread.start()
    assert started.wait(5)
    assert deliver_pending(now=lambda: T0 + timedelta(minutes=5),
                           sender=lambda row: None).delivered == 1
    release.set()
    thread.join()
    assert [(r.status, r.attempts) for r in outbox()] == [("delivered", 2)]
    assert [e.action for e in events(entity="notification")] == ["deliver"]


def test_the_deliverer_acts_as_the_system(clin, receiver):
    queue("webhook", receiver.url)
    deliver_pending(now=lambda: T0)
    (event,) = events("deliver")
    assert (event.username, event.user_id) == (SYSTEM.username, None)
