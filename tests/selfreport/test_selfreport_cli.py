"""`manage.py clinic`, `deliver` and `invitations --due`: exit codes 0/1/2, messages that
name the field, the due listing with each link's state, the identified read audited."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from data.clinic.infusions import log_infusion
from data.selfreport.delivery import MAX_ATTEMPTS
from data.selfreport.tokens import new_token, token_hash
from data.store import audit
from data.store.db import write_session
from manage import main
from models.tables import Clinic, Course, Invitation, Outbox
from tests.clinical_factories import infusion_input, log, make_course, make_patient
from tests.local_servers import free_port
from tests.selfreport.conftest import PATIENT_CODE, events


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, error = capsys.readouterr()
    return code, out, error


def test_clinic_show_and_change(clin, capsys):
    code, out, _ = run(capsys, "clinic", "CL1", "--show")
    assert code == 0
    assert "patients see: If you are thinking about suicide" in out
    assert "schedule: (off)" in out
    code, out, error = run(capsys, "clinic", "CL1", "--oncall-email", "oncall@clinic.test",
                           "--crisis-text", "Call 112 now.", "--schedule",
                           '{"after_first": ["PHQ-9"]}', "--show")
    assert code == 0
    assert "saved: oncall_email, crisis_text, schedule" in error
    assert "oncall_email: oncall@clinic.test" in out
    assert "patients see: Call 112 now." in out
    assert 'schedule: {"after_first": ["PHQ-9"]}' in out
    (event,) = events("update", "protocol")
    assert event.field == "selfreport_schedule:CL1"


@pytest.mark.parametrize(("args", "message"), [
    (("--oncall-email", "nope"), "error: oncall_email: 'nope' is not an e-mail address"),
    (("--oncall-webhook", "file:///etc/passwd"), "error: oncall_webhook: must be an http"),
    (("--crisis-text", "x" * 1001), "error: crisis_text: at most 1000 characters"),
    (("--schedule", "{nope"), "error: --schedule: not JSON"),
    (("--schedule", '{"after_first": ["MADRS"]}'), "error: after_first: 'MADRS' is not a "),
    ((), "error: nothing to do"),
])
def test_clinic_bad_input_exits_2_naming_the_field(clin, capsys, args, message):
    code, _, error = run(capsys, "clinic", "CL1", *args)
    assert code == 2
    assert message in error
    assert events("update") == []


def test_clinic_unknown_code_exits_2(clin, capsys):
    code, _, error = run(capsys, "clinic", "NOPE", "--show")
    assert (code, error.strip()) == (2, "error: clinic: no clinic with code 'NOPE'")


def queue_webhook(url: str, attempts: int = 0) -> None:
    with write_session() as session:
        clinic_id = session.exec(select(Clinic.id).where(Clinic.code == "CL1")).one()
        session.add(Outbox(clinic_id=clinic_id, channel="webhook", target=url,
                           payload={"clinic": "CL1"}, status="pending", attempts=attempts,
                           next_attempt_at=audit.utcnow(), created_at=audit.utcnow()))


def test_deliver_once_prints_a_summary(clin, receiver, capsys):
    queue_webhook(receiver.url)
    code, out, _ = run(capsys, "deliver", "--once", "--max", "10")
    assert code == 0
    assert out == "deliver: 1 due, 1 delivered, 0 to retry, 0 failed for good\n"
    assert len(receiver.posts) == 1


def test_deliver_reports_a_failed_attempt_on_stderr(clin, receiver, capsys):
    receiver.fail_with = [500]
    queue_webhook(receiver.url)
    code, out, error = run(capsys, "deliver")
    assert code == 0
    assert out == "deliver: 1 due, 0 delivered, 1 to retry, 0 failed for good\n"
    assert "attempt 1: webhook answered HTTP 500" in error


def test_deliver_exits_1_when_a_notification_fails_for_good(clin, capsys):
    queue_webhook(f"http://127.0.0.1:{free_port()}/closed", attempts=MAX_ATTEMPTS - 1)
    code, out, error = run(capsys, "deliver")
    assert code == 1
    assert out == "deliver: 1 due, 0 delivered, 0 to retry, 1 failed for good\n"
    assert f"attempt {MAX_ATTEMPTS}: webhook unreachable" in error


@pytest.mark.parametrize(("args", "message"), [
    (("--max", "0"), "--max: at least 1"), (("--loop", "0"), "--loop: seconds")])
def test_deliver_bad_options_exit_2(clin, capsys, args, message):
    code, _, error = run(capsys, "deliver", *args)
    assert code == 2 and message in error


# --- invitations --due ----------------------------------------------------------------


@pytest.fixture
def scheduled(clin, capsys):
    """Infusion 1 on 10 March 2025, 2 on 12 March; the clinic asks PHQ-9 the day after
    infusion 1 and PHQ-9 + GAD-7 the day after each induction infusion."""
    course = make_course(clin, make_patient(clin, code=PATIENT_CODE))
    log(clin, course, number=1)
    with write_session() as session:
        log_infusion(session, actor=clin, course_id=course, today=date(2025, 3, 20),
                     infusion=infusion_input(2, administered_on=date(2025, 3, 12)))
    assert run(capsys, "clinic", "CL1", "--schedule", json.dumps(
        {"after_first": ["PHQ-9"], "after_induction": ["PHQ-9", "GAD-7"]}))[0] == 0
    return course


def invite(course_id: int, due_on: date, infusion_number: int, **states) -> None:
    with write_session() as session:
        course = session.get(Course, course_id)
        clinic_id = session.exec(select(Clinic.id).where(Clinic.code == "CL1")).one()
        session.add(Invitation(
            token_hash=token_hash(new_token()), patient_id=course.patient_id,
            clinic_id=clinic_id, course_id=course_id, infusion_number=infusion_number,
            occasion="followup", instruments=["PHQ-9"], due_on=due_on,
            **{"created_at": audit.utcnow(),
               "expires_at": audit.utcnow() + timedelta(days=3), **states}))


def test_due_on_the_day_after_infusion_1(scheduled, capsys):
    code, out, _ = run(capsys, "invitations", "--due", "--date", "2025-03-11",
                       "--format", "json")
    assert code == 0
    assert json.loads(out) == [{
        "patient_id": PATIENT_CODE, "clinic": "CL1", "course": 1, "occasion": "followup",
        "infusion": 1, "instruments": ["PHQ-9", "GAD-7"], "rule": "after_first",
        "due_on": "2025-03-11", "link": "none"}]
    (event,) = events("read", "invitations_due")
    assert json.loads(event.new_value) == {"date": "2025-03-11", "clinic": None, "rows": 1}
    assert PATIENT_CODE not in event.new_value


def test_nothing_due_on_an_infusion_day_or_with_the_schedule_off(scheduled, capsys):
    assert json.loads(run(capsys, "invitations", "--due", "--date", "2025-03-12")[1]) == []
    run(capsys, "clinic", "CL1", "--schedule", "{}")
    assert json.loads(run(capsys, "invitations", "--due", "--date", "2025-03-11")[1]) == []


@pytest.mark.parametrize(("states", "link"), [
    ({}, "pending"),
    ({"sent_at": datetime(2025, 3, 11, 8, tzinfo=UTC)}, "sent"),
    ({"opened_at": datetime(2025, 3, 11, 9, tzinfo=UTC)}, "opened"),
    ({"completed_at": datetime(2025, 3, 11, 9, tzinfo=UTC)}, "completed"),
    ({"revoked_at": datetime(2025, 3, 11, 9, tzinfo=UTC)}, "revoked"),
    ({"expires_at": datetime(2025, 3, 12, tzinfo=UTC)}, "expired"),
])
def test_the_link_state_of_the_matching_invitation(scheduled, capsys, states, link):
    invite(scheduled, date(2025, 3, 13), 2, **states)
    invite(scheduled, date(2025, 3, 14), 2)  # another day: not this one
    code, out, _ = run(capsys, "invitations", "--due", "--date", "2025-03-13",
                       "--clinic", "CL1", "--format", "csv")
    assert code == 0
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert (row["infusion"], row["instruments"], row["rule"], row["link"]) == (
        "2", "PHQ-9;GAD-7", "after_induction", link)


@pytest.mark.parametrize(("args", "message"), [
    (("--due", "--date", "2025-13-01"), "--date: '2025-13-01' is not a date"),
    (("--due", "--format", "xml"), "--format: json or csv"),
    (("--date", "2025-03-11"), "--due:"),
    (("--due", "--clinic", "NOPE"), "clinic: no clinic with code 'NOPE'"),
])
def test_invitations_bad_input_exits_2(scheduled, capsys, args, message):
    code, _, error = run(capsys, "invitations", *args)
    assert code == 2 and message in error
