"""Safety page (issue 12 item 7): selection reset after a close, one visit's alerts closed
together, oldest first with the overdue mark, time to acknowledge per clinic; the banner
names the patient's open alerts first on the patient's pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from data.clinic.protocol import update_protocol
from data.store.audit import utcnow
from data.store.db import read_session, write_session
from models.tables import AuditEvent, SafetyAlert
from tests.clinical_factories import log, make_course, make_patient, score
from tests.factories import make_user
from tests.pages.conftest import go, joined, sign_in, table_with

POSITIVE_2 = [0] * 8 + [2]
POSITIVE_1 = [0] * 8 + [1]


@pytest.fixture
def clin(store_url):
    return make_user("clin", "clinician", ("CL1",))


def statuses() -> dict[int, str]:
    with read_session() as session:
        return {a.id: a.status for a in session.exec(select(SafetyAlert)).all()}


def set_times(alert_id: int, *, opened_ago: timedelta, closed_after: timedelta | None = None,
              action: str | None = None) -> None:
    """Move an alert's opening (and closing) into the past: test set-up only."""
    now = utcnow()
    with write_session() as session:
        alert = session.get(SafetyAlert, alert_id)
        alert.opened_at = now - opened_ago
        if closed_after is not None:
            alert.status, alert.action = "closed", action or "safety_plan"
            alert.closed_at = alert.opened_at + closed_after
        session.add(alert)


def two_patients_with_one_alert_each(clin) -> tuple[int, int]:
    first = log(clin, make_course(clin, make_patient(clin, code="P-1")),
                scores=[score("PHQ-9", "pre", POSITIVE_2)]).alerts[0].id
    second = log(clin, make_course(clin, make_patient(clin, code="P-2")),
                 scores=[score("PHQ-9", "pre", POSITIVE_1)]).alerts[0].id
    return first, second


def close(app, alert_id, action="safety_plan"):
    if alert_id is not None:
        app.selectbox(key="alert_to_close").set_value(alert_id)
    app.selectbox(key="alert_action").set_value(action)
    return app.button(key="close_alert").click().run()


def test_two_closes_in_a_row_each_close_their_alert(app, clin):
    first, second = two_patients_with_one_alert_each(clin)
    go(sign_in(app, "clin"), "pages/safety.py")
    close(app, first)
    assert "Alert closed (Safety plan reviewed" in joined(app.success)
    box = app.selectbox(key="alert_to_close")
    assert box.value is None  # the closed alert is no longer selected
    # ... and the browser is told so: a widget value set by the script travels with
    # set_value (a deleted key does not, and the browser kept the closed alert's text)
    assert box.proto.set_value and not box.proto.HasField("raw_value")
    assert box.options == ["P-2 · 2025-03-10 · infusion 1 · pre item 9 = 1 · CL1"]
    assert app.selectbox(key="alert_action").value is None
    close(app, second, action="risk_assessment")
    assert "choose the alert to close" not in joined(app.error)
    assert "Alert closed" in joined(app.success)
    assert statuses() == {first: "closed", second: "closed"}


def test_a_second_click_without_a_new_choice_asks_for_one(app, clin):
    first, second = two_patients_with_one_alert_each(clin)
    go(sign_in(app, "clin"), "pages/safety.py")
    close(app, first)
    close(app, None)  # nothing chosen after the reset: nothing closed, the rule is named
    assert "alert: choose the alert to close" in joined(app.error)
    assert statuses() == {first: "closed", second: "open"}


def test_one_visits_pre_and_post_alerts_close_together(app, clin):
    saved = log(clin, make_course(clin, make_patient(clin, code="P-1")),
                scores=[score("PHQ-9", "pre", POSITIVE_2), score("PHQ-9", "post", POSITIVE_1)])
    pre, post = (a.id for a in saved.alerts)
    go(sign_in(app, "clin"), "pages/safety.py")
    box = app.selectbox(key="alert_to_close")
    assert box.options == ["P-1 · 2025-03-10 · infusion 1 · pre item 9 = 2, post item 9 = 1 · CL1"]
    close(app, pre, action="escalated")
    assert "2 alerts of this visit closed (Escalated to the prescriber)" in joined(app.success)
    assert statuses() == {pre: "closed", post: "closed"}
    with read_session() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.entity == "alert",
                                                       AuditEvent.action == "close")).all()
    assert sorted(int(e.entity_id) for e in events) == sorted([pre, post])  # each audited
    assert "No open alert in your clinics." in joined(app.success)


def test_open_alerts_are_oldest_first_and_marked_overdue(app, clin):
    first, second = two_patients_with_one_alert_each(clin)
    set_times(first, opened_ago=timedelta(hours=2))
    set_times(second, opened_ago=timedelta(hours=30))
    go(sign_in(app, "clin"), "pages/safety.py")
    table = table_with(app, "Overdue")
    assert list(table["Patient code"]) == ["P-2", "P-1"]  # opened 30 h ago, then 2 h ago
    assert list(table["Overdue"]) == ["⚠ over 24 h", "—"]
    assert list(table["Open for"]) == ["1 d 6 h", "2 h"]
    assert "1 alert(s) open longer than 24 hours" in joined(app.warning)


def test_the_overdue_limit_is_the_protocol_setting(app, clin):
    first, _second = two_patients_with_one_alert_each(clin)
    set_times(first, opened_ago=timedelta(hours=2, minutes=5))
    with write_session() as session:
        boss = make_user("boss", "director", ("CL1",))
        update_protocol(session, actor=boss, changes={"alert_overdue_hours": 2})
    go(sign_in(app, "clin"), "pages/safety.py")
    table = table_with(app, "Overdue")
    assert list(table["Overdue"]) == ["⚠ over 2 h", "—"]


def test_time_to_acknowledge_per_clinic(app, store_url):
    clin = make_user("clin", "clinician", ("CL1", "CL2"))
    ids = []
    for n, (clinic, minutes) in enumerate([("CL1", 10), ("CL1", 20), ("CL1", 30), ("CL1", 40),
                                           ("CL2", 90)]):
        pid = make_patient(clin, code=f"P-{n}", clinic=clinic)
        alert_id = log(clin, make_course(clin, pid),
                       scores=[score("PHQ-9", "pre", POSITIVE_1)]).alerts[0].id
        set_times(alert_id, opened_ago=timedelta(days=2), closed_after=timedelta(minutes=minutes))
        ids.append(alert_id)
    go(sign_in(app, "clin"), "pages/safety.py")
    table = table_with(app, "90th percentile")
    # CL1: 10, 20, 30, 40 min -> median (20 + 30) / 2 = 25; p90 at 2.7 -> 30 + 0.7 * 10 = 37
    assert table.to_dict("records") == [
        {"Clinic": "CL1", "Closed alerts": 4, "Median": "25 min", "90th percentile": "37 min"},
        {"Clinic": "CL2", "Closed alerts": 1, "Median": "1 h 30 min",
         "90th percentile": "1 h 30 min"}]
    closed = table_with(app, "Time to acknowledge")
    assert sorted(closed["Time to acknowledge"]) == sorted(
        ["10 min", "20 min", "30 min", "40 min", "1 h 30 min"])


def test_the_banner_names_the_patients_alerts_first_on_the_record(app, clin):
    pid = make_patient(clin, code="P-1")
    course = make_course(clin, pid)
    log(clin, course, scores=[score("PHQ-9", "pre", POSITIVE_2)])
    saved = log(clin, course, number=2, scores=[score("PHQ-9", "post", [0] * 8 + [None])
                                                | {"item9_declined": True}])
    set_times(saved.alerts[0].id, opened_ago=timedelta(minutes=30))
    other = log(clin, make_course(clin, make_patient(clin, code="P-2")),
                scores=[score("PHQ-9", "pre", POSITIVE_1)]).alerts[0].id
    set_times(other, opened_ago=timedelta(hours=5))
    with read_session() as session:
        first = session.exec(select(SafetyAlert).where(SafetyAlert.patient_id == pid)
                             .order_by(SafetyAlert.id)).first()
    set_times(first.id, opened_ago=timedelta(hours=2, minutes=10))
    sign_in(app, "clin")
    app.session_state["patient_id"] = pid
    go(app, "pages/patient.py")
    banner = app.error[0].value
    assert banner.startswith("**This patient: item 9 positive before infusion 1, 2 h ago; "
                             "item 9 not answered after infusion 2, 30 min ago.**")
    assert "**3 open suicide-risk alert(s)** in your clinics" in banner
    go(app, "pages/patients.py")  # not a patient's page: the clinic count only
    assert "This patient" not in joined(app.error)
    assert "3 open suicide-risk alert(s)" in joined(app.error)
