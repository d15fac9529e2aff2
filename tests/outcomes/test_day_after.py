"""O12 day-after check of suicidal ideation (OUTCOMES.md section 4 and 6).

Of the courses whose PHQ-9 item 9 is >= 1 at baseline, "checked" = a PHQ-9 follow-up
dated the day of infusion 1 or the day after; "resolved" = the first such follow-up
has item 9 = 0. Expected counts are worked out by hand beside each case.
"""

from __future__ import annotations

import pandas as pd
import pytest

from outcomes.engine import course_table
from outcomes.summary import item9_block, summarize, summary_to_rows
from tests.outcomes.factories import obs_frame

DAY = pd.Timestamp
D1 = DAY("2024-01-01")  # infusion 1 of every course (the factory's default start)


def fu(course, item9, date, infusion=1, total=10):
    return (course, infusion, "followup", total, item9, DAY(date))


def counts(rows, **frame) -> tuple[int, int]:
    obs = obs_frame(rows, **frame)
    block = item9_block(course_table(obs, "PHQ-9"), 6)
    return block["day_after_first_infusion_checked"], block["day_after_first_infusion_resolved"]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # baseline item 9 = 1, follow-up the same day with item 9 = 0: checked, resolved
        ([(1, 1, "pre", 20, 1), fu(1, 0, "2024-01-01")], (1, 1)),
        # the day after (the boundary): checked, resolved
        ([(1, 1, "pre", 20, 2), fu(1, 0, "2024-01-02")], (1, 1)),
        # two days after: outside the window, not checked
        ([(1, 1, "pre", 20, 1), fu(1, 0, "2024-01-03")], (0, 0)),
        # still positive the next day: checked, not resolved
        ([(1, 1, "pre", 20, 1), fu(1, 1, "2024-01-02")], (1, 0)),
        # the FIRST such follow-up decides: day 0 says 1, day 1 says 0 -> not resolved
        ([(1, 1, "pre", 20, 1), fu(1, 0, "2024-01-02"), fu(1, 1, "2024-01-01")], (1, 0)),
        # ... and the other way round: day 0 says 0 -> resolved
        ([(1, 1, "pre", 20, 1), fu(1, 1, "2024-01-02"), fu(1, 0, "2024-01-01")], (1, 1)),
        # baseline item 9 = 0: not in the denominator at all
        ([(1, 1, "pre", 20, 0), fu(1, 0, "2024-01-02")], (0, 0)),
        # a post score of infusion 1 the same day is not a follow-up
        ([(1, 1, "pre", 20, 1), (1, 1, "post", 12, 0)], (0, 0)),
        # item 9 left blank on the first follow-up: checked, not resolved
        ([(1, 1, "pre", 20, 1), fu(1, None, "2024-01-02")], (1, 0)),
        # an unscored follow-up (no total) still counts for item 9 (as in O10)
        ([(1, 1, "pre", 20, 1), fu(1, 0, "2024-01-02", total=None)], (1, 1)),
        # a follow-up before infusion 1 (impossible by C4, but dated the day before): not checked
        ([(1, 1, "pre", 20, 1), fu(1, 0, "2023-12-31")], (0, 0)),
        # two courses: one resolved, one checked only, one never checked
        ([(1, 1, "pre", 20, 1), fu(1, 0, "2024-01-02"),
          (2, 1, "pre", 22, 3), fu(2, 2, "2024-01-01"),
          (3, 1, "pre", 18, 1), fu(3, 0, "2024-01-05")], (2, 1)),
    ],
)
def test_day_after_first_infusion(rows, expected):
    assert counts(rows) == expected


def test_baseline_from_a_later_pre_still_uses_infusion_1s_date():
    # pre 1 unscored (item 9 = 2 there, no total); baseline = pre 2 (item 9 = 1, total 18),
    # dated 2024-01-04. Infusion 1 was 2024-01-01; a follow-up 2024-01-02 with 0 resolves.
    rows = [(1, 1, "pre", None, 2), (1, 2, "pre", 18, 1), fu(1, 0, "2024-01-02")]
    assert counts(rows) == (1, 1)


def test_infusion_date_column_is_used_when_present():
    # No pre/post score of infusion 1 in the frame; the follow-up of infusion 1 carries
    # infusion 1's date (2024-03-10); the baseline is the pre of 2 with item 9 = 1.
    obs = obs_frame([(1, 2, "pre", 18, 1, DAY("2024-03-13")), fu(1, 0, "2024-03-11")])
    obs["infusion_date"] = [DAY("2024-03-13"), DAY("2024-03-10")]
    block = item9_block(course_table(obs, "PHQ-9"), 6)
    assert (block["day_after_first_infusion_checked"],
            block["day_after_first_infusion_resolved"]) == (1, 1)


def test_summary_and_rows_carry_the_two_figures():
    obs = obs_frame([(1, 1, "pre", 20, 1), fu(1, 0, "2024-01-02")])
    summary = summarize(obs, instruments=["PHQ-9"])
    assert summary["PHQ-9"]["item9"]["day_after_first_infusion_checked"] == 1
    assert summary["PHQ-9"]["item9"]["day_after_first_infusion_resolved"] == 1
    rows = {(r["block"], r["metric"]): r["value"] for r in summary_to_rows(summary)
            if r["instrument"] == "PHQ-9"}
    assert rows[("item9", "day_after_first_infusion_checked")] == 1
    assert rows[("item9", "day_after_first_infusion_resolved")] == 1
