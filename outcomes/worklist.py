"""Data-quality work list (issue 14 item 9): where the questionnaires are missing.

Pure functions over the observation frame (data.analytics.observations) and the infusion frame
(data.analytics.outcome_frames.load_infusions); one instrument at a time (PHQ-9 by default).

- Measurement completion = infusions with both a pre and a post score with a total /
  infusions (a follow-up, C4, is neither), as outcomes.quality.completeness, by clinic
  (the patient's) or by clinician (the one who gave the infusion).
- A course without a baseline has no pre-infusion score with a total (O1).
- The work list: one row per course without a baseline and per infusion missing its pre
  or post score, for a director to work through (patient, course, infusion, what is
  missing), ordered by clinic, patient, course, infusion.
"""

from __future__ import annotations

from typing import Any, cast

import pandas as pd

WORKLIST_COLUMNS = ("clinic", "patient_key", "course_key", "course_number",
                    "infusion_number", "missing")


def _scored(obs: pd.DataFrame, instrument: str) -> pd.DataFrame:
    rows = obs[(obs["instrument"] == instrument) & obs["total"].notna()]
    return rows[rows["timepoint"].isin(("pre", "post"))]


def _slots(infusions: pd.DataFrame, obs: pd.DataFrame, instrument: str) -> pd.DataFrame:
    """The infusions with has_pre / has_post (a score with a total at that timepoint)."""
    scored = _scored(obs, instrument)
    frame = infusions.copy()
    keys = pd.MultiIndex.from_frame(frame[["course_key", "infusion_number"]])
    for timepoint in ("pre", "post"):
        at = scored[scored["timepoint"] == timepoint]
        present = pd.MultiIndex.from_frame(at[["course_key", "infusion_number"]])
        frame[f"has_{timepoint}"] = keys.isin(present)
    return frame


def completion_by(obs: pd.DataFrame, infusions: pd.DataFrame, by: str,
                  instrument: str = "PHQ-9") -> pd.DataFrame:
    """One row per value of `by` (e.g. 'clinic', 'infusion_clinician'): infusions,
    with_pre_and_post, rate (fraction, 4 decimals), ordered by `by`."""
    slots = _slots(infusions, obs, instrument)
    slots["both"] = slots["has_pre"] & slots["has_post"]
    grouped = slots.groupby(by, sort=True)["both"].agg(["size", "sum"]).reset_index()
    grouped.columns = [by, "infusions", "with_pre_and_post"]
    grouped["with_pre_and_post"] = grouped["with_pre_and_post"].astype(int)
    grouped["rate"] = (grouped["with_pre_and_post"] / grouped["infusions"]).round(4)
    return grouped


def courses_without_baseline(obs: pd.DataFrame, infusions: pd.DataFrame,
                             instrument: str = "PHQ-9") -> pd.DataFrame:
    """The courses (of the infusion frame) with no pre-infusion score with a total."""
    scored = _scored(obs, instrument)
    with_baseline = scored.loc[scored["timepoint"] == "pre", "course_key"].unique()
    courses = infusions.drop_duplicates("course_key")[
        ["clinic", "patient_key", "course_key", "course_number"]]
    return courses[~courses["course_key"].isin(with_baseline)].reset_index(drop=True)


def work_list(obs: pd.DataFrame, infusions: pd.DataFrame,
              instrument: str = "PHQ-9") -> pd.DataFrame:
    """What is missing, course by course (WORKLIST_COLUMNS; infusion_number is <NA> for
    a course-level row)."""
    # cast: pandas-stubs do not list pd.NA among the scalars assign broadcasts
    no_baseline = courses_without_baseline(obs, infusions, instrument).assign(
        infusion_number=cast(Any, pd.NA),
        missing=f"no baseline: no pre-infusion {instrument} with a total in the course")
    slots = _slots(infusions, obs, instrument)
    gaps = slots[~(slots["has_pre"] & slots["has_post"])].copy()
    gaps["missing"] = [
        f"{instrument} before and after" if not pre and not post
        else f"{instrument} before" if not pre else f"{instrument} after"
        for pre, post in zip(gaps["has_pre"], gaps["has_post"], strict=True)]
    rows = pd.concat([no_baseline[list(WORKLIST_COLUMNS)], gaps[list(WORKLIST_COLUMNS)]],
                     ignore_index=True)
    rows["infusion_number"] = rows["infusion_number"].astype("Int64")
    rows["_order"] = rows["infusion_number"].fillna(0)
    rows = rows.sort_values(["clinic", "patient_key", "course_number", "_order"], kind="stable")
    return rows.drop(columns="_order").reset_index(drop=True)
