"""The summary's counts (outcomes/tally.py): by hand, and patched equals counted whole.

A kept tally is brought up to date after a save by taking the written courses' rows out
and putting their new rows in; these tests check that such a patch gives the counts and
the summary object of the whole new table, for random tables and random rewrites."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes.engine import course_table
from outcomes.instruments import get_instrument
from outcomes.retention import course_states, retention_block, retention_of_tally
from outcomes.summary import instrument_summary, nhs_paired, summary_of_tally
from outcomes.survival import kaplan_meier, product_limit
from outcomes.tally import (
    BLOCK,
    KM_RESPONSE,
    NHS,
    SCORE,
    Tally,
    instrument_tally,
    median_of_counts,
    nhs_tally,
    state_tally,
)
from tests.outcomes.factories import obs_frame, pre_post


def test_a_tally_adds_and_subtracts_and_keeps_only_positive_counts():
    a = Tally({("x",): 2, ("y",): 1})
    b = Tally({("y",): 1, ("z",): 4})
    assert a.plus(b) == {("x",): 2, ("y",): 2, ("z",): 4}
    assert a.minus(Tally({("y",): 1})) == {("x",): 2}  # a count of 0 is dropped
    assert a.patched({("x",): 2}, {("w",): 1}) == {("y",): 1, ("w",): 1}
    assert a.minus(b).negative() == [("z",)]  # rows taken out that were never counted
    assert a == Tally({("x",): 2, ("y",): 1}) and not a.negative()  # a itself unchanged


@pytest.mark.parametrize(("values", "counts", "expected"), [
    ([1.0, 3.0, 6.0], [2, 1, 1], 2.0),  # 1 1 3 6: (1 + 3) / 2
    ([2.0, 5.0], [1, 2], 5.0),  # 2 5 5
    ([4.0], [3], 4.0),
    ([2.0, 3.0], [1, 1], 2.5),
    ([1.0, 2.0, 3.0], [0, 0, 0], None),
    ([1.0, 2.0, 7.0], [1, 0, 1], 4.0),  # a time with no event in between
])
def test_the_median_of_counted_values_by_hand(values, counts, expected):
    assert median_of_counts(np.array(values), np.array(counts)) == expected


def test_the_product_limit_from_counts_is_kaplan_meier():
    # times 2 (event), 2 (censored), 3 (event), 5 (censored), 5 (event)
    by_hand = product_limit(np.array([2.0, 3.0, 5.0]), np.array([2, 1, 2]),
                            np.array([1, 1, 1]))
    # at risk 5, 3, 2: S = 4/5, then 4/5 * 2/3 = 8/15, then 8/15 * 1/2 = 4/15
    assert by_hand["n_at_risk"].tolist() == [5, 3, 2]
    assert np.allclose(by_hand["survival"], [0.8, 8 / 15, 4 / 15])
    pd.testing.assert_frame_equal(
        by_hand, kaplan_meier([2, 2, 3, 5, 5], [True, False, True, False, True]))
    with pytest.raises(ValueError, match="NaN"):
        product_limit(np.array([np.nan]), np.array([1]), np.array([0]))


def test_an_instruments_counts_by_hand():
    # course 1: PHQ-9 20 -> 8 after infusion 2 (a response, 8 <= 10); course 2: 15 -> 14;
    # course 3 in clinic B: a baseline of 12 only
    obs = pd.concat([obs_frame(pre_post(1, 20, 12, 11, 8) + pre_post(2, 15, 14)),
                     obs_frame(pre_post(3, 12), clinic="B")], ignore_index=True)
    tally = instrument_tally(course_table(obs, "PHQ-9", after_n=2))
    cases = {(clinic, case): tally.get((BLOCK, clinic, case, "n"), 0)
             for clinic in "AB" for case in (False, True)}
    assert cases == {("A", False): 0, ("A", True): 2, ("B", False): 0, ("B", True): 1}
    assert tally[(BLOCK, "A", True, "evaluable")] == 2
    assert tally[(BLOCK, "A", True, "response")] == 1
    # O8: course 1 responded at 2 infusions; course 2 censored at 1, course 3 at 0
    assert {k: v for k, v in tally.items() if k[0] == KM_RESPONSE} == {
        (KM_RESPONSE, 2.0, True): 1, (KM_RESPONSE, 1.0, False): 1,
        (KM_RESPONSE, 0.0, False): 1}
    # the severity bands' counts: the paired courses 1 (20 -> 8) and 2 (15 -> 14) only
    assert {k: v for k, v in tally.items() if k[0] == SCORE} == {
        (SCORE, "baseline", 20.0): 1, (SCORE, "baseline", 15.0): 1,
        (SCORE, "latest", 8.0): 1, (SCORE, "latest", 14.0): 1}


def test_the_severity_bands_from_counts_by_hand():
    from outcomes.breakdowns import severity_distribution, severity_of_counts

    # PHQ-9 bands 0-4, 5-9, 10-14, 15-19, 20-27; paired: 20 -> 8, 15 -> 14, 3 -> 3
    # (course 4 has no latest, course 5 no baseline: neither counts)
    table = pd.DataFrame({"baseline": [20.0, 15.0, 3.0, 12.0, np.nan],
                          "latest": [8.0, 14.0, 3.0, np.nan, 2.0]})
    tally = Tally()
    from outcomes.tally import _add_scores
    _add_scores(tally, table)
    bands = severity_of_counts(tally, "PHQ-9")
    assert bands["baseline"].tolist() == [1, 0, 0, 1, 1]
    assert bands["latest"].tolist() == [1, 1, 1, 0, 0]
    pd.testing.assert_frame_equal(bands, severity_distribution(table, "PHQ-9"))
    half = Tally()  # a total that is not whole (an imported one): counted by value
    _add_scores(half, pd.DataFrame({"baseline": [9.5], "latest": [4.5]}))
    assert half == {(SCORE, "baseline", 9.5): 1, (SCORE, "latest", 4.5): 1}


def test_the_start_months_by_hand_in_numpy_and_through_the_dates():
    from outcomes.control_limits import course_months, period_codes
    from outcomes.tally import _month_codes

    # D2 dates a course by its first infusion, else its start: 2024-01 (start), 2024-01
    # (first), unknown, 2024-04 (first, a day after the start's month)
    table = pd.DataFrame({
        "course_start": pd.to_datetime(["2024-01-15", "2024-02-01", None, "2024-03-31"]
                                       ).astype("datetime64[us]"),
        "first_infusion_date": pd.to_datetime([None, "2024-01-31", None, "2024-04-01"]
                                              ).astype("datetime64[s]"),
    })
    position, labels = _month_codes(table)
    assert position.tolist() == [0, 0, -1, 1] and labels.tolist() == ["2024-01", "2024-04"]
    through, through_labels = period_codes(course_months(table), "month")
    assert through.tolist() == position.tolist() and through_labels.tolist() == labels.tolist()
    as_text = table.astype({"first_infusion_date": "object"})  # not datetime64: the old path
    assert _month_codes(as_text)[0].tolist() == [0, 0, -1, 1]


def test_the_nhs_pairs_by_hand():
    phq = course_table(obs_frame(pre_post(1, 20, 5) + pre_post(2, 12, 18)), "PHQ-9")
    gad = course_table(obs_frame(pre_post(1, 15, 4) + pre_post(2, 6, 6), instrument="GAD-7"),
                       "GAD-7")
    # course 1: PHQ-9 20 -> 5 (drop 15 >= 6), GAD-7 15 -> 4: a case, recovered, reliably
    # course 2: PHQ-9 12 -> 18 (rise 6 >= 6), GAD-7 6 -> 6: a case (12 >= 10), deteriorated
    assert nhs_tally(phq, gad) == {(NHS, "paired"): 2, (NHS, "case"): 2,
                                   (NHS, "recovered"): 1, (NHS, "reliably_recovered"): 1,
                                   (NHS, "improvement"): 1, (NHS, "deterioration"): 1}
    block = nhs_paired(phq, gad)
    assert (block["recovery_rate"], block["reliable_deterioration_rate"]) == (0.5, 0.5)


def test_retention_from_counts_equals_the_block():
    progress = pd.DataFrame({"course_key": [1, 2, 3, 4],
                             "last_infusion": pd.array([6, 2, None, 7], dtype="Int64"),
                             "last_date": pd.to_datetime(["2024-03-01", "2024-01-05", None,
                                                          "2024-03-02"]),
                             "status": ["active", "active", "active", "active"]})
    states = course_states(progress, as_of=pd.Timestamp("2024-03-10").date(),
                           induction_length=6, lapse_days=28)
    tally = state_tally(states)
    assert tally == {("state", "completed", 6): 1, ("state", "completed", 7): 1,
                     ("state", "stopped", 2): 1, ("state", "in_progress", 0): 1}
    from outcomes.retention import STATES, state_codes
    from outcomes.tally import state_tally_of_codes

    last, codes = state_codes(progress, as_of=pd.Timestamp("2024-03-10").date(),
                              induction_length=6, lapse_days=28)
    assert last.tolist() == [6, 2, 0, 7]  # completed, stopped, in progress, completed
    assert codes.tolist() == [STATES.index(s) for s in
                              ("completed", "stopped", "in_progress", "completed")]
    assert state_tally_of_codes(last, codes, list(STATES)) == tally
    block = retention_of_tally(tally, induction_length=6)
    assert block == retention_block(states, induction_length=6)
    assert (block["n_with_booster"], block["stopped_after_infusion"]["2"]) == (1, 1)
    assert block["reached_infusion"]["2"] == 3 and block["completion_rate"] == round(2 / 3, 4)


# --- property: a patched tally is the tally of the new table --------------------------

COURSE = st.tuples(
    st.sampled_from(["A", "B", None]),  # clinic
    st.lists(st.one_of(st.none(), st.integers(0, 27)), min_size=1, max_size=8),  # totals
    st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=8, max_size=8),  # item 9
    st.integers(0, 80),  # start, days after 2024-01-01
)


def _table(courses: dict[int, tuple]) -> pd.DataFrame:
    frames = []
    for key, (clinic, totals, item9, start) in courses.items():
        rows = pre_post(key, *totals, item9=item9[:len(totals)])
        rows = [r for r in rows if r[3] is not None] or rows[:1]
        frame = obs_frame(rows, courses={key: {"course_start": pd.Timestamp("2024-01-01")
                                               + pd.Timedelta(days=start)}})
        frames.append(frame.assign(clinic=clinic))
    obs = pd.concat(frames, ignore_index=True)
    obs["total"] = obs["total"].astype("Float64")
    return course_table(obs[obs["total"].notna()], "PHQ-9", after_n=2,
                        all_courses=True) if obs["total"].notna().any() else \
        course_table(obs.iloc[:0], "PHQ-9", after_n=2, all_courses=True)


@settings(max_examples=60, deadline=None)
@given(before=st.dictionaries(st.integers(1, 12), COURSE, min_size=1, max_size=8),
       rewrite=st.dictionaries(st.integers(1, 12), st.one_of(st.none(), COURSE), max_size=4))
def test_a_patched_tally_equals_the_tally_of_the_new_table(before, rewrite):
    after = {k: v for k, v in {**before, **rewrite}.items() if v is not None}
    if not after:
        return
    old, new = _table(before), _table(after)
    written = list(rewrite)

    def rows(table: pd.DataFrame) -> pd.DataFrame:
        return table[table["course_key"].isin(written)]

    kept = instrument_tally(old, item9=True)
    patched = kept.patched(instrument_tally(rows(old), item9=True),
                           instrument_tally(rows(new), item9=True))
    assert not patched.negative()
    assert patched == instrument_tally(new, item9=True)
    spec = get_instrument("PHQ-9")
    assert summary_of_tally(patched, spec, 2, spec.remission_max, 2) == \
        instrument_summary(new, spec, 2, spec.remission_max, 2)
    # and the counts of a table are the sum of its parts' counts
    some = new["course_key"].isin(written).to_numpy()
    assert instrument_tally(new[some], item9=True).plus(
        instrument_tally(new[~some], item9=True)) == instrument_tally(new, item9=True)


# --- the waterfall patched in place -------------------------------------------------------

BAR = st.tuples(st.sampled_from([10.0, 20.0]), st.sampled_from([0.0, 5.0, 10.0, 20.0, None]),
                st.booleans())  # baseline, latest (None: no latest), evaluable


def _bars(courses: dict[int, tuple]) -> pd.DataFrame:
    keys = sorted(courses)
    baseline = np.array([courses[k][0] for k in keys], dtype="float64")
    latest = np.array([np.nan if courses[k][1] is None else courses[k][1] for k in keys],
                      dtype="float64")
    pct = (latest - baseline) / baseline * 100  # ties on purpose: few distinct values
    return pd.DataFrame({
        "course_key": np.array(keys, dtype="int64"),
        "clinic": pd.Series(["A" if k % 2 else "B" for k in keys], dtype="str"),
        "baseline": baseline, "latest": latest, "pct_change": pct,
        "response": pd.array(pct <= -50, dtype="boolean"),
        "remission": pd.array(latest <= 5, dtype="boolean"),
        "evaluable": np.array([courses[k][2] for k in keys], dtype=bool)})


@settings(max_examples=80, deadline=None)
@given(before=st.dictionaries(st.integers(1, 30), BAR, max_size=20),
       rewrite=st.dictionaries(st.integers(1, 30), st.one_of(st.none(), BAR), max_size=6),
       max_bars=st.integers(1, 8))
def test_a_patched_waterfall_order_equals_the_order_of_the_new_table(before, rewrite,
                                                                     max_bars):
    from outcomes.breakdowns import patched_order, waterfall, waterfall_bars, waterfall_order

    after = {k: v for k, v in {**before, **rewrite}.items() if v is not None}
    old, new = _bars(before), _bars(after)
    written = np.array(sorted(rewrite), dtype="int64")
    patched = patched_order(waterfall_order(old), written,
                            new[new["course_key"].isin(written)])
    whole = waterfall(new)  # the sort of every course the patch avoids
    assert patched.keys.tolist() == whole["course_key"].tolist()
    np.testing.assert_array_equal(patched.fall, -whole["pct_change"].to_numpy())
    # the drawn bars: every ceil(n / max_bars)-th row of the whole waterfall
    step = -(-len(whole) // max_bars) if len(whole) > max_bars else 1
    pd.testing.assert_frame_equal(waterfall_bars(new, patched, max_bars),
                                  whole.iloc[::step].reset_index(drop=True))


def test_a_patched_waterfall_by_hand():
    from outcomes.breakdowns import patched_order, waterfall_order

    # changes -50 % (course 1), 0 % (2), +50 % (3); course 2 moves to -75 %
    old = _bars({1: (20.0, 10.0, True), 2: (20.0, 20.0, True), 3: (10.0, 15.0, True)})
    new = _bars({1: (20.0, 10.0, True), 2: (20.0, 5.0, True), 3: (10.0, 15.0, True)})
    patched = patched_order(waterfall_order(old), np.array([2]), new[new["course_key"] == 2])
    assert patched.keys.tolist() == [3, 1, 2]  # largest rise first
    assert patched.fall.tolist() == [-50.0, 50.0, 75.0]
