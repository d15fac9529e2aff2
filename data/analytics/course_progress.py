"""How far each course got (OUTCOMES.md D1, retention): one row per course with its highest
infusion number, that infusion's date and the course status, read from the infusions
(not the scores), within the actor's scope, clinics and course-start range."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Select, select
from sqlalchemy.engine import Engine

from data.analytics.frame_patch import replaced_rows, written_rows
from data.analytics.observations import course_infusion
from data.clinic.protocol import load_protocol
from data.store.arrow_read import Kind, day_number, days, floats, ints, read_table
from data.store.clinic_time import default_time_zone, today_in
from data.store.db import get_engine, read_session
from models.tables import Course, Infusion, Patient
from outcomes.engine import index_course_keys
from outcomes.retention import PROGRESS_COLUMNS, STATES, retention_of_tally, state_codes
from outcomes.tally import Tally, state_tally_of_codes


def load_course_progress(*, course_keys: Iterable[int], clinic_ids: list[int] | None = None,
                         start: date | None = None, end: date | None = None,
                         engine: Engine | None = None) -> pd.DataFrame:
    """(course_key, last_infusion, last_date, status) of the chosen courses.

    The store query narrows by clinics and start range (the observation frame's own
    filters, so no long IN list); ``course_keys`` (courses of an observation frame read
    within the actor's scope) then picks the result's courses, so no course outside the
    scope is kept."""
    progress = read_progress(clinic_ids=clinic_ids, start=start, end=end, engine=engine)
    return progress_of(progress, course_keys)


def read_progress(*, clinic_ids: list[int] | None = None, start: date | None = None,
                  end: date | None = None, patient_ids: list[int] | None = None,
                  engine: Engine | None = None) -> pd.DataFrame:
    """PROGRESS_COLUMNS and patient_key of every course in the clinics and start range (of
    ``patient_ids`` only when given: a kept frame patched after a write)."""
    engine = engine or get_engine()
    stmt = _last_infusions(engine.dialect.name)
    if clinic_ids:
        stmt = stmt.join(Patient, Patient.id == Course.patient_id).where(
            Patient.clinic_id.in_(clinic_ids))
    if start:
        stmt = stmt.where(Course.start_date >= start)
    if end:
        stmt = stmt.where(Course.start_date <= end)
    if patient_ids is not None:
        stmt = stmt.where(Course.patient_id.in_(patient_ids))
    with engine.connect() as conn:  # columns, not a Python row per course
        table = read_table(conn, stmt, {"id": "int", "patient_id": "int", **PROGRESS_SCHEMA})
    return progress_frame(table["id"], table)


def _last_infusions(dialect: str) -> Select:
    """Each course with its last infusion's number and date (``course_infusion``)."""
    return with_last_infusion(select(Course.id), dialect).add_columns(Course.patient_id)


def with_last_infusion(stmt: Select, dialect: str) -> Select:
    """``stmt`` (a select of courses) with each course's last infusion number and date and
    its status: the columns of PROGRESS_SCHEMA (``progress_frame`` reads them).

    SQLite: the number and the date's day number in one integer (number * 2**32 + day +
    2**31) from one backward seek of ix_infusion_course_number_date, which holds both (a
    seek of uq_infusion_number, then of the infusion's row for its date, cost twice that).
    PostgreSQL: ``course_infusion``'s LATERAL seek."""
    if dialect != "postgresql":
        last = (select(Infusion.number * _NUMBER + day_number(Infusion.administered_on) + _DAY)
                .where(Infusion.course_id == Course.id).order_by(Infusion.number.desc())
                .limit(1).correlate(Course).scalar_subquery())
        return stmt.add_columns(last.label("last_infusion_day"),
                                Course.status.label("course_status"))
    target, onclause, row = course_infusion(dialect, last=True, name="last_infusion")
    return (stmt.add_columns(row.number.label("last_infusion"),
                             day_number(row.administered_on).label("last_administered_on"),
                             Course.status.label("course_status"))
            .outerjoin(target, onclause))


_NUMBER, _DAY = 2 ** 32, 2 ** 31
PROGRESS_SCHEMA: dict[str, Kind] = {"last_infusion": "float", "last_administered_on": "date",
                                    "last_infusion_day": "int", "course_status": "text"}


def progress_frame(course_keys: pa.ChunkedArray, table: pa.Table) -> pd.DataFrame:
    """PROGRESS_COLUMNS and patient_key from a read of ``with_last_infusion``
    (``table`` holds its columns and the patient, as patient_id or patient_key)."""
    patients = table["patient_id" if "patient_id" in table.column_names else "patient_key"]
    if "last_infusion_day" in table.column_names:  # SQLite: both in one integer
        both = table["last_infusion_day"]
        number = pc.shift_right(both, _NUMBER.bit_length() - 1)
        day = pc.cast(pc.subtract(pc.bit_wise_and(both, _NUMBER - 1), _DAY), pa.int32())
        last_infusion, last_date = number, pc.cast(day, pa.date32())
    else:
        last_infusion, last_date = table["last_infusion"], table["last_administered_on"]
    return pd.DataFrame({
        "course_key": ints(course_keys),
        "last_infusion": pd.array(floats(last_infusion), dtype="Int64"),
        "last_date": days(last_date).to_numpy(),
        "status": _statuses(table["course_status"]),
        "patient_key": ints(patients),
    })


def _statuses(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """The status texts as an object array (None when missing) holding one str per
    distinct status, not one per course (at XL, 380,573 courses: ~25 ms less)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    encoded = pc.dictionary_encode(column)
    distinct = np.array([*encoded.dictionary.to_pylist(), None], dtype=object)
    at = encoded.indices.to_numpy(zero_copy_only=False)
    if encoded.null_count:  # a course without status (cannot occur: NOT NULL) stays None
        at = pc.fill_null(encoded.indices, len(distinct) - 1).to_numpy()
    return distinct[at]


def patched_progress(progress: pd.DataFrame, fresh: pd.DataFrame,
                     patients: list[int]) -> pd.DataFrame:
    """``read_progress`` of the clinics and range, read earlier, with ``fresh``, the rows of
    ``patients`` (the patients written since) read again with their facts
    (``outcome_report.stored_facts_and_progress``, one read of their courses), in place of
    theirs: equal to a fresh read, up to the order of its rows."""
    if not patients:
        return progress
    written = written_rows(progress, patients)
    fresh = fresh.astype(progress.dtypes.to_dict())
    # the usual save: the same courses (read in course order, as the kept rows of a
    # patient are), new values: only the changed columns are copied
    order = np.argsort(fresh["course_key"].to_numpy(), kind="stable")
    same = replaced_rows(progress, written, fresh.take(order), ["course_key"])
    if same is not None:
        return same
    kept = progress[~written]
    return pd.concat([kept, fresh], ignore_index=True)


def progress_of(progress: pd.DataFrame, course_keys: Iterable[int]) -> pd.DataFrame:
    """The rows of ``read_progress`` of the chosen courses, PROGRESS_COLUMNS."""
    keys = course_keys if isinstance(course_keys, np.ndarray) \
        else np.fromiter(course_keys, dtype="int64")
    keep = progress["course_key"].isin(keys).to_numpy()
    return progress.loc[keep, list(PROGRESS_COLUMNS)].reset_index(drop=True)


def retention_summary(obs: pd.DataFrame, *, all_courses: bool, as_of: date | None,
                      clinic_ids: list[int] | None = None, start: date | None = None,
                      end: date | None = None, progress: pd.DataFrame | None = None,
                      keys: Iterable[int] | None = None) -> dict:
    """The summary's ``retention`` object (D1) for the headline's courses: those of ``obs``
    after C3 (index courses unless ``all_courses``), as of ``as_of`` (default today);
    ``progress``: ``read_progress`` of the same clinics and range, already read; ``keys``:
    those courses, when the caller has chosen them already."""
    induction, lapse = retention_settings()
    if keys is None:
        keys = (obs["course_key"].unique() if all_courses  # C3: each patient's index course
                else index_course_keys(obs[["course_key", "patient_key", "course_start",
                                            "course_number"]]).to_numpy())
    if progress is None:
        progress = read_progress(clinic_ids=clinic_ids, start=start, end=end)
    day = as_of or today_in(default_time_zone())
    return retention_object(retention_tally(progress, keys, day=day, induction_length=induction,
                                            lapse_days=lapse),
                            day=day, induction_length=induction, lapse_days=lapse)


def retention_settings() -> tuple[int, int]:
    """The protocol's induction length and lapse window (days), which D1 counts with."""
    with read_session() as session:
        protocol = load_protocol(session)
    return int(protocol["induction_length"]), int(protocol["lapse_window_days"])


def retention_tally(progress: pd.DataFrame, keys: Iterable[int], *, day: date,
                    induction_length: int, lapse_days: int) -> Tally:
    """D1's counts (courses per state and last infusion, ``outcomes.tally.state_tally``) of
    the courses ``keys`` of ``progress`` as of ``day``."""
    last, codes = state_codes(progress_of(progress, keys), as_of=day,
                              induction_length=induction_length, lapse_days=lapse_days)
    return state_tally_of_codes(last, codes, list(STATES))


def retention_object(tally: Tally, *, day: date, induction_length: int,
                     lapse_days: int) -> dict:
    """The summary's ``retention`` object from ``retention_tally``."""
    return {**retention_of_tally(tally, induction_length=induction_length),
            "lapse_window_days": int(lapse_days), "as_of": day.isoformat()}
