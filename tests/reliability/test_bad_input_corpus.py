"""Issue 6.6: a corpus of bad inputs, each refused with a message naming the field, and
nothing written (every table counted before and after; audit_event too, except the
'denied' events a refusal of permission writes on purpose).

Surfaces: the forms' services (register_patient, update_patient, log_infusion and its
scores, add_scores, close_alert, update_protocol), the command line (manage.py, exit 2
and 'FIELD: rule' on stderr) and both imports through the command line (import-scores,
import-patients: types, ranges, dates, encodings, empty and 60 MB files, delimiters,
duplicates, unknown instruments...). What spreadsheets really write (a UTF-8 byte-order
mark, CRLF line ends, spaces around cells) is accepted by both imports.
The count of refused inputs goes to tests/artifacts/bad_input_corpus.json.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

import manage
from data.clinic.alerts import close_alert
from data.clinic.infusions import add_scores, log_infusion
from data.clinic.patients import register_patient, update_patient
from data.clinic.protocol import update_protocol
from data.imports.import_csv import MAX_IMPORT_BYTES
from data.imports.importer import import_scores
from data.imports.patient_import import import_patients
from data.store.db import write_session
from models.access import PermissionDenied
from models.tables import AuditEvent
from tests.clinical_factories import (
    GAD7_PRE,
    PHQ9_POST,
    PHQ9_PRE,
    TODAY,
    clinic_id,
    infusion_input,
    log,
    make_course,
    make_patient,
    score,
)
from tests.factories import make_user
from tests.reliability.helpers import ON_POSTGRES, csv_bytes, table_counts, write_summary
from tests.reliability.helpers import manage as manage_process

HUGE_MB = 60


@dataclass(frozen=True)
class Case:
    surface: str
    name: str
    expect: str  # what the message must contain: the field as the user knows it, and ':'
    run: Callable[[dict], str]  # returns the refusal's message; raises Accepted if accepted


class Accepted(AssertionError):
    """The input was not refused."""


def service(call: Callable[[Session, dict], object]) -> Callable[[dict], str]:
    """Run `call` in a write unit of work; its ValueError/PermissionDenied message."""
    def run(ctx: dict) -> str:
        try:
            with write_session() as session:
                call(session, ctx)
        except (ValueError, PermissionDenied) as exc:
            return str(exc)
        raise Accepted("accepted")
    return run


def cli(*argv: str, stdin: str = "") -> Callable[[dict], str]:
    """`manage.py ARGV` in-process: exit 2 and its stderr ({tmp} is the test's folder)."""
    def run(ctx: dict) -> str:
        args = [a.format(tmp=ctx["tmp"]) for a in argv]
        stderr, old_stdin = io.StringIO(), sys.stdin
        sys.stdin = io.StringIO(stdin)
        try:
            with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
                code = manage.main(args)
        finally:
            sys.stdin = old_stdin
        if code != 2:
            raise Accepted(f"exit {code}: {stderr.getvalue()[-500:]}")
        return stderr.getvalue()
    return run


def import_file(command: str, content: bytes) -> Callable[[dict], str]:
    """`manage.py COMMAND FILE` with `content` as the file."""
    def run(ctx: dict) -> str:
        path = ctx["tmp"] / f"case{len(content)}-{abs(hash(content)) % 10**8}.csv"
        path.write_bytes(content)
        return cli(command, str(path))(ctx)
    return run


# --- forms (services) ------------------------------------------------------------------


def patient(ctx: dict, **fields) -> dict:
    return {"clinic_id": ctx["clinic_id"], "patient_code": "NEW-1", **fields}


def register(**fields) -> Callable[[dict], str]:
    return service(lambda s, ctx: register_patient(s, actor=ctx["director"],
                                                   patient=patient(ctx, **fields), today=TODAY))


def infusion(number: int = 9, scores: tuple = (), course: str = "course",
             **fields) -> Callable[[dict], str]:
    return service(lambda s, ctx: log_infusion(
        s, actor=ctx["clin"], course_id=ctx.get(course, 99_999),
        infusion=infusion_input(number, **fields), scores=list(scores), today=TODAY))


def scores(*given: dict) -> Callable[[dict], str]:
    return infusion(9, given)


def closing(action: str, note: str = "", alert: str = "open_alert") -> Callable[[dict], str]:
    return service(lambda s, ctx: close_alert(s, actor=ctx["clin"], alert_id=ctx.get(alert, 99_999),
                                              action=action, note=note))


def protocol(**changes) -> Callable[[dict], str]:
    return service(lambda s, ctx: update_protocol(s, actor=ctx["director"], changes=changes))


FORMS = [
    Case("register_patient", "empty patient code", "patient_code:", register(patient_code=" ")),
    Case("register_patient", "patient code of 65 characters", "patient_code:",
         register(patient_code="P" * 65)),
    Case("register_patient", "control character in the name", "name:",
         register(name="Ann\x00Lee")),
    Case("register_patient", "name of 201 characters", "name:", register(name="a" * 201)),
    Case("register_patient", "birth date in the future", "birth_date:",
         register(birth_date=TODAY + timedelta(days=1))),
    Case("register_patient", "birth date before 1900", "birth_date:",
         register(birth_date=date(1899, 12, 31))),
    Case("register_patient", "birth date that is no date", "birth_date:",
         register(birth_date="31/12/1980")),
    Case("register_patient", "unknown sex", "sex:", register(sex="x")),
    Case("register_patient", "31 failed trials", "failed_trials:", register(failed_trials=31)),
    Case("register_patient", "negative failed trials", "failed_trials:",
         register(failed_trials=-1)),
    Case("register_patient", "notes of 2001 characters", "notes:", register(notes="n" * 2001)),
    Case("register_patient", "a field the form does not have", "ssn:",
         register(ssn="123-45-6789")),
    Case("register_patient", "a clinic that does not exist", "clinic:",
         service(lambda s, ctx: register_patient(
             s, actor=ctx["director"], patient={"clinic_id": 99_999, "patient_code": "X"},
             today=TODAY))),
    Case("register_patient", "a patient code already registered", "patient_code:",
         register(patient_code="P-001")),
    Case("update_patient", "a correction without a reason", "reason:",
         service(lambda s, ctx: update_patient(s, actor=ctx["clin"], patient_id=ctx["patient"],
                                               changes={"name": "B"}, reason=" ",
                                               today=TODAY))),
    Case("log_infusion", "dose 0 mg/kg", "dose_mg_per_kg:", infusion(dose_mg_per_kg=0)),
    Case("log_infusion", "dose above the protocol maximum", "dose_mg_per_kg:",
         infusion(dose_mg_per_kg=2.5)),
    Case("log_infusion", "weight 20 kg", "weight_kg:", infusion(weight_kg=20)),
    Case("log_infusion", "no weight", "weight_kg:", infusion(weight_kg=None)),
    Case("log_infusion", "date in the future", "administered_on:",
         infusion(administered_on=TODAY + timedelta(days=1))),
    Case("log_infusion", "date before 2000", "administered_on:",
         infusion(administered_on=date(1999, 12, 31))),
    Case("log_infusion", "unknown infusion type", "infusion_type:",
         infusion(infusion_type="bolus")),
    Case("log_infusion", "unknown route", "route:", infusion(route="IV push")),
    Case("log_infusion", "infusion number 0", "number:", infusion(0)),
    Case("log_infusion", "infusion number already saved", "number:", infusion(1)),
    Case("log_infusion", "diastolic not below systolic", "bp_dia_before:",
         infusion(bp_sys_before=120, bp_dia_before=130)),
    Case("log_infusion", "heart rate 300", "hr_peak:", infusion(hr_peak=300)),
    Case("log_infusion", "SpO2 101 %", "spo2_discharge:", infusion(spo2_discharge=101)),
    Case("log_infusion", "duration 500 min", "duration_min:", infusion(duration_min=500)),
    Case("log_infusion", "side effect not in the checklist", "side_effects:",
         infusion(side_effects=["tingling"])),
    Case("log_infusion", "'other' side effect without a description", "side_effect_other:",
         infusion(side_effects=["other"])),
    Case("log_infusion", "adverse event of 2001 characters", "adverse_event:",
         infusion(adverse_event="a" * 2001)),
    Case("log_infusion", "a course that does not exist", "course:",
         infusion(course="no such course")),
    Case("scores", "PHQ-9 item answer 4", "pre PHQ-9 item_1:",
         scores(score("PHQ-9", "pre", [4, *PHQ9_PRE[1:]]))),
    Case("scores", "PHQ-9 item answer 'two'", "pre PHQ-9 item_2:",
         scores(score("PHQ-9", "pre", [1, "two", *PHQ9_PRE[2:]]))),
    Case("scores", "PHQ-9 with 10 answers", "pre PHQ-9 items:",
         scores(score("PHQ-9", "pre", [*PHQ9_PRE, 1]))),
    Case("scores", "unknown instrument", "instrument:", scores(score("BDI-II", "pre", [1] * 21))),
    Case("scores", "unknown timepoint", "timepoint:", scores(score("PHQ-9", "during", PHQ9_PRE))),
    Case("scores", "functional difficulty on a GAD-7", "functional_difficulty:",
         scores(score("GAD-7", "pre", GAD7_PRE, functional_difficulty=1))),
    Case("scores", "functional difficulty 4", "functional_difficulty:",
         scores(score("PHQ-9", "pre", PHQ9_PRE, functional_difficulty=4))),
    Case("scores", "MADRS item answer 7", "pre MADRS item_1:",
         scores(score("MADRS", "pre", [7] + [1] * 9))),
    Case("scores", "the same score twice", "pre PHQ-9:",
         scores(score("PHQ-9", "pre", PHQ9_PRE), score("PHQ-9", "pre", PHQ9_POST))),
    Case("scores", "a post score without its infusion", "infusion:",
         service(lambda s, ctx: add_scores(s, actor=ctx["clin"], infusion_id=None,
                                           scores=[score("PHQ-9", "post", PHQ9_POST)]))),
    Case("scores", "a score in a slot already saved", "post PHQ-9:",
         service(lambda s, ctx: add_scores(s, actor=ctx["clin"], infusion_id=ctx["infusion"],
                                           scores=[score("PHQ-9", "post", PHQ9_POST)]))),
    Case("close_alert", "an action not in the list", "action:", closing("hugged")),
    Case("close_alert", "'other' without a note", "note:", closing("other")),
    Case("close_alert", "a control character in the note", "note:",
         closing("other", "called \x1b[31m back")),
    Case("close_alert", "an alert that does not exist", "alert:",
         closing("safety_plan", alert="no such alert")),
    Case("close_alert", "an alert already closed", "alert:",
         closing("safety_plan", alert="closed_alert")),
    Case("protocol", "maximum dose 0", "dose_max_mg_per_kg:", protocol(dose_max_mg_per_kg=0)),
    Case("protocol", "maximum dose 11 mg/kg", "dose_max_mg_per_kg:",
         protocol(dose_max_mg_per_kg=11)),
    Case("protocol", "warning dose above the maximum", "dose_warn_mg_per_kg:",
         protocol(dose_warn_mg_per_kg=3)),
    Case("protocol", "induction length 2.5", "induction_length:", protocol(induction_length=2.5)),
    Case("protocol", "induction length 0", "induction_length:", protocol(induction_length=0)),
    Case("protocol", "small-cell threshold 'five'", "small_cell_threshold:",
         protocol(small_cell_threshold="five")),
    Case("protocol", "unknown timepoint rule", "timepoint_rule:", protocol(timepoint_rule="pre")),
    Case("protocol", "unknown setting", "max_patients:", protocol(max_patients=10)),
]

# --- command line ------------------------------------------------------------------------

CLI = [
    Case("cli", "export of an unknown kind", "KIND:", cli("export", "nonsense")),
    Case("cli", "export in a format the kind lacks", "--format:",
         cli("export", "scores", "--format", "pdf")),
    Case("cli", "export with an impossible date", "--start:",
         cli("export", "scores", "--start", "2024-13-01")),
    Case("cli", "export with the start after the end", "--start/--end:",
         cli("export", "scores", "--deidentify", "--start", "2024-05-01", "--end", "2024-01-01")),
    Case("cli", "export after infusion 0", "--after:", cli("export", "scores", "--after", "0")),
    Case("cli", "export after infusion 'abc'", "argument --after: invalid int value",
         cli("export", "outcomes", "--after", "abc")),
    Case("cli", "export of an unknown clinic", "--clinic:",
         cli("export", "scores", "--clinic", "NOPE")),
    Case("cli", "identified export without a reason", "--reason:", cli("export", "patients")),
    Case("cli", "de-identified dates by month", "argument --dates: invalid choice",
         cli("export", "scores", "--dates", "month")),
    Case("cli", "seed-demo with 0 patients", "--patients:", cli("seed-demo", "--patients", "0")),
    Case("cli", "seed-demo with 'abc' patients", "argument --patients: invalid int value",
         cli("seed-demo", "--patients", "abc")),
    Case("cli", "alerts as XML", "--format:", cli("alerts", "--format", "xml")),
    Case("cli", "verify-audit with a malformed head", "--expect-head:",
         cli("verify-audit", "--expect-head", "zzz")),
    Case("cli", "create-user with a 2-letter name", "username:",
         cli("create-user", "ab", "--role", "clinician", "--clinic", "CL1",
             stdin="a-long-enough-password\n")),
    Case("cli", "create-user with a short password", "password:",
         cli("create-user", "dr.new", "--role", "clinician", "--clinic", "CL1", stdin="short\n")),
    Case("cli", "create-user with an unknown role", "argument --role: invalid choice",
         cli("create-user", "dr.new", "--role", "boss")),
    Case("cli", "create-user of a clinician without a clinic", "clinic:",
         cli("create-user", "dr.new", "--role", "clinician", stdin="a-long-enough-password\n")),
    Case("cli", "import-scores of a missing file", "FILE:",
         cli("import-scores", "{tmp}/no-such-file.csv")),
    Case("cli", "import-patients of a folder", "FILE:", cli("import-patients", "{tmp}")),
    Case("cli", "restore of a missing file", "backup/restore:" if ON_POSTGRES else "FILE:",
         cli("restore", "{tmp}/no-such.db")),
]

# --- score import ------------------------------------------------------------------------

SCORE_COLUMNS = ["patient_id", "clinic", "course_id", "infusion_number", "infusion_type",
                 "timepoint", "date", "instrument", *(f"item_{n}" for n in range(1, 10)),
                 "functional_difficulty", "total", "dose_mg_per_kg", "route"]
ROW = {"patient_id": "IMP-1", "clinic": "CL1", "course_id": "C1", "infusion_number": "1",
       "timepoint": "pre", "date": "2024-01-13", "instrument": "PHQ-9",
       **{f"item_{n}": v for n, v in enumerate("222222220", 1)}}


def score_csv(*overrides: dict, columns: list[str] = SCORE_COLUMNS, **kwargs) -> bytes:
    return csv_bytes([{**ROW, **o} for o in overrides or ({},)], columns, **kwargs)


def scores_import(content: bytes) -> Callable[[dict], str]:
    return import_file("import-scores", content)


def huge(header: str, row: str) -> bytes:
    line = (row + "\n").encode()
    return header.encode() + b"\n" + line * (HUGE_MB * 1024 * 1024 // len(line) + 1)


def _items_only(**cells: str) -> dict:
    return {**{f"item_{n}": "" for n in range(1, 10)}, **cells}


def xlsx_bytes() -> bytes:
    """A score sheet saved as an Excel workbook, not as CSV."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(SCORE_COLUMNS)
    book.active.append([ROW.get(c, "") for c in SCORE_COLUMNS])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


GAD7_ROW = {"instrument": "GAD-7", **_items_only(**{f"item_{n}": "1" for n in range(1, 8)})}
SCORE_IMPORT = [
    Case("import-scores", "infusion number 'one'", "infusion_number:",
         scores_import(score_csv({"infusion_number": "one"}))),
    Case("import-scores", "infusion number 0", "infusion_number:",
         scores_import(score_csv({"infusion_number": "0"}))),
    Case("import-scores", "item answer 4", "item_1:", scores_import(score_csv({"item_1": "4"}))),
    Case("import-scores", "item answer 'two'", "item_2:",
         scores_import(score_csv({"item_2": "two"}))),
    Case("import-scores", "item answer 1.5", "item_3:", scores_import(score_csv({"item_3": "1.5"}))),
    Case("import-scores", "total 28 without items", "total:",
         scores_import(score_csv(_items_only(total="28")))),
    Case("import-scores", "total that disagrees with the items", "total:",
         scores_import(score_csv({"total": "3"}))),
    Case("import-scores", "total 'abc' without items", "total:",
         scores_import(score_csv(_items_only(total="abc")))),
    Case("import-scores", "functional difficulty 4", "functional_difficulty:",
         scores_import(score_csv({"functional_difficulty": "4"}))),
    Case("import-scores", "an item beyond the instrument's", "item_8:",
         scores_import(score_csv({**GAD7_ROW, "item_8": "1"}))),
    Case("import-scores", "dose 'lots'", "dose_mg_per_kg:",
         scores_import(score_csv({"dose_mg_per_kg": "lots"}))),
    Case("import-scores", "dose above the protocol maximum", "dose_mg_per_kg:",
         scores_import(score_csv({"dose_mg_per_kg": "2.5"}))),
    Case("import-scores", "February 30", "date:", scores_import(score_csv({"date": "2024-02-30"}))),
    Case("import-scores", "a day-first date", "date:",
         scores_import(score_csv({"date": "13/01/2024"}))),
    Case("import-scores", "a date in the future", "date:",
         scores_import(score_csv({"date": "2999-01-01"}))),
    Case("import-scores", "no date", "date:", scores_import(score_csv({"date": ""}))),
    Case("import-scores", "unknown instrument", "instrument:",
         scores_import(score_csv({"instrument": "BDI-II"}))),
    Case("import-scores", "unknown timepoint", "timepoint:",
         scores_import(score_csv({"timepoint": "during"}))),
    Case("import-scores", "unknown route", "route:", scores_import(score_csv({"route": "IV push"}))),
    Case("import-scores", "patient id of 65 characters", "patient_id:",
         scores_import(score_csv({"patient_id": "P" * 65}))),
    Case("import-scores", "the same row twice", "row: conflict",
         scores_import(score_csv({}, {}))),
    Case("import-scores", "a row already in the store", "row: conflict",
         scores_import(score_csv({"patient_id": "IMP-BASE"}))),
    Case("import-scores", "some rows of a patient without course_id", "course_id:",
         scores_import(score_csv({}, {"course_id": "", "timepoint": "post"}))),
    Case("import-scores", "a row longer than the header", "row:",
         scores_import(score_csv() + b"IMP-9,CL1,C1,1,,pre,2024-01-13,PHQ-9,1,1,1,1,1,1,1,1,1"
                       b",,,,,extra\n")),
    Case("import-scores", "a required column missing", "column(s) timepoint",
         scores_import(score_csv(columns=[c for c in SCORE_COLUMNS if c != "timepoint"]))),
    Case("import-scores", "a column twice", "appears twice",
         scores_import(b"patient_id,clinic,clinic\nP,CL1,CL1\n")),
    Case("import-scores", "semicolon-separated", "semicolons",
         scores_import(score_csv().replace(b",", b";"))),
    Case("import-scores", "tab-separated", "tabs", scores_import(score_csv().replace(b",", b"\t"))),
    Case("import-scores", "Latin-1 bytes", "not UTF-8",
         scores_import(score_csv({"patient_id": "Zoë-1"}, encoding="latin-1"))),
    Case("import-scores", "UTF-16 (with its byte-order mark)", "not UTF-8",
         scores_import(score_csv(encoding="utf-16"))),
    Case("import-scores", "an empty file", "empty", scores_import(b"")),
    Case("import-scores", "blank lines only", "empty", scores_import(b"\r\n  \n\n")),
    Case("import-scores", "a header and no rows", "no data rows",
         scores_import(",".join(SCORE_COLUMNS).encode() + b"\n")),
    Case("import-scores", "an Excel workbook instead of a CSV", "CSV UTF-8",
         scores_import(xlsx_bytes())),
]

# --- patient import ----------------------------------------------------------------------

PATIENT_COLUMNS = ["patient_id", "clinic", "name", "birth_date", "sex", "indication",
                   "failed_trials"]
PATIENT = {"patient_id": "PI-1", "clinic": "CL1", "name": "Ann Lee", "birth_date": "1980-05-17"}


def patient_csv(*overrides: dict, columns: list[str] = PATIENT_COLUMNS, **kwargs) -> bytes:
    return csv_bytes([{**PATIENT, **o} for o in overrides or ({},)], columns, **kwargs)


def patients_import(content: bytes) -> Callable[[dict], str]:
    return import_file("import-patients", content)


PATIENT_IMPORT = [
    Case("import-patients", "birth date month 13", "birth_date:",
         patients_import(patient_csv({"birth_date": "1980-13-01"}))),
    Case("import-patients", "birth date in the future", "birth_date:",
         patients_import(patient_csv({"birth_date": "2999-01-01"}))),
    Case("import-patients", "a day-first birth date", "birth_date:",
         patients_import(patient_csv({"birth_date": "17/05/1980"}))),
    Case("import-patients", "unknown sex", "sex:", patients_import(patient_csv({"sex": "x"}))),
    Case("import-patients", "failed trials 'two'", "failed_trials:",
         patients_import(patient_csv({"failed_trials": "two"}))),
    Case("import-patients", "failed trials 31", "failed_trials:",
         patients_import(patient_csv({"failed_trials": "31"}))),
    Case("import-patients", "no patient id", "patient_id:",
         patients_import(patient_csv({"patient_id": ""}))),
    Case("import-patients", "a clinic code with a space", "clinic:",
         patients_import(patient_csv({"clinic": "CL 1"}))),
    Case("import-patients", "a control character in the name", "name:",
         patients_import(patient_csv({"name": "Ann\x07Lee"}))),
    Case("import-patients", "the same patient twice", "patient_id:",
         patients_import(patient_csv({}, {"name": "Ann again"}))),
    Case("import-patients", "a patient already registered", "patient_id:",
         patients_import(patient_csv({"patient_id": "PI-BASE"}))),
    Case("import-patients", "no clinic column", "column(s) clinic",
         patients_import(patient_csv(columns=["patient_id", "name"]))),
    Case("import-patients", "semicolon-separated", "semicolons",
         patients_import(patient_csv().replace(b",", b";"))),
    Case("import-patients", "Latin-1 bytes", "not UTF-8",
         patients_import(patient_csv({"name": "Zoë"}, encoding="latin-1"))),
    Case("import-patients", "UTF-16 (with its byte-order mark)", "not UTF-8",
         patients_import(patient_csv(encoding="utf-16"))),
    Case("import-patients", "an empty file", "empty", patients_import(b"")),
    Case("import-patients", "a header and no rows", "no data rows",
         patients_import(",".join(PATIENT_COLUMNS).encode() + b"\r\n")),
]

CORPUS = FORMS + CLI + SCORE_IMPORT + PATIENT_IMPORT


@pytest.fixture
def ctx(store_url, tmp_path) -> dict:
    """A clinician and a director of CL1; a patient with a course, infusion 1 (its alert
    closed) and infusion 2 (its alert open); one score and one patient already imported."""
    from models.access import SYSTEM

    clin = make_user("dr.form", "clinician", ("CL1",))
    director = make_user("dr.chief", "director", ("CL1",), all_clinics=True)
    patient_id = make_patient(clin, "P-001")
    course = make_course(clin, patient_id)
    first = log(clin, course, 1, [score("PHQ-9", "pre", PHQ9_PRE), score("PHQ-9", "post",
                                                                          PHQ9_POST)])
    second = log(clin, course, 2, [score("PHQ-9", "pre", PHQ9_PRE)])
    with write_session() as session:
        close_alert(session, actor=clin, alert_id=first.alerts[0].id, action="safety_plan")
    assert import_scores(score_csv({"patient_id": "IMP-BASE"}), actor=SYSTEM).ok
    assert import_patients(patient_csv({"patient_id": "PI-BASE"}), actor=SYSTEM).ok
    return {"clin": clin, "director": director, "clinic_id": clinic_id("CL1"),
            "patient": patient_id, "course": course, "infusion": first.infusion.id,
            "closed_alert": first.alerts[0].id, "open_alert": second.alerts[0].id,
            "tmp": tmp_path}


def written(engine) -> dict[str, int]:
    """Rows per table; audit_event without the 'denied' events (written on purpose)."""
    counts = table_counts(engine)
    with Session(engine) as session:
        counts["audit_event"] -= session.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "denied")
        ).scalar_one()
    return counts


def test_every_bad_input_is_refused_naming_the_field_and_nothing_is_written(ctx, engine):
    assert len(CORPUS) >= 50
    problems, refused = [], {}
    for case in CORPUS:
        before = written(engine)
        try:
            message = case.run(ctx)
        except Accepted as exc:
            problems.append(f"{case.surface} / {case.name}: not refused ({exc})")
            continue
        after = written(engine)
        if case.expect not in message:
            problems.append(f"{case.surface} / {case.name}: message {message!r} does not "
                            f"name {case.expect!r}")
        if after != before:
            changed = {k: after[k] - before[k] for k in after if after[k] != before[k]}
            problems.append(f"{case.surface} / {case.name}: wrote {changed}")
        if not problems or not problems[-1].startswith(f"{case.surface} / {case.name}"):
            refused[case.surface] = refused.get(case.surface, 0) + 1
    figures = {"bad_inputs": len(CORPUS), "refused": sum(refused.values()),
               "by_surface": refused, "problems": problems}
    write_summary("bad_input_corpus", figures)
    assert problems == []


def test_a_huge_file_is_refused_at_once_with_its_size_limit(ctx, engine, monkeypatch):
    """60 MB files: refused by both imports before decoding (no copy of the file's text is
    made: the peak of new memory stays far below its size), and by the command line before
    reading the file (reading it would fail the test); a real `manage.py` process exits 2
    naming the limit."""
    import tracemalloc

    from models.access import SYSTEM

    scores_raw = huge(",".join(SCORE_COLUMNS), ",".join(ROW.get(c, "") for c in SCORE_COLUMNS))
    patients_raw = huge(",".join(PATIENT_COLUMNS), "PI-9,CL1,Ann,1980-05-17,,,")
    assert len(scores_raw) > HUGE_MB * 1024 * 1024 > MAX_IMPORT_BYTES
    before = written(engine)
    for importer, raw in ((import_scores, scores_raw), (import_patients, patients_raw)):
        tracemalloc.start()
        report = importer(raw, actor=SYSTEM)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 5 * 1024 * 1024, f"{peak} bytes: the file was decoded or copied"
        assert not report.ok
        assert "at most 50 MB" in report.format() and "60.0 MB" in report.format()
    path = ctx["tmp"] / "huge.csv"
    path.write_bytes(scores_raw)

    def read_bytes(self):
        raise AssertionError(f"{self} was read although its size alone refuses it")

    with monkeypatch.context() as patched:
        patched.setattr(Path, "read_bytes", read_bytes)
        for command in ("import-scores", "import-patients"):
            message = cli(command, str(path))(ctx)
            assert message.startswith("error: FILE: the file is 60.0 MB; an import file may "
                                      "be at most 50 MB"), message
    process = manage_process("import-scores", str(path), url=str(engine.url))
    assert process.returncode == 2 and "at most 50 MB" in process.stderr
    assert written(engine) == before
    write_summary("huge_file", {"size_mb": round(len(scores_raw) / 1024 / 1024, 1),
                                "limit_mb": MAX_IMPORT_BYTES // 1024 // 1024,
                                "refused": 5})


SPREADSHEET = [
    pytest.param({}, id="utf-8-bom"),
    pytest.param({"newline": "\r\n"}, id="crlf"),
    pytest.param({"spaces": True}, id="surrounding-spaces"),
]


def _spreadsheet(content: bytes, variant: dict) -> bytes:
    if variant.get("spaces"):
        lines = content.decode().split("\n")
        content = "\n".join(",".join(f"  {cell} " for cell in line.split(","))
                            if line else line for line in lines).encode()
    if not variant:
        content = b"\xef\xbb\xbf" + content  # the byte-order mark Excel writes
    return content


@pytest.mark.parametrize("variant", [p.values[0] for p in SPREADSHEET],
                         ids=[p.id for p in SPREADSHEET])
def test_what_spreadsheets_write_is_accepted_by_both_imports(store_url, engine, tmp_path,
                                                             variant):
    newline = variant.get("newline", "\n")
    scores_file = tmp_path / "scores.csv"
    scores_file.write_bytes(_spreadsheet(score_csv({}, {"timepoint": "post"},
                                                   newline=newline), variant))
    patients_file = tmp_path / "patients.csv"
    patients_file.write_bytes(_spreadsheet(patient_csv({}, {"patient_id": "PI-2"},
                                                       newline=newline), variant))
    before = table_counts(engine)
    for command, path in (("import-scores", scores_file), ("import-patients", patients_file)):
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            assert manage.main([command, str(path)]) == 0, stderr.getvalue()
    after = table_counts(engine)
    added = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    # scores: clinic CL1, patient IMP-1, course C1, infusion 1, 2 scores (its course queued
    # for the stored outcomes, its block of the courses' read marked stale by the trigger of
    # migration 0012); patients: 2
    assert added == {"clinic": 1, "patient": 3, "course": 1, "infusion": 1, "assessment": 2,
                     "audit_event": 2, "course_outcome_stale": 1, "course_outcome_block": 1}
    from sqlmodel import select as sql_select

    from models.tables import Patient

    with Session(engine) as session:
        codes = set(session.exec(sql_select(Patient.patient_code)).all())
        names = set(session.exec(sql_select(Patient.name)).all())
    assert codes == {"IMP-1", "PI-1", "PI-2"}  # trimmed, no byte-order mark in the first
    assert "Ann Lee" in names


def test_the_corpus_covers_every_surface():
    surfaces = {case.surface for case in CORPUS}
    assert {"register_patient", "log_infusion", "scores", "close_alert", "protocol", "cli",
            "import-scores", "import-patients"} <= surfaces
    assert len({(c.surface, c.name) for c in CORPUS}) == len(CORPUS)
