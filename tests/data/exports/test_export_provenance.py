"""Score provenance in the exports: source and completed_at (docs/EXPORTS.md).

The identifier store's first PHQ-9 (CL1 patient, pre 1, 2024-03-04) is marked as answered
by the patient on the clinic's kiosk at 2024-03-04 08:15 UTC; its GAD-7 stays a
clinician's score without a completion time.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from data.exports import ExportRequest, run_export
from data.store.db import write_session
from models.tables import Assessment

COMPLETED = datetime(2024, 3, 4, 8, 15, tzinfo=UTC)


@pytest.fixture
def kiosk(actors):
    with write_session() as session:
        first = session.exec(select(Assessment).where(Assessment.instrument == "PHQ-9")
                             .order_by(Assessment.id)).first()
        first.source, first.completed_at = "patient_kiosk", COMPLETED
        gad = session.exec(select(Assessment).where(Assessment.instrument == "GAD-7")
                           .order_by(Assessment.id)).first()
        gad.source = "clinician"
    return actors


def _rows(actor, deidentified: bool) -> list[dict]:
    result = run_export(actor=actor, request=ExportRequest(
        "scores", "csv", deidentified=deidentified, reason="provenance"))
    return list(csv.DictReader(io.StringIO(result.content.decode("utf-8-sig"))))


def test_identified_scores_carry_source_and_completed_at(kiosk):
    rows = _rows(kiosk["director"], deidentified=False)
    by_source = {r["source"]: r for r in rows}
    assert by_source["patient_kiosk"]["completed_at"] == "2024-03-04T08:15:00+00:00"
    assert by_source["patient_kiosk"]["instrument"] == "PHQ-9"
    assert by_source["clinician"]["completed_at"] == ""  # not known


def test_deidentified_scores_keep_source_and_drop_completed_at(kiosk):
    rows = _rows(kiosk["auditor"], deidentified=True)
    assert "completed_at" not in rows[0]  # a timestamp: dropped, as entered_at
    assert "patient_kiosk" in {r["source"] for r in rows}


def _responses(actor, deidentified: bool) -> list[dict]:
    result = run_export(actor=actor, request=ExportRequest(
        "fhir", "json", deidentified=deidentified, reason="provenance"))
    bundle = json.loads(result.content)
    return [e["resource"] for e in bundle["entry"]
            if e["resource"]["resourceType"] == "QuestionnaireResponse"]


def test_fhir_source_is_the_patient_and_authored_the_completion_time(kiosk):
    responses = _responses(kiosk["director"], deidentified=False)
    by_source = [r for r in responses if "source" in r]
    assert len(by_source) == 1  # only the kiosk score
    kiosk_response = by_source[0]
    assert kiosk_response["source"] == kiosk_response["subject"]  # reference to the Patient
    assert kiosk_response["authored"] == "2024-03-04T08:15:00+00:00"
    others = [r for r in responses if "source" not in r]
    assert all(len(r["authored"]) == 10 for r in others)  # the date (YYYY-MM-DD)


def test_fhir_deidentified_authored_is_the_year(kiosk):
    responses = _responses(kiosk["auditor"], deidentified=True)
    kiosk_response = next(r for r in responses if "source" in r)
    assert kiosk_response["authored"] == "2024"
