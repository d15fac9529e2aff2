"""The medical director's review tables for the Outcomes page (OUTCOMES.md section 7), the
parts the s.6 summary does not hold: retention (D1) by clinic and by clinician, the p-chart
(D2) by quarter, the funnel plot (D3) by clinician, and the case-mix adjusted comparison
(indirect standardisation by baseline severity band) by clinic and by clinician.

Same courses as the headline: ``obs`` after C3 (index courses unless ``all_courses``); a
course's clinician is its first infusion's (as in the breakdowns).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from outcomes.control_limits import case_mix, funnel, p_chart
from outcomes.engine import select_courses
from outcomes.retention import course_states, progress_from_infusions, retention_by


def director_review(obs: pd.DataFrame, table: pd.DataFrame, infusions: pd.DataFrame, *,
                    instrument: str, all_courses: bool, small_cell: int | None,
                    induction_length: int, lapse_days: int, as_of: date) -> dict[str, Any]:
    """Every review table of one instrument's course ``table`` and the frames it came from."""
    courses = select_courses(obs, all_courses=all_courses).drop_duplicates("course_key")
    labels = courses.set_index("course_key")[
        [c for c in ("clinic", "clinician") if c in courses.columns]]
    chosen = infusions[infusions["course_key"].isin(labels.index)]
    states = course_states(progress_from_infusions(chosen), as_of=as_of,
                           induction_length=induction_length, lapse_days=lapse_days)
    states = states.join(labels, on="course_key")
    review: dict[str, Any] = {
        "trend_by_quarter": p_chart(table, small_cell=small_cell, period="quarter")}
    for column in labels.columns:
        review[f"retention_by_{column}"] = retention_by(
            states, column, induction_length=induction_length, small_cell=small_cell)
        if column in table.columns:
            review[f"funnel_by_{column}"] = funnel(table, column=column, small_cell=small_cell)
            review[f"case_mix_by_{column}"] = case_mix(table, instrument, column=column,
                                                       small_cell=small_cell)
    return review
