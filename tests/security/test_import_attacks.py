"""Issue 15, input: both imports apply the forms' rules (models/validation.py), column-wise
for the score import, and every hostile cell is refused naming its line and field, with
nothing written; reports are bounded and never echo SQL or raw control characters.

Each case: the cell, the field it goes in, what must happen (the refusal's fragment).
Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL (where a NUL used to reach
the INSERT and crash it).
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from sqlalchemy import text

import manage
from data.accounts.users import get_or_create_clinic
from data.imports.importer import import_scores
from data.imports.patient_import import import_patients
from data.store.db import write_session
from models.access import SYSTEM
from tests.reliability.helpers import table_counts

TODAY = date(2024, 6, 30)
ITEMS = {f"item_{n}": v for n, v in enumerate("333231300", 1)}
GOOD = {"patient_id": "P1", "clinic": "CL1", "infusion_number": "1", "timepoint": "pre",
        "date": "2024-06-01", "instrument": "PHQ-9", **ITEMS}
COLUMNS = ["patient_id", "clinic", "clinician", "indication", "course_id", "infusion_number",
           "timepoint", "date", "instrument", *ITEMS, "total", "dose_mg_per_kg"]


def score_file(**cells: str) -> bytes:
    out = io.StringIO()
    quoting = csv.QUOTE_ALL if any("\r" in c for c in cells.values()) else csv.QUOTE_MINIMAL
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n", quoting=quoting)
    writer.writeheader()
    writer.writerow({**GOOD, "patient_id": "P0"})  # a good line 2: the bad row is line 3
    writer.writerow({**GOOD, **cells})
    return out.getvalue().encode("utf-8")


SCORE_CASES = [
    # (name, field, cell, fragment of the refusal)
    ("clinic formula", "clinic", "=HYPERLINK(\"x\")", "is not a clinic code"),
    ("clinic markup", "clinic", "<b>CL</b>", "is not a clinic code"),
    ("clinic starting with -", "clinic", "-CL1", "is not a clinic code"),
    ("clinic with a space", "clinic", "CL 1", "is not a clinic code"),
    ("clinic case variant", "clinic", "cl1", "differs only in case from the clinic 'CL1'"),
    ("patient code NUL", "patient_id", "P\x001", "control character (U+0000)"),
    ("patient code escape", "patient_id", "P\x1b[31m1", "control character (U+001B)"),
    ("patient code line break", "patient_id", "P\n1", "control character (U+000A)"),
    ("patient code CR", "patient_id", "P\r1", "control character (U+000D)"),
    ("patient code U+2028", "patient_id", "P\u20281", "line separator (U+2028)"),
    ("patient code noncharacter", "patient_id", "P\uffff1", "noncharacter (U+FFFF)"),
    ("patient code plane-16 noncharacter", "patient_id", "P\U0010fffe", "noncharacter"),
    ("patient code too long", "patient_id", "P" * 65, "65 characters is too long; at most 64"),
    ("patient code bidi override", "patient_id", "P\u202e100", "invisible character (U+202E)"),
    ("patient code zero-width space", "patient_id", "P\u200b1", "invisible character (U+200B)"),
    ("patient code byte-order mark", "patient_id", "P\ufeff1", "invisible character (U+FEFF)"),
    ("course label bidi isolate", "course_id", "c\u20661", "invisible character (U+2066)"),
    ("clinician NUL", "clinician", "dr\x00x", "control character (U+0000)"),
    ("clinician noncharacter", "clinician", "dr\ufdd0", "noncharacter (U+FDD0)"),
    ("indication escape", "indication", "TRD\x1b", "control character (U+001B)"),
    ("indication too long", "indication", "x" * 101, "101 characters is too long"),
    ("course label DEL", "course_id", "c\x7f", "control character (U+007F)"),
    ("year 999", "date", "0999-12-31", "is not plausible; dates are on or after 2000-01-01"),
    ("year 1", "date", "0001-01-01", "is not plausible"),
    ("year 0", "date", "0000-01-01", "is not a valid ISO date"),
    ("year 1999", "date", "1999-12-31", "is not plausible"),
    ("five-digit year", "date", "20240-01-01", "is not a valid ISO date"),
    ("future date", "date", "2024-07-01", "is in the future"),
    ("Arabic-Indic digits", "date", "٢٠٢٤-٠١-٠١", "is not a valid ISO date"),
    ("thousands of digits item", "item_1", "9" * 5000, "(5000 characters) is out of range"),
    ("thousands of digits total", "total", "1" * 5000, "is out of range"),
    ("thousands of digits infusion", "infusion_number", "1" * 5000,
     "(5000 characters)' is not a positive integer"),
    ("thousands of digits dose", "dose_mg_per_kg", "9" * 5000, "is not a positive number"),
    ("infinite dose", "dose_mg_per_kg", "1e999", "is not a positive number"),
    ("NaN dose", "dose_mg_per_kg", "nan", "is not a positive number"),
    ("superscript item", "item_1", "²", "is not an integer"),
]


@pytest.fixture
def clinic(engine):
    with write_session() as session:
        get_or_create_clinic(session, actor=SYSTEM, code="CL1")
    return engine


@pytest.mark.parametrize(("name", "field", "cell", "fragment"), SCORE_CASES,
                         ids=[c[0] for c in SCORE_CASES])
def test_a_hostile_score_cell_is_refused_naming_line_and_field(clinic, name, field, cell,
                                                                fragment):
    before = table_counts(clinic)
    report = import_scores(score_file(**{field: cell}), actor=SYSTEM, today=TODAY)
    assert not report.ok
    mine = [e for e in report.errors if e.line == 3 and e.field == field]
    assert mine and fragment in mine[0].reason, report.format()
    assert table_counts(clinic) == before  # nothing written, no audit event
    assert "\x1b" not in report.format() and "\x00" not in report.format()
    assert len(report.format()) < 2000  # a 5,000-digit cell is not echoed whole


PATIENT_CASES = [
    ("clinic formula", "clinic", "=1+1", "is not a clinic code"),
    ("clinic case variant", "clinic", "cl1", "differs only in case"),
    ("patient code NUL", "patient_id", "P\x001", "control character (U+0000)"),
    ("patient code escape", "patient_id", "P\x1b1", "control character (U+001B)"),
    ("patient code bidi override", "patient_id", "P\u202e1", "invisible character (U+202E)"),
    ("name noncharacter", "name", "Ann\ufffe", "noncharacter (U+FFFE)"),
    ("name lone line separator", "name", "Ann\u2029Lee", "line separator (U+2029)"),
    ("indication noncharacter", "indication", "TRD\uffff", "noncharacter"),
    ("birth year 999", "birth_date", "0999-01-01", "is not plausible"),
    ("birth year 0", "birth_date", "0000-01-01", "is not a date"),
    ("failed trials superscript", "failed_trials", "²", "is not a whole number"),
    ("failed trials thousands of digits", "failed_trials", "9" * 5000, "is not a whole number"),
]


def patient_file(**cells: str) -> bytes:
    columns = ["patient_id", "clinic", "name", "birth_date", "indication", "failed_trials"]
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerow({"patient_id": "P0", "clinic": "CL1"})
    writer.writerow({"patient_id": "P1", "clinic": "CL1", **cells})
    return out.getvalue().encode("utf-8")


@pytest.mark.parametrize(("name", "field", "cell", "fragment"), PATIENT_CASES,
                         ids=[c[0] for c in PATIENT_CASES])
def test_a_hostile_patient_cell_is_refused_naming_line_and_field(clinic, name, field, cell,
                                                                  fragment):
    before = table_counts(clinic)
    report = import_patients(patient_file(**{field: cell}), actor=SYSTEM, today=TODAY)
    assert not report.ok
    mine = [e for e in report.errors if e.line == 3 and e.field == field]
    assert mine and fragment in mine[0].reason, report.format()
    assert table_counts(clinic) == before
    assert "\x1b" not in report.format() and "\x00" not in report.format()


def test_two_case_variants_of_a_new_clinic_in_one_file_are_refused(engine):
    raw = score_file(clinic="new.clinic").replace(b"CL1", b"NEW.CLINIC")
    report = import_scores(raw, actor=SYSTEM, today=TODAY)
    assert not report.ok
    assert any(e.field == "clinic" and "differs only in case" in e.reason
               for e in report.errors), report.format()


def test_the_command_line_reports_a_nul_without_sql_or_codes(clinic, tmp_path, capsys):
    path = tmp_path / "scores.csv"
    path.write_bytes(score_file(patient_id="SECRET\x00CODE"))
    assert manage.main(["import-scores", str(path)]) == 2
    err = capsys.readouterr().err
    assert "line 3, patient_id: contains a control character (U+0000)" in err
    assert "INSERT" not in err and "SELECT" not in err and "\x00" not in err


def test_a_database_error_is_reported_without_its_statement_or_parameters(clinic):
    from manage import describe_failure

    try:
        with write_session() as session:
            session.execute(text("INSERT INTO clinic (code, name, created_at) VALUES "
                                 "(:c, :n, CURRENT_TIMESTAMP)"), {"c": "CL1", "n": "SECRET-P-77"})
    except Exception as exc:
        message = describe_failure(exc)
    assert "SECRET-P-77" not in message and "INSERT" not in message
    assert message.startswith("the store refused the operation (")


def test_a_file_of_bad_rows_reports_bounded_errors_quickly(clinic):
    """Every row bad in 4 fields: all counted, 20 per field listed, memory bounded (its
    time is a benchmark figure, not a test)."""
    import tracemalloc

    row = "P\x1b,=X,,,,abc,zzz,0999-01-01," + "PHQ-9," + ",".join("333231300") + ",,\n"
    header = ",".join(COLUMNS) + "\n"
    raw = (header + row * 50_000).encode("utf-8")
    tracemalloc.start()
    report = import_scores(raw, actor=SYSTEM, today=TODAY)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert not report.ok and report.total_errors == 5 * 50_000
    assert len(report.errors) == 5 * 20
    lines = report.format().splitlines()
    assert len(lines) < 200
    assert any("50000 x patient_id: contains a control character" in line for line in lines)
    assert peak < 600 * 1024 * 1024, peak
