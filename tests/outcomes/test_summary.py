"""outcomes.summary: the section-6 JSON (OUTCOMES.md O4-O11), counted by hand."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from outcomes.summary import summarize, summary_to_rows
from tests.outcomes.factories import concat_obs, obs_frame, pre_post

# PHQ-9 courses (pre 1, post 1, pre 2, post 2 ...), after_n = 2, item 9 in brackets.
#   c1 clinic A: 20[1] 12 14 10[0]  baseline 20, latest = post 2 = 10 (20 <= 20 response,
#                 not remission, drop 10 reliable improvement); first response post 2 -> 2
#   c2 clinic A: 15[0] 7 9 4[1]     latest 4 (response, remission, drop 11 improvement);
#                 first response post 1 (14 <= 15) -> 1; first remission post 2 -> 2;
#                 item 9 emergent (baseline 0, post 2 = 1)
#   c3 clinic A: 8[0] 5 -[2]         pre 2 has no total but item 9 = 2 (emergent);
#                 latest post 1 = 5 (10 > 8 no response, 5 > 4 no remission, drop 3);
#                 no post 2: not evaluable after 2; censored at 1
#   c4 clinic B: 0[0] 0 0 0          baseline 0: never evaluable; baseline in remission
#   c5 clinic B: post 1 only 10[1]   no baseline; item 9 positive
#   c6 clinic B: 12[2] 18 (no pre 2) post 2 19[2]: latest 19, rise 7 = reliable
#                 deterioration; censored at 2; item 9 still 2 after infusion 2
#   c7 clinic A: patient 1's second course: 25 5 (response, drop 20), no post 2
COURSES = {
    **{key: {"clinic": "A"} for key in (1, 2, 3)},
    **{key: {"clinic": "B"} for key in (4, 5, 6)},
    7: {"clinic": "A", "patient_key": 1, "course_number": 2,
        "course_start": pd.Timestamp("2024-06-01")},
}  # fmt: skip
ROWS = [
    *pre_post(1, 20, 12, 14, 10, item9=[1, None, None, 0]),
    *pre_post(2, 15, 7, 9, 4, item9=[0, None, None, 1]),
    *pre_post(3, 8, 5, None, item9=[0, None, 2]),
    *pre_post(4, 0, 0, 0, 0, item9=[0, 0, 0, 0]),
    (5, 1, "post", 10, 1),
    (6, 1, "pre", 12, 2), (6, 1, "post", 18), (6, 2, "post", 19, 2),
    *pre_post(7, 25, 5),
]  # fmt: skip


def phq9_obs() -> pd.DataFrame:
    return obs_frame(ROWS, courses=COURSES)


def block(**values) -> dict:
    keys = [
        "n_courses", "n_with_baseline", "n_evaluable", "n_baseline_in_remission", "responders",
        "remitters", "response_rate_observed", "response_rate_itt", "remission_rate_observed",
        "remission_rate_itt", "reliable_improvement", "reliable_deterioration",
        "reliable_improvement_rate", "reliable_deterioration_rate",
    ]  # fmt: skip
    assert set(values) <= {*keys, "suppressed"}
    return {
        key: values.get(key) for key in [*keys, *(["suppressed"] if "suppressed" in values else [])]
    }


@pytest.fixture(scope="module")
def phq9() -> dict:
    return summarize(phq9_obs(), after_n=2)["PHQ-9"]


def test_overall_latest(phq9):
    # index courses c1-c6 (c7 is patient 1's second course); baselines c1 c2 c3 c4 c6;
    # evaluable c1 c2 c3 c6 (c4 baseline 0); responders c1 c2; remitter c2;
    # improvement c1 c2; deterioration c6; baseline in remission c4 (0 <= 4)
    assert phq9["overall_latest"] == block(
        n_courses=6, n_with_baseline=5, n_evaluable=4, n_baseline_in_remission=1,
        responders=2, remitters=1,
        response_rate_observed=0.5, response_rate_itt=0.4,  # 2/4, 2/5
        remission_rate_observed=0.25, remission_rate_itt=0.2,  # 1/4, 1/5
        reliable_improvement=2, reliable_deterioration=1,
        reliable_improvement_rate=0.5, reliable_deterioration_rate=0.25,  # 2/4, 1/4
    )  # fmt: skip


def test_after_infusion_n_observed_vs_itt(phq9):
    # c3 has no post 2: evaluable after 2 = c1 c2 c6 (3), baselines still 5
    assert phq9["after_infusion_2"] == block(
        n_courses=6, n_with_baseline=5, n_evaluable=3, n_baseline_in_remission=1,
        responders=2, remitters=1,
        response_rate_observed=0.6667, response_rate_itt=0.4,  # 2/3, 2/5
        remission_rate_observed=0.3333, remission_rate_itt=0.2,  # 1/3, 1/5
        reliable_improvement=2, reliable_deterioration=1,
        reliable_improvement_rate=0.6667, reliable_deterioration_rate=0.3333,
    )  # fmt: skip


def test_after_infusion_n_baseline_case(phq9):
    # cases (baseline >= 10): c1 20, c2 15, c6 12 - all evaluable after 2
    assert phq9["after_infusion_2_baseline_case"] == block(
        n_courses=3, n_with_baseline=3, n_evaluable=3, n_baseline_in_remission=0,
        responders=2, remitters=1,
        response_rate_observed=0.6667, response_rate_itt=0.6667,
        remission_rate_observed=0.3333, remission_rate_itt=0.3333,
        reliable_improvement=2, reliable_deterioration=1,
        reliable_improvement_rate=0.6667, reliable_deterioration_rate=0.3333,
    )  # fmt: skip


def test_by_clinic_without_suppression(phq9):
    # A: c1 c2 c3 - evaluable c1 c2, both respond, c2 remits
    # B: c4 c5 c6 - baselines c4 c6, evaluable c6 only, which deteriorates
    assert phq9["by_clinic_after_infusion_2"] == {
        "A": block(
            n_courses=3, n_with_baseline=3, n_evaluable=2, n_baseline_in_remission=0,
            responders=2, remitters=1,
            response_rate_observed=1.0, response_rate_itt=0.6667,  # 2/2, 2/3
            remission_rate_observed=0.5, remission_rate_itt=0.3333,  # 1/2, 1/3
            reliable_improvement=2, reliable_deterioration=0,
            reliable_improvement_rate=1.0, reliable_deterioration_rate=0.0,
            suppressed=False,
        ),
        "B": block(
            n_courses=3, n_with_baseline=2, n_evaluable=1, n_baseline_in_remission=1,
            responders=0, remitters=0,
            response_rate_observed=0.0, response_rate_itt=0.0,
            remission_rate_observed=0.0, remission_rate_itt=0.0,
            reliable_improvement=0, reliable_deterioration=1,
            reliable_improvement_rate=0.0, reliable_deterioration_rate=1.0,
            suppressed=False,
        ),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("small_cell", "all_courses", "suppressed"),
    [
        (3, False, {"A": False, "B": False}),  # 3 courses is not fewer than 3
        (4, False, {"A": True, "B": True}),  # 3 < 4 in both clinics
        (4, True, {"A": False, "B": True}),  # all courses: A has 4 (c7 too)
    ],
)
def test_small_cell_suppression(small_cell, all_courses, suppressed):
    summary = summarize(phq9_obs(), after_n=2, small_cell=small_cell, all_courses=all_courses)
    clinics = summary["PHQ-9"]["by_clinic_after_infusion_2"]
    assert {clinic: cell["suppressed"] for clinic, cell in clinics.items()} == suppressed
    if suppressed["B"]:
        # counts of courses stay, every other count and rate is withheld
        assert clinics["B"] == block(n_courses=3, n_with_baseline=2, n_evaluable=1, suppressed=True)


def test_all_courses_adds_the_second_course():
    overall = summarize(phq9_obs(), after_n=2, all_courses=True)["PHQ-9"]["overall_latest"]
    # + c7: baseline 25, latest 5 (10 <= 25 response, 5 > 4 no remission)
    assert (overall["n_courses"], overall["n_with_baseline"], overall["n_evaluable"]) == (7, 6, 5)
    assert overall["responders"] == 3
    assert overall["response_rate_observed"] == 0.6  # 3/5
    assert overall["response_rate_itt"] == 0.5  # 3/6


@pytest.mark.parametrize(
    ("rule", "n_evaluable", "responders"),
    [
        # post 1: c1 12 (24 > 20), c2 7 (14 <= 15), c3 5 (10 > 8), c6 18
        ("post", 4, 1),
        # pre 2: c1 14 (28 > 20), c2 9 (18 > 15); c3 pre 2 has no total, c6 no pre 2
        ("next_pre", 2, 0),
    ],
)
def test_timepoint_rule(rule, n_evaluable, responders):
    after = summarize(phq9_obs(), after_n=1, timepoint_rule=rule)["PHQ-9"]["after_infusion_1"]
    assert (after["n_evaluable"], after["responders"]) == (n_evaluable, responders)


def test_time_to_first_response(phq9):
    # baseline > 0: c1 event at 2, c2 event at 1, c3 censored at 1, c6 censored at 2
    #   t=1: at risk 4, 1 event, 1 censored: S = 3/4
    #   t=2: at risk 2, 1 event, 1 censored: S = 3/4 x 1/2 = 3/8 -> cumulative 5/8
    # remission (none of them in remission at baseline): c2 event at 2, others censored
    #   t=1: at risk 4, 0 events, 1 censored (c3): S = 1
    #   t=2: at risk 3, 1 event, 2 censored: S = 2/3 -> cumulative 1/3
    assert phq9["time_to_first_response"] == {
        "n_ever_responded": 2,
        "median_infusions": 1.5,  # median(2, 1)
        "km_cumulative_response_by_2": 0.625,
        "km_cumulative_remission_by_2": 0.3333,
        "median_infusions_to_remission": 2.0,
        "km_response_curve": [
            {"infusions": 1, "cumulative": 0.25},
            {"infusions": 2, "cumulative": 0.625},
        ],
        "km_remission_curve": [
            {"infusions": 1, "cumulative": 0.0},
            {"infusions": 2, "cumulative": 0.3333},
        ],
    }


def test_km_remission_leaves_out_baseline_remitters():
    # c1 20 -> 10 -> 3 remits at post 2; c2 baseline 4 is in remission already
    obs = obs_frame(pre_post(1, 20, 10, 8, 3) + pre_post(2, 4, 2))
    ttr = summarize(obs, after_n=2)["PHQ-9"]["time_to_first_response"]
    # only c1 is at risk: one event at 2 -> cumulative 1.0
    assert ttr["km_cumulative_remission_by_2"] == 1.0
    assert ttr["km_remission_curve"] == [{"infusions": 2, "cumulative": 1.0}]


def test_item9(phq9):
    assert phq9["item9"] == {
        "n_positive_at_baseline": 2,  # c1 (1), c6 (2)
        "n_any_positive": 5,  # c1, c2, c3 (unscored pre 2), c5 (no baseline), c6
        "n_emergent_positive": 2,  # baseline 0 then positive: c2, c3
        "baseline_positive_with_item9_after_2": 2,  # c1 (0), c6 (2) at post 2
        "baseline_positive_resolved_after_2": 1,  # c1
        "day_after_first_infusion_checked": 0,  # O12: no follow-up score in this cohort
        "day_after_first_infusion_resolved": 0,
    }


def test_instruments_without_observations_have_zero_counts():
    summary = summarize(phq9_obs(), after_n=2)
    madrs, pcl5, gad7 = summary["MADRS"], summary["PCL-5"], summary["GAD-7"]
    assert madrs["overall_latest"]["n_courses"] == 0
    assert madrs["overall_latest"]["response_rate_observed"] is None  # 0 denominator
    assert madrs["overall_latest"]["reliable_improvement"] is None  # MADRS has no RCI
    assert madrs["after_infusion_2_baseline_case"] is None  # no caseness
    assert pcl5["overall_latest"]["remitters"] is None  # PCL-5 has no remission
    assert gad7["after_infusion_2_baseline_case"]["n_courses"] == 0
    assert gad7["overall_latest"]["reliable_improvement"] == 0
    assert gad7["by_clinic_after_infusion_2"] == {}
    assert gad7["time_to_first_response"]["km_cumulative_response_by_2"] is None
    assert "item9" not in gad7


def test_an_empty_instruments_object_is_kept_per_parameters_and_never_shared():
    first = summarize(phq9_obs(), after_n=2)
    first["MADRS"]["overall_latest"]["n_courses"] = 99  # a caller changes its copy
    first["GAD-7"]["by_clinic_after_infusion_2"]["X"] = {}
    again = summarize(phq9_obs(), after_n=2)
    assert again["MADRS"]["overall_latest"]["n_courses"] == 0
    assert again["GAD-7"]["by_clinic_after_infusion_2"] == {}
    # other parameters, another object: the after-N key names infusion 3
    assert "after_infusion_3" in summarize(phq9_obs(), after_n=3)["GAD-7"]
    assert "after_infusion_3" not in again["GAD-7"]


def test_madrs_remission_override():
    # baselines 30 30 30 11; latest 11 12 13 and 3
    obs = obs_frame(pre_post(1, 30, 11) + pre_post(2, 30, 12) + pre_post(3, 30, 13)
                    + pre_post(4, 11, 3), instrument="MADRS")  # fmt: skip
    default = summarize(obs)["MADRS"]["overall_latest"]
    setting = summarize(obs, remission_max={"MADRS": 12})
    # <= 10: only course 4 (3); baseline 11 is not in remission
    assert (default["remitters"], default["n_baseline_in_remission"]) == (1, 0)
    # <= 12: 11, 12 and 3; baseline 11 now in remission
    overall = setting["MADRS"]["overall_latest"]
    assert (overall["remitters"], overall["n_baseline_in_remission"]) == (3, 1)
    assert setting["parameters"]["remission_max"] == {"MADRS": 12}
    with pytest.raises(TypeError):
        summarize(obs, remission_max=12)


# NHS paired PHQ-9 + GAD-7 (baseline = pre 1, latest = post 1); RCI 6 / 4, case 10 / 8
#   p1 PHQ 15->8  GAD 10->6  case; recovered (8 < 10, 6 < 8); PHQ drop 7: reliably recovered
#   p2 PHQ 12->9  GAD  9->7  case; recovered; drops 3 and 2: not reliable
#   p3 PHQ  8->3  GAD  6->2  not a case; GAD drop 4: reliable improvement
#   p4 PHQ 10->17 GAD  8->5  case (both at the cut-off); PHQ rises 7, GAD drop 3 < 4:
#                            reliable deterioration; 17 >= 10 not recovered
#   p5 PHQ 20->12 GAD  5->10 case; PHQ drops 8 but GAD rises 5: neither
#   p6 PHQ only; p8 GAD without a latest score: not paired
#   p7 PHQ  0->0  GAD  0->0  paired (baseline 0 allowed), not a case
PAIRS = {1: (15, 8, 10, 6), 2: (12, 9, 9, 7), 3: (8, 3, 6, 2), 4: (10, 17, 8, 5),
         5: (20, 12, 5, 10), 7: (0, 0, 0, 0)}  # fmt: skip


def nhs_obs() -> pd.DataFrame:
    phq = [row for key, (b, latest, *_) in PAIRS.items() for row in pre_post(key, b, latest)]
    gad = [row for key, (*_, b, latest) in PAIRS.items() for row in pre_post(key, b, latest)]
    phq += pre_post(6, 14, 5) + pre_post(8, 14, 5)
    gad += [(8, 1, "pre", 9)]
    return concat_obs(obs_frame(phq), obs_frame(gad, instrument="GAD-7"))


def test_nhs_paired_recovery_and_reliable_change():
    assert summarize(nhs_obs())["nhs_paired_phq9_gad7_latest"] == {
        "n_paired": 6,  # p1 p2 p3 p4 p5 p7
        "n_case_at_baseline": 4,  # p1 p2 p4 p5
        "recovered": 2,  # p1 p2
        "reliably_recovered": 1,  # p1
        "reliable_improvement": 2,  # p1 p3
        "reliable_deterioration": 1,  # p4
        "recovery_rate": 0.5,  # 2/4
        "reliable_recovery_rate": 0.25,  # 1/4
        "reliable_improvement_rate": 0.3333,  # 2/6
        "reliable_deterioration_rate": 0.1667,  # 1/6
    }


def test_default_keys_name_infusion_6_and_json_round_trips():
    summary = summarize(phq9_obs(), small_cell=5)
    text = json.dumps(summary, allow_nan=False)
    assert json.loads(text) == summary  # plain ints, floats, bools, None only
    assert list(summary) == [
        "PHQ-9", "GAD-7", "MADRS", "QIDS-SR16", "PCL-5",
        "nhs_paired_phq9_gad7_latest", "parameters",
    ]  # fmt: skip
    phq9 = summary["PHQ-9"]
    assert list(phq9) == [
        "overall_latest", "after_infusion_6", "after_infusion_6_baseline_case",
        "by_clinic_after_infusion_6", "time_to_first_response",
        "trend_by_start_month_after_infusion_6", "funnel_by_clinic_after_infusion_6", "item9",
    ]  # fmt: skip
    ttr = phq9["time_to_first_response"]
    assert {"km_cumulative_response_by_6", "km_cumulative_remission_by_6"} <= set(ttr)
    assert set(phq9["item9"]) >= {
        "baseline_positive_with_item9_after_6", "baseline_positive_resolved_after_6",
    }  # fmt: skip
    assert summary["parameters"] == {
        "after_n": 6, "timepoint_rule": "post", "all_courses": False,
        "remission_max": {}, "small_cell": 5,
    }  # fmt: skip


def test_summary_to_rows():
    rows = summary_to_rows(summarize(phq9_obs(), after_n=2, remission_max={"MADRS": 12}))
    assert {"instrument", "block", "clinic", "metric", "value"} == set(rows[0])
    assert {"instrument": "PHQ-9", "block": "overall_latest", "clinic": None,
            "metric": "responders", "value": 2} in rows  # fmt: skip
    assert {"instrument": "PHQ-9", "block": "by_clinic_after_infusion_2", "clinic": "B",
            "metric": "reliable_deterioration", "value": 1} in rows  # fmt: skip
    assert {"instrument": "PHQ-9", "block": "time_to_first_response", "clinic": None,
            "metric": "km_response_curve_at_2", "value": 0.625} in rows  # fmt: skip
    assert {"instrument": None, "block": "nhs_paired_phq9_gad7_latest", "clinic": None,
            "metric": "n_paired", "value": 0} in rows  # fmt: skip
    assert {"instrument": "MADRS", "block": "parameters", "clinic": None,
            "metric": "remission_max", "value": 12} in rows  # fmt: skip
    # MADRS has no caseness: its null baseline-case block gives no rows
    assert not [r for r in rows if r["instrument"] == "MADRS"
                and r["block"] == "after_infusion_2_baseline_case"]  # fmt: skip
