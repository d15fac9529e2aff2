"""XLSX: one sheet per table and a 'definitions' sheet; text is never a formula (reopened
with openpyxl and searched in the XML); numbers, dates and booleans are Excel types."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime

import pytest
from openpyxl import Workbook, load_workbook

from data.exports import ExportRequest, run_export
from data.exports.xlsx import typed_cell
from tests.data.exports.store import INJECTIONS


def _workbook(actors, kind: str, deidentified: bool = False, **kw):
    result = run_export(actor=actors["director"], request=ExportRequest(
        kind, "xlsx", deidentified=deidentified, reason="xlsx test", **kw))
    return result.content, load_workbook(io.BytesIO(result.content))


def _rows(ws) -> list[dict]:
    header = [c.value for c in ws[1]]
    return [dict(zip(header, row, strict=True)) for row in ws.iter_rows(min_row=2)]


def test_typed_cell_never_makes_a_formula():
    ws = Workbook(write_only=True).create_sheet("t")
    for text in INJECTIONS:
        cell = typed_cell(ws, text)
        assert cell.data_type == "s" and cell.quotePrefix
        assert cell.value == text.replace("\r", "\n")
    plain = typed_cell(ws, "plain")
    assert plain.data_type == "s" and not plain.quotePrefix
    assert typed_cell(ws, -3).data_type == "n" and typed_cell(ws, True).data_type == "b"
    assert typed_cell(ws, "a\x01b").value == "ab"  # control characters Excel refuses


def test_injection_strings_in_names_and_notes_stay_text(actors):
    content, wb = _workbook(actors, "patients")
    assert wb.sheetnames == ["patients", "definitions"]
    rows = _rows(wb["patients"])
    cells = [row[key] for row in rows for key in ("patient_code", "name", "notes")]
    by_value = {c.value: c for c in cells}
    for text in ('=1+2', '+1+2', '-1+2', '@SUM(A1)', '=HYPERLINK("http://x","y")',
                 "\tTabbed note", "\nCarriage Name"):  # a CR is stored as a line feed
        cell = by_value[text]
        assert cell.data_type == "s", text  # not 'f': no formula
        assert cell.quotePrefix, text
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
        for name in sheets:
            assert "<f>" not in z.read(name).decode("utf-8"), name


def test_cells_are_typed(actors):
    _, wb = _workbook(actors, "infusions")
    rows = _rows(wb["infusions"])
    second = next(r for r in rows if r["patient_code"].value == "MRN-998877"
                  and r["infusion_number"].value == 2)
    assert second["weight_kg"].data_type == "n" and second["weight_kg"].value == -1.5
    assert second["infusion_number"].data_type == "n"
    assert second["administered_on"].is_date
    assert second["administered_on"].value == datetime(2024, 3, 7)  # start + 3 days
    assert second["started_at"].is_date and second["started_at"].value.hour == 9
    assert second["adverse_event_recorded"].data_type == "b"
    assert second["adverse_event_recorded"].value is True


def test_deidentified_workbook_definitions(actors):
    _, wb = _workbook(actors, "scores", deidentified=True, date_mode="days")
    assert wb.sheetnames == ["scores", "definitions"]
    definitions = _rows(wb["definitions"])
    facts = {r["column"].value: r["description"].value for r in definitions
             if r["sheet"].value == "(export)"}
    assert facts["date mode"].startswith("days")
    assert facts["de-identified"].startswith("HIPAA Safe Harbor")
    columns = {r["column"].value: r for r in definitions if r["sheet"].value == "scores"}
    assert "administered_on_day" in columns and "patient_code" not in columns
    assert columns["total"]["type"].value == "integer"
    assert columns["administered_on_day"]["description"].value.endswith(
        "days since the course start (0 = the course start day).")
    assert any(r["sheet"].value == "(de-identification)" for r in definitions)
    score_rows = _rows(wb["scores"])
    assert {r["course_start_year"].value for r in score_rows} == {2024}
    assert all(r["total"].data_type == "n" for r in score_rows)


@pytest.mark.parametrize("kind", ["outcomes", "audit"])
def test_other_workbooks(actors, kind):
    _, wb = _workbook(actors, kind, deidentified=True)
    expected = {"outcomes": ["summary", "by_clinic", "definitions"],
                "audit": ["audit", "definitions"]}[kind]
    assert wb.sheetnames == expected
    if kind == "outcomes":
        cells = {(r["instrument"].value, r["clinic"].value): r for r in _rows(wb["by_clinic"])}
        # CL1 is suppressed with CL2 (complementary suppression, issue 15)
        assert cells[("PHQ-9", "CL1")]["suppressed"].value is True
        assert cells[("PHQ-9", "CL1")]["response_rate_observed"].value is None
        assert cells[("PHQ-9", "CL1")]["n_courses"].value == 6
        assert cells[("PHQ-9", "CL2")]["suppressed"].value is True
        assert cells[("PHQ-9", "CL2")]["responders"].value is None


def test_date_filter(actors):
    # Course starts: CL1 2024-03-04 ... 2024-05-01, CL2 in June: April gives P3 and P4.
    _, wb = _workbook(actors, "patients", start=date(2024, 4, 1), end=date(2024, 4, 30))
    assert sorted(r["patient_code"].value for r in _rows(wb["patients"])) == ["+1+2", "@SUM(A1)"]


def test_a_table_longer_than_a_sheet_continues_on_numbered_sheets(monkeypatch):
    import data.exports.xlsx as xlsx

    monkeypatch.setattr(xlsx, "MAX_SHEET_ROWS", 2)
    rows = [[1], [2], [3], [4], [5]]
    assert xlsx.sheet_parts("scores", rows) == [
        ("scores", [[1], [2]]), ("scores (2)", [[3], [4]]), ("scores (3)", [[5]])]
    assert xlsx.sheet_parts("scores", rows[:2]) == [("scores", [[1], [2]])]


def test_the_sheet_limit_is_excels():
    from data.exports.xlsx import MAX_SHEET_ROWS

    assert MAX_SHEET_ROWS + 1 == 2 ** 20  # Excel: 1,048,576 rows, the header included
