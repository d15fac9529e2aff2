"""The observation frame (docs/OBSERVATIONS.md): one row per assessment, read with
only the columns the outcome engine needs, within the acting user's clinic scope.

A clinic network's store holds about a million scores, so the frame is read in two
queries (docs/PERFORMANCE.md has the figures):

- courses: one row per course in scope and date range (tens of thousands) with the
  patient, clinic, number, start, the patient's indication and the breakdown dimensions
  of the course's first infusion, found by an index lookup of its lowest number rather
  than by reading every infusion;
- scores: only the per-score columns, one row per score in the order of their ids, read
  by data.store.arrow_read (typed Arrow columns).

The course columns are then joined onto the scores by array position.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import aliased

from data.store.arrow_read import Kind, days, floats, ints, read_table, texts
from data.store.db import get_engine, read_session
from models.access import Actor, require, scope_filter
from models.tables import Assessment, Clinic, Course, Infusion, Patient, User
from outcomes.dose import course_dose_bands

DOSE_BANDS = ((0.0, 0.5, "< 0.5 mg/kg"), (0.5, 0.75, "0.5-0.74 mg/kg"),
              (0.75, 1.0, "0.75-0.99 mg/kg"), (1.0, 99.0, ">= 1.0 mg/kg"))
CORE_COLUMNS = ("course_key", "patient_key", "clinic", "course_number", "course_start",
                "instrument", "infusion_number", "timepoint", "date", "total", "item9",
                "infusion_date")
DIMENSION_COLUMNS = ("indication", "clinician", "route", "dose_mg_per_kg", "dose_band")




def load_observations(
    *, actor: Actor, clinic_ids: list[int] | None = None, instruments: list[str] | None = None,
    start: date | None = None, end: date | None = None, engine: Engine | None = None,
    dimensions: bool = True,
) -> pd.DataFrame:
    """Scores within scope; `start`/`end` filter on the course start date. Without
    `dimensions`, only the required columns (no indication, clinician, route, dose)."""
    with read_session():  # a refusal is audited at the unit-of-work boundary
        require(actor, "view_outcomes", entity="outcomes",
                message="This role does not see clinical outcomes.")
    chosen = _chosen_courses(actor, clinic_ids, start, end)
    with (engine or get_engine()).connect() as conn:  # one read transaction for both
        courses = _courses(conn, chosen, dimensions)
        scores = _scores(conn, chosen, instruments)
    return _joined(scores, courses)


def _chosen_courses(actor: Actor, clinic_ids: list[int] | None, start: date | None,
                    end: date | None) -> list:
    """WHERE parts (on Course and Patient) choosing the courses in scope and date range;
    none when every course is chosen (an all-clinic user without filters)."""
    parts = []
    if not actor.all_clinics or clinic_ids:
        parts.append(scope_filter(actor, Patient.clinic_id, clinic_ids))
    if start:
        parts.append(Course.start_date >= start)
    if end:
        parts.append(Course.start_date <= end)
    return parts


def _courses(conn: Connection, chosen: Sequence, dimensions: bool) -> pd.DataFrame:
    """One row per chosen course: identity columns, then (optionally) the dimensions."""
    columns = [Course.id.label("course_key"), Course.patient_id.label("patient_key"),
               Clinic.code.label("clinic"), Course.number.label("course_number"),
               Course.start_date.label("course_start")]
    stmt = (select(*columns).join(Patient, Patient.id == Course.patient_id)
            .join(Clinic, Clinic.id == Patient.clinic_id).where(*chosen))
    if dimensions:
        stmt = _with_first_infusion(stmt)
    table = read_table(conn, stmt, _COURSE_SCHEMA)
    courses = pd.DataFrame({
        "course_key": ints(table["course_key"]), "patient_key": ints(table["patient_key"]),
        "clinic": texts(table["clinic"]), "course_number": ints(table["course_number"]),
        "course_start": days(table["course_start"]),
    })
    if dimensions:
        dose = courses["course_key"].map(_median_doses(conn, chosen)).astype("float64")
        courses = courses.assign(
            indication=texts(table["indication"]).fillna("unspecified"),
            clinician=texts(table["username"]).fillna(texts(table["clinician_code"]))
            .fillna("unknown"),
            route=texts(table["route"]).fillna("unknown"),
            dose_mg_per_kg=dose, dose_band=dose_band(dose))
    return courses


def _median_doses(conn: Connection, chosen: Sequence) -> pd.Series:
    """Each chosen course's median dose in mg/kg over its infusions with a recorded dose
    (the course's dose band, OUTCOMES.md/DASHBOARDS.md; outcomes.dose.course_dose_bands)
    indexed by course_key. Two numeric columns per infusion: SQL has no portable median."""
    stmt = (select(Infusion.course_id.label("course_key"), Infusion.dose_mg_per_kg)
            .join(Course, Course.id == Infusion.course_id)
            .join(Patient, Patient.id == Course.patient_id)
            .where(*chosen, Infusion.dose_mg_per_kg.is_not(None)))
    table = read_table(conn, stmt, {"course_key": "int", "dose_mg_per_kg": "float"})
    frame = pd.DataFrame({"course_key": ints(table["course_key"]),
                          "dose_mg_per_kg": floats(table["dose_mg_per_kg"])})
    return course_dose_bands(frame, DOSE_BANDS).set_index("course_key")["median_dose"]


def _with_first_infusion(stmt):
    """Add the patient's indication and the course's first infusion's clinician and route
    (the breakdown dimensions; uq_infusion_number finds the lowest number). The dose
    dimension is the course's median dose (`_median_doses`)."""
    first = aliased(Infusion)
    lowest = (select(func.min(Infusion.number)).where(Infusion.course_id == Course.id)
              .correlate(Course).scalar_subquery())
    return (stmt.add_columns(Patient.indication, User.username, first.clinician_code,
                             first.route)
            .outerjoin(first, (first.course_id == Course.id) & (first.number == lowest))
            .outerjoin(User, User.id == first.clinician_id))


def _scores(conn: Connection, chosen: Sequence, instruments: list[str] | None) -> dict:
    """The per-score columns (typed by data.store.arrow_read), in the order of the
    scores' ids."""
    stmt = (select(Assessment.course_id.label("course_key"),
                   Infusion.number.label("infusion_number"), Assessment.instrument,
                   Assessment.timepoint, Assessment.administered_on.label("date"),
                   Assessment.total, Assessment.item9,
                   Infusion.administered_on.label("infusion_date"))
            .select_from(Assessment).join(Infusion, Infusion.id == Assessment.infusion_id)
            .order_by(Assessment.id))
    if chosen:
        stmt = stmt.where(Assessment.course_id.in_(
            select(Course.id).join(Patient, Patient.id == Course.patient_id).where(*chosen)))
    if instruments:
        stmt = stmt.where(Assessment.instrument.in_(instruments))
    table = read_table(conn, stmt, _SCORE_SCHEMA)
    return {
        "course_key": ints(table["course_key"]),
        "infusion_number": ints(table["infusion_number"]),
        "instrument": texts(table["instrument"]), "timepoint": texts(table["timepoint"]),
        "date": days(table["date"]), "total": floats(table["total"]),
        "item9": floats(table["item9"]), "infusion_date": days(table["infusion_date"]),
    }


_COURSE_SCHEMA: dict[str, Kind] = {
    "course_key": "int", "patient_key": "int", "clinic": "text", "course_number": "int",
    "course_start": "date", "indication": "text", "username": "text",
    "clinician_code": "text", "route": "text"}
_SCORE_SCHEMA: dict[str, Kind] = {
    "course_key": "int", "infusion_number": "int", "instrument": "text", "timepoint": "text",
    "date": "date", "total": "float", "item9": "float", "infusion_date": "date"}


def _joined(scores: dict, courses: pd.DataFrame) -> pd.DataFrame:
    """Each score with its course's columns, in the documented column order."""
    position = pd.Index(courses["course_key"]).get_indexer(scores["course_key"])
    if (position < 0).any():  # a course created between the two queries (PostgreSQL)
        keep = position >= 0
        scores = {k: v[keep] if isinstance(v, np.ndarray) else v[keep].reset_index(drop=True)
                  for k, v in scores.items()}
        position = position[keep]
    course_columns = {name: courses[name].take(position).reset_index(drop=True)
                      for name in courses.columns if name != "course_key"}
    frame = pd.DataFrame({**course_columns, **scores})
    order = [*CORE_COLUMNS, *(c for c in DIMENSION_COLUMNS if c in courses.columns)]
    return frame[order]


def dose_band(dose: pd.Series) -> pd.Series:
    """The mg/kg band of each dose ('unknown' when not recorded)."""
    bands = pd.Series("unknown", index=dose.index, dtype="object")
    for low, high, label in DOSE_BANDS:
        bands[(dose >= low) & (dose < high)] = label
    return bands
