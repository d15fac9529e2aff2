"""`manage.py export` end to end: kinds, formats, de-identification, reasons, manifests."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from fhir.resources.R4B.bundle import Bundle
from openpyxl import load_workbook
from sqlmodel import select

from data.store.db import read_session
from models.tables import AuditEvent
from tests.cli_runner import Ran, run_manage
from tests.data.exports.store import seed_identifier_store


def manage(*args: str, url: str) -> Ran:
    """`manage.py export ARGS` in-process, bytes out like a process's pipes."""
    assert os.environ["DATABASE_URL"] == url
    return run_manage("export", *args, binary=True)


@pytest.fixture
def url(store_url):
    seed_identifier_store()
    return store_url


def _exports() -> list[AuditEvent]:
    with read_session() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == "export")
                                 .order_by(AuditEvent.id)).all())


def test_deidentified_scores_to_stdout(url):
    result = manage("scores", "--deidentify", "--dates", "days", url=url)
    assert result.returncode == 0, result.stderr
    text = result.stdout.decode("utf-8")
    assert text.startswith("study_id,clinic,course_number,course_start_year,")
    assert "MRN-998877" not in text and "dr.kplmnq" not in text
    stderr = result.stderr.decode("utf-8")
    assert "de-identified: 30 rows" in stderr and "audit event" in stderr
    [event] = _exports()
    manifest = json.loads(event.new_value)
    assert event.username == "system" and manifest["date_mode"] == "days"
    assert manifest["sha256"] == hashlib.sha256(result.stdout).hexdigest()


def test_identified_export_needs_a_reason(url, tmp_path):
    refused = manage("patients", url=url)
    assert refused.returncode == 2 and b"--reason" in refused.stderr
    assert _exports() == []
    out = tmp_path / "patients.xlsx"
    ok = manage("patients", "--format", "xlsx", "--reason", "operator check", "--out",
                str(out), url=url)
    assert ok.returncode == 0, ok.stderr
    assert b"IDENTIFIED (for the store's operator)" in ok.stderr
    [event] = _exports()
    assert event.reason == "operator check"
    assert json.loads(event.new_value)["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    names = [c.value for c in load_workbook(out)["patients"]["B"]]  # no study_id column
    assert "Zyxwvut Qqqq" in names


def test_fhir_report_and_outcomes_files(url, tmp_path):
    fhir = tmp_path / "bundle.json"
    assert manage("fhir", "--deidentify", "--out", str(fhir), url=url).returncode == 0
    Bundle.model_validate(json.loads(fhir.read_text(encoding="utf-8")))
    report = tmp_path / "report.pdf"
    assert manage("report", "--clinic", "CL1", "--out", str(report), url=url).returncode == 0
    assert report.read_bytes().startswith(b"%PDF")
    book = tmp_path / "outcomes.xlsx"
    assert manage("outcomes", "--format", "xlsx", "--out", str(book), url=url).returncode == 0
    assert load_workbook(book).sheetnames == ["summary", "by_clinic", "definitions"]
    kinds = [json.loads(e.new_value)["kind"] for e in _exports()]
    assert kinds == ["fhir", "report", "outcomes"]
    assert json.loads(_exports()[1].new_value)["filters"]["clinics"] == "CL1"


@pytest.mark.parametrize(("args", "flag"), [
    (("nope",), "KIND"), (("report", "--format", "csv"), "--format"),
    (("scores", "--deidentify", "--clinic", "NOPE"), "--clinic"),
    (("scores", "--deidentify", "--start", "2024-13-01"), "--start"),
    (("scores", "--deidentify", "--start", "2024-06-01", "--end", "2024-01-01"), "--start/--end"),
    (("fhir", "--deidentify", "--dates", "days"), "--dates"),
])
def test_bad_input_exits_2_naming_the_flag(url, args, flag):
    result = manage(*args, url=url)
    assert result.returncode == 2
    assert result.stderr.decode("utf-8").startswith(f"error: {flag}:")


def test_fhir_ndjson_into_a_directory_or_a_zip(url, tmp_path):
    """FHIR Bulk Data NDJSON: a directory receives one file per resource type; a file name
    receives the ZIP whose SHA-256 the audit event records (8 patients, 30 PHQ-9 and
    GAD-7 scores, each with a total)."""
    import zipfile

    into = tmp_path / "bulk"
    into.mkdir()
    done = manage("fhir", "--deidentify", "--format", "ndjson", "--out", str(into), url=url)
    assert done.returncode == 0, done.stderr
    lines = {p.name: p.read_text().splitlines() for p in into.iterdir()}
    assert {name: len(found) for name, found in lines.items()} == {
        "Patient.ndjson": 8, "QuestionnaireResponse.ndjson": 30, "Observation.ndjson": 30}
    assert all(json.loads(line)["resourceType"] == "Patient" for line in lines["Patient.ndjson"])
    assert "MRN-998877" not in "".join(lines["Patient.ndjson"])
    archive = tmp_path / "bulk.zip"
    done = manage("fhir", "--deidentify", "--format", "ndjson", "--out", str(archive), url=url)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(archive) as z:
        assert sorted(z.namelist()) == sorted(lines)
    events = _exports()
    assert len(events) == 2
    manifest = json.loads(events[-1].new_value)
    assert manifest["format"] == "ndjson" and manifest["rows"]["Observation"] == 30
    assert manifest["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    refused = manage("scores", "--deidentify", "--out", str(into), url=url)
    assert refused.returncode == 2 and b"is a directory" in refused.stderr
