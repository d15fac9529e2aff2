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
from sqlalchemy import String, cast, exists, select
from sqlalchemy.engine import Engine

from data.analytics.observations import DOSE_BANDS, chosen_courses
from data.analytics.outcome_frames import _effects
from data.analytics.outcome_report import OutcomeFilters
from data.store.arrow_read import Kind, floats, ints, read_table, texts
from data.store.db import get_engine, read_session
from models.access import Actor, require
from models.tables import AdverseEvent, Course, Infusion, Patient

BANDS = DOSE_BANDS
_SCHEMA: dict[str, Kind] = {
    "course_key": "int", "infusion_number": "int", "dose_mg_per_kg": "float",
    "side_effects": "text", "side_effect_other": "text", "adverse_event": "text",
    "bp_sys_before": "float", "bp_sys_peak": "float", "sedation_moaas": "float",
    "dissociation": "text", "has_event": "bool"}
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
               Infusion.dose_mg_per_kg, cast(Infusion.side_effects, String).label("side_effects"),
               Infusion.side_effect_other,
               Infusion.adverse_event, Infusion.bp_sys_before, Infusion.bp_sys_peak,
               Infusion.sedation_moaas, Infusion.dissociation,
               exists().where(AdverseEvent.infusion_id == Infusion.id).label("has_event"))
        .join(Course, Course.id == Infusion.course_id)
        .join(Patient, Patient.id == Course.patient_id)
        .where(*chosen_courses(actor, list(filters.clinic_ids) if filters.clinic_ids else None,
                               filters.start, filters.end))
    )
    with (engine or get_engine()).connect() as conn:
        table = read_table(conn, stmt, _SCHEMA)
    frame = pd.DataFrame({
        "course_key": ints(table["course_key"]),
        "infusion_number": ints(table["infusion_number"]),
        "dose_mg_per_kg": floats(table["dose_mg_per_kg"]),
        "side_effects": [_effects(listed, other) for listed, other in
                         zip(table["side_effects"].to_pylist(),
                             table["side_effect_other"].to_pylist(), strict=True)],
        "adverse_event": [bool(event) or bool(a and str(a).strip())
                          for a, event in zip(table["adverse_event"].to_pylist(),
                                              table["has_event"].to_pylist(), strict=True)],
        "bp_sys_before": floats(table["bp_sys_before"]),
        "bp_sys_peak": floats(table["bp_sys_peak"]),
        "sedation_moaas": floats(table["sedation_moaas"]),
        "dissociation": texts(table["dissociation"]),
    }, columns=list(COLUMNS))
    return frame.sort_values(["course_key", "infusion_number"], kind="stable").reset_index(
        drop=True)
