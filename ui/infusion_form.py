"""The infusion's own fields, one function per section of the infusion screen (issue 12
item 2): details (number, date, type, route, weight, dose with the total shown live,
duration), vital signs at each moment (with the blood-pressure hold decision before the
infusion), side-effect checklist, and monitoring: sedation, dissociation, discharge and
adverse events (ui/infusion_monitoring.py).

Widgets carry no min/max: an implausible value reaches the service, which refuses it
with the plausible range named (models/infusion_schema.py); the message is shown under
the widget (ui/field_errors.py) and in the summary at the top.

The values are read from st.session_state at save time (`infusion_values`), by key:
every widget key of the form starts with one of FORM_PREFIXES (drafts snapshot them).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import streamlit as st

from models.labels import clinic_message, score_field
from models.schemas import (
    SIDE_EFFECTS,
    VITAL_MOMENTS,
    VITAL_RANGES,
    dose_warning,
    mg,
    total_dose_mg,
)
from models.tables import INFUSION_TYPES, ROUTES
from models.validation import EARLIEST_VISIT_DATE
from ui.field_errors import field_problem
from ui.infusion_monitoring import bp_decision_fields, monitoring_fields, monitoring_values
from ui.score_form import score_problem_keys

FORM = "infusion"  # the form name its refused saves' problems are stored under
FORM_PREFIXES = ("infusion_", "vital_", "se_", "pre_", "post_")
VITAL_LABELS = {"bp_sys": "Systolic BP (mmHg)", "bp_dia": "Diastolic BP (mmHg)",
                "hr": "Heart rate (/min)", "spo2": "SpO2 (%)"}
MOMENT_LABELS = {"before": "Before the infusion", "peak": "At peak",
                 "discharge": "At discharge"}
# The screen's sections, in order (tabs on the page). "Monitoring" is the place for the
# monitoring fields (sedation, dissociation, vitals hold decision, adverse events:
# ui/infusion_monitoring.py) beside the peak vitals and side effects.
DETAILS, BEFORE, MONITORING, AFTER, REVIEW = ("1 Details", "2 Before", "3 Monitoring",
                                              "4 After", "5 Review & save")
SECTIONS = (DETAILS, BEFORE, MONITORING, AFTER, REVIEW)
VITAL_SECTION = {"before": BEFORE, "peak": MONITORING, "discharge": AFTER}
FIELD_KEYS: dict[str, tuple[str, ...]] = {
    "number": ("infusion_number",), "administered_on": ("infusion_date",),
    "infusion_type": ("infusion_type",), "route": ("infusion_route",),
    "weight_kg": ("infusion_weight_kg",), "dose_mg_per_kg": ("infusion_dose_mg_per_kg",),
    "duration_min": ("infusion_duration_min",),
    "side_effect_other": ("infusion_side_effect_other", "se_other"),
    "adverse_event": ("infusion_adverse_event",),
    "bp_decision": ("infusion_bp_decision",),
    "bp_decision_reason": ("infusion_bp_decision_reason",),
    "sedation_moaas": ("infusion_sedation_moaas",),
    "dissociation": ("infusion_dissociation",),
    "discharge_ready_minutes": ("infusion_discharge_ready_minutes",),
    **{f"{kind}_{moment}": (f"vital_{kind}_{moment}",)
       for moment in VITAL_MOMENTS for kind in VITAL_RANGES},
}
for _moment in VITAL_MOMENTS:  # "diastolic must be below systolic" is about both
    FIELD_KEYS[f"bp_dia_{_moment}"] += (f"vital_bp_sys_{_moment}",)
DETAIL_FIELDS = ("number", "administered_on", "infusion_type", "route", "weight_kg",
                 "dose_mg_per_kg", "duration_min")


def problem_keys(field: str) -> tuple[str, ...]:
    """The widget keys a problem's field is about (its message goes once they change)."""
    return FIELD_KEYS.get(field) or score_problem_keys(field)


def section_of(field: str) -> str | None:
    """The section of the screen where a problem's field is."""
    if field in DETAIL_FIELDS:
        return DETAILS
    for moment, section in VITAL_SECTION.items():
        if field.endswith(f"_{moment}") and field in FIELD_KEYS:
            return section
    if field in ("bp_decision", "bp_decision_reason"):
        return BEFORE
    if field in ("side_effects", "side_effect_other", "adverse_event", "sedation_moaas",
                 "dissociation", "discharge_ready_minutes") or field.startswith("adverse_event"):
        return MONITORING
    if parsed := score_field(field):
        return {"pre": BEFORE, "post": AFTER}.get(parsed[0])
    return None


def _se_key(name: str) -> str:
    return f"se_{name.replace(' ', '_')}"


def details_section(*, next_number: int, default_type: str, protocol: dict[str, Any],
                    weight_default: float | None, today: date) -> None:
    """Number, date, type, route; weight, dose and the total; duration. Two columns: a
    tablet in portrait shows them at a readable width."""
    left, right = st.columns(2)
    with left:
        # the course's next number and default type are set in st.session_state by the
        # page before any widget (a default here too would be a second source of value)
        st.number_input("Infusion number", value=None if "infusion_number" in st.session_state
                        else next_number, step=1, key="infusion_number",
                        help="The next number is filled in.")
        field_problem(FORM, "number")
    with right:
        st.date_input("Infusion date", value=today, min_value=EARLIEST_VISIT_DATE,
                      key="infusion_date")
        field_problem(FORM, "administered_on")
    left, right = st.columns(2)
    with left:
        st.selectbox("Infusion type", INFUSION_TYPES, key="infusion_type",
                     index=None if "infusion_type" in st.session_state
                     else INFUSION_TYPES.index(default_type))
        field_problem(FORM, "infusion_type")
    with right:
        st.selectbox("Route", ROUTES, key="infusion_route")
        field_problem(FORM, "route")
    left, right = st.columns(2)
    with left:
        weight = st.number_input("Weight (kg)", value=weight_default, step=0.5, format="%.1f",
                                 key="infusion_weight_kg")
        field_problem(FORM, "weight_kg")
    with right:
        dose = st.number_input(
            "Dose (mg/kg)", value=None, step=0.05, format="%.2f", key="infusion_dose_mg_per_kg",
            help=f"Protocol: warning above {mg(protocol['dose_warn_mg_per_kg'])} mg/kg, "
                 f"refused above {mg(protocol['dose_max_mg_per_kg'])} mg/kg or at 0 or below.")
        field_problem(FORM, "dose_mg_per_kg")
    left, right = st.columns(2)
    total = total_dose_mg(dose, weight)
    left.metric("Total dose", "—" if total is None else f"{total:.1f} mg",
                help="dose (mg/kg) × weight (kg), to 0.1 mg")
    with right:
        st.number_input("Duration (min)", value=None, step=1, key="infusion_duration_min")
        field_problem(FORM, "duration_min")
    if warning := dose_warning(dose, protocol):
        st.warning(clinic_message(warning))


def vitals_section(moment: str) -> None:
    """The four vital signs of one moment, two by two."""
    st.markdown(f"**Vital signs · {MOMENT_LABELS[moment].lower()}**")
    kinds = list(VITAL_RANGES)
    for pair in (kinds[:2], kinds[2:]):
        for col, kind in zip(st.columns(2), pair, strict=True):
            with col:
                st.number_input(f"{VITAL_LABELS[kind]} {MOMENT_LABELS[moment].lower()}",
                                value=None, step=1, key=f"vital_{kind}_{moment}")
                field_problem(FORM, f"{kind}_{moment}")


def side_effects_section() -> None:
    st.markdown("**Side effects**")
    cols = st.columns(2)
    for n, name in enumerate(SIDE_EFFECTS):
        cols[n % 2].checkbox(name, key=_se_key(name))
    field_problem(FORM, "side_effects")
    st.text_input("Other side effect (describe)", key="infusion_side_effect_other",
                  disabled=not st.session_state.get(_se_key("other")), max_chars=200)
    field_problem(FORM, "side_effect_other")


def bp_hold_section(protocol: dict[str, Any]) -> None:
    """Under the vitals before the infusion: the hold warning and decision (when above the
    protocol's rule)."""
    bp_decision_fields(infusion_values(), protocol)
    field_problem(FORM, "bp_decision")
    field_problem(FORM, "bp_decision_reason")


def monitoring_section() -> None:
    """Sedation at peak, dissociation, discharge readiness and the adverse events."""
    monitoring_fields()
    for name in ("sedation_moaas", "dissociation", "discharge_ready_minutes"):
        field_problem(FORM, name)


def infusion_values(protocol: dict[str, Any] | None = None) -> dict[str, Any]:
    """The InfusionIn input, read from st.session_state (the widgets' keys); with the
    protocol, the monitoring part too (the hold decision depends on its rule)."""
    state = st.session_state
    number = state.get("infusion_number")
    ticked = [name for name in SIDE_EFFECTS if state.get(_se_key(name))]
    values: dict[str, Any] = {
        "number": int(number) if number is not None else None,
        "administered_on": state.get("infusion_date"),
        "infusion_type": state.get("infusion_type"), "route": state.get("infusion_route"),
        "weight_kg": state.get("infusion_weight_kg"),
        "dose_mg_per_kg": state.get("infusion_dose_mg_per_kg"),
        "duration_min": state.get("infusion_duration_min"),
        **{f"{kind}_{moment}": state.get(f"vital_{kind}_{moment}")
           for moment in VITAL_MOMENTS for kind in VITAL_RANGES},
        "side_effects": ticked,
        "side_effect_other": (state.get("infusion_side_effect_other") or ""
                              if "other" in ticked else ""),
        "adverse_event": state.get("infusion_adverse_event") or "",
    }
    if protocol is not None:
        values.update(monitoring_values(values, protocol))
    return values
