"""Fixtures for the self-report tests: a CL1 clinician and patient with a course, the
local SMTP server and HTTP receiver (tests/local_servers.py) wired into the settings."""

from __future__ import annotations

import pytest
from sqlmodel import select

from data.store.db import read_session, write_session
from data.store.settings import get_settings
from models.tables import AuditEvent, Clinic
from tests.clinical_factories import log, make_course, make_patient
from tests.factories import make_user
from tests.local_servers import HttpReceiver, SmtpSink

PATIENT_CODE, PATIENT_NAME = "P-SECRET-7", "Jane Testpatient"


@pytest.fixture
def clin(store_url):
    return make_user("clin", "clinician", ("CL1",))


@pytest.fixture
def course_id(clin):
    course = make_course(clin, make_patient(clin, code=PATIENT_CODE, name=PATIENT_NAME))
    log(clin, course, number=1)  # 2025-03-10
    return course


@pytest.fixture
def smtp(monkeypatch):
    with SmtpSink() as sink:
        monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("SMTP_PORT", str(sink.port))
        monkeypatch.setenv("SMTP_SENDER", "outcomes@clinic.test")
        get_settings.cache_clear()
        yield sink
    get_settings.cache_clear()


@pytest.fixture
def receiver(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    with HttpReceiver() as http:
        yield http


def set_oncall(email: str = "", webhook: str = "") -> None:
    with write_session() as session:
        clinic = session.exec(select(Clinic).where(Clinic.code == "CL1")).one()
        clinic.oncall_email, clinic.oncall_webhook = email, webhook
        session.add(clinic)


def events(action: str | None = None, entity: str | None = None) -> list[AuditEvent]:
    with read_session() as session:
        stmt = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        if entity:
            stmt = stmt.where(AuditEvent.entity == entity)
        return list(session.exec(stmt).all())
