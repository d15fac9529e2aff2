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
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import case, select, true
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import aliased

from data.store.arrow_read import Kind, day_number, days, floats, ints, read_table, texts
from data.store.db import get_engine, read_session
from models.access import Actor, require, scope_filter
from models.tables import TIMEPOINTS, Assessment, Clinic, Course, Infusion, Patient, User
from outcomes.dose import course_dose_bands
from outcomes.instruments import INSTRUMENTS

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
    chosen = chosen_courses(actor, clinic_ids, start, end)
    with (engine or get_engine()).connect() as conn:  # one read transaction for all
        courses = _courses(conn, chosen, dimensions)
        scores = _score_columns(conn, chosen, instruments)
        infusions = read_table(conn, _infusions(chosen, dimensions),
                               _INFUSION_SCHEMA)  # after the scores: each score's is there
    scores = _with_infusions(scores, infusions)
    if dimensions:
        dose = courses["course_key"].map(_course_medians(infusions)).astype("float64")
        courses = courses.assign(dose_mg_per_kg=dose, dose_band=dose_band(dose))
    return _joined(scores, courses)


def chosen_courses(actor: Actor, clinic_ids: list[int] | None, start: date | None,
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
               day_number(Course.start_date).label("course_start")]
    stmt = (select(*columns).join(Patient, Patient.id == Course.patient_id)
            .join(Clinic, Clinic.id == Patient.clinic_id).where(*chosen))
    if dimensions:
        stmt = _with_first_infusion(stmt, conn.dialect.name)
    table = read_table(conn, stmt, _COURSE_SCHEMA)
    courses = pd.DataFrame({
        "course_key": ints(table["course_key"]), "patient_key": ints(table["patient_key"]),
        "clinic": texts(table["clinic"]), "course_number": ints(table["course_number"]),
        "course_start": days(table["course_start"]),
    })
    if dimensions:  # the dose: `_median_doses`, from the infusions read with the scores
        courses = courses.assign(
            indication=texts(table["indication"]).fillna("unspecified"),
            clinician=texts(table["username"]).fillna(texts(table["clinician_code"]))
            .fillna("unknown"),
            route=texts(table["route"]).fillna("unknown"))
    return courses


def _median_doses(conn: Connection, chosen: Sequence) -> pd.Series:
    """Each chosen course's median dose (`_course_medians`), read on its own."""
    stmt = (select(Infusion.course_id.label("course_key"), Infusion.dose_mg_per_kg)
            .join(Course, Course.id == Infusion.course_id)
            .join(Patient, Patient.id == Course.patient_id)
            .where(*chosen, Infusion.dose_mg_per_kg.is_not(None)))
    return _course_medians(read_table(conn, stmt, {"course_key": "int",
                                                   "dose_mg_per_kg": "float"}))


def _course_medians(infusions: pa.Table) -> pd.Series:
    """Each course's median dose in mg/kg over its infusions with a recorded dose (the
    course's dose band, OUTCOMES.md/DASHBOARDS.md; outcomes.dose.course_dose_bands)
    indexed by course_key, from infusion rows (course_key, dose_mg_per_kg): SQL has no
    portable median."""
    dose = floats(infusions["dose_mg_per_kg"])
    recorded = ~np.isnan(dose)
    frame = pd.DataFrame({"course_key": ints(infusions["course_key"])[recorded],
                          "dose_mg_per_kg": dose[recorded]})
    return course_dose_bands(frame, DOSE_BANDS).set_index("course_key")["median_dose"]


def course_infusion(dialect: str, *, last: bool = False,
                    name: str = "course_infusion") -> tuple[Any, Any, Any]:
    """Each course's first infusion (its last with ``last``), to outer-join to a select of
    courses: ``(target, onclause, columns)``, ``columns`` giving the infusion's columns as
    attributes. One index seek of uq_infusion_number (course_id, number) per course.

    PostgreSQL: a LATERAL subquery (at XL, 380,000 courses: 1.1 s for the last infusion,
    2.0 s for the first with its clinician; its planner turns the correlated form below
    into a hash of all 2.45 million infusions plus two seeks per course, 4.1 and 4.0 s).
    SQLite (no LATERAL): the id of the lowest (highest) number by a correlated seek of the
    index, which holds the id, then that infusion's row. ``name``: the alias (another to
    join both the first and the last infusion to one select)."""
    order = Infusion.number.desc() if last else Infusion.number
    if dialect == "postgresql":
        lateral = (select(Infusion).where(Infusion.course_id == Course.id).order_by(order)
                   .limit(1).lateral(name))
        return lateral, true(), lateral.c
    row = aliased(Infusion, name=name)
    edge = (select(Infusion.id).where(Infusion.course_id == Course.id).order_by(order)
            .limit(1).correlate(Course).scalar_subquery())
    return row, (row.course_id == Course.id) & (row.id == edge), row


def _with_first_infusion(stmt, dialect: str):
    """Add the patient's indication and the course's first infusion's clinician and route
    (the breakdown dimensions). The dose dimension is the course's median dose
    (`_median_doses`)."""
    target, onclause, first = course_infusion(dialect)
    return (stmt.add_columns(Patient.indication, User.username, first.clinician_code,
                             first.route)
            .outerjoin(target, onclause)
            .outerjoin(User, User.id == first.clinician_id))


def _scores(conn: Connection, chosen: Sequence, instruments: list[str] | None) -> dict:
    """The per-score columns with each score's infusion number and date."""
    scores = _score_columns(conn, chosen, instruments)
    return _with_infusions(scores, read_table(conn, _infusions(chosen, dimensions=False),
                                              _INFUSION_SCHEMA))


def _score_columns(conn: Connection, chosen: Sequence,
                   instruments: list[str] | None) -> dict:
    """The per-score columns (typed by data.store.arrow_read), in the order of the
    scores' ids. The scores are read alone (no join: a join costs an infusion lookup per
    score), with dates as day numbers and the instrument and timepoint as small integer
    codes (a string per value is the driver's dearest object); a value outside the codes
    (-1) makes the read start again with those columns as text. Each score's infusion
    number and date come later from one read of the infusions (`_with_infusions`)."""
    table = read_table(conn, _score_stmt(chosen, instruments, coded=True), _SCORE_SCHEMA)
    codes = {name: ints(table[name]) for name in _CODED}
    if all((code >= 0).all() for code in codes.values()):
        text = {name: texts(pa.DictionaryArray.from_arrays(
            pa.array(code, pa.int32()), pa.array(_CODED[name], pa.string()))
            .dictionary_decode()) for name, code in codes.items()}
    else:  # a value the codes do not know (never written by this application)
        table = read_table(conn, _score_stmt(chosen, instruments, coded=False),
                           {**_SCORE_SCHEMA, **dict.fromkeys(_CODED, "text")})
        text = {name: texts(table[name]) for name in _CODED}
    return {
        "course_key": ints(table["course_key"]), "infusion_id": ints(table["infusion_id"]),
        "instrument": text["instrument"], "timepoint": text["timepoint"],
        "date": days(table["date"]), "total": floats(table["total"]),
        "item9": floats(table["item9"]),
    }


def _with_infusions(scores: dict, infusions: pa.Table) -> dict:
    """Each score's infusion number and date in place of its infusion id, matched by id
    (a score whose infusion was deleted after the scores were read, on PostgreSQL, is
    left out)."""
    infusion_ids = ints(infusions["id"])
    score_infusions = scores.pop("infusion_id")
    if len(infusion_ids):
        position = np.minimum(np.searchsorted(infusion_ids, score_infusions),
                              len(infusion_ids) - 1)
        found = infusion_ids[position] == score_infusions
    else:
        position = np.zeros(len(score_infusions), dtype="int64")
        found = np.zeros(len(score_infusions), dtype=bool)
    if not found.all():
        scores, position = _kept(scores, found), position[found]
    return {**scores, "infusion_number": ints(infusions["number"])[position],
            "infusion_date": days(infusions["infusion_date"].take(position))}


def _score_stmt(chosen: Sequence, instruments: list[str] | None, *, coded: bool):
    """The scores' own columns in the order of their ids; instrument and timepoint as
    their index in `_CODED` (-1 for another value) when `coded`."""
    def code(column, values):
        return case({value: i for i, value in enumerate(values)}, value=column, else_=-1)
    stmt = (select(Assessment.course_id.label("course_key"), Assessment.infusion_id,
                   code(Assessment.instrument, _CODED["instrument"]).label("instrument")
                   if coded else Assessment.instrument,
                   code(Assessment.timepoint, _CODED["timepoint"]).label("timepoint")
                   if coded else Assessment.timepoint,
                   day_number(Assessment.administered_on).label("date"),
                   Assessment.total, Assessment.item9)
            .order_by(Assessment.id))
    if chosen:
        stmt = stmt.where(Assessment.course_id.in_(_chosen_ids(chosen)))
    if instruments:
        stmt = stmt.where(Assessment.instrument.in_(instruments))
    return stmt


def _chosen_ids(chosen: Sequence):
    """The ids of the chosen courses (a subquery)."""
    return select(Course.id).join(Patient, Patient.id == Course.patient_id).where(*chosen)


def _infusions(chosen: Sequence, dimensions: bool):
    """The chosen courses' infusions (all of them when every course is chosen), in the
    order of their ids: id, number and date (a day number), with the dimensions their
    course and dose (the course's median dose)."""
    columns = [Infusion.id, Infusion.number,
               day_number(Infusion.administered_on).label("infusion_date")]
    if dimensions:
        columns += [Infusion.course_id.label("course_key"), Infusion.dose_mg_per_kg]
    stmt = select(*columns)
    if chosen:
        stmt = stmt.where(Infusion.course_id.in_(_chosen_ids(chosen)))
    return stmt.order_by(Infusion.id)


def _kept(columns: dict, keep: np.ndarray) -> dict:
    """The rows of `columns` (arrays or Series) where `keep` is true."""
    return {k: v[keep] if isinstance(v, np.ndarray) else v[keep].reset_index(drop=True)
            for k, v in columns.items()}


_COURSE_SCHEMA: dict[str, Kind] = {
    "course_key": "int", "patient_key": "int", "clinic": "text", "course_number": "int",
    "course_start": "date", "indication": "text", "username": "text",
    "clinician_code": "text", "route": "text"}
_CODED: dict[str, tuple[str, ...]] = {"instrument": tuple(INSTRUMENTS),
                                       "timepoint": TIMEPOINTS}
_SCORE_SCHEMA: dict[str, Kind] = {
    "course_key": "int", "infusion_id": "int", "instrument": "int", "timepoint": "int",
    "date": "date", "total": "float", "item9": "float"}
_INFUSION_SCHEMA: dict[str, Kind] = {"id": "int", "number": "int", "infusion_date": "date",
                                     "course_key": "int", "dose_mg_per_kg": "float"}


def _joined(scores: dict, courses: pd.DataFrame) -> pd.DataFrame:
    """Each score with its course's columns, in the documented column order."""
    position = pd.Index(courses["course_key"]).get_indexer(scores["course_key"])
    if (position < 0).any():  # a course created between the two queries (PostgreSQL)
        keep = position >= 0
        scores = _kept(scores, keep)
        position = position[keep]
    columns = {**{name: courses[name].take(position).reset_index(drop=True)
                  for name in courses.columns if name != "course_key"}, **scores}
    order = [*CORE_COLUMNS, *(c for c in DIMENSION_COLUMNS if c in courses.columns)]
    return pd.DataFrame({name: columns[name] for name in order})  # built in order


def dose_band(dose: pd.Series) -> pd.Series:
    """The mg/kg band of each dose ('unknown' when not recorded)."""
    bands = pd.Series("unknown", index=dose.index, dtype="object")
    for low, high, label in DOSE_BANDS:
        bands[(dose >= low) & (dose < high)] = label
    return bands
