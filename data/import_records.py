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

import numpy as np
import pandas as pd

from data.bulk import BulkRecords
from data.import_courses import INFUSION, PATIENT

_COURSE = ["clinic", "patient_id", "course_number"]
_SLOT = ["clinic", "patient_code", "course_number", "infusion_number", "timepoint", "instrument"]


def _firsts(rows: pd.DataFrame, group: str, keys: list[str], columns: list[str]) -> pd.DataFrame:
    """Per group (`group`: a number per patient, course or infusion, see import_courses),
    in order of first appearance: its `keys`, the earliest date and the first non-empty
    value of each column."""
    grouped = rows.groupby(group, sort=False)
    result = grouped[[*keys, *columns]].first()
    result["date"] = grouped["date"].min()
    return result.reset_index(drop=True)


def _dates(values: pd.Series) -> list:
    """Python dates of a datetime column, converted once per distinct day."""
    codes, days = pd.factorize(values)
    return np.array([d.date() for d in days] + [None], dtype=object)[codes].tolist()


def _none(values: pd.Series) -> list:
    """The column's values with None for every missing value (None, NaN, NA)."""
    return values.astype(object).where(values.notna(), None).tolist()


def _patients(rows: pd.DataFrame) -> pd.DataFrame:
    firsts = _firsts(rows, "_patient", PATIENT, ["indication"])
    return pd.DataFrame({"clinic": firsts["clinic"], "patient_code": firsts["patient_id"],
                         "indication": _none(firsts["indication"])})


def _courses(rows: pd.DataFrame) -> pd.DataFrame:
    firsts = _firsts(rows, "_course", _COURSE, ["course_id"])
    return pd.DataFrame({
        "clinic": firsts["clinic"], "patient_code": firsts["patient_id"],
        "number": firsts["course_number"].astype("int64"), "label": _none(firsts["course_id"]),
        "course_type": "induction", "start_date": _dates(firsts["date"])})


def _infusions(rows: pd.DataFrame, induction_length: int) -> pd.DataFrame:
    firsts = _firsts(rows, "_infusion", INFUSION,
                     ["infusion_type", "route", "dose_mg_per_kg", "clinician"])
    number = firsts["infusion_number"].astype("int64")
    default_type = np.where(number <= induction_length, "induction", "booster")
    given_type = firsts["infusion_type"]
    return pd.DataFrame({
        "clinic": firsts["clinic"], "patient_code": firsts["patient_id"],
        "course_number": firsts["course_number"].astype("int64"), "number": number,
        "administered_on": _dates(firsts["date"]),
        "infusion_type": given_type.where(given_type.notna(), default_type).astype(object),
        "route": _none(firsts["route"]), "dose_mg_per_kg": _none(firsts["dose_mg_per_kg"]),
        "clinician_code": _none(firsts["clinician"]),
    })


def _assessments(rows: pd.DataFrame, entered_by_id: int | None) -> pd.DataFrame:
    return pd.DataFrame({
        "clinic": rows["clinic"], "patient_code": rows["patient_id"],
        "course_number": rows["course_number"].astype("int64"),
        "infusion_number": rows["infusion_number"].astype("int64"),
        "timepoint": rows["timepoint"], "instrument": rows["instrument"],
        "administered_on": _dates(rows["date"]), "items": rows["items"],
        "functional_difficulty": rows["functional_difficulty"], "total": rows["total"],
        "severity": rows["severity"], "complete": rows["complete"], "item9": rows["item9"],
        "source": "import", "entered_by_id": entered_by_id,
    }).reset_index(drop=True)


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


def _alerts(assessments: pd.DataFrame, today: date, window_days: int) -> pd.DataFrame:
    """`alerts_for` of the assessment table (few rows: built as records)."""
    item9 = assessments["item9"]
    positive = assessments[item9.notna() & (item9.fillna(0).astype("int64") >= 1)]
    return pd.DataFrame(alerts_for(positive.to_dict("records"), today, window_days),
                        columns=[*_SLOT, "item9_value", "observed_on", "status"])


def build_records(rows: pd.DataFrame, *, entered_by_id: int | None, today: date,
                  alert_window_days: int, induction_length: int) -> BulkRecords:
    """Bulk tables (DataFrames) for valid rows that carry their `course_number`."""
    assessments = _assessments(rows, entered_by_id)
    return BulkRecords(
        clinics=[{"code": code, "name": code} for code in rows["clinic"].unique()],
        patients=_patients(rows),
        courses=_courses(rows),
        infusions=_infusions(rows, induction_length),
        assessments=assessments,
        alerts=_alerts(assessments, today, alert_window_days),
    )
