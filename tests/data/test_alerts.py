"""Suicide-risk alerts: opened with the score, never closed by themselves, closed with the
action taken (who and when recorded), listed within scope, exported for on-call routines."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from sqlmodel import select

import manage
from data.analytics.overview import count_open_alerts
from data.clinic.alerts import close_alert, list_alerts
from data.clinic.corrections import correct_score
from data.store.db import read_session, write_session
from models.access import PermissionDenied
from models.schemas import InputError
from models.tables import AuditEvent, SafetyAlert
from tests.clinical_factories import (
    PHQ9_POST,
    PHQ9_PRE,
    TODAY,
    log,
    make_course,
    make_patient,
    score,
)
from tests.factories import make_user


@pytest.fixture
def clin(store_url):
    return make_user("clin", "clinician", ("CL1",))


@pytest.fixture
def course_id(clin):
    return make_course(clin, make_patient(clin, code="P-001"))


def alerts() -> list[SafetyAlert]:
    with read_session() as session:
        return list(session.exec(select(SafetyAlert).order_by(SafetyAlert.id)).all())


@pytest.mark.parametrize(("instrument", "items", "expected"), [
    ("PHQ-9", [0] * 8 + [1], [1]),  # the boundary: 1 is positive
    ("PHQ-9", [0] * 8 + [3], [3]),
    ("PHQ-9", [0] * 9, []),
    ("PHQ-9", [None, None, None, 1, 1, 1, 1, 1, 2], [2]),  # incomplete score, still alerts
    ("GAD-7", [3] * 7, []),
])
def test_a_positive_item_9_opens_an_alert_with_the_score(clin, course_id, instrument, items,
                                                         expected):
    log(clin, course_id, scores=[score(instrument, "pre", items)])
    found = alerts()
    assert [a.item9_value for a in found] == expected
    assert all(a.status == "open" and a.observed_on == TODAY and a.closed_at is None
               for a in found)


def test_a_phq9_with_item_9_blank_is_refused_naming_the_item(clin, course_id):
    """OUTCOMES.md section 1: never skipped silently; nothing is written."""
    with pytest.raises(InputError) as caught:
        log(clin, course_id, scores=[score("PHQ-9", "pre", [0] * 8 + [None])])
    assert "pre PHQ-9 item_9" in str(caught.value)
    assert "prefers not to answer" in str(caught.value)
    assert alerts() == []


def test_prefers_not_to_answer_item_9_opens_a_not_answered_alert(clin, course_id):
    saved = log(clin, course_id, scores=[score("PHQ-9", "pre", [1] * 8 + [None],
                                               item9_declined=True)])
    (row,) = saved.assessments
    assert row.item9 is None and row.total == 9  # S2: 8 x 9 / 8 = 9, prorated
    (alert,) = alerts()
    assert (alert.kind, alert.item9_value, alert.status) == ("not_answered", None, "open")


def test_item_9_answered_and_declined_at_once_is_refused(clin, course_id):
    with pytest.raises(InputError, match="item_9: answered and marked"):
        log(clin, course_id, scores=[score("PHQ-9", "pre", [0] * 9, item9_declined=True)])


def test_open_alerts_are_counted_and_listed_within_scope(clin, course_id):
    log(clin, course_id, scores=[score("PHQ-9", "pre", PHQ9_PRE), score("PHQ-9", "post",
                                                                        [0] * 8 + [2])])
    other = make_user("clin2", "clinician", ("CL2",))
    director = make_user("boss", "director", all_clinics=True, clinics=())
    with read_session() as session:
        assert count_open_alerts(session, actor=clin) == 2
        assert count_open_alerts(session, actor=other) == 0
        assert count_open_alerts(session, actor=director) == 2
        rows = list_alerts(session, actor=clin, status="open")
    assert [(r["patient_code"], r["timepoint"], r["item9_value"], r["infusion"])
            for r in rows] == [("P-001", "post", 2, 1), ("P-001", "pre", 1, 1)]
    auditor = make_user("aud", "auditor", ("CL1",))
    with pytest.raises(PermissionDenied), read_session() as session:
        list_alerts(session, actor=auditor)


def test_closing_records_the_action_who_and_when(clin, course_id):
    [alert] = log(clin, course_id, scores=[score("PHQ-9", "pre", PHQ9_PRE)]).alerts
    with write_session() as session:
        close_alert(session, actor=clin, alert_id=alert.id, action="risk_assessment",
                    note="C-SSRS screen negative for plan or intent")
    [closed] = alerts()
    assert (closed.status, closed.action, closed.closed_by_id) == ("closed", "risk_assessment",
                                                                  clin.user_id)
    assert closed.action_note == "C-SSRS screen negative for plan or intent"
    assert closed.closed_at is not None
    with read_session() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "close")).one()
        assert count_open_alerts(session, actor=clin) == 0
    assert (event.entity, event.old_value, event.new_value) == ("alert", "open", "closed")


@pytest.mark.parametrize(("action", "note", "field"), [
    ("", "", "action"), ("phoned", "", "action"), ("other", " ", "note")])
def test_closing_needs_an_action_and_a_note_for_other(clin, course_id, action, note, field):
    [alert] = log(clin, course_id, scores=[score("PHQ-9", "pre", PHQ9_PRE)]).alerts
    with pytest.raises(InputError) as caught, write_session() as session:
        close_alert(session, actor=clin, alert_id=alert.id, action=action, note=note)
    assert caught.value.fields == [field]
    assert alerts()[0].status == "open"


def test_a_closed_alert_cannot_be_closed_again_nor_by_another_clinic(clin, course_id):
    [alert] = log(clin, course_id, scores=[score("PHQ-9", "pre", PHQ9_PRE)]).alerts
    other = make_user("clin2", "clinician", ("CL2",))
    with pytest.raises(PermissionDenied), write_session() as session:
        close_alert(session, actor=other, alert_id=alert.id, action="safety_plan")
    with write_session() as session:
        close_alert(session, actor=clin, alert_id=alert.id, action="other", note="GP called")
    with pytest.raises(InputError, match="only an open alert can be closed"), \
            write_session() as session:
        close_alert(session, actor=clin, alert_id=alert.id, action="escalated")


def test_correcting_item_9_keeps_the_original_alert(clin, course_id):
    saved = log(clin, course_id, scores=[score("PHQ-9", "pre", PHQ9_PRE),
                                         score("PHQ-9", "post", PHQ9_POST)])
    pre, post = saved.assessments
    with write_session() as session:  # 1 -> 0: the alert stays open with its value
        correct_score(session, actor=clin, assessment_id=pre.id, items=[2] * 8 + [0],
                      reason="answer misread")
    [kept] = alerts()
    assert (kept.status, kept.item9_value, kept.assessment_id) == ("open", 1, pre.id)
    with write_session() as session:  # 0 -> 2 on a score without an alert: a new alert
        _changed, opened = correct_score(session, actor=clin, assessment_id=post.id,
                                         items=[1] * 8 + [2], reason="answer misread")
    assert opened is not None
    assert [(a.assessment_id, a.item9_value) for a in alerts()] == [(pre.id, 1), (post.id, 2)]


def test_the_alerts_command_lists_json_and_csv(clin, course_id, capsys):
    saved = log(clin, course_id, scores=[score("PHQ-9", "pre", PHQ9_PRE),
                                         score("PHQ-9", "post", [0] * 8 + [3])])
    with write_session() as session:
        close_alert(session, actor=clin, alert_id=saved.alerts[0].id, action="safety_plan")
    assert manage.main(["alerts", "--format", "json", "--reason", "on-call"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["patient_id"], r["clinic"], r["date"], r["instrument"], r["item9_value"],
             r["status"], r["action"]) for r in rows] == [
        ("P-001", "CL1", "2025-03-10", "PHQ-9", 1, "closed", "safety_plan"),
        ("P-001", "CL1", "2025-03-10", "PHQ-9", 3, "open", None)]
    assert manage.main(["alerts", "--open", "--format", "csv", "--reason", "on-call"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["patient_id"], r["timepoint"], r["item9_value"], r["status"], r["closed_at"])
            for r in table] == [("P-001", "post", "3", "open", "")]
    assert manage.main(["alerts", "--format", "xml"]) == 2
    assert "--format" in capsys.readouterr().err


def test_imported_alert_window_leaves_old_alerts_historical(clin, store_url):
    from data.imports.importer import import_scores
    from models.access import SYSTEM

    raw = ("patient_id,clinic,infusion_number,timepoint,date,instrument,"
           + ",".join(f"item_{n}" for n in range(1, 10)) + "\n"
           "I-1,CL1,1,pre,2025-03-01,PHQ-9,0,0,0,0,0,0,0,0,1\n"
           "I-2,CL1,1,pre,2025-01-01,PHQ-9,0,0,0,0,0,0,0,0,2\n").encode()
    report = import_scores(raw, actor=SYSTEM, today=TODAY)
    assert report.ok, report.format()
    assert sorted((a.item9_value, a.status) for a in alerts()) == [(1, "open"),
                                                                   (2, "historical")]
    [historical] = [a for a in alerts() if a.status == "historical"]
    with pytest.raises(InputError), write_session() as session:
        close_alert(session, actor=clin, alert_id=historical.id, action="safety_plan")
    assert date(2025, 1, 1) == historical.observed_on


def test_alerts_csv_neutralises_formula_injection_in_patient_codes():
    from data.clinic.alerts import EXPORT_COLUMNS, format_alerts

    row = dict.fromkeys(EXPORT_COLUMNS)
    row.update(patient_id='=HYPERLINK("http://x","y")', clinic="+1+2", item9_value=-1)
    lines = format_alerts([row], "csv").splitlines()
    cells = lines[1]
    assert cells.startswith(',"\'=HYPERLINK(""http://x"",""y"")"')  # quoted, leading quote
    assert "\"'+1+2\"" in cells
    assert ",-1," in cells  # a number stays a number


def test_one_visits_alerts_close_together_each_audited(clin, course_id):
    from data.clinic.alerts import close_alerts

    saved = log(clin, course_id, scores=[score("PHQ-9", "pre", [0] * 8 + [2]),
                                         score("PHQ-9", "post", [0] * 8 + [1])])
    ids = [a.id for a in saved.alerts]
    with write_session() as session:
        closed = close_alerts(session, actor=clin, alert_ids=ids, action="escalated",
                              note="prescriber called")
    assert sorted(a.id for a in closed) == sorted(ids)
    assert [(a.status, a.action, a.action_note, a.closed_by_id) for a in alerts()] == [
        ("closed", "escalated", "prescriber called", clin.user_id)] * 2
    with read_session() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.entity == "alert",
                                                       AuditEvent.action == "close")).all()
    assert sorted(int(e.entity_id) for e in events) == sorted(ids)


@pytest.mark.parametrize(("action", "message"), [
    ("", "action: choose the action taken"),
    ("safety_plan", "only an open alert can be closed"),
])
def test_closing_a_visit_is_all_or_none(clin, course_id, action, message):
    from data.clinic.alerts import close_alerts

    saved = log(clin, course_id, scores=[score("PHQ-9", "pre", [0] * 8 + [2]),
                                         score("PHQ-9", "post", [0] * 8 + [1])])
    pre, post = (a.id for a in saved.alerts)
    if action:  # the post alert was closed meanwhile (another clinician)
        with write_session() as session:
            close_alert(session, actor=clin, alert_id=post, action="risk_assessment")
    with pytest.raises(InputError, match=message), write_session() as session:
        close_alerts(session, actor=clin, alert_ids=[pre, post], action=action)
    assert {a.id: a.status for a in alerts()}[pre] == "open"
    with pytest.raises(InputError, match="choose the alert to close"), \
            write_session() as session:
        close_alerts(session, actor=clin, alert_ids=[], action="safety_plan")


def test_the_alerts_json_names_the_kind_and_the_minutes_to_acknowledge(clin, course_id,
                                                                       capsys):
    from datetime import UTC, datetime

    saved = log(clin, course_id, scores=[score("PHQ-9", "pre", [0] * 8 + [2]),
                                         score("PHQ-9", "post", [0] * 8 + [None],
                                               item9_declined=True)])
    pre, post = (a.id for a in saved.alerts)
    with write_session() as session:  # opened 08:00, closed 09:35:30 -> 95.5 minutes
        alert = session.get(SafetyAlert, pre)
        alert.opened_at = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)
        alert.closed_at = datetime(2025, 3, 10, 9, 35, 30, tzinfo=UTC)
        alert.status, alert.action = "closed", "safety_plan"
        session.add(alert)
    assert manage.main(["alerts", "--format", "json", "--reason", "on-call"]) == 0
    rows = {r["alert_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert (rows[pre]["kind"], rows[pre]["acknowledged_minutes"]) == ("item9_positive", 95.5)
    assert (rows[post]["kind"], rows[post]["acknowledged_minutes"]) == (
        "item9_not_answered", None)
    assert manage.main(["alerts", "--format", "csv", "--reason", "on-call"]) == 0
    table = {int(r["alert_id"]): r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert (table[pre]["kind"], table[pre]["acknowledged_minutes"]) == ("item9_positive", "95.5")
    assert table[post]["acknowledged_minutes"] == ""
