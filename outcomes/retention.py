"""Retention through the induction (OUTCOMES.md section 7, D1): infusions decide it.

Input: one row per course (``course_key``, ``last_infusion`` = the highest infusion
number recorded, ``last_date`` = its date, ``status`` = the course's status), the
courses of the result (index courses unless all courses, same filters as the headline).

- I = the protocol's induction length; L = the lapse window in days (setting, 21).
- **completed induction**: last >= I.
- otherwise **in progress**: status is neither 'discontinued' nor 'completed' and
  as-of - last_date <= L days;
- otherwise **stopped after infusion last**.
- ``reached_infusion[k]`` (k = 1..I) = courses with last >= k, in progress included;
  ``stopped_after_infusion[k]`` (k = 1..I-1, zeros included);
  ``completion_rate`` = completed / (completed + stopped), null when both are 0;
  ``n_with_booster`` = completed courses with an infusion numbered above I.

Decision: a course with no infusion recorded (cannot occur in the outcome frame, whose
scores hang on infusions) has last 0; it is in progress unless discontinued or
completed, else stopped (counted in ``n_stopped``, under no ``stopped_after`` key).
Published anchor: in ten ketamine practices about half the patients did not complete 6
infusions and a fifth stopped after the first (ORKA-2, ASKP3 2022).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

PROGRESS_COLUMNS = ("course_key", "last_infusion", "last_date", "status")
CLOSED_STATUSES = ("discontinued", "completed")
STATES = ("completed", "in_progress", "stopped")
ANCHOR = ("In ten ketamine practices about half the patients did not complete 6 infusions "
          "and a fifth stopped after the first (ORKA-2, ASKP3 2022).")


def progress_from_infusions(infusions: pd.DataFrame) -> pd.DataFrame:
    """One progress row per course from an infusion frame (``course_key``,
    ``infusion_number``, ``date``, ``course_status``): the highest number and its date."""
    if infusions.empty:
        return pd.DataFrame(columns=list(PROGRESS_COLUMNS))
    ordered = infusions.sort_values(["course_key", "infusion_number"], kind="stable")
    last = ordered.drop_duplicates("course_key", keep="last")
    return pd.DataFrame({
        "course_key": last["course_key"].to_numpy(),
        "last_infusion": last["infusion_number"].astype("int64").to_numpy(),
        "last_date": pd.to_datetime(last["date"]).to_numpy(),
        "status": last["course_status"].astype("object").to_numpy(),
    })


def course_states(progress: pd.DataFrame, *, as_of: date, induction_length: int,
                  lapse_days: int) -> pd.DataFrame:
    """``progress`` with ``last`` (0 when no infusion) and ``state`` (one of STATES)."""
    last, codes = state_codes(progress, as_of=as_of, induction_length=induction_length,
                              lapse_days=lapse_days)
    names = np.array(STATES, dtype=object)
    return progress.assign(last=last, state=pd.Series(names[codes], index=progress.index,
                                                      dtype="object"))


def state_codes(progress: pd.DataFrame, *, as_of: date, induction_length: int,
                lapse_days: int) -> tuple[np.ndarray, np.ndarray]:
    """D1 per course of ``progress``: the last infusion (0 when none) and the state as its
    place in STATES (numbers: at XL, 380,573 courses, a text per course cost ~35 ms more
    to make and to count)."""
    last = pd.to_numeric(progress["last_infusion"]).to_numpy(dtype="float64",
                                                             na_value=np.nan)
    last = np.nan_to_num(last, nan=0.0).astype("int64")
    last_day = pd.to_datetime(progress["last_date"]).to_numpy(dtype="datetime64[D]")
    days = (np.datetime64(as_of, "D") - last_day).astype("int64")
    closed = progress["status"].isin(CLOSED_STATUSES).to_numpy(dtype=bool)
    recent = np.isnat(last_day) | (days <= lapse_days)
    completed = last >= induction_length
    in_progress = ~completed & ~closed & recent
    codes = np.full(len(last), STATES.index("stopped"), dtype="int64")
    codes[in_progress] = STATES.index("in_progress")
    codes[completed] = STATES.index("completed")
    return last, codes


def retention_block(states: pd.DataFrame, *, induction_length: int) -> dict[str, Any]:
    """The ``retention`` object of the summary from ``course_states`` rows."""
    from outcomes.tally import state_tally

    return retention_of_tally(state_tally(states), induction_length=induction_length)


def retention_of_tally(tally: Mapping[Any, int], *, induction_length: int) -> dict[str, Any]:
    """``retention_block`` from ``outcomes.tally.state_tally`` of the rows (courses per
    state and last infusion): a kept tally patched after a write gives the same object."""
    by_state: dict[str, dict[int, int]] = {}
    for key, count in tally.items():
        if key[0] == "state":
            by_state.setdefault(key[1], {})[key[2]] = count

    def courses(state: str | None = None, low: int = 0, high: int | None = None) -> int:
        """Courses in ``state`` (any: None) whose last infusion is in [low, high]."""
        return sum(count for name, lasts in by_state.items() if state in (None, name)
                   for last, count in lasts.items()
                   if last >= low and (high is None or last <= high))

    completed, n_stopped = courses("completed"), courses("stopped")
    return {
        "n_courses": courses(),
        "n_in_progress": courses("in_progress"),
        "n_completed_induction": completed,
        "n_stopped": n_stopped,
        "stopped_after_infusion": {
            str(k): courses("stopped", k, k)
            for k in range(1, induction_length)},
        "reached_infusion": {
            str(k): courses(None, k)
            for k in range(1, induction_length + 1)},
        "completion_rate": _rate(completed, completed + n_stopped),
        "n_with_booster": courses("completed", induction_length + 1),
        "induction_length": int(induction_length),
    }


def retention_by(states: pd.DataFrame, column: str, *, induction_length: int,
                 small_cell: int | None) -> pd.DataFrame:
    """Retention per value of ``column`` (clinic, clinician): counts and rates; a cell with
    fewer than ``small_cell`` courses keeps its course count only (O11)."""
    rows = []
    groups = states[column].astype("object").where(states[column].notna(), "unknown")
    for value, courses in states.groupby(groups.astype(str), sort=True):
        block = retention_block(courses, induction_length=induction_length)
        small = small_cell is not None and block["n_courses"] < small_cell
        completed = block["n_completed_induction"]
        row = {
            "group": value, "n_courses": block["n_courses"],
            "n_in_progress": block["n_in_progress"], "n_completed_induction": completed,
            "n_stopped": block["n_stopped"],
            "stopped_after_1": block["stopped_after_infusion"].get("1"),
            "completion_rate": block["completion_rate"],
            "n_with_booster": block["n_with_booster"],
            "booster_rate": _rate(block["n_with_booster"], completed),
        }
        if small:
            row = {k: (v if k in ("group", "n_courses") else None) for k, v in row.items()}
        rows.append({**row, "suppressed": bool(small)})
    columns = ["group", "n_courses", "n_in_progress", "n_completed_induction", "n_stopped",
               "stopped_after_1", "completion_rate", "n_with_booster", "booster_rate",
               "suppressed"]
    return pd.DataFrame(rows, columns=columns)


def _rate(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else round(numerator / denominator, 4)
