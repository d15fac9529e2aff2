"""Issue 15, privacy: what de-identified files may hold.

- Every column of every export has an explicit de-identification rule (kept,
  pseudonym, generalised, dropped as identifier/timestamp, date, staff, age): a column
  without one fails this test and makes `deidentify` fail (fail closed).
- Free text typed for 'other' (the indication) never reaches a de-identified file.
- De-identified files name no member of staff, the exporting user included.
- Identified files carry no study ID, so one identified file cannot re-identify every
  de-identified one; the study ID appears in de-identified files only.
- Small-cell suppression covers every block: a date range catching one course gives no
  outcome, and the overall block minus the shown clinics gives no small clinic's outcome
  (complementary suppression, data/exports/suppression.py).
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlmodel import select

from data.exports import ExportRequest, run_export
from data.exports.deidentify import deidentify
from data.exports.suppression import suppress_summary
from data.exports.tables import Table
from data.files.columns import (
    AUDIT_COLUMNS,
    INFUSION_COLUMNS,
    OUTCOME_SUMMARY_COLUMNS,
    PATIENT_COLUMNS,
    PHI_RULES,
    ColumnSpec,
    by_clinic_columns,
    score_columns,
)
from data.store.db import write_session
from models.tables import Patient
from tests.data.exports.conftest import searchable_text
from tests.data.exports.store import seed_identifier_store

EVERY_COLUMN = [*PATIENT_COLUMNS, *INFUSION_COLUMNS, *score_columns(20), *AUDIT_COLUMNS,
                *OUTCOME_SUMMARY_COLUMNS, *by_clinic_columns(6)]


@pytest.mark.parametrize("spec", EVERY_COLUMN, ids=lambda c: c.name)
def test_every_export_column_has_an_explicit_rule(spec):
    assert spec.phi in PHI_RULES, f"{spec.name}: no de-identification rule"
    if spec.phi == "generalised":
        assert spec.allowed


def test_a_column_without_a_rule_stops_the_deidentification():
    table = Table("t", (ColumnSpec("new_free_text", "text", "added without a rule"),),
                  [{"new_free_text": "Jane Doe"}])
    with pytest.raises(ValueError, match="new_free_text: no de-identification rule"):
        deidentify(table)


OTHER_INDICATION = "Zqxother grief after her son Kkkvvv died"
ROW_EXPORTS = [(kind, fmt) for kind in ("patients", "infusions", "scores", "audit")
               for fmt in ("csv", "xlsx", "json")] + [("fhir", "json")]
AGGREGATES = [("outcomes", "json"), ("outcomes", "csv"), ("outcomes", "xlsx"),
              ("report", "pdf"), ("statement", "csv"), ("statement", "pdf")]


@pytest.fixture
def store(store_url):
    actors = seed_identifier_store()
    with write_session() as session:
        patient = session.exec(select(Patient).where(Patient.patient_code == "MRN-555001")).one()
        patient.indication = OTHER_INDICATION
        session.add(patient)
    with write_session() as session:
        study_ids = [p.study_id for p in session.exec(select(Patient)).all()]
    return actors, study_ids


@pytest.mark.parametrize(("kind", "fmt"), ROW_EXPORTS + AGGREGATES)
def test_a_deidentified_file_holds_no_free_text_and_no_staff_name(store, kind, fmt):
    actors, _ = store
    result = run_export(actor=actors["auditor"], request=ExportRequest(kind, fmt))
    text = searchable_text(result.content, fmt)
    assert "Zqxother" not in text and "Kkkvvv" not in text
    for name in ("audit.person", "boss.director", "dr.kplmnq", "nurse.vbnmz"):
        assert name not in text, f"{name} in a de-identified {kind} {fmt}"
    assert result.manifest["generated_by"] == "audit.person"  # the trail keeps who


def test_the_other_indication_is_generalised_in_deidentified_patients(store):
    actors, _ = store
    rows = json.loads(run_export(actor=actors["auditor"], request=ExportRequest(
        "patients", "json")).content)["rows"]
    assert sorted({r["indication"] for r in rows}) == ["TRD", "other"]


@pytest.mark.parametrize(("kind", "fmt"), ROW_EXPORTS)
def test_an_identified_file_carries_no_study_id(store, kind, fmt):
    actors, study_ids = store
    result = run_export(actor=actors["director"], request=ExportRequest(
        kind, fmt, deidentified=False, reason="care team"))
    text = searchable_text(result.content, fmt)
    assert "study_id" not in text and "study-id" not in text
    leaked = [s for s in study_ids if s in text]
    assert leaked == [], f"study ids in an identified {kind} {fmt}"


@pytest.mark.parametrize(("kind", "fmt"), [("patients", "csv"), ("scores", "json"),
                                           ("fhir", "json")])
def test_a_deidentified_file_identifies_patients_by_study_id(store, kind, fmt):
    actors, study_ids = store
    text = searchable_text(run_export(actor=actors["auditor"], request=ExportRequest(
        kind, fmt)).content, fmt)
    assert any(s in text for s in study_ids)


# --- small cells ----------------------------------------------------------------------

def test_a_date_range_catching_one_course_gives_no_outcome(store):
    """The course of MRN-998877 is the only one starting on 2024-03-04."""
    actors, _ = store
    result = run_export(actor=actors["auditor"], request=ExportRequest(
        "outcomes", "json", start=date(2024, 3, 4), end=date(2024, 3, 4)))
    phq = json.loads(result.content)["PHQ-9"]
    for block in ("overall_latest", "after_infusion_6"):
        assert phq[block]["n_courses"] == 1 and phq[block]["suppressed"] is True
        assert phq[block]["responders"] is None
        assert phq[block]["response_rate_observed"] is None
    assert phq["time_to_first_response"]["median_infusions"] is None
    assert all(p["cumulative"] is None for p in phq["time_to_first_response"]
               ["km_response_curve"])


def test_overall_minus_clinics_reveals_no_small_clinic(store):
    """CL1 6 courses, CL2 2: with CL2 alone suppressed, overall - CL1 = CL2."""
    actors, _ = store
    for fmt in ("json", "csv", "xlsx"):
        run_export(actor=actors["auditor"], request=ExportRequest("outcomes", fmt))
    summary = json.loads(run_export(actor=actors["auditor"], request=ExportRequest(
        "outcomes", "json")).content)
    for name, section in summary.items():
        if name in ("parameters", "nhs_paired_phq9_gad7_latest", "retention"):
            continue
        cells = section["by_clinic_after_infusion_6"]
        hidden = [c for c in cells.values() if c["suppressed"]]
        if hidden:
            assert sum(c["n_courses"] for c in hidden) >= 5, name


def block(n: int, responders: int | None = None) -> dict:
    return {"n_courses": n, "n_with_baseline": n, "n_evaluable": n,
            "responders": n // 2 if responders is None else responders,
            "response_rate_observed": 0.5, "suppressed": False}


PARTITIONS = [
    # (clinic sizes, the clinics suppressed, with threshold 5)
    ({"A": 6, "B": 2}, {"A", "B"}),  # B alone would be overall - A
    ({"A": 6, "B": 9, "C": 2}, {"A", "C"}),  # the next smallest joins C
    ({"A": 6, "B": 2, "C": 3}, {"B", "C"}),  # B + C hold 5 courses: enough
    ({"A": 6, "B": 1, "C": 1, "D": 8}, {"A", "B", "C"}),
    ({"A": 6, "B": 7}, set()),
    ({"A": 2, "B": 1}, {"A", "B"}),
]


@pytest.mark.parametrize(("sizes", "hidden"), PARTITIONS)
def test_complementary_suppression(sizes, hidden):
    total = sum(sizes.values())
    summary = {"PHQ-9": {"overall_latest": block(total), "after_infusion_6": block(total),
                         "by_clinic_after_infusion_6": {k: block(n) for k, n in sizes.items()},
                         "time_to_first_response": {"median_infusions": 3}}}
    out = suppress_summary(summary, 5, "nhs")["PHQ-9"]
    cells = out["by_clinic_after_infusion_6"]
    assert {k for k, c in cells.items() if c["suppressed"]} == hidden
    assert all(cells[k]["responders"] is None for k in hidden)
    assert all(cells[k]["n_courses"] == sizes[k] for k in sizes)  # counts stay (O11)
    small_total = total < 5
    assert (out["after_infusion_6"]["responders"] is None) == small_total
    assert (out["time_to_first_response"]["median_infusions"] is None) == small_total
    assert summary["PHQ-9"]["by_clinic_after_infusion_6"]["A"]["responders"] is not None


@pytest.mark.parametrize(("kind", "fmt"), AGGREGATES)
def test_every_aggregate_format_is_written_for_one_course(store, kind, fmt):
    actors, _ = store
    result = run_export(actor=actors["auditor"], request=ExportRequest(
        kind, fmt, start=date(2024, 3, 4), end=date(2024, 3, 4)))
    assert result.content and result.event_id


def test_trend_months_and_funnel_clinics_are_suppressed_like_clinics():
    """Relatives found on the merged review blocks: a month or a funnel clinic counts its
    evaluable courses; a clinic hidden in the O7 cells is hidden in the funnel too."""
    def cell(n: int, responders: int) -> dict:
        return {"n_evaluable": n, "responders": responders, "rate": responders / n,
                "target": 0.5, "signal": None}

    summary = {"PHQ-9": {
        "overall_latest": block(20), "after_infusion_6": block(20),
        "by_clinic_after_infusion_6": {"A": block(4), "B": block(16)},
        "funnel_by_clinic_after_infusion_6": {"A": cell(4, 1), "B": cell(9, 5)},
        "trend_by_start_month_after_infusion_6": {"2024-10": cell(3, 2), "2024-11": cell(9, 4),
                                                  "2024-12": cell(6, 3)},
    }}
    out = suppress_summary(summary, 5, "nhs")["PHQ-9"]
    funnel = out["funnel_by_clinic_after_infusion_6"]
    assert funnel["A"]["responders"] is None and funnel["B"]["responders"] is None
    assert funnel["B"]["target"] == 0.5  # the overall rate the funnel is drawn around
    assert out["by_clinic_after_infusion_6"]["B"]["suppressed"] is True
    trend = out["trend_by_start_month_after_infusion_6"]
    # October (3) is small; with it, the next smallest month (December, 6) so that the
    # hidden months hold 9 >= 5 evaluable courses
    assert [m for m, c in trend.items() if c.get("suppressed")] == ["2024-10", "2024-12"]
    assert trend["2024-11"]["responders"] == 4


def test_a_small_retention_block_shows_its_course_count_only():
    summary = {"retention": {"n_courses": 3, "n_stopped": 2, "completion_rate": 0.3333,
                             "reached_infusion": {"1": 3, "6": 1}, "as_of": "2025-03-11"},
               "nhs": {"n_paired": 4, "recovered": 1}}
    out = suppress_summary(summary, 5, "nhs")
    assert out["retention"]["n_courses"] == 3 and out["retention"]["suppressed"] is True
    assert out["retention"]["n_stopped"] is None and out["retention"]["as_of"] == "2025-03-11"
    assert out["retention"]["reached_infusion"] == {"1": None, "6": None}
    assert out["nhs"] == {"n_paired": 4, "recovered": None, "suppressed": True}
