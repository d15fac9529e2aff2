"""Streaming exports (issue 13): the scores table (CSV, JSON, XLSX) and the FHIR export
(a Bundle, or NDJSON per resource type) written to a file a few thousand courses at a
time, so memory is bounded by the chunk, not by the store.

The rows come from `tables.iter_score_chunks` (the chosen courses read once, in order, then
the scores of a few thousand at a time) in one snapshot (`snapshot_session`: REPEATABLE READ on PostgreSQL; SQLite's
read transaction is one already). Each chunk goes through the same rules as the
whole-table path (`deidentify` with one set of staff pseudonyms for the export,
`format_cell`, `json.dumps`, `typed_cell`, the FHIR resource builders), so the files
are the same: byte-equal CSV and JSON, the same cells in XLSX, the same FHIR resources
(tests/data/exports/test_export_streaming.py compares them with the whole-table path).

What must be known before the first row (the item columns, the staff, the row count for
the XLSX filter range) comes from `tables.score_plan` (one aggregate query).
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlmodel import Session, select

from data.exports.deidentify import StaffPseudonyms, deidentify
from data.exports.fhir import (
    FHIR_INSTRUMENTS,
    PSEUDONYMIZED,
    VALIDATE_AT_MOST,
    patient_resource,
    patient_uuid,
    questionnaire_response,
    total_observation,
)
from data.exports.tables import (
    RowFilters,
    _chosen_scores,
    iter_score_chunks,
    patient_rows,
    score_plan,
)
from data.exports.values import _json_field, table_rows
from data.files.columns import score_columns
from data.files.frame import ColumnTable, write_rows
from data.files.safe_csv import format_cell
from data.store.db import read_session
from models.access import Actor
from models.tables import Assessment, Course, Patient

Progress = Callable[[float, str], None]
NDJSON_TYPES = ("Patient", "QuestionnaireResponse", "Observation")  # one file each (Bulk Data)


def _quiet(fraction: float, text: str) -> None:
    return None


@contextmanager
def snapshot_session() -> Iterator[Session]:
    """A read session whose queries all see one snapshot: REPEATABLE READ on PostgreSQL
    (set before its first query); SQLite's deferred read transaction is one already."""
    with read_session() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session


@dataclass
class ScoreStream:
    """A scores table about to be streamed: its output columns and notes (`shape`, a
    table of no data holding the row count) and its chunks, each ready to write."""

    shape: ColumnTable
    chunks: Iterator[ColumnTable]


def score_stream(session: Session, *, actor: Actor, filters: RowFilters, deidentified: bool,
                 date_mode: str, instruments: tuple[str, ...] | None = None,
                 raw: bool = False) -> ScoreStream:
    """The scores of an export, de-identified (or without the study ID) chunk by chunk;
    `raw`: the identified chunks as read, every column (what the FHIR builders take)."""
    from data.exports.service import without_pseudonyms  # the service imports this module

    plan = score_plan(session, actor=actor, filters=filters, instruments=instruments)
    empty = ColumnTable("scores", score_columns(plan.widest), {}, 0)
    staff = StaffPseudonyms(plan.staff) if deidentified else None

    def prepared(table: ColumnTable) -> ColumnTable:
        if raw:
            return table
        if deidentified:
            return deidentify(table, date_mode=date_mode, staff=staff)
        return without_pseudonyms(table)

    shape = prepared(empty)
    shape.n_rows = plan.n_rows
    chunks = iter_score_chunks(session, actor=actor, filters=filters, widest=plan.widest,
                               instruments=instruments, timestamps=raw or not deidentified)
    return ScoreStream(shape, (prepared(chunk) for chunk in chunks))


@dataclass
class Written:
    """What a streamed writer wrote: rows per table (the manifest's counts)."""

    rows: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _counted(stream: ScoreStream, progress: Progress, written: Written) -> Iterator[ColumnTable]:
    total = max(stream.shape.n_rows, 1)
    for chunk in stream.chunks:
        written.rows += chunk.n_rows
        yield chunk
        progress(min(written.rows / total, 1.0), f"{written.rows:,} of "
                 f"{stream.shape.n_rows:,} rows written")


def _check_count(stream: ScoreStream, written: Written) -> None:
    if written.rows != stream.shape.n_rows:  # the snapshot makes this impossible
        raise RuntimeError(f"scores: {written.rows} rows streamed, {stream.shape.n_rows} "
                           "counted before (the store changed during the export)")


def write_scores_csv(out: IO[bytes], stream: ScoreStream, progress: Progress = _quiet) -> Written:
    """The bytes of `safe_csv.write_csv_columns` of the whole table, chunk by chunk."""
    names = stream.shape.column_names
    out.write((",".join(format_cell(h) for h in names) + "\n").encode("utf-8"))
    written = Written()
    for chunk in _counted(stream, progress, written):
        write_rows(out, [chunk.column(n) for n in names], [format_cell] * len(names),
                   chunk.n_rows, sep=",", end="\n")
    _check_count(stream, written)
    return written


def write_scores_json(out: IO[bytes], stream: ScoreStream, document: dict[str, Any],
                      progress: Progress = _quiet) -> Written:
    """The bytes of `values.json_document(document, whole table)`: the document, then its
    "rows" array streamed (each row as json.dumps(indent=1) nests it)."""
    names = stream.shape.column_names
    head = json.dumps(document | {"rows": []}, indent=1, ensure_ascii=False)
    empty = '"rows": []\n}'
    written = Written()
    chunks = _counted(stream, progress, written)
    first = next(chunks, None)
    if first is None or not names or not head.endswith(empty):
        if first is not None:  # a table without columns: rows of {}
            raise RuntimeError("scores: a table without columns cannot be streamed")
        out.write((head + "\n").encode("utf-8"))
        _check_count(stream, written)
        return written
    out.write((head[:-len(empty)] + '"rows": [\n').encode("utf-8"))
    formats = [_json_field(n) for n in names]
    for k, chunk in enumerate(_chain(first, chunks)):
        if k:
            out.write(b",\n")
        write_rows(out, [chunk.column(n) for n in names], formats, chunk.n_rows,
                   sep=",\n", start="  {\n", end="\n  }", between=",\n")
    out.write(b"\n ]\n}\n")
    _check_count(stream, written)
    return written


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest


def write_scores_xlsx(path: Path, stream: ScoreStream, about: list[tuple[str, Any]],
                      progress: Progress = _quiet) -> Written:
    """The workbook of `xlsx.write_workbook([whole table], about=about)`, its rows
    appended chunk by chunk to openpyxl's write-only sheets (which spool to disk)."""
    from openpyxl import Workbook

    from data.exports.xlsx import MAX_SHEET_ROWS, add_sheet, definition_rows

    shape, names = stream.shape, stream.shape.column_names
    written = Written()
    rows = (row for chunk in _counted(stream, progress, written)
            for row in table_rows(chunk))
    wb = Workbook(write_only=True)
    n_parts = max(1, -(-shape.n_rows // MAX_SHEET_ROWS))
    for k in range(n_parts):
        title = shape.name if k == 0 else f"{shape.name[:25]} ({k + 1})"
        size = min(MAX_SHEET_ROWS, shape.n_rows - k * MAX_SHEET_ROWS) if shape.n_rows else 0
        add_sheet(wb, title, names, _Rows(rows, size))
    add_sheet(wb, "definitions", ["sheet", "column", "type", "description"],
              definition_rows([shape], about), wrap=True)
    if next(rows, None) is not None:  # more rows than counted
        written.rows += 1
    wb.save(str(path))
    _check_count(stream, written)
    return written


class _Rows:
    """The next `size` rows of an iterator as `add_sheet` reads them: its length, its first
    200 rows (the column widths) and then every row once."""

    def __init__(self, rows: Iterator[list[Any]], size: int) -> None:
        self._rows, self._size = rows, size
        self._head = [row for _, row in zip(range(min(size, 200)), rows, strict=False)]

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, part: slice) -> list[list[Any]]:  # add_sheet's rows[:200]
        return self._head[part]

    def __iter__(self) -> Iterator[list[Any]]:
        yield from self._head
        for _, row in zip(range(self._size - len(self._head)), self._rows, strict=False):
            yield row


# --- FHIR ----------------------------------------------------------------------------

@dataclass
class FhirSummary:
    """The manifest's description of a FHIR export, gathered while it is written."""

    counts: dict[str, int] = field(default_factory=dict)
    elements: dict[str, set[str]] = field(default_factory=dict)
    sample: list[dict[str, Any]] = field(default_factory=list)  # validated afterwards

    def add(self, entry: dict[str, Any], resource: dict[str, Any]) -> None:
        kind = resource["resourceType"]
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.elements.setdefault(kind, set()).update(resource)
        if len(self.sample) < VALIDATE_AT_MOST:
            self.sample.append(entry)

    def described(self) -> dict[str, Any]:
        return {"columns": {k: sorted(v) for k, v in self.elements.items()},
                "rows": self.counts, "row_count": sum(self.counts.values())}


def fhir_resources(session: Session, *, actor: Actor, filters: RowFilters, today: Any,
                   deidentified: bool, reference: Callable[[str, str], str],
                   progress: Progress = _quiet) -> Iterator[tuple[str, dict[str, Any]]]:
    """(id, resource) in the Bundle's order: the Patients with a PHQ-9 or GAD-7 score,
    then each score's QuestionnaireResponse and, when it has a total, its Observation.
    `reference(resource type, id)` is how one resource refers to another (a bundle's
    urn:uuid fullUrl, or NDJSON's `Type/id`)."""
    wanted = set(session.exec(
        select(Patient.study_id).distinct().join(Course, Course.patient_id == Patient.id)
        .join(Assessment, Assessment.course_id == Course.id)
        .where(*_chosen_scores(actor, filters, FHIR_INSTRUMENTS))).all())
    # a patient's id found again from its study id (fhir.patient_uuid): no map of every
    # patient's reference is held (memory follows the chunk, issue 13)
    namespace = uuid.uuid4()
    emitted: set[str] = set()
    for row in patient_rows(session, actor=actor, filters=filters, today=today):
        if row["study_id"] in wanted:
            emitted.add(row["study_id"])
            yield patient_uuid(namespace, row["study_id"]), patient_resource(row, deidentified)
    del wanted
    stream = score_stream(session, actor=actor, filters=filters, deidentified=False,
                          date_mode="year", instruments=FHIR_INSTRUMENTS, raw=True)
    written = Written()
    for chunk in _counted(stream, progress, written):
        for score in chunk.rows:
            if score["instrument"] not in FHIR_INSTRUMENTS or score["study_id"] not in emitted:
                continue
            subject = reference("Patient", patient_uuid(namespace, score["study_id"]))
            response = str(uuid.uuid4())
            yield response, questionnaire_response(score, subject, deidentified)
            if score.get("total") is not None:
                yield str(uuid.uuid4()), total_observation(
                    score, subject, reference("QuestionnaireResponse", response), deidentified)


def bundle_reference(kind: str, ident: str) -> str:
    return f"urn:uuid:{ident}"


def write_fhir_bundle(out: IO[bytes], resources: Iterable[tuple[str, dict[str, Any]]], *,
                      deidentified: bool, now: datetime) -> FhirSummary:
    """The bytes of `fhir.bundle_bytes(build_bundle(...))`, one entry at a time."""
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "collection",
                              "timestamp": now.isoformat(), "entry": []}
    if deidentified:
        bundle["meta"] = {"security": [PSEUDONYMIZED]}
    marker = "\u0000entries\u0000"
    template = json.dumps(bundle | {"entry": [marker]}, indent=1, ensure_ascii=False)
    head, tail = template.split(json.dumps(marker))
    summary = FhirSummary()
    n = 0
    for ident, resource in resources:
        entry = {"fullUrl": bundle_reference("", ident), "resource": resource}
        summary.add(entry, resource)
        text = json.dumps(entry, indent=1, ensure_ascii=False).replace("\n", "\n  ")
        out.write(((",\n  " if n else head) + text).encode("utf-8"))
        n += 1
    if not n:
        out.write((json.dumps(bundle, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))
    else:
        out.write((tail + "\n").encode("utf-8"))
    _validate(bundle, summary.sample)
    return summary


def _validate(bundle: dict[str, Any], entries: list[dict[str, Any]]) -> None:
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate({**bundle, "entry": entries})


def write_fhir_ndjson(path: Path, resources: Iterable[tuple[str, dict[str, Any]]], *,
                      deidentified: bool, now: datetime) -> FhirSummary:
    """A ZIP of one NDJSON file per resource type (FHIR Bulk Data: `Patient.ndjson`,
    `QuestionnaireResponse.ndjson`, `Observation.ndjson`, one resource per line, each with
    its `id`, references as `Type/id`). Each file is spooled to disk, then deflated into
    the archive."""
    summary = FhirSummary()
    with tempfile.TemporaryDirectory(prefix="fhir-ndjson-") as spool:
        files = {kind: open(Path(spool) / f"{kind}.ndjson", "wb")  # noqa: SIM115
                 for kind in NDJSON_TYPES}
        try:
            for ident, resource in resources:
                kind = resource["resourceType"]
                resource = {"resourceType": kind, "id": ident,
                            **{k: v for k, v in resource.items() if k != "resourceType"}}
                summary.add({"fullUrl": f"urn:uuid:{ident}", "resource": resource}, resource)
                files[kind].write(json.dumps(resource, ensure_ascii=False,
                                             separators=(",", ":")).encode("utf-8") + b"\n")
        finally:
            for handle in files.values():
                handle.close()
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for kind in NDJSON_TYPES:
                if summary.counts.get(kind):
                    archive.write(Path(spool) / f"{kind}.ndjson", f"{kind}.ndjson")
    sample_bundle = {"resourceType": "Bundle", "type": "collection",
                     "timestamp": now.isoformat()}
    _validate(sample_bundle, [{"resource": e["resource"]} for e in summary.sample])
    return summary


def ndjson_reference(kind: str, ident: str) -> str:
    return f"{kind}/{ident}"


def new_export_path(suffix: str) -> Path:
    """A new, empty private file for an export (removed by whoever hands it over)."""
    handle, name = tempfile.mkstemp(prefix="clinic-export-", suffix=suffix)
    os.close(handle)
    return Path(name)
