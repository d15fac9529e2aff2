"""Monitoring sections of the infusion form (issue 12 item 5): the pre-infusion
blood-pressure hold decision (shown at the vitals as soon as they are above the protocol's
rule), sedation at peak (MOAA/S), dissociation, minutes until ready for discharge, and
0..n adverse events. Rules and messages: models/monitoring_schema.py.

Keys start with ``infusion_`` (ui.infusion_form.FORM_PREFIXES), so the form is blanked
after a save like the rest of the infusion's fields. Widgets carry no bounds: the service
refuses an implausible value with the range named."""

from __future__ import annotations

from typing import Any

import streamlit as st

from models.monitoring_schema import (
    AE_CATEGORIES,
    DISCHARGE_MINUTES_RANGE,
    MOAAS_LABELS,
    NO_KETAMINE,
    bp_hold_warning,
)
from models.tables import AE_SEVERITIES, BP_DECISIONS, DISSOCIATION_LEVELS

AE_COUNT_KEY = "infusion_ae_count"
AE_MAX_ROWS = 10
HELD_NOTE = ("Held or rescheduled: no ketamine is given. Saving records a held visit with the "
             "pre-infusion vital signs, the decision and the reason; it uses no infusion "
             "number, takes no dose or scores, and counts in no outcome.")


def bp_decision_fields(vitals: dict[str, Any], protocol: dict[str, Any]) -> dict[str, Any]:
    """Under the vitals: the hold warning and the decision with its reason, when the
    pre-infusion blood pressure is above the rule; nothing otherwise."""
    warning = bp_hold_warning(vitals.get("bp_sys_before"), vitals.get("bp_dia_before"),
                              protocol)
    if warning is None:
        return {"bp_decision": None, "bp_decision_reason": ""}
    st.warning(warning)
    cols = st.columns([1, 2])
    decision = cols[0].radio("Blood-pressure decision", BP_DECISIONS, index=None,
                             key="infusion_bp_decision")
    reason = cols[1].text_area("Reason for the decision (required)", max_chars=2000,
                               key="infusion_bp_decision_reason", height=90)
    if decision in NO_KETAMINE:
        st.info(HELD_NOTE)
    return {"bp_decision": decision, "bp_decision_reason": reason}


def monitoring_fields() -> dict[str, Any]:
    """Sedation, dissociation, discharge readiness and the adverse events."""
    st.markdown("**Monitoring**")
    cols = st.columns(3)
    sedation = cols[0].selectbox(
        "Sedation at peak (MOAA/S)", list(MOAAS_LABELS), index=None, key="infusion_sedation_moaas",
        format_func=MOAAS_LABELS.get, placeholder="not recorded",
        help="Modified Observer's Assessment of Alertness/Sedation at the infusion's peak: "
             "5 alert ... 0 no response to a painful stimulus.")
    dissociation = cols[1].selectbox("Dissociation", DISSOCIATION_LEVELS, index=None,
                                     key="infusion_dissociation", placeholder="not recorded")
    minutes = cols[2].number_input("Minutes until ready for discharge", value=None, step=1,
                                   key="infusion_discharge_ready_minutes",
                                   help="From the end of the infusion; whole minutes "
                                        f"{DISCHARGE_MINUTES_RANGE[0]}-{DISCHARGE_MINUTES_RANGE[1]}.")
    return {"sedation_moaas": sedation, "dissociation": dissociation,
            "discharge_ready_minutes": None if minutes is None else int(minutes),
            "adverse_events": adverse_event_rows()}


def adverse_event_rows() -> list[dict[str, Any]]:
    """0..n adverse events: category, severity, description, action taken."""
    count = st.number_input("Adverse events", value=None, min_value=0, max_value=AE_MAX_ROWS,
                            step=1, key=AE_COUNT_KEY, placeholder="0",
                            help="How many adverse events to record for this infusion.")
    events = []
    for n in range(1, int(count or 0) + 1):
        prefix = f"infusion_ae_{n}_"
        st.caption(f"Adverse event {n}")
        cols = st.columns([2, 1])
        category = cols[0].selectbox("Category", AE_CATEGORIES, index=None,
                                     key=f"{prefix}category", placeholder="choose")
        severity = cols[1].selectbox("Severity", AE_SEVERITIES, index=None,
                                     key=f"{prefix}severity", placeholder="choose")
        description = st.text_input("Description (required for 'other')", max_chars=2000,
                                    key=f"{prefix}description")
        action = st.text_input("Action taken (required)", max_chars=500, key=f"{prefix}action")
        events.append({"category": category or "", "severity": severity or "",
                       "description": description, "action_taken": action})
    return events


def held_message(held: Any) -> str:
    """The flash after a held visit is saved."""
    return (f"Visit {held.decision} for blood pressure ({held.bp_sys or '—'}/"
            f"{held.bp_dia or '—'} mmHg) on {held.visit_on}: no ketamine given, no infusion "
            f"number used (infusion {held.planned_number} is still to come).")


def monitoring_values(vitals: dict[str, Any], protocol: dict[str, Any]) -> dict[str, Any]:
    """The monitoring part of the InfusionIn input, read from st.session_state at save time
    (the Save button is a callback): the decision only while the pre-infusion blood
    pressure is above the rule, as `bp_decision_fields` shows it."""
    state = st.session_state
    above = bp_hold_warning(vitals.get("bp_sys_before"), vitals.get("bp_dia_before"),
                            protocol) is not None
    minutes = state.get("infusion_discharge_ready_minutes")
    events = []
    for n in range(1, int(state.get(AE_COUNT_KEY) or 0) + 1):
        prefix = f"infusion_ae_{n}_"
        events.append({"category": state.get(f"{prefix}category") or "",
                       "severity": state.get(f"{prefix}severity") or "",
                       "description": state.get(f"{prefix}description") or "",
                       "action_taken": state.get(f"{prefix}action") or ""})
    return {"bp_decision": state.get("infusion_bp_decision") if above else None,
            "bp_decision_reason": (state.get("infusion_bp_decision_reason") or "") if above
            else "",
            "sedation_moaas": state.get("infusion_sedation_moaas"),
            "dissociation": state.get("infusion_dissociation"),
            "discharge_ready_minutes": None if minutes is None else int(minutes),
            "adverse_events": events}
