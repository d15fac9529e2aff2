"""The identified export tables, read within the actor's clinic scope.

Each loader returns a `Table` (rows as dicts of plain Python values, in the columns'
order, plus hidden keys starting with '_' that the de-identification needs: the course
anchor date), except `load_scores`, which returns the same content column-wise (a
`data.files.frame.ColumnTable`: a million rows at clinic-network scale). Permission
checks happen in `data.exports.service`, not here.

Date range: patients, infusions and scores are selected by their course's start date
(as the outcome figures are); audit events by the day they happened.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import String, case, cast, func
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select
from sqlmodel import Session, or_, select

from data.clinic.monitoring import adverse_event_text, adverse_events_by_infusion
from data.files.columns import (
    AUDIT_COLUMNS,
    INFUSION_COLUMNS,
    PATIENT_COLUMNS,
    ColumnSpec,
    score_columns,
)
from data.files.frame import Coded, ColumnTable, objects
from data.store.arrow_read import Kind, index_reads, ints, read_table, release_freed_memory
from models.access import Actor, scope_filter
from models.tables import Assessment, AuditEvent, Clinic, Course, Infusion, Patient, User
from outcomes.instruments import get_instrument


@dataclass(frozen=True)
class RowFilters:
    """Which rows: clinics (None = every clinic in scope) and a course-start date range."""

    clinic_ids: tuple[int, ...] | None = None
    start: date | None = None
    end: date | None = None


@dataclass
class Table:
    """One exported table: its columns and its rows (dicts keyed by column name)."""

    name: str
    columns: tuple[ColumnSpec, ...]
    rows: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)  # what the de-identification did

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def n_rows(self) -> int:
        return len(self.rows)


def _first_infusions():
    return (select(Infusion.course_id, func.min(Infusion.administered_on).label("first_on"))
            .group_by(Infusion.course_id).subquery())


def _course_rows(actor: Actor, filters: RowFilters):
    """WHERE parts shared by the course-level tables."""
    parts = [scope_filter(actor, Patient.clinic_id,
                          list(filters.clinic_ids) if filters.clinic_ids else None)]
    if filters.start:
        parts.append(Course.start_date >= filters.start)
    if filters.end:
        parts.append(Course.start_date <= filters.end)
    return parts


def age_in_years(birth: date | None, on: date | None) -> int | None:
    """Whole years completed on `on` (None when either date is unknown)."""
    if birth is None or on is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


PATIENT_CHUNK = 5000  # patients fetched at a time by ``patient_rows``


def load_patients(session: Session, *, actor: Actor, filters: RowFilters,
                  today: date) -> Table:
    return Table("patients", PATIENT_COLUMNS,
                 list(patient_rows(session, actor=actor, filters=filters, today=today)))


def patient_rows(session: Session, *, actor: Actor, filters: RowFilters,
                 today: date) -> Iterator[dict[str, Any]]:
    """The patients' rows (PATIENT_COLUMNS) in scope and range, by clinic and study id,
    fetched PATIENT_CHUNK at a time: a caller that writes them as they come holds a chunk,
    not every patient (the FHIR export at XL held 350,000 ORM objects: 1.2 GB)."""
    first = _first_infusions()
    anchor = func.coalesce(Course.start_date, first.c.first_on)
    courses = (
        select(Course.patient_id, func.count(Course.id).label("n_courses"),
               func.min(anchor).label("first_start"))
        .outerjoin(first, first.c.course_id == Course.id)
        .join(Patient, Patient.id == Course.patient_id)
        .where(*_course_rows(actor, filters))
        .group_by(Course.patient_id).subquery()
    )
    stmt = (select(Patient.study_id, Patient.patient_code, Patient.name, Patient.birth_date,
                   Patient.sex, Patient.indication, Patient.failed_trials, Patient.notes,
                   Clinic.code, courses.c.n_courses, courses.c.first_start)
            .join(Clinic, Clinic.id == Patient.clinic_id)
            .where(scope_filter(actor, Patient.clinic_id,
                                list(filters.clinic_ids) if filters.clinic_ids else None))
            .order_by(Clinic.code, Patient.study_id))
    if filters.start or filters.end:
        stmt = stmt.join(courses, courses.c.patient_id == Patient.id)
    else:
        stmt = stmt.outerjoin(courses, courses.c.patient_id == Patient.id)
    for (study_id, patient_code, name, birth_date, sex, indication, failed_trials, notes,
         clinic, n_courses, first_start) in session.exec(
            stmt.execution_options(yield_per=PATIENT_CHUNK)):
        first_start = _as_date(first_start)
        yield {
            "study_id": study_id, "patient_code": patient_code, "name": name,
            "birth_date": birth_date,
            "age_at_first_course": age_in_years(birth_date, first_start or today),
            "sex": sex, "indication": indication, "failed_trials": failed_trials,
            "clinic": clinic, "n_courses": int(n_courses or 0),
            "first_course_start": first_start, "notes": notes,
        }


def load_infusions(session: Session, *, actor: Actor, filters: RowFilters) -> Table:
    first = _first_infusions()
    stmt = (
        select(Infusion, Course, Patient.study_id, Patient.patient_code, Clinic.code,
               first.c.first_on, User.username)
        .join(Course, Course.id == Infusion.course_id)
        .join(Patient, Patient.id == Course.patient_id)
        .join(Clinic, Clinic.id == Patient.clinic_id)
        .join(first, first.c.course_id == Course.id)
        .outerjoin(User, User.id == Infusion.clinician_id)
        .where(*_course_rows(actor, filters))
        .order_by(Clinic.code, Patient.study_id, Course.number, Infusion.number)
    )
    rows = []
    found = session.exec(stmt).all()
    events = adverse_events_by_infusion(session, [r[0].id for r in found])
    for inf, course, study_id, code, clinic, first_on, username in found:
        anchor = course.start_date or _as_date(first_on)
        row = {
            "study_id": study_id, "patient_code": code, "clinic": clinic,
            "course_number": course.number, "course_type": course.course_type,
            "course_status": course.status, "course_start": anchor,
            "infusion_number": inf.number, "administered_on": inf.administered_on,
            "started_at": inf.started_at, "infusion_type": inf.infusion_type,
            "route": inf.route, "dose_mg_per_kg": inf.dose_mg_per_kg,
            "total_dose_mg": inf.total_dose_mg, "weight_kg": inf.weight_kg,
            "duration_min": inf.duration_min,
            "side_effects": "; ".join(str(s) for s in inf.side_effects or []),
            "side_effect_other": inf.side_effect_other,
            **_adverse_event_cells(inf, events.get(inf.id, [])),
            "clinician": username or inf.clinician_code, "_anchor": anchor,
        }
        for spec in INFUSION_COLUMNS:
            if spec.name not in row:  # the vital signs
                row[spec.name] = getattr(inf, spec.name)
        rows.append(row)
    return Table("infusions", INFUSION_COLUMNS, rows)


def _adverse_event_cells(inf: Infusion, events: list) -> dict[str, Any]:
    """The infusion's adverse events: counts and closed-list values kept, free text apart."""
    texts = [adverse_event_text(e) for e in events]
    if (inf.adverse_event or "").strip():
        texts.append(inf.adverse_event)
    return {
        "bp_decision": inf.bp_decision, "bp_decision_reason": inf.bp_decision_reason,
        "sedation_moaas": inf.sedation_moaas, "dissociation": inf.dissociation,
        "discharge_ready_minutes": inf.discharge_ready_minutes,
        "n_adverse_events": len(events),
        "adverse_event_severities": "; ".join(e.severity for e in events),
        "adverse_event_categories": "; ".join(e.category for e in events),
        "adverse_event_recorded": bool(texts),
        "adverse_event": "; ".join(texts),
    }


def load_scores(session: Session, *, actor: Actor, filters: RowFilters,
                instruments: tuple[str, ...] | None = None,
                timestamps: bool = True) -> ColumnTable:
    """One row per assessment, items spread over item_1..item_n, read column-wise.

    Two queries in one transaction: the chosen courses (tens of thousands of rows: patient,
    clinic, anchor date) in the export's order (clinic, study ID, course number, as the
    database collates them), then the score columns of those courses, raw from the
    driver. Each column is dictionary-encoded and each distinct value converted once by
    the column type's own result processor (what a row-by-row read did for every value).
    The rows are then sorted by course, infusion number, pre before post before followup
    (C4: reverse alphabetical), date, instrument (the old ORDER BY, with the date for the
    follow-ups of one infusion; timepoints and instruments are closed lists of ASCII names,
    which every collation orders alike). Without `timestamps`, the entry and completion
    times (dropped by the de-identification) are not read.

    The whole table at once; `iter_score_chunks` gives the same rows a few thousand
    courses at a time (the streaming exports, data/exports/stream.py).
    """
    conn = session.connection()
    course_ids, courses = _score_courses(conn, actor, filters)
    return _course_scores(conn, actor, filters, instruments, timestamps, course_ids, courses,
                          _usernames(conn), widest=None, chunked=False)


COURSE_CHUNK = 4_000  # courses per chunk of a streamed scores table (~100,000 scores)


@dataclass(frozen=True)
class ScorePlan:
    """What a streamed scores table needs before its first row: the item columns (the
    widest instrument present), the staff who entered scores (the de-identification's
    pseudonyms are numbered over all of them) and the row count (the XLSX filter range)."""

    widest: int
    n_rows: int
    staff: tuple[str, ...]


def score_plan(session: Session, *, actor: Actor, filters: RowFilters,
               instruments: tuple[str, ...] | None = None) -> ScorePlan:
    """One aggregate query over the chosen scores, grouped by instrument and the staff
    member who entered them (no row is read; one scan: at XL 2.3 s, where four queries
    joined to the infusions took 14 s)."""
    conn = session.connection()
    length = func.json_array_length(Assessment.items)
    if conn.dialect.name == "postgresql":  # json 'null' has no length there
        length = case((func.json_typeof(Assessment.items) == "array", length))
    groups = conn.execute(
        select(Assessment.instrument, Assessment.entered_by_id, func.count(),
               func.max(length))
        .where(*_chosen_scores(actor, filters, instruments))
        .group_by(Assessment.instrument, Assessment.entered_by_id)).all()
    longest = max([int(n or 0) for *_, n in groups], default=0)
    widest = max([get_instrument(i).n_items for i, *_ in groups if i] + [longest],
                 default=0) or 9
    users = _usernames(conn)
    return ScorePlan(widest, sum(int(n) for _, _, n, _ in groups), tuple(sorted(
        {users[i] for _, i, *_ in groups if i is not None and i in users})))


def iter_score_chunks(session: Session, *, actor: Actor, filters: RowFilters, widest: int,
                      instruments: tuple[str, ...] | None = None, timestamps: bool = True,
                      courses_per_chunk: int | None = None) -> Iterator[ColumnTable]:
    """The rows of `load_scores`, in the same order, as consecutive tables of the scores of
    `courses_per_chunk` courses each: memory is bounded by the chunk, not the store.

    The chosen courses are read once, in the export's order (clinic code, study ID, course
    number), as Arrow columns (~20 bytes a course); each chunk's scores and infusion
    numbers are then read by course id, through the index (`index_reads`): a chunk costs
    its own rows, not a scan of the store. (Session 10 paged the courses by keyset, each
    page sorting every remaining course, and joined every infusion to each page's scores:
    1.3 s a chunk at XL, 96 chunks.) On PostgreSQL the caller's session should be
    REPEATABLE READ (`stream.snapshot_session`) so every read sees the same snapshot."""
    conn = session.connection()
    users = _usernames(conn)
    per_chunk = courses_per_chunk or COURSE_CHUNK
    chosen = read_table(conn, _score_courses_stmt(actor, filters), _COURSE_SCHEMA,
                        copy=True)
    with index_reads(conn):
        for first in range(0, chosen.num_rows, per_chunk):
            release_freed_memory()  # the last chunk's, written by now (~70 MB at XL)
            course_ids, courses = _course_columns(chosen.slice(first, per_chunk))
            table = _course_scores(conn, actor, filters, instruments, timestamps, course_ids,
                                   courses, users, widest=widest, chunked=True)
            if table.n_rows:
                yield table


def _chosen_course_ids(actor: Actor, filters: RowFilters) -> Select | None:
    """The ids of the courses in scope and range (None: every course)."""
    if actor.all_clinics and not (filters.clinic_ids or filters.start or filters.end):
        return None
    return (select(Course.id).join(Patient, Patient.id == Course.patient_id)
            .where(*_course_rows(actor, filters)))


def _chosen_scores(actor: Actor, filters: RowFilters,
                   instruments: tuple[str, ...] | None) -> list:
    """WHERE parts choosing the scores of an export (as `_score_columns` chooses them)."""
    where = []
    chosen = _chosen_course_ids(actor, filters)
    if chosen is not None:
        where.append(Assessment.course_id.in_(chosen))
    if instruments:
        where.append(Assessment.instrument.in_(instruments))
    return where


def _course_scores(conn: Connection, actor: Actor, filters: RowFilters,
                   instruments: tuple[str, ...] | None, timestamps: bool,
                   course_ids: np.ndarray, courses: dict[str, np.ndarray],
                   users: dict[int, str], *, widest: int | None, chunked: bool) -> ColumnTable:
    """The scores of the given courses (all chosen ones, or one chunk of them), ordered."""
    raw = _score_columns(conn, actor, filters, instruments, timestamps,
                         course_ids if chunked else None)
    course_id = raw.pop("course_id")
    position = pd.Index(course_ids).get_indexer(_ints(course_id.values)).take(course_id.codes)
    numbered = np.array([n is not None for n in raw["infusion_number"].values], dtype=bool)
    # a course created between the two queries (PostgreSQL); a score of no infusion
    keep = (position >= 0) & numbered.take(raw["infusion_number"].codes)
    if not keep.all():
        raw = {name: Coded(column.codes[keep], column.values) for name, column in raw.items()}
        position = position[keep]
    number = raw.pop("infusion_number")
    timepoint, instrument = raw.pop("timepoint"), raw.pop("instrument")
    order = np.lexsort((_rank(instrument), _rank(raw["administered_on"]), -_rank(timepoint),
                        _ints(number.values).take(number.codes), position))
    at_course = position.take(order).astype(np.int32)
    data = {name: Coded(at_course, values) for name, values in courses.items()}
    items = raw.pop("items").map(_item_list).reorder(order)
    for name, column in (("infusion_number", number), ("timepoint", timepoint),
                         ("instrument", instrument), *raw.items()):
        if name == "entered_by":
            column = column.map(lambda i: None if i is None else users.get(i))
        data[name] = column.reorder(order)
    if widest is None:
        widest = max([get_instrument(i).n_items for i in instrument.used_values() if i] +
                     [len(answers) for answers in items.used_values()], default=0) or 9
    for i in range(widest):
        data[f"item_{i + 1}"] = items.map(lambda answers, i=i: answers[i]
                                          if i < len(answers) else None)
    columns = score_columns(widest)
    ordered = {c.name: data[c.name] for c in columns if c.name in data}
    return ColumnTable("scores", columns, ordered | {"_anchor": data["_anchor"]}, len(order))


def _score_courses(conn: Connection, actor: Actor,
                   filters: RowFilters) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The chosen courses in the export's order: their ids, and their columns."""
    return _course_columns(read_table(conn, _score_courses_stmt(actor, filters),
                                      _COURSE_SCHEMA))


def _score_courses_stmt(actor: Actor, filters: RowFilters) -> Select:
    """The chosen courses that have an infusion, in the export's order (clinic code, study
    ID, course number: unique)."""
    first = _first_infusions()
    return (select(Course.id, Course.number, Course.start_date, first.c.first_on,
                   Patient.study_id, Patient.patient_code, Clinic.code)
            .join(Patient, Patient.id == Course.patient_id)
            .join(Clinic, Clinic.id == Patient.clinic_id)
            .join(first, first.c.course_id == Course.id)
            .where(*_course_rows(actor, filters))
            .order_by(Clinic.code, Patient.study_id, Course.number))


_COURSE_SCHEMA: dict[str, Kind] = {
    "id": "int", "number": "int", "start_date": "date", "first_on": "date", "study_id": "text",
    "patient_code": "text", "code": "text"}


def _course_columns(table: pa.Table) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Course rows (id, number, start, first infusion day, study ID, code, clinic) as
    their ids and the columns the scores table takes from its course (Python values)."""
    anchors = objects(pc.coalesce(table["start_date"], table["first_on"]).to_pylist())
    columns = {"study_id": objects(table["study_id"].to_pylist()),
               "patient_code": objects(table["patient_code"].to_pylist()),
               "clinic": objects(table["code"].to_pylist()),
               "course_number": objects(table["number"].to_pylist()),
               "course_start": anchors, "_anchor": anchors}
    return ints(table["id"]), columns


def _score_columns(conn: Connection, actor: Actor, filters: RowFilters,
                   instruments: tuple[str, ...] | None, timestamps: bool,
                   course_ids: np.ndarray | None = None) -> dict[str, Coded]:
    """The chosen courses' scores, one dictionary-encoded column each (typed by
    data.store.arrow_read; each distinct value a Python value once), in the database's
    order (``_course_scores`` sorts them: course, infusion, timepoint, date, instrument
    identify a score).

    The infusion number is read apart, by the same courses, and given to each score by
    its infusion id: a join made the planner read every infusion for one chunk's scores."""
    names = ["administered_on", "functional_difficulty", "total", "severity", "complete",
             "source", *(["entered_at", "completed_at"] if timestamps else [])]
    stmt = select(Assessment.course_id, Assessment.infusion_id, Assessment.timepoint,
                  Assessment.instrument, cast(Assessment.items, String).label("items"),
                  Assessment.entered_by_id.label("entered_by"),
                  *(getattr(Assessment, n) for n in names))
    infusions = select(Infusion.id, Infusion.number)
    if course_ids is not None:  # one chunk of the chosen courses
        chunk = [int(i) for i in course_ids]
        stmt = stmt.where(Assessment.course_id.in_(chunk))
        infusions = infusions.where(Infusion.course_id.in_(chunk))
    elif (chosen := _chosen_course_ids(actor, filters)) is not None:
        stmt = stmt.where(Assessment.course_id.in_(chosen))
        infusions = infusions.where(Infusion.course_id.in_(chosen))
    if instruments:
        stmt = stmt.where(Assessment.instrument.in_(instruments))
    table = read_table(conn, stmt, _SCORE_SCHEMA, copy=True)
    raw = {name: Coded.from_arrow(table[name]) for name in table.column_names}
    raw["infusion_number"] = _infusion_numbers(
        conn, raw.pop("infusion_id"), read_table(conn, infusions, _INFUSION_SCHEMA, copy=True))
    return raw


def _infusion_numbers(conn: Connection, infusion_id: Coded, read: pa.Table) -> Coded:
    """Each score's infusion number, from its infusion id: the infusions read with the
    courses, then any other by id (a score whose infusion is in another course, which no
    constraint forbids; the join this replaces found it). A score whose infusion is in no
    read (none: the foreign key) is left without a number and dropped by the caller."""
    ids = _ints(infusion_id.values)
    numbers = _numbers_by_id(read, ids)
    missing = (numbers < 0) & (ids >= 0)
    if missing.any():
        other = read_table(conn, select(Infusion.id, Infusion.number).where(
            Infusion.id.in_([int(i) for i in ids[missing]])), _INFUSION_SCHEMA)
        numbers = np.where(missing, _numbers_by_id(other, ids), numbers)
    return Coded(infusion_id.codes, objects([None if n < 0 else int(n) for n in numbers]))


def _numbers_by_id(read: pa.Table, ids: np.ndarray) -> np.ndarray:
    """The number of each id's infusion in `read` (-1 where it is not there)."""
    found = pd.Index(ints(read["id"])).get_indexer(ids)  # -1: the appended -1
    return np.append(ints(read["number"]), -1).take(found)


_INFUSION_SCHEMA: dict[str, Kind] = {"id": "int", "number": "int"}


_SCORE_SCHEMA: dict[str, Kind] = {
    "course_id": "int", "infusion_id": "int", "timepoint": "text", "instrument": "text",
    "items": "text", "entered_by": "int", "administered_on": "date",
    "functional_difficulty": "int", "total": "int", "severity": "text", "complete": "bool",
    "source": "text", "entered_at": "datetime", "completed_at": "datetime"}


def _ints(values: np.ndarray) -> np.ndarray:
    return np.array([-1 if v is None else v for v in values], dtype=np.int64)


def _usernames(conn: Connection) -> dict[int, str]:
    return dict(conn.execute(select(User.id, User.username)).all())


def _item_list(text: str | None) -> list:
    """The answers of one administration (a JSON list; a legacy total-only score: [])."""
    return list(json.loads(text) or []) if text is not None else []


def _rank(column: Coded) -> np.ndarray:
    """Each row's position in the sorted distinct values (None last)."""
    values = column.values
    order = sorted(range(len(values)), key=lambda k: (values[k] is None, values[k] or ""))
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(len(values))
    return rank.take(column.codes)


def load_audit(session: Session, *, actor: Actor, filters: RowFilters) -> Table:
    """Events; a user scoped to some clinics sees patient events of those clinics only."""
    stmt = (select(AuditEvent, Patient.study_id, Patient.patient_code, Patient.clinic_id)
            .outerjoin(Patient, Patient.id == AuditEvent.patient_id)
            .order_by(AuditEvent.id))
    if not actor.all_clinics or filters.clinic_ids:
        stmt = stmt.where(or_(AuditEvent.patient_id.is_(None), scope_filter(
            actor, Patient.clinic_id, list(filters.clinic_ids) if filters.clinic_ids else None)))
    if filters.start:
        stmt = stmt.where(
            AuditEvent.occurred_at >= datetime.combine(filters.start, time.min, UTC))
    if filters.end:
        stmt = stmt.where(AuditEvent.occurred_at < datetime.combine(
            filters.end + timedelta(days=1), time.min, UTC))
    rows = [
        {"id": e.id, "occurred_at": e.occurred_at, "user": e.username, "action": e.action,
         "entity": e.entity, "entity_id": e.entity_id, "study_id": study_id,
         "patient_code": code, "field": e.field, "old_value": e.old_value,
         "new_value": e.new_value, "reason": e.reason, "session_id": e.session_id,
         "prev_hash": e.prev_hash, "hash": e.hash, "_patient": e.patient_id is not None}
        for e, study_id, code, _clinic in session.exec(stmt).all()
    ]
    return Table("audit", AUDIT_COLUMNS, rows)


def _as_date(value: Any) -> date | None:
    """SQLite hands aggregate dates back as text."""
    if value is None or isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    return date.fromisoformat(str(value)[:10])
