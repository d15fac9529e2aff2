"""Turn validated import rows into bulk records (data/bulk.py).

- A new clinic is named after its code; a new patient takes the first indication given
  on its rows (existing patients are not changed).
- A new course starts on its earliest date, course_type 'induction'.
- A new infusion is dated by the earliest of its rows; its type, route, dose and
  clinician are the first given on its rows. An infusion without a type is 'induction'
  up to the protocol's induction length, 'booster' after it.
- Every PHQ-9 with item 9 >= 1 raises a SafetyAlert: 'open' when dated at most
  `alert_window_days` before `today`, else 'historical'.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from data.bulk import BulkRecords
from data.import_courses import INFUSION, PATIENT
from outcomes.instruments import SUICIDAL_IDEATION_ITEM

_COURSE = ["clinic", "patient_id", "course_number"]


def _firsts(rows: pd.DataFrame, keys: list[str], columns: list[str]) -> pd.DataFrame:
    """Per group: the earliest date and the first non-empty value of each column."""
    grouped = rows.groupby(keys, sort=False)
    result = grouped[columns].first() if columns else grouped[[]].first()
    result["date"] = grouped["date"].min()
    return result.reset_index()


def _none(value: object) -> object:
    """None for a missing value (None or NaN: NaN is the only value unequal to itself)."""
    return None if value is None or value != value else value


def _patients(rows: pd.DataFrame) -> list[dict]:
    firsts = _firsts(rows, PATIENT, ["indication"])
    return [{"clinic": c, "patient_code": p, "indication": _none(i)}
            for c, p, i in zip(firsts["clinic"], firsts["patient_id"], firsts["indication"],
                               strict=True)]


def _courses(rows: pd.DataFrame) -> list[dict]:
    firsts = _firsts(rows, _COURSE, ["course_id"])
    return [{"clinic": c, "patient_code": p, "number": int(n), "label": _none(label),
             "course_type": "induction", "start_date": d.date()}
            for c, p, n, label, d in zip(firsts["clinic"], firsts["patient_id"],
                                         firsts["course_number"], firsts["course_id"],
                                         firsts["date"], strict=True)]


def _infusions(rows: pd.DataFrame, induction_length: int) -> list[dict]:
    firsts = _firsts(rows, INFUSION, ["infusion_type", "route", "dose_mg_per_kg", "clinician"])
    records = []
    for row in firsts.itertuples(index=False):
        number = int(row.infusion_number)
        default_type = "induction" if number <= induction_length else "booster"
        records.append({
            "clinic": row.clinic, "patient_code": row.patient_id,
            "course_number": int(row.course_number), "number": number,
            "administered_on": row.date.date(),
            "infusion_type": _none(row.infusion_type) or default_type,
            "route": _none(row.route), "dose_mg_per_kg": _none(row.dose_mg_per_kg),
            "clinician_code": _none(row.clinician),
        })
    return records


def _assessments(rows: pd.DataFrame, entered_by_id: int | None) -> list[dict]:
    columns = [rows[c].tolist() for c in ("clinic", "patient_id", "course_number",
                                          "infusion_number", "timepoint", "instrument")]
    item9 = SUICIDAL_IDEATION_ITEM - 1
    return [{
        "clinic": clinic, "patient_code": patient, "course_number": course,
        "infusion_number": infusion, "timepoint": timepoint, "instrument": instrument,
        "administered_on": day, "items": list(result.items), "functional_difficulty": fd,
        "total": result.total, "severity": result.severity, "complete": result.complete,
        "item9": result.items[item9] if instrument == "PHQ-9" else None,
        "source": "import", "entered_by_id": entered_by_id,
    } for clinic, patient, course, infusion, timepoint, instrument, day, result, fd in zip(
        *columns, rows["date"].dt.date.tolist(), rows["score"].tolist(),
        rows["functional_difficulty"].tolist(), strict=True)]


def alert_status(observed_on: date, today: date, window_days: int) -> str:
    """'open' when at most `window_days` old on `today`, else 'historical'."""
    return "open" if (today - observed_on).days <= window_days else "historical"


def alerts_for(assessments: list[dict], today: date, window_days: int) -> list[dict]:
    """A SafetyAlert record for every PHQ-9 assessment with item 9 >= 1."""
    return [{**{k: a[k] for k in ("clinic", "patient_code", "course_number", "infusion_number",
                                  "timepoint", "instrument")},
             "item9_value": a["item9"], "observed_on": a["administered_on"],
             "status": alert_status(a["administered_on"], today, window_days)}
            for a in assessments if a["item9"] is not None and a["item9"] >= 1]


def build_records(rows: pd.DataFrame, *, entered_by_id: int | None, today: date,
                  alert_window_days: int, induction_length: int) -> BulkRecords:
    """Bulk records for valid rows that carry their `course_number`."""
    assessments = _assessments(rows, entered_by_id)
    return BulkRecords(
        clinics=[{"code": code, "name": code} for code in rows["clinic"].unique()],
        patients=_patients(rows),
        courses=_courses(rows),
        infusions=_infusions(rows, induction_length),
        assessments=assessments,
        alerts=alerts_for(assessments, today, alert_window_days),
    )
