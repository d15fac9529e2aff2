"""How far each course got (OUTCOMES.md D1, retention): one row per course with its highest
infusion number, that infusion's date and the course status, read from the infusions
(not the scores), within the actor's scope, clinics and course-start range."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from data.clinic.protocol import load_protocol
from data.store.clinic_time import default_time_zone, today_in
from data.store.db import get_engine, read_session
from data.store.frame_reader import as_dates, fetch_columns
from models.tables import Course, Infusion, Patient
from outcomes.engine import select_courses
from outcomes.retention import PROGRESS_COLUMNS, course_states, retention_block


def load_course_progress(*, course_keys: Iterable[int], clinic_ids: list[int] | None = None,
                         start: date | None = None, end: date | None = None,
                         engine: Engine | None = None) -> pd.DataFrame:
    """(course_key, last_infusion, last_date, status) of the chosen courses.

    The store query narrows by clinics and start range (the observation frame's own
    filters, so no long IN list); ``course_keys`` (courses of an observation frame read
    within the actor's scope) then picks the result's courses, so no course outside the
    scope is kept."""
    last = (select(Infusion.course_id.label("course_id"),
                   func.max(Infusion.number).label("last_infusion"))
            .group_by(Infusion.course_id).subquery())
    stmt = (select(Course.id, last.c.last_infusion, Infusion.administered_on, Course.status)
            .join(Patient, Patient.id == Course.patient_id)
            .outerjoin(last, last.c.course_id == Course.id)
            .outerjoin(Infusion, (Infusion.course_id == Course.id)
                       & (Infusion.number == last.c.last_infusion))
            )
    if clinic_ids:
        stmt = stmt.where(Patient.clinic_id.in_(clinic_ids))
    if start:
        stmt = stmt.where(Course.start_date >= start)
    if end:
        stmt = stmt.where(Course.start_date <= end)
    with (engine or get_engine()).connect() as conn:  # columns, not a Python row per course
        cols = fetch_columns(conn, stmt)
    keys = cols["id"].astype("int64")
    keep = np.isin(keys, np.fromiter(course_keys, dtype="int64"))
    return pd.DataFrame({
        "course_key": keys[keep],
        "last_infusion": pd.array(cols["last_infusion"][keep].tolist(), dtype="Int64"),
        "last_date": as_dates(cols["administered_on"][keep]).to_numpy(),
        "status": cols["status"][keep],
    }, columns=list(PROGRESS_COLUMNS))


def retention_summary(obs: pd.DataFrame, *, all_courses: bool, as_of: date | None,
                      clinic_ids: list[int] | None = None, start: date | None = None,
                      end: date | None = None) -> dict:
    """The summary's ``retention`` object (D1) for the headline's courses: those of ``obs``
    after C3 (index courses unless ``all_courses``), as of ``as_of`` (default today)."""
    with read_session() as session:
        protocol = load_protocol(session)
    induction, lapse = protocol["induction_length"], protocol["lapse_window_days"]
    keys = select_courses(obs[["course_key", "patient_key", "course_start", "course_number"]],
                          all_courses=all_courses)["course_key"].unique()
    progress = load_course_progress(course_keys=keys, clinic_ids=clinic_ids, start=start,
                                    end=end)
    day = as_of or today_in(default_time_zone())
    states = course_states(progress, as_of=day, induction_length=induction, lapse_days=lapse)
    return {**retention_block(states, induction_length=induction),
            "lapse_window_days": int(lapse), "as_of": day.isoformat()}
