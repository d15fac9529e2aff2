"""Monitoring a ketamine infusion (issue 12 item 5): the pre-infusion blood-pressure hold
rule, sedation at peak (MOAA/S), dissociation, minutes until ready for discharge, and
adverse events.

Rules (checked once, here; `models.infusion_schema.InfusionIn` applies them):

- Hold rule (protocol settings `bp_hold_systolic` 160 and `bp_hold_diastolic` 100): the
  pre-infusion blood pressure is *above* the rule when systolic > 160 or diastolic > 100
  (160/100 itself is not above). Then a decision is required (proceeded, held or
  rescheduled) with a reason; without the rule being met no decision is recorded.
- Held or rescheduled: no ketamine is given. The visit is stored as a held visit
  (`HeldVisit`), not an infusion: it takes no infusion number and counts in no outcome
  (OUTCOMES.md counts infusions received); dose, duration, sedation, dissociation,
  discharge minutes and scores are refused for it.
- MOAA/S at peak: whole number 0 (no response to painful stimulus) - 5 (responds readily
  to name spoken in normal tone). Dissociation: none, mild, moderate, severe. Minutes
  until ready for discharge: whole number 0-1440 (from the end of the infusion).
- Adverse event: category from `AE_CATEGORIES` ('other' needs a description), severity
  mild | moderate | severe | serious, the action taken (required, 1-500 characters).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError, field_validator, model_validator

from models.tables import (
    AE_SEVERITIES,
    BP_DECISIONS,
    DISSOCIATION_LEVELS,
    INPUT_CONFIG,
    AdverseEventFields,
)
from models.validation import NOTES_MAX, ModelProblems, check_text, problems_of

MOAAS_RANGE = (0, 5)
DISCHARGE_MINUTES_RANGE = (0, 1440)
ACTION_MAX = 500
NO_KETAMINE = ("held", "rescheduled")
AE_CATEGORIES = (
    "raised blood pressure", "low blood pressure", "heart rhythm", "low oxygen saturation",
    "nausea or vomiting", "emergence reaction or agitation", "excessive sedation",
    "allergic reaction", "fall or injury", "other",
)
MOAAS_LABELS = {
    5: "5 responds readily to name (normal tone)", 4: "4 lethargic response to name",
    3: "3 responds only to loud or repeated name", 2: "2 responds only to mild shaking",
    1: "1 responds only to painful stimulus", 0: "0 no response to painful stimulus",
}
DEFAULT_HOLD = {"bp_hold_systolic": 160, "bp_hold_diastolic": 100}


def hold_limits(protocol: dict[str, Any] | None) -> tuple[int, int]:
    """(systolic, diastolic) of the protocol's hold rule."""
    protocol = {**DEFAULT_HOLD, **(protocol or {})}
    return int(protocol["bp_hold_systolic"]), int(protocol["bp_hold_diastolic"])


def bp_above_hold(systolic: int | None, diastolic: int | None,
                  protocol: dict[str, Any] | None) -> bool:
    """The hold rule: systolic > limit or diastolic > limit (strictly above)."""
    sys_limit, dia_limit = hold_limits(protocol)
    return (systolic is not None and systolic > sys_limit) or (
        diastolic is not None and diastolic > dia_limit)


def bp_hold_warning(systolic: int | None, diastolic: int | None,
                    protocol: dict[str, Any] | None) -> str | None:
    """The warning shown at the vitals when the pre-infusion blood pressure is above the rule."""
    if not bp_above_hold(systolic, diastolic, protocol):
        return None
    sys_limit, dia_limit = hold_limits(protocol)
    shown = f"{'—' if systolic is None else systolic}/{'—' if diastolic is None else diastolic}"
    return (f"Blood pressure before the infusion: {shown} mmHg is above the protocol's hold "
            f"rule (systolic > {sys_limit} or diastolic > {dia_limit} mmHg before the "
            "infusion). Record the decision (proceeded, held or rescheduled) and the reason.")


class AdverseEventIn(AdverseEventFields):
    """One adverse event of an infusion (fields: `AdverseEventFields`)."""

    model_config = INPUT_CONFIG

    @field_validator("category", mode="before")
    @classmethod
    def _category(cls, value: str | None) -> str:
        if value in (None, ""):
            raise ValueError(f"required; choose one of {', '.join(AE_CATEGORIES)}")
        if value not in AE_CATEGORIES:
            raise ValueError(f"'{value}' is not allowed; one of {', '.join(AE_CATEGORIES)}")
        return value

    @field_validator("severity", mode="before")
    @classmethod
    def _severity(cls, value: str | None) -> str:
        if value in (None, ""):
            raise ValueError(f"required; choose one of {', '.join(AE_SEVERITIES)}")
        if value not in AE_SEVERITIES:
            raise ValueError(f"'{value}' is not allowed; one of {', '.join(AE_SEVERITIES)}")
        return value

    @field_validator("description")
    @classmethod
    def _description(cls, value: str) -> str:
        return check_text(value, limit=NOTES_MAX, multiline=True)

    @field_validator("action_taken")
    @classmethod
    def _action(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("required; say what was done (e.g. observed, medication given, "
                             "infusion stopped)")
        return check_text(value, limit=ACTION_MAX, multiline=True)

    @model_validator(mode="after")
    def _other(self) -> AdverseEventIn:
        if self.category == "other" and not self.description.strip():
            raise ModelProblems([("description", "required when the category is 'other'; "
                                  "describe the event")])
        return self


def parse_adverse_events(values: list[Any]) -> list[AdverseEventIn]:
    """Each event validated; problems named 'adverse_event_<n>.<field>' (n from 1)."""
    events, problems = [], []
    for n, value in enumerate(values, start=1):
        try:
            events.append(value if isinstance(value, AdverseEventIn)
                          else AdverseEventIn.model_validate(value))
        except ValidationError as exc:
            problems += [(f"adverse_event_{n}.{field}", rule)
                         for error in exc.errors() for field, rule in problems_of(error)]
    if problems:
        raise ModelProblems(problems)
    return events


def monitoring_problems(values: dict[str, Any], protocol: dict[str, Any] | None, *,
                        new: bool = True) -> list[tuple[str, str]]:
    """The cross-field rules: decision needed above the hold rule, no ketamine when held.

    A correction of a saved infusion (``new`` False) is not held to the decision rule: rows
    saved before the rule existed have no decision, and a saved infusion was given."""
    above = bp_above_hold(values.get("bp_sys_before"), values.get("bp_dia_before"), protocol)
    decision, reason = values.get("bp_decision"), values.get("bp_decision_reason") or ""
    sys_limit, dia_limit = hold_limits(protocol)
    rule = f"systolic > {sys_limit} or diastolic > {dia_limit} mmHg before the infusion"
    if not new:
        if decision in NO_KETAMINE:
            return [("bp_decision", f"'{decision}' is not possible for a saved infusion (it "
                     "was given); record a held visit from the infusion form")]
        if decision is not None and not reason.strip():
            return [("bp_decision_reason", f"required when the decision is '{decision}'; "
                     "say why")]
        return []
    if above and decision is None:
        return [("bp_decision", f"required: the pre-infusion blood pressure is above the hold "
                 f"rule ({rule}); record proceeded, held or rescheduled")]
    if not above and decision is not None:
        return [("bp_decision", f"only recorded when the pre-infusion blood pressure is above "
                 f"the hold rule ({rule}); clear the decision")]
    problems = []
    if above and not reason.strip():
        problems.append(("bp_decision_reason", f"required when the decision is '{decision}'; "
                         "say why"))
    if decision in NO_KETAMINE:
        problems += [(name, f"must be empty when the infusion is {decision}: no ketamine was "
                      "given") for name in ("dose_mg_per_kg", "duration_min", "sedation_moaas",
                                            "dissociation", "discharge_ready_minutes")
                     if values.get(name) is not None]
    return problems


def check_decision(value: str | None) -> str | None:
    if value in (None, ""):
        return None
    if value not in BP_DECISIONS:
        raise ValueError(f"'{value}' is not allowed; one of {', '.join(BP_DECISIONS)}")
    return value


def check_dissociation(value: str | None) -> str | None:
    if value in (None, ""):
        return None
    if value not in DISSOCIATION_LEVELS:
        raise ValueError(f"'{value}' is not allowed; one of {', '.join(DISSOCIATION_LEVELS)}")
    return value


def check_whole(value: Any, low: int, high: int, what: str) -> int | None:
    """A whole number in [low, high] (bools and fractions refused)."""
    if value is None:
        return None
    if isinstance(value, bool) or not float(value).is_integer():
        raise ValueError(f"{value!r} is not a whole number; {what} is a whole number "
                         f"{low}-{high}")
    if not low <= value <= high:
        raise ValueError(f"{value:g} is out of range; {what} is a whole number {low}-{high}")
    return int(value)
