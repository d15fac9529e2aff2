"""Clinic words for the input fields: the one mapping from a schema field name
(`administered_on`, `bp_sys_before`, `pre PHQ-9 item_9`) to the label a clinician reads
("Infusion date", "Systolic BP before", "PHQ-9 before the infusion, question 9").

Every problem an input schema raises names its field (models/validation.InputError);
the forms show it with `clinic_label(field)` and never the internal name. A new input
field gets its label here (tests/models/test_labels.py checks every InfusionIn field has
one).
"""

from __future__ import annotations

import re

from models.infusion_schema import VITAL_MOMENTS

_VITALS = {"bp_sys": "Systolic BP", "bp_dia": "Diastolic BP", "hr": "Heart rate",
           "spo2": "SpO2"}
_MOMENTS = {"before": "before", "peak": "at peak", "discharge": "at discharge"}

FIELD_LABELS: dict[str, str] = {
    "number": "Infusion number",
    "administered_on": "Infusion date",
    "infusion_type": "Infusion type",
    "route": "Route",
    "dose_mg_per_kg": "Dose (mg/kg)",
    "weight_kg": "Weight",
    "duration_min": "Duration",
    **{f"{kind}_{moment}": f"{label} {_MOMENTS[moment]}"
       for moment in VITAL_MOMENTS for kind, label in _VITALS.items()},
    "side_effects": "Side effects",
    "side_effect_other": "Other side effect",
    "adverse_event": "Adverse event",
    "adverse_events": "Adverse events",
    "bp_decision": "Blood-pressure decision",
    "bp_decision_reason": "Reason for the blood-pressure decision",
    "sedation_moaas": "Sedation at peak (MOAA/S)",
    "dissociation": "Dissociation",
    "discharge_ready_minutes": "Minutes until ready for discharge",
    "course": "Course",
    "status": "Course status",
    "reason": "Reason",
    "scores": "Scores",
    "infusion": "Infusion",
    "course_type": "Course type",
    "start_date": "Course start date",
    "birth_date": "Date of birth",
}
TIMEPOINT_WORDS = {"pre": "before the infusion", "post": "after the infusion",
                   "followup": "follow-up"}
_SCORE_FIELD = re.compile(r"^(pre|post|followup) (\S+)(?: (.+))?$")


def score_field(field: str) -> tuple[str, str, str | None] | None:
    """('pre', 'PHQ-9', 'item_9') for a score problem's field 'pre PHQ-9 item_9'."""
    match = _SCORE_FIELD.match(field)
    return (match.group(1), match.group(2), match.group(3)) if match else None


def _score_part(part: str | None) -> str:
    if part is None:
        return ""
    if item := re.fullmatch(r"item_(\d+)", part):
        return f", question {item.group(1)}"
    return {"functional_difficulty": ", question 10 (difficulty)",
            "items": " (its answers)", "total": " (total)"}.get(part, "")


_AE_FIELD = re.compile(r"^adverse_event_(\d+)\.(\w+)$")
_AE_PARTS = {"category": "category", "severity": "severity", "description": "description",
             "action_taken": "action taken"}


def clinic_label(field: str) -> str:
    """The clinic words for a problem's field; never the internal name."""
    if field in FIELD_LABELS:
        return FIELD_LABELS[field]
    if event := _AE_FIELD.match(field):
        part = _AE_PARTS.get(event.group(2), event.group(2).replace("_", " "))
        return f"Adverse event {event.group(1)}, {part}"
    if parsed := score_field(field):
        timepoint, instrument, part = parsed
        return f"{instrument} {TIMEPOINT_WORDS[timepoint]}{_score_part(part)}"
    return field.replace("_", " ").strip().capitalize() or "Input"


def clinic_message(text: str) -> str:
    """A 'field: rule' message (a service warning) in clinic words."""
    field, sep, rule = text.partition(": ")
    if sep and (field in FIELD_LABELS or score_field(field) or _AE_FIELD.match(field)):
        return f"{clinic_label(field)}: {rule}"
    return text
