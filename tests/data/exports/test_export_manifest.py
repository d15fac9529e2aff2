"""Every export writes a manifest audit event (action 'export') with the SHA-256 of the
bytes handed over; roles: who may export what, and refusals are audited."""

from __future__ import annotations

import csv
import hashlib
import io
import json

import pytest
from sqlmodel import select

from data.exports import ExportError, ExportRequest, run_export
from data.store.audit import verify_chain
from data.store.db import read_session
from models.access import PermissionDenied
from models.tables import AuditEvent
from tests.factories import make_user


def _events(action: str) -> list[AuditEvent]:
    with read_session() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)
                                 .order_by(AuditEvent.id)).all())


def test_manifest_of_an_identified_export(actors):
    result = run_export(actor=actors["director"], request=ExportRequest(
        "scores", "csv", deidentified=False, reason="  transfer to Dr X for audit  "))
    [event] = _events("export")
    assert event.id == result.event_id
    assert (event.username, event.entity, event.entity_id) == ("boss.director", "export", "scores")
    assert event.reason == "transfer to Dr X for audit"
    manifest = json.loads(event.new_value)
    assert manifest == result.manifest
    assert manifest["sha256"] == hashlib.sha256(result.content).hexdigest()
    assert manifest["bytes"] == len(result.content)
    assert (manifest["kind"], manifest["format"], manifest["deidentified"]) == \
        ("scores", "csv", False)
    header = next(csv.reader(io.StringIO(result.content.decode("utf-8"))))
    assert manifest["columns"] == {"scores": header}
    assert manifest["row_count"] == 30 and manifest["rows"] == {"scores": 30}
    assert manifest["filters"] == {"clinics": "all in scope", "course_start_from": None,
                                   "course_start_to": None}
    assert manifest["generated_by"] == "boss.director"
    assert manifest["filename"] == result.filename and result.filename.endswith(".csv")
    with read_session() as session:
        assert verify_chain(session)[0]


def test_manifest_of_a_deidentified_export(actors):
    result = run_export(actor=actors["auditor"], request=ExportRequest(
        "patients", "xlsx", date_mode="days"))
    manifest = json.loads(_events("export")[0].new_value)
    assert manifest["deidentified"] is True and manifest["date_mode"] == "days"
    assert manifest["sha256"] == hashlib.sha256(result.content).hexdigest()
    assert "name" not in manifest["columns"]["patients"]
    assert result.mime.endswith("spreadsheetml.sheet")


def test_aggregate_manifest_records_the_outcome_parameters(actors):
    result = run_export(actor=actors["auditor"], request=ExportRequest(
        "outcomes", "json", after_n=3, all_courses=True))
    manifest = result.manifest
    assert manifest["filters"]["after_n"] == 3 and manifest["filters"]["all_courses"] is True
    assert manifest["filters"]["small_cell"] == 5
    assert manifest["deidentified"] is True and manifest["date_mode"] is None


def test_auditor_is_refused_identified_data_and_the_refusal_is_audited(actors):
    with pytest.raises(PermissionDenied, match="de-identified data only"):
        run_export(actor=actors["auditor"], request=ExportRequest(
            "patients", "csv", deidentified=False, reason="curious"))
    [denied] = _events("denied")
    assert (denied.username, denied.entity, denied.entity_id) == \
        ("audit.person", "export", "patients")
    assert denied.reason == "export_identified"
    assert _events("export") == []


def test_director_needs_a_reason_for_identified_data(actors):
    for reason in ("", "   "):
        with pytest.raises(ExportError, match="reason"):
            run_export(actor=actors["director"], request=ExportRequest(
                "patients", "csv", deidentified=False, reason=reason))
    assert _events("export") == []


@pytest.mark.parametrize("role", ["clinician", "admin"])
def test_clinicians_and_admins_do_not_export(actors, role):
    with pytest.raises(PermissionDenied):
        run_export(actor=actors[role], request=ExportRequest("outcomes", "json"))
    assert [e.entity_id for e in _events("denied")] == ["outcomes"]
    assert _events("export") == []


def test_audit_export_needs_view_audit(actors, monkeypatch):
    from models import access

    monkeypatch.setitem(access.PERMISSIONS, "auditor",
                        access.PERMISSIONS["auditor"] - {"view_audit"})
    with pytest.raises(PermissionDenied, match="audit trail"):
        run_export(actor=actors["auditor"], request=ExportRequest("audit", "csv"))
    assert _events("denied")[0].reason == "view_audit"


def test_a_director_of_one_clinic_exports_that_clinic_only(actors):
    director = make_user("cl2.director", "director", ("CL2",))
    result = run_export(actor=director, request=ExportRequest(
        "patients", "csv", deidentified=False, reason="clinic audit"))
    rows = list(csv.DictReader(io.StringIO(result.content.decode("utf-8"))))
    assert sorted(r["patient_code"] for r in rows) == ["MRN-777001", "MRN-777002"]


@pytest.mark.parametrize(("request_", "field"), [
    (ExportRequest("nope", "csv"), "kind"), (ExportRequest("report", "csv"), "format"),
    (ExportRequest("scores", "csv", date_mode="months"), "dates"),
    (ExportRequest("outcomes", "json", after_n=0), "after"),
])
def test_bad_requests_name_the_field(actors, request_, field):
    with pytest.raises(ExportError, match=f"^{field}:"):
        run_export(actor=actors["director"], request=request_)
