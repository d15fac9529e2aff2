"""Issue 15, privacy: every read of identified data from the command line leaves a trace.

`manage.py alerts` prints patient codes, item-9 answers and dates: it needs --reason
(refused naming --reason otherwise, nothing printed, no event) and writes one audit event
(action 'export', entity 'alert') with the reason, the row count and the text's SHA-256.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlmodel import select

import manage
from data.store.db import read_session
from models.tables import AuditEvent
from tests.clinical_factories import PHQ9_PRE, log, make_course, make_patient, score
from tests.factories import make_user


@pytest.fixture
def alert(store_url):
    clin = make_user("clin", "clinician", ("CL1",))
    log(clin, make_course(clin, make_patient(clin, code="P-001")),
        scores=[score("PHQ-9", "pre", PHQ9_PRE)])


def alert_events() -> list[AuditEvent]:
    with read_session() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.entity == "alert",
                                                          AuditEvent.action == "export")).all())


@pytest.mark.parametrize("argv", [
    ["alerts", "--format", "json"],
    ["alerts", "--format", "csv", "--reason", "   "],
    ["alerts", "--open", "--format", "json", "--reason", "a\x00b"],
])
def test_alerts_without_a_reason_are_refused_naming_it(alert, capsys, argv):
    assert manage.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and "--reason" in err and "P-001" not in err
    assert alert_events() == []


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_alerts_with_a_reason_are_audited(alert, capsys, fmt):
    assert manage.main(["alerts", "--format", fmt, "--reason", "on-call list"]) == 0
    out = capsys.readouterr().out
    assert "P-001" in out
    [event] = alert_events()
    manifest = json.loads(event.new_value)
    assert (event.username, event.reason) == ("system", "on-call list")
    assert manifest["rows"] == 1 and manifest["format"] == fmt
    assert manifest["sha256"] == hashlib.sha256(out.encode("utf-8")).hexdigest()
    assert "P-001" not in event.new_value  # the trace holds ids, not the codes
