"""outcomes.engine: the per-course table (OUTCOMES.md C2, C3, O1-O8, O10).

Every expected value is worked out by hand from the rule it pins, in the
comment beside it; nothing is copied from the code under test.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from outcomes.engine import add_order_columns, course_table, order_observations, select_courses
from tests.outcomes.factories import concat_obs, generated_obs, obs_frame, pre_post

NA = pd.NA


def table(rows, instrument="PHQ-9", *, courses=None, **settings) -> pd.DataFrame:
    """course_table of a frame built from tuples, indexed by course_key."""
    obs = obs_frame(rows, instrument=instrument, courses=courses)
    return course_table(obs, instrument, **settings).set_index("course_key")


def one(rows, instrument="PHQ-9", **settings) -> dict:
    """The single course row of ``table``, numpy booleans as Python ones (for ``is``)."""
    result = table(rows, instrument, **settings)
    assert len(result) == 1
    return {key: plain(value) for key, value in result.iloc[0].items()}


def plain(value):
    return bool(value) if isinstance(value, np.bool_) else value


# --- C2: order and infusions received ---------------------------------------


def test_received_is_k_after_post_and_k_minus_1_before_pre():
    obs = obs_frame([(1, 1, "pre", 20), (1, 1, "post", 15), (1, 4, "pre", 12), (1, 4, "post", 9)])
    # pre 1 -> 0, post 1 -> 1, pre 4 -> 3, post 4 -> 4
    assert add_order_columns(obs)["received"].tolist() == [0, 1, 3, 4]


def test_order_is_infusion_then_pre_before_post_then_date():
    day = pd.Timestamp
    obs = obs_frame(
        [
            (1, 2, "pre", 14, None, day("2024-01-02")),  # infusion 2, earliest date
            (1, 1, "post", 9, None, day("2024-01-09")),  # second post 1 (later date)
            (1, 1, "post", 12, None, day("2024-01-08")),  # first post 1
            (1, 1, "pre", 20, None, day("2024-01-08")),
        ]
    )
    # infusion 1 before 2 whatever the dates; pre 1 before post 1; then the posts by date
    assert order_observations(obs)["total"].tolist() == [20, 12, 9, 14]


# --- O1 baseline ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "baseline", "infusion"),
    [
        # infusion 1 has only a post score: the baseline is the pre score of infusion 2
        ([(1, 1, "post", 18), (1, 2, "pre", 16), (1, 2, "post", 9)], 16, 2),
        # pre 1 incomplete (no total, S2): baseline from pre 2
        ([(1, 1, "pre", None), (1, 1, "post", 15), (1, 2, "pre", 17), (1, 2, "post", 8)], 17, 2),
        # the usual case: pre 1
        (pre_post(1, 20, 12), 20, 1),
    ],
)
def test_baseline_is_first_pre_score_with_a_total(rows, baseline, infusion):
    row = one(rows)
    assert row["has_baseline"]
    assert row["baseline"] == baseline
    assert row["baseline_infusion"] == infusion


@pytest.mark.parametrize(
    "rows",
    [
        [(1, 1, "post", 18), (1, 2, "post", 9)],  # post scores only: never a baseline
        [(1, 1, "pre", None), (1, 1, "post", 15)],  # the only pre has no total
    ],
)
def test_course_without_a_scored_pre_has_no_baseline(rows):
    row = one(rows)
    assert not row["has_baseline"]
    assert math.isnan(row["baseline"])
    assert math.isnan(row["latest"])  # O2 needs a baseline
    assert not row["evaluable"]
    assert row["response"] is NA


# --- O2 latest -------------------------------------------------------------------


def test_latest_is_the_last_scored_observation_after_baseline():
    row = one([(1, 1, "pre", 20), (1, 1, "post", 12), (1, 2, "pre", 15), (1, 2, "post", None)])
    # post 2 has no total; the last scored one is pre 2: 15, received 2 - 1 = 1
    assert (row["latest"], row["latest_infusion"], row["latest_timepoint"]) == (15, 2, "pre")
    assert row["latest_received"] == 1
    assert row["change"] == -5  # 15 - 20
    assert row["pct_change"] == -25.0  # 100 x -5 / 20
    assert not row["response"]  # 2 x 15 = 30 > 20


def test_infusion_number_outranks_date_for_latest():
    day = pd.Timestamp
    rows = [
        (1, 1, "pre", 20, None, day("2024-01-10")),
        (1, 1, "post", 10, None, day("2024-01-10")),
        (1, 2, "pre", 14, None, day("2024-01-05")),  # earlier date, later infusion
    ]
    assert one(rows)["latest"] == 14


def test_a_score_before_the_baseline_is_not_latest():
    # post 1 (18) precedes the baseline (pre 2): nothing comes after the baseline
    row = one([(1, 1, "post", 18), (1, 2, "pre", 16)])
    assert row["baseline"] == 16
    assert math.isnan(row["latest"])
    assert not row["evaluable"]
    assert row["last_received"] == 1  # the baseline itself, pre 2 -> 1


# --- O3 / O4 change and response ---------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "latest", "response", "pct_change"),
    [
        (20, 10, True, -50.0),  # 2 x 10 = 20 <= 20
        (21, 11, False, -1000 / 21),  # 2 x 11 = 22 > 21 (47.6 %, not 50 %)
        (21, 10, True, -1100 / 21),  # 20 <= 21
        (20, 11, False, -45.0),  # 22 > 20
        (20, 24, False, 20.0),  # worse
    ],
)
def test_response_is_the_exact_integer_test(baseline, latest, response, pct_change):
    row = one(pre_post(1, baseline, latest))
    assert row["evaluable"]
    assert row["response"] is response
    assert row["change"] == latest - baseline
    assert row["pct_change"] == pytest.approx(pct_change)


def test_baseline_zero_is_not_evaluable():
    row = one(pre_post(1, 0, 0))
    assert row["has_baseline"] and row["latest"] == 0
    assert not row["evaluable"]  # decision: O3/O4 undefined at baseline 0
    assert row["change"] == 0
    assert math.isnan(row["pct_change"])
    assert row["response"] is NA and row["remission"] is NA
    assert row["baseline_in_remission"] is True  # 0 <= 4


# --- O5 remission ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("instrument", "baseline", "latest", "override", "remission"),
    [
        ("PHQ-9", 20, 4, None, True),  # 4 <= 4
        ("PHQ-9", 20, 5, None, False),  # 5 > 4
        ("GAD-7", 15, 4, None, True),
        ("GAD-7", 15, 5, None, False),
        ("MADRS", 30, 10, None, True),  # default setting <= 10
        ("MADRS", 30, 11, None, False),
        ("MADRS", 30, 11, 12, True),  # setting <= 12
        ("MADRS", 30, 12, 12, True),
        ("MADRS", 30, 13, 12, False),
        ("QIDS-SR16", 18, 5, None, True),  # <= 5
        ("QIDS-SR16", 18, 6, None, False),
        ("PCL-5", 50, 10, None, NA),  # no remission rule
    ],
)
def test_remission_boundaries(instrument, baseline, latest, override, remission):
    row = one(pre_post(1, baseline, latest), instrument, remission_max=override)
    assert row["remission"] is remission


def test_baseline_in_remission_uses_the_override():
    # MADRS baseline 11: not in remission at <= 10, in remission at <= 12
    assert one(pre_post(1, 11, 3), "MADRS")["baseline_in_remission"] is False
    assert one(pre_post(1, 11, 3), "MADRS", remission_max=12)["baseline_in_remission"] is True


# --- O6 reliable change, caseness ------------------------------------------------------


@pytest.mark.parametrize(
    ("instrument", "baseline", "latest", "improvement", "deterioration"),
    [
        ("PHQ-9", 20, 14, True, False),  # drop 6 >= 6
        ("PHQ-9", 20, 15, False, False),  # drop 5
        ("PHQ-9", 10, 16, False, True),  # rise 6 >= 6
        ("PHQ-9", 10, 15, False, False),  # rise 5
        ("GAD-7", 12, 8, True, False),  # drop 4 >= 4
        ("GAD-7", 12, 9, False, False),  # drop 3
        ("GAD-7", 5, 9, False, True),  # rise 4
        ("MADRS", 30, 10, NA, NA),  # no RCI
    ],
)
def test_reliable_change_boundaries(instrument, baseline, latest, improvement, deterioration):
    row = one(pre_post(1, baseline, latest), instrument)
    assert row["reliable_improvement"] is improvement
    assert row["reliable_deterioration"] is deterioration


@pytest.mark.parametrize(
    ("instrument", "baseline", "case"),
    [("PHQ-9", 10, True), ("PHQ-9", 9, False), ("GAD-7", 8, True), ("GAD-7", 7, False), ("MADRS", 40, NA), ("PCL-5", 60, NA)],
)
def test_baseline_case(instrument, baseline, case):
    assert one(pre_post(1, baseline, 2), instrument)["baseline_case"] is case


# --- O7 after infusion N ------------------------------------------------------------


def test_after_infusion_6_needs_the_post_score_of_infusion_6():
    # course 1: pre 1 20 ... post 6 8; course 2: the same without post 6
    totals = (20, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8)
    result = table(pre_post(1, *totals) + pre_post(2, *totals[:-1]))
    first, second = (result.loc[key].map(plain) for key in (1, 2))
    assert first["after_n_evaluable"] and first["after_n_score"] == 8
    assert first["after_n_response"] is True  # 16 <= 20
    assert first["after_n_remission"] is False  # 8 > 4
    assert first["after_n_reliable_improvement"] is True  # drop 12
    assert not second["after_n_evaluable"] and math.isnan(second["after_n_score"])
    assert second["after_n_response"] is NA
    # but course 2 is evaluable on its latest score: pre 6 = 9, 18 <= 20
    assert second["evaluable"] and second["response"] is True


@pytest.mark.parametrize(
    ("rule", "score", "response", "remission"),
    [
        ("post", 4, True, True),  # post 1 = 4: 8 <= 20, 4 <= 4
        ("next_pre", 11, False, False),  # pre 2 = 11: 22 > 20, 11 > 4
    ],
)
def test_timepoint_rule(rule, score, response, remission):
    row = one(pre_post(1, 20, 4, 11), after_n=1, timepoint_rule=rule)
    assert row["after_n_score"] == score
    assert row["after_n_response"] is response
    assert row["after_n_remission"] is remission


@pytest.mark.parametrize("rule", ["post", "next_pre"])
def test_after_n_score_must_come_after_the_baseline(rule):
    # baseline = pre 2; post 1 comes before it, and pre 2 is the baseline itself
    row = one([(1, 1, "post", 10), (1, 2, "pre", 20), (1, 2, "post", 8)], after_n=1,
              timepoint_rule=rule)  # fmt: skip
    assert not row["after_n_evaluable"]


def test_after_n_not_evaluable_at_baseline_zero():
    row = one(pre_post(1, 0, 0), after_n=1)
    assert row["after_n_score"] == 0 and not row["after_n_evaluable"]


# --- O8 first response / remission, censoring ------------------------------------------


@pytest.mark.parametrize(
    ("totals", "first_response", "first_remission", "last_received"),
    [
        # post 1 15 (30 > 20), pre 2 14, post 2 10 (20 <= 20: received 2), post 3 4 (<= 4: 3)
        ((20, 15, 14, 10, 6, 4), 2, 3, 3),
        # pre 2 = 10 responds before post 2: received 2 - 1 = 1
        ((20, 12, 10, 11), 1, None, 2),
        # never: censored at the last scored observation, post 1 -> 1 (post 2 has no total)
        ((20, 15, 14, None), None, None, 1),
    ],
)
def test_first_times_and_last_received(totals, first_response, first_remission, last_received):
    row = one(pre_post(1, *totals))
    for column, expected in [
        ("first_response_received", first_response),
        ("first_remission_received", first_remission),
    ]:
        assert math.isnan(row[column]) if expected is None else row[column] == expected
    assert row["last_received"] == last_received


# --- C3 index course -----------------------------------------------------------------

COURSES = {
    # patient 1: course 11 starts first although it was keyed later
    10: {"patient_key": 1, "course_number": 2, "course_start": pd.Timestamp("2024-03-01")},
    11: {"patient_key": 1, "course_number": 1, "course_start": pd.Timestamp("2024-01-01")},
    # patient 2: an unknown start sorts last, so course 21 is the index course
    20: {"patient_key": 2, "course_number": 1, "course_start": pd.NaT},
    21: {"patient_key": 2, "course_number": 2, "course_start": pd.Timestamp("2024-05-01")},
    # patient 3: same start, course_number decides
    30: {"patient_key": 3, "course_number": 2, "course_start": pd.Timestamp("2024-02-01")},
    31: {"patient_key": 3, "course_number": 1, "course_start": pd.Timestamp("2024-02-01")},
    # patient 5: same start and number (an import's duplicate): the lower key
    51: {"patient_key": 5, "course_number": 1, "course_start": pd.Timestamp("2024-02-01")},
    50: {"patient_key": 5, "course_number": 1, "course_start": pd.Timestamp("2024-02-01")},
    # patients 6 and 7: one course each (a later start than the others): that course
    60: {"patient_key": 6, "course_number": 3, "course_start": pd.Timestamp("2025-01-01")},
    70: {"patient_key": 7, "course_number": 1, "course_start": pd.NaT},
}


def courses_obs():
    rows = [row for course in COURSES for row in pre_post(course, 20, 10)]
    return obs_frame(rows, courses=COURSES)


def test_select_courses_keeps_the_index_course():
    assert set(select_courses(courses_obs())["course_key"]) == {11, 21, 31, 50, 60, 70}
    assert set(select_courses(courses_obs(), all_courses=True)["course_key"]) == set(COURSES)


@pytest.mark.parametrize(("all_courses", "keys"),
                         [(False, [11, 21, 31, 50, 60, 70]), (True, sorted(COURSES))])
def test_course_table_index_vs_all_courses(all_courses, keys):
    result = course_table(courses_obs(), "PHQ-9", all_courses=all_courses)
    assert sorted(result["course_key"]) == keys


def test_index_course_is_chosen_over_all_instruments():
    courses = {40: {"patient_key": 4}, 41: {"patient_key": 4, "course_number": 2}}
    obs = concat_obs(
        obs_frame(pre_post(40, 12, 6), instrument="GAD-7", courses=courses),
        obs_frame(pre_post(41, 20, 10), courses=courses),
    )
    # patient 4's index course (40) has no PHQ-9: no PHQ-9 course unless all courses
    assert course_table(obs, "PHQ-9").empty
    assert course_table(obs, "PHQ-9", all_courses=True)["course_key"].tolist() == [41]


# --- O10 item 9, table shape -------------------------------------------------------------


def test_item9_fields_count_unscored_observations():
    rows = [
        # course 1: baseline item 9 = 0; unscored post 1 answers 2; post 2 item 9 missing
        (1, 1, "pre", 15, 0), (1, 1, "post", None, 2), (1, 2, "pre", 12, 0), (1, 2, "post", 10),
        # course 2: an incomplete pre 1 with item 9 = 1 precedes the baseline (pre 2)
        (2, 1, "pre", None, 1), (2, 2, "pre", 14, 0), (2, 2, "post", 8, 0),
    ]  # fmt: skip
    result = table(rows, after_n=2)
    first, second = result.loc[1], result.loc[2]
    assert first["baseline_item9"] == 0 and first["any_item9_positive"]
    assert first["later_item9_positive"]  # the unscored post 1 comes after pre 1
    assert math.isnan(first["after_n_item9"])  # post 2 has no item-9 answer
    assert second["baseline_item9"] == 0 and second["any_item9_positive"]
    assert not second["later_item9_positive"]  # pre 1 is before the baseline
    assert second["after_n_item9"] == 0


def test_item9_columns_only_for_phq9():
    assert "any_item9_positive" not in table(pre_post(1, 12, 6), "GAD-7").columns


def test_one_row_per_course_with_dimensions():
    courses = {1: {"clinician": "S-01", "route": "IV"}, 2: {"clinician": "S-02", "route": "IM"}}
    rows = [*pre_post(1, 20, 10), (2, 1, "pre", None), (2, 1, "post", None)]
    result = table(rows, courses=courses)
    # course 2 has observations but no totals: still one row, not evaluable
    assert result.index.tolist() == [1, 2]
    assert result["clinician"].tolist() == ["S-01", "S-02"]
    assert result["route"].tolist() == ["IV", "IM"]
    assert "indication" not in result.columns
    assert result.loc[2, "has_baseline"] == False  # noqa: E712


def test_instrument_without_observations_gives_an_empty_table():
    result = course_table(obs_frame(pre_post(1, 20, 10)), "MADRS")
    assert result.empty
    assert {"course_key", "baseline", "latest", "response", "after_n_evaluable"} <= set(
        result.columns
    )


@pytest.mark.parametrize("settings", [{"after_n": 0}, {"after_n": 2.5}, {"timepoint_rule": "pre"}])
def test_invalid_settings_are_rejected(settings):
    with pytest.raises(ValueError):
        course_table(obs_frame(pre_post(1, 20, 10)), "PHQ-9", **settings)


def test_vectorised_on_200000_rows():
    obs = generated_obs(200_000)
    result = course_table(obs, "PHQ-9", all_courses=True)
    # 200,000 // 12 = 16,666 courses of 12 rows each
    assert len(result) == 16_666
    assert result["course_key"].is_unique
    responded = result["response"].fillna(False).astype(bool)
    assert result.loc[responded, "evaluable"].all()
