"""Courses and conflicts of a score import (OUTCOMES.md section 5, C1).

Works on the rows whose identifying cells (clinic, patient_id, infusion_number,
timepoint, date, instrument, course_id) are valid; other rows already carry errors.

- A row's course is its ``course_id`` label, or, when the patient's rows have none, is
  inferred: in date order (then infusion number, pre before post) a new course starts
  whenever the infusion number goes down.
- Against the store, a label matches the patient's existing course with that label; an
  inferred course k is the patient's course number k. New labelled courses are numbered
  after the patient's existing courses, chronologically (earliest date, then label).
- Two rows with the same (clinic, patient, course, infusion, timepoint, instrument), in
  the file or against the store, are conflicts; rows of one infusion must agree on its
  type, route and dose.
- Follow-ups (C4) never start a course and conflict per (patient, course, instrument,
  date): data/imports/import_followups.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from data.imports.import_csv import RowError
from data.imports.import_followups import FOLLOWUP, followup_courses, is_followup
from data.imports.import_validation import MAX_INFUSION_NUMBER
from models.tables import Assessment, Clinic, Course, Infusion, Patient
from outcomes.instruments import INSTRUMENTS

PATIENT = ["clinic", "patient_id"]
SLOT = ["clinic", "patient_id", "course_number", "infusion_number", "timepoint", "instrument"]
_CHUNK = 5_000


def key_mask(rows: pd.DataFrame) -> pd.Series:
    """Rows whose identifying cells are all valid (`_short`: see validate_rows)."""
    return ((rows["clinic"] != "") & (rows["patient_id"] != "") & rows["_short"]
            & rows["infusion_number"].notna() & rows["timepoint"].notna()
            & rows["date"].notna() & rows["instrument"].notna()).astype(bool)


def _lines(values: Iterable[int], limit: int = 5) -> str:
    values = sorted(values)
    shown = ", ".join(map(str, values[:limit]))
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def mixed_labels(rows: pd.DataFrame) -> list[RowError]:
    """A patient's rows must all have a course_id or all have none."""
    labelled = rows["course_id"].notna()
    some = labelled.groupby(rows["_patient"]).transform("any")
    errors = []
    for patient, group in rows[some & ~labelled].groupby("_patient", sort=False):
        others = rows.loc[labelled & (rows["_patient"] == patient), "line"]
        reason = (f"other rows of this patient (line {_lines(others)}) have a course_id; give "
                  "every row of a patient a course_id, or none (then courses are inferred)")
        errors.extend(RowError(int(line), "course_id", reason) for line in group["line"])
    return errors


def infer_courses(rows: pd.DataFrame) -> pd.Series:
    """Inferred course index (1-based) per row without course_id: a new course starts
    whenever the infusion number goes down, in order of date, infusion, pre/post."""
    order = rows.assign(_tp=(rows["timepoint"] == "post").astype(int)).sort_values(
        ["_patient", "date", "infusion_number", "_tp", "line"])
    previous = order.groupby("_patient", sort=False)["infusion_number"].shift()
    starts = (order["infusion_number"] < previous).fillna(False).astype(int)
    return (starts.groupby(order["_patient"]).cumsum() + 1).reindex(rows.index)


@dataclass
class StoreState:
    """What the store already holds for the file's patients."""

    clinic_ids: dict[str, int] = field(default_factory=dict)
    patient_ids: dict[tuple[str, str], int] = field(default_factory=dict)
    courses: dict[tuple[str, str], dict[int, str | None]] = field(default_factory=dict)
    slots: set[tuple] = field(default_factory=set)  # SLOT tuples of stored assessments
    # (clinic, patient_id, course_number, instrument, date) of stored follow-ups
    followups: set[tuple] = field(default_factory=set)
    # (clinic, patient_id, course_number, infusion_number) -> date of stored infusions
    infusion_dates: dict[tuple, object] = field(default_factory=dict)

    def latest_courses(self) -> dict[tuple[str, str], int]:
        """Each stored patient's highest course number."""
        return {patient: max(numbers) for patient, numbers in self.courses.items() if numbers}


def _patients(session: Session, state: StoreState, pairs: set[tuple[str, str]]) -> dict:
    codes = sorted({c for c, _ in pairs})
    state.clinic_ids = dict(session.execute(
        select(Clinic.code, Clinic.id).where(Clinic.code.in_(codes))).all())
    code_of = {cid: code for code, cid in state.clinic_ids.items()}
    patient_of = {}
    query = select(Patient.id, Patient.clinic_id, Patient.patient_code)
    for pid, cid, code in session.execute(query.where(Patient.clinic_id.in_(list(code_of)))):
        if (code_of[cid], code) in pairs:
            state.patient_ids[(code_of[cid], code)] = pid
            patient_of[pid] = (code_of[cid], code)
    return patient_of


def load_store_state(session: Session, pairs: set[tuple[str, str]]) -> StoreState:
    """Existing clinics, patients, their courses (number -> label) and assessment slots."""
    state = StoreState()
    patient_of = _patients(session, state, pairs)
    course_of: dict[int, tuple] = {}
    pids = list(patient_of)
    for start in range(0, len(pids), _CHUNK):
        query = select(Course.id, Course.patient_id, Course.number, Course.label)
        for cid, pid, number, label in session.execute(
                query.where(Course.patient_id.in_(pids[start:start + _CHUNK]))):
            state.courses.setdefault(patient_of[pid], {})[number] = label
            course_of[cid] = (*patient_of[pid], number)
    _stored_scores(session, state, course_of)
    return state


def _stored_scores(session: Session, state: StoreState, course_of: dict[int, tuple]) -> None:
    """The stored infusions' dates, assessment slots and follow-up slots of the courses."""
    cids = list(course_of)
    for start in range(0, len(cids), _CHUNK):
        chunk = cids[start:start + _CHUNK]
        for cid, number, given_on in session.execute(
                select(Infusion.course_id, Infusion.number, Infusion.administered_on)
                .where(Infusion.course_id.in_(chunk))):
            state.infusion_dates[(*course_of[cid], number)] = pd.Timestamp(given_on)
        query = (select(Assessment.course_id, Infusion.number, Assessment.timepoint,
                        Assessment.instrument, Assessment.administered_on)
                 .join(Infusion, Assessment.infusion_id == Infusion.id)
                 .where(Assessment.course_id.in_(chunk)))
        for cid, number, timepoint, instrument, day in session.execute(query):
            if timepoint == FOLLOWUP:
                state.followups.add((*course_of[cid], instrument, pd.Timestamp(day)))
            else:
                state.slots.add((*course_of[cid], number, timepoint, instrument))


def _label_numbers(courses: pd.DataFrame, state: StoreState) -> np.ndarray:
    """The course number of each labelled course (clinic, patient_id, course_id, date: its
    earliest): the patient's existing course with that label, else numbered after the
    existing ones, chronologically (earliest date, then label)."""
    numbers = np.zeros(len(courses), dtype=np.int64)
    order = courses.sort_values([*PATIENT, "date", "course_id"])
    patient, by_label, next_number = None, {}, 1
    for row, clinic, code, label in zip(order.index, order["clinic"], order["patient_id"],
                                        order["course_id"], strict=True):
        if (clinic, code) != patient:
            patient, existing = (clinic, code), state.courses.get((clinic, code), {})
            by_label = {name: n for n, name in existing.items() if name is not None}
            next_number = max(existing, default=0) + 1
        if label not in by_label:
            by_label[label], next_number = next_number, next_number + 1
        numbers[row] = by_label[label]
    return numbers


def number_courses(rows: pd.DataFrame, state: StoreState) -> pd.Series:
    """Each row's course number in the store (see the module docstring)."""
    labelled = rows["course_id"].notna()
    numbers = pd.Series(0, index=rows.index, dtype="int64")
    if (~labelled).any():
        part, follow = rows[~labelled], is_followup(rows[~labelled])
        inferred = pd.Series(0, index=part.index, dtype="int64")
        inferred[~follow] = infer_courses(part[~follow]).astype("int64")
        if follow.any():  # a follow-up never starts a course (C4)
            inferred[follow] = followup_courses(part, inferred, state.latest_courses())
        numbers[~labelled] = inferred
    if labelled.any():
        part = rows[labelled]
        label, labels = pd.factorize(part["course_id"].to_numpy(dtype=object))
        course = pd.factorize(part["_patient"].to_numpy(np.int64) * len(labels) + label)[0]
        first = np.unique(course, return_index=True)[1]  # course k's first row
        courses = pd.DataFrame({name: part[name].to_numpy(dtype=object)[first]
                                for name in (*PATIENT, "course_id")}, dtype=object)
        courses["date"] = pd.Series(part["date"].to_numpy()).groupby(course).min().to_numpy()
        numbers[labelled] = _label_numbers(courses, state)[course]
    return numbers


_TIMEPOINT_CODE = {"pre": 0, "post": 1, FOLLOWUP: 2}
_DAY = np.timedelta64(1, "D")


def add_group_keys(rows: pd.DataFrame) -> None:
    """Numbers for grouping rows that carry their course_number: `_course`, `_infusion` and
    `_slot` (course, infusion, timepoint, instrument), one per distinct SLOT key."""
    patient = rows["_patient"].to_numpy(np.int64)
    number = rows["course_number"].to_numpy(np.int64)
    course = pd.factorize(patient * (int(number.max(initial=0)) + 1) + number)[0]
    infusion = course.astype(np.int64) * (MAX_INFUSION_NUMBER + 1) + rows[
        "infusion_number"].to_numpy(np.int64)
    timepoint = _codes(rows["timepoint"], _TIMEPOINT_CODE)
    instrument = _codes(rows["instrument"], {n: k for k, n in enumerate(INSTRUMENTS)})
    rows["_course"] = course
    rows["_infusion"] = infusion
    slot = (infusion * 3 + timepoint) * len(INSTRUMENTS) + instrument
    follow = is_followup(rows).to_numpy()
    if follow.any():  # follow-ups: one per (course, instrument, date), negative keys
        day = ((rows["date"].to_numpy(dtype="datetime64[D]") - np.datetime64("1900-01-01"))
               // _DAY).astype(np.int64)
        per_date = -1 - (course.astype(np.int64) * 100_000 + day) * len(INSTRUMENTS) - instrument
        slot = np.where(follow, per_date, slot)
    rows["_slot"] = slot


def _codes(values: pd.Series, code_of: dict[str, int]) -> np.ndarray:
    """`code_of` each value (all known), looked up once per distinct value."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object))
    return np.array([code_of[u] for u in uniques], dtype=np.int64)[codes]


def conflicts(rows: pd.DataFrame, state: StoreState) -> list[RowError]:
    """Rows for the same slot in the file (each names the others), or already stored."""
    errors = []
    repeated = rows[rows["_slot"].duplicated(keep=False)]
    for _, group in repeated.groupby("_slot", sort=False):
        for line in group["line"]:
            others = _lines(x for x in group["line"] if x != line)
            what = ("patient, course, instrument and date (follow-ups)" if group["_slot"].iloc[0] < 0
                    else "patient, course, infusion, timepoint and instrument")
            errors.append(RowError(int(line), "row", f"conflict: line {others} has the same "
                                   f"{what}"))
    errors += _stored_followups(rows, state)
    if not state.slots:
        return errors
    known = [key in state.patient_ids for key in zip(rows["clinic"], rows["patient_id"],
                                                     strict=True)]
    candidates = rows[known]  # only a stored patient can have a stored slot
    stored = [s in state.slots for s in candidates[SLOT].itertuples(index=False, name=None)]
    for line, number, infusion, timepoint, instrument in candidates.loc[
            stored, ["line", "course_number", "infusion_number", "timepoint", "instrument"]
    ].itertuples(index=False, name=None):
        errors.append(RowError(int(line), "row", f"conflict: course {number}, infusion "
                               f"{infusion}, {timepoint} {instrument} is already in the store"))
    return errors


def _stored_followups(rows: pd.DataFrame, state: StoreState) -> list[RowError]:
    """Follow-ups already stored for the same patient, course, instrument and date."""
    if not state.followups:
        return []
    follow = rows[is_followup(rows)]
    keys = ["line", "clinic", "patient_id", "course_number", "instrument", "date"]
    return [RowError(int(line), "row", f"conflict: course {number}, a {instrument} follow-up "
                     f"dated {day:%Y-%m-%d} is already in the store")
            for line, clinic, patient, number, instrument, day in follow[keys].itertuples(
                index=False, name=None)
            if (clinic, patient, number, instrument, pd.Timestamp(day)) in state.followups]


def infusion_disagreements(rows: pd.DataFrame) -> list[RowError]:
    """Rows of one infusion must give the same infusion_type, route and dose (when given)."""
    errors = []
    infusion = rows["_infusion"].to_numpy()
    lines = rows["line"].to_numpy()
    for column in ("infusion_type", "route", "dose_mg_per_kg"):
        values = rows[column]
        given = np.flatnonzero(values.notna().to_numpy())
        if not len(given):
            continue
        values = values.to_numpy(dtype=object)
        groups, first = np.unique(infusion[given], return_index=True)  # first given row
        first_row = given[first[np.searchsorted(groups, infusion[given])]]
        differs = values[given] != values[first_row]
        for row, where in zip(given[differs], first_row[differs], strict=True):
            errors.append(RowError(int(lines[row]), column, (
                f"{values[row]} differs from {values[where]} on line {lines[where]} for the same "
                f"infusion; the rows of one infusion must agree on its {column}")))
    return errors
