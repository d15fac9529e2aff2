"""The record's Invitations section: create a link (shown once with its QR code), see its
state, revoke it; bad input names the field; the auditor-free roles only."""

from __future__ import annotations

import pytest
from sqlmodel import select

from data.store.db import read_session
from models.access import SYSTEM
from models.tables import Invitation
from tests.clinical_factories import log, make_course, make_patient
from tests.factories import make_user
from tests.pages.conftest import go, joined, sign_in, table_with


@pytest.fixture
def patient_id(store_url):
    make_user("clin", "clinician", ("CL1",))
    pid = make_patient(SYSTEM, "P-1", name="Ann Smith")
    log(SYSTEM, make_course(SYSTEM, pid), 1)
    return pid


def _element_types(app) -> set[str]:
    def walk(node):
        yield node
        for child in getattr(node, "children", {}).values():
            yield from walk(child)
    return {getattr(n, "type", "") for n in walk(app._tree)}


def test_create_show_and_revoke_a_link(app, patient_id):
    sign_in(app, "clin")
    app.session_state["patient_id"] = patient_id
    go(app, "pages/patient.py")
    assert app.number_input(key="invite_infusion").value == 1
    app.selectbox(key="invite_occasion").set_value("post")
    app.button(key="create_invitation").click().run()
    go(app, "pages/patient.py")
    code = app.code[0].value
    assert code.startswith("http://localhost:8501/respond?token=")
    assert {"imgs", "image"} & _element_types(app)  # the QR code
    assert table_with(app, "State")["State"].tolist() == ["pending"]
    with read_session() as session:
        inv = session.exec(select(Invitation)).one()
    assert inv.token_hash not in code and (inv.occasion, inv.instruments) == (
        "post", ["PHQ-9", "GAD-7"])
    app.button(key="revoke_invitation").click().run()
    go(app, "pages/patient.py")
    assert table_with(app, "State")["State"].tolist() == ["revoked"]


def test_bad_input_names_the_field(app, patient_id):
    sign_in(app, "clin")
    app.session_state["patient_id"] = patient_id
    go(app, "pages/patient.py")
    app.number_input(key="invite_infusion").set_value(5)
    app.button(key="create_invitation").click().run()
    assert "infusion_number" in joined(app.error)
    with read_session() as session:
        assert session.exec(select(Invitation)).all() == []


def test_the_new_link_is_emailed_when_smtp_is_set(app, patient_id, monkeypatch):
    from data.store.settings import get_settings
    from tests.local_servers import SmtpSink

    with SmtpSink() as sink:
        monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("SMTP_PORT", str(sink.port))
        monkeypatch.setenv("SMTP_SENDER", "clinic@clinic.test")
        get_settings.cache_clear()
        try:
            sign_in(app, "clin")
            app.session_state["patient_id"] = patient_id
            go(app, "pages/patient.py")
            app.button(key="create_invitation").click().run()
            go(app, "pages/patient.py")
            url = app.code[0].value
            app.text_input(key="invite_email").input("ann@patient.test")
            app.button(key="email_invitation").click().run()
        finally:
            get_settings.cache_clear()
        (mail,) = sink.mails
    assert mail.to == ["ann@patient.test"] and url in mail.text
    assert "Ann" not in mail.text and "Smith" not in mail.text  # the clinic, not the patient
    with read_session() as session:
        assert session.exec(select(Invitation)).one().sent_at is not None


def test_without_smtp_the_panel_says_to_hand_the_link_over(app, patient_id):
    sign_in(app, "clin")
    app.session_state["patient_id"] = patient_id
    go(app, "pages/patient.py")
    app.button(key="create_invitation").click().run()
    go(app, "pages/patient.py")
    assert "E-mail is not set up" in " ".join(c.value for c in app.caption)
    with pytest.raises(KeyError):
        app.button(key="email_invitation")


def test_the_invitations_table_reads_in_words(app, patient_id):
    """Human column names, times without a UTC offset, '—' for not completed."""
    sign_in(app, "clin")
    app.session_state["patient_id"] = patient_id
    go(app, "pages/patient.py")
    app.button(key="create_invitation").click().run()
    go(app, "pages/patient.py")
    table = table_with(app, "State")
    row = table.iloc[0]
    assert row["Completed"] == "—"
    assert "+00:00" not in row["Created"] and "None" not in table.to_string()
    day, month, year, clock = row["Expires"].split(" ")
    assert day.isdigit() and len(month) == 3 and year.isdigit() and clock[2] == ":"
