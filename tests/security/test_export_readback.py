"""Issue 15, input: an export that does not read back as its format is never handed over
nor audited as an export (data/files/readback.py), and text stored before the text rule
refused noncharacters cannot corrupt an XLSX.

Each case: the file's defect and what must happen (detected: ExportReadBackError, no
'export' event; or neutralised: written, read back, and the manifest says how).
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from openpyxl import load_workbook
from sqlmodel import select

import manage
from data.exports import ExportReadBackError, ExportRequest, run_export
from data.files.readback import read_back
from data.store.db import read_session, write_session
from models.tables import AuditEvent, Patient
from tests.data.exports.store import seed_identifier_store


def exports() -> list[AuditEvent]:
    with read_session() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == "export")).all())


@pytest.fixture
def stored(store_url):
    """A name saved before the text rule refused noncharacters (written directly)."""
    actors = seed_identifier_store()
    with write_session() as session:
        patient = session.exec(select(Patient).where(Patient.patient_code == "MRN-555001")).one()
        patient.name = "Old\ufffeName\uffff"
        session.add(patient)
    return actors


def test_an_xlsx_with_stored_noncharacters_is_neutralised_and_reads_back(stored):
    result = run_export(actor=stored["director"], request=ExportRequest(
        "patients", "xlsx", deidentified=False, reason="check"))
    assert result.manifest["read_back"] == "full"
    names = [c.value for c in load_workbook(io.BytesIO(result.content))["patients"]["B"]]
    assert "Old\ufffdName\ufffd" in names


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_csv_or_json_with_stored_noncharacters_is_detected_and_not_audited(stored, fmt):
    before = len(exports())
    with pytest.raises(ExportReadBackError, match="noncharacter or surrogate at byte"):
        run_export(actor=stored["director"], request=ExportRequest(
            "patients", fmt, deidentified=False, reason="check"))
    assert len(exports()) == before


def test_the_command_line_exits_1_and_records_no_export(stored, capsys):
    assert manage.main(["export", "patients", "--reason", "check"]) == 1
    assert "did not read back" in capsys.readouterr().err
    assert exports() == []


def _xlsx_with(part_text: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("xl/worksheets/sheet1.xml", part_text)
    return buffer.getvalue()


FILES = [
    # (format, kind, bytes, what the manifest says, fragment of the refusal)
    ("csv", "scores", b"a,b\n1,2\n", {"row_count": 2}, "1 rows read back, 2 written"),
    ("csv", "scores", b"a,b\n1,2,3\n", {"row_count": 1}, "row 1 has 3 cells"),
    ("csv", "scores", b"a,b\n\"1,2\n", {"row_count": 1}, "unexpected end of data"),
    ("csv", "scores", "a\n\ufdd0\n".encode(), {"row_count": 1}, "noncharacter"),
    ("csv", "scores", b"a\n\xff\n", {"row_count": 1}, "not UTF-8"),
    ("json", "scores", b'{"rows": [1, 2', {"row_count": 2}, "not JSON"),
    ("json", "scores", b'{"rows": [1]}', {"row_count": 2}, "1 rows read back, 2 written"),
    ("json", "fhir", b'{"entry": []}', {"row_count": 3}, "0 entry read back"),
    ("json", "outcomes", "{\"x\": \"\U0010ffff\"}".encode(), {}, "noncharacter"),
    ("xlsx", "scores", b"not a zip", {}, "BadZipFile"),
    ("xlsx", "scores", _xlsx_with(b"<a><b></a>"), {}, "ExpatError"),
    ("xlsx", "scores", _xlsx_with("<a>\ufffe</a>".encode()), {}, "noncharacter"),
    ("pdf", "report", b"%PDF-1.4 truncated", {}, "end-of-file marker"),
]


@pytest.mark.parametrize(("fmt", "kind", "content", "described", "fragment"), FILES,
                         ids=[f"{f[0]}-{f[4][:20]}" for f in FILES])
def test_a_broken_file_does_not_read_back(fmt, kind, content, described, fragment):
    with pytest.raises(ExportReadBackError, match=fragment.replace("(", r"\(")):
        read_back(content, fmt, kind=kind, described=described)


@pytest.mark.parametrize(("kind", "fmt"), [("scores", "csv"), ("scores", "xlsx"),
                                           ("scores", "json"), ("fhir", "json"),
                                           ("outcomes", "xlsx"), ("report", "pdf")])
def test_every_good_export_reads_back_in_full(store_url, kind, fmt):
    actors = seed_identifier_store()
    result = run_export(actor=actors["auditor"], request=ExportRequest(kind, fmt))
    assert result.manifest["read_back"] == "full"
    assert json.loads(exports()[-1].new_value)["read_back"] == "full"


def test_the_audit_page_export_and_the_alert_list_are_read_back(store_url, monkeypatch):
    """The other files that leave the store go through the same check (a writer bug is
    simulated: one row too few in the CSV)."""
    from data.audit import audit_queries
    from data.audit.audit_queries import AuditFilter, export_events_csv
    from data.clinic import alerts
    from data.clinic.alerts import export_alerts
    from models.access import SYSTEM

    seed_identifier_store()
    real = audit_queries.write_csv
    monkeypatch.setattr(audit_queries, "write_csv",
                        lambda header, rows: real(header, list(rows)[:-1]))
    with pytest.raises(ExportReadBackError, match="rows read back"), \
            write_session() as session:
        export_events_csv(session, actor=SYSTEM, filters=AuditFilter())
    monkeypatch.setattr(alerts, "format_alerts", lambda rows, fmt: "[]")
    with pytest.raises(ExportReadBackError, match="not 1 items long"):
        export_alerts(actor=SYSTEM, fmt="json", reason="on-call")
    assert exports() == []
