"""outcomes.monitoring: counts worked out by hand from a five-infusion table."""

from __future__ import annotations

import pandas as pd

from outcomes.monitoring import monitoring_summary

INFUSIONS = pd.DataFrame({
    "bp_decision": ["proceeded", None, None, "proceeded", None],
    "sedation_moaas": [4.0, 4.0, 2.0, float("nan"), 5.0],
    "dissociation": ["mild", "severe", None, "mild", "none"],
    "discharge_ready_minutes": [30.0, 50.0, float("nan"), 90.0, float("nan")],
    "ae_severities": ["mild|serious", "", "moderate", "", ""],
    "adverse_note": [False, False, False, True, False],
})
HELD = pd.DataFrame({"course_key": [1, 1, 2], "decision": ["held", "rescheduled", "held"]})


def test_counts_by_hand():
    s = monitoring_summary(INFUSIONS, HELD)
    assert (s["n_infusions"], s["bp_above_rule_proceeded"], s["bp_held"],
            s["bp_rescheduled"]) == (5, 2, 2, 1)
    assert s["adverse_events"] == 3  # mild + serious on one infusion, moderate on another
    assert s["adverse_events_by_severity"] == {"mild": 1, "moderate": 1, "severe": 0,
                                               "serious": 1}
    assert s["adverse_notes_without_severity"] == 1
    assert s["sedation_moaas"] == {"5": 1, "4": 2, "3": 0, "2": 1, "1": 0, "0": 0,
                                   "not recorded": 1}
    assert s["dissociation"] == {"none": 1, "mild": 2, "moderate": 0, "severe": 1,
                                 "not recorded": 1}
    assert (s["discharge_minutes_recorded"], s["discharge_minutes_median"]) == (3, 50.0)


def test_nothing_recorded():
    empty = INFUSIONS.iloc[0:0]
    s = monitoring_summary(empty, HELD.iloc[0:0])
    assert s["adverse_events"] == 0 and s["bp_held"] == 0
    assert s["discharge_minutes_median"] is None
