"""outcomes.quality: side-effect and adverse-event rates per infusion, data completeness."""

from __future__ import annotations

import pandas as pd

from outcomes.quality import completeness, safety_rates, side_effect_table
from tests.outcomes.factories import obs_frame

INFUSIONS = pd.DataFrame({
    "course_key": [1, 1, 2, 2],
    "infusion_number": [1, 2, 1, 2],
    "side_effects": ["nausea|dizziness", "", "nausea|nausea", ""],
    "adverse_event": [False, False, False, True],
})


def test_safety_rates_per_infusion():
    assert safety_rates(INFUSIONS) == {
        "n_infusions": 4, "infusions_with_side_effect": 2, "side_effect_rate": 0.5,
        "infusions_with_adverse_event": 1, "adverse_event_rate": 0.25,
    }
    table = side_effect_table(INFUSIONS)
    assert table.to_dict("records") == [
        {"side_effect": "nausea", "infusions": 2, "rate": 0.5},
        {"side_effect": "dizziness", "infusions": 1, "rate": 0.25},
    ]


def test_safety_rates_without_infusions():
    assert safety_rates(INFUSIONS.iloc[:0])["side_effect_rate"] is None


def test_completeness():
    obs = obs_frame([
        (1, 1, "pre", 18), (1, 1, "post", 12),  # infusion 1 of course 1: both scored
        (1, 2, "pre", 15), (1, 2, "post", None),  # post 2 incomplete (no total)
        (2, 1, "post", 10),  # course 2: no pre score, so no baseline (O1)
    ])
    assert completeness(obs, INFUSIONS, "PHQ-9") == {
        "n_infusions": 4, "infusions_with_pre_and_post": 1, "pre_and_post_rate": 0.25,
        "n_courses": 2, "courses_without_baseline": 1, "without_baseline_rate": 0.5,
        "administrations": 5, "incomplete_administrations": 1,
    }
    assert completeness(obs, INFUSIONS, "GAD-7")["courses_without_baseline"] == 2


def test_completeness_a_followup_is_not_a_pre_or_post_score():
    obs = obs_frame([
        (1, 1, "pre", 18), (1, 1, "followup", 12),  # pre + follow-up: not a pre-post pair
        (1, 2, "post", 15), (1, 2, "followup", 9),  # post + follow-up: not a pair either
        (2, 1, "followup", 10),  # course 2: a follow-up only, so no baseline (O1)
    ])
    result = completeness(obs, INFUSIONS, "PHQ-9")
    assert result["infusions_with_pre_and_post"] == 0
    assert result["courses_without_baseline"] == 1  # course 2
    assert result["administrations"] == 5
