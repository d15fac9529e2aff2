"""Clinic-view tables built from a course table (``outcomes.engine.course_table``).

Rules, from OUTCOMES.md:

- Breakdowns (O7 rates by clinic, clinician, indication, route, dose band, month
  of course start) count and divide exactly as ``outcomes.summary.rate_block``
  does, so the clinic row of a breakdown equals the clinic block of the summary.
  A dimension value that is missing is shown as ``unknown``.
- O11 small cells: a cell with fewer than ``small_cell`` courses keeps its course
  counts and nulls every other figure (``outcomes.summary.suppress``).
- Waterfall: one bar per evaluable course (O2, baseline > 0), the O3 percent
  change of the latest score, sorted from the largest rise to the largest fall.
- Severity distribution: the band (OUTCOMES.md section 1) of the baseline and of
  the latest score, over the same courses: those with both (paired).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from outcomes.instruments import get_instrument
from outcomes.summary import rate_block, suppress

DIMENSION_LABELS = {
    "clinic": "Clinic",
    "clinician": "Clinician",
    "indication": "Indication",
    "route": "Route",
    "dose_band": "Dose band (mg/kg)",
    "start_month": "Month of course start",
}
UNKNOWN = "unknown"
BLOCK_KEYS = (
    "n_courses", "n_with_baseline", "n_evaluable", "n_baseline_in_remission", "responders",
    "remitters", "response_rate_observed", "response_rate_itt", "remission_rate_observed",
    "remission_rate_itt", "reliable_improvement", "reliable_deterioration",
    "reliable_improvement_rate", "reliable_deterioration_rate",
)  # the keys of outcomes.summary.rate_block, in its order  # fmt: skip


def with_start_month(table: pd.DataFrame) -> pd.DataFrame:
    """Add ``start_month`` ('2024-03'; 'unknown' when the course start is not known)."""
    start = pd.to_datetime(table["course_start"])
    month = start.dt.strftime("%Y-%m").astype("object")
    return table.assign(start_month=month.where(start.notna(), UNKNOWN))


def breakdown(
    table: pd.DataFrame,
    dimension: str,
    *,
    prefix: str = "after_n_",
    has_remission: bool = True,
    has_rci: bool = True,
    small_cell: int | None = None,
) -> pd.DataFrame:
    """One row per value of ``dimension``: the O4-O7 rate block, small cells suppressed (O11).

    ``prefix`` 'after_n_' uses the O7 score, '' the latest score. Columns: the
    dimension's value as ``group``, then the keys of ``rate_block`` and ``suppressed``.
    """
    if dimension == "start_month" and "start_month" not in table.columns:
        table = with_start_month(table)
    if dimension not in table.columns:
        raise ValueError(f"dimension: {dimension!r} is not a column of the course table")
    groups = table[dimension].astype("object").where(table[dimension].notna(), UNKNOWN)
    rows = []
    for value, courses in table.groupby(groups.astype(str), sort=True):
        block = rate_block(courses, prefix=prefix, has_remission=has_remission, has_rci=has_rci)
        rows.append({"group": value, **suppress(block, small_cell)})
    frame = pd.DataFrame(rows, columns=["group", *BLOCK_KEYS, "suppressed"])
    kinds = {key: "Float64" if "rate" in key else "Int64" for key in BLOCK_KEYS}
    return frame.astype({**kinds, "group": "object", "suppressed": "bool"})


WATERFALL_COLUMNS = ["course_key", "clinic", "baseline", "latest", "pct_change", "response",
                     "remission"]  # fmt: skip


def waterfall(table: pd.DataFrame) -> pd.DataFrame:
    """Evaluable courses' percent change at the latest score, largest rise first (O3):
    every bar of ``waterfall_order`` (one row per course of the course table)."""
    order = waterfall_order(table)
    return waterfall_bars(table, order, max_bars=max(len(order), 1))


MAX_BARS = 1500  # the waterfall draws at most this many bars (figures.charts)


@dataclass(frozen=True)
class WaterfallOrder:
    """The waterfall's order (O3) of a course table, as two arrays: the evaluable
    courses' keys and their ``-pct_change``, largest rise first, then by course (what
    ``waterfall`` sorts). Kept by the Outcomes page and patched after a save
    (``patched_order``), so the page draws its bars without sorting every course."""

    keys: np.ndarray
    fall: np.ndarray

    def __len__(self) -> int:
        return len(self.keys)


def waterfall_order(table: pd.DataFrame) -> WaterfallOrder:
    """The order: largest change first, then by course (one lexsort: its last key is the
    primary one)."""
    evaluable = table["evaluable"].to_numpy(dtype=bool, na_value=False)
    keys = table["course_key"].to_numpy(dtype="int64")[evaluable]
    fall = -table["pct_change"].to_numpy(dtype="float64", na_value=math.nan)[evaluable]
    order = np.lexsort((keys, fall))
    return WaterfallOrder(keys[order], fall[order])


def patched_order(before: WaterfallOrder, courses: np.ndarray,
                  rows: pd.DataFrame) -> WaterfallOrder:
    """``waterfall_order`` of a table whose rows of ``courses`` (course keys) changed, from
    ``before`` (the order of the table before) and ``rows`` (the table's rows of those
    courses now): their old places taken out and the new ones put in (a search per saved
    course, no sort of every course)."""
    keep = ~np.isin(before.keys, np.asarray(courses, dtype="int64"))
    keys, fall = before.keys[keep], before.fall[keep]
    fresh = waterfall_order(rows)
    places = []
    for new_fall, key in zip(fresh.fall.tolist(), fresh.keys.tolist(), strict=True):
        low = int(np.searchsorted(fall, new_fall, side="left"))
        high = int(np.searchsorted(fall, new_fall, side="right"))
        places.append(low + int(np.searchsorted(keys[low:high], key)))
    # equal places keep the fresh order (np.insert sorts its places stably)
    return WaterfallOrder(np.insert(keys, places, fresh.keys),
                          np.insert(fall, places, fresh.fall))


def waterfall_bars(table: pd.DataFrame, order: WaterfallOrder,
                   max_bars: int = MAX_BARS) -> pd.DataFrame:
    """The rows of ``waterfall(table)`` the chart draws: all of them up to ``max_bars``,
    else every ``ceil(n / max_bars)``-th (``figures.charts.waterfall_figure``), with their
    rank in the whole order; found by course key, not by sorting the table."""
    total = len(order)
    step = -(-total // max_bars) if total > max_bars else 1
    ranks = np.arange(0, total, step)
    keys = order.keys[ranks]
    course_keys = table["course_key"].to_numpy(dtype="int64")
    if len(course_keys) < 2 or bool((course_keys[1:] > course_keys[:-1]).all()):
        at = np.searchsorted(course_keys, keys)  # a table in course order (the usual)
    else:
        at = pd.Index(course_keys).get_indexer(keys)
    return table[WATERFALL_COLUMNS].take(at).reset_index(drop=True).assign(rank=ranks + 1)


def severity_distribution(table: pd.DataFrame, instrument: str) -> pd.DataFrame:
    """Courses per severity band at baseline and at the latest score (paired courses only)."""
    spec = get_instrument(instrument)
    paired = (table["baseline"].notna() & table["latest"].notna()).to_numpy(dtype=bool)
    # the two scores only, as numbers (selecting rows of the whole table copies every column)
    baseline = table["baseline"].to_numpy(dtype="float64", na_value=math.nan)[paired]
    latest = table["latest"].to_numpy(dtype="float64", na_value=math.nan)[paired]
    rows = []
    for band in spec.bands:  # between low and high, both included
        at_baseline = (baseline >= band.low) & (baseline <= band.high)
        at_latest = (latest >= band.low) & (latest <= band.high)
        rows.append({"band": band.label, "low": band.low, "high": band.high,
                     "baseline": int(at_baseline.sum()), "latest": int(at_latest.sum())})
    return pd.DataFrame(rows, columns=["band", "low", "high", "baseline", "latest"])


def severity_of_counts(tally: Mapping[Any, int], instrument: str) -> pd.DataFrame:
    """``severity_distribution`` from an instrument's counts (``outcomes.tally``: paired
    courses per baseline total and per latest total), so a kept and patched count gives the
    bands without a pass over the table."""
    from outcomes.tally import SCORE

    spec = get_instrument(instrument)
    scores: dict[str, list[tuple[float, int]]] = {"baseline": [], "latest": []}
    for key, count in tally.items():
        if key[0] == SCORE:
            scores[key[1]].append((key[2], count))
    rows = [{"band": band.label, "low": band.low, "high": band.high,
             **{when: sum(count for value, count in scores[when]
                          if band.low <= value <= band.high)
                for when in ("baseline", "latest")}}
            for band in spec.bands]
    return pd.DataFrame(rows, columns=["band", "low", "high", "baseline", "latest"])


def wilson_interval(successes: int, total: int, z: float = 1.96) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (95 % with z = 1.96); None when total is 0.

    Shown around observed rates so that differences between small groups are read with
    care (an addition of this app, not an OUTCOMES.md rule).
    """
    if total <= 0:
        return None
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def with_response_interval(table: pd.DataFrame) -> pd.DataFrame:
    """Add ``response_ci_low`` / ``response_ci_high`` (Wilson, observed response) per group;
    null for suppressed cells."""
    bounds = [
        None if suppressed or pd.isna(k) else wilson_interval(int(k), int(n))
        for k, n, suppressed in zip(table["responders"], table["n_evaluable"],
                                    table["suppressed"], strict=True)
    ]
    return table.assign(
        response_ci_low=pd.array([b[0] if b else None for b in bounds], dtype="Float64"),
        response_ci_high=pd.array([b[1] if b else None for b in bounds], dtype="Float64"),
    )
