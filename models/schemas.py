"""Input schemas: what a form or a file may write, checked before any row is built.

Every rule that refuses an input lives here, once, with the message the user sees
("field: rule"). Services call `parse(Schema, data, today=..., protocol=...)`, which
raises `InputError` (a ValueError) listing every bad field; nothing is written.

Decisions on rules the issue leaves open (documented in docs/CLINICAL_WORKFLOW.md):

- Free text (names, notes, side-effect text, adverse events, correction reasons) is
  stored exactly as typed: no trimming, no Unicode normalisation, never rendered as
  markdown or HTML. Any printable Unicode is accepted; control characters are refused
  (line breaks and tabs are allowed in the multi-line fields: notes, adverse event,
  reason). Lengths count Unicode code points: names 200, notes 2000.
- Patient codes are trimmed of surrounding spaces (they are identifiers and CSV cells
  are trimmed too); 1-64 printable characters.
- Plausible ranges (inclusive) are in `VITAL_RANGES`, `WEIGHT_RANGE_KG`,
  `DURATION_RANGE_MIN`; dose limits are protocol settings (data/clinic/protocol.py).
- Monitoring (models/monitoring_schema.py): the pre-infusion blood-pressure hold rule
  (protocol settings, strictly above 160/100 by default) requires a decision with a
  reason; held or rescheduled visits give no ketamine and are stored as held visits.

The infusion schema lives in models/infusion_schema.py and the shared machinery (InputError,
parse, text and date checks) in models/validation.py; both are re-exported here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from models.infusion_schema import (
    DURATION_RANGE_MIN,
    INFUSION_NUMBER_MAX,
    SIDE_EFFECTS,
    VITAL_FIELDS,
    VITAL_MOMENTS,
    VITAL_RANGES,
    WEIGHT_RANGE_KG,
    InfusionIn,
    dose_problem,
    dose_warning,
    infusion_number_problem,
    mg,
    total_dose_mg,
)
from models.monitoring_schema import (
    AE_CATEGORIES,
    MOAAS_LABELS,
    AdverseEventIn,
    bp_above_hold,
    bp_hold_warning,
)
from models.tables import (
    COURSE_TYPES,
    INPUT_CONFIG,
    SEXES,
    TIMEPOINTS,
    CourseFields,
    PatientFields,
    ScoreFields,
)
from models.validation import (
    CLINICIAN_CODE_MAX,
    CODE_MAX,
    COURSE_LABEL_MAX,
    INDICATION_MAX,
    NAME_MAX,
    NOTES_MAX,
    AlreadySaved,
    InputError,
    ModelProblems,
    check_text,
    check_visit_date,
    clinic_code_problem,
    parse,
    problems_of,
    text_problem,
    today_from,
    visit_date_problem,
)
from outcomes.instruments import (
    INSTRUMENT_NAMES,
    SUICIDAL_IDEATION_ITEM,
    UnknownInstrumentError,
    get_instrument,
)
from outcomes.scoring import Score, ScoringError, check_functional_difficulty, score_items

__all__ = [
    "AE_CATEGORIES",
    "ALERT_ACTIONS",
    "DURATION_RANGE_MIN",
    # the field rules shared by the forms and the file imports (see FIELD_RULES)
    "FIELD_RULES",
    "INDICATIONS",
    "INFUSION_NUMBER_MAX",
    "MOAAS_LABELS",
    "NAME_MAX",
    "NOTES_MAX",
    "SIDE_EFFECTS",
    "VITAL_FIELDS",
    "VITAL_MOMENTS",
    "VITAL_RANGES",
    "WEIGHT_RANGE_KG",
    "AdverseEventIn",
    "AlertCloseIn",
    "AlreadySaved",
    "CourseIn",
    "InfusionIn",
    "InputError",
    "PatientIn",
    "ScoreIn",
    "age_on",
    "age_warning",
    "bp_above_hold",
    "bp_hold_warning",
    "check_reason",
    "check_text",
    "clinic_code_problem",
    "clinician_code_problem",
    "course_label_problem",
    "dose_problem",
    "dose_warning",
    "indication_problem",
    "infusion_number_problem",
    "mg",
    "parse",
    "parse_score",
    "patient_code_problem",
    "total_dose_mg",
    "visit_date_problem",
]

FAILED_TRIALS_MAX = 30
EARLIEST_BIRTH_DATE = date(1900, 1, 1)
ADULT_AGE = 18
INDICATIONS = ("TRD", "MDD", "bipolar depression", "PTSD", "anxiety", "chronic pain")
ALERT_ACTIONS: dict[str, str] = {
    "risk_assessment": "Suicide risk assessment done (e.g. C-SSRS)",
    "safety_plan": "Safety plan reviewed with the patient",
    "escalated": "Escalated to the prescriber",
    "emergency": "Emergency services called",
    "other": "Other (describe in the note)",
}


# --- field rules shared by the forms and the file imports --------------------------------
# Each returns why a value is refused (the message the user sees after "field: "), or
# None. The schemas below raise it; data/imports/import_validation.py and data/imports/patient_import.py
# apply it once per distinct cell text. An import never words a refusal of its own for
# a value these rules judge (tests/security/test_form_import_parity.py).


def patient_code_problem(code: str) -> str | None:
    """A patient code (MRN): printable, no invisible character, 1-64 characters."""
    if not code:
        return "required; the clinic's patient code (MRN) must not be empty"
    return text_problem(code, limit=CODE_MAX, identifier=True)


def course_label_problem(label: str) -> str | None:
    """A course label (the import's course_id): like a code, 64 characters."""
    return text_problem(label, limit=COURSE_LABEL_MAX, identifier=True)


def clinician_code_problem(code: str) -> str | None:
    """Who gave the infusion, as a file names them: one printable line, 80 characters."""
    return text_problem(code, limit=CLINICIAN_CODE_MAX)


def indication_problem(indication: str) -> str | None:
    """The treatment indication: one printable line, 100 characters."""
    return text_problem(indication, limit=INDICATION_MAX)


FIELD_RULES = {  # the score file's text columns -> their rule
    "patient_id": patient_code_problem,
    "clinic": clinic_code_problem,
    "clinician": clinician_code_problem,
    "indication": indication_problem,
    "course_id": course_label_problem,
}


def _raise(problem: str | None) -> None:
    if problem is not None:
        raise ValueError(problem)


def age_on(birth_date: date, today: date) -> int:
    """Completed years on `today`."""
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month,
                                                                        birth_date.day))


def age_warning(birth_date: date | None, today: date | None = None) -> str | None:
    """The under-18 warning (the treatment is for adults), or None."""
    if birth_date is None:
        return None
    age = age_on(birth_date, today or datetime.now(UTC).date())
    if age >= ADULT_AGE:
        return None
    return (f"birth_date: the patient is {age} years old (under {ADULT_AGE}). Ketamine "
            "treatment here is for adults: check the date of birth and the prescription.")


class PatientIn(PatientFields):
    """A patient's registration or edited details (fields: `PatientFields`)."""

    model_config = INPUT_CONFIG

    @field_validator("patient_code")
    @classmethod
    def _code(cls, value: str) -> str:
        value = value.strip()
        _raise(patient_code_problem(value))
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_text(value, limit=NAME_MAX)

    @field_validator("notes")
    @classmethod
    def _notes(cls, value: str) -> str:
        return check_text(value, limit=NOTES_MAX, multiline=True)

    @field_validator("birth_date")
    @classmethod
    def _birth_date(cls, value: date | None, info: ValidationInfo) -> date | None:
        today = today_from(info)
        if value is not None and value > today:
            raise ValueError(f"{value.isoformat()} is in the future (today is {today.isoformat()})")
        if value is not None and value < EARLIEST_BIRTH_DATE:
            raise ValueError(f"{value.isoformat()} is not plausible; a birth date is on or "
                             f"after {EARLIEST_BIRTH_DATE.isoformat()}")
        return value

    @field_validator("sex")
    @classmethod
    def _sex(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if value not in SEXES:
            raise ValueError(f"'{value}' is not allowed; one of {', '.join(SEXES)}")
        return value

    @field_validator("indication")
    @classmethod
    def _indication(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        _raise(indication_problem(value.strip()))
        return value.strip()

    @field_validator("failed_trials")
    @classmethod
    def _failed_trials(cls, value: int | None) -> int | None:
        if value is not None and not 0 <= value <= FAILED_TRIALS_MAX:
            raise ValueError(f"{value} is out of range; failed antidepressant trials are a "
                             f"whole number 0-{FAILED_TRIALS_MAX}")
        return value


class CourseIn(CourseFields):
    """A new treatment course (C1: a new induction is a new course)."""

    model_config = INPUT_CONFIG

    start_date: date  # required here; the table allows older courses without one

    @field_validator("course_type")
    @classmethod
    def _type(cls, value: str) -> str:
        if value not in COURSE_TYPES:
            raise ValueError(f"'{value}' is not allowed; one of {', '.join(COURSE_TYPES)}")
        return value

    @field_validator("start_date")
    @classmethod
    def _start(cls, value: date, info: ValidationInfo) -> date:
        return check_visit_date(value, today_from(info))


class ScoreIn(ScoreFields):
    """One questionnaire at one timepoint: item answers (None = not answered)."""

    model_config = INPUT_CONFIG

    items: list[Any]  # raw answers, scored by outcomes.scoring (the table keeps them scored)
    item9_declined: bool = False  # PHQ-9: "prefers not to answer" item 9, chosen explicitly

    @field_validator("instrument")
    @classmethod
    def _instrument(cls, value: str) -> str:
        try:
            return get_instrument(value).name
        except UnknownInstrumentError:
            raise ValueError(f"'{value}' is not known; one of {', '.join(INSTRUMENT_NAMES)}") \
                from None

    @field_validator("timepoint")
    @classmethod
    def _timepoint(cls, value: str) -> str:
        if value not in TIMEPOINTS:
            raise ValueError(f"'{value}' is not allowed; one of {', '.join(TIMEPOINTS)}")
        return value

    @model_validator(mode="after")
    def _answers(self) -> ScoreIn:
        self.scored()  # raises ScoringError (a ValueError naming the item and its range)
        self._check_item9()
        if self.functional_difficulty is not None:
            if self.instrument != "PHQ-9":
                raise ModelProblems([("functional_difficulty", "PHQ-9 question 10 only")])
            check_functional_difficulty(self.functional_difficulty)
        return self

    def _check_item9(self) -> None:
        """OUTCOMES.md section 1: a PHQ-9 entered in the app is never saved with item 9
        blank unless "prefers not to answer" was chosen (which leaves it missing)."""
        if self.instrument != "PHQ-9":
            if self.item9_declined:
                raise ModelProblems([("item_9", "'prefers not to answer' is a PHQ-9 choice")])
            return
        if not self.answered:
            return
        if self.item9 is None and not self.item9_declined:
            raise ModelProblems([(f"item_{SUICIDAL_IDEATION_ITEM}", "required: answer item 9 "
                                  "(thoughts of being better off dead or of self-harm) or "
                                  "choose 'prefers not to answer'")])
        if self.item9 is not None and self.item9_declined:
            raise ModelProblems([(f"item_{SUICIDAL_IDEATION_ITEM}", "answered and marked "
                                  "'prefers not to answer'; choose one")])

    @property
    def item9_not_answered(self) -> bool:
        """A PHQ-9 with answers whose item 9 was declined (it opens an alert of its own)."""
        return self.instrument == "PHQ-9" and self.answered and self.item9 is None

    @property
    def label(self) -> str:
        return f"{self.timepoint} {self.instrument}"

    def scored(self) -> Score:
        return score_items(self.instrument, self.items)

    @property
    def item9(self) -> int | None:
        if self.instrument != "PHQ-9":
            return None
        return self.scored().items[SUICIDAL_IDEATION_ITEM - 1]

    @property
    def answered(self) -> bool:
        return any(v is not None for v in self.scored().items)


def parse_score(data: ScoreIn | dict[str, Any]) -> ScoreIn:
    """A ScoreIn whose problems are labelled '<timepoint> <instrument> <field>'."""
    raw = data.model_dump() if isinstance(data, ScoreIn) else data
    try:
        name = get_instrument(raw.get("instrument", "?")).name
    except UnknownInstrumentError:
        name = raw.get("instrument", "?")
    label = f"{raw.get('timepoint', '?')} {name}"
    try:
        return ScoreIn.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            inner = (error.get("ctx") or {}).get("error")
            if isinstance(inner, ScoringError):
                text = str(inner)
                prefix = f"{inner.instrument} {inner.field}: "
                problems.append((f"{label} {inner.field}",
                                 text[len(prefix):] if text.startswith(prefix) else text))
            else:
                problems += [(f"{label} {field}", rule) for field, rule in problems_of(error)]
        raise InputError(problems) from None


class AlertCloseIn(BaseModel):
    """Closing a suicide-risk alert: the action taken, and a note when 'other'."""

    model_config = ConfigDict(extra="forbid")

    action: str
    note: str = ""

    @field_validator("note")
    @classmethod
    def _note(cls, value: str) -> str:
        return check_text(value, limit=NOTES_MAX, multiline=True)

    @model_validator(mode="after")
    def _action(self) -> AlertCloseIn:
        if self.action not in ALERT_ACTIONS:
            raise ModelProblems([("action", "choose the action taken: one of "
                                   + ", ".join(ALERT_ACTIONS))])
        if self.action == "other" and not self.note.strip():
            raise ModelProblems([("note", "required when the action is 'other'; describe "
                                   "what was done")])
        return self


def check_reason(reason: str | None, why: str = "the saved record is being corrected") -> str:
    """A change's reason: required (the message asks why `why`), printable, up to 2000
    characters."""
    if reason is None or not reason.strip():
        raise InputError([("reason", f"required; say why {why}")])
    try:
        return check_text(reason, limit=NOTES_MAX, multiline=True)
    except ValueError as exc:
        raise InputError([("reason", str(exc))]) from None
