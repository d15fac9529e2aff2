"""The infusion's own fields: number, date, type, route, dose with the total shown live,
duration, vitals at three moments (with the blood-pressure hold decision), side-effect
checklist, and monitoring: sedation, dissociation, discharge, adverse events
(ui/infusion_monitoring.py).

Widgets carry no min/max: an implausible value reaches the service, which refuses it
with the plausible range named (models/infusion_schema.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

import streamlit as st

from models.schemas import (
    SIDE_EFFECTS,
    VITAL_MOMENTS,
    VITAL_RANGES,
    dose_warning,
    mg,
    total_dose_mg,
)
from models.tables import INFUSION_TYPES, ROUTES
from ui.infusion_monitoring import bp_decision_fields, monitoring_fields

FORM_PREFIXES = ("infusion_", "vital_", "se_", "pre_", "post_")
VITAL_LABELS = {"bp_sys": "Systolic BP (mmHg)", "bp_dia": "Diastolic BP (mmHg)",
                "hr": "Heart rate (/min)", "spo2": "SpO2 (%)"}
MOMENT_LABELS = {"before": "Before", "peak": "At peak", "discharge": "At discharge"}


def _dose_fields(protocol: dict[str, Any], weight_default: float | None) -> dict[str, Any]:
    cols = st.columns(3)
    weight = cols[0].number_input("Weight (kg)", value=weight_default, step=0.5, format="%.1f",
                                  key="infusion_weight_kg")
    dose = cols[1].number_input(
        "Dose (mg/kg)", value=None, step=0.05, format="%.2f", key="infusion_dose_mg_per_kg",
        help=f"Protocol: warning above {mg(protocol['dose_warn_mg_per_kg'])} mg/kg, refused "
             f"above {mg(protocol['dose_max_mg_per_kg'])} mg/kg or at 0 or below.")
    total = total_dose_mg(dose, weight)
    cols[2].metric("Total dose", "—" if total is None else f"{total:.1f} mg",
                   help="dose (mg/kg) × weight (kg), to 0.1 mg")
    if warning := dose_warning(dose, protocol):
        st.warning(warning)
    return {"weight_kg": weight, "dose_mg_per_kg": dose}


def _vitals() -> dict[str, Any]:
    """One row per moment (before, at peak, at discharge), one column per vital sign."""
    values = {}
    st.markdown("**Vital signs**")
    for row, moment in enumerate(VITAL_MOMENTS):
        cols = st.columns([1, 2, 2, 2, 2], vertical_alignment="bottom")
        cols[0].markdown(f"*{MOMENT_LABELS[moment]}*")
        for col, kind in zip(cols[1:], VITAL_RANGES, strict=True):
            values[f"{kind}_{moment}"] = col.number_input(
                VITAL_LABELS[kind] if row == 0  # the first row's labels head the columns
                else f"{VITAL_LABELS[kind]} {MOMENT_LABELS[moment].lower()}", value=None, step=1,
                key=f"vital_{kind}_{moment}", placeholder=VITAL_LABELS[kind],
                label_visibility="visible" if row == 0 else "collapsed")
    return values


def _side_effects() -> dict[str, Any]:
    st.markdown("**Side effects**")
    ticked = []
    for name, col in zip(SIDE_EFFECTS, st.columns(5) * 2, strict=True):
        if col.checkbox(name, key=f"se_{name.replace(' ', '_')}"):
            ticked.append(name)
    other = st.text_input("Other side effect (describe)", key="infusion_side_effect_other",
                          disabled="other" not in ticked, max_chars=200)
    return {"side_effects": ticked, "side_effect_other": other if "other" in ticked else ""}


def infusion_fields(*, next_number: int, default_type: str, protocol: dict[str, Any],
                    weight_default: float | None, today: date) -> dict[str, Any]:
    """Every infusion widget; returns the InfusionIn input."""
    cols = st.columns(4)
    number = cols[0].number_input("Infusion number", value=next_number, step=1,
                                  key="infusion_number", help="The next number is filled in.")
    administered_on = cols[1].date_input("Date", value=today, min_value=date(2000, 1, 1),
                                         key="infusion_date")
    infusion_type = cols[2].selectbox("Type", INFUSION_TYPES,
                                      index=INFUSION_TYPES.index(default_type),
                                      key="infusion_type")
    route = cols[3].selectbox("Route", ROUTES, key="infusion_route")
    values = {"number": int(number) if number is not None else None,
              "administered_on": administered_on, "infusion_type": infusion_type,
              "route": route, **_dose_fields(protocol, weight_default)}
    values["duration_min"] = st.number_input("Duration (min)", value=None, step=1,
                                             key="infusion_duration_min")
    values.update(_vitals())
    values.update(bp_decision_fields(values, protocol))  # the hold rule, at the vitals
    values.update(_side_effects())
    values.update(monitoring_fields())  # sedation, dissociation, discharge, adverse events
    return values
