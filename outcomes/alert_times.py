"""Alert timing (issue 12 item 7): how long alerts stay open and how long a clinic takes
to acknowledge them. Pure: stdlib only.

Rules:

- Time to acknowledge = closed_at - opened_at of a *closed* alert, in minutes. Open
  alerts and 'historical' ones (imported, never opened for action) are not counted.
- Per clinic: the number of closed alerts, the median and the 90th percentile.
- Percentile method: linear interpolation between the order statistics (Hyndman & Fan
  type 7, the default of numpy and pandas, Excel's PERCENTILE.INC): for sorted values
  x[0..n-1] and q in [0, 1], position h = (n - 1) * q; the result is
  x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)]). The median is q = 0.5
  (the middle value, or the mean of the two middle values).
- An alert is overdue when it has been open for more than ``overdue_hours`` (protocol
  setting ``alert_overdue_hours``): exactly at the limit is not overdue yet.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile (0 <= q <= 1) by linear interpolation (type 7); None when empty."""
    if not 0 <= q <= 1:
        raise ValueError(f"q: must be between 0 and 1, not {q}")
    ordered = sorted(float(v) for v in values)
    if not ordered:
        return None
    h = (len(ordered) - 1) * q
    low = math.floor(h)
    if low + 1 >= len(ordered):
        return ordered[-1]
    return ordered[low] + (h - low) * (ordered[low + 1] - ordered[low])


def as_utc(moment: datetime) -> datetime:
    """A stored timestamp as aware UTC (the stores give naive UTC back)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def minutes_between(start: datetime, end: datetime) -> float:
    """Minutes from start to end (aware, or naive meaning UTC)."""
    return (as_utc(end) - as_utc(start)).total_seconds() / 60


def acknowledge_minutes(opened_at: datetime, closed_at: datetime | None) -> float | None:
    """Minutes from opening to closing, rounded to 0.1; None while open."""
    if closed_at is None:
        return None
    return round(minutes_between(opened_at, closed_at), 1)


def acknowledge_times(alerts: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per clinic (sorted by code): ``clinic``, ``n_closed``, ``median_minutes``,
    ``p90_minutes`` over the closed alerts. ``alerts``: dicts with ``clinic``,
    ``status``, ``opened_at`` and ``closed_at``."""
    by_clinic: dict[str, list[float]] = {}
    for alert in alerts:
        if alert["status"] != "closed" or alert.get("closed_at") is None:
            continue
        by_clinic.setdefault(alert["clinic"], []).append(
            minutes_between(alert["opened_at"], alert["closed_at"]))
    return [{"clinic": clinic, "n_closed": len(minutes),
             "median_minutes": percentile(minutes, 0.5),
             "p90_minutes": percentile(minutes, 0.9)}
            for clinic, minutes in sorted(by_clinic.items())]


def is_overdue(opened_at: datetime, now: datetime, overdue_hours: float) -> bool:
    """Open for more than ``overdue_hours``."""
    return minutes_between(opened_at, now) > overdue_hours * 60


def duration_text(minutes: float | None) -> str:
    """A duration for people: '45 min', '2 h 5 min', '3 d 4 h' ('—' when None)."""
    if minutes is None:
        return "—"
    total = max(0, round(minutes))
    days, rest = divmod(total, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def age_text(opened_at: datetime, now: datetime) -> str:
    """How long ago an alert opened: '2 h ago' (hours, days or minutes, rounded down)."""
    minutes = max(0, int(minutes_between(opened_at, now)))
    if minutes >= 24 * 60:
        return f"{minutes // (24 * 60)} d ago"
    if minutes >= 60:
        return f"{minutes // 60} h ago"
    return f"{minutes} min ago"
