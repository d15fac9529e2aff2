"""D2 p-chart and D3 funnel plot (OUTCOMES.md section 7): worked examples by hand.

Limits: centre -/+ z sqrt(centre (1 - centre) / n), clipped to [0, 1], rounded to 4
decimals from unrounded values."""

from __future__ import annotations

import pandas as pd

from outcomes.control_limits import case_mix, funnel, p_chart


def courses(*groups: tuple) -> pd.DataFrame:
    """groups: (clinic, start ISO date, evaluable courses, responders, not evaluable)."""
    rows = []
    for clinic, start, n, k, other in groups:
        rows += [(clinic, start, True, i < k) for i in range(n)]
        rows += [(clinic, start, False, pd.NA) for _ in range(other)]
    frame = pd.DataFrame(rows, columns=["clinic", "course_start", "after_n_evaluable",
                                        "after_n_response"])
    return frame.assign(course_start=pd.to_datetime(frame["course_start"]),
                        after_n_evaluable=frame["after_n_evaluable"].astype("boolean"),
                        after_n_response=frame["after_n_response"].astype("boolean"))


def test_p_chart_three_months_one_small():
    # Jan 8/10, Feb 2/20, Mar 1/3 (+1 not evaluable): centre = 11/33 = 1/3.
    # Jan: 3 sqrt((1/3)(2/3)/10) = 3 x 0.1490712 = 0.4472136 -> lower -0.1139 -> 0,
    #      upper 0.7805469 -> 0.7805; rate 0.8 > upper -> "above".
    # Feb: 3 sqrt((2/9)/20) = 3 x 0.1054093 = 0.3162278 -> 0.0171056 / 0.6495611;
    #      rate 0.1 inside -> null.
    # Mar: 3 evaluable < 5: counts only, still in the centre.
    table = courses(("A", "2024-01-05", 10, 8, 0), ("A", "2024-02-11", 20, 2, 0),
                    ("B", "2024-03-31", 3, 1, 1))
    assert p_chart(table, small_cell=5) == {
        "2024-01": {"n_evaluable": 10, "responders": 8, "rate": 0.8, "centre": 0.3333,
                    "lower": 0.0, "upper": 0.7805, "signal": "above"},
        "2024-02": {"n_evaluable": 20, "responders": 2, "rate": 0.1, "centre": 0.3333,
                    "lower": 0.0171, "upper": 0.6496, "signal": None},
        "2024-03": {"n_evaluable": 3, "responders": 1, "rate": None, "centre": 0.3333,
                    "lower": None, "upper": None, "signal": None},
    }


def test_p_chart_clips_at_one_and_keeps_a_month_with_nothing_evaluable():
    # 9/10 and 10/10: centre 19/20 = 0.95; 3 sqrt(0.95 x 0.05 / 10) = 0.2067606:
    # lower 0.7432394 -> 0.7432, upper 1.1567606 -> clipped to 1.0; both inside.
    table = courses(("A", "2024-05-01", 10, 9, 0), ("A", "2024-06-01", 10, 10, 0),
                    ("A", "2024-07-01", 0, 0, 2))
    chart = p_chart(table, small_cell=5)
    assert chart["2024-05"]["lower"] == 0.7432 and chart["2024-05"]["upper"] == 1.0
    assert chart["2024-06"]["rate"] == 1.0 and chart["2024-06"]["signal"] is None
    assert chart["2024-07"] == {"n_evaluable": 0, "responders": 0, "rate": None,
                                "centre": 0.95, "lower": None, "upper": None, "signal": None}


def test_p_chart_by_quarter():
    table = courses(("A", "2024-01-05", 10, 8, 0), ("A", "2024-03-11", 20, 2, 0))
    chart = p_chart(table, small_cell=5, period="quarter")
    assert list(chart) == ["2024-Q1"]
    assert chart["2024-Q1"]["n_evaluable"] == 30 and chart["2024-Q1"]["rate"] == 0.3333


def test_funnel_by_clinic_worked_example():
    # A 30/40, B 10/40, C 5/10, D 2/5, E 2/3 (small), F none evaluable:
    # target = 49/98 = 0.5.
    # n=40: sd = sqrt(0.25/40) = 0.0790569; 1.96 sd = 0.1549516 -> 0.3450 / 0.6550;
    #       3.09 sd = 0.2442860 -> 0.2557 / 0.7443. A 0.75 above, B 0.25 below.
    # n=10: sd = 0.1581139; 1.96 sd = 0.3099032 -> 0.1901 / 0.8099;
    #       3.09 sd = 0.4885719 -> 0.0114 / 0.9886.
    # n=5:  sd = 0.2236068; 1.96 sd = 0.4382693 -> 0.0617 / 0.9383;
    #       3.09 sd = 0.6909450 -> clipped 0.0 / 1.0.
    table = courses(("A", "2024-01-01", 40, 30, 0), ("B", "2024-01-01", 40, 10, 0),
                    ("C", "2024-01-01", 10, 5, 0), ("D", "2024-01-01", 5, 2, 0),
                    ("E", "2024-01-01", 3, 2, 0), ("F", "2024-01-01", 0, 0, 1))
    got = funnel(table, small_cell=5)
    assert got["A"] == {"n_evaluable": 40, "responders": 30, "rate": 0.75, "target": 0.5,
                        "lower95": 0.345, "upper95": 0.655, "lower998": 0.2557,
                        "upper998": 0.7443, "signal": "above"}
    assert got["B"]["rate"] == 0.25 and got["B"]["signal"] == "below"
    assert (got["C"]["lower95"], got["C"]["upper95"], got["C"]["lower998"],
            got["C"]["upper998"], got["C"]["signal"]) == (0.1901, 0.8099, 0.0114, 0.9886, None)
    assert (got["D"]["lower95"], got["D"]["upper95"], got["D"]["lower998"],
            got["D"]["upper998"]) == (0.0617, 0.9383, 0.0, 1.0)
    small = {"n_evaluable": 3, "responders": 2, "rate": None, "target": 0.5, "lower95": None,
             "upper95": None, "lower998": None, "upper998": None, "signal": None}
    assert got["E"] == small
    assert got["F"] == {**small, "n_evaluable": 0, "responders": 0}


def test_case_mix_indirect_standardisation():
    # Severe baselines (22): X 1 of 2, Y 0 of 2 -> band rate 1/4; moderate (12): X 2 of 2,
    # Y 1 of 2 -> 3/4. Expected X = 2 x 0.25 + 2 x 0.75 = 2.0 = expected Y.
    # Observed X 3 -> ratio 1.5; Y 1 -> 0.5.
    table = pd.DataFrame({
        "clinic": ["X"] * 4 + ["Y"] * 4,
        "baseline": [22, 22, 12, 12, 22, 22, 12, 12],
        "after_n_evaluable": pd.array([True] * 8, dtype="boolean"),
        "after_n_response": pd.array([True, False, True, True, False, False, True, False],
                                     dtype="boolean")})
    got = case_mix(table, "PHQ-9", small_cell=None)
    assert got.to_dict("records") == [
        {"group": "X", "n_evaluable": 4, "responders": 3, "expected": 2.0, "ratio": 1.5,
         "suppressed": False},
        {"group": "Y", "n_evaluable": 4, "responders": 1, "expected": 2.0, "ratio": 0.5,
         "suppressed": False}]


def test_summary_blocks_from_observations_and_flat_rows():
    from outcomes.summary import summarize, summary_to_rows
    from tests.outcomes.factories import obs_frame, pre_post

    # After infusion 1 (post scores): course 1 20 -> 10 responds, 2 20 -> 15 does not
    # (both January, clinic A); course 3 20 -> 8 responds (February, clinic B).
    # centre = target = 2/3. January n=2: 3 sqrt((2/9)/2) = 1.0 -> limits 0 and 1 (clipped);
    # February n=1: 3 sqrt(2/9) = 1.4142 -> 0 and 1.
    frames = [obs_frame(pre_post(1, 20, 10) + pre_post(2, 20, 15), clinic="A"),
              obs_frame(pre_post(3, 20, 8), clinic="B",
                        courses={3: {"course_start": pd.Timestamp("2024-02-03")}})]
    obs = pd.concat(frames, ignore_index=True)
    phq9 = summarize(obs, instruments=["PHQ-9"], after_n=1)["PHQ-9"]
    trend = phq9["trend_by_start_month_after_infusion_1"]
    assert trend == {
        "2024-01": {"n_evaluable": 2, "responders": 1, "rate": 0.5, "centre": 0.6667,
                    "lower": 0.0, "upper": 1.0, "signal": None},
        "2024-02": {"n_evaluable": 1, "responders": 1, "rate": 1.0, "centre": 0.6667,
                    "lower": 0.0, "upper": 1.0, "signal": None}}
    funnel_blocks = phq9["funnel_by_clinic_after_infusion_1"]
    assert list(funnel_blocks) == ["A", "B"] and funnel_blocks["B"]["rate"] == 1.0
    rows = summary_to_rows({"PHQ-9": phq9, "retention": {"n_courses": 3,
                                                         "reached_infusion": {"1": 3}}})
    assert {"instrument": "PHQ-9", "block": "trend_by_start_month_after_infusion_1",
            "clinic": "2024-02", "metric": "rate", "value": 1.0} in rows
    assert {"instrument": None, "block": "retention", "clinic": None,
            "metric": "reached_infusion_1", "value": 3} in rows


def test_p_chart_months_follow_the_first_infusion_not_the_course_start():
    """D2: a course opened on 30 January whose first infusion is on 2 February is a
    February course; a course without a known first infusion falls back to its start."""
    table = courses(("A", "2024-01-30", 6, 3, 0), ("A", "2024-01-30", 5, 5, 0))
    first = [pd.Timestamp("2024-02-02")] * 6 + [pd.NaT] * 5
    chart = p_chart(table.assign(first_infusion_date=first), small_cell=5)
    assert {month: (b["n_evaluable"], b["responders"]) for month, b in chart.items()} == {
        "2024-01": (5, 5), "2024-02": (6, 3)}


def test_the_course_table_carries_the_first_infusion_date():
    from outcomes.engine import course_table

    obs = pd.DataFrame({
        "course_key": [1, 1, 1], "patient_key": [1, 1, 1], "clinic": ["A"] * 3,
        "course_number": [1] * 3, "course_start": pd.to_datetime(["2024-01-30"] * 3),
        "instrument": ["GAD-7", "PHQ-9", "PHQ-9"], "infusion_number": [1, 2, 2],
        "timepoint": ["pre", "pre", "post"],
        "date": pd.to_datetime(["2024-02-02", "2024-02-05", "2024-02-05"]),
        "total": [10.0, 20.0, 8.0], "item9": [float("nan"), 0.0, 0.0],
        "infusion_date": pd.to_datetime(["2024-02-02", "2024-02-05", "2024-02-05"])})
    table = course_table(obs, "PHQ-9")
    # infusion 1 (2 February) has only a GAD-7: still the course's first infusion
    assert list(table["first_infusion_date"]) == [pd.Timestamp("2024-02-02")]
