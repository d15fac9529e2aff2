"""Exports: validate the request, check the role, build the file, and write its manifest
to the audit trail (action 'export') before handing the bytes over.

Who may export what (models/access.py):

- director: identified exports (with a non-empty reason) and de-identified ones;
- auditor: de-identified exports only (an identified request is refused and audited);
- clinician, admin: no exports (a clinician reads outcomes on screen; exports are a
  director's or an auditor's job, so data leaves the store through fewer hands);
- system (the command line): everything, for the store's operator; identified exports
  need a reason there too.

The audit kind also needs `view_audit`. 'outcomes' and 'report' are aggregate (counts and
rates by clinic, small cells suppressed): they are de-identified by construction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from data.exports.deidentify import DATE_MODE_HELP, DATE_MODES, deidentify
from data.exports.fhir import build_bundle, bundle_bytes, resource_summary, validate_bundle
from data.exports.stream import (
    bundle_reference,
    fhir_resources,
    ndjson_reference,
    new_export_path,
    score_stream,
    snapshot_session,
    write_fhir_bundle,
    write_fhir_ndjson,
    write_scores_csv,
    write_scores_json,
    write_scores_xlsx,
)
from data.exports.tables import (
    RowFilters,
    Table,
    load_audit,
    load_infusions,
    load_patients,
    load_scores,
)
from data.exports.values import generated_by, json_document, table_rows
from data.exports.xlsx import TYPE_NAMES, write_workbook
from data.files.frame import ColumnTable
from data.files.readback import read_back
from data.files.safe_csv import write_csv, write_csv_columns
from data.store import audit
from data.store.db import read_session, write_session
from models.access import Actor, require
from models.tables import Clinic
from models.validation import clinic_code_problem, text_problem

FORMATS: dict[str, tuple[str, ...]] = {
    "patients": ("csv", "xlsx", "json"), "infusions": ("csv", "xlsx", "json"),
    "scores": ("csv", "xlsx", "json"), "outcomes": ("json", "csv", "xlsx"),
    "audit": ("csv", "xlsx", "json"), "report": ("pdf",), "fhir": ("json", "ndjson"),
    "statement": ("csv", "pdf"),  # 'Our outcomes, honestly' (data/exports/statement_export.py)
}
KINDS = tuple(FORMATS)
AGGREGATE_KINDS = ("outcomes", "report", "statement")
# Written chunk by chunk to a file (data/exports/stream.py): memory bounded by the chunk.
STREAMED = {("scores", "csv"), ("scores", "json"), ("scores", "xlsx"), ("fhir", "json"),
            ("fhir", "ndjson")}
MIME = {"csv": "text/csv", "json": "application/json", "pdf": "application/pdf",
        "ndjson": "application/zip",  # a ZIP of Type.ndjson files (FHIR Bulk Data)
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
SAFE_HARBOR = ("HIPAA Safe Harbor: no names, patient codes, birth dates, free text or staff "
               "names; patients by random study ID; ages 90 and over as '90+'")
MAX_REASON = 1000


class ExportError(ValueError):
    """A request that breaks a rule (the message names the field)."""


@dataclass(frozen=True)
class ExportRequest:
    """What to export; None in an outcome setting means the protocol's default."""

    kind: str
    fmt: str
    deidentified: bool = True
    reason: str = ""
    date_mode: str = "year"
    clinic_ids: tuple[int, ...] | None = None
    start: date | None = None
    end: date | None = None
    after_n: int | None = None
    timepoint_rule: str | None = None
    all_courses: bool | None = None
    clinicians: tuple[str, ...] | None = None  # outcomes: the Outcomes page's course filters
    indications: tuple[str, ...] | None = None
    as_of: date | None = None  # outcomes: the day D1 retention is judged on (default today)


@dataclass
class ExportResult:
    """The file and its manifest (also stored as the audit event `event_id`): its bytes in
    `content`, or, when `run_export` was given a `path`, left in that file (`content`
    empty; the caller hands the file over and removes it)."""

    content: bytes
    filename: str
    mime: str
    manifest: dict[str, Any] = field(default_factory=dict)
    event_id: int | None = None
    path: Path | None = None


Progress = Callable[[float, str], None]


def validate_request(req: ExportRequest) -> ExportRequest:
    """Check the request; aggregate kinds are always de-identified."""
    if req.kind not in FORMATS:
        raise ExportError(f"kind: must be one of {', '.join(KINDS)}")
    if req.fmt not in FORMATS[req.kind]:
        raise ExportError(f"format: {req.kind} exports as {', '.join(FORMATS[req.kind])}")
    if req.date_mode not in DATE_MODES:
        raise ExportError(f"dates: must be one of {', '.join(DATE_MODES)}")
    if req.start and req.end and req.start > req.end:
        raise ExportError("date range: the start must not be after the end")
    if req.after_n is not None and not 1 <= req.after_n <= 50:
        raise ExportError("after: must be an infusion number between 1 and 50")
    if problem := text_problem(req.reason or "", limit=MAX_REASON, multiline=True):
        raise ExportError(f"reason: {problem}")
    if req.kind == "fhir" and req.deidentified and req.date_mode != "year":
        raise ExportError("dates: a de-identified FHIR bundle gives dates as years (days since "
                          "the course start cannot be a FHIR date)")
    if req.kind in AGGREGATE_KINDS or req.kind == "fhir":
        req = replace(req, date_mode="year")
    if req.kind in AGGREGATE_KINDS:
        req = replace(req, deidentified=True)
    return replace(req, reason=(req.reason or "").strip())


def check_access(actor: Actor, req: ExportRequest) -> None:
    """Raise PermissionDenied (audited by the unit of work) or ExportError."""
    require(actor, "export_deidentified", entity="export", entity_id=req.kind,
            message=f"Your role ({actor.role}) may not export data.")
    if req.kind == "audit":
        require(actor, "view_audit", entity="export", entity_id=req.kind,
                message=f"Your role ({actor.role}) may not export the audit trail.")
    if not req.deidentified:
        require(actor, "export_identified", entity="export", entity_id=req.kind,
                message=f"Your role ({actor.role}) may export de-identified data only.")
        if not req.reason:
            raise ExportError("reason: an identified export needs a reason (who receives "
                              "it and why); it is kept in the audit trail")


def clinic_ids_for(session: Session, codes: list[str]) -> tuple[int, ...]:
    """Store ids of clinic codes (ExportError naming an unknown code)."""
    ids = []
    for code in codes:
        if problem := clinic_code_problem(code.strip()):
            raise ExportError(f"clinic: {problem}")
        clinic = session.exec(select(Clinic).where(Clinic.code == code.strip())).first()
        if clinic is None:
            raise ExportError(f"clinic: no clinic has the code '{code}'")
        ids.append(clinic.id)
    return tuple(ids)


def _load(session: Session, actor: Actor, req: ExportRequest,
          today: date) -> list[Table | ColumnTable]:
    filters = RowFilters(req.clinic_ids, req.start, req.end)
    if req.kind == "patients":
        return [load_patients(session, actor=actor, filters=filters, today=today)]
    if req.kind == "infusions":
        return [load_infusions(session, actor=actor, filters=filters)]
    if req.kind == "scores":  # the entry time is dropped from de-identified files: not read
        return [load_scores(session, actor=actor, filters=filters,
                            timestamps=not req.deidentified)]
    if req.kind == "audit":
        return [load_audit(session, actor=actor, filters=filters)]
    return [load_patients(session, actor=actor, filters=filters, today=today),
            load_scores(session, actor=actor, filters=filters, instruments=("PHQ-9", "GAD-7"))]


def _about(actor: Actor, req: ExportRequest, now: datetime, filters: dict,
           tables: list[Table | ColumnTable]) -> list[tuple[str, Any]]:
    about: list[tuple[str, Any]] = [
        ("kind", req.kind), ("generated at (UTC)", now.isoformat()),
        ("generated by", generated_by(actor, deidentified=req.deidentified)),
        ("de-identified", SAFE_HARBOR if req.deidentified else "no: identified data"),
    ]
    if req.deidentified and req.kind not in AGGREGATE_KINDS:
        about.append(("date mode", f"{req.date_mode}: {DATE_MODE_HELP[req.date_mode]}"))
    about += [(f"filter: {k}", "" if v is None else str(v)) for k, v in filters.items()]
    about += [(f"rows: {t.name}", t.n_rows) for t in tables]
    return about


def _row_file(tables: list[Table | ColumnTable], req: ExportRequest,
              about: list[tuple[str, Any]]) -> bytes:
    table = tables[0]
    if req.fmt == "csv" and isinstance(table, ColumnTable):
        return write_csv_columns(table.column_names,
                                 [table.column(n) for n in table.column_names], table.n_rows)
    if req.fmt == "csv":
        return write_csv(table.column_names, table_rows(table))
    if req.fmt == "xlsx":
        return write_workbook(tables, about=about)
    return json_document(_json_head(table, about), table)  # + "rows"


def _build(actor: Actor, req: ExportRequest, now: datetime,
           filters: dict) -> tuple[bytes, dict[str, Any]]:
    """The file's bytes and what the manifest says about its content."""
    if req.kind == "statement":  # imported here: plotly and reportlab take seconds
        from data.exports import statement_export

        return statement_export.build(actor, req, now, filters)
    if req.kind in AGGREGATE_KINDS:
        from data.exports import aggregate

        return aggregate.build(actor, req, now, filters)
    with read_session() as session:
        tables = _load(session, actor, req, now.date())
    if req.kind == "fhir":
        bundle = build_bundle(tables[0], tables[1], deidentified=req.deidentified, now=now)
        validate_bundle(bundle)
        elements, counts = resource_summary(bundle)
        return bundle_bytes(bundle), {"columns": elements, "rows": counts,
                                      "row_count": len(bundle["entry"])}
    if req.deidentified:
        tables = [deidentify(t, date_mode=req.date_mode) for t in tables]
    else:
        tables = [without_pseudonyms(t) for t in tables]
    content = _row_file(tables, req, _about(actor, req, now, filters, tables))
    return content, {"columns": {t.name: t.column_names for t in tables},
                     "rows": {t.name: t.n_rows for t in tables},
                     "row_count": sum(t.n_rows for t in tables)}


def _stream(target: Path, actor: Actor, req: ExportRequest, now: datetime,
            filters: dict, progress: Progress) -> dict[str, Any]:
    """Write a streamed export (STREAMED) to `target`; what the manifest says about it."""
    rows = RowFilters(req.clinic_ids, req.start, req.end)
    with snapshot_session() as session:
        if req.kind == "fhir":
            reference = ndjson_reference if req.fmt == "ndjson" else bundle_reference
            resources = fhir_resources(session, actor=actor, filters=rows, today=now.date(),
                                       deidentified=req.deidentified, reference=reference,
                                       progress=progress)
            if req.fmt == "ndjson":
                summary = write_fhir_ndjson(target, resources, deidentified=req.deidentified,
                                            now=now)
            else:
                with target.open("wb") as out:
                    summary = write_fhir_bundle(out, resources, deidentified=req.deidentified,
                                                now=now)
            return summary.described()
        stream = score_stream(session, actor=actor, filters=rows, deidentified=req.deidentified,
                              date_mode=req.date_mode)
        table = stream.shape
        about = _about(actor, req, now, filters, [table])
        if req.fmt == "xlsx":
            written = write_scores_xlsx(target, stream, about, progress)
        else:
            with target.open("wb") as out:
                if req.fmt == "csv":
                    written = write_scores_csv(out, stream, progress)
                else:
                    written = write_scores_json(out, stream, _json_head(table, about), progress)
    return {"columns": {table.name: table.column_names}, "rows": {table.name: written.rows},
            "row_count": written.rows}


def _json_head(table: Table | ColumnTable, about: list[tuple[str, Any]]) -> dict[str, Any]:
    return {
        "metadata": dict(about) | {"deidentification": table.notes},
        "definitions": [{"column": c.name, "type": TYPE_NAMES[c.kind],
                         "description": c.description} for c in table.columns],
    }


def _build_to(target: Path, actor: Actor, req: ExportRequest, now: datetime, filters: dict,
              progress: Progress) -> dict[str, Any]:
    """Write the export to `target`; what the manifest says about its content."""
    if (req.kind, req.fmt) in STREAMED:
        return _stream(target, actor, req, now, filters, progress)
    content, described = _build(actor, req, now, filters)
    target.write_bytes(content)
    return described


def _digest(path: Path) -> tuple[int, str]:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            sha.update(chunk)
    return path.stat().st_size, sha.hexdigest()


def without_pseudonyms(table: Table | ColumnTable) -> Table | ColumnTable:
    """An identified table without the study ID: the link between identified and
    de-identified files stays in the store (docs/EXPORTS.md)."""
    return replace(table, columns=tuple(c for c in table.columns if c.phi != "pseudonym"))


def _filters(req: ExportRequest) -> dict[str, Any]:
    with read_session() as session:
        codes = ([session.get(Clinic, i).code for i in req.clinic_ids if session.get(Clinic, i)]
                 if req.clinic_ids else None)
    return {"clinics": ", ".join(codes) if codes else "all in scope",
            "course_start_from": req.start.isoformat() if req.start else None,
            "course_start_to": req.end.isoformat() if req.end else None,
            **({"retention_as_of": req.as_of.isoformat()} if req.as_of else {})}


def filename_for(req: ExportRequest, now: datetime) -> str:
    stamp = now.strftime("%Y%m%d-%H%M%S")
    if req.kind == "report":
        return f"quality-report-{stamp}.pdf"
    if req.kind == "statement":
        return f"outcomes-statement-{stamp}.{req.fmt}"
    label = "fhir-bundle" if req.kind == "fhir" else req.kind
    which = "deidentified" if req.deidentified else "identified"
    if req.fmt == "ndjson":
        return f"fhir-ndjson-{which}-{stamp}.zip"
    return f"{label}-{which}-{stamp}.{req.fmt}"


def run_export(*, actor: Actor, request: ExportRequest, now: datetime | None = None,
               path: Path | None = None, progress: Progress | None = None) -> ExportResult:
    """Check, build, read back, record the manifest (action 'export'), return the file.

    The file is written to `path` (or a private temporary file whose bytes are returned
    in `content`); scores and FHIR are written chunk by chunk (data/exports/stream.py).
    `progress(fraction, text)` is told how far the writing is. A file that fails (read
    back, audit) is removed and nothing is recorded as exported."""
    req = validate_request(request)
    with read_session() as session:  # a refusal rolls back and is audited here
        check_access(actor, req)
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    tell = progress or (lambda fraction, text: None)
    filters = _filters(req)
    target = path or new_export_path("." + req.fmt)
    try:
        tell(0.0, "writing the file")
        described = _build_to(target, actor, req, now, filters, tell)
        tell(1.0, "reading the file back")
        checked = read_back(target, req.fmt, kind=req.kind, described=described)  # or raise
        size, sha256 = _digest(target)
        manifest = {
            "kind": req.kind, "format": req.fmt, "deidentified": req.deidentified,
            "date_mode": req.date_mode if req.deidentified and req.kind not in AGGREGATE_KINDS
            else None,
            "filters": filters | described.pop("parameters", {}),
            "generated_at": now.isoformat(), "generated_by": actor.username,
            "filename": filename_for(req, now), "bytes": size,
            "sha256": sha256, **described, "read_back": checked,
        }
        with write_session() as session:
            event = audit.record(session, actor=actor, action="export", entity="export",
                                 entity_id=req.kind, new=manifest, reason=req.reason or None)
            event_id = event.id
        content = b"" if path else target.read_bytes()
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    if path is None:
        target.unlink(missing_ok=True)
    return ExportResult(content, manifest["filename"], MIME[req.fmt], manifest, event_id, path)
