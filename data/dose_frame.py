"""The infusion-level read behind "Dose and tolerability" (``outcomes/dose.py``): one row
per infusion of the courses in the actor's clinic scope, the chosen clinics and the course
start range (the page's store filters; clinicians and indications are applied in memory by
keeping the courses of the page's narrowed frames).

Sedation and dissociation are not recorded on an infusion yet (a later version adds them),
so this frame has no such columns."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from data.access import Actor, require
from data.db import get_engine, read_session
from data.frame_reader import as_float, as_int, fetch_columns
from data.observations import DOSE_BANDS, scope_filter
from data.outcome_frames import _effects
from data.outcome_report import OutcomeFilters
from models.tables import Course, Infusion, Patient

BANDS = DOSE_BANDS
COLUMNS = ("course_key", "infusion_number", "dose_mg_per_kg", "side_effects", "adverse_event",
           "bp_sys_before", "bp_sys_peak")


def load_dose_frame(*, actor: Actor, filters: OutcomeFilters,
                    engine: Engine | None = None) -> pd.DataFrame:
    """Infusions in scope: course, number, dose (mg/kg), side effects ('|'-separated),
    adverse event (bool), systolic before and peak (NaN when not recorded)."""
    with read_session():  # a refusal is audited at the unit-of-work boundary
        require(actor, "view_outcomes", entity="outcomes",
                message="This role does not see clinical outcomes.")
    stmt = (
        select(Infusion.course_id.label("course_key"), Infusion.number.label("infusion_number"),
               Infusion.dose_mg_per_kg, Infusion.side_effects, Infusion.side_effect_other,
               Infusion.adverse_event, Infusion.bp_sys_before, Infusion.bp_sys_peak)
        .join(Course, Course.id == Infusion.course_id)
        .join(Patient, Patient.id == Course.patient_id)
        .where(scope_filter(actor, Patient.clinic_id,
                            list(filters.clinic_ids) if filters.clinic_ids else None))
    )
    if filters.start:
        stmt = stmt.where(Course.start_date >= filters.start)
    if filters.end:
        stmt = stmt.where(Course.start_date <= filters.end)
    with (engine or get_engine()).connect() as conn:
        cols = fetch_columns(conn, stmt)
    frame = pd.DataFrame({
        "course_key": as_int(cols["course_key"]),
        "infusion_number": as_int(cols["infusion_number"]),
        "dose_mg_per_kg": as_float(cols["dose_mg_per_kg"]),
        "side_effects": [_effects(listed, other) for listed, other in
                         zip(cols["side_effects"], cols["side_effect_other"], strict=True)],
        "adverse_event": [bool(a and str(a).strip()) for a in cols["adverse_event"]],
        "bp_sys_before": as_float(cols["bp_sys_before"]),
        "bp_sys_peak": as_float(cols["bp_sys_peak"]),
    }, columns=list(COLUMNS))
    return frame.sort_values(["course_key", "infusion_number"], kind="stable").reset_index(
        drop=True)
