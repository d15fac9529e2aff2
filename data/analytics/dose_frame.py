"""The infusion-level read behind "Dose and tolerability" (``outcomes/dose.py``): one row
per infusion of the courses in the actor's clinic scope, the chosen clinics and the course
start range (the page's store filters; clinicians and indications are applied in memory by
keeping the courses of the page's narrowed frames).

Sedation at peak (``sedation_moaas``, MOAA/S 0-5) and ``dissociation`` (none, mild,
moderate, severe) are one column each, as the infusion records them (NaN / None when not
recorded); ``adverse_event`` is True for a recorded adverse event (AdverseEvent) or the
adverse-event note of an older record, as on the Outcomes page's safety section."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import exists, select
from sqlalchemy.engine import Engine

from data.analytics.observations import DOSE_BANDS
from data.analytics.outcome_frames import _effects
from data.analytics.outcome_report import OutcomeFilters
from data.store.db import get_engine, read_session
from data.store.frame_reader import as_float, as_int, as_text, fetch_columns
from models.access import Actor, require, scope_filter
from models.tables import AdverseEvent, Course, Infusion, Patient

BANDS = DOSE_BANDS
COLUMNS = ("course_key", "infusion_number", "dose_mg_per_kg", "side_effects", "adverse_event",
           "bp_sys_before", "bp_sys_peak", "sedation_moaas", "dissociation")


def load_dose_frame(*, actor: Actor, filters: OutcomeFilters,
                    engine: Engine | None = None) -> pd.DataFrame:
    """Infusions in scope: course, number, dose (mg/kg), side effects ('|'-separated),
    adverse event (bool), systolic before and peak, sedation (NaN when not recorded),
    dissociation."""
    with read_session():  # a refusal is audited at the unit-of-work boundary
        require(actor, "view_outcomes", entity="outcomes",
                message="This role does not see clinical outcomes.")
    stmt = (
        select(Infusion.course_id.label("course_key"), Infusion.number.label("infusion_number"),
               Infusion.dose_mg_per_kg, Infusion.side_effects, Infusion.side_effect_other,
               Infusion.adverse_event, Infusion.bp_sys_before, Infusion.bp_sys_peak,
               Infusion.sedation_moaas, Infusion.dissociation,
               exists().where(AdverseEvent.infusion_id == Infusion.id).label("has_event"))
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
        "adverse_event": [bool(event) or bool(a and str(a).strip())
                          for a, event in zip(cols["adverse_event"], cols["has_event"],
                                              strict=True)],
        "bp_sys_before": as_float(cols["bp_sys_before"]),
        "bp_sys_peak": as_float(cols["bp_sys_peak"]),
        "sedation_moaas": as_float(cols["sedation_moaas"]),
        "dissociation": as_text(cols["dissociation"]),
    }, columns=list(COLUMNS))
    return frame.sort_values(["course_key", "infusion_number"], kind="stable").reset_index(
        drop=True)
