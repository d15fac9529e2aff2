"""Data-quality work list: completion by clinic and clinician, missing baselines, by hand."""

from __future__ import annotations

import pandas as pd

from outcomes.worklist import completion_by, courses_without_baseline, work_list


def _infusions() -> pd.DataFrame:
    # Course 10 (patient 1, clinic A): infusions 1-3 by dr.a.
    # Course 20 (patient 2, clinic B): infusions 1-2, infusion 1 by dr.a, 2 by dr.b.
    return pd.DataFrame({
        "course_key": [10, 10, 10, 20, 20], "patient_key": [1, 1, 1, 2, 2],
        "clinic": ["A", "A", "A", "B", "B"], "course_number": [1, 1, 1, 1, 1],
        "infusion_number": [1, 2, 3, 1, 2],
        "infusion_clinician": ["dr.a", "dr.a", "dr.a", "dr.a", "dr.b"]})


def _obs() -> pd.DataFrame:
    rows = [  # (course, infusion, timepoint, instrument, total)
        (10, 1, "pre", "PHQ-9", 18), (10, 1, "post", "PHQ-9", 12),   # infusion 1: both
        (10, 2, "pre", "PHQ-9", 14), (10, 2, "post", "PHQ-9", None),  # post without total
        (10, 3, "post", "PHQ-9", 8), (10, 3, "followup", "PHQ-9", 7),  # no pre; follow-up
        (20, 1, "post", "PHQ-9", 20),                                  # no baseline at all
        (20, 2, "pre", "GAD-7", 9), (20, 2, "post", "GAD-7", 7),      # other instrument
    ]
    frame = pd.DataFrame(rows, columns=["course_key", "infusion_number", "timepoint",
                                        "instrument", "total"])
    frame["total"] = frame["total"].astype("Float64")
    return frame


def test_completion_by_clinic_and_clinician():
    by_clinic = completion_by(_obs(), _infusions(), "clinic")
    # A: 3 infusions, only infusion 1 has both -> 1/3 = 0.3333; B: 0 of 2.
    assert by_clinic.to_dict("records") == [
        {"clinic": "A", "infusions": 3, "with_pre_and_post": 1, "rate": 0.3333},
        {"clinic": "B", "infusions": 2, "with_pre_and_post": 0, "rate": 0.0}]
    by_clinician = completion_by(_obs(), _infusions(), "infusion_clinician")
    # dr.a: course 10's three + course 20's first = 4 infusions, 1 with both; dr.b: 0 of 1.
    assert by_clinician.to_dict("records") == [
        {"infusion_clinician": "dr.a", "infusions": 4, "with_pre_and_post": 1, "rate": 0.25},
        {"infusion_clinician": "dr.b", "infusions": 1, "with_pre_and_post": 0, "rate": 0.0}]
    # GAD-7: course 20 infusion 2 is complete -> B 1/2.
    gad = completion_by(_obs(), _infusions(), "clinic", instrument="GAD-7")
    assert gad["with_pre_and_post"].tolist() == [0, 1] and gad["rate"].tolist() == [0.0, 0.5]


def test_courses_without_baseline():
    assert courses_without_baseline(_obs(), _infusions())["course_key"].tolist() == [20]


def test_work_list_says_what_is_missing():
    rows = work_list(_obs(), _infusions())
    got = [(r.clinic, r.patient_key, r.course_key,
            None if pd.isna(r.infusion_number) else int(r.infusion_number), r.missing)
           for r in rows.itertuples()]
    assert got == [
        ("A", 1, 10, 2, "PHQ-9 after"),            # the post score has no total
        ("A", 1, 10, 3, "PHQ-9 before"),           # the follow-up does not count
        ("B", 2, 20, None, "no baseline: no pre-infusion PHQ-9 with a total in the course"),
        ("B", 2, 20, 1, "PHQ-9 before"),
        ("B", 2, 20, 2, "PHQ-9 before and after"),  # only GAD-7 scores there
    ]


def test_nothing_missing_gives_an_empty_list():
    infusions = _infusions().iloc[:1]
    assert work_list(_obs(), infusions).empty
    assert completion_by(_obs(), infusions, "clinic")["rate"].tolist() == [1.0]
