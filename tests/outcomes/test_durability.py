"""outcomes.durability: loss of response among responders (a convention: back above half
the baseline) and booster intervals, counted by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from outcomes.durability import (
    booster_intervals,
    booster_summary,
    durability_summary,
    response_durability,
)
from outcomes.engine import course_table
from tests.outcomes.factories import obs_frame, pre_post


def d(day: str) -> pd.Timestamp:
    return pd.Timestamp(f"2024-{day}")


# (course, infusion, timepoint, total, item9, date)
ROWS = [
    # c1: baseline 20; post 2 = 10 responds (received 2, 01-04); pre 3 = 12 (24 > 20) lost
    #     at received 2 on 01-07: 0 infusions, 3 days = 0.4286 weeks.
    (1, 1, "pre", 20, None, d("01-01")), (1, 1, "post", 12, None, d("01-01")),
    (1, 2, "pre", 14, None, d("01-04")), (1, 2, "post", 10, None, d("01-04")),
    (1, 3, "pre", 12, None, d("01-07")), (1, 3, "post", 11, None, d("01-07")),
    # c2: baseline 16; post 1 = 8 responds (received 1, 01-01); 8, 6, 7 all <= 8: never
    #     lost, followed to pre 3 (received 2, 01-29): 1 infusion, 4 weeks.
    (2, 1, "pre", 16, None, d("01-01")), (2, 1, "post", 8, None, d("01-01")),
    (2, 2, "pre", 8, None, d("01-08")), (2, 2, "post", 6, None, d("01-08")),
    (2, 3, "pre", 7, None, d("01-29")),
    # c3: baseline 10, never at or below 5: not a responder.
    *pre_post(3, 10, 9, 9, 8),
    # c4: baseline 0: response undefined.
    *pre_post(4, 0, 0, 0),
    # c5: baseline 14; pre 2 = 7 responds (received 1, 01-08); an incomplete post 2 is
    #     ignored; pre 3 = 6; post 3 = 8 (16 > 14) lost at received 3 on 01-22:
    #     2 infusions, 2 weeks.
    (5, 1, "pre", 14, None, d("01-01")), (5, 1, "post", 12, None, d("01-01")),
    (5, 2, "pre", 7, None, d("01-08")), (5, 2, "post", None, None, d("01-08")),
    (5, 3, "pre", 6, None, d("01-22")), (5, 3, "post", 8, None, d("01-22")),
]


@pytest.fixture(scope="module")
def obs() -> pd.DataFrame:
    return obs_frame(ROWS)


def every_score(obs: pd.DataFrame) -> pd.DataFrame:
    return response_durability(obs, "PHQ-9", pre_only=False)


def test_durability_per_responder(obs):
    table = every_score(obs).set_index("course_key")
    assert list(table.index) == [1, 2, 5]
    assert table["response_received"].tolist() == [2.0, 1.0, 1.0]
    assert table["lost"].tolist() == [True, False, True]
    assert table.loc[1, "infusions_to_loss"] == 0 and table.loc[5, "infusions_to_loss"] == 2
    assert table.loc[1, "weeks_to_loss"] == pytest.approx(3 / 7)
    assert table.loc[5, "weeks_to_loss"] == 2.0
    assert pd.isna(table.loc[2, "weeks_to_loss"])
    assert (table.loc[2, "followed_infusions"], table.loc[2, "followed_weeks"]) == (1.0, 4.0)


def test_response_time_agrees_with_the_engine(obs):
    engine = course_table(obs, "PHQ-9").set_index("course_key")["first_response_received"]
    table = every_score(obs).set_index("course_key")
    assert table["response_received"].to_dict() == engine.dropna().to_dict()


def test_durability_summary(obs):
    summary = durability_summary(every_score(obs))
    assert (summary["n_responders"], summary["n_lost"]) == (3, 2)
    assert summary["lost_rate"] == 0.6667
    assert summary["median_infusions_to_loss"] == 1.0  # median(0, 2)
    assert summary["median_weeks_to_loss"] == 1.2143  # (3/7 + 2) / 2
    # KM over weeks: loss at 3/7 (3 at risk) -> 2/3; loss at 2 (2 at risk) -> 1/3;
    # c2 censored at 4 weeks.
    assert summary["still_responding_at_4_weeks"] == 0.3333
    assert summary["still_responding_at_12_weeks"] == 0.3333


def test_durability_on_pre_infusion_scores(obs):
    # Pre scores only: c1 20, 14, 12 never <= 10; c2 16, 8 (01-08, received 1), 7: kept,
    # followed to 01-29 (3 weeks, 1 infusion); c5 14, 7 (01-08, received 1), 6 (01-22):
    # kept, 2 weeks; c6 18, 9 (01-08, received 1), 10 on 02-05 (20 > 18): lost after
    # 1 infusion, 4 weeks.
    c6 = [(6, 1, "pre", 18, None, d("01-01")), (6, 1, "post", 4, None, d("01-01")),
          (6, 2, "pre", 9, None, d("01-08")), (6, 3, "pre", 10, None, d("02-05"))]
    table = response_durability(obs_frame([*ROWS, *c6]), "PHQ-9").set_index("course_key")
    assert list(table.index) == [2, 5, 6]
    assert table["lost"].tolist() == [False, False, True]
    assert table["followed_weeks"].tolist() == [3.0, 2.0, 4.0]
    assert (table.loc[6, "infusions_to_loss"], table.loc[6, "weeks_to_loss"]) == (1.0, 4.0)


def test_durability_without_responders():
    obs = obs_frame(pre_post(1, 10, 9))
    summary = durability_summary(response_durability(obs, "PHQ-9"))
    assert summary["n_responders"] == 0 and summary["lost_rate"] is None
    assert summary["still_responding_at_4_weeks"] is None


def test_booster_intervals():
    infusions = pd.DataFrame({
        "course_key": [1, 1, 1, 1, 2, 2, 3],
        "infusion_number": [1, 2, 3, 4, 1, 2, 1],
        "date": pd.to_datetime(["2024-01-01", "2024-01-04", "2024-02-15", "2024-03-28",
                                "2024-01-01", "2024-01-31", "2024-05-01"]),
        "infusion_type": ["induction", "induction", "booster", "booster", "induction",
                          "booster", "booster"],
    })
    intervals = booster_intervals(infusions)
    # c1: 01-04 -> 02-15 = 42 days, 02-15 -> 03-28 = 42; c2: 30; c3's booster has no
    # previous infusion in its course.
    assert intervals["days_since_previous"].tolist() == [42.0, 42.0, 30.0]
    summary = booster_summary(intervals)
    assert (summary["n_boosters"], summary["n_courses_with_booster"]) == (3, 2)
    assert (summary["median_days"], summary["q1_days"], summary["q3_days"]) == (42.0, 36.0, 42.0)
