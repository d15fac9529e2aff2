"""Durability of response and booster intervals (clinic view).

Rules (**conventions** of this app; OUTCOMES.md defines response, not its loss):

- Durability is judged on **pre-infusion** scores by default: they measure the
  state between infusions, days after the previous one, whereas a post score is
  taken right after an infusion (its acute effect). With ``pre_only=False`` every
  scored observation counts, and the response observation is then the engine's
  ``first_response_received`` (O8).
- Response is reached at the first such score after the baseline (O1) that meets
  O4 (2 x score <= baseline, baseline > 0).
- Response is **lost** at the first such score after that one, in C2 order,
  whose score is back above half the baseline (2 x score > baseline).
- Time to loss is counted in infusions received (C2) and in weeks (days / 7)
  from the response observation. A responder who has not lost response is
  censored at their last scored observation; ``kaplan_meier`` then gives the
  share still in response over time.
- Booster interval = days from the previous infusion of the same course to an
  infusion whose type is ``booster``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from outcomes.engine import order_observations, select_courses
from outcomes.instruments import get_instrument
from outcomes.survival import cumulative_at, kaplan_meier

DURABILITY_COLUMNS = (
    "course_key", "baseline", "response_received", "response_date", "lost",
    "loss_received", "loss_date", "infusions_to_loss", "weeks_to_loss",
    "followed_infusions", "followed_weeks",
)  # fmt: skip


def response_durability(
    obs: pd.DataFrame, instrument: str, *, all_courses: bool = False, pre_only: bool = True
) -> pd.DataFrame:
    """One row per course that reached response: when, whether and when it was lost.

    ``pre_only`` (the default) judges response and its loss on pre-infusion scores.
    """
    name = get_instrument(instrument).name
    selected = select_courses(obs, all_courses=all_courses)
    rows = order_observations(selected[selected["instrument"] == name])
    keep = rows["total"].notna() & ((rows["timepoint"] == "pre") | (not pre_only))
    rows = rows[keep].reset_index(drop=True)
    if rows.empty:
        return pd.DataFrame(columns=list(DURABILITY_COLUMNS))
    rows["seq"] = np.arange(len(rows))
    course = rows["course_key"]
    is_pre = rows["timepoint"] == "pre"
    base_seq = rows["seq"].where(is_pre).groupby(course).transform("min")
    baseline = rows["total"].where(rows["seq"] == base_seq).groupby(course).transform("max")
    meets = (rows["seq"] > base_seq) & (baseline > 0) & (2 * rows["total"] <= baseline)
    response_seq = rows["seq"].where(meets).groupby(course).transform("min")
    after = rows["seq"] > response_seq
    loss_seq = rows["seq"].where(after & (2 * rows["total"] > baseline)).groupby(course)
    rows["loss_seq"] = loss_seq.transform("min")
    rows["baseline"], rows["response_seq"] = baseline, response_seq
    followed = rows[rows["seq"] >= rows["response_seq"]]
    return _durability_table(followed)


def _durability_table(followed: pd.DataFrame) -> pd.DataFrame:
    """Per course: the response row, the loss row (if any) and the last row followed."""
    by_course = followed.groupby("course_key", sort=True)
    first = by_course.first()
    last = by_course.last()
    loss = followed[followed["seq"] == followed["loss_seq"]].set_index("course_key")
    table = pd.DataFrame(index=first.index)
    table["baseline"] = first["baseline"]
    table["response_received"] = first["received"].astype("float64")
    table["response_date"] = first["date"]
    table["lost"] = table.index.isin(loss.index)
    table["loss_received"] = loss["received"].reindex(table.index).astype("float64")
    table["loss_date"] = loss["date"].reindex(table.index)
    table["infusions_to_loss"] = table["loss_received"] - table["response_received"]
    table["weeks_to_loss"] = _weeks(table["loss_date"] - table["response_date"])
    end_received = table["loss_received"].fillna(last["received"].astype("float64"))
    end_date = table["loss_date"].fillna(last["date"])
    table["followed_infusions"] = end_received - table["response_received"]
    table["followed_weeks"] = _weeks(end_date - table["response_date"])
    return table.reset_index()[list(DURABILITY_COLUMNS)]


def _weeks(delta: pd.Series[pd.Timedelta]) -> pd.Series:
    return (delta.dt.days / 7).astype("float64")


def durability_summary(durability: pd.DataFrame, *,
                       weeks: tuple[int, ...] = (4, 8, 12)) -> dict[str, Any]:
    """Responders, losses, medians among losses, and the KM share still in response."""
    lost = durability[durability["lost"].astype(bool)]
    out = {
        "n_responders": len(durability),
        "n_lost": len(lost),
        "lost_rate": round(len(lost) / len(durability), 4) if len(durability) else None,
        "median_infusions_to_loss": _median(lost["infusions_to_loss"]),
        "median_weeks_to_loss": _median(lost["weeks_to_loss"]),
    }
    km = durability_km(durability)
    for week in weeks:
        out[f"still_responding_at_{week}_weeks"] = (
            None if km is None else round(1 - cumulative_at(km, week), 4)
        )
    return out


def durability_km(durability: pd.DataFrame) -> pd.DataFrame | None:
    """Kaplan-Meier of loss of response over weeks (``survival`` = still in response)."""
    if durability.empty:
        return None
    lost = durability["lost"].astype(bool)
    time = durability["weeks_to_loss"].where(lost, durability["followed_weeks"])
    return kaplan_meier(time.astype("float64"), lost)


def booster_intervals(infusions: pd.DataFrame) -> pd.DataFrame:
    """Booster infusions with the days since the previous infusion of the same course."""
    ordered = infusions.sort_values(["course_key", "infusion_number"], kind="stable")
    previous = ordered.groupby("course_key")["date"].shift(1)
    days = (pd.to_datetime(ordered["date"]) - pd.to_datetime(previous)).dt.days
    ordered = ordered.assign(days_since_previous=days.astype("float64"))
    boosters = ordered[(ordered["infusion_type"] == "booster") & ordered["days_since_previous"].notna()]
    columns = ["course_key", "infusion_number", "date", "days_since_previous"]
    return boosters[columns].reset_index(drop=True)


def booster_summary(intervals: pd.DataFrame) -> dict[str, Any]:
    """Count, median and quartiles of booster intervals (days)."""
    days = intervals["days_since_previous"].dropna()
    return {
        "n_boosters": len(days),
        "n_courses_with_booster": int(intervals["course_key"].nunique()),
        "median_days": _median(days),
        "q1_days": round(float(days.quantile(0.25)), 1) if len(days) else None,
        "q3_days": round(float(days.quantile(0.75)), 1) if len(days) else None,
    }


def _median(values: pd.Series) -> float | None:
    values = values.dropna()
    return round(float(values.median()), 4) if len(values) else None
