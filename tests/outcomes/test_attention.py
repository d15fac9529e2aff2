"""outcomes.attention: the director's needs-attention rules on hand-built cohorts."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from outcomes.attention import (
    LOSING_RESPONSE,
    NOT_IMPROVING,
    OPEN_ALERT,
    OVERDUE_BOOSTER,
    course_flags,
    needs_attention,
)
from outcomes.engine import course_table
from tests.outcomes.factories import obs_frame, pre_post

TODAY = date(2024, 6, 1)
LATER = {"course_number": 2, "course_start": pd.Timestamp("2024-03-01")}
COURSES = {91: {"patient_key": 9, **LATER}}
ROWS = [
    # p1: 8 scores, latest post 4 = 16 (received 4), never <= 10; 100 x 4 = 400 < 25 x 20
    *pre_post(1, 20, 18, 19, 17, 18, 16, 17, 16),
    # p2: latest post 4 = 15: 100 x 5 = 500, not < 500 (exactly 25 %): not flagged
    *pre_post(2, 20, 18, 19, 17, 18, 16, 17, 15),
    # p3: latest post 3 = 19, only 3 infusions received: too early to say
    *pre_post(3, 20, 19, 20, 19, 20, 19),
    # p4: post 1 = 8 responded (16 <= 20); latest post 3 = 11 (22 > 20): losing response
    *pre_post(4, 20, 8, 9, 10, 10, 11),
    # p5, p6, p7: responders still responding (latest 10: 20 <= 20)
    *pre_post(5, 20, 9, 10, 10),
    *pre_post(6, 20, 9, 10, 10),
    *pre_post(7, 20, 9, 10, 10),
    # p9: first course losing response, but the current (second) course is fine
    *pre_post(9, 20, 8, 15, 15), *pre_post(91, 20, 10, 9, 8),
]
LAST_INFUSION = {
    1: ("2024-05-30", "active"), 2: ("2024-05-30", "active"), 3: ("2024-05-30", "active"),
    4: ("2024-05-25", "active"),
    5: ("2024-04-15", "active"),  # 47 days > 42: overdue
    6: ("2024-04-20", "completed"),  # 42 days: not more than 42, not overdue
    7: ("2024-01-15", "discontinued"),  # long ago, but stopped on purpose
    9: ("2024-02-01", "completed"), 91: ("2024-05-20", "active"),
}


def infusions() -> pd.DataFrame:
    rows = [{"course_key": key, "date": pd.Timestamp("2024-01-01"), "course_status": status}
            for key, (_, status) in LAST_INFUSION.items()]
    rows += [{"course_key": key, "date": pd.Timestamp(day), "course_status": status}
             for key, (day, status) in LAST_INFUSION.items()]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return course_table(obs_frame(ROWS, courses=COURSES), "PHQ-9", all_courses=True)


def alerts(*patients: int) -> pd.DataFrame:
    return pd.DataFrame({"patient_key": list(patients), "clinic": ["A"] * len(patients)})


def test_score_rules_per_course(table):
    flags = course_flags(table).set_index("course_key")
    assert flags["not_improving"][flags["not_improving"]].index.tolist() == [1]
    assert flags["losing_response"][flags["losing_response"]].index.tolist() == [4, 9]


@pytest.mark.parametrize(("min_infusions", "expected"), [(3, [1, 3]), (4, [1]), (5, [])])
def test_not_improving_needs_enough_infusions(table, min_infusions, expected):
    flags = course_flags(table, min_infusions=min_infusions)
    assert sorted(flags.loc[flags["not_improving"], "course_key"]) == expected


def test_needs_attention_list(table):
    result = needs_attention(table, infusions=infusions(), open_alerts=alerts(1, 8, 8),
                             today=TODAY, overdue_days=42)
    reasons = dict(zip(result["patient_key"], result["reasons"], strict=True))
    assert reasons == {
        1: [OPEN_ALERT, NOT_IMPROVING],
        8: [OPEN_ALERT],  # an alert, no course of the instrument
        4: [LOSING_RESPONSE],
        5: [OVERDUE_BOOSTER],
    }
    assert result["patient_key"].tolist() == [1, 8, 4, 5]  # alerts first, then by reason
    by_patient = result.set_index("patient_key")
    assert by_patient.loc[8, "open_alerts"] == 2 and by_patient.loc[8, "clinic"] == "A"
    assert by_patient.loc[5, "days_since_infusion"] == 47
    assert by_patient.loc[4, "latest"] == 11 and by_patient.loc[4, "baseline"] == 20


@pytest.mark.parametrize(("overdue_days", "overdue"), [(46, [5]), (47, []), (30, [5, 6])])
def test_overdue_booster_follows_the_setting(table, overdue_days, overdue):
    result = needs_attention(table, infusions=infusions(), open_alerts=alerts(),
                             today=TODAY, overdue_days=overdue_days)
    flagged = result[result["reasons"].map(lambda r: OVERDUE_BOOSTER in r)]
    assert sorted(flagged["patient_key"]) == overdue


def test_empty_cohort():
    table = course_table(obs_frame(pre_post(1, 10, 9)).iloc[:0], "PHQ-9")
    result = needs_attention(table, infusions=infusions().iloc[:0], open_alerts=alerts(),
                             today=TODAY, overdue_days=42)
    assert result.empty


LONG_AFTER = date(2026, 7, 27)  # 2024-04-15 + 833 days: 15 (Apr) + 31 + 30 + 27 = 103 + 730


def test_a_patient_last_seen_833_days_ago_is_left_out_by_the_attention_window(table):
    unbounded = needs_attention(table, infusions=infusions(), open_alerts=alerts(1),
                                today=LONG_AFTER, overdue_days=42)
    by_patient = unbounded.set_index("patient_key")
    assert by_patient.loc[5, "days_since_infusion"] == 833  # the finding
    windowed = needs_attention(table, infusions=infusions(), open_alerts=alerts(1),
                               today=LONG_AFTER, overdue_days=42, window_days=90)
    # every course's last contact is > 90 days old; p1 stays for its open alert
    assert windowed["patient_key"].tolist() == [1]
    assert windowed["reasons"].tolist() == [[OPEN_ALERT, NOT_IMPROVING]]


@pytest.mark.parametrize(("window_days", "listed"), [(47, [1, 4, 5]), (46, [1, 4]), (6, [1]), (1, [])])
def test_the_window_counts_days_since_the_last_contact(table, window_days, listed):
    # on TODAY: p1 and p4 last seen 2 and 7 days ago, p5 47 days ago (no alerts here)
    result = needs_attention(table, infusions=infusions(), open_alerts=alerts(),
                             today=TODAY, overdue_days=42, window_days=window_days)
    assert sorted(result["patient_key"]) == listed
