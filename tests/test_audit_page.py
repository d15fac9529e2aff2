"""AppTest of pages/audit.py: filters, one record's history, the audited export and the
chain check, for an auditor (no identifiers on screen) and a director."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from data.store import audit
from data.store.db import read_session
from models.tables import AuditEvent
from tests.apptest import fresh_app
from tests.audit_factories import IDENTIFIERS, build_trail
from tests.test_app import sign_in

PAGE = "pages/audit.py"


@pytest.fixture
def app(store_url):
    trail = build_trail()
    with fresh_app() as at:
        yield at, trail


def open_audit(at: AppTest, username: str) -> AppTest:
    sign_in(at, username)
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.title[0].value == "Audit trail"
    return at


def screen_text(at: AppTest) -> str:
    """Everything the page shows as text, tables included."""
    parts = [e.value for kind in ("markdown", "caption", "text", "success", "info", "error",
                                  "warning", "json") for e in at.get(kind)]
    parts += [frame.value.to_csv() for frame in at.dataframe]
    return "\n".join(str(p) for p in parts)


def events(at: AppTest):
    """The events table (AppTest exposes no key of a plain st.dataframe: by position)."""
    return at.dataframe[0].value


def history(at: AppTest):
    return at.dataframe[1].value


def matching(at: AppTest) -> str:
    return next(c.value for c in at.caption if "matching event" in c.value)


def test_an_auditor_filters_without_seeing_identifiers(app):
    at, _trail = app
    open_audit(at, "aud")
    assert "Patient code" not in events(at).columns
    at.selectbox(key="audit_user").select("dr.clin").run()
    assert matching(at).startswith("3 matching event(s)")
    at.selectbox(key="audit_action").select("update").run()
    assert matching(at).startswith("2 matching event(s)")
    frame = events(at)
    assert list(frame["Field"]) == ["indication", "name"]  # newest first
    assert list(frame["New value"]) == ["bipolar depression", "[redacted]"]
    at.selectbox(key="audit_user").select("(any)")
    at.selectbox(key="audit_action").select("(any)")
    at.text_input(key="audit_patient").input("S-BBBB3333CC").run()
    assert matching(at).startswith("1 matching event(s)")
    tomorrow = audit.utcnow().date() + timedelta(days=1)
    at.text_input(key="audit_patient").input("")
    at.date_input(key="audit_from").set_value(tomorrow).run()
    assert matching(at).startswith("0 matching event(s)")
    assert not at.exception
    assert not [word for word in IDENTIFIERS if word in screen_text(at)]


def test_an_auditor_rebuilds_a_record_history_redacted(app):
    at, trail = app
    open_audit(at, "aud")
    at.selectbox(key="audit_entity").select("patient")
    at.text_input(key="audit_entity_id").input(str(trail["alice"])).run()
    assert not at.exception
    rebuilt = history(at)
    assert list(rebuilt["Field"]) == ["birth_date", "name", "patient_code", "sex", "name",
                                      "indication"]
    assert list(rebuilt["Reason"])[-2:] == ["[redacted]", "[redacted]"]
    assert not [word for word in IDENTIFIERS if word in screen_text(at)]


def test_an_auditor_exports_the_filtered_events_and_the_export_is_audited(app):
    at, _trail = app
    open_audit(at, "aud")
    at.selectbox(key="audit_user").select("dr.clin").run()
    assert not at.download_button
    at.button(key="audit_export_prepare").click().run()
    assert not at.exception
    assert at.download_button(key="audit_export_download").label == "Download CSV (3 events)"
    with read_session() as session:
        event = session.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.action, event.username) == ("export", "aud")
    summary = json.loads(event.new_value)
    assert (summary["rows"], summary["filters"]) == (3, {"username": "dr.clin"})
    assert summary["sha256"] in screen_text(at)
    at.selectbox(key="audit_user").select("(any)").run()  # other filters: prepare again
    assert not at.download_button


def test_the_chain_check_from_the_page(app):
    at, _ = app
    open_audit(at, "aud")
    at.button(key="audit_verify").click().run()
    assert "audit trail intact" in at.success[0].value


def test_a_director_sees_codes_and_names_of_their_clinics(app):
    at, trail = app
    open_audit(at, "dr.dir")
    frame = events(at)
    assert "P-001" in set(frame["Patient code"])
    assert "Alicia Example" in set(frame["New value"])
    assert "P-900" not in screen_text(at)  # Bob belongs to CL2, outside the scope
    at.selectbox(key="audit_entity").select("patient")
    at.text_input(key="audit_entity_id").input(str(trail["alice"])).run()
    rebuilt = history(at)
    assert list(rebuilt["New value"])[:2] == ["1970-05-17", "Alice Example"]


@pytest.mark.parametrize("username", ["dr.clin"])
def test_a_clinician_never_gets_the_audit_page(app, username):
    """(The services refuse too: tests/test_roles.py.)"""
    at, _ = app
    sign_in(at, username)
    try:
        at.switch_page(PAGE).run()
    except ValueError:  # not registered in this role's navigation at all
        return
    assert not at.exception
    assert "Audit trail" not in [t.value for t in at.title]


def test_columns_have_human_names_and_missing_values_a_dash(app):
    at, _ = app
    open_audit(at, "dr.dir")
    frame = events(at)
    assert list(frame.columns[:4]) == ["Event", "When", "User", "Action"]
    text = frame.astype(str).to_string()
    assert "None" not in text and "NaN" not in text and "+00:00" not in text
    assert "—" in set(frame["Reason"])  # most events carry no reason
    # 'When' reads like '6 Dec 2026 14:05' (the clinic's zone, UTC by default here)
    day, month, year, clock = frame["When"].iloc[0].split(" ")
    assert day.isdigit() and len(month) == 3 and len(year) == 4 and clock[2] == ":"
