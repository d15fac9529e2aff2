"""The mailer (a patient's link by e-mail, with the clinic's name and no patient name;
refused when SMTP is not set) and a clinic's on-call and crisis settings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from data.selfreport.clinic_settings import (
    DEFAULT_CRISIS_TEXT,
    ClinicSettingError,
    crisis_text_for,
    get_clinic_settings,
    update_clinic_settings,
)
from data.selfreport.mailer import (
    MailError,
    MailNotConfigured,
    email_invitation,
    mask_address,
    send_mail,
)
from data.selfreport.tokens import new_token, token_hash
from data.store import audit
from data.store.db import read_session, write_session
from data.store.settings import Settings
from models.access import PermissionDenied
from models.tables import Clinic, Course, Invitation
from tests.factories import make_user
from tests.local_servers import free_port
from tests.selfreport.conftest import PATIENT_CODE, PATIENT_NAME, events

URL = "http://localhost:8501/respond?token=abc"


def make_invitation(course_id: int) -> int:
    with write_session() as session:
        course = session.get(Course, course_id)
        clinic = session.exec(select(Clinic).where(Clinic.code == "CL1")).one()
        clinic.name = "Sunrise Ketamine Clinic"
        session.add(clinic)
        inv = Invitation(token_hash=token_hash(new_token()), patient_id=course.patient_id,
                         clinic_id=clinic.id, course_id=course_id, infusion_number=1,
                         occasion="followup", instruments=["PHQ-9"],
                         created_at=audit.utcnow(),
                         expires_at=audit.utcnow() + timedelta(days=2))
        session.add(inv)
        session.flush()
        return inv.id


def email(actor, invitation_id, to="jane.t@example.org"):
    with write_session() as session:
        return email_invitation(session, actor=actor, invitation_id=invitation_id, to=to,
                                url=URL)


def test_an_invitation_link_by_email(clin, course_id, smtp):
    inv_id = make_invitation(course_id)
    sent = email(clin, inv_id)
    (mail,) = smtp.mails
    assert mail.to == ["jane.t@example.org"]
    assert mail.message["Subject"] == "Sunrise Ketamine Clinic: your questionnaire"
    assert URL in mail.text and "Sunrise Ketamine Clinic" in mail.text
    assert PATIENT_CODE not in mail.text and PATIENT_NAME not in mail.text
    with read_session() as session:
        assert session.get(Invitation, inv_id).sent_at == sent.sent_at is not None
    (event,) = events("email", "invitation")
    assert json.loads(event.new_value)["to"] == "j***@example.org"
    assert "jane.t@example.org" not in "".join(e.new_value or "" for e in events())


def test_email_refused_when_smtp_is_not_configured(clin, course_id):
    inv_id = make_invitation(course_id)
    with pytest.raises(MailNotConfigured, match="set SMTP_HOST and SMTP_SENDER"):
        email(clin, inv_id)
    with read_session() as session:
        assert session.get(Invitation, inv_id).sent_at is None
    assert events("email") == []


def test_a_clinician_of_another_clinic_may_not_email_the_link(clin, course_id, smtp):
    other = make_user("other", "clinician", ("CL2",))
    with pytest.raises(PermissionDenied):
        email(other, make_invitation(course_id))
    assert smtp.mails == []


def test_a_bad_address_is_refused_before_sending(clin, course_id, smtp):
    with pytest.raises(ValueError, match="to: not an e-mail address"):
        email(clin, make_invitation(course_id), to="not an address")
    assert smtp.mails == []


def test_send_mail_names_the_server_when_it_is_unreachable():
    port = free_port()
    settings = Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_sender="a@clinic.test")
    with pytest.raises(MailError, match=f"SMTP 127.0.0.1:{port}: ConnectionRefusedError"):
        send_mail("b@clinic.test", "s", "b", settings)


def test_mask_address():
    assert mask_address("jane@example.org") == "j***@example.org"
    assert mask_address("nonsense") == "***"


# --- clinic settings ----------------------------------------------------------------


@pytest.fixture
def director(store_url):
    return make_user("dir", "director", ("CL1",))


def change(actor, code="CL1", **changes):
    with write_session() as session:
        return update_clinic_settings(session, actor=actor, code=code, changes=changes)


def test_the_default_crisis_text_when_the_clinic_has_none(director):
    with read_session() as session:
        view = get_clinic_settings(session, actor=director, code="CL1")
    assert view["crisis_text_is_default"] is True
    assert view["crisis_text_shown"] == DEFAULT_CRISIS_TEXT
    assert "988" in DEFAULT_CRISIS_TEXT
    assert crisis_text_for(Clinic(code="X", name="X", created_at=datetime.now(UTC),
                                  crisis_text="  ")) == DEFAULT_CRISIS_TEXT


def test_changes_are_validated_then_audited_with_old_and_new(director):
    view = change(director, oncall_email="oncall@clinic.test",
                  oncall_webhook="https://hooks.clinic.test/a", crisis_text="Call 112.")
    assert view["crisis_text_shown"] == "Call 112."
    change(director, oncall_email="second@clinic.test", crisis_text="Call 112.")
    updates = [(e.field, e.old_value, e.new_value) for e in events("update", "clinic")]
    assert updates == [("oncall_email", "", "oncall@clinic.test"),
                       ("oncall_webhook", "", "https://hooks.clinic.test/a"),
                       ("crisis_text", "", "Call 112."),
                       ("oncall_email", "oncall@clinic.test", "second@clinic.test")]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("oncall_email", "oncall.clinic.test", "oncall_email: 'oncall.clinic.test' is not an"),
    ("oncall_email", "a b@clinic.test", "oncall_email:"),
    ("oncall_webhook", "ftp://hooks.clinic.test", "oncall_webhook: must be an http"),
    ("oncall_webhook", "javascript:alert(1)", "oncall_webhook: must be an http"),
    ("oncall_webhook", "https://", "oncall_webhook: must be an http"),
    ("crisis_text", "x" * 1001, r"crisis_text: at most 1000 characters \(got 1001\)"),
    ("crisis_text", "call\x00now", "crisis_text: only printable characters"),
])
def test_bad_values_name_the_field_and_write_nothing(director, field, value, message):
    with pytest.raises(ClinicSettingError, match=message):
        change(director, **{"crisis_text": "fine", field: value})
    assert events("update", "clinic") == []


def test_a_crisis_text_of_1000_characters_with_line_breaks_is_kept(director):
    text = ("a" * 499) + "\n" + ("b" * 500)
    assert change(director, crisis_text=text)["crisis_text"] == text


def test_only_directors_of_the_clinic(director):
    with pytest.raises(PermissionDenied):
        change(make_user("clin", "clinician", ("CL1",)), oncall_email="a@clinic.test")
    with pytest.raises(PermissionDenied):
        change(make_user("dir2", "director", ("CL2",)), code="CL1",
               oncall_email="a@clinic.test")
