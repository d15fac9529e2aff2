"""'Our outcomes, honestly': the Wilson interval and the statement rows, by hand."""

from __future__ import annotations

import pytest

from outcomes.statement import FIELDS, build_statement, period_text, wilson_interval


@pytest.mark.parametrize(("k", "n", "expected"), [
    # p = k/n, z = 1.96, z^2 = 3.8416; d = 1 + z^2/n.
    # 0/10: d = 1.38416, upper = (z^2/2n) / d + (z/d) sqrt(z^2/4n^2) = 2 x 0.19208/1.38416
    (0, 10, (0.0, 0.2775)),
    # 5/10: centre 0.5, half = 1.416022 x sqrt(0.025 + 0.009604) = 0.263413
    (5, 10, (0.2366, 0.7634)),
    # 8/10: centre = 0.99208 / 1.38416 = 0.716738, half = 1.416022 x sqrt(0.016 + 0.009604)
    # = 0.226581
    (8, 10, (0.4902, 0.9433)),
    (10, 10, (0.7225, 1.0)),  # the mirror of 0/10
    # 1/1: d = 4.8416, centre = (1 + 1.9208)/4.8416 = 0.603274, half = 0.404825 x 0.98
    # = 0.396728 -> upper 1.000002 clipped to 1
    (1, 1, (0.2065, 1.0)),
])
def test_wilson_interval_by_hand(k, n, expected):
    assert wilson_interval(k, n) == expected


def test_wilson_interval_undefined_and_bad_input():
    assert wilson_interval(0, 0) is None
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(11, 10)


def _summary(*, evaluable: int, with_baseline: int, responders: int, remitters: int,
             completed: int = 8, stopped: int = 2) -> dict:
    block = {"n_courses": with_baseline + 1, "n_with_baseline": with_baseline,
             "n_evaluable": evaluable, "responders": responders, "remitters": remitters,
             "response_rate_observed": round(responders / evaluable, 4),
             "response_rate_itt": round(responders / with_baseline, 4),
             "remission_rate_observed": round(remitters / evaluable, 4),
             "remission_rate_itt": round(remitters / with_baseline, 4)}
    return {
        "PHQ-9": {"after_infusion_6": block},
        "parameters": {"after_n": 6, "timepoint_rule": "post", "all_courses": False,
                       "small_cell": 5},
        "retention": {"n_courses": completed + stopped + 1, "n_in_progress": 1,
                      "n_completed_induction": completed, "n_stopped": stopped,
                      "completion_rate": round(completed / (completed + stopped), 4),
                      "induction_length": 6, "lapse_window_days": 21},
    }


def _by_measure(rows):
    return {r["measure"]: r for r in rows if r["section"] != "definition"}


def test_statement_numbers_come_from_the_summary_with_intervals():
    rows = build_statement(_summary(evaluable=10, with_baseline=20, responders=5, remitters=0),
                           start="2024-01-01", end=None, clinics="CL1")
    assert all(tuple(r) == FIELDS for r in rows)
    m = _by_measure(rows)
    assert m["period"]["text"] == "courses starting from 2024-01-01 to the latest course"
    assert m["clinics"]["text"] == "CL1"
    assert m["patients started"]["count"] == 11
    assert m["still in induction"]["count"] == 1
    done = m["completed induction"]  # 8 of 8 + 2: Wilson 8/10 as above
    assert (done["count"], done["denominator"], done["rate"]) == (8, 10, 0.8)
    assert (done["ci95_low"], done["ci95_high"]) == (0.4902, 0.9433)
    obs = m["response after infusion 6 (observed)"]
    assert (obs["count"], obs["denominator"], obs["rate"]) == (5, 10, 0.5)
    assert (obs["ci95_low"], obs["ci95_high"]) == (0.2366, 0.7634)
    itt = m["response after infusion 6 (ITT)"]
    assert (itt["count"], itt["denominator"], itt["rate"]) == (5, 20, 0.25)
    # 5/20: d = 1.19208, centre = (0.25 + 0.09604)/1.19208 = 0.290282,
    # half = 1.644185 x sqrt(0.009375 + 0.0024010) = 0.178419
    assert (itt["ci95_low"], itt["ci95_high"]) == (0.1119, 0.4687)
    rem = m["remission after infusion 6 (observed)"]
    assert (rem["rate"], rem["ci95_low"], rem["ci95_high"]) == (0.0, 0.0, 0.2775)
    assert m["method"]["text"].startswith("95 % confidence intervals: Wilson score interval")
    definitions = {r["measure"] for r in rows if r["section"] == "definition"}
    assert {"baseline", "response", "remission", "observed", "ITT"} <= definitions


def test_small_cells_show_counts_only():
    """4 evaluable courses < 5: observed and ITT show counts, no rate, no interval."""
    rows = build_statement(_summary(evaluable=4, with_baseline=9, responders=2, remitters=1,
                                    completed=3, stopped=1))
    m = _by_measure(rows)
    for name in ("response after infusion 6 (observed)", "response after infusion 6 (ITT)",
                 "remission after infusion 6 (observed)", "remission after infusion 6 (ITT)",
                 "completed induction"):
        row = m[name]
        assert row["rate"] is None and row["ci95_low"] is None and row["ci95_high"] is None
        assert "counts only" in row["text"]
    assert (m["response after infusion 6 (ITT)"]["count"],
            m["response after infusion 6 (ITT)"]["denominator"]) == (2, 9)
    assert m["completed induction"]["denominator"] == 4


def test_no_phq9_scores_and_open_period():
    summary = _summary(evaluable=10, with_baseline=20, responders=5, remitters=0)
    del summary["PHQ-9"]
    m = _by_measure(build_statement(summary))
    assert m["PHQ-9 outcomes"]["text"] == "no PHQ-9 scores for these filters"
    assert m["period"]["text"] == period_text(None, None) == \
        "all courses in the record (no date limit)"
