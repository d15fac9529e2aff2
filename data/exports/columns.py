"""What each export table holds: one `ColumnSpec` per column, with its type, its meaning
and how the HIPAA Safe Harbor de-identification treats it (`phi`).

`phi` values (applied by `data.exports.deidentify`):

- None: kept as is (clinical values, codes from a closed list, the random study ID).
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

from outcomes.instruments import INSTRUMENTS

KINDS_WITH_ROWS = ("patients", "infusions", "scores", "audit")
PHI_RULES = ("identifier", "date", "anchor", "timestamp", "event_time", "staff", "age")


@dataclass(frozen=True)
class ColumnSpec:
    """One exported column: name, value type, meaning, de-identification rule."""

    name: str
    kind: str  # int | float | text | date | datetime | bool | age
    description: str
    phi: str | None = None


def _c(name: str, kind: str, description: str, phi: str | None = None) -> ColumnSpec:
    return ColumnSpec(name, kind, description, phi)


STUDY_ID = _c("study_id", "text", "Random study ID of the patient (pseudonym: not derived from "
              "the patient code; the mapping is kept only in the store).")
PATIENT_CODE = _c("patient_code", "text", "The clinic's patient code (MRN).", "identifier")
CLINIC = _c("clinic", "text", "Clinic code.")
COURSE_NUMBER = _c("course_number", "int", "Treatment course number within the patient (1 = "
                   "first, chronological).")
COURSE_START = _c("course_start", "date", "Start date of the treatment course (the first "
                  "infusion's date when no start date was recorded).", "anchor")

PATIENT_COLUMNS: tuple[ColumnSpec, ...] = (
    STUDY_ID, PATIENT_CODE,
    _c("name", "text", "Patient's name.", "identifier"),
    _c("birth_date", "date", "Date of birth.", "identifier"),
    _c("age_at_first_course", "age", "Age in whole years at the start of the first course "
       "(at the export date when the patient has no course).", "age"),
    _c("sex", "text", "Sex: female, male, other or unknown."),
    _c("indication", "text", "Indication for ketamine (e.g. TRD, MDD, PTSD)."),
    _c("failed_trials", "int", "Number of failed antidepressant trials before ketamine."),
    CLINIC,
    _c("n_courses", "int", "Number of treatment courses in the store."),
    _c("first_course_start", "date", "Start date of the first course.", "anchor"),
    _c("notes", "text", "Free-text notes.", "identifier"),
)

VITALS = tuple(
    _c(f"{measure}_{when}", "int", f"{label} {phrase}.")
    for when, phrase in (("before", "before the infusion"), ("peak", "at its peak during the "
                         "infusion"), ("discharge", "at discharge"))
    for measure, label in (("bp_sys", "Systolic blood pressure (mmHg)"),
                           ("bp_dia", "Diastolic blood pressure (mmHg)"),
                           ("hr", "Heart rate (beats/min)"), ("spo2", "Oxygen saturation (%)"))
)

INFUSION_COLUMNS: tuple[ColumnSpec, ...] = (
    STUDY_ID, PATIENT_CODE, CLINIC, COURSE_NUMBER,
    _c("course_type", "text", "Course type: induction or maintenance."),
    _c("course_status", "text", "Course status: active, completed or discontinued."),
    COURSE_START,
    _c("infusion_number", "int", "Infusion number within the course (1-based)."),
    _c("administered_on", "date", "Date of the infusion.", "date"),
    _c("started_at", "datetime", "Start time of the infusion (UTC).", "timestamp"),
    _c("infusion_type", "text", "induction, booster or maintenance."),
    _c("route", "text", "Route: IV, IM, intranasal or oral."),
    _c("dose_mg_per_kg", "float", "Ketamine dose (mg/kg)."),
    _c("total_dose_mg", "float", "Total ketamine dose (mg)."),
    _c("weight_kg", "float", "Body weight (kg)."),
    _c("duration_min", "int", "Infusion duration (minutes)."),
    *VITALS,
    _c("side_effects", "text", "Side effects from the closed list, separated by '; '."),
    _c("side_effect_other", "text", "Other side effect (free text).", "identifier"),
    _c("adverse_event_recorded", "bool", "True when an adverse-event note was recorded."),
    _c("adverse_event", "text", "Adverse-event note (free text).", "identifier"),
    _c("clinician", "text", "Clinician who gave the infusion (user name or imported clinician "
       "code).", "staff"),
)


def score_columns(n_items: int) -> tuple[ColumnSpec, ...]:
    """Columns of the scores table with item_1..item_n (n = the widest instrument present)."""
    items = tuple(
        _c(f"item_{i}", "int", f"Answer to item {i} (empty when missing or when the "
           "instrument has fewer items; a legacy total-only score has no items).")
        for i in range(1, n_items + 1)
    )
    return (
        STUDY_ID, PATIENT_CODE, CLINIC, COURSE_NUMBER, COURSE_START,
        _c("infusion_number", "int", "Infusion number within the course (1-based)."),
        _c("timepoint", "text", "pre or post (the infusion), or followup (a score between "
           "visits; infusion_number is then the infusion it follows, OUTCOMES.md C4)."),
        _c("instrument", "text", "Instrument: " + ", ".join(INSTRUMENTS) + "."),
        _c("administered_on", "date", "Date the questionnaire was completed.", "date"),
        *items,
        _c("functional_difficulty", "int", "PHQ-9 question 10 (0-3, not part of the total)."),
        _c("total", "int", "Total computed by the app from the items (OUTCOMES.md S1/S2; "
           "prorated when few items are missing); empty when incomplete."),
        _c("severity", "text", "Severity band of the total (OUTCOMES.md section 1)."),
        _c("complete", "bool", "True when the administration has a total (S2)."),
        _c("source", "text", "Who gave the answers and how: clinician (entered by staff), "
           "patient_kiosk (the patient, on the clinic's device), patient_remote (the "
           "patient, from a link) or import."),
        _c("entered_by", "text", "User who entered the score.", "staff"),
        _c("entered_at", "datetime", "When the score was entered (UTC).", "timestamp"),
        _c("completed_at", "datetime", "When the questionnaire was answered (UTC), when known "
           "(empty otherwise).", "timestamp"),
    )


AUDIT_COLUMNS: tuple[ColumnSpec, ...] = (
    _c("id", "int", "Event number (the order of the append-only trail)."),
    _c("occurred_at", "datetime", "When the event happened (UTC).", "event_time"),
    _c("user", "text", "User who acted ('system' for the command line).", "staff"),
    _c("action", "text", "What was done (create, update, export, denied, sign_in...)."),
    _c("entity", "text", "Kind of record concerned (patient, infusion, user, export...)."),
    _c("entity_id", "text", "Store key of the record concerned.", "identifier"),
    STUDY_ID, PATIENT_CODE,
    _c("field", "text", "Field changed, for updates."),
    _c("old_value", "text", "Value before the change.", "identifier"),
    _c("new_value", "text", "Value after the change (or the event's details).", "identifier"),
    _c("reason", "text", "Reason given by the user.", "identifier"),
    _c("session_id", "text", "Sign-in session of the user.", "identifier"),
    _c("prev_hash", "text", "Hash of the previous event (tamper evidence).", "identifier"),
    _c("hash", "text", "SHA-256 over the previous hash and this event.", "identifier"),
)

OUTCOME_SUMMARY_COLUMNS: tuple[ColumnSpec, ...] = (
    _c("instrument", "text", "Instrument (empty for parameters and the NHS paired block)."),
    _c("block", "text", "Block of the OUTCOMES.md section 6 summary."),
    _c("clinic", "text", "Clinic code, for the by-clinic block."),
    _c("metric", "text", "Metric name (see the metric definitions below)."),
    _c("value", "text", "Count (integer), rate (fraction, 4 decimals) or parameter; empty when "
       "undefined or suppressed (small cell)."),
)

BY_CLINIC_METRICS = ("n_courses", "n_with_baseline", "n_evaluable", "responders", "remitters",
                     "response_rate_observed", "response_rate_itt", "remission_rate_observed",
                     "remission_rate_itt", "reliable_improvement", "reliable_deterioration")


def by_clinic_columns(after_n: int) -> tuple[ColumnSpec, ...]:
    """The outcomes export's by-clinic sheet (O7 after infusion N, O11 small cells)."""
    counts = {"n_courses", "n_with_baseline", "n_evaluable", "responders", "remitters",
              "reliable_improvement", "reliable_deterioration"}
    return (
        _c("instrument", "text", "Instrument."),
        CLINIC,
        *(_c(m, "int" if m in counts else "float", f"{m} after infusion {after_n} (see the "
             "metric definitions).") for m in BY_CLINIC_METRICS),
        _c("suppressed", "bool", "True when the clinic has fewer courses than the small-cell "
           "threshold: counts of courses only, every other figure left empty (O11)."),
    )
