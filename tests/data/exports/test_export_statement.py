"""The `statement` export ('Our outcomes, honestly'): the same numbers as `export outcomes`
for the same filters, a PDF that says them, and an audited export like the others."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import date

from sqlmodel import select

from data.exports import ExportRequest, run_export
from data.exports.service import clinic_ids_for
from data.store.db import read_session
from models.access import SYSTEM
from models.tables import AuditEvent, Clinic
from tests.cli_runner import run_manage
from tests.data.exports.conftest import searchable_text

START, END, AS_OF = date(2025, 1, 1), date(2026, 5, 31), date(2026, 6, 1)


def _clinic_code() -> str:
    with read_session() as session:
        return session.exec(select(Clinic).order_by(Clinic.code)).first().code


def _request(kind: str, fmt: str, code: str) -> ExportRequest:
    with read_session() as session:
        ids = clinic_ids_for(session, [code])
    return ExportRequest(kind, fmt, clinic_ids=ids, start=START, end=END, as_of=AS_OF,
                         reason="referrer pack")


def test_statement_csv_equals_the_outcomes_json(demo):
    code = _clinic_code()
    summary = json.loads(run_export(actor=SYSTEM, request=_request("outcomes", "json", code))
                         .content)
    result = run_export(actor=SYSTEM, request=_request("statement", "csv", code))
    rows = {r["measure"]: r for r in csv.DictReader(io.StringIO(result.content.decode()))
            if r["section"] != "definition"}
    after, retention = summary["PHQ-9"]["after_infusion_6"], summary["retention"]
    assert after["n_evaluable"] >= 5  # rates shown: the comparison below means something
    assert rows["period"]["text"] == "courses starting from 2025-01-01 to 2026-05-31"
    assert rows["clinics"]["text"] == code
    assert int(rows["patients started"]["count"]) == retention["n_courses"]
    done = rows["completed induction"]
    assert int(done["count"]) == retention["n_completed_induction"]
    assert int(done["denominator"]) == retention["n_completed_induction"] + retention["n_stopped"]
    assert float(done["rate"]) == retention["completion_rate"]
    for label, key in (("response", "responders"), ("remission", "remitters")):
        for which, n_key in (("observed", "n_evaluable"), ("ITT", "n_with_baseline")):
            row = rows[f"{label} after infusion 6 ({which})"]
            assert int(row["count"]) == after[key]
            assert int(row["denominator"]) == after[n_key]
            assert float(row["rate"]) == after[f"{label}_rate_{which.lower()}"]
            assert float(row["ci95_low"]) <= float(row["rate"]) <= float(row["ci95_high"])
    manifest = result.manifest
    assert manifest["kind"] == "statement" and manifest["deidentified"] is True
    assert manifest["filename"].startswith("outcomes-statement-")
    with read_session() as session:
        event = session.get(AuditEvent, result.event_id)
    assert event.action == "export" and event.reason == "referrer pack"
    assert json.loads(event.new_value)["sha256"] == manifest["sha256"]


def test_statement_pdf_holds_the_key_lines(demo):
    code = _clinic_code()
    summary = json.loads(run_export(actor=SYSTEM, request=_request("outcomes", "json", code))
                         .content)
    result = run_export(actor=SYSTEM, request=_request("statement", "pdf", code))
    assert result.content.startswith(b"%PDF")
    text = " ".join(searchable_text(result.content, "pdf").split())
    after = summary["PHQ-9"]["after_infusion_6"]
    observed = f"{100 * after['response_rate_observed']:.1f} % ({after['responders']} of " \
               f"{after['n_evaluable']}; 95 % CI"
    for line in ("Our outcomes, honestly", "Period: courses starting from 2025-01-01 to "
                 "2026-05-31", f"Clinics: {code}", "Patients started", "Completed induction",
                 "Wilson score interval, z = 1.96", "(ITT)", "(observed)", observed,
                 "Definitions", "Remission: a score of 4 or less"):
        assert line in text, line


def test_statement_from_the_command_line(demo, tmp_path):
    code = _clinic_code()
    assert os.environ["DATABASE_URL"] == demo
    out = tmp_path / "statement.pdf"
    done = run_manage("export", "statement", "--format", "pdf", "--start", "2025-01-01",
                      "--clinic", code, "--reason", "website", "--out", str(out), binary=True)
    assert done.returncode == 0, done.stderr
    assert b"statement export, de-identified" in done.stderr
    assert out.read_bytes().startswith(b"%PDF")
    bad = run_manage("export", "statement", "--format", "xlsx", binary=True)
    assert bad.returncode == 2 and b"statement exports as csv, pdf" in bad.stderr
