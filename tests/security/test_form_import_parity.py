"""Issue 11 item 4: an import refuses exactly what the forms refuse. Every bad value of
the hostile-input corpus (tests/security/test_import_attacks.py, plus the issue's own
cases: a control character in a patient code, a visit dated 1995) goes through the
form's schema (models/schemas.py) and through the import's dry run (the Import page's
first step); both must refuse it, and where the form receives the same value (a cell
that reads as the field's type), with the same words.

Fields no form has (course_id, clinician) are not compared; clinic codes go through the
clinic service the user pages call (data.accounts.users.get_or_create_clinic).
"""

from __future__ import annotations

import csv
import io
import math
import re
from datetime import date

import pytest

from data.accounts.users import get_or_create_clinic
from data.imports.importer import import_scores
from data.imports.patient_import import import_patients
from data.store.db import write_session
from models.access import SYSTEM
from models.schemas import InfusionIn, InputError, PatientIn, parse, parse_score
from tests.security.test_import_attacks import (
    COLUMNS,
    GOOD,
    PATIENT_CASES,
    SCORE_CASES,
    TODAY,
    patient_file,
)

_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
PHQ9 = [3, 3, 3, 2, 3, 1, 3, 0, 0]
# the issue's cases (a dry run used to pass them) and a few of tests/reliability's corpus
EXTRA_SCORE_CASES = [
    ("patient code control character", "patient_id", "P\x01X"),
    ("visit dated 1995", "date", "1995-06-01"),
    ("item answer 4", "item_1", "4"),
    ("item answer 1.5", "item_3", "1.5"),
    ("dose 0", "dose_mg_per_kg", "0"),
    ("dose above the maximum", "dose_mg_per_kg", "2.5"),
    ("February 30", "date", "2024-02-30"),
    ("infusion number 0", "infusion_number", "0"),
    ("infusion number 10000", "infusion_number", "10000"),
    ("indication too long", "indication", "y" * 101),
]


# --- the form's path: the value as the form's widget would hand it over --------------------


def _typed_date(cell: str) -> tuple[object, bool]:
    """(value, typed): a date when the cell is an ISO date, else the text itself (a date
    widget cannot hand over anything else; pydantic refuses the text)."""
    if _ISO.fullmatch(cell):
        try:
            return date.fromisoformat(cell), True
        except ValueError:
            pass
    return cell, False


def _typed_number(cell: str, kind: type) -> tuple[object, bool]:
    try:
        value = kind(cell) if len(cell) <= 20 else None
    except ValueError:
        value = None
    if value is None or (kind is float and not math.isfinite(value)):
        return cell, False
    return value, True


def _form_problem(schema: type, data: dict, field: str, **context: object) -> str | None:
    try:
        parse(schema, data, today=TODAY, **context)
    except InputError as exc:
        return next((rule for name, rule in exc.problems if name == field), "other field")
    return None


def _infusion(**fields: object) -> dict:
    return {"number": 1, "administered_on": date(2024, 6, 1), "infusion_type": "induction",
            **fields}


def form_refusal(field: str, cell: str) -> tuple[str | None, bool]:
    """(the form's refusal or None, whether the form got the value typed like the cell)."""
    if field == "patient_id":
        return _form_problem(PatientIn, {"clinic_id": 1, "patient_code": cell},
                             "patient_code"), True
    if field in ("name", "indication"):
        return _form_problem(PatientIn, {"clinic_id": 1, "patient_code": "P1", field: cell},
                             field), True
    if field == "birth_date":
        value, typed = _typed_date(cell)
        return _form_problem(PatientIn, {"clinic_id": 1, "patient_code": "P1",
                                         "birth_date": value}, field), typed
    if field == "failed_trials":
        value, typed = _typed_number(cell, int)
        return _form_problem(PatientIn, {"clinic_id": 1, "patient_code": "P1",
                                         "failed_trials": value}, field), typed
    if field == "date":
        value, typed = _typed_date(cell)
        return _form_problem(InfusionIn, _infusion(administered_on=value),
                             "administered_on"), typed
    if field == "infusion_number":
        value, typed = _typed_number(cell, int)
        return _form_problem(InfusionIn, _infusion(number=value), "number"), typed
    if field == "dose_mg_per_kg":
        value, typed = _typed_number(cell, float)
        return _form_problem(InfusionIn, _infusion(dose_mg_per_kg=value), field,
                             protocol={}), typed
    if field.startswith("item_"):
        items: list[object] = list(PHQ9)
        items[int(field[5:]) - 1] = cell  # the questionnaire widget hands answers over as given
        try:
            parse_score({"instrument": "PHQ-9", "timepoint": "pre", "items": items})
        except InputError as exc:
            return next(rule for name, rule in exc.problems if name.endswith(field)), True
        return None, True
    if field == "total":
        return "a form computes the total; it cannot be typed", False
    if field == "clinic":
        try:
            with write_session() as session:
                get_or_create_clinic(session, actor=SYSTEM, code=cell)
        except ValueError as exc:
            return str(exc).removeprefix("clinic: "), True
        return None, True
    raise AssertionError(f"no form path for {field}")


# --- the import's path: a dry run, as the Import page runs it first ---------------------


def score_file(field: str, cell: str) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writeheader()
    writer.writerow({**GOOD, "patient_id": "P0"})  # line 2 is good: the bad row is line 3
    writer.writerow({**GOOD, field: cell})
    return out.getvalue().encode("utf-8")


def import_refusal(report, field: str) -> str | None:
    assert not [e for e in report.errors if e.line == 0], report.format()
    return next((e.reason for e in report.errors if e.line == 3 and e.field == field), None)


FORM_FIELDS = {"patient_id", "name", "indication", "birth_date", "failed_trials", "date",
               "infusion_number", "dose_mg_per_kg", "item_1", "item_3", "total", "clinic"}
SCORE_CORPUS = [(n, f, c) for n, f, c, _ in SCORE_CASES if f in FORM_FIELDS] + EXTRA_SCORE_CASES
PATIENT_CORPUS = [(n, f, c) for n, f, c, _ in PATIENT_CASES if f in FORM_FIELDS]


@pytest.fixture
def clinic(engine):
    with write_session() as session:
        get_or_create_clinic(session, actor=SYSTEM, code="CL1")
    return engine


def test_the_corpus_covers_every_form_field_of_both_imports():
    fields = {f for _, f, _ in SCORE_CORPUS + PATIENT_CORPUS}
    assert fields == FORM_FIELDS
    assert len(SCORE_CORPUS) + len(PATIENT_CORPUS) >= 40


@pytest.mark.parametrize(("name", "field", "cell"), SCORE_CORPUS, ids=[c[0] for c in SCORE_CORPUS])
def test_a_score_cell_is_refused_by_the_form_and_by_the_import_alike(clinic, name, field, cell):
    form, typed = form_refusal(field, cell)
    report = import_scores(score_file(field, cell), actor=SYSTEM, dry_run=True, today=TODAY)
    imported = import_refusal(report, field)
    assert form is not None, f"the form accepts {name}"
    assert imported is not None, f"the import accepts {name}: {report.format()}"
    if typed:
        assert imported == form


@pytest.mark.parametrize(("name", "field", "cell"), PATIENT_CORPUS,
                         ids=[c[0] for c in PATIENT_CORPUS])
def test_a_patient_cell_is_refused_by_the_form_and_by_the_import_alike(clinic, name, field, cell):
    form, typed = form_refusal(field, cell)
    report = import_patients(patient_file(**{field: cell}), actor=SYSTEM, dry_run=True,
                             today=TODAY)
    imported = import_refusal(report, field)
    assert form is not None, f"the form accepts {name}"
    assert imported is not None, f"the import accepts {name}: {report.format()}"
    if typed:
        assert imported == form


@pytest.mark.parametrize(("field", "cell", "refusal"), [
    ("patient_id", "P\x01X", "contains a control character (U+0001); only printable text is "
                            "accepted on one line"),
    ("date", "1995-06-01", "1995-06-01 is not plausible; dates are on or after 2000-01-01"),
], ids=["control character", "dated 1995"])
def test_the_issues_cases_are_refused_by_a_dry_run_as_the_form_refuses_them(clinic, field,
                                                                             cell, refusal):
    report = import_scores(score_file(field, cell), actor=SYSTEM, dry_run=True, today=TODAY)
    assert not report.ok
    assert import_refusal(report, field) == refusal
    assert form_refusal(field, cell) == (refusal, True)
