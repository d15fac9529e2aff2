"""The infusion form's schema: dose within the protocol's limits, plausible weight,
duration and vitals (ranges below, inclusive), the side-effect checklist."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar

from pydantic import ValidationInfo, field_validator, model_validator
from sqlmodel import Field

from models.monitoring_schema import (
    DISCHARGE_MINUTES_RANGE,
    MOAAS_RANGE,
    AdverseEventIn,
    check_decision,
    check_dissociation,
    check_whole,
    monitoring_problems,
    parse_adverse_events,
)
from models.tables import INFUSION_TYPES, INPUT_CONFIG, ROUTES, InfusionFields
from models.validation import (
    NOTES_MAX,
    SIDE_EFFECT_OTHER_MAX,
    ModelProblems,
    check_range,
    check_text,
    check_visit_date,
    today_from,
)

INFUSION_NUMBER_MAX = 9999
# mg/kg, the protocol settings' defaults (data/clinic/protocol.py)
DEFAULT_DOSE_MAX = 2.0  # refused above
DEFAULT_DOSE_WARN = 1.0  # warned above
REQUIRED_WHEN_NEW = ("route", "dose_mg_per_kg", "weight_kg")
SIDE_EFFECTS = ("nausea", "vomiting", "dizziness", "headache", "dissociation", "hallucinations",
                "raised blood pressure", "sedation", "anxiety", "other")
WEIGHT_RANGE_KG = (30.0, 300.0)
DURATION_RANGE_MIN = (1, 480)
VITAL_RANGES: dict[str, tuple[int, int, str]] = {
    "bp_sys": (60, 250, "mmHg"),
    "bp_dia": (30, 150, "mmHg"),
    "hr": (30, 220, "beats/min"),
    "spo2": (50, 100, "%"),
}
VITAL_MOMENTS = ("before", "peak", "discharge")
VITAL_FIELDS = tuple(f"{v}_{m}" for m in VITAL_MOMENTS for v in VITAL_RANGES)


class InfusionIn(InfusionFields):
    """One infusion as the form records it (context: today, protocol dose limits). The
    columns are `InfusionFields`; the form must choose the infusion type (a row written
    without one, by a file import, is an induction) and may add adverse events."""

    model_config = INPUT_CONFIG

    infusion_type: str
    adverse_events: list[AdverseEventIn] = Field(default_factory=list)

    CORRECTABLE: ClassVar[tuple[str, ...]] = (
        "administered_on", "infusion_type", "route", "dose_mg_per_kg", "weight_kg",
        "duration_min", *VITAL_FIELDS, "side_effects", "side_effect_other", "adverse_event",
        "bp_decision", "bp_decision_reason", "sedation_moaas", "dissociation",
        "discharge_ready_minutes")
    # Not Infusion columns: the adverse events are AdverseEvent rows.
    NOT_COLUMNS: ClassVar[tuple[str, ...]] = ("adverse_events",)

    @field_validator("number")
    @classmethod
    def _number(cls, value: int) -> int:
        if problem := infusion_number_problem(value):
            raise ValueError(problem)
        return value

    @field_validator("administered_on")
    @classmethod
    def _date(cls, value: date, info: ValidationInfo) -> date:
        return check_visit_date(value, today_from(info))

    @field_validator("infusion_type")
    @classmethod
    def _type(cls, value: str) -> str:
        if value not in INFUSION_TYPES:
            raise ValueError(f"'{value}' is not allowed; one of {', '.join(INFUSION_TYPES)}")
        return value

    @field_validator("route")
    @classmethod
    def _route(cls, value: str | None) -> str | None:
        if value is not None and value not in ROUTES:
            raise ValueError(f"'{value}' is not allowed; one of {', '.join(ROUTES)}")
        return value

    @field_validator("dose_mg_per_kg")
    @classmethod
    def _dose(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is not None and (
                problem := dose_problem(value, (info.context or {}).get("protocol", {}))):
            raise ValueError(problem)
        return value

    @field_validator("weight_kg")
    @classmethod
    def _weight(cls, value: float | None) -> float | None:
        check_range(value, *WEIGHT_RANGE_KG, "kg", "body weight")
        return value

    @field_validator("duration_min")
    @classmethod
    def _duration(cls, value: int | None) -> int | None:
        check_range(value, *DURATION_RANGE_MIN, "min", "the infusion duration")
        return value

    @field_validator(*VITAL_FIELDS)
    @classmethod
    def _vital(cls, value: int | None, info: ValidationInfo) -> int | None:
        kind, moment = str(info.field_name).rsplit("_", 1)
        low, high, unit = VITAL_RANGES[kind]
        check_range(value, low, high, unit, f"{_VITAL_NAMES[kind]} {_MOMENT_NAMES[moment]}")
        return value

    @field_validator("side_effects")
    @classmethod
    def _side_effects(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in SIDE_EFFECTS]
        if unknown:
            raise ValueError(f"{', '.join(map(repr, unknown))} not in the checklist; allowed: "
                             f"{', '.join(SIDE_EFFECTS)}")
        return [s for s in SIDE_EFFECTS if s in value]  # checklist order, no repeats

    @field_validator("side_effect_other")
    @classmethod
    def _other(cls, value: str) -> str:
        return check_text(value, limit=SIDE_EFFECT_OTHER_MAX)

    @field_validator("adverse_event")
    @classmethod
    def _adverse(cls, value: str) -> str:
        return check_text(value, limit=NOTES_MAX, multiline=True)

    @field_validator("bp_decision", mode="before")
    @classmethod
    def _decision(cls, value: str | None) -> str | None:
        return check_decision(value)

    @field_validator("bp_decision_reason")
    @classmethod
    def _decision_reason(cls, value: str) -> str:
        return check_text(value, limit=NOTES_MAX, multiline=True)

    @field_validator("sedation_moaas", mode="before")
    @classmethod
    def _moaas(cls, value: object) -> int | None:
        return check_whole(value, *MOAAS_RANGE, "MOAA/S at peak")

    @field_validator("dissociation", mode="before")
    @classmethod
    def _dissociation(cls, value: str | None) -> str | None:
        return check_dissociation(value)

    @field_validator("discharge_ready_minutes", mode="before")
    @classmethod
    def _discharge(cls, value: object) -> int | None:
        return check_whole(value, *DISCHARGE_MINUTES_RANGE, "minutes until ready for discharge")

    @field_validator("adverse_events", mode="before")
    @classmethod
    def _adverse_events(cls, value: object) -> list[AdverseEventIn]:
        if value is None:
            return []
        if not isinstance(value, list | tuple):
            raise ModelProblems([("adverse_events", "must be a list of adverse events "
                                  "(each with its event, severity and action)")])
        return parse_adverse_events(list(value))

    @property
    def held(self) -> bool:
        """Held or rescheduled for blood pressure: no ketamine given (a HeldVisit)."""
        return self.bp_decision in ("held", "rescheduled")

    def columns(self) -> dict[str, Any]:
        """The Infusion row's columns."""
        return self.model_dump(exclude=set(self.NOT_COLUMNS))

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> InfusionIn:
        context = info.context or {}
        problems = monitoring_problems(self.model_dump(), context.get("protocol"),
                                       new=bool(context.get("new")))
        if (info.context or {}).get("new") and not self.held:  # route, dose, weight required
            problems += [(name, "required for a new infusion") for name in REQUIRED_WHEN_NEW
                         if getattr(self, name) is None]
        if "other" in self.side_effects and not self.side_effect_other.strip():
            problems.append(("side_effect_other", "required when 'other' is ticked; describe "
                             "the side effect"))
        if self.side_effect_other.strip() and "other" not in self.side_effects:
            problems.append(("side_effect_other", "tick 'other' in the checklist to describe "
                             "another side effect"))
        for moment in VITAL_MOMENTS:
            sys_, dia = getattr(self, f"bp_sys_{moment}"), getattr(self, f"bp_dia_{moment}")
            if sys_ is not None and dia is not None and dia >= sys_:
                problems.append((f"bp_dia_{moment}", f"diastolic {dia} must be below systolic "
                                 f"{sys_} mmHg"))
        if problems:
            raise ModelProblems(problems)
        return self

    @property
    def total_dose_mg(self) -> float | None:
        """dose (mg/kg) x weight (kg), to 0.1 mg."""
        return total_dose_mg(self.dose_mg_per_kg, self.weight_kg)

    def dose_warning(self, protocol: dict[str, Any]) -> str | None:
        return dose_warning(self.dose_mg_per_kg, protocol)


def infusion_number_problem(number: int) -> str | None:
    """Why `number` is not an infusion number, or None (the form's and the import's rule)."""
    if 1 <= number <= INFUSION_NUMBER_MAX:
        return None
    return f"{number} is out of range; infusion numbers are 1-{INFUSION_NUMBER_MAX}"


def dose_problem(dose: float, protocol: dict[str, Any]) -> str | None:
    """Why `dose` (mg/kg) is refused under `protocol`'s dose_max_mg_per_kg, or None (the
    form's and the import's rule)."""
    limit = float(protocol.get("dose_max_mg_per_kg", DEFAULT_DOSE_MAX))
    if dose > 0 and dose <= limit:
        return None
    return (f"{dose:g} mg/kg is refused; the dose must be above 0 and at most {mg(limit)} "
            "mg/kg (protocol setting)")


_MOMENT_NAMES = {"before": "before the infusion", "peak": "at peak", "discharge": "at discharge"}
_VITAL_NAMES = {"bp_sys": "systolic blood pressure", "bp_dia": "diastolic blood pressure",
                "hr": "heart rate", "spo2": "SpO2"}


def total_dose_mg(dose_mg_per_kg: float | None, weight_kg: float | None) -> float | None:
    """The total dose in mg, rounded half up to 0.1 mg; None when either is missing."""
    if dose_mg_per_kg is None or weight_kg is None:
        return None
    exact = Decimal(str(dose_mg_per_kg)) * Decimal(str(weight_kg))  # 0.75 x 82.6 = 61.95
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def dose_warning(dose: float | None, protocol: dict[str, Any]) -> str | None:
    """The warning for a dose above the protocol's warning level (still allowed)."""
    warn = float(protocol.get("dose_warn_mg_per_kg", DEFAULT_DOSE_WARN))
    if dose is None or dose <= warn:
        return None
    return (f"dose_mg_per_kg: {dose:g} mg/kg is above the protocol's warning level of "
            f"{mg(warn)} mg/kg; check the prescription")


def mg(value: float) -> str:
    """A dose for messages: 2.0, 0.75, 1.5."""
    return f"{value:.1f}" if float(value).is_integer() else f"{value:g}"
