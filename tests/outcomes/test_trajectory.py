"""outcomes.trajectory: chart points, gaps, item-9 history and the outcome in words."""

from __future__ import annotations

import pandas as pd
import pytest

from outcomes.engine import course_table, order_observations
from outcomes.trajectory import (
    course_outcome_lines,
    infusion_gaps,
    item9_history,
    observation_label,
    timepoint_offsets,
    trajectory_points,
)
from tests.outcomes.factories import obs_frame, pre_post

INFUSIONS = pd.DataFrame({
    "course_key": [1, 1, 1],
    "infusion_number": [1, 2, 3],
    "date": pd.to_datetime(["2024-01-01", "2024-01-15", "2024-01-30"]),
    "infusion_type": ["induction", "induction", "booster"],
    "route": ["IV", "IV", "IM"],
    "dose_mg_per_kg": [0.5, 0.5, 0.75],
})


def test_trajectory_points_place_pre_and_post_apart():
    obs = obs_frame([*pre_post(1, 20, 12, 14, None), (1, 3, "pre", 9)])
    points = trajectory_points(obs, INFUSIONS)
    assert points["x"].round(2).tolist() == [0.8, 1.2, 1.8, 2.8]  # post 2 has no total
    assert points["severity"].tolist() == ["severe", "moderate", "moderate", "mild"]
    assert points["route"].tolist() == ["IV", "IV", "IV", "IM"]
    assert points["infusion_type"].iloc[-1] == "booster"


def test_gaps_of_more_than_14_days():
    gaps = infusion_gaps(INFUSIONS)  # 14 days (not a gap), then 15 days
    assert gaps[["infusion_number", "days"]].to_dict("records") == [
        {"infusion_number": 3, "days": 15}]
    # infusion 3 is a booster: with a 42-day booster interval, 15 days is no gap; 14 is
    assert infusion_gaps(INFUSIONS, booster_days=42).empty
    assert len(infusion_gaps(INFUSIONS, booster_days=14)) == 1


def test_item9_history_marks_positive_answers():
    obs = obs_frame(pre_post(1, 20, 12, 14, item9=[2, None, 0]))
    history = item9_history(obs)
    assert history[["infusion_number", "timepoint", "item9", "positive"]].to_dict("records") == [
        {"infusion_number": 1, "timepoint": "pre", "item9": 2.0, "positive": True},
        {"infusion_number": 2, "timepoint": "pre", "item9": 0.0, "positive": False},
    ]


def outcome(rows, instrument="PHQ-9", after_n=2, **kwargs):
    obs = obs_frame(rows, instrument=instrument)
    row = course_table(obs, instrument, after_n=after_n, **kwargs).iloc[0]
    return course_outcome_lines(row, instrument, after_n, kwargs.get("remission_max"))


def test_outcome_in_words_for_a_responder():
    # missing pre 1: baseline from pre 2 = 20; latest post 3 = 8 (-12, -60 %); first
    # response post 2 = 10 (2 infusions received); 8 > 4 no remission; 12 >= 6 reliable.
    lines = outcome([(1, 1, "pre", None), (1, 1, "post", 15), (1, 2, "pre", 20),
                     (1, 2, "post", 10), (1, 3, "pre", 12), (1, 3, "post", 8)])
    assert lines == [
        "Baseline PHQ-9 20 (severe), from the pre score of infusion 2.",
        "Latest 8 (mild), the post score of infusion 3: 12 points lower (-60.0 %).",
        "Responder at the latest score (response: at or below 10, half the baseline). "
        "First response after 2 infusion(s).",
        "Not in remission at the latest score (remission: 4 or below).",
        "Reliable improvement (a fall of at least 6 points).",
        "After infusion 2: 10 (response).",
    ]


def test_outcome_in_words_edge_cases():
    assert "No PHQ-9 baseline" in outcome([(1, 1, "post", 15)])[0]
    assert outcome([(1, 1, "pre", 15)])[-1].startswith("No score after the baseline")
    zero = outcome(pre_post(1, 0, 2))
    assert zero[-1].startswith("Baseline 0: percent change and response are undefined")
    # MADRS with the remission setting at 12: 24 -> 12 remits; no RCI line for MADRS.
    madrs = outcome(pre_post(1, 24, 12), instrument="MADRS", remission_max=12)
    assert "In remission at the latest score (remission: 12 or below)." in madrs
    assert not any("Reliable" in line for line in madrs)
    worse = outcome(pre_post(1, 10, 16))
    assert "Reliable deterioration (a rise of at least 6 points)." in worse
    assert "6 points higher (+60.0 %)" in worse[1]


def test_followups_sit_between_the_post_and_the_next_pre_on_the_infusion_axis():
    rows = order_observations(obs_frame([
        (1, 1, "pre", 20), (1, 1, "post", 15),
        (1, 1, "followup", 14, None, pd.Timestamp("2024-01-02")),
        (1, 1, "followup", 13, None, pd.Timestamp("2024-01-09")),
        (1, 2, "followup", 12),
    ]))
    # pre -0.2, post +0.2; two follow-ups of 1: 0.3 + 0.4 x 1/3, 0.3 + 0.4 x 2/3; one of 2: 0.5
    expected = [-0.2, 0.2, 0.3 + 0.4 / 3, 0.3 + 0.8 / 3, 0.5]
    assert timepoint_offsets(rows).tolist() == pytest.approx(expected)
    assert observation_label("followup", 3) == "follow-up after infusion 3"
    assert observation_label("post", 6) == "post score of infusion 6"
