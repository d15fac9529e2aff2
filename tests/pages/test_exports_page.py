"""Exports page (AppTest): auditors are held to de-identified exports; a director's
identified export needs a reason; each generated file is audited with its SHA-256."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from data.store.db import read_session
from models.tables import AuditEvent
from tests.data.exports.store import seed_identifier_store
from tests.pages.conftest import go, joined, sign_in


@pytest.fixture
def store(store_url):
    return seed_identifier_store()


def _exports() -> list[AuditEvent]:
    with read_session() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == "export")
                                 .order_by(AuditEvent.id)).all())


def test_auditor_exports_deidentified_scores(app, store):
    go(sign_in(app, "audit.person"), "pages/exports.py")
    assert app.title[0].value == "Exports"
    toggle = app.toggle(key="export_deidentified")
    assert toggle.value is True and toggle.disabled
    app.selectbox(key="export_kind").set_value("scores").run()
    app.selectbox(key="export_format_scores").set_value("csv").run()
    app.radio(key="export_dates").set_value("days").run()
    assert not app.get("download_button")
    app.button(key="export_generate").click().run()
    assert not app.exception
    [event] = _exports()
    manifest = json.loads(event.new_value)
    assert (event.username, manifest["kind"], manifest["deidentified"],
            manifest["date_mode"]) == ("audit.person", "scores", True, "days")
    [download] = app.get("download_button")
    assert download.proto.label.startswith("Download scores-deidentified-")
    assert manifest["sha256"] in joined(app.caption)
    _kind, result = app.session_state["export_result"]
    content = result.path.read_bytes()  # the page offers the file, not bytes in memory
    assert result.content == b"" and content.count(b"\n") == 31  # header + 30 scores
    assert b"Zyxwvut" not in content and b"MRN-998877" not in content


def test_director_identified_export_needs_a_reason(app, store):
    go(sign_in(app, "boss.director"), "pages/exports.py")
    app.selectbox(key="export_kind").set_value("patients").run()
    app.toggle(key="export_deidentified").set_value(False).run()
    assert "Identified data" in joined(app.warning)
    app.button(key="export_generate").click().run()
    assert "reason" in joined(app.error)
    assert _exports() == [] and not app.get("download_button")
    app.text_area(key="export_reason").input("Referral letter to Dr Y").run()
    app.button(key="export_generate").click().run()
    [event] = _exports()
    assert event.reason == "Referral letter to Dr Y"
    assert json.loads(event.new_value)["deidentified"] is False
    _, result = app.session_state["export_result"]
    assert b"Zyxwvut Qqqq" in result.path.read_bytes()
    # Changing a filter hides the download of the earlier file.
    app.selectbox(key="export_format_patients").set_value("json").run()
    assert not app.get("download_button")


def test_director_generates_the_quality_report(app, store):
    go(sign_in(app, "boss.director"), "pages/exports.py")
    app.selectbox(key="export_kind").set_value("report").run()
    assert not app.get("toggle")  # aggregate: no identified option
    app.button(key="export_generate").click().run()
    assert not app.exception
    [download] = app.get("download_button")
    assert download.proto.label.endswith(".pdf")
    _, result = app.session_state["export_result"]
    assert result.path.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("username", ["dr.kplmnq", "it.admin"])
def test_clinicians_and_admins_do_not_see_the_page(app, store, username):
    sign_in(app, username)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page("pages/exports.py")


def test_a_new_export_replaces_the_sessions_file_and_old_files_are_swept(app, store):
    """One file per session (the previous one is removed when another is generated), and
    files older than the TTL are removed by any run of the page."""
    import os

    from ui.export_files import EXPORT_TTL, export_dir, new_file

    stale = new_file("csv")
    os.utime(stale, (0, 0))  # written long ago by a session that is gone
    go(sign_in(app, "audit.person"), "pages/exports.py")
    assert not stale.exists()
    app.selectbox(key="export_kind").set_value("scores").run()
    app.button(key="export_generate").click().run()
    _, first = app.session_state["export_result"]
    assert first.path.parent == export_dir() and first.path.exists()
    assert oct(first.path.stat().st_mode & 0o777) == "0o600"
    app.selectbox(key="export_kind").set_value("fhir").run()
    app.selectbox(key="export_format_fhir").set_value("ndjson").run()
    app.button(key="export_generate").click().run()
    assert not app.exception
    _, second = app.session_state["export_result"]
    assert not first.path.exists() and second.path.exists()
    assert second.filename.endswith(".zip")
    [download] = app.get("download_button")
    assert download.proto.label == f"Download {second.filename}"
    assert EXPORT_TTL >= 600
