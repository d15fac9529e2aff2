"""Clinical protocol settings a director changes at run time, stored in the store.

Each has a default (the value OUTCOMES.md gives), a type, bounds and help text,
like datasette's `Setting(name, default, help)`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from data.store import audit
from models.access import Actor, require
from models.infusion_schema import DEFAULT_DOSE_MAX, DEFAULT_DOSE_WARN, VITAL_RANGES
from models.monitoring_schema import DEFAULT_HOLD
from models.tables import ProtocolSetting
from outcomes.course_rules import INDUCTION_LENGTH
from outcomes.instruments import MADRS


@dataclass(frozen=True)
class ProtocolField:
    name: str
    default: Any
    kind: type
    minimum: float
    maximum: float
    help: str


PROTOCOL_FIELDS: tuple[ProtocolField, ...] = (
    ProtocolField("induction_length", INDUCTION_LENGTH, int, 1, 20,
                  "Infusions in a standard induction; N of 'after infusion N' (O7)."),
    ProtocolField("timepoint_rule", "post", str, 0, 0,
                  "'post': the post score of infusion N; 'next_pre': the pre score of N+1 (O7)."),
    ProtocolField("all_courses", False, bool, 0, 1,
                  "Count every course instead of each patient's index course (C3)."),
    ProtocolField("dose_warn_mg_per_kg", DEFAULT_DOSE_WARN, float, 0.01, 5.0,
                  "Warn when a dose is above this many mg/kg."),
    ProtocolField("dose_max_mg_per_kg", DEFAULT_DOSE_MAX, float, 0.01, 10.0,
                  "Refuse a dose above this many mg/kg (and any dose at or below 0)."),
    ProtocolField("madrs_remission_max", MADRS.remission_max, int, 0, 60,
                  "MADRS remission: total at or below this (trials also use 9 or 12) (O5)."),
    ProtocolField("small_cell_threshold", 5, int, 1, 100,
                  "Breakdown cells with fewer courses show counts only (O11)."),
    ProtocolField("import_alert_window_days", 14, int, 0, 3650,
                  "An imported positive PHQ-9 item 9 dated within this many days opens an alert."),
    ProtocolField("alert_overdue_hours", 24, int, 1, 720,
                  "The Safety page marks an alert open longer than this many hours."),
    ProtocolField("booster_overdue_days", 42, int, 1, 365,
                  "A responder with no infusion for this many days is overdue for a booster."),
    ProtocolField("attention_window_days", 90, int, 1, 3650,
                  "The needs-attention and Today lists leave out a patient whose last contact "
                  "(infusion or score) is more than this many days old (an open alert is "
                  "always listed)."),
    ProtocolField("lapse_window_days", 21, int, 1, 365,
                  "Retention (D1): a course short of the induction length whose last infusion "
                  "is more than this many days old has stopped."),
    ProtocolField("bp_hold_systolic", DEFAULT_HOLD["bp_hold_systolic"], int,
                  *VITAL_RANGES["bp_sys"][:2],
                  "Warn when the systolic blood pressure before the infusion is above this "
                  "(mmHg); the clinician records proceeded, held or rescheduled with a reason."),
    ProtocolField("bp_hold_diastolic", DEFAULT_HOLD["bp_hold_diastolic"], int,
                  *VITAL_RANGES["bp_dia"][:2],
                  "Warn when the diastolic blood pressure before the infusion is above this "
                  "(mmHg); the clinician records proceeded, held or rescheduled with a reason."),
)
# What the Settings page calls each setting (every PROTOCOL_FIELDS name needs one).
SETTING_LABELS: dict[str, str] = {
    "induction_length": "Infusions in an induction (N)",
    "timepoint_rule": "Score counted 'after infusion N'",
    "all_courses": "Count every course (not only each patient's first)",
    "dose_warn_mg_per_kg": "Dose warning above (mg/kg)",
    "dose_max_mg_per_kg": "Highest dose accepted (mg/kg)",
    "madrs_remission_max": "MADRS remission: total at or below",
    "small_cell_threshold": "Smallest group shown with rates (courses)",
    "import_alert_window_days": "Imported item-9 answers open an alert within (days)",
    "booster_overdue_days": "Booster interval (days)",
    "attention_window_days": "Attention window: last contact within (days)",
    "lapse_window_days": "Course counted as stopped after (days without infusion)",
    "alert_overdue_hours": "Alert marked overdue when open longer than (hours)",
    "bp_hold_systolic": "Hold warning: systolic BP before the infusion above (mmHg)",
    "bp_hold_diastolic": "Hold warning: diastolic BP before the infusion above (mmHg)",
}
TIMEPOINT_RULE_LABELS = {"post": "The post score of infusion N",
                         "next_pre": "The pre score of infusion N + 1"}


def setting_label(name: str) -> str:
    """The setting's human label (every PROTOCOL_FIELDS entry has one: tests/)."""
    return SETTING_LABELS.get(name) or name.replace("_", " ").capitalize()


PROTOCOL_DEFAULTS: dict[str, Any] = {f.name: f.default for f in PROTOCOL_FIELDS}
_BY_NAME = {f.name: f for f in PROTOCOL_FIELDS}
TIMEPOINT_RULES = ("post", "next_pre")


class ProtocolError(ValueError):
    """A protocol setting value that breaks its rule (message names the field)."""


def validate_setting(name: str, value: Any) -> Any:
    """Check one setting against its type and bounds; return the typed value."""
    spec = _BY_NAME.get(name)
    if spec is None:
        raise ProtocolError(f"{name}: unknown protocol setting")
    if spec.kind is str:
        if value not in TIMEPOINT_RULES:
            raise ProtocolError(f"{name}: must be one of {', '.join(TIMEPOINT_RULES)}")
        return value
    if spec.kind is bool:
        return bool(value)
    try:
        typed = spec.kind(value)
    except (TypeError, ValueError):
        raise ProtocolError(f"{name}: {value!r} is not a number") from None
    if spec.kind is int and float(value) != typed:
        raise ProtocolError(f"{name}: must be a whole number")
    if not spec.minimum <= typed <= spec.maximum:
        raise ProtocolError(f"{name}: must be between {spec.minimum:g} and {spec.maximum:g}")
    return typed


def load_protocol(session: Session) -> dict[str, Any]:
    """Every protocol setting: stored values over the defaults."""
    values = dict(PROTOCOL_DEFAULTS)
    for row in session.exec(select(ProtocolSetting)).all():
        if row.key in values:
            values[row.key] = json.loads(row.value)
    return values


def update_protocol(session: Session, *, actor: Actor, changes: dict[str, Any]) -> dict[str, Any]:
    """Validate every change first, then write them and their audit events."""
    require(actor, "edit_settings", entity="protocol",
            message="Only a medical director can change protocol settings.")
    typed = {name: validate_setting(name, value) for name, value in changes.items()}
    if typed.get("dose_warn_mg_per_kg", 0) > typed.get(
        "dose_max_mg_per_kg", load_protocol(session)["dose_max_mg_per_kg"]
    ):
        raise ProtocolError("dose_warn_mg_per_kg: must not exceed dose_max_mg_per_kg")
    current = load_protocol(session)
    for name, value in typed.items():
        if current[name] == value:
            continue
        row = session.get(ProtocolSetting, name) or ProtocolSetting(key=name, value="",
                                                                   updated_at=audit.utcnow())
        row.value, row.updated_at, row.updated_by_id = json.dumps(value), audit.utcnow(), actor.user_id
        session.add(row)
        audit.record(session, actor=actor, action="update", entity="protocol", entity_id=name,
                     field=name, old=current[name], new=value)
    return load_protocol(session)
