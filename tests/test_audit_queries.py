"""Reading the trail (data/audit/audit_queries.py): filters, clinic scope, redaction for
auditors, one record's history, and the audited CSV export."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import timedelta

import pytest
from sqlmodel import select

from data.audit.audit_queries import (
    REDACTED,
    AuditFilter,
    export_events_csv,
    rebuilt_values,
    record_history,
    search_events,
)
from data.store import audit
from data.store.db import read_session, write_session
from models.tables import AuditEvent
from tests.audit_factories import IDENTIFIERS, build_trail


@pytest.fixture
def trail(store_url):
    return build_trail()


def search(actor, **filters):
    with read_session() as session:
        return search_events(session, actor=actor, filters=AuditFilter(**filters))


def plain(frame) -> list[tuple]:
    """The frame's rows with pandas' missing values as None."""
    return [tuple(None if v is None or v != v else v for v in row)
            for row in frame.itertuples(index=False, name=None)]


def cells(frame) -> str:
    return " | ".join(str(v) for v in frame.to_numpy().ravel())


def test_an_auditor_sees_patients_by_id_and_study_id_only(trail):
    page = search(trail["auditor"])
    assert "patient_code" not in page.frame.columns
    assert not [word for word in IDENTIFIERS if word in cells(page.frame)]
    alice_rows = page.frame[page.frame["patient_id"] == trail["alice"]]
    assert set(alice_rows["study_id"]) == {"S-AAAA2222BB"}
    by_field = {row.field: row for row in alice_rows.itertuples()}
    assert (by_field["name"].old_value, by_field["name"].new_value) == (REDACTED, REDACTED)
    assert by_field["name"].reason == REDACTED  # free text about a patient
    assert (by_field["indication"].old_value, by_field["indication"].new_value) == (
        "TRD", "bipolar depression")
    created = alice_rows[alice_rows["action"] == "create"].iloc[0]
    assert json.loads(created["new_value"]) == {
        "birth_date": REDACTED, "name": REDACTED, "patient_code": REDACTED, "sex": "female"}


def test_a_director_sees_codes_and_values_within_their_clinics(trail):
    page = search(trail["director"])
    assert "patient_code" in page.frame.columns
    rename = page.frame[page.frame["field"] == "name"].iloc[0]
    assert (rename["old_value"], rename["new_value"]) == ("Alice Example", "Alicia Example")
    assert rename["patient_code"] == "P-001"
    assert trail["bob"] not in set(page.frame["patient_id"].dropna())  # CL2: out of scope
    # events about no patient stay visible: the four users' creation
    assert (page.frame["entity"] == "user").sum() == 4


@pytest.mark.parametrize(("filters", "expected"), [
    # dr.clin: create Alice, rename, re-diagnose (3); dr.other: create Bob (1)
    ({"username": "dr.clin"}, 3),
    ({"username": "dr.clin", "action": "update"}, 2),
    ({"action": "create", "patient": "S-BBBB3333CC"}, 1),
    ({"patient": "s-aaaa2222bb"}, 3),  # study ids are matched case-insensitively
    ({"patient": "P-001"}, 0),  # an auditor cannot look patients up by code
    ({"patient": "nobody"}, 0),
])
def test_the_auditor_filters(trail, filters, expected):
    assert search(trail["auditor"], **filters).total == expected


def test_filters_by_internal_id_and_code_for_a_director(trail):
    assert search(trail["director"], patient=str(trail["alice"])).total == 3
    assert search(trail["director"], patient="P-001").total == 3


def test_the_date_range_is_inclusive_in_utc_days(trail):
    today = audit.utcnow().date()
    everything = search(trail["auditor"]).total
    assert search(trail["auditor"], start=today, end=today).total == everything
    assert search(trail["auditor"], start=today + timedelta(days=1)).total == 0
    assert search(trail["auditor"], end=today - timedelta(days=1)).total == 0


def test_the_screen_shows_the_newest_events_first_within_a_limit(trail):
    with read_session() as session:
        page = search_events(session, actor=trail["auditor"], filters=AuditFilter(), limit=2)
        newest = session.exec(select(AuditEvent.id).order_by(AuditEvent.id.desc())).first()
    assert list(page.frame["id"]) == [newest, newest - 1]
    assert page.total > 2


def test_a_record_history_is_rebuilt_from_its_events(trail):
    with read_session() as session:
        history = record_history(session, actor=trail["director"], entity="patient",
                                 entity_id=str(trail["alice"]))
    rows = plain(history[["action", "field", "old_value", "new_value", "username", "reason"]])
    assert rows == [
        ("create", "birth_date", None, "1970-05-17", "dr.clin", None),
        ("create", "name", None, "Alice Example", "dr.clin", None),
        ("create", "patient_code", None, "P-001", "dr.clin", None),
        ("create", "sex", None, "female", "dr.clin", None),
        ("update", "name", "Alice Example", "Alicia Example", "dr.clin", "spelling"),
        ("update", "indication", "TRD", "bipolar depression", "dr.clin", "diagnosis revised"),
    ]
    assert rebuilt_values(history) == {
        "birth_date": "1970-05-17", "name": "Alicia Example", "patient_code": "P-001",
        "sex": "female", "indication": "bipolar depression"}


def test_an_auditor_gets_the_history_redacted(trail):
    with read_session() as session:
        history = record_history(session, actor=trail["auditor"], entity="patient",
                                 entity_id=str(trail["alice"]))
    assert not [word for word in IDENTIFIERS if word in cells(history)]
    assert rebuilt_values(history) == {
        "birth_date": REDACTED, "name": REDACTED, "patient_code": REDACTED, "sex": "female",
        "indication": "bipolar depression"}
    assert list(history["reason"].fillna("")) == ["", "", "", "", REDACTED, REDACTED]


def test_a_director_gets_no_history_of_a_patient_outside_their_clinics(trail):
    with read_session() as session:
        history = record_history(session, actor=trail["director"], entity="patient",
                                 entity_id=str(trail["bob"]))
    assert history.empty


def test_the_export_is_neutralised_against_formulas_and_audited(trail):
    with write_session() as session:  # values a spreadsheet would run as formulas
        for value in ("=HYPERLINK(\"http://x\")", "+1", "-1+2", "@SUM(A1)", "\tcmd", "\rx"):
            audit.record(session, actor=trail["clin"], action="update", entity="patient",
                         entity_id=trail["alice"], patient_id=trail["alice"],
                         field="indication", old="TRD", new=value, reason="review")
    with write_session() as session:
        export = export_events_csv(session, actor=trail["director"],
                                   filters=AuditFilter(patient="P-001"))
    rows = list(csv.DictReader(io.StringIO(export.data.decode("utf-8"), newline="")))
    assert export.rows == len(rows) == 3 + 6
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), key=int)  # oldest first
    assert [r["new_value"] for r in rows[-6:]] == [
        "'=HYPERLINK(\"http://x\")", "'+1", "'-1+2", "'@SUM(A1)", "'\tcmd", "'\rx"]
    assert rows[1]["new_value"] == "Alicia Example"  # a director's export keeps values
    assert rows[0]["patient_code"] == "P-001"
    assert export.sha256 == hashlib.sha256(export.data).hexdigest()
    with read_session() as session:
        event = session.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.action, event.entity, event.username) == ("export", "audit_event", "dr.dir")
    assert json.loads(event.new_value) == {  # the filter by code is kept as the internal id
        "format": "csv", "rows": 9, "sha256": export.sha256,
        "filters": {"patient_ids": [trail["alice"]]}}


def test_an_auditors_export_is_redacted(trail):
    with write_session() as session:
        export = export_events_csv(session, actor=trail["auditor"], filters=AuditFilter())
    text = export.data.decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert "patient_code" not in rows[0]
    assert not [word for word in IDENTIFIERS if word in text]
    rename = next(r for r in rows if r["field"] == "name")
    assert (rename["old_value"], rename["new_value"], rename["reason"]) == (
        REDACTED, REDACTED, REDACTED)
    assert rename["study_id"] == "S-AAAA2222BB"
    with read_session() as session:
        event = session.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.action, event.username, json.loads(event.new_value)["rows"]) == (
        "export", "aud", len(rows))
