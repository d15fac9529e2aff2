"""Course rules of the infusion screen (issue 12 item 4), by hand cases."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from outcomes.course_rules import course_advice, default_type

D = date(2026, 3, 1)


def advice(status="active", dates=(), new=D, course_type="induction", n=6, window=21):
    return course_advice(course_type=course_type, status=status, infusion_dates=list(dates),
                         new_date=new, induction_length=n, lapse_window_days=window)


@pytest.mark.parametrize(("status", "closed"), [("active", False), ("completed", True),
                                            ("discontinued", True)])
def test_a_completed_or_discontinued_course_is_closed(status, closed):
    result = advice(status)
    assert (result.closed, result.needs_choice) == (closed, closed)


@pytest.mark.parametrize(("gap", "lapsed"), [(0, False), (21, False), (22, True), (240, True)])
def test_a_gap_longer_than_the_lapse_window_suggests_a_new_course(gap, lapsed):
    # infusions on D-gap-5 and D-gap (the later one counts), the new one on D
    result = advice(dates=[D - timedelta(days=gap), D - timedelta(days=gap + 5)])
    assert (result.gap_days, result.lapsed) == (gap, lapsed)


def test_the_lapse_window_is_the_setting():
    assert advice(dates=[D - timedelta(days=10)], window=7).lapsed
    assert not advice(dates=[D - timedelta(days=10)], window=10).lapsed


def test_no_infusion_yet_or_no_date_is_no_gap():
    assert (advice().gap_days, advice().lapsed) == (None, False)
    assert advice(dates=[D], new=None).gap_days is None


@pytest.mark.parametrize(("course_type", "n_saved", "length", "expected"), [
    ("induction", 0, 6, "induction"), ("induction", 5, 6, "induction"),
    ("induction", 6, 6, "booster"), ("induction", 9, 6, "booster"),
    ("induction", 4, 4, "booster"), ("maintenance", 0, 6, "maintenance"),
    ("maintenance", 8, 6, "maintenance"),
])
def test_the_type_defaults_to_booster_after_the_induction_length(course_type, n_saved, length,
                                                                 expected):
    assert default_type(course_type, n_saved, length) == expected
    dates = [D - timedelta(days=k) for k in range(n_saved, 0, -1)]
    assert advice(dates=dates, course_type=course_type, n=length).default_type == expected
