"""The one bulk writer, shared by the score import and the demo seed.

Callers hand over validated, in-memory records (plain dicts) and their session: the
rows are inserted in the caller's transaction with Core executemany (multi-row INSERT
... RETURNING id and the table's unique key), in chunks of 20,000, and foreign keys are
linked through the returned ids. Records refer to their parents by natural key, never by id:

- clinic: ``code``
- user: ``username`` (+ ``clinics``: clinic codes for UserClinic links)
- patient: ``clinic`` (code), ``patient_code``
- course: ``clinic``, ``patient_code``, ``number``
- infusion: ``clinic``, ``patient_code``, ``course_number``, ``number``
  (``clinician_code`` also sets ``clinician_id`` when a user has that username)
- assessment: ``clinic``, ``patient_code``, ``course_number``, ``infusion_number``,
  ``timepoint``, ``instrument`` (``entered_by_username`` may set ``entered_by_id``)
- alert: the key of its assessment (same six fields) + ``item9_value``, ``observed_on``,
  ``status``

Clinics, users, patients, courses and infusions that already exist (by natural key)
are reused, not duplicated; assessments and alerts are always new (the importer checks
conflicts first; the unique constraints refuse the rest). One record per natural key, and
every parent a record refers to is in the batch too (existing or new).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlmodel import Session, SQLModel

from data.audit import utcnow
from data.pseudonyms import new_study_id
from models.tables import (
    Assessment,
    Clinic,
    Course,
    Infusion,
    Patient,
    SafetyAlert,
    User,
    UserClinic,
)

CHUNK_SIZE = 20_000
_LOOKUP_CHUNK = 5_000  # ids per IN (...) when reading existing rows
Record = dict[str, Any]


@dataclass
class BulkRecords:
    """Validated records to write, each table a list of dicts keyed as the module says."""

    clinics: list[Record] = field(default_factory=list)
    users: list[Record] = field(default_factory=list)
    patients: list[Record] = field(default_factory=list)
    courses: list[Record] = field(default_factory=list)
    infusions: list[Record] = field(default_factory=list)
    assessments: list[Record] = field(default_factory=list)
    alerts: list[Record] = field(default_factory=list)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small objects.

    Bulk loads create millions of dicts that hold no cycles; each automatic collection
    would scan them all again (it more than doubles the time). Reference counting still
    frees memory; the collector resumes afterwards (if it was on).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def clinic_key(r: Record) -> str:
    return r["code"]


def patient_key(r: Record) -> tuple:
    return (r["clinic"], r["patient_code"])


def course_key(r: Record) -> tuple:
    return (r["clinic"], r["patient_code"], r["number"])


def infusion_key(r: Record) -> tuple:
    return (r["clinic"], r["patient_code"], r["course_number"], r["number"])


def assessment_key(r: Record) -> tuple:
    return (r["clinic"], r["patient_code"], r["course_number"], r["infusion_number"],
            r["timepoint"], r["instrument"])


@dataclass
class _Ids:
    """Natural key -> store id, for rows that exist or were just written."""

    clinics: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)
    patients: dict[tuple, int] = field(default_factory=dict)
    courses: dict[tuple, int] = field(default_factory=dict)
    infusions: dict[tuple, int] = field(default_factory=dict)
    assessments: dict[tuple, int] = field(default_factory=dict)


def _chunks(seq: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(seq), size):
        yield seq[start:start + size]


def _existing_ids(session: Session, records: BulkRecords) -> _Ids:
    """Look up, by natural key, the rows of `records` that the store already holds."""
    ids = _Ids()
    codes = sorted({clinic_key(r) for r in records.clinics} | {r["clinic"] for r in records.patients})
    code_of: dict[int, str] = {}
    for chunk in _chunks(codes, _LOOKUP_CHUNK):
        for cid, code in session.execute(select(Clinic.id, Clinic.code).where(Clinic.code.in_(chunk))):
            ids.clinics[code], code_of[cid] = cid, code
    ids.users = dict(session.execute(select(User.username, User.id)).all())
    patient_of: dict[int, tuple] = {}
    for chunk in _chunks(list(code_of), _LOOKUP_CHUNK):
        query = select(Patient.id, Patient.clinic_id, Patient.patient_code)
        for pid, cid, code in session.execute(query.where(Patient.clinic_id.in_(chunk))):
            ids.patients[(code_of[cid], code)] = pid
            patient_of[pid] = (code_of[cid], code)
    course_of: dict[int, tuple] = {}
    for chunk in _chunks(list(patient_of), _LOOKUP_CHUNK):
        query = select(Course.id, Course.patient_id, Course.number)
        for course_id, pid, number in session.execute(query.where(Course.patient_id.in_(chunk))):
            ids.courses[(*patient_of[pid], number)] = course_id
            course_of[course_id] = (*patient_of[pid], number)
    for chunk in _chunks(list(course_of), _LOOKUP_CHUNK):
        query = select(Infusion.id, Infusion.course_id, Infusion.number)
        for inf_id, course_id, number in session.execute(query.where(Infusion.course_id.in_(chunk))):
            ids.infusions[(*course_of[course_id], number)] = inf_id
    return ids


def count_new(session: Session, records: BulkRecords) -> dict[str, int]:
    """How many rows `write_records` would create (existing rows are reused)."""
    ids = _existing_ids(session, records)
    return {
        "clinics": sum(clinic_key(r) not in ids.clinics for r in records.clinics),
        "users": sum(r["username"] not in ids.users for r in records.users),
        "patients": sum(patient_key(r) not in ids.patients for r in records.patients),
        "courses": sum(course_key(r) not in ids.courses for r in records.courses),
        "infusions": sum(infusion_key(r) not in ids.infusions for r in records.infusions),
        "assessments": len(records.assessments),
        "alerts": len(records.alerts),
    }


def _defaults(model: type[SQLModel], now: datetime) -> dict[str, Any]:
    """Every insertable column of `model` with its default (created_at: `now`)."""
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name == "id":
            continue
        if info.default_factory is not None:
            values[name] = info.default_factory()
        elif info.is_required():
            values[name] = now if name in ("created_at", "entered_at", "opened_at") else None
        else:
            values[name] = info.default
    return values


def _insert(session: Session, model: type[SQLModel], records: Sequence[Record],
            to_row: Callable[[Record], dict], unique: tuple[str, ...], key: Callable[[Record], Any],
            chunk_size: int) -> dict[Any, int]:
    """INSERT ... RETURNING id, chunk by chunk; {record key: new id}.

    The ids are matched through the table's unique columns `unique` rather than the
    parameter order: SQLite cannot batch an order-preserving RETURNING (it would insert
    row by row), so this keeps multi-row INSERTs on every backend.
    """
    table = model.__table__  # type: ignore[attr-defined]
    statement = insert(table).returning(table.c.id, *(table.c[c] for c in unique))
    new_ids: dict[Any, int] = {}
    for chunk in _chunks(records, chunk_size):
        rows = [to_row(r) for r in chunk]
        key_of = {tuple(row[c] for c in unique): key(r) for row, r in zip(rows, chunk, strict=True)}
        for returned in session.execute(statement, rows):
            new_ids[key_of[tuple(returned[1:])]] = returned[0]
    return new_ids


def _row_builder(model: type[SQLModel], now: datetime,
                 links: Callable[[Record], dict]) -> Callable[[Record], dict]:
    """A function turning one record into a full row: defaults, record values, links."""
    defaults = _defaults(model, now)
    columns = tuple(defaults)
    list_columns = tuple(c for c, v in defaults.items() if isinstance(v, list))

    def to_row(record: Record) -> dict:
        row = {c: record.get(c, defaults[c]) for c in columns}
        for c in list_columns:  # never share one default list between rows
            if row[c] is defaults[c]:
                row[c] = []
        row.update(links(record))
        return row

    return to_row


_UNIQUE: dict[type[SQLModel], tuple[str, ...]] = {
    Clinic: ("code",),
    User: ("username",),
    Patient: ("clinic_id", "patient_code"),
    Course: ("patient_id", "number"),
    Infusion: ("course_id", "number"),
    Assessment: ("infusion_id", "timepoint", "instrument"),
    SafetyAlert: ("assessment_id",),
}


def _write_new(session: Session, model: type[SQLModel], records: list[Record],
               key: Callable[[Record], Any], known: dict, links: Callable[[Record], dict],
               now: datetime, chunk_size: int) -> int:
    """Insert the records whose key is not in `known`; add their new ids to `known`."""
    new = [r for r in records if key(r) not in known]
    to_row = _row_builder(model, now, links)
    known.update(_insert(session, model, new, to_row, _UNIQUE[model], key, chunk_size))
    return len(new)


def _write_user_links(session: Session, users: list[Record], ids: _Ids, created: set) -> None:
    rows = [{"user_id": ids.users[u["username"]], "clinic_id": ids.clinics[code]}
            for u in users if u["username"] in created for code in u.get("clinics", ())]
    if rows:
        session.execute(insert(UserClinic.__table__), rows)  # type: ignore[attr-defined]


def _write_people(session: Session, records: BulkRecords, ids: _Ids, now: datetime,
                  chunk_size: int) -> dict[str, int]:
    """Clinics, users (+ clinic links) and patients."""
    created = {"clinics": _write_new(session, Clinic, records.clinics, clinic_key, ids.clinics,
                                     lambda r: {}, now, chunk_size)}
    before = set(ids.users)
    created["users"] = _write_new(session, User, records.users, lambda r: r["username"],
                                  ids.users, lambda r: {}, now, chunk_size)
    _write_user_links(session, records.users, ids, set(ids.users) - before)
    created["patients"] = _write_new(
        session, Patient, records.patients, patient_key, ids.patients,
        lambda r: {"clinic_id": ids.clinics[r["clinic"]],
                   "study_id": r.get("study_id") or new_study_id()},
        now, chunk_size)
    return created


def _write_treatment(session: Session, records: BulkRecords, ids: _Ids, now: datetime,
                     chunk_size: int) -> dict[str, int]:
    """Courses, infusions, assessments and safety alerts."""
    users = ids.users

    def course_id(r: Record) -> int:
        return ids.courses[(r["clinic"], r["patient_code"], r["course_number"])]

    created = {"courses": _write_new(session, Course, records.courses, course_key, ids.courses,
                                     lambda r: {"patient_id": ids.patients[patient_key(r)]},
                                     now, chunk_size)}
    created["infusions"] = _write_new(
        session, Infusion, records.infusions, infusion_key, ids.infusions,
        lambda r: {"course_id": course_id(r),
                   "clinician_id": r.get("clinician_id") or users.get(r.get("clinician_code"))},
        now, chunk_size)

    def assessment_links(r: Record) -> dict:
        slot = (r["clinic"], r["patient_code"], r["course_number"], r["infusion_number"])
        return {"course_id": course_id(r), "infusion_id": ids.infusions[slot],
                "entered_by_id": r.get("entered_by_id") or users.get(r.get("entered_by_username"))}

    created["assessments"] = _write_new(session, Assessment, records.assessments, assessment_key,
                                        ids.assessments, assessment_links, now, chunk_size)
    created["alerts"] = _write_new(
        session, SafetyAlert, records.alerts, assessment_key, {},
        lambda r: {"assessment_id": ids.assessments[assessment_key(r)],
                   "patient_id": ids.patients[patient_key(r)], "clinic_id": ids.clinics[r["clinic"]]},
        now, chunk_size)
    return created


def write_records(session: Session, records: BulkRecords, *,
                  chunk_size: int = CHUNK_SIZE) -> dict[str, int]:
    """Insert `records` in the caller's transaction; return how many rows of each were created."""
    now = utcnow()
    ids = _existing_ids(session, records)
    created = _write_people(session, records, ids, now, chunk_size)
    created.update(_write_treatment(session, records, ids, now, chunk_size))
    return created
