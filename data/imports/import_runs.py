"""The Import page's service: one entry for both imports (scores, patients), the same
functions `manage.py import-scores` and `import-patients` call (same rules, same single
transaction, same audit event), and their reports as the page shows them.

Nothing here checks a rule of its own: the reports come from data.imports.importer and
data.imports.patient_import; this module only names the kinds, words the field names in clinic
terms and counts the refused rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

from data.imports.import_csv import ITEM_COLUMNS, OPTIONAL_COLUMNS, REQUIRED_COLUMNS, RowError
from data.imports.importer import Progress, import_scores
from data.imports.patient_import import OPTIONAL as PATIENT_OPTIONAL
from data.imports.patient_import import REQUIRED as PATIENT_REQUIRED
from data.imports.patient_import import import_patients
from models.access import Actor

KINDS = {"scores": "Scores (questionnaires at infusions)",
         "patients": "Patients (registration details)"}
COLUMNS = {  # kind -> (required, optional) columns of the file
    "scores": (REQUIRED_COLUMNS, tuple(c for c in OPTIONAL_COLUMNS if c not in ITEM_COLUMNS)),
    "patients": (PATIENT_REQUIRED, PATIENT_OPTIONAL),
}
FIELD_LABELS = {
    "file": "Whole file", "row": "Whole row", "patient_id": "Patient ID",
    "clinic": "Clinic", "clinician": "Clinician", "indication": "Indication",
    "course_id": "Course", "infusion_number": "Infusion number",
    "infusion_type": "Infusion type", "timepoint": "Timepoint", "date": "Visit date",
    "instrument": "Questionnaire", "items": "Item answers", "total": "Total score",
    "functional_difficulty": "Functional difficulty (PHQ-9 question 10)",
    "dose_mg_per_kg": "Dose (mg/kg)", "route": "Route", "name": "Name",
    "birth_date": "Date of birth", "sex": "Sex",
    "failed_trials": "Failed antidepressant trials",
}
CREATED_LABELS = {"clinics": "clinics", "patients": "patients", "courses": "courses",
                  "infusions": "infusions", "assessments": "questionnaires",
                  "alerts_open": "open suicide-risk alerts",
                  "alerts_historical": "historical suicide-risk alerts"}


def field_label(name: str) -> str:
    """A report's field in clinic words, with the file's column name to find it."""
    if name.startswith("item_") and name[5:].isdigit():
        return f"Item {name[5:]} ({name})"
    label = FIELD_LABELS.get(name)
    if label is None or name in ("file", "row"):
        return label or name
    return f"{label} ({name})"


def digest(raw: bytes) -> str:
    """The file's SHA-256 (hex), as the import's audit event names it."""
    return hashlib.sha256(raw).hexdigest()


@dataclass
class ImportOutcome:
    """What a dry run found, or what an import wrote, for one file."""

    kind: str
    sha256: str
    dry_run: bool
    ok: bool
    rows: int
    errors: list[RowError] = field(default_factory=list)
    total_errors: int = 0
    summary: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)  # would create, on a dry run

    @property
    def file_error(self) -> str | None:
        return next((e.reason for e in self.errors if e.line == 0), None)

    @property
    def refused_rows(self) -> int:
        """Distinct lines with a listed problem (at least this many when not all listed)."""
        return len({e.line for e in self.errors if e.line > 0})

    @property
    def all_listed(self) -> bool:
        return self.total_errors <= len(self.errors)

    def table(self) -> list[dict[str, object]]:
        """Line, Field, Reason of every listed problem (file-level problems: line 0)."""
        return [{"Line": e.line, "Field": field_label(e.field), "Reason": e.reason}
                for e in self.errors if e.line > 0]

    def created_text(self) -> str:
        """'2 patients, 13 infusions, 50 questionnaires' (kinds with none left out)."""
        parts = [f"{n} {CREATED_LABELS.get(k, k)}" for k, n in self.created.items() if n]
        return ", ".join(parts) or "nothing new"


def run_import(kind: str, raw: bytes, *, actor: Actor, dry_run: bool,
               today: date | None = None, progress: Progress | None = None) -> ImportOutcome:
    """Dry-run or import `raw` as `kind` with the command line's service (one transaction,
    one audit event). Raises PermissionDenied (audited) for a role without import_data."""
    if kind == "scores":
        report = import_scores(raw, actor=actor, dry_run=dry_run, today=today,
                               progress=progress)
        created = dict(report.counts)
    elif kind == "patients":
        report = import_patients(raw, actor=actor, dry_run=dry_run, today=today,
                                 progress=progress)
        created = dict(report.created)
    else:
        raise ValueError(f"kind: '{kind}' is not an import; one of {', '.join(KINDS)}")
    return ImportOutcome(kind=kind, sha256=digest(raw), dry_run=dry_run, ok=report.ok,
                         rows=report.rows, errors=list(report.errors),
                         total_errors=max(report.total_errors, len(report.errors)),
                         summary=list(report.summary), warnings=list(report.warnings),
                         created=created)
