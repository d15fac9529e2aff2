"""Turn validated import rows into bulk records (data/store/bulk.py).

- A new clinic is named after its code; a new patient takes the first indication given
  on its rows (existing patients are not changed).
- A new course starts on its earliest date, course_type 'induction'.
- A new infusion is dated by the earliest of its rows; its type, route, dose and
  clinician are the first given on its rows. An infusion without a type is 'induction'
  up to the protocol's induction length, 'booster' after it.
- Every PHQ-9 with item 9 >= 1 raises a SafetyAlert: 'open' when dated at most
  `alert_window_days` before `today`, else 'historical'.
- A PHQ-9 with item answers but item 9 blank (OUTCOMES.md section 1) raises an 'item 9
  not answered' alert (kind 'not_answered', data.clinic.alerts.alert_kind decides) when dated
  within the same window; older ones raise none (the data-quality count shows them).
"""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd

from data.clinic.alerts import alert_kind
from data.store.bulk import BulkRecords
from models.tables import AlertStatus, Assessment

_SLOT = ["clinic", "patient_code", "course_number", "infusion_number", "timepoint", "instrument"]


class _Groups:
    """The rows' groups (`group`: a number per patient, course or infusion, see
    import_courses), in order of first appearance."""

    def __init__(self, rows: pd.DataFrame, group: str) -> None:
        self.rows = rows
        self.number = rows[group].to_numpy()
        _numbers, first = np.unique(self.number, return_index=True)
        self.first = np.sort(first)  # each group's first row, groups in order of appearance
        self.position = pd.Series(np.arange(len(first)), index=self.number[self.first])

    def __len__(self) -> int:
        return len(self.first)

    def key(self, column: str) -> np.ndarray:
        """A column that is the same on every row of a group."""
        return self.rows[column].to_numpy(dtype=object)[self.first]

    def first_given(self, column: str) -> np.ndarray:
        """The first non-missing value of `column` in each group (None if none)."""
        given = np.flatnonzero(self.rows[column].notna().to_numpy())
        numbers, first = np.unique(self.number[given], return_index=True)
        values = np.full(len(self), None, dtype=object)
        values[self.position.loc[numbers].to_numpy()] = (
            self.rows[column].to_numpy(dtype=object)[given[first]])
        return values

    def earliest(self, column: str) -> np.ndarray:
        """The earliest value of a datetime column in each group."""
        earliest = pd.Series(self.rows[column].to_numpy()).groupby(self.number).min()
        return earliest.loc[self.number[self.first]].to_numpy()


def _dates(values: np.ndarray | pd.Series) -> np.ndarray:
    """Python dates of datetime values, converted once per distinct day."""
    codes, days = pd.factorize(pd.Series(values))
    return np.array([d.date() for d in days] + [None], dtype=object)[codes]


def _table(columns: dict) -> pd.DataFrame:
    """A bulk table: object columns (plain Python values, None where missing)."""
    return pd.DataFrame(columns, dtype=object)


def _patients(rows: pd.DataFrame) -> pd.DataFrame:
    groups = _Groups(rows, "_patient")
    return _table({"clinic": groups.key("clinic"), "patient_code": groups.key("patient_id"),
                   "indication": groups.first_given("indication")})


def _courses(rows: pd.DataFrame) -> pd.DataFrame:
    groups = _Groups(rows, "_course")
    return _table({
        "clinic": groups.key("clinic"), "patient_code": groups.key("patient_id"),
        "number": groups.key("course_number"), "label": groups.first_given("course_id"),
        "course_type": "induction", "start_date": _dates(groups.earliest("date"))})


def _infusions(rows: pd.DataFrame, induction_length: int) -> pd.DataFrame:
    groups = _Groups(rows, "_infusion")
    number = groups.key("infusion_number")
    given_type = groups.first_given("infusion_type")
    default_type = np.where(number.astype(np.int64) <= induction_length, "induction", "booster")
    return _table({
        "clinic": groups.key("clinic"), "patient_code": groups.key("patient_id"),
        "course_number": groups.key("course_number"), "number": number,
        "administered_on": _dates(groups.earliest("date")),
        "infusion_type": np.where(pd.isna(given_type), default_type.astype(object), given_type),
        "route": groups.first_given("route"),
        "dose_mg_per_kg": groups.first_given("dose_mg_per_kg"),
        "clinician_code": groups.first_given("clinician"),
    })


def _assessments(rows: pd.DataFrame, entered_by_id: int | None) -> pd.DataFrame:
    columns = ("timepoint", "instrument", "items", "functional_difficulty", "total", "severity",
               "complete", "item9")
    return _table({
        "clinic": rows["clinic"].to_numpy(dtype=object),
        "patient_code": rows["patient_id"].to_numpy(dtype=object),
        "course_number": rows["course_number"].to_numpy(dtype=object),
        "infusion_number": rows["infusion_number"].to_numpy(dtype=object),
        **{name: rows[name].to_numpy(dtype=object) for name in columns},
        "administered_on": _dates(rows["date"]), "source": "import",
        "entered_by_id": entered_by_id,
    })


def alert_status(observed_on: date, today: date, window_days: int) -> AlertStatus:
    """Open when at most `window_days` old on `today`, else historical."""
    return (AlertStatus.OPEN if (today - observed_on).days <= window_days
            else AlertStatus.HISTORICAL)


def alerts_for(assessments: list[dict], today: date, window_days: int) -> list[dict]:
    """A SafetyAlert record for every PHQ-9 assessment with item 9 >= 1."""
    return [{**{k: a[k] for k in ("clinic", "patient_code", "course_number", "infusion_number",
                                  "timepoint", "instrument")},
             "kind": "positive", "item9_value": a["item9"], "observed_on": a["administered_on"],
             "status": alert_status(a["administered_on"], today, window_days)}
            for a in assessments if a["item9"] is not None and a["item9"] >= 1]


def not_answered_alerts_for(assessments: list[dict], today: date,
                            window_days: int) -> list[dict]:
    """An open 'item 9 not answered' alert for each PHQ-9 with answers but item 9 blank,
    dated within the window (section 1)."""
    out = []
    for a in assessments:
        items = json.loads(a["items"]) if isinstance(a["items"], str) else a["items"]
        probe = Assessment(instrument=a["instrument"], item9=a["item9"], items=items)
        if alert_kind(probe) != "not_answered":
            continue
        if alert_status(a["administered_on"], today, window_days) == AlertStatus.OPEN:
            out.append({**{k: a[k] for k in _SLOT}, "kind": "not_answered", "item9_value": None,
                        "observed_on": a["administered_on"], "status": AlertStatus.OPEN})
    return out


_ALERT_COLUMNS = [*_SLOT, "kind", "item9_value", "observed_on", "status"]


def _alerts(assessments: pd.DataFrame, today: date, window_days: int) -> pd.DataFrame:
    """`alerts_for` and `not_answered_alerts_for` of the assessment table (few rows)."""
    item9 = assessments["item9"]
    phq9 = (assessments["instrument"] == "PHQ-9").to_numpy(dtype=bool)
    positive = assessments.loc[item9.notna() & (item9.fillna(0).astype("int64") >= 1),
                               [*_SLOT, "item9", "administered_on"]]
    answered = assessments["items"].astype(str).str.contains(r"\d", regex=True).to_numpy(bool)
    blank = assessments.loc[phq9 & item9.isna().to_numpy(bool) & answered,
                            [*_SLOT, "items", "item9", "administered_on"]]
    records = (alerts_for(positive.to_dict("records"), today, window_days)
               + not_answered_alerts_for(blank.to_dict("records"), today, window_days))
    return pd.DataFrame(records, columns=_ALERT_COLUMNS, dtype=object)


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
