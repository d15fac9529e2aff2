"""One patient's trajectory: chart points, gaps, and the course outcome in words.

The figures come from ``outcomes.engine.course_table`` (O1-O8); this module only
arranges and words them. Conventions of the patient view (not OUTCOMES.md rules):

- On the infusion-number axis, the pre score of infusion k sits at k - 0.2 and
  the post score at k + 0.2, so the two scores of one infusion stay apart; the
  follow-ups of infusion k (C4) share k + 0.3 to k + 0.7 evenly, in C4 order.
- A gap is an interval of more than ``GAP_DAYS`` (14) days between two
  consecutive infusions of a course; before a booster, more than the protocol's
  booster interval (``booster_overdue_days``), since boosters are spaced on purpose.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from outcomes.engine import FOLLOWUP, course_table, order_observations
from outcomes.instruments import INSTRUMENT_NAMES, get_instrument, severity

GAP_DAYS = 14
PRE_POST_OFFSET = 0.2


def trajectory_points(obs: pd.DataFrame, infusions: pd.DataFrame) -> pd.DataFrame:
    """Scored observations in C2 order with ``x`` (infusion axis), band and infusion details."""
    rows = order_observations(obs[obs["total"].notna()])
    rows = rows.assign(x=rows["infusion_number"] + timepoint_offsets(rows))
    details = ["course_key", "infusion_number", "infusion_type", "route", "dose_mg_per_kg"]
    rows = rows.merge(infusions[details], on=["course_key", "infusion_number"], how="left")
    rows["severity"] = [
        severity(instrument, int(total))
        for instrument, total in zip(rows["instrument"], rows["total"], strict=True)
    ]
    return rows


def timepoint_offsets(rows: pd.DataFrame) -> np.ndarray:
    """Axis offsets from the infusion number: pre -0.2, post +0.2, the j-th of n
    follow-ups of one infusion (rows in C4 order) +0.3 + 0.4 x j / (n + 1)."""
    offset = np.where(rows["timepoint"] == "pre", -PRE_POST_OFFSET, PRE_POST_OFFSET)
    is_followup = (rows["timepoint"] == FOLLOWUP).to_numpy(dtype=bool)
    if is_followup.any():
        followups = rows[is_followup]
        keys = [followups[c] for c in ("course_key", "instrument", "infusion_number")
                if c in followups.columns]
        j = followups.groupby(keys).cumcount().to_numpy() + 1
        n = followups.groupby(keys)["timepoint"].transform("size").to_numpy()
        offset = offset.astype("float64")
        offset[is_followup] = 0.3 + 0.4 * j / (n + 1)
    return offset


def observation_label(timepoint: str, infusion: int) -> str:
    """Where a score sits in the course, in words ('follow-up after infusion 3')."""
    if timepoint == FOLLOWUP:
        return f"follow-up after infusion {infusion}"
    return f"{timepoint} score of infusion {infusion}"


def infusion_gaps(
    infusions: pd.DataFrame, min_days: int = GAP_DAYS, booster_days: int | None = None
) -> pd.DataFrame:
    """Infusions that came more than ``min_days`` after the previous one of their course.

    Boosters are spaced on purpose: with ``booster_days`` (the protocol's overdue
    interval) a booster is a gap only when it came more than that many days later.
    """
    ordered = infusions.sort_values(["course_key", "infusion_number"], kind="stable")
    previous = ordered.groupby("course_key")["date"].shift(1)
    days = (pd.to_datetime(ordered["date"]) - pd.to_datetime(previous)).dt.days
    limit = pd.Series(min_days, index=ordered.index, dtype="float64")
    if booster_days is not None:
        limit[ordered["infusion_type"] == "booster"] = booster_days
    gaps = ordered.assign(days=days, previous_date=previous)[days > limit]
    return gaps[["course_key", "infusion_number", "previous_date", "date", "days"]].reset_index(
        drop=True
    )


def item9_history(obs: pd.DataFrame) -> pd.DataFrame:
    """Every PHQ-9 administration with an item-9 answer, in C2 order (positive when >= 1)."""
    phq = obs[(obs["instrument"] == "PHQ-9") & obs["item9"].notna()]
    rows = order_observations(phq)
    return rows.assign(positive=rows["item9"] >= 1)[
        ["course_key", "course_number", "infusion_number", "timepoint", "date", "item9",
         "positive"]
    ].reset_index(drop=True)  # fmt: skip


def course_outcome_lines(
    row: pd.Series, instrument: str, after_n: int, remission_max: int | None = None
) -> list[str]:
    """The course's outcome in words, from one course-table row (O1-O8).

    ``remission_max`` overrides the catalogue's (the MADRS setting, O5).
    """
    spec = get_instrument(instrument)
    limit = spec.remission_max if remission_max is None else remission_max
    if pd.isna(row["baseline"]):
        return [f"No {spec.name} baseline: no pre-infusion score with a total in this course "
                "(O1), so no outcome can be computed."]
    baseline = int(row["baseline"])
    lines = [f"Baseline {spec.name} {baseline} ({severity(spec, baseline)}), from the pre "
             f"score of infusion {int(row['baseline_infusion'])}."]
    if pd.isna(row["latest"]):
        return [*lines, "No score after the baseline yet: not evaluable (O2)."]
    latest = int(row["latest"])
    where = observation_label(row["latest_timepoint"], int(row["latest_infusion"]))
    change = latest - baseline
    moved = "lower" if change < 0 else "higher" if change > 0 else "unchanged"
    amount = f"{abs(change)} points {moved}" if change else "unchanged"
    pct = "" if pd.isna(row["pct_change"]) else f" ({row['pct_change']:+.1f} %)"
    lines.append(f"Latest {latest} ({severity(spec, latest)}), the {where}: {amount}{pct}.")
    if baseline == 0:
        return [*lines, "Baseline 0: percent change and response are undefined (a convention: "
                        "the course is not evaluable)."]
    lines.append(_response_line(row, baseline))
    if limit is not None:
        lines.append(_remission_line(row, limit))
    if spec.rci is not None:
        lines.append(_reliable_line(row, spec.rci))
    after = row.get("after_n_score")
    if after is not None and not pd.isna(after):
        lines.append(f"After infusion {after_n}: {int(after)}"
                     f"{' (response)' if _true(row['after_n_response']) else ''}.")
    return lines


def _response_line(row: pd.Series, baseline: int) -> str:
    half = baseline / 2
    status = "Responder" if _true(row["response"]) else "Not a responder"
    line = f"{status} at the latest score (response: at or below {half:g}, half the baseline)."
    first = row["first_response_received"]
    if not pd.isna(first):
        line += f" First response after {int(first)} infusion(s)."
    return line


def _remission_line(row: pd.Series, limit: int) -> str:
    status = "In remission" if _true(row["remission"]) else "Not in remission"
    return f"{status} at the latest score (remission: {limit} or below)."


def _reliable_line(row: pd.Series, rci: int) -> str:
    if _true(row["reliable_improvement"]):
        return f"Reliable improvement (a fall of at least {rci} points)."
    if _true(row["reliable_deterioration"]):
        return f"Reliable deterioration (a rise of at least {rci} points)."
    return f"No reliable change (less than {rci} points either way)."


def _true(value: Any) -> bool:  # a cell: bool, NaN, pd.NA or None
    return bool(value) if not pd.isna(value) else False


def course_outcomes(
    obs: pd.DataFrame,
    *,
    after_n: int,
    timepoint_rule: str = "post",
    remission_max: dict[str, int] | None = None,
) -> pd.DataFrame:
    """Every course (all courses, C3 aside) and instrument of one patient: the engine's rows."""
    overrides = remission_max or {}
    tables = [
        course_table(obs, name, after_n=after_n, timepoint_rule=timepoint_rule,
                     remission_max=overrides.get(name), all_courses=True)
        for name in INSTRUMENT_NAMES if (obs["instrument"] == name).any()
    ]
    if not tables:
        return pd.DataFrame(columns=["course_key", "instrument", "course_number", "baseline"])
    frame = pd.concat(tables, ignore_index=True)
    return frame.sort_values("course_number", kind="stable").reset_index(drop=True)
