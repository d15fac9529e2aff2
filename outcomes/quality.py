"""Safety and data quality over the infusions of the filtered courses (clinic view).

- ``side_effects`` holds the infusion's side-effect names, '|'-separated ('' for none).
- Side-effect rate = infusions with at least one recorded side effect / infusions;
  per side effect, infusions where it was recorded / infusions. Adverse-event
  rate = infusions with a recorded adverse event (or the adverse-event
  note of an older record) / infusions. The unit is the
  infusion, and every course that matches the filters counts (not only index
  courses: safety concerns every infusion given).
- Completeness (one instrument): infusions with both a pre and a post score
  with a total / infusions (a follow-up, C4, is neither); courses without a baseline (O1: no pre score with a
  total) / courses; administrations without a total (incomplete, S2), which
  the outcome figures leave out.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from outcomes.instruments import get_instrument


def safety_rates(infusions: pd.DataFrame) -> dict[str, Any]:
    """Side-effect and adverse-event counts and rates per infusion."""
    n = len(infusions)
    with_effect = int((infusions["side_effects"].fillna("").str.len() > 0).sum())
    adverse = int(infusions["adverse_event"].astype(bool).sum())
    return {
        "n_infusions": n,
        "infusions_with_side_effect": with_effect,
        "side_effect_rate": _rate(with_effect, n),
        "infusions_with_adverse_event": adverse,
        "adverse_event_rate": _rate(adverse, n),
    }


def side_effect_table(infusions: pd.DataFrame) -> pd.DataFrame:
    """One row per side effect: infusions where it was recorded and the rate per infusion."""
    n = len(infusions)
    effects = infusions["side_effects"].fillna("").str.split("|").explode()
    effects = effects[effects.str.len() > 0]
    counts = effects.reset_index().drop_duplicates().iloc[:, 1].value_counts()
    table = pd.DataFrame({"side_effect": counts.index.astype(str), "infusions": counts.to_numpy()})
    table["rate"] = [_rate(int(count), n) for count in table["infusions"]]
    return table.sort_values(["infusions", "side_effect"], ascending=[False, True]).reset_index(
        drop=True
    )


def completeness(obs: pd.DataFrame, infusions: pd.DataFrame, instrument: str) -> dict[str, Any]:
    """Pre-and-post pairs per infusion, courses without a baseline, incomplete scores."""
    name = get_instrument(instrument).name
    scores = obs[obs["instrument"] == name]
    scored = scores[scores["total"].notna()]
    at_infusion = scored[scored["timepoint"].isin(("pre", "post"))]
    slots = at_infusion.groupby(["course_key", "infusion_number"])["timepoint"].nunique()
    paired = slots[slots >= 2].index
    keys = pd.MultiIndex.from_frame(infusions[["course_key", "infusion_number"]])
    with_both = int(keys.isin(paired).sum())
    courses = infusions["course_key"].unique()
    with_baseline = scored.loc[scored["timepoint"] == "pre", "course_key"].unique()
    without = int((~pd.Series(courses).isin(with_baseline)).sum())
    in_courses = scores["course_key"].isin(courses)
    incomplete = int((in_courses & scores["total"].isna()).sum())
    return {
        "n_infusions": len(infusions),
        "infusions_with_pre_and_post": with_both,
        "pre_and_post_rate": _rate(with_both, len(infusions)),
        "n_courses": len(courses),
        "courses_without_baseline": without,
        "without_baseline_rate": _rate(without, len(courses)),
        "administrations": int(in_courses.sum()),
        "incomplete_administrations": incomplete,
    }


def _rate(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else round(numerator / denominator, 4)
