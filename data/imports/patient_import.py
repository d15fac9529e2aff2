"""Patient import: a CSV file of patients (`python manage.py import-patients FILE.csv`).

Columns (order free, names exact): patient_id and clinic required; name, birth_date
(YYYY-MM-DD), sex (female, male, other, unknown; F/M accepted), indication and
failed_trials (0-30) optional. Unknown columns are reported and ignored.

Like the score import: UTF-8 with or without a byte-order mark, CRLF accepted, cells and
names trimmed, blank rows skipped; all or nothing, with every bad row reported (line,
field, reason; the header is line 1). A patient code that appears twice in the file, or
is already registered in its clinic, is an error. Patients under 18 are warnings. New
clinics are created only for an actor with all-clinic scope (or an administrator:
models.access.imports_everywhere). The actor needs 'import_data'. One audit event records the
import (file hash and counts, no identifiers).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session, select

from data.accounts.users import case_variant_problem, case_variants
from data.imports.import_csv import (
    ErrorLog,
    FileError,
    RowError,
    decode,
    delimiter_hint,
    error_summary,
    shown,
)
from data.store import audit
from data.store.bulk import BulkRecords, write_records
from data.store.clinic_time import actor_today
from data.store.db import read_session, write_session
from models.access import Actor, imports_everywhere, require
from models.schemas import (
    InputError,
    PatientIn,
    age_warning,
    clinic_code_problem,
    parse,
    patient_code_problem,
)
from models.tables import SEXES, Clinic, Patient

REQUIRED = ("patient_id", "clinic")
OPTIONAL = ("name", "birth_date", "sex", "indication", "failed_trials")
_COLUMN_OF = {"patient_code": "patient_id", "clinic_id": "clinic"}
_SEX = {**{s: s for s in SEXES}, "f": "female", "m": "male"}


@dataclass
class PatientImportReport:
    ok: bool
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=lambda: {"clinics": 0, "patients": 0})
    rows: int = 0
    dry_run: bool = False
    total_errors: int = 0  # every error found (the first 20 per field are listed)
    summary: list[str] = field(default_factory=list)

    def format(self) -> str:
        lines = [*self.summary]
        lines += [shown(e.reason if e.line == 0 else f"line {e.line}, {e.field}: {e.reason}", 400)
                  for e in self.errors]
        lines += [f"warning: {shown(w, 400)}" for w in self.warnings]
        made = f"clinics {self.created['clinics']}, patients {self.created['patients']}"
        if not self.ok:
            count = max(self.total_errors, len(self.errors))
            head = f"import rejected: {count} error(s); nothing was written"
        elif self.dry_run:
            head = f"dry run: {self.rows} rows are valid; would create {made}"
        else:
            head = f"imported {self.rows} rows; created {made}"
        return "\n".join([head, *lines])


def read_rows(raw: bytes) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    """(line, cells by column) for every non-blank data row, and warnings."""
    reader = csv.reader(io.StringIO(decode(raw), newline=""))
    try:
        header = [h.strip() for h in next(reader, [])]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise FileError(f"the header lacks required column(s) {', '.join(missing)}"
                            f"{delimiter_hint(header)}; required: {', '.join(REQUIRED)}; "
                            f"optional: {', '.join(OPTIONAL)}")
        if len({h for h in header if h}) != len([h for h in header if h]):
            raise FileError("a column appears twice in the header")
        warnings = [f"unknown column ignored: '{h}'" for h in header
                    if h and h not in REQUIRED + OPTIONAL]
        rows, last = [], reader.line_num
        for cells in reader:
            line, last = last + 1, reader.line_num
            cells = [c.strip() for c in cells]
            if any(cells):
                rows.append((line, {h: (cells[k] if k < len(cells) else "")
                                    for k, h in enumerate(header) if h}))
    except csv.Error as exc:
        raise FileError(f"the file is not readable as CSV: {exc}") from None
    if not rows:
        raise FileError("the file has a header but no data rows")
    return rows, warnings


def _typed(cells: dict[str, str], errors: list[RowError], line: int) -> dict[str, Any]:
    """The optional cells converted (birth_date, sex, failed_trials); bad ones reported."""
    values: dict[str, Any] = {"patient_code": cells["patient_id"],
                              "name": cells.get("name", ""),
                              "indication": cells.get("indication") or None}
    text = cells.get("birth_date", "")
    try:
        values["birth_date"] = date.fromisoformat(text) if text else None
        if text and len(text) != 10:
            raise ValueError
    except ValueError:
        errors.append(RowError(line, "birth_date",
                               f"'{shown(text)}' is not a date; write YYYY-MM-DD"))
    sex = cells.get("sex", "")
    values["sex"] = _SEX.get(sex.lower()) if sex else None
    if sex and values["sex"] is None:
        errors.append(RowError(line, "sex", f"'{shown(sex)}' is not allowed; one of "
                               f"{', '.join(SEXES)} (or F, M)"))
    trials = cells.get("failed_trials", "")
    whole = trials.isascii() and trials.isdigit() and len(trials) <= 6  # not '²', not 5000 digits
    if trials and not whole:
        errors.append(RowError(line, "failed_trials",
                               f"'{shown(trials)}' is not a whole number 0-30"))
    values["failed_trials"] = int(trials) if whole else None
    return values


def check_rows(rows: list[tuple[int, dict[str, str]]], *, today: date
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[RowError], list[str]]:
    """Validated records, the (line, clinic, patient_code) of every identifiable row (for
    the store checks), every error and the warnings."""
    records, keys, errors, warnings = [], [], ErrorLog(), []
    first_line: dict[tuple[str, str], int] = {}
    for line, cells in rows:
        bad = errors.total
        clinic = cells["clinic"]
        if problem := (clinic_code_problem(clinic) if clinic else "required"):
            errors.append(RowError(line, "clinic", problem))
        elif cells["patient_id"] and patient_code_problem(cells["patient_id"]) is None:
            # only codes that pass the text rule reach the store (no NUL in a query)
            keys.append({"line": line, "clinic": clinic, "patient_code": cells["patient_id"]})
        values = _typed(cells, errors, line)
        try:
            patient = parse(PatientIn, {"clinic_id": 0, **values}, today=today)
        except InputError as exc:
            errors += [RowError(line, _COLUMN_OF.get(f, f), r) for f, r in exc.problems
                       if f not in values or values[f] is not None or f == "patient_code"]
            continue
        key = (clinic, patient.patient_code)
        if key in first_line:
            errors.append(RowError(line, "patient_id", f"'{shown(key[1])}' of clinic {clinic} is also "
                                   f"on line {first_line[key]}; one row per patient"))
        first_line.setdefault(key, line)
        if errors.total == bad:
            records.append({**patient.model_dump(exclude={"clinic_id"}), "clinic": clinic,
                            "line": line})
            if warning := age_warning(patient.birth_date, today):
                warnings.append(f"line {line}: {warning}")
    return records, keys, errors, warnings


def _store_errors(session: Session, actor: Actor, records: list[dict[str, Any]]
                  ) -> tuple[list[RowError], set[str]]:
    """Clinics outside the actor's scope and codes already registered; new clinic codes.
    `records` are the identifiable rows (line, clinic, patient_code)."""
    codes = {r["clinic"] for r in records}
    clinics = {c.code: c.id for c in session.exec(select(Clinic).where(Clinic.code.in_(codes)))}
    new = codes - set(clinics)
    errors = []
    variants = case_variants(session, new)
    first: dict[str, str] = {}
    for code in sorted(codes):
        first.setdefault(code.lower(), code)
    for r in records:
        code = r["clinic"]
        other = variants.get(code) or (first[code.lower()] if code in new
                                       and first[code.lower()] != code else None)
        if other:
            errors.append(RowError(r["line"], "clinic", case_variant_problem(code, other)))
        cid = clinics.get(r["clinic"])
        everywhere = imports_everywhere(actor)
        if (cid is None and not everywhere) or (cid and not everywhere
                                                and not actor.sees_clinic(cid)):
            errors.append(RowError(r["line"], "clinic", f"clinic {r['clinic']} is outside your "
                                   "clinics (only a user with all-clinic scope creates one)"))
    existing = set(session.exec(select(Clinic.code, Patient.patient_code)
                                .join(Clinic, Clinic.id == Patient.clinic_id)
                                .where(Clinic.code.in_(codes))).all())
    errors += [RowError(r["line"], "patient_id", f"'{shown(r['patient_code'])}' is already registered "
                        f"in clinic {r['clinic']}") for r in records
               if (r["clinic"], r["patient_code"]) in existing]
    return errors, new


class _Rejected(Exception):
    """Rolls the write transaction back when the store checks fail."""


def _actor_today(actor: Actor) -> date:
    """Today in the zone of the actor's first clinic (data.store.clinic_time.actor_today)."""
    with read_session() as session:
        return actor_today(session, actor)


def import_patients(raw: bytes, *, actor: Actor, dry_run: bool = False,
                    today: date | None = None,
                    progress: Callable[[float, str], None] | None = None
                    ) -> PatientImportReport:
    """Check a patient CSV; when every row is valid (and not a dry run), write it all.
    `progress(share, text)` is told each stage (the Import page's progress bar)."""
    progress = progress or (lambda done, text: None)
    with write_session() as session:  # a refusal is audited at the boundary
        require(actor, "import_data", entity="patient", message="Only directors and "
                "administrators can import patients.")
    today = today or _actor_today(actor)
    progress(0.05, "Reading the file")
    try:
        rows, warnings = read_rows(raw)
    except FileError as exc:
        return PatientImportReport(ok=False, errors=[RowError(0, "file", str(exc))],
                                   dry_run=dry_run)
    progress(0.2, "Checking the rows")
    records, keys, errors, age_warnings = check_rows(rows, today=today)
    progress(0.4, "Checking the rows against the store")
    report = PatientImportReport(ok=False, warnings=warnings + age_warnings, rows=len(rows),
                                 dry_run=dry_run)
    try:
        with write_session() as session:
            store_errors, new_clinics = _store_errors(session, actor, keys)
            errors += store_errors
            report.errors = sorted(errors, key=lambda e: (e.line, e.field))
            report.total_errors, report.summary = errors.total, error_summary(errors)
            report.created = {"clinics": len(new_clinics), "patients": len(records)}
            if report.errors or dry_run:
                raise _Rejected
            progress(0.6, "Writing the rows (one transaction)")
            write_records(session, BulkRecords(
                clinics=[{"code": c, "name": c} for c in sorted(new_clinics)],
                patients=[{k: v for k, v in r.items() if k != "line"} for r in records]))
            progress(0.9, "Recording the import in the audit trail")
            audit.record(session, actor=actor, action="import", entity="patients",
                         entity_id=hashlib.sha256(raw).hexdigest(),
                         new={"file_sha256": hashlib.sha256(raw).hexdigest(),
                              "rows": len(rows), "created": report.created})
    except _Rejected:
        pass
    report.ok = not report.errors
    progress(1.0, "Done")
    return report
