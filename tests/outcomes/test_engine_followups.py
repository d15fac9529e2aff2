"""outcomes.engine with follow-up scores (OUTCOMES.md C4, O1, O2, O7, O8).

Each course is written out as rows; the expected values are worked out by hand
from the contract in the comment beside them.
"""

from __future__ import annotations

import pandas as pd
import pytest

from outcomes.engine import add_order_columns, course_table, order_observations
from tests.outcomes.factories import obs_frame

DAY = pd.Timestamp


def _row(rows, **settings) -> pd.Series:
    table = course_table(obs_frame(rows), "PHQ-9", **settings)
    assert len(table) == 1
    return table.iloc[0]


@pytest.mark.parametrize(
    ("timepoint", "infusion", "rank", "received"),
    [
        ("pre", 3, 0, 2),  # C2: k - 1 before infusion k
        ("post", 3, 1, 3),  # C2: k after it
        ("followup", 3, 2, 3),  # C4: infusions received at a follow-up of k = k
        ("followup", 1, 2, 1),
    ],
)
def test_followup_rank_and_received(timepoint, infusion, rank, received):
    ranked = add_order_columns(obs_frame([(1, infusion, timepoint, 10)]))
    assert ranked["timepoint_rank"].tolist() == [rank]
    assert ranked["received"].tolist() == [received]


def test_followup_orders_after_the_post_of_its_infusion_then_by_date():
    obs = obs_frame([
        (1, 2, "pre", 14, None, DAY("2024-01-04")),
        (1, 1, "followup", 11, None, DAY("2024-01-03")),  # second follow-up of 1 (later)
        (1, 1, "followup", 13, None, DAY("2024-01-02")),  # first follow-up of 1
        (1, 1, "post", 15, None, DAY("2024-01-01")),
        (1, 1, "pre", 20, None, DAY("2024-01-01")),
    ])
    # pre 1, post 1, follow-ups of 1 by date (13 on the 2nd, 11 on the 3rd), then pre 2
    assert order_observations(obs)["total"].tolist() == [20, 15, 13, 11, 14]


def test_followup_is_never_a_baseline():
    # the only pre score has no total, the follow-up has one: no baseline (O1)
    row = _row([(1, 1, "pre", None), (1, 1, "followup", 20)])
    assert pd.isna(row["baseline"])
    assert not row["has_baseline"]


def test_followup_before_a_later_pre_does_not_become_the_baseline():
    # pre 1 unscored; follow-up of 1 = 18; pre 2 = 16: baseline is the pre of 2 (O1)
    row = _row([(1, 1, "pre", None), (1, 1, "post", 17), (1, 1, "followup", 18),
                (1, 2, "pre", 16)])
    assert row["baseline"] == 16
    assert row["baseline_infusion"] == 2


def test_followup_is_the_latest_when_it_comes_last():
    # pre 1 = 20, post 1 = 15, follow-up of 1 = 9: latest = 9, received 1 (O2, C4)
    row = _row([(1, 1, "pre", 20), (1, 1, "post", 15), (1, 1, "followup", 9)])
    assert row["latest"] == 9
    assert row["latest_timepoint"] == "followup"
    assert row["latest_received"] == 1
    assert row["change"] == -11  # O3: 9 - 20
    assert bool(row["response"])  # O4: 2 x 9 = 18 <= 20


def test_pre_of_the_next_infusion_comes_after_the_followup():
    # follow-up of 1 = 9, then pre 2 = 14: the latest is the pre of 2 (C2 by infusion)
    row = _row([(1, 1, "pre", 20), (1, 1, "followup", 9), (1, 2, "pre", 14)])
    assert row["latest"] == 14
    assert row["latest_received"] == 1  # pre of 2 -> 2 - 1


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("post", 12.0),  # O7: the post score of infusion 6, not the later follow-up (4)
        ("next_pre", 13.0),  # setting: the pre score of infusion 7, not the follow-up of 6
    ],
)
def test_followup_is_never_the_after_n_score(rule, expected):
    rows = [(1, 1, "pre", 24), (1, 6, "post", 12), (1, 6, "followup", 4), (1, 7, "pre", 13)]
    row = _row(rows, timepoint_rule=rule)
    assert row["after_n_score"] == expected


def test_course_with_only_a_followup_after_infusion_n_has_no_after_n_score():
    row = _row([(1, 1, "pre", 24), (1, 6, "followup", 4)])
    assert pd.isna(row["after_n_score"])
    assert not row["after_n_evaluable"]
    assert row["latest"] == 4  # but it is the latest (O2)


def test_first_response_at_a_followup_counts_k_infusions():
    # baseline 20; post 1 = 14 (2 x 14 = 28 > 20); follow-up of 1 = 10 (20 <= 20: response)
    rows = [(1, 1, "pre", 20), (1, 1, "post", 14), (1, 1, "followup", 10),
            (1, 2, "pre", 12), (1, 2, "post", 4)]
    row = _row(rows)
    assert row["first_response_received"] == 1  # C4: received at a follow-up of 1 = 1
    assert row["first_remission_received"] == 2  # post 2 = 4 <= 4: received 2
    assert row["last_received"] == 2  # KM censoring: post 2


def test_followup_counts_for_reliable_change():
    # baseline 20, latest a follow-up of 2 = 14: 20 - 14 = 6 >= RCI 6 (O6)
    row = _row([(1, 1, "pre", 20), (1, 2, "post", 16), (1, 2, "followup", 14)])
    assert bool(row["reliable_improvement"])
    assert not bool(row["reliable_deterioration"])


def test_item9_of_a_followup_counts_as_later_positive():
    # baseline item 9 = 0, follow-up item 9 = 1: emergent positive (O10)
    row = _row([(1, 1, "pre", 20, 0), (1, 1, "followup", 15, 1)])
    assert row["baseline_item9"] == 0
    assert bool(row["later_item9_positive"])
