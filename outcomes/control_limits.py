"""Response after infusion N over calendar time and across clinics (OUTCOMES.md section 7).

Both figures use the observed response after N (O7): ``after_n_evaluable`` and
``after_n_response`` of ``outcomes.engine.course_table``.

- D2 p-chart: courses grouped by the month of their first infusion (the engine's
  ``first_infusion_date``; the course start when unknown), 'YYYY-MM' ('YYYY-Qn' for the
  quarterly view), one block per period with at least one
  course. centre = total responders / total evaluable over all periods;
  lower/upper = centre -/+ 3 sqrt(centre (1 - centre) / n), clipped to [0, 1];
  signal 'above'/'below' when the rate lies outside them, else null.
- D3 funnel plot: target = the observed response rate over all courses of the result;
  per group (clinic, clinician) the 95 % (z = 1.96) and 99.8 % (z = 3.09) limits
  target -/+ z sqrt(target (1 - target) / n), clipped; signal outside 99.8 %.
- Small cells (O11): a block with fewer evaluable courses than the threshold keeps its
  counts and has null rate, limits and signal; its courses still count in the centre or
  target.
- The normal approximation is a convention (exact binomial limits are the alternative).
- Rates and limits are fractions rounded to 4 decimals, computed from unrounded values;
  the signal compares unrounded values.
- Case mix (screen only): indirect standardisation by baseline severity band: expected =
  sum over a group's evaluable courses of the overall response rate of their band;
  observed / expected ratio.

Decision: a course without a first infusion date or a start date belongs to no period
(and so not to the centre).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from outcomes.instruments import get_instrument
from outcomes.tally import mask

P_CHART_Z = 3.0
FUNNEL_Z = {"95": 1.96, "998": 3.09}
PERIODS = ("month", "quarter")


def _flags(table: pd.DataFrame, column: str) -> pd.Series:
    """A flag column as plain booleans (NA = False)."""
    flags = table[column]
    return flags if flags.dtype == bool else pd.Series(mask(flags), index=flags.index)


def _counts(table: pd.DataFrame) -> pd.DataFrame:
    """Per course: evaluable (0/1) and responder (0/1) after N (O7, observed)."""
    evaluable = _flags(table, "after_n_evaluable")
    return pd.DataFrame({"evaluable": evaluable.astype("int64"),
                         "responder": (evaluable & _flags(table, "after_n_response"))
                         .astype("int64")}, index=table.index)


def _limits(centre: float, n: int, z: float) -> tuple[float, float]:
    half = z * math.sqrt(centre * (1 - centre) / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _small(n: int, small_cell: int | None) -> bool:
    return n == 0 or (small_cell is not None and n < small_cell)


def period_labels(starts: pd.Series, period: str = "month") -> pd.Series:
    """'YYYY-MM' (or 'YYYY-Qn') of each course start; null when unknown."""
    position, names = period_codes(starts, period)
    labels = np.full(len(position), None, dtype=object)
    known = position >= 0
    labels[known] = names[position[known]]
    return pd.Series(labels, index=starts.index, dtype="object")


def period_codes(starts: pd.Series, period: str = "month") -> tuple[np.ndarray, np.ndarray]:
    """``period_labels`` as positions in its sorted distinct labels (-1 when unknown) and
    those labels: each distinct period is formatted once, not each course."""
    if period not in PERIODS:
        raise ValueError(f"period: must be one of {', '.join(PERIODS)}")
    start = pd.to_datetime(starts)
    known = start.notna().to_numpy()
    position = np.full(len(start), -1, dtype="int64")
    if period == "month":  # distinct months by a hash of their numbers, then formatted
        months = start.to_numpy().astype("datetime64[M]")
        codes, distinct = pd.factorize(months.view("int64")[known], sort=True)
        names = np.array([str(m) for m in distinct.astype("datetime64[M]")], dtype=object)
    else:
        labels = (start.dt.year.astype("Int64").astype(str) + "-Q"
                  + start.dt.quarter.astype("Int64").astype(str))
        codes, quarters = pd.factorize(labels[known].astype("object"), sort=True)
        names = np.asarray(quarters, dtype=object)
    position[known] = codes
    return position, names


def course_months(table: pd.DataFrame) -> pd.Series:
    """The day each course is dated by in D2: its first infusion, else its start date."""
    start = pd.to_datetime(table["course_start"])
    if "first_infusion_date" not in table.columns:
        return start
    return pd.to_datetime(table["first_infusion_date"]).fillna(start)


def p_chart(table: pd.DataFrame, *, small_cell: int | None,
            period: str = "month") -> dict[str, dict[str, Any]]:
    """D2: one block per period (sorted), keyed by the period label."""
    counts = _counts(table)
    position, periods = period_codes(course_months(table), period)  # periods sorted
    known = position >= 0
    codes = position[known]

    def total(flags: pd.Series) -> np.ndarray:
        return np.bincount(codes, weights=flags.to_numpy(dtype="float64")[known],
                           minlength=len(periods)).astype("int64")

    evaluable, responders = total(counts["evaluable"]), total(counts["responder"])
    return p_chart_from_counts([str(label) for label in periods], evaluable.tolist(),
                               responders.tolist(), small_cell=small_cell)


def p_chart_from_counts(periods: list[str], evaluable: list[int], responders: list[int], *,
                        small_cell: int | None) -> dict[str, dict[str, Any]]:
    """D2 blocks from per-period counts (periods sorted, each with at least one course)."""
    total_n, total_k = int(sum(evaluable)), int(sum(responders))
    centre = total_k / total_n if total_n else None
    blocks: dict[str, dict[str, Any]] = {}
    for label, n_of, k_of in zip(periods, evaluable, responders, strict=True):
        n, k = int(n_of), int(k_of)
        block: dict[str, Any] = {
            "n_evaluable": n, "responders": k, "rate": None, "centre": _round(centre),
            "lower": None, "upper": None, "signal": None}
        if centre is not None and not _small(n, small_cell):
            rate = k / n
            lower, upper = _limits(centre, n, P_CHART_Z)
            block.update(rate=_round(rate), lower=_round(lower), upper=_round(upper),
                         signal=_signal(rate, lower, upper))
        blocks[str(label)] = block
    return blocks


def _signal(rate: float, lower: float, upper: float) -> str | None:
    if rate > upper:
        return "above"
    if rate < lower:
        return "below"
    return None


def funnel_from_counts(counts: Mapping[str, Any] | pd.DataFrame, *, target: float | None,
                       small_cell: int | None) -> dict[str, dict[str, Any]]:
    """D3 blocks from per-group counts (columns or lists ``group``, ``n_evaluable``,
    ``responders``)."""
    blocks: dict[str, dict[str, Any]] = {}
    for group, n, k in zip(counts["group"], counts["n_evaluable"], counts["responders"],
                           strict=True):
        n = int(n)
        k = None if pd.isna(k) else int(k)
        block: dict[str, Any] = {
            "n_evaluable": n, "responders": k, "rate": None, "target": _round(target),
            "lower95": None, "upper95": None, "lower998": None, "upper998": None,
            "signal": None}
        if target is not None and k is not None and not _small(n, small_cell):
            rate = k / n
            lo95, hi95 = _limits(target, n, FUNNEL_Z["95"])
            lo998, hi998 = _limits(target, n, FUNNEL_Z["998"])
            block.update(rate=_round(rate), lower95=_round(lo95), upper95=_round(hi95),
                         lower998=_round(lo998), upper998=_round(hi998),
                         signal=_signal(rate, lo998, hi998))
        blocks[str(group)] = block
    return blocks


def group_counts(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """Evaluable courses and responders after N per value of ``column`` (null -> 'unknown')."""
    counts = _counts(table)
    values = table[column]
    if isinstance(values.dtype, pd.StringDtype):  # text already: only the missing named
        groups = values.fillna("unknown")
    else:
        groups = values.astype("object").where(values.notna(), "unknown").astype(str)
    codes, names = pd.factorize(groups, sort=True)  # the groupby's groups, in its order

    def total(flags: pd.Series) -> np.ndarray:
        return np.bincount(codes, weights=flags.to_numpy(dtype="float64"),
                           minlength=len(names)).astype("int64")

    return pd.DataFrame({"group": pd.Index(names).astype(str),
                         "n_evaluable": total(counts["evaluable"]),
                         "responders": total(counts["responder"])})


def overall_target(table: pd.DataFrame) -> float | None:
    """The observed response rate after N over every course of the table (unrounded)."""
    counts = _counts(table)
    n = int(counts["evaluable"].sum())
    return int(counts["responder"].sum()) / n if n else None


def funnel(table: pd.DataFrame, *, column: str = "clinic",
           small_cell: int | None) -> dict[str, dict[str, Any]]:
    """D3: one block per value of ``column`` with at least one course of the table."""
    return funnel_from_counts(group_counts(table, column), target=overall_target(table),
                              small_cell=small_cell)


def case_mix(table: pd.DataFrame, instrument: str, *, column: str = "clinic",
             small_cell: int | None) -> pd.DataFrame:
    """Indirect standardisation by baseline severity band (screen only).

    expected = sum over the group's evaluable courses of the overall observed response
    rate of their baseline band; ratio = responders / expected. Small groups (fewer
    evaluable courses than ``small_cell``) keep counts only.
    """
    spec = get_instrument(instrument)
    counts = _counts(table)
    evaluable = counts[counts["evaluable"] == 1]
    bands = table.loc[evaluable.index, "baseline"].map(
        lambda total: next((b.label for b in spec.bands if b.low <= total <= b.high), None))
    band_rate = evaluable["responder"].groupby(bands).mean()
    expected = bands.map(band_rate)
    groups = table[column].astype("object").where(table[column].notna(), "unknown").astype(str)
    frame = pd.DataFrame({"group": groups.loc[evaluable.index], "responder": evaluable["responder"],
                          "expected": expected})
    rows = []
    for group in sorted(groups.unique()):
        rows_of = frame[frame["group"] == group]
        n, k, e = len(rows_of), int(rows_of["responder"].sum()), float(rows_of["expected"].sum())
        small = _small(n, small_cell)
        rows.append({"group": group, "n_evaluable": n, "responders": None if small else k,
                     "expected": None if small else round(e, 2),
                     "ratio": None if small or e == 0 else round(k / e, 2),
                     "suppressed": small})
    return pd.DataFrame(rows, columns=["group", "n_evaluable", "responders", "expected",
                                       "ratio", "suppressed"])
