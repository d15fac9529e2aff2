"""What each export table holds: one `ColumnSpec` per column, with its type, its meaning
and how the HIPAA Safe Harbor de-identification treats it (`phi`).

`phi` values (applied by `data.exports.deidentify`); every column has one, explicitly
(a column without a rule makes the de-identification fail, and
tests/security/test_export_privacy.py lists every column of every export):

- "kept": kept as is (clinical values, codes from a closed list, clinic codes).
- "pseudonym": the random study ID: kept in de-identified files, left out of identified
  ones (so one identified file cannot re-identify every de-identified one).
- "generalised": a text column with a closed list (`allowed`): values of the list kept,
  anything else (free text typed as 'other') becomes "other".
- "identifier": dropped (names, patient codes, birth dates, free text, store keys).
- "date": a date about the patient: reduced to the year, or to days since the course
  start (the export's date mode).
- "anchor": the course start (the origin of "days since"): reduced to the year.
- "timestamp": a time of data entry: dropped.
- "event_time": an audit event's time: the year always; the full time only for events
  that concern no patient.
- "staff": a user name or clinician code: replaced by a per-export pseudonym (staff-NN).
- "age": an age in years: 90 and over become "90+".
"""

from __future__ import annotations

from dataclasses import dataclass

from models.schemas import INDICATIONS
from outcomes.instruments import INSTRUMENTS

PHI_RULES = ("kept", "pseudonym", "generalised", "identifier", "date", "anchor", "timestamp",
             "event_time", "staff", "age")


@dataclass(frozen=True)
class ColumnSpec:
    """One exported column: name, value type, meaning, de-identification rule."""

    name: str
    kind: str  # int | float | text | date | datetime | bool | age
    description: str
    phi: str | None = None  # None only for a de-identified table's output columns
    allowed: tuple[str, ...] = ()  # the closed list of a "generalised" column


def _c(name: str, kind: str, description: str, phi: str,
       allowed: tuple[str, ...] = ()) -> ColumnSpec:
    if phi not in PHI_RULES:
        raise ValueError(f"column {name}: de-identification rule {phi!r} is not one of "
                         f"{', '.join(PHI_RULES)}")
    return ColumnSpec(name, kind, description, phi, allowed)


STUDY_ID = _c("study_id", "text", "Random study ID of the patient (pseudonym: not derived from "
              "the patient code; the mapping is kept only in the store). In de-identified "
              "files only.", "pseudonym")
PATIENT_CODE = _c("patient_code", "text", "The clinic's patient code (MRN).", "identifier")
CLINIC = _c("clinic", "text", "Clinic code.", "kept")
COURSE_NUMBER = _c("course_number", "int", "Treatment course number within the patient (1 = "
                   "first, chronological).", "kept")
COURSE_START = _c("course_start", "date", "Start date of the treatment course (the first "
                  "infusion's date when no start date was recorded).", "anchor")

PATIENT_COLUMNS: tuple[ColumnSpec, ...] = (
    STUDY_ID, PATIENT_CODE,
    _c("name", "text", "Patient's name.", "identifier"),
    _c("birth_date", "date", "Date of birth.", "identifier"),
    _c("age_at_first_course", "age", "Age in whole years at the start of the first course "
       "(at the export date when the patient has no course).", "age"),
    _c("sex", "text", "Sex: female, male, other or unknown.", "kept"),
    _c("indication", "text", "Indication for ketamine: " + ", ".join(INDICATIONS) + " or "
       "other (free text typed for 'other' is identified data only).", "generalised",
       INDICATIONS),
    _c("failed_trials", "int", "Number of failed antidepressant trials before ketamine.", "kept"),
    CLINIC,
    _c("n_courses", "int", "Number of treatment courses in the store.", "kept"),
    _c("first_course_start", "date", "Start date of the first course.", "anchor"),
    _c("notes", "text", "Free-text notes.", "identifier"),
)

VITALS = tuple(
    _c(f"{measure}_{when}", "int", f"{label} {phrase}.", "kept")
    for when, phrase in (("before", "before the infusion"), ("peak", "at its peak during the "
                         "infusion"), ("discharge", "at discharge"))
    for measure, label in (("bp_sys", "Systolic blood pressure (mmHg)"),
                           ("bp_dia", "Diastolic blood pressure (mmHg)"),
                           ("hr", "Heart rate (beats/min)"), ("spo2", "Oxygen saturation (%)"))
)

INFUSION_COLUMNS: tuple[ColumnSpec, ...] = (
    STUDY_ID, PATIENT_CODE, CLINIC, COURSE_NUMBER,
    _c("course_type", "text", "Course type: induction or maintenance.", "kept"),
    _c("course_status", "text", "Course status: active, completed or discontinued.", "kept"),
    COURSE_START,
    _c("infusion_number", "int", "Infusion number within the course (1-based).", "kept"),
    _c("administered_on", "date", "Date of the infusion.", "date"),
    _c("started_at", "datetime", "Start time of the infusion (UTC).", "timestamp"),
    _c("infusion_type", "text", "induction, booster or maintenance.", "kept"),
    _c("route", "text", "Route: IV, IM, intranasal or oral.", "kept"),
    _c("dose_mg_per_kg", "float", "Ketamine dose (mg/kg).", "kept"),
    _c("total_dose_mg", "float", "Total ketamine dose (mg).", "kept"),
    _c("weight_kg", "float", "Body weight (kg).", "kept"),
    _c("duration_min", "int", "Infusion duration (minutes).", "kept"),
    *VITALS,
    _c("side_effects", "text", "Side effects from the closed list, separated by '; '.", "kept"),
    _c("side_effect_other", "text", "Other side effect (free text).", "identifier"),
    _c("bp_decision", "text", "When the blood pressure before the infusion was above the "
       "protocol's hold rule (default systolic > 160 or diastolic > 100 mmHg): proceeded; "
       "empty otherwise (visits held or rescheduled are not infusions).", "kept"),
    _c("bp_decision_reason", "text", "Why the infusion proceeded (free text).", "identifier"),
    _c("sedation_moaas", "int", "Sedation at peak, MOAA/S 0 (no response to a painful "
       "stimulus) - 5 (responds readily to name); empty when not recorded.", "kept"),
    _c("dissociation", "text", "Dissociation severity: none, mild, moderate or severe; empty "
       "when not recorded.", "kept"),
    _c("discharge_ready_minutes", "int", "Minutes from the end of the infusion until ready "
       "for discharge.", "kept"),
    _c("n_adverse_events", "int", "Number of adverse events recorded for the infusion.", "kept"),
    _c("adverse_event_severities", "text", "Severity of each recorded adverse event, in the "
       "order recorded, separated by '; ' (mild, moderate, severe, serious).", "kept"),
    _c("adverse_event_categories", "text", "Category of each recorded adverse event, in the "
       "order recorded, separated by '; ' (closed list).", "kept"),
    _c("adverse_event_recorded", "bool", "True when an adverse event (or, in older records, "
       "an adverse-event note) was recorded.", "kept"),
    _c("adverse_event", "text", "Adverse events: description and action taken of each, and "
       "the note of older records (free text).", "identifier"),
    _c("clinician", "text", "Clinician who gave the infusion (user name or imported clinician "
       "code).", "staff"),
)


def score_columns(n_items: int) -> tuple[ColumnSpec, ...]:
    """Columns of the scores table with item_1..item_n (n = the widest instrument present)."""
    items = tuple(
        _c(f"item_{i}", "int", f"Answer to item {i} (empty when missing or when the "
           "instrument has fewer items; a legacy total-only score has no items).", "kept")
        for i in range(1, n_items + 1)
    )
    return (
        STUDY_ID, PATIENT_CODE, CLINIC, COURSE_NUMBER, COURSE_START,
        _c("infusion_number", "int", "Infusion number within the course (1-based).", "kept"),
        _c("timepoint", "text", "pre or post (the infusion), or followup (a score between "
           "visits; infusion_number is then the infusion it follows, OUTCOMES.md C4).", "kept"),
        _c("instrument", "text", "Instrument: " + ", ".join(INSTRUMENTS) + ".", "kept"),
        _c("administered_on", "date", "Date the questionnaire was completed.", "date"),
        *items,
        _c("functional_difficulty", "int", "PHQ-9 question 10 (0-3, not part of the total).", "kept"),
        _c("total", "int", "Total computed by the app from the items (OUTCOMES.md S1/S2; "
           "prorated when few items are missing); empty when incomplete.", "kept"),
        _c("severity", "text", "Severity band of the total (OUTCOMES.md section 1).", "kept"),
        _c("complete", "bool", "True when the administration has a total (S2).", "kept"),
        _c("source", "text", "Who gave the answers and how: clinician (entered by staff), "
           "patient_kiosk (the patient, on the clinic's device), patient_remote (the "
           "patient, from a link) or import.", "kept"),
        _c("entered_by", "text", "User who entered the score.", "staff"),
        _c("entered_at", "datetime", "When the score was entered (UTC).", "timestamp"),
        _c("completed_at", "datetime", "When the questionnaire was answered (UTC), when known "
           "(empty otherwise).", "timestamp"),
    )


AUDIT_COLUMNS: tuple[ColumnSpec, ...] = (
    _c("id", "int", "Event number (the order of the append-only trail).", "kept"),
    _c("occurred_at", "datetime", "When the event happened (UTC).", "event_time"),
    _c("user", "text", "User who acted ('system' for the command line).", "staff"),
    _c("action", "text", "What was done (create, update, export, denied, sign_in...).", "kept"),
    _c("entity", "text", "Kind of record concerned (patient, infusion, user, export...).", "kept"),
    _c("entity_id", "text", "Store key of the record concerned.", "identifier"),
    STUDY_ID, PATIENT_CODE,
    _c("field", "text", "Field changed, for updates.", "kept"),
    _c("old_value", "text", "Value before the change.", "identifier"),
    _c("new_value", "text", "Value after the change (or the event's details).", "identifier"),
    _c("reason", "text", "Reason given by the user.", "identifier"),
    _c("session_id", "text", "Sign-in session of the user.", "identifier"),
    _c("prev_hash", "text", "Hash of the previous event (tamper evidence).", "identifier"),
    _c("hash", "text", "SHA-256 over the previous hash and this event.", "identifier"),
)

OUTCOME_SUMMARY_COLUMNS: tuple[ColumnSpec, ...] = (
    _c("instrument", "text", "Instrument (empty for parameters and the NHS paired block).", "kept"),
    _c("block", "text", "Block of the OUTCOMES.md section 6 summary.", "kept"),
    _c("clinic", "text", "Clinic code, for the by-clinic block.", "kept"),
    _c("metric", "text", "Metric name (see the metric definitions below).", "kept"),
    _c("value", "text", "Count (integer), rate (fraction, 4 decimals) or parameter; empty when "
       "undefined or suppressed (small cell).", "kept"),
)

BY_CLINIC_METRICS = ("n_courses", "n_with_baseline", "n_evaluable", "responders", "remitters",
                     "response_rate_observed", "response_rate_itt", "remission_rate_observed",
                     "remission_rate_itt", "reliable_improvement", "reliable_deterioration")


def by_clinic_columns(after_n: int) -> tuple[ColumnSpec, ...]:
    """The outcomes export's by-clinic sheet (O7 after infusion N, O11 small cells)."""
    counts = {"n_courses", "n_with_baseline", "n_evaluable", "responders", "remitters",
              "reliable_improvement", "reliable_deterioration"}
    return (
        _c("instrument", "text", "Instrument.", "kept"),
        CLINIC,
        *(_c(m, "int" if m in counts else "float", f"{m} after infusion {after_n} (see the "
             "metric definitions).", "kept") for m in BY_CLINIC_METRICS),
        _c("suppressed", "bool", "True when the clinic has fewer courses than the small-cell "
           "threshold: counts of courses only, every other figure left empty (O11).", "kept"),
    )
