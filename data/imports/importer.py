"""Score import: a CSV file of questionnaire administrations (OUTCOMES.md section 5).

All or nothing: every file-level problem and every bad row is reported (line = the
1-based physical line, the header being line 1) and nothing is written; a clean file
is written in ONE transaction (data/store/bulk.py) with one audit event. Decisions on rules
the contract leaves open:

- Cells and column names are stripped of surrounding spaces; names are otherwise exact.
  Blank rows are skipped (with a warning); missing trailing cells are empty; extra
  non-empty cells beyond the header are an error. Unknown columns are warnings.
- timepoint is pre, post or followup (C4: data/imports/import_followups.py); timepoint,
  infusion_type and route are case-insensitive ('Pre', 'iv'); instrument
  names may differ in case, spaces or hyphens ('phq9'). infusion_number is 1-9999.
- Courses: a patient's rows either all carry course_id or none. A label matches the
  patient's stored course with that label; an inferred course k (a new course whenever
  infusion_number goes down, in date order) IS the patient's stored course number k, so
  a later file for the same patients adds to the same courses. New labelled courses are
  numbered after the stored ones. See data/imports/import_courses.py and data/imports/import_records.py.
- Existing clinics, patients, courses and infusions are reused unchanged.
- dose_mg_per_kg must be above 0 and at most the protocol's dose_max_mg_per_kg (default
  2.0): the infusion form's rule, models.schemas.dose_problem. Every value rule is the
  form's (models/schemas.py); this package only parses the cells' text.
- Item-9 alerts are 'open' when dated at most import_alert_window_days (protocol,
  default 14) before `today`, inclusive, else 'historical'.
- The actor needs 'import_data' (directors, administrators; the command line's SYSTEM);
  clinics outside the actor's scope, and new clinics for an actor without all-clinic
  scope, reject the file. An administrator imports into any clinic
  (models.access.imports_everywhere).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
from sqlalchemy.engine import Engine
from sqlmodel import Session

from data.accounts.users import case_variant_problem, case_variants
from data.clinic.protocol import load_protocol
from data.imports.import_courses import (
    StoreState,
    add_group_keys,
    conflicts,
    infusion_disagreements,
    key_mask,
    load_store_state,
    mixed_labels,
    number_courses,
)
from data.imports.import_csv import (
    FileError,
    RowError,
    add_errors,
    error_summary,
    read_table,
    shown,
)
from data.imports.import_followups import followup_errors
from data.imports.import_records import build_records
from data.imports.import_validation import sort_errors, validate_rows
from data.store import audit
from data.store.bulk import BulkRecords, count_new, paused_gc, write_records
from data.store.clinic_time import actor_today
from data.store.db import read_session, write_session
from models.access import Actor, imports_everywhere, require
from models.schemas import dose_problem
from models.tables import AlertStatus

Progress = Callable[[float, str], None]  # (share done 0-1, what is being done) for a bar


def _no_progress(done: float, text: str) -> None:
    return None


COUNT_KEYS = ("clinics", "patients", "courses", "infusions", "assessments", "alerts_open",
              "alerts_historical")


@dataclass
class ImportReport:
    """What an import found and did (or, with dry_run, would do)."""

    ok: bool
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_KEYS, 0))
    dry_run: bool = False
    rows: int = 0
    total_errors: int = 0  # every error found (only the first 20 per field are listed)
    summary: list[str] = field(default_factory=list)  # counts by field and rule

    @property
    def file_error(self) -> str | None:
        """The file-level error (line 0), if any."""
        return next((e.reason for e in self.errors if e.line == 0), None)

    def format(self) -> str:
        """The report for the command line: a summary, then one line per problem."""
        lines = [*self.summary]
        lines += [shown(f"file: {e.reason}" if e.line == 0
                        else f"line {e.line}, {e.field}: {e.reason}", 400) for e in self.errors]
        lines += [f"warning: {shown(w, 400)}" for w in self.warnings]
        created = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in self.counts.items())
        if not self.ok:
            count = max(self.total_errors, len(self.errors))
            head = f"import rejected: {count} error(s); nothing was written"
        elif self.dry_run:
            head = f"dry run: {self.rows} rows are valid; would create {created}"
        else:
            head = f"imported {self.rows} rows; created {created}"
        return "\n".join([head, *lines])


class _Rejected(Exception):
    """Raised inside the write transaction so that it rolls back."""


@dataclass
class _Checked:
    rows: pd.DataFrame  # the rows with valid identifying cells, with course_number
    errors: list[RowError]
    warnings: list[str]
    n_rows: int  # data rows in the file
    doses: pd.DataFrame  # line, dose_mg_per_kg of every row with a valid dose


def _scope_errors(actor: Actor, codes: set[str], state: StoreState) -> list[RowError]:
    """Clinics the actor may not import into (file-level)."""
    if imports_everywhere(actor):
        return []
    bad = sorted(c for c in codes if c not in state.clinic_ids
                 or not actor.sees_clinic(state.clinic_ids[c]))
    if not bad:
        return []
    return [RowError(0, "file", f"you may not import scores for clinic(s) {', '.join(bad)}: "
                     "they are outside your clinics (only a user with all-clinic scope may "
                     "create a clinic)")]


def _clinic_case_errors(session: Session, rows: pd.DataFrame, state: StoreState,
                        errors: list[RowError]) -> None:
    """A new clinic code that differs only in case from a stored clinic, or from another
    code of the file, would silently become a second clinic: refused on every row."""
    new = sorted(set(rows["clinic"]) - set(state.clinic_ids))
    variants = case_variants(session, set(new))
    first: dict[str, str] = {}
    for code in sorted(set(rows["clinic"])):
        first.setdefault(code.lower(), code)
    for code in new:
        other = variants.get(code) or (first[code.lower()] if first[code.lower()] != code
                                       else None)
        if other:
            lines = rows.loc[rows["clinic"] == code, "line"].to_numpy()
            add_errors(errors, "clinic", lines, [case_variant_problem(code, other)] * len(lines))


def _dose_errors(doses: pd.DataFrame, protocol: dict) -> list[RowError]:
    """The infusion form's dose rule (models.schemas.dose_problem: above 0, at most the
    protocol's maximum), once per distinct dose."""
    problem = {d: dose_problem(d, protocol) for d in pd.unique(doses["dose_mg_per_kg"])}
    return [RowError(int(line), "dose_mg_per_kg", problem[dose])
            for line, dose in zip(doses["line"], doses["dose_mg_per_kg"], strict=True)
            if problem[dose] is not None]


def _store_checks(session: Session, actor: Actor, checked: _Checked) -> dict:
    """Course numbers, conflicts and protocol limits against the store (errors added to
    `checked`); the protocol in force."""
    rows, protocol = checked.rows, load_protocol(session)
    patients = rows.drop_duplicates("_patient")
    state = load_store_state(session, set(zip(patients["clinic"], patients["patient_id"],
                                              strict=True)))
    checked.errors += _scope_errors(actor, set(patients["clinic"]), state)
    _clinic_case_errors(session, rows, state, checked.errors)
    checked.errors += _dose_errors(checked.doses, protocol)
    rows["course_number"] = number_courses(rows, state)
    add_group_keys(rows)
    checked.errors += conflicts(rows, state) + infusion_disagreements(rows)
    checked.errors += followup_errors(rows, state.infusion_dates)
    return protocol


def _check_file(raw: bytes, today: date) -> _Checked:
    """Everything that needs no store: the file, the rows, course labelling."""
    table = read_table(raw)
    rows, errors = validate_rows(table.frame, today=today, factorized=table.factorized)
    errors += table.errors
    doses = rows.loc[rows["dose_mg_per_kg"].notna(), ["line", "dose_mg_per_kg"]]
    keys_ok = key_mask(rows)
    valid = rows if keys_ok.all() else rows[keys_ok]  # columns are added to it later
    label_errors = mixed_labels(valid)
    errors += label_errors
    if label_errors:
        valid = valid[~valid["line"].isin({e.line for e in label_errors})]
    return _Checked(valid, errors, table.warnings, len(table.frame), doses)


def _plan(session: Session, actor: Actor, checked: _Checked, today: date) -> BulkRecords | None:
    """Store checks, then (if every row is clean) the records to write."""
    protocol = _store_checks(session, actor, checked)
    if checked.errors:
        return None
    return build_records(checked.rows, entered_by_id=actor.user_id, today=today,
                         alert_window_days=protocol["import_alert_window_days"],
                         induction_length=protocol["induction_length"])


def _counts(created: dict[str, int], records: BulkRecords) -> dict[str, int]:
    counts = {k: created[k] for k in COUNT_KEYS[:5]}
    statuses = list(pd.DataFrame(records.alerts, columns=["status"])["status"])
    counts["alerts_open"] = statuses.count(AlertStatus.OPEN)
    counts["alerts_historical"] = statuses.count(AlertStatus.HISTORICAL)
    return counts


def _audit_summary(digest: str, n_rows: int, counts: dict[str, int]) -> dict:
    """The import's audit value: no patient identifiers, only the file's hash and counts."""
    return {"file_sha256": digest, "rows": n_rows, "created": counts}


def _require_permission(actor: Actor, engine: Engine | None) -> None:
    """A refusal is audited at the unit of work's boundary (a 'denied' event)."""
    with write_session(engine):
        require(actor, "import_data", entity="scores",
                message="Only directors and administrators can import scores.")


def _write(raw: bytes, actor: Actor, checked: _Checked, today: date,
           engine: Engine | None, progress: Progress) -> dict[str, int] | None:
    """The one write transaction; None when the store checks rejected the file."""
    try:
        with write_session(engine) as session:
            records = _plan(session, actor, checked, today)
            if records is None:
                raise _Rejected
            progress(0.6, "Writing the rows (one transaction)")
            counts = _counts(write_records(session, records), records)
            progress(0.9, "Recording the import in the audit trail")
            digest = hashlib.sha256(raw).hexdigest()
            audit.record(session, actor=actor, action="import", entity="scores",
                         entity_id=digest, new=_audit_summary(digest, checked.n_rows, counts))
            return counts
    except _Rejected:
        return None


def _actor_today(actor: Actor, engine: Engine | None) -> date:
    """Today in the zone of the actor's first clinic (data.store.clinic_time.actor_today)."""
    with read_session(engine) as session:
        return actor_today(session, actor)


def import_scores(raw: bytes, *, actor: Actor, dry_run: bool = False, today: date | None = None,
                  engine: Engine | None = None, progress: Progress | None = None
                  ) -> ImportReport:
    """Check a score CSV and, when every row is valid, write it all in one transaction.
    `progress(share, text)` is told each stage (the Import page's progress bar)."""
    _require_permission(actor, engine)
    with paused_gc():
        return _import(raw, actor, dry_run, today or _actor_today(actor, engine), engine,
                       progress or _no_progress)


def _import(raw: bytes, actor: Actor, dry_run: bool, today: date,
            engine: Engine | None, progress: Progress) -> ImportReport:
    progress(0.05, "Reading the file")
    try:
        checked = _check_file(raw, today)
    except FileError as exc:
        return ImportReport(ok=False, errors=[RowError(0, "file", str(exc))], dry_run=dry_run)
    progress(0.3, "Checking the rows against the store")
    report = ImportReport(ok=False, warnings=checked.warnings, dry_run=dry_run,
                          rows=checked.n_rows)
    if dry_run or checked.errors:
        with read_session(engine) as session:
            records = _plan(session, actor, checked, today)
            counts = None if records is None else _counts(count_new(session, records), records)
    else:
        counts = _write(raw, actor, checked, today, engine, progress)
    report.errors = sort_errors(checked.errors)
    report.total_errors = getattr(checked.errors, "total", len(checked.errors))
    report.summary = error_summary(checked.errors)
    report.ok = counts is not None and not report.errors
    if counts is not None:
        report.counts = counts
    progress(1.0, "Done")
    return report


__all__ = ["ImportReport", "Progress", "RowError", "import_scores"]
