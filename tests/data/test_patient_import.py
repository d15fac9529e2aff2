"""`import-patients`: all or nothing, every bad row reported (line, field, reason),
spreadsheet quirks accepted (BOM, CRLF, spaces)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlmodel import func, select

import manage
from data.imports.patient_import import import_patients
from data.store.db import read_session
from models.access import SYSTEM, PermissionDenied
from models.tables import AuditEvent, Clinic, Patient
from tests.factories import make_user

TODAY = date(2025, 3, 10)


def patients() -> list[tuple]:
    with read_session() as session:
        stmt = (select(Clinic.code, Patient.patient_code, Patient.name, Patient.birth_date,
                       Patient.sex, Patient.indication, Patient.failed_trials)
                .join(Clinic, Clinic.id == Patient.clinic_id).order_by(Patient.patient_code))
        return [tuple(r) for r in session.exec(stmt).all()]


def test_a_clean_file_with_bom_crlf_and_spaces_is_imported(store_url):
    raw = ("\ufeffpatient_id , clinic,name,birth_date,sex,indication,failed_trials,extra\r\n"
           " P-1 , CL1 , Zoë <b>O'Brien</b> ,1980-05-17, F ,TRD, 3,x\r\n"
           "\r\n"
           "P-2,CL2,,,,,,\r\n"
           'P-3,CL1,"Doe, Jane",2008-01-01,unknown,,0,\r\n').encode("utf-8")
    report = import_patients(raw, actor=SYSTEM, today=TODAY)
    assert report.ok, report.format()
    assert report.created == {"clinics": 2, "patients": 3}
    assert report.warnings[0] == "unknown column ignored: 'extra'"
    assert report.warnings[1].startswith("line 5: birth_date: the patient is 17 years old")
    assert patients() == [
        ("CL1", "P-1", "Zoë <b>O'Brien</b>", date(1980, 5, 17), "female", "TRD", 3),
        ("CL2", "P-2", "", None, None, None, None),
        ("CL1", "P-3", "Doe, Jane", date(2008, 1, 1), "unknown", None, 0),
    ]
    with read_session() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "import",
                                                      AuditEvent.entity == "patients")).one()
    assert json.loads(event.new_value)["created"] == {"clinics": 2, "patients": 3}
    assert "P-1" not in event.new_value


def test_every_bad_row_is_reported_and_nothing_written(store_url):
    existing = (b"patient_id,clinic\nP-9,CL1\n")
    assert import_patients(existing, actor=SYSTEM, today=TODAY).ok
    raw = (b"patient_id,clinic,name,birth_date,sex,failed_trials\n"
           b"P-1,CL1,Ann,1980-13-01,female,2\n"  # line 2: impossible month
           b",CL1,Bob,,,\n"  # line 3: no code
           b"P-3,CL1,Cy,2025-03-11,x,31\n"  # line 4: future, bad sex, too many trials
           b"P-4,CL 1,Di,,,\n"  # line 5: bad clinic code
           b"P-1,CL1,Ann again,,,\n"  # line 6: duplicate of line 2 (which also fails)
           b"P-9,CL1,Ed,1899-12-31,,two\n"  # line 7: already registered + bad cells
           b"P-7,CL1,Fay,17/05/1980,,\n")  # line 8: not ISO
    report = import_patients(raw, actor=SYSTEM, today=TODAY)
    assert not report.ok
    got = [(e.line, e.field) for e in report.errors]
    assert got == [(2, "birth_date"), (3, "patient_id"), (4, "birth_date"), (4, "failed_trials"),
                   (4, "sex"), (5, "clinic"), (6, "patient_id"), (7, "birth_date"),
                   (7, "failed_trials"), (7, "patient_id"), (8, "birth_date")]
    text = report.format()
    assert text.startswith("import rejected: 11 error(s); nothing was written")
    assert "line 2, birth_date: '1980-13-01' is not a date; write YYYY-MM-DD" in text
    assert "line 5, clinic: 'CL 1' is not a clinic code" in text
    assert "line 6, patient_id: 'P-1' of clinic CL1 is also on line 2" in text
    assert "line 4, birth_date: 2025-03-11 is in the future (today is 2025-03-10)" in text
    assert "line 7, patient_id: 'P-9' is already registered in clinic CL1" in text
    assert [p[1] for p in patients()] == ["P-9"]


def test_a_code_twice_in_the_file_is_an_error_on_the_second_line(store_url):
    raw = b"patient_id,clinic\nP-1,CL1\nP-2,CL1\nP-1,CL1\n"
    report = import_patients(raw, actor=SYSTEM, today=TODAY)
    assert [(e.line, e.field) for e in report.errors] == [(4, "patient_id")]
    assert "also on line 2" in report.errors[0].reason
    assert patients() == []


@pytest.mark.parametrize(("raw", "message"), [
    (b"", "the file is empty"),
    (b"code,clinic\nP-1,CL1\n", "lacks required column(s) patient_id"),
    (b"patient_id,clinic\n", "no data rows"),
    (b"patient_id,clinic,clinic\nP,C,C\n", "appears twice"),
    ("patient_id,clinic\nP-\xe9,CL1\n".encode("latin-1"), "not UTF-8"),
])
def test_unreadable_files(store_url, raw, message):
    report = import_patients(raw, actor=SYSTEM, today=TODAY)
    assert not report.ok and message in report.errors[0].reason


def test_scope_and_permission(store_url):
    boss = make_user("boss", "director", ("CL1",))
    report = import_patients(b"patient_id,clinic\nA,CL1\nB,CL9\n", actor=boss, today=TODAY)
    assert [(e.line, e.field) for e in report.errors] == [(3, "clinic")]
    assert patients() == []
    auditor = make_user("aud", "auditor", ("CL1",))
    with pytest.raises(PermissionDenied):
        import_patients(b"patient_id,clinic\nA,CL1\n", actor=auditor, today=TODAY)


def test_the_command_line(store_url, tmp_path, capsys):
    good = tmp_path / "patients.csv"
    good.write_text("patient_id,clinic,name\nP-1,CL1,Ann\n", encoding="utf-8")
    assert manage.main(["import-patients", str(good), "--dry-run"]) == 0
    assert "dry run: 1 rows are valid; would create clinics 1, patients 1" in \
        capsys.readouterr().err
    assert patients() == []
    assert manage.main(["import-patients", str(good)]) == 0
    assert "imported 1 rows; created clinics 1, patients 1" in capsys.readouterr().err
    assert manage.main(["import-patients", str(good)]) == 2
    assert "line 2, patient_id: 'P-1' is already registered" in capsys.readouterr().err
    assert manage.main(["import-patients", str(tmp_path / "missing.csv")]) == 2
    with read_session() as session:
        assert session.exec(select(func.count()).select_from(Patient)).one() == 1
