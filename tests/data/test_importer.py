"""Score import (OUTCOMES.md section 5): expectations counted by hand from the files."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session, SQLModel

from data.imports.import_csv import RowError
from data.imports.importer import import_scores
from models.access import SYSTEM, Actor, PermissionDenied
from models.tables import (
    Assessment,
    AuditEvent,
    Clinic,
    Course,
    Infusion,
    Patient,
    SafetyAlert,
    User,
)

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "scores_example.csv"  # OUTCOMES.md's
TODAY = date(2024, 6, 30)
COLUMNS = ["patient_id", "clinic", "clinician", "indication", "course_id", "infusion_number",
           "infusion_type", "timepoint", "date", "instrument",
           *(f"item_{n}" for n in range(1, 10)), "functional_difficulty", "total",
           "dose_mg_per_kg", "route"]
PHQ9 = {"patient_id": "P1", "clinic": "A", "infusion_number": "1", "timepoint": "pre",
        "date": "2024-06-01", "instrument": "PHQ-9", "functional_difficulty": "1",
        **{f"item_{n}": v for n, v in enumerate("333231300", 1)}}  # total 18
GAD7 = {**PHQ9, "instrument": "GAD-7", "item_8": "", "item_9": "", "functional_difficulty": "",
        **{f"item_{n}": v for n, v in enumerate("3133330", 1)}}  # total 16


def make_csv(*rows: dict, columns: list[str] = COLUMNS) -> bytes:
    lines = [",".join(columns)] + [",".join(r.get(c, "") for c in columns) for r in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def table_counts(engine) -> dict[str, int]:
    with Session(engine) as session:
        return {t.name: session.execute(select(func.count()).select_from(t)).scalar_one()
                for t in SQLModel.metadata.sorted_tables}


def run(raw: bytes, engine, **kwargs):
    kwargs.setdefault("today", TODAY)
    return import_scores(raw, actor=kwargs.pop("actor", SYSTEM), engine=engine, **kwargs)


@pytest.fixture
def director(engine) -> Actor:
    """A director (user row) plus a user named like the sample's clinician S-01."""
    from data.store.audit import utcnow

    with Session(engine) as session:
        boss = User(username="boss", password_hash="x", role="director", all_clinics=True,
                    created_at=utcnow())
        nurse = User(username="S-01", password_hash="x", role="clinician", created_at=utcnow())
        session.add_all([boss, nurse])
        session.commit()
        return Actor(user_id=boss.id, username="boss", role="director", all_clinics=True)


# --- the sample file --------------------------------------------------------------------

# Counted by hand: 50 data rows; EX-01 (Clinic-South) course C1 infusions 1-10 (38 rows:
# no GAD-7 pre at infusion 3, no PHQ-9 pre at infusion 9); EX-02 (Clinic-North) C1
# infusions 1-3 (12 rows); one PHQ-9 with item 9 >= 1 (line 23, 2024-02-03, item 9 = 2).
SAMPLE_COUNTS = {"clinics": 2, "patients": 2, "courses": 2, "infusions": 13, "assessments": 50,
                 "alerts_open": 0, "alerts_historical": 1}


def test_sample_file_imports(engine, director):
    raw = SAMPLE.read_bytes()
    report = run(raw, engine, actor=director)
    assert report.ok, report.format()
    assert report.counts == SAMPLE_COUNTS
    assert report.rows == 50 and report.warnings == []
    with Session(engine) as s:
        ex01 = s.exec(select(Patient).where(Patient.patient_code == "EX-01")).scalar_one()
        assert ex01.indication == "suicidal ideation" and ex01.study_id.startswith("S-")
        course = s.exec(select(Course).where(Course.patient_id == ex01.id)).scalar_one()
        assert (course.number, course.label, course.start_date) == (1, "C1", date(2024, 1, 13))
        first = s.exec(select(Assessment).where(Assessment.course_id == course.id)
                       .order_by(Assessment.id)).scalars().first()
        # line 2: 3+3+3+2+3+1+3+0+0 = 18, moderately severe (15-19)
        assert (first.total, first.severity, first.complete, first.item9) == (
            18, "moderately severe", True, 0)
        assert first.items == [3, 3, 3, 2, 3, 1, 3, 0, 0] and first.functional_difficulty == 3
        assert first.source == "import" and first.entered_by_id == director.user_id
        gad = s.exec(select(Assessment).where(Assessment.instrument == "GAD-7")
                     .order_by(Assessment.id)).scalars().first()
        assert gad.items == [3, 1, 3, 3, 3, 3, 0] and gad.total == 16 and gad.item9 is None
        nurse_id = s.exec(select(User.id).where(User.username == "S-01")).scalar_one()
        infusions = s.exec(select(Infusion).where(Infusion.course_id == course.id)).scalars().all()
        assert {i.clinician_id for i in infusions} == {nurse_id}
        assert {i.number: i.infusion_type for i in infusions}[7] == "booster"
        alert = s.exec(select(SafetyAlert)).scalar_one()
        assert (alert.item9_value, alert.observed_on, alert.status) == (
            2, date(2024, 2, 3), "historical")
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "import")).scalar_one()
    summary = json.loads(event.new_value)
    assert summary["file_sha256"] == hashlib.sha256(raw).hexdigest() and summary["rows"] == 50
    assert "EX-0" not in event.new_value


def _assessment_dump(engine) -> list[tuple]:
    with Session(engine) as s:
        rows = s.execute(select(Patient.patient_code, Course.number, Infusion.number,
                                Assessment.timepoint, Assessment.instrument, Assessment.items,
                                Assessment.total, Infusion.administered_on)
                         .join(Course, Course.patient_id == Patient.id)
                         .join(Infusion, Infusion.course_id == Course.id)
                         .join(Assessment, Assessment.infusion_id == Infusion.id)).all()
    return sorted(tuple(json.dumps(v) if isinstance(v, list) else v for v in r) for r in rows)


def test_bom_crlf_and_spaces_import_identically(engine, tmp_path):
    from data.store import db
    from data.store.migrate import upgrade

    text = SAMPLE.read_text("utf-8")
    padded = "\r\n".join(",".join(f"  {cell} " for cell in line.split(","))
                         for line in text.splitlines()) + "\r\n"
    other = db.make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade(other)
    plain = run(SAMPLE.read_bytes(), engine)
    spreadsheet = run(b"\xef\xbb\xbf" + padded.encode("utf-8"), other)
    assert spreadsheet.ok, spreadsheet.format()
    assert spreadsheet.counts == plain.counts == SAMPLE_COUNTS
    assert _assessment_dump(other) == _assessment_dump(engine)
    other.dispose()


# --- bad rows --------------------------------------------------------------------------

BAD_ROWS = [
    # (case, overrides of the row on line 3, field, reason)
    ("missing required field", {"patient_id": ""}, "patient_id",
     "required; patient_id must not be empty"),
    ("bad date", {"date": "01/06/2024"}, "date",
     "'01/06/2024' is not a valid ISO date; dates are written YYYY-MM-DD (e.g. 2024-01-13)"),
    ("impossible date", {"date": "2024-02-30"}, "date",
     "'2024-02-30' is not a valid ISO date; dates are written YYYY-MM-DD (e.g. 2024-01-13)"),
    ("future date", {"date": "2024-07-01"}, "date",
     "2024-07-01 is in the future (today is 2024-06-30); record a visit on or after the day it happens"),
    ("unknown instrument", {"instrument": "BDI-II"}, "instrument",
     "'BDI-II' is not a known instrument; allowed: PHQ-9, GAD-7, MADRS, QIDS-SR16, PCL-5"),
    ("item out of range", {"item_3": "4"}, "item_3", "4 is out of range; answers are integers 0-3"),
    ("non-integer item", {"item_2": "1.5"}, "item_2",
     "'1.5' is not an integer; answers are integers 0-3"),
    ("extra item for GAD-7", {**GAD7, "item_8": "1"}, "item_8",
     "GAD-7 has 7 items; item_8 must be empty"),
    ("total mismatch", {"total": "19"}, "total",
     "the supplied total 19 does not match the total computed from the items, 18; totals are "
     "computed from the item answers (S1)"),
    ("total-only out of range", {**GAD7, **{f"item_{n}": "" for n in range(1, 8)}, "total": "22"},
     "total", "22 is out of range; totals are integers 0-21"),
    ("no items and no total", {**{f"item_{n}": "" for n in range(1, 10)}}, "total",
     "missing; a row without item answers needs a total, totals are integers 0-27"),
    ("bad timepoint", {"timepoint": "during"}, "timepoint",
     "'during' is not a timepoint; allowed: pre, post, followup"),
    ("bad route", {"route": "IV drip"}, "route",
     "'IV drip' is not a route; allowed: IV, IM, intranasal, oral"),
    # the infusion form's rules, worded as the form words them (models/schemas.py)
    ("zero dose", {"dose_mg_per_kg": "0"}, "dose_mg_per_kg",
     "0 mg/kg is refused; the dose must be above 0 and at most 2.0 mg/kg (protocol setting)"),
    ("negative dose", {"dose_mg_per_kg": "-0.5"}, "dose_mg_per_kg",
     "-0.5 mg/kg is refused; the dose must be above 0 and at most 2.0 mg/kg (protocol setting)"),
    ("dose above the protocol maximum", {"dose_mg_per_kg": "2.5"}, "dose_mg_per_kg",
     "2.5 mg/kg is refused; the dose must be above 0 and at most 2.0 mg/kg (protocol setting)"),
    ("infusion number zero", {"infusion_number": "0"}, "infusion_number",
     "0 is out of range; infusion numbers are 1-9999"),
    ("dose that is no number", {"dose_mg_per_kg": "lots"}, "dose_mg_per_kg",
     "'lots' is not a positive number; dose_mg_per_kg is the dose in mg per kg of body weight, "
     "greater than 0"),
    ("bad infusion type", {"infusion_type": "rescue"}, "infusion_type",
     "'rescue' is not an infusion type; allowed: induction, booster, maintenance"),
    ("functional difficulty out of range", {"functional_difficulty": "4"},
     "functional_difficulty", "4 is out of range; answers are integers 0-3"),
    ("functional difficulty on GAD-7", {**GAD7, "functional_difficulty": "1"},
     "functional_difficulty",
     "functional_difficulty is PHQ-9 question 10; leave it empty for GAD-7"),
]


@pytest.mark.parametrize(("case", "overrides", "field", "reason"), BAD_ROWS,
                         ids=[c[0] for c in BAD_ROWS])
def test_each_bad_row_is_reported(engine, case, overrides, field, reason):
    line3 = {**PHQ9, "timepoint": "post", **overrides}
    report = run(make_csv(PHQ9, line3), engine)
    assert not report.ok
    assert report.errors == [RowError(3, field, reason)]
    assert f"line 3, {field}: {reason}" in report.format()
    assert table_counts(engine)["assessment"] == 0


def test_every_bad_row_is_listed_in_line_order(engine):
    rows = [PHQ9, {**PHQ9, "timepoint": "post", "item_3": "4"},
            {**GAD7, "date": "2024-13-01"}, {**GAD7, "timepoint": "post", "item_1": "x",
                                             "item_2": "9"}]
    report = run(make_csv(*rows), engine)
    assert [(e.line, e.field) for e in report.errors] == [
        (3, "item_3"), (4, "date"), (5, "item_1"), (5, "item_2")]
    assert report.format().splitlines()[0] == "import rejected: 4 error(s); nothing was written"


def test_missing_items_are_prorated_or_incomplete(engine):
    two_missing = {**PHQ9, **{f"item_{n}": v for n, v in enumerate("1212121", 1)},
                   "item_8": "", "item_9": ""}
    three_missing = {**two_missing, "timepoint": "post", "item_7": ""}
    report = run(make_csv(two_missing, three_missing), engine)
    assert report.ok, report.format()
    with Session(engine) as s:
        stored = s.exec(select(Assessment).order_by(Assessment.id)).scalars().all()
    # 10 over 7 answered items: 10 x 9 / 7 = 12.86 -> 13; 3 missing: no total (S2)
    assert [(a.total, a.complete) for a in stored] == [(13, True), (None, False)]
    assert stored[1].items == [1, 2, 1, 2, 1, 2, None, None, None]


# --- conflicts --------------------------------------------------------------------------

def test_duplicate_rows_in_the_file_are_conflicts(engine):
    report = run(make_csv(PHQ9, GAD7, {**PHQ9, "functional_difficulty": "2"}), engine)
    assert not report.ok
    assert report.errors == [
        RowError(2, "row", "conflict: line 4 has the same patient, course, infusion, timepoint "
                 "and instrument"),
        RowError(4, "row", "conflict: line 2 has the same patient, course, infusion, timepoint "
                 "and instrument"),
    ]


def test_same_file_twice_conflicts_with_the_store(engine):
    assert run(SAMPLE.read_bytes(), engine).ok
    before = table_counts(engine)
    again = run(SAMPLE.read_bytes(), engine)
    assert not again.ok and again.total_errors == 50 and len(again.errors) == 20  # 20 listed
    assert {e.field for e in again.errors} == {"row"}
    assert again.errors[0] == RowError(
        2, "row", "conflict: course 1, infusion 1, pre PHQ-9 is already in the store")
    assert table_counts(engine) == before


def test_rows_of_one_infusion_must_agree(engine):
    report = run(make_csv({**PHQ9, "route": "IV"}, {**GAD7, "route": "IM"}), engine)
    assert report.errors == [RowError(3, "route", "IM differs from IV on line 2 for the same "
                                      "infusion; the rows of one infusion must agree on its route")]


# --- all or nothing, dry run --------------------------------------------------------------

def test_a_bad_file_writes_nothing(engine):
    assert run(SAMPLE.read_bytes(), engine).ok
    before = table_counts(engine)
    new_patient = {**PHQ9, "patient_id": "NEW", "clinic": "NEWCLINIC"}
    report = run(make_csv(new_patient, {**GAD7, "patient_id": "NEW", "item_1": "7"}), engine)
    assert not report.ok and report.errors[0].line == 3
    assert table_counts(engine) == before
    assert before["audit_event"] == 1


def test_dry_run_reports_and_writes_nothing(engine):
    before = table_counts(engine)
    report = run(SAMPLE.read_bytes(), engine, dry_run=True)
    assert report.ok and report.dry_run and report.counts == SAMPLE_COUNTS
    assert report.format().startswith("dry run: 50 rows are valid; would create clinics 2")
    assert table_counts(engine) == before


# --- courses ----------------------------------------------------------------------------

def _courses(engine) -> list[tuple]:
    with Session(engine) as s:
        rows = s.execute(select(Course.number, Course.start_date, Infusion.number,
                                Infusion.administered_on)
                         .join(Infusion, Infusion.course_id == Course.id)
                         .order_by(Course.number, Infusion.number)).all()
    return [tuple(r) for r in rows]


def test_course_inferred_when_infusion_number_goes_down(engine):
    days = ["2024-01-02", "2024-01-05", "2024-01-09", "2024-05-01", "2024-05-04"]
    numbers = ["1", "2", "3", "1", "2"]
    rows = [{**PHQ9, "infusion_number": n, "date": d} for n, d in zip(numbers, days, strict=True)]
    report = run(make_csv(*rows[::-1]), engine)  # file order does not matter: date order does
    assert report.ok, report.format()
    assert report.counts["courses"] == 2 and report.counts["infusions"] == 5
    assert _courses(engine) == [
        (1, date(2024, 1, 2), 1, date(2024, 1, 2)), (1, date(2024, 1, 2), 2, date(2024, 1, 5)),
        (1, date(2024, 1, 2), 3, date(2024, 1, 9)), (2, date(2024, 5, 1), 1, date(2024, 5, 1)),
        (2, date(2024, 5, 1), 2, date(2024, 5, 4))]


def test_later_file_adds_to_existing_courses(engine):
    assert run(make_csv(PHQ9, {**PHQ9, "timepoint": "post"}), engine).ok
    # inferred course 1 -> the stored course 1; labelled 'K2' is new -> course 2
    later = run(make_csv({**PHQ9, "infusion_number": "2", "date": "2024-06-04"}), engine)
    labelled = run(make_csv({**PHQ9, "patient_id": "P1", "course_id": "K2",
                             "date": "2024-06-20"}), engine)
    assert later.ok and labelled.ok, later.format() + labelled.format()
    assert later.counts["courses"] == 0 and later.counts["infusions"] == 1
    assert labelled.counts["courses"] == 1
    assert [r[0] for r in _courses(engine)] == [1, 1, 2]


def test_a_patient_mixing_labelled_and_unlabelled_rows_is_refused(engine):
    report = run(make_csv({**PHQ9, "course_id": "C1"}, GAD7), engine)
    assert [(e.line, e.field) for e in report.errors] == [(3, "course_id")]
    assert "line 2" in report.errors[0].reason


# --- alerts -----------------------------------------------------------------------------

def test_item9_alert_open_within_the_window_else_historical(engine):
    positive = {**PHQ9, "item_9": "1", "item_8": "0"}  # total 19
    rows = [{**positive, "patient_id": "P1", "date": "2024-06-16"},  # 14 days before today
            {**positive, "patient_id": "P2", "date": "2024-06-15"},  # 15 days
            {**PHQ9, "patient_id": "P3", "date": "2024-06-30"}]     # item 9 = 0: no alert
    report = run(make_csv(*rows), engine)
    assert report.ok, report.format()
    assert (report.counts["alerts_open"], report.counts["alerts_historical"]) == (1, 1)
    with Session(engine) as s:
        alerts = s.execute(select(Patient.patient_code, SafetyAlert.status, SafetyAlert.item9_value)
                           .join(Patient, Patient.id == SafetyAlert.patient_id)
                           .order_by(Patient.patient_code)).all()
    assert [tuple(a) for a in alerts] == [("P1", "open", 1), ("P2", "historical", 1)]


# --- file-level problems and warnings --------------------------------------------------

def test_unknown_columns_are_warned_and_ignored(engine):
    report = run(make_csv({**PHQ9, "notes": "x"}, columns=[*COLUMNS, "notes"]), engine)
    assert report.ok
    assert report.warnings == ["unknown column(s) ignored: 'notes'"]
    assert "warning: unknown column(s) ignored: 'notes'" in report.format()


FILE_ERRORS = [
    ("not utf-8", "patient_id,clinic\nCaf\xe9,A\n".encode("latin-1"),
     "the file is not UTF-8 text (byte 0xe9 at offset 21)"),
    ("empty", b"", "the file is empty"),
    ("blank", b" \r\n\r\n", "the file is empty"),
    ("only a byte-order mark", b"\xef\xbb\xbf\r\n", "the file is empty"),
    ("required column missing",
     make_csv(PHQ9, columns=[c for c in COLUMNS if c != "date"]),
     "the header lacks required column(s) date"),
    ("semicolons", make_csv(PHQ9).replace(b",", b";"),
     "the file seems to separate columns with semicolons: the import needs commas"),
    ("header only", make_csv(), "the file has a header but no data rows"),
    ("column twice", make_csv(PHQ9, columns=[*COLUMNS, "total"]),
     "column 'total' appears twice in the header"),
    ("capitalised names", make_csv(PHQ9, columns=[c.capitalize() for c in COLUMNS]),
     "(found 'Patient_id', 'Clinic', 'Infusion_number', 'Timepoint', 'Date', 'Instrument': "
     "names are exact and lower-case)"),
]


@pytest.mark.parametrize(("case", "raw", "message"), FILE_ERRORS, ids=[c[0] for c in FILE_ERRORS])
def test_file_level_errors(engine, case, raw, message):
    report = run(raw, engine)
    assert not report.ok and len(report.errors) == 1
    assert report.errors[0].line == 0 and report.errors[0].field == "file"
    assert message in report.file_error
    assert report.format().splitlines()[1] == f"file: {report.file_error}"
    assert table_counts(engine)["assessment"] == 0


def test_blank_rows_skipped_and_line_numbers_physical(engine):
    raw = make_csv(PHQ9).decode() + "\n,,,\n" + ",".join(
        {**GAD7, "item_1": "9"}.get(c, "") for c in COLUMNS) + "\n"
    report = run(raw.encode(), engine)
    assert report.errors == [RowError(5, "item_1", "9 is out of range; answers are integers 0-3")]
    assert report.warnings == ["2 blank row(s) skipped"]


def test_an_auditor_cannot_import(engine):
    auditor = Actor(user_id=None, username="a", role="auditor", all_clinics=True)
    with pytest.raises(PermissionDenied):
        run(SAMPLE.read_bytes(), engine, actor=auditor)
    assert table_counts(engine)["assessment"] == 0


def test_a_director_cannot_import_into_another_clinic(engine):
    with Session(engine) as s:
        from data.store.audit import utcnow
        s.add(Clinic(code="A", name="A", created_at=utcnow()))
        s.commit()
    director = Actor(user_id=None, username="c", role="director", clinic_ids=frozenset({999}))
    report = run(make_csv(PHQ9), engine, actor=director)
    assert not report.ok and "clinic(s) A" in report.file_error


def test_spreadsheet_spellings_and_the_dose_limit_are_accepted(engine):
    row = {**PHQ9, "timepoint": "Pre", "instrument": "phq9", "route": "iv",
           "infusion_type": "Induction", "dose_mg_per_kg": "2.0"}
    report = run(make_csv(row), engine)
    assert report.ok, report.format()
    with Session(engine) as s:
        infusion = s.exec(select(Infusion)).scalar_one()
        assessment = s.exec(select(Assessment)).scalar_one()
    assert (infusion.route, infusion.infusion_type, infusion.dose_mg_per_kg) == ("IV", "induction", 2.0)
    assert (assessment.timepoint, assessment.instrument) == ("pre", "PHQ-9")


def test_the_alert_window_is_the_protocol_setting(engine):
    from data.clinic.protocol import update_protocol
    from data.store.db import write_session

    with write_session(engine) as session:
        update_protocol(session, actor=SYSTEM, changes={"import_alert_window_days": 30})
    report = run(make_csv({**PHQ9, "item_9": "2", "date": "2024-06-01"}), engine)  # 29 days
    assert (report.counts["alerts_open"], report.counts["alerts_historical"]) == (1, 0)
