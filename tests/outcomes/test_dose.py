"""Dose and tolerability (outcomes/dose.py); expected values computed by hand below."""

from __future__ import annotations

import pandas as pd
import pytest

from outcomes.dose import (
    course_dose_bands,
    response_by_dose_band,
    tolerability_by_dose_band,
)
from outcomes.engine import course_table
from tests.outcomes.factories import obs_frame, pre_post

BANDS = ((0.0, 0.5, "< 0.5 mg/kg"), (0.5, 0.75, "0.5-0.74 mg/kg"),
         (0.75, 1.0, "0.75-0.99 mg/kg"), (1.0, 99.0, ">= 1.0 mg/kg"))  # data.analytics.observations'
LOW, MID, HIGH, TOP = (label for _, _, label in BANDS)

# PHQ-9, after_n = 2 (the post score of infusion 2):
#   c1 20 12 14 10: post 2 = 10, 2x10 <= 20 response, 10 > 4 no remission
#   c2 15 7 9 4:    post 2 = 4, response and remission
#   c3 8 5:         no post 2: a baseline, not evaluable
#   c4 12 10 11 13: post 2 = 13, no response
#   c5 18 9 10 9:   post 2 = 9, 18 <= 18 response
ROWS = [*pre_post(1, 20, 12, 14, 10), *pre_post(2, 15, 7, 9, 4), *pre_post(3, 8, 5),
        *pre_post(4, 12, 10, 11, 13), *pre_post(5, 18, 9, 10, 9)]

# (course, infusion, dose, side effects, adverse event, systolic before, systolic peak)
INFUSIONS = [
    (1, 1, 0.5, "nausea", False, 120, 140),  # rise 20: a rise (>= 20)
    (1, 2, 0.5, "", False, 120, 139),  # rise 19: none
    (1, 3, 1.0, "", True, 130, 160),  # rise 30
    (2, 1, 0.4, "headache|nausea", False, None, 150),  # no reading before: not measured
    (2, 2, 0.8, "", False, 110, 125),
    (3, 1, 0.7, "", False, 125, 150),  # rise 25
    (3, 2, 0.8, "dizziness", True, 120, 118),
    (4, 1, None, "", False, 120, 145),  # no dose: unknown band; rise 25
    (4, 2, 1.0, "nausea", False, 140, 150),
    (5, 1, None, "", False, None, None),
    (6, 1, 0.6, "", False, None, None),  # a course without scores
]


def infusions() -> pd.DataFrame:
    return pd.DataFrame(INFUSIONS, columns=["course_key", "infusion_number", "dose_mg_per_kg",
                                            "side_effects", "adverse_event", "bp_sys_before",
                                            "bp_sys_peak"])


def plain(frame: pd.DataFrame) -> list[dict]:
    return [{k: (None if pd.isna(v) else v) for k, v in row.items()}
            for row in frame.to_dict("records")]


def test_a_course_is_banded_by_its_median_dose():
    bands = course_dose_bands(infusions(), BANDS).set_index("course_key")
    # c1 median(0.5, 0.5, 1.0) = 0.5; c2 median(0.4, 0.8) = 0.6; c3 median(0.7, 0.8) = 0.75
    # (the lower edge of 0.75-0.99); c4 only 1.0 is recorded; c5 none recorded
    assert bands["median_dose"].round(4).tolist()[:4] == [0.5, 0.6, 0.75, 1.0]
    assert pd.isna(bands.loc[5, "median_dose"])
    assert bands["n_dosed"].tolist() == [3, 2, 2, 1, 0, 1]
    assert bands["dose_band"].tolist() == [MID, MID, HIGH, TOP, "unknown", MID]


def test_response_after_n_by_median_dose_band():
    table = course_table(obs_frame(ROWS), "PHQ-9", after_n=2)
    result = response_by_dose_band(table, course_dose_bands(infusions(), BANDS), BANDS)
    rows = plain(result[["dose_band", "n_courses", "n_with_baseline", "n_evaluable",
                         "responders", "remitters", "response_rate_observed",
                         "response_rate_itt", "remission_rate_observed"]])
    assert rows == [
        # c1, c2: both respond, c2 remits
        {"dose_band": MID, "n_courses": 2, "n_with_baseline": 2, "n_evaluable": 2,
         "responders": 2, "remitters": 1, "response_rate_observed": 1.0,
         "response_rate_itt": 1.0, "remission_rate_observed": 0.5},
        # c3: a baseline, not evaluable: observed undefined, ITT 0 / 1
        {"dose_band": HIGH, "n_courses": 1, "n_with_baseline": 1, "n_evaluable": 0,
         "responders": 0, "remitters": 0, "response_rate_observed": None,
         "response_rate_itt": 0.0, "remission_rate_observed": None},
        {"dose_band": TOP, "n_courses": 1, "n_with_baseline": 1, "n_evaluable": 1,
         "responders": 0, "remitters": 0, "response_rate_observed": 0.0,
         "response_rate_itt": 0.0, "remission_rate_observed": 0.0},
        {"dose_band": "unknown", "n_courses": 1, "n_with_baseline": 1, "n_evaluable": 1,
         "responders": 1, "remitters": 0, "response_rate_observed": 1.0,
         "response_rate_itt": 1.0, "remission_rate_observed": 0.0},
    ]  # c6 has no scores: in no row


def test_small_dose_bands_show_counts_only():
    table = course_table(obs_frame(ROWS), "PHQ-9", after_n=2)
    result = response_by_dose_band(table, course_dose_bands(infusions(), BANDS), BANDS,
                                   small_cell=2)
    assert result["suppressed"].tolist() == [False, True, True, True]
    assert result["n_courses"].tolist() == [2, 1, 1, 1]
    assert result.loc[0, "response_rate_observed"] == 1.0
    assert result.loc[1:, ["responders", "response_rate_observed", "response_rate_itt"]] \
        .isna().all().all()


def test_a_course_without_infusions_is_unknown():
    table = course_table(obs_frame(ROWS), "PHQ-9", after_n=2)
    no_infusions = infusions()[infusions()["course_key"] != 5]
    result = response_by_dose_band(table, course_dose_bands(no_infusions, BANDS), BANDS)
    assert result["dose_band"].tolist() == [MID, HIGH, TOP, "unknown"]
    assert result.iloc[-1]["n_courses"] == 1


def test_tolerability_per_infusion_by_its_dose_band():
    result = tolerability_by_dose_band(infusions(), BANDS)
    assert plain(result.drop(columns=["suppressed"])) == [
        # c2 inf 1 (0.4): a side effect; no systolic before: not measured
        {"dose_band": LOW, "n_courses": 1, "n_infusions": 1, "infusions_with_side_effect": 1,
         "side_effect_rate": 1.0, "infusions_with_adverse_event": 0, "adverse_event_rate": 0.0,
         "infusions_with_bp": 0, "bp_rises": 0, "bp_rise_rate": None},
        # c1 inf 1-2, c3 inf 1, c6 inf 1: 1 side effect of 4; rises 20 and 25 of 3 measured
        {"dose_band": MID, "n_courses": 3, "n_infusions": 4, "infusions_with_side_effect": 1,
         "side_effect_rate": 0.25, "infusions_with_adverse_event": 0,
         "adverse_event_rate": 0.0, "infusions_with_bp": 3, "bp_rises": 2,
         "bp_rise_rate": 0.6667},
        # c2 inf 2 (+15), c3 inf 2 (dizziness, adverse event, -2)
        {"dose_band": HIGH, "n_courses": 2, "n_infusions": 2, "infusions_with_side_effect": 1,
         "side_effect_rate": 0.5, "infusions_with_adverse_event": 1, "adverse_event_rate": 0.5,
         "infusions_with_bp": 2, "bp_rises": 0, "bp_rise_rate": 0.0},
        # c1 inf 3 (adverse event, +30), c4 inf 2 (nausea, +10)
        {"dose_band": TOP, "n_courses": 2, "n_infusions": 2, "infusions_with_side_effect": 1,
         "side_effect_rate": 0.5, "infusions_with_adverse_event": 1, "adverse_event_rate": 0.5,
         "infusions_with_bp": 2, "bp_rises": 1, "bp_rise_rate": 0.5},
        # c4 inf 1 (+25), c5 inf 1 (no readings)
        {"dose_band": "unknown", "n_courses": 2, "n_infusions": 2,
         "infusions_with_side_effect": 0, "side_effect_rate": 0.0,
         "infusions_with_adverse_event": 0, "adverse_event_rate": 0.0, "infusions_with_bp": 1,
         "bp_rises": 1, "bp_rise_rate": 1.0},
    ]


@pytest.mark.parametrize(("rise", "expected"), [(20, 2), (21, 1), (26, 0)])
def test_the_blood_pressure_rise_threshold(rise, expected):
    result = tolerability_by_dose_band(infusions(), BANDS, rise_mmhg=rise)
    assert result.loc[result["dose_band"] == MID, "bp_rises"].item() == expected


def test_tolerability_small_cells_keep_counts_only():
    result = tolerability_by_dose_band(infusions(), BANDS, small_cell=2)
    low = plain(result.iloc[[0]])[0]
    assert low == {"dose_band": LOW, "n_courses": 1, "n_infusions": 1,
                   "infusions_with_side_effect": None, "side_effect_rate": None,
                   "infusions_with_adverse_event": None, "adverse_event_rate": None,
                   "infusions_with_bp": 0, "bp_rises": None, "bp_rise_rate": None,
                   "suppressed": True}
    assert result["suppressed"].tolist() == [True, False, False, False, False]


def test_the_test_bands_are_the_stores():
    from data.analytics.observations import DOSE_BANDS

    assert tuple(BANDS) == tuple(DOSE_BANDS)
