"""Alert timing: percentiles (linear interpolation, type 7), time to acknowledge per clinic,
overdue mark and the human durations. Expected values computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from outcomes.alert_times import (
    acknowledge_minutes,
    acknowledge_times,
    age_text,
    duration_text,
    is_overdue,
    percentile,
)

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(("values", "q", "expected"), [
    ([10, 20, 30, 40], 0.5, 25.0),    # even count: mean of 20 and 30
    ([10, 20, 30, 40], 0.9, 37.0),    # h = 3 * 0.9 = 2.7 -> 30 + 0.7 * (40 - 30)
    ([120, 30, 60], 0.5, 60.0),       # sorted 30, 60, 120
    ([120, 30, 60], 0.9, 108.0),      # h = 2 * 0.9 = 1.8 -> 60 + 0.8 * (120 - 60)
    ([5], 0.9, 5.0),
    ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9, 9.1),  # h = 8.1 -> 9 + 0.1 * 1
    ([7, 9], 1.0, 9.0),
    ([7, 9], 0.0, 7.0),
])
def test_percentile_interpolates_linearly(values, q, expected):
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_of_nothing_is_none_and_q_is_checked():
    assert percentile([], 0.5) is None
    with pytest.raises(ValueError, match="q: must be between 0 and 1"):
        percentile([1], 90)


def _alert(clinic, status, opened_minutes_after_t0, closed_after_opening):
    opened = T0 + timedelta(minutes=opened_minutes_after_t0)
    closed = None if closed_after_opening is None else opened + timedelta(
        minutes=closed_after_opening)
    return {"clinic": clinic, "status": status, "opened_at": opened, "closed_at": closed}


def test_time_to_acknowledge_per_clinic_counts_closed_alerts_only():
    alerts = [
        _alert("CL2", "closed", 0, 90),
        _alert("CL1", "closed", 0, 10), _alert("CL1", "closed", 5, 40),
        _alert("CL1", "closed", 50, 20), _alert("CL1", "closed", 9, 30),
        _alert("CL1", "open", 0, None),           # still open: not counted
        _alert("CL1", "historical", 0, None),     # imported, never acted on: not counted
    ]
    assert acknowledge_times(alerts) == [
        # CL1: 10, 20, 30, 40 -> median 25, p90 37 (see above)
        {"clinic": "CL1", "n_closed": 4, "median_minutes": 25.0, "p90_minutes": 37.0},
        {"clinic": "CL2", "n_closed": 1, "median_minutes": 90.0, "p90_minutes": 90.0},
    ]


def test_naive_stored_times_count_as_utc():
    naive_open = datetime(2026, 3, 1, 8, 0)
    assert acknowledge_minutes(naive_open, T0 + timedelta(minutes=75)) == 75.0
    assert acknowledge_minutes(T0, None) is None
    assert acknowledge_minutes(T0, T0 + timedelta(seconds=90)) == 1.5


def test_overdue_means_open_longer_than_the_setting():
    assert not is_overdue(T0, T0 + timedelta(hours=24), 24)  # exactly at the limit
    assert is_overdue(T0, T0 + timedelta(hours=24, minutes=1), 24)
    assert is_overdue(T0, T0 + timedelta(hours=3), 2)


@pytest.mark.parametrize(("minutes", "text"), [
    (None, "—"), (0, "0 min"), (45, "45 min"), (60, "1 h"), (125, "2 h 5 min"),
    (24 * 60, "1 d"), (3 * 24 * 60 + 4 * 60 + 10, "3 d 4 h"), (37.0, "37 min"),
])
def test_duration_text(minutes, text):
    assert duration_text(minutes) == text


@pytest.mark.parametrize(("elapsed", "text"), [
    (timedelta(minutes=5), "5 min ago"), (timedelta(hours=2, minutes=59), "2 h ago"),
    (timedelta(days=1, hours=5), "1 d ago"), (timedelta(seconds=-30), "0 min ago"),
])
def test_age_text(elapsed, text):
    assert age_text(T0, T0 + elapsed) == text
