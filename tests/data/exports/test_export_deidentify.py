"""HIPAA Safe Harbor: the de-identified exports of a store seeded with distinctive
identifiers contain none of them, in any kind and format; ages 90+; dates as years or
days since the course start; staff pseudonyms; small cells suppressed."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import date

import pytest
from sqlmodel import select

from data.exports import FORMATS, ExportRequest, run_export
from data.exports.deidentify import StaffPseudonyms, days_since, deidentify, safe_harbor_age
from data.exports.tables import Table, age_in_years
from data.files.columns import ColumnSpec
from data.store.db import read_session
from models.tables import Patient
from tests.data.exports.conftest import searchable_text
from tests.data.exports.store import IDENTIFIERS


@pytest.mark.parametrize(("age", "expected"), [(None, None), (0, 0), (45, 45), (89, 89),
                                           (90, "90+"), (104, "90+")])
def test_ages_over_89_become_90_plus(age, expected):
    assert safe_harbor_age(age) == expected


@pytest.mark.parametrize(
    ("birth", "on", "expected"),
    [(date(1934, 12, 31), date(2024, 5, 1), 89), (date(1934, 5, 1), date(2024, 5, 1), 90),
     (date(1931, 2, 3), date(2024, 3, 4), 93), (date(2000, 2, 29), date(2001, 2, 28), 0),
     (date(2000, 2, 29), date(2001, 3, 1), 1), (None, date(2024, 1, 1), None)],
)
def test_age_in_whole_years(birth, on, expected):
    assert age_in_years(birth, on) == expected


@pytest.mark.parametrize(("day", "anchor", "expected"), [
    (date(2024, 3, 19), date(2024, 3, 4), 15), (date(2024, 3, 4), date(2024, 3, 4), 0),
    (date(2024, 3, 3), date(2024, 3, 4), -1), (date(2025, 3, 4), date(2024, 3, 4), 365),
    (None, date(2024, 3, 4), None), (date(2024, 3, 4), None, None)])
def test_days_since_course_start(day, anchor, expected):
    assert days_since(day, anchor) == expected


def test_staff_pseudonyms_are_random_codes_per_export():
    staff = StaffPseudonyms(["dr.b", "dr.a", None, "system", "dr.b"], rng=random.Random(3))
    codes = {staff("dr.a"), staff("dr.b")}
    assert codes == {"staff-01", "staff-02"}
    assert staff("system") == "system" and staff(None) is None
    orders = {tuple(StaffPseudonyms(["a", "b", "c"], rng=random.Random(s))(n) for n in "abc")
              for s in range(20)}
    assert len(orders) > 1  # numbering does not follow the names


def test_deidentify_a_table_in_days_mode():
    table = Table("t", (
        ColumnSpec("study_id", "text", "id", "pseudonym"), ColumnSpec("name", "text", "n", "identifier"),
        ColumnSpec("course_start", "date", "c", "anchor"),
        ColumnSpec("administered_on", "date", "d", "date"),
        ColumnSpec("entered_at", "datetime", "e", "timestamp"),
        ColumnSpec("clinician", "text", "s", "staff"), ColumnSpec("age", "age", "a", "age")),
        [{"study_id": "S-1", "name": "Zyx", "course_start": date(2024, 3, 4),
          "administered_on": date(2024, 3, 19), "entered_at": None, "clinician": "dr.x",
          "age": 93, "_anchor": date(2024, 3, 4)}])
    out = deidentify(table, date_mode="days", rng=random.Random(1))
    assert out.column_names == ["study_id", "course_start_year", "administered_on_day",
                                "clinician", "age"]
    assert out.rows == [{"study_id": "S-1", "course_start_year": 2024, "administered_on_day": 15,
                         "clinician": "staff-01", "age": "90+"}]
    assert any("days since the course start" in note for note in out.notes)
    assert table.rows[0]["name"] == "Zyx"  # the input is left unchanged


DEIDENTIFIED = [(kind, fmt) for kind, fmts in FORMATS.items() for fmt in fmts]


@pytest.mark.parametrize(("kind", "fmt"), DEIDENTIFIED)
def test_deidentified_export_holds_no_identifier(actors, kind, fmt):
    result = run_export(actor=actors["auditor"], request=ExportRequest(kind, fmt))
    text = searchable_text(result.content, fmt)
    found = [word for word in IDENTIFIERS if word.lower() in text.lower()]
    assert found == [], f"{kind}/{fmt} leaks {found}"
    assert result.manifest["deidentified"] is True


@pytest.mark.parametrize("kind", ["patients", "infusions", "scores", "audit", "fhir"])
def test_identified_export_does_hold_the_identifiers(actors, kind):
    """The check above means something: the same store's identified export has them."""
    fmt = "json"
    result = run_export(actor=actors["director"], request=ExportRequest(
        kind, fmt, deidentified=False, reason="test of the identified export"))
    assert "MRN-998877" in searchable_text(result.content, fmt)


def _csv(actors, kind: str, **kw) -> list[dict]:
    result = run_export(actor=actors["auditor"], request=ExportRequest(kind, "csv", **kw))
    return list(csv.DictReader(io.StringIO(result.content.decode("utf-8"))))


def _study_ids() -> dict[str, str]:
    with read_session() as session:
        return {p.patient_code: p.study_id for p in session.exec(select(Patient)).all()}


def test_patient_ages_and_years(actors):
    rows = {r["study_id"]: r for r in _csv(actors, "patients")}
    ids = _study_ids()
    # 1931-02-03 on 2024-03-04: 93; 1934-05-01 on 2024-05-01: 90; 1934-12-31: 89.
    assert rows[ids["MRN-998877"]]["age_at_first_course"] == "90+"
    assert rows[ids["MRN-555002"]]["age_at_first_course"] == "90+"
    assert rows[ids["MRN-555001"]]["age_at_first_course"] == "89"
    assert rows[ids["=1+2"]]["age_at_first_course"] == "43"  # 1980-06-15 on 2024-03-11
    assert rows[ids["MRN-998877"]]["first_course_start_year"] == "2024"
    assert "birth_date" not in rows[ids["MRN-998877"]]


def test_score_dates_as_days_since_course_start(actors):
    rows = _csv(actors, "scores", date_mode="days")
    p1 = [r for r in rows if r["study_id"] == _study_ids()["MRN-998877"]]
    # Infusion k is given 3 x (k - 1) days after the start: infusion 6 on day 15.
    days = {(r["infusion_number"], r["timepoint"], r["instrument"]): r["administered_on_day"]
            for r in p1}
    assert days == {("1", "pre", "PHQ-9"): "0", ("1", "pre", "GAD-7"): "0",
                    ("6", "post", "PHQ-9"): "15", ("6", "post", "GAD-7"): "15"}
    assert {r["course_start_year"] for r in p1} == {"2024"}


def test_staff_pseudonyms_in_infusions(actors):
    rows = _csv(actors, "infusions")
    by_clinic = {(r["clinic"], r["clinician"]) for r in rows}
    codes = {code for _, code in by_clinic}
    assert len(codes) == 2 and all(c.startswith("staff-") for c in codes)
    assert len(by_clinic) == 2  # one clinician per clinic, one code each


def test_json_metadata_says_how_dates_were_treated(actors):
    result = run_export(actor=actors["auditor"], request=ExportRequest(
        "scores", "json", date_mode="days"))
    meta = json.loads(result.content)["metadata"]
    assert meta["date mode"].startswith("days: patient dates given as days since")
    assert meta["de-identified"].startswith("HIPAA Safe Harbor")
    assert any("Dropped" in note for note in meta["deidentification"])


def test_outcomes_by_clinic_small_cells_suppressed(actors):
    result = run_export(actor=actors["auditor"], request=ExportRequest("outcomes", "json"))
    cells = json.loads(result.content)["PHQ-9"]["by_clinic_after_infusion_6"]
    # CL1: 6 courses, 5 evaluable, responders P1 P3 P5, remitters P3 P5 - but the overall
    # block (8 courses) minus CL1 would give CL2's outcome: CL1 is suppressed with it.
    cl1 = cells["CL1"]
    assert (cl1["n_courses"], cl1["n_evaluable"], cl1["responders"], cl1["remitters"]) == \
        (6, 5, None, None)
    assert cl1["suppressed"] is True
    overall = json.loads(result.content)["PHQ-9"]["after_infusion_6"]
    assert overall["n_courses"] == 8 and overall["responders"] is not None
    # CL2: 2 courses < 5: counts of courses only.
    cl2 = cells["CL2"]
    assert cl2["suppressed"] is True and cl2["n_courses"] == 2
    assert cl2["responders"] is None and cl2["response_rate_observed"] is None


@pytest.mark.slow  # every de-identified format of the demo cohort (~6 s); CI runs it
def test_demo_cohort_deidentified_exports_leak_nothing(store_url):
    """The demo seed's names, patient codes and user names appear in no de-identified file."""
    from data.seed.seed import seed_demo
    from models.access import SYSTEM
    from models.tables import User

    seed_demo(n_patients=40, seed=7)
    with read_session() as session:
        patients = session.exec(select(Patient)).all()
        secrets = {p.name for p in patients} | {p.patient_code for p in patients}
        secrets |= {u.username for u in session.exec(select(User)).all()}
        secrets |= {p.birth_date.isoformat() for p in patients if p.birth_date}
    secrets.discard("")
    assert len(secrets) > 80
    for kind, fmt in [("patients", "xlsx"), ("infusions", "csv"), ("scores", "json"),
                      ("audit", "csv"), ("fhir", "json"), ("report", "pdf")]:
        result = run_export(actor=SYSTEM, request=ExportRequest(kind, fmt))
        text = searchable_text(result.content, fmt)
        leaks = sorted(s for s in secrets if s in text)
        assert leaks == [], f"{kind}/{fmt}: {leaks[:5]}"
