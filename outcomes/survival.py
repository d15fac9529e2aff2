"""Kaplan-Meier product-limit estimate for time to first response / remission (O8).

OUTCOMES.md O8: the event time is the number of infusions received (C2) at the
first observation meeting the rule; a course that never meets it is censored at
the last infusions-received value observed. At a tied time, events are counted
before censorings: a course censored at t is still at risk at t (the usual
product-limit convention).

Time is measured in infusions received from the start of the course, not from
the baseline; a course whose baseline came from a later pre score is not treated
as a late entry (no left truncation).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import numpy.typing as npt

KM_COLUMNS = ("time", "n_at_risk", "n_events", "n_censored", "survival", "cumulative")


def kaplan_meier(times: Iterable[float], events: Iterable[bool]) -> pd.DataFrame:
    """Product-limit table, one row per distinct time (events or censorings).

    ``survival`` is S(t) just after t; ``cumulative`` = 1 - S(t), the probability
    that the event has happened by t.
    """
    t, e = _as_array(times, "float64"), _as_array(events, bool)
    if t.shape != e.shape or t.ndim != 1:
        raise ValueError("times and events must be one-dimensional and of the same length")
    if np.isnan(t).any():
        raise ValueError("times must not contain NaN")
    # np.unique(t, return_inverse=True), without sorting every course: a hash of the times,
    # then only the distinct ones sorted
    position, distinct = pd.factorize(t, sort=True)
    n_total = np.bincount(position, minlength=len(distinct))
    n_events = np.bincount(position, weights=e, minlength=len(distinct)).astype("int64")
    return product_limit(np.asarray(distinct, dtype="float64"), n_total, n_events)


def product_limit(times: np.ndarray, n_total: np.ndarray, n_events: np.ndarray) -> pd.DataFrame:
    """``kaplan_meier`` from counts: per distinct time (sorted), the courses whose time it
    is and how many of them had the event there (outcomes.tally keeps these counts)."""
    if np.isnan(times).any():
        raise ValueError("times must not contain NaN")
    # At risk at t: every course whose time is >= t (censored-at-t included).
    n_at_risk = int(n_total.sum()) - (np.cumsum(n_total) - n_total)
    survival = np.cumprod(1.0 - n_events / np.maximum(n_at_risk, 1))
    return pd.DataFrame(
        {
            "time": times,
            "n_at_risk": n_at_risk.astype("int64"),
            "n_events": n_events.astype("int64"),
            "n_censored": (n_total - n_events).astype("int64"),
            "survival": survival,
            "cumulative": 1.0 - survival,
        },
        columns=list(KM_COLUMNS),
    )


def _as_array(values: Iterable[Any], dtype: npt.DTypeLike) -> np.ndarray:
    return np.asarray(values if hasattr(values, "__len__") else list(values), dtype=dtype)


def cumulative_at(km: pd.DataFrame, t: float) -> float:
    """1 - S(t) read off the step function at ``t``; 0.0 before the first event."""
    reached = np.flatnonzero(km["time"].to_numpy(dtype="float64") <= t)
    if not len(reached):
        return 0.0
    return float(km["cumulative"].to_numpy()[reached[-1]])
