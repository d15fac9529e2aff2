"""outcomes.breakdowns: rates by dimension with small cells suppressed (O7, O11), the
waterfall (O3) and the severity distribution, counted by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from outcomes.breakdowns import (
    breakdown,
    severity_distribution,
    waterfall,
    wilson_interval,
    with_response_interval,
    with_start_month,
)
from outcomes.engine import course_table
from outcomes.summary import summarize
from tests.outcomes.factories import obs_frame, pre_post

JAN, FEB = pd.Timestamp("2024-01-10"), pd.Timestamp("2024-02-03")
# PHQ-9, after_n = 2 (post 2); pre 1, post 1, pre 2, post 2.
#   c1 dr.a TRD  IV  Jan: 20 12 14 10  post 2 = 10: 2x10 = 20 <= 20 response; 10 > 4;
#                                      20-10 = 10 >= 6 reliable improvement
#   c2 dr.a TRD  IV  Jan: 15 7 9 4     post 2 = 4: response, remission (4 <= 4), improvement
#   c3 dr.a MDD  IV  Feb: 8 5          no post 2: baseline, not evaluable after 2
#   c4 dr.b MDD  IM  Feb: 12 10 11 13  post 2 = 13: 26 > 12 no response, +1 no deterioration
#   c5 (none) MDD IV  ?  : 18 9 10 9   post 2 = 9: 18 <= 18 response; 9 > 4; 18-9 = 9 >= 6
COURSES = {
    1: {"clinician": "dr.a", "indication": "TRD", "route": "IV", "course_start": JAN},
    2: {"clinician": "dr.a", "indication": "TRD", "route": "IV", "course_start": JAN},
    3: {"clinician": "dr.a", "indication": "MDD", "route": "IV", "course_start": FEB},
    4: {"clinician": "dr.b", "indication": "MDD", "route": "IM", "course_start": FEB},
    5: {"clinician": None, "indication": "MDD", "route": "IV", "course_start": pd.NaT},
}
ROWS = [*pre_post(1, 20, 12, 14, 10), *pre_post(2, 15, 7, 9, 4), *pre_post(3, 8, 5),
        *pre_post(4, 12, 10, 11, 13), *pre_post(5, 18, 9, 10, 9)]


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return course_table(obs_frame(ROWS, courses=COURSES), "PHQ-9", after_n=2)


def row(frame: pd.DataFrame, group: str) -> dict:
    found = frame[frame["group"] == group]
    assert len(found) == 1, group
    return {k: (None if pd.isna(v) else v) for k, v in found.iloc[0].to_dict().items()}


def test_breakdown_by_clinician_with_small_cells(table):
    result = breakdown(table, "clinician", small_cell=3)
    assert list(result["group"]) == ["dr.a", "dr.b", "unknown"]
    a = row(result, "dr.a")  # c1 c2 c3: 3 with baseline, 2 evaluable, both respond
    assert (a["n_courses"], a["n_with_baseline"], a["n_evaluable"]) == (3, 3, 2)
    assert (a["responders"], a["remitters"], a["suppressed"]) == (2, 1, False)
    assert a["response_rate_observed"] == 1.0 and a["response_rate_itt"] == 0.6667  # 2/3
    assert a["remission_rate_observed"] == 0.5 and a["remission_rate_itt"] == 0.3333  # 1/3
    assert (a["reliable_improvement"], a["reliable_deterioration"]) == (2, 0)
    b = row(result, "dr.b")  # 1 course < 3: counts kept, every other figure suppressed
    assert (b["n_courses"], b["n_with_baseline"], b["n_evaluable"], b["suppressed"]) == (
        1, 1, 1, True)
    assert b["responders"] is None and b["response_rate_observed"] is None
    assert b["remitters"] is None and b["reliable_improvement"] is None
    assert row(result, "unknown")["suppressed"] is True  # c5 has no clinician


@pytest.mark.parametrize(("small_cell", "suppressed"), [(2, False), (3, True), (None, False)])
def test_small_cell_boundary(table, small_cell, suppressed):
    # TRD has 2 courses: shown at a threshold of 2 (2 is not below 2), suppressed at 3.
    trd = row(breakdown(table, "indication", small_cell=small_cell), "TRD")
    assert trd["suppressed"] is suppressed
    assert (trd["responders"] is None) is suppressed


def test_breakdown_by_indication_and_route(table):
    mdd = row(breakdown(table, "indication", small_cell=3), "MDD")  # c3 c4 c5
    assert (mdd["n_courses"], mdd["n_evaluable"], mdd["responders"]) == (3, 2, 1)  # c5
    assert mdd["response_rate_observed"] == 0.5 and mdd["response_rate_itt"] == 0.3333
    assert mdd["remitters"] == 0
    iv = row(breakdown(table, "route"), "IV")  # c1 c2 c3 c5; no threshold
    assert (iv["n_courses"], iv["n_evaluable"], iv["responders"]) == (4, 3, 3)


def test_breakdown_by_month_of_course_start(table):
    assert list(with_start_month(table)["start_month"]) == [
        "2024-01", "2024-01", "2024-02", "2024-02", "unknown"]
    result = breakdown(table, "start_month")
    assert list(result["group"]) == ["2024-01", "2024-02", "unknown"]
    feb = row(result, "2024-02")  # c3 not evaluable, c4 no response
    assert (feb["n_courses"], feb["n_evaluable"], feb["responders"]) == (2, 1, 0)
    assert feb["response_rate_itt"] == 0.0


def test_breakdown_on_the_latest_score(table):
    # latest: c3 post 1 = 5 (10 > 8, no response); the others as after 2
    a = row(breakdown(table, "clinician", prefix=""), "dr.a")
    assert (a["n_evaluable"], a["responders"]) == (3, 2)
    assert a["response_rate_observed"] == 0.6667


def test_clinic_breakdown_equals_the_summary_by_clinic_block():
    courses = {k: {**v, "clinic": "North" if k <= 3 else "South"} for k, v in COURSES.items()}
    obs = obs_frame(ROWS, courses=courses)
    summary = summarize(obs, instruments=["PHQ-9"], after_n=2, small_cell=3)["PHQ-9"]
    result = breakdown(course_table(obs, "PHQ-9", after_n=2), "clinic", small_cell=3)
    for clinic, block in summary["by_clinic_after_infusion_2"].items():
        assert row(result, clinic) == {"group": clinic, **block}


def test_unknown_dimension_is_refused(table):
    with pytest.raises(ValueError, match="dimension"):
        breakdown(table, "shoe_size")


def test_waterfall_orders_courses_from_largest_rise(table):
    result = waterfall(table)
    # c4 12 -> 13 (+8.33 %), c3 8 -> 5 (-37.5), c1 20 -> 10 (-50), c5 18 -> 9 (-50),
    # c2 15 -> 4 (-73.33); ties by course key.
    assert list(result["course_key"]) == [4, 3, 1, 5, 2]
    assert list(result["rank"]) == [1, 2, 3, 4, 5]
    assert result["pct_change"].round(2).tolist() == [8.33, -37.5, -50.0, -50.0, -73.33]
    assert result["response"].tolist() == [False, False, True, True, True]


def test_waterfall_leaves_out_baseline_zero_and_unscored():
    obs = obs_frame([*pre_post(1, 0, 0), (2, 1, "pre", 10), *pre_post(3, 10, 6)])
    assert list(waterfall(course_table(obs, "PHQ-9"))["course_key"]) == [3]


def test_severity_distribution_counts_paired_courses(table):
    result = severity_distribution(table, "PHQ-9").set_index("band")
    # baselines 20 15 8 12 18; latest 10 4 5 13 9 (bands inclusive: 4 minimal, 5 mild ...)
    assert result["baseline"].to_dict() == {"minimal": 0, "mild": 1, "moderate": 1,
                                            "moderately severe": 2, "severe": 1}
    assert result["latest"].to_dict() == {"minimal": 1, "mild": 2, "moderate": 2,
                                          "moderately severe": 0, "severe": 0}


@pytest.mark.parametrize(("k", "n", "expected"), [
    (2, 4, (0.15, 0.85)),  # centre (0.5 + 1.96^2/8) / (1 + 1.96^2/4) = 0.5, half 0.35
    (0, 5, (0.0, 0.4345)),  # upper = 2 x (1.96^2/10) / (1 + 1.96^2/5)
    (5, 5, (0.5655, 1.0)),
])
def test_wilson_interval(k, n, expected):
    low, high = wilson_interval(k, n)
    assert (round(low, 4), round(high, 4)) == expected


def test_response_interval_is_left_out_for_suppressed_cells(table):
    result = with_response_interval(breakdown(table, "clinician", small_cell=3))
    a, b = row(result, "dr.a"), row(result, "dr.b")
    assert (round(a["response_ci_low"], 4), a["response_ci_high"]) == (0.3424, 1.0)  # 2 of 2
    assert b["response_ci_low"] is None and wilson_interval(1, 0) is None
