"""Follow-up rows of a score import (OUTCOMES.md C4 and section 5).

A follow-up (timepoint ``followup``) is a score given between visits; its
infusion_number is the infusion it follows. Rules:

- That infusion must be in the file (as a pre or post row of the same patient, course and
  infusion number) or already in the store; otherwise the row is refused.
- Its date is on or after that infusion's date (the store's date when the infusion is
  stored, else the earliest date of its pre/post rows in the file).
- A follow-up never starts a course. Without course_id it joins the course of the latest
  pre/post row of its patient dated on or before it in the file, else (decision) the
  patient's latest stored course, else course 1 (then refused: no such infusion).
- Conflicts are per (patient, course, instrument, date), in the file and in the store.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.imports.import_csv import RowError

FOLLOWUP = "followup"


def is_followup(rows: pd.DataFrame) -> pd.Series:
    return (rows["timepoint"] == FOLLOWUP).astype(bool)


def followup_courses(rows: pd.DataFrame, inferred: pd.Series,
                     latest_stored: dict[tuple[str, str], int]) -> pd.Series:
    """The inferred course of each follow-up row (rows without course_id), see above."""
    follow = is_followup(rows)
    visits = rows[~follow].assign(_course=inferred[~follow]).sort_values("date", kind="stable")
    wanted = rows[follow].assign(_order=np.arange(int(follow.sum()))).sort_values(
        "date", kind="stable")
    matched = pd.merge_asof(wanted, visits[["_patient", "date", "_course"]], on="date",
                            by="_patient", direction="backward")
    fallback = [latest_stored.get((c, p), 1)
                for c, p in zip(matched["clinic"], matched["patient_id"], strict=True)]
    course = matched["_course"].fillna(pd.Series(fallback, index=matched.index))
    course.index = wanted.index
    return course.astype("int64").reindex(rows.index[follow])


def followup_errors(rows: pd.DataFrame, stored_infusions: dict[tuple, pd.Timestamp]
                    ) -> list[RowError]:
    """Follow-ups whose infusion is unknown, or dated before that infusion."""
    follow = is_followup(rows)
    if not follow.any():
        return []
    key = ["clinic", "patient_id", "course_number", "infusion_number"]
    visits = rows[~follow].groupby(key)["date"].min()
    errors = []
    for line, *infusion, day in rows.loc[follow, ["line", *key, "date"]].itertuples(
            index=False, name=None):
        infusion = tuple(infusion)
        stored = stored_infusions.get(infusion)
        given = pd.Timestamp(stored) if stored is not None else visits.get(infusion)
        if given is None:
            errors.append(RowError(int(line), "infusion_number", (
                f"a follow-up belongs to the infusion it follows; infusion {infusion[3]} of "
                f"course {infusion[2]} is neither in the file (as a pre or post row) nor in "
                "the store")))
        elif day < given:
            errors.append(RowError(int(line), "date", (
                f"a follow-up is dated on or after the infusion it follows; infusion "
                f"{infusion[3]} was given on {given:%Y-%m-%d}")))
    return errors
