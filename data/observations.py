"""The observation frame (docs/OBSERVATIONS.md): one row per assessment, read with
only the columns the outcome engine needs, within the acting user's clinic scope."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from data.access import Actor, require
from data.db import get_engine, read_session
from models.tables import Assessment, Clinic, Course, Infusion, Patient, User

DOSE_BANDS = ((0.0, 0.5, "< 0.5 mg/kg"), (0.5, 0.75, "0.5-0.74 mg/kg"),
              (0.75, 1.0, "0.75-0.99 mg/kg"), (1.0, 99.0, ">= 1.0 mg/kg"))


def scope_filter(actor: Actor, clinic_column, clinic_ids: list[int] | None = None):  # noqa: ANN001
    """A WHERE clause limiting rows to the actor's clinics (and an optional subset)."""
    if actor.all_clinics:
        return clinic_column.in_(clinic_ids) if clinic_ids else clinic_column.is_not(None)
    allowed = sorted(actor.clinic_ids if clinic_ids is None else set(clinic_ids) & actor.clinic_ids)
    return clinic_column.in_(allowed)


def load_observations(
    *, actor: Actor, clinic_ids: list[int] | None = None, instruments: list[str] | None = None,
    start: date | None = None, end: date | None = None, engine: Engine | None = None,
) -> pd.DataFrame:
    """Scores within scope; `start`/`end` filter on the course start date."""
    with read_session():  # a refusal is audited at the unit-of-work boundary
        require(actor, "view_outcomes", entity="outcomes",
                message="This role does not see clinical outcomes.")
    stmt = (
        select(
            Assessment.course_id.label("course_key"), Course.patient_id.label("patient_key"),
            Clinic.code.label("clinic"), Course.number.label("course_number"),
            Course.start_date.label("course_start"), Assessment.instrument,
            Infusion.number.label("infusion_number"), Assessment.timepoint,
            Assessment.administered_on.label("date"), Assessment.total, Assessment.item9,
            Patient.indication,
        )
        .join(Infusion, Infusion.id == Assessment.infusion_id)
        .join(Course, Course.id == Assessment.course_id)
        .join(Patient, Patient.id == Course.patient_id)
        .join(Clinic, Clinic.id == Patient.clinic_id)
        .where(scope_filter(actor, Patient.clinic_id, clinic_ids))
    )
    if instruments:
        stmt = stmt.where(Assessment.instrument.in_(instruments))
    if start:
        stmt = stmt.where(Course.start_date >= start)
    if end:
        stmt = stmt.where(Course.start_date <= end)
    engine = engine or get_engine()
    with engine.connect() as conn:
        obs = pd.read_sql(stmt, conn)
        dims = _course_dimensions(conn, obs["course_key"].unique().tolist())
    return _typed(obs).merge(dims, on="course_key", how="left")


def _course_dimensions(conn, course_keys: list[int]) -> pd.DataFrame:  # noqa: ANN001
    """Per course: the first infusion's clinician, route and dose (breakdown dimensions)."""
    stmt = (
        select(Infusion.course_id.label("course_key"), Infusion.number, Infusion.route,
               Infusion.dose_mg_per_kg, Infusion.clinician_code, User.username)
        .outerjoin(User, User.id == Infusion.clinician_id)
    )
    inf = pd.read_sql(stmt, conn)
    inf = inf[inf["course_key"].isin(course_keys)].sort_values(["course_key", "number"])
    first = inf.drop_duplicates("course_key")
    dims = pd.DataFrame({
        "course_key": first["course_key"].astype("int64"),
        "clinician": first["username"].fillna(first["clinician_code"]).fillna("unknown"),
        "route": first["route"].fillna("unknown"),
        "dose_mg_per_kg": first["dose_mg_per_kg"].astype("float64"),
    })
    dims["dose_band"] = dose_band(dims["dose_mg_per_kg"])
    return dims


def dose_band(dose: pd.Series) -> pd.Series:
    """The mg/kg band of each dose ('unknown' when not recorded)."""
    bands = pd.Series("unknown", index=dose.index, dtype="object")
    for low, high, label in DOSE_BANDS:
        bands[(dose >= low) & (dose < high)] = label
    return bands


def _typed(obs: pd.DataFrame) -> pd.DataFrame:
    return obs.assign(
        course_key=obs["course_key"].astype("int64"),
        patient_key=obs["patient_key"].astype("int64"),
        course_number=obs["course_number"].astype("int64"),
        infusion_number=obs["infusion_number"].astype("int64"),
        course_start=pd.to_datetime(obs["course_start"]),
        date=pd.to_datetime(obs["date"]),
        total=obs["total"].astype("float64"),
        item9=obs["item9"].astype("float64"),
        indication=obs["indication"].fillna("unspecified"),
    )
