"""outcomes.survival: Kaplan-Meier product limit (OUTCOMES.md O8), worked by hand."""

from __future__ import annotations

import pytest

from outcomes.survival import KM_COLUMNS, cumulative_at, kaplan_meier

# Six courses, times in infusions received (event = first response):
#   A 1 event | B 2 censored | C 2 event | D 3 event | E 3 censored | F 4 censored
#
# t = 1: at risk 6 (everyone), 1 event         S = 5/6             cumulative 1/6
# t = 2: at risk 5 (B-F; B censored at 2 is still at risk at 2), 1 event, 1 censored
#                                             S = 5/6 x 4/5 = 2/3  cumulative 1/3
#        (censoring B first would have given 5/6 x 3/4 = 5/8: the wrong convention)
# t = 3: at risk 3 (D, E, F), 1 event, 1 censored
#                                             S = 2/3 x 2/3 = 4/9  cumulative 5/9
# t = 4: at risk 1 (F), 0 events, 1 censored  S = 4/9              cumulative 5/9
TIMES = [1, 2, 2, 3, 3, 4]
EVENTS = [True, False, True, True, False, False]


def test_worked_example_table():
    km = kaplan_meier(TIMES, EVENTS)
    assert tuple(km.columns) == KM_COLUMNS
    assert km["time"].tolist() == [1, 2, 3, 4]
    assert km["n_at_risk"].tolist() == [6, 5, 3, 1]
    assert km["n_events"].tolist() == [1, 1, 1, 0]
    assert km["n_censored"].tolist() == [0, 1, 1, 1]
    assert km["survival"].tolist() == pytest.approx([5 / 6, 2 / 3, 4 / 9, 4 / 9])
    assert km["cumulative"].tolist() == pytest.approx([1 / 6, 1 / 3, 5 / 9, 5 / 9])


def test_input_order_does_not_matter():
    km = kaplan_meier(reversed(TIMES), reversed(EVENTS))  # iterables, not lists
    assert km["cumulative"].tolist() == pytest.approx([1 / 6, 1 / 3, 5 / 9, 5 / 9])


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        (0, 0.0),  # before the first event
        (0.5, 0.0),
        (1, 1 / 6),  # the step is taken at t itself
        (2.5, 1 / 3),  # between steps: the last one reached
        (3, 5 / 9),
        (6, 5 / 9),  # after the last time: flat
    ],
)
def test_cumulative_at_reads_the_step_function(t, expected):
    assert cumulative_at(kaplan_meier(TIMES, EVENTS), t) == pytest.approx(expected)


def test_all_censored_gives_zero():
    km = kaplan_meier([1, 2, 3], [False, False, False])
    assert km["survival"].tolist() == [1.0, 1.0, 1.0]
    assert cumulative_at(km, 6) == 0.0


def test_everyone_responds():
    # t = 1: 3 at risk, 2 events: S = 1/3; t = 2: 1 at risk, 1 event: S = 0
    km = kaplan_meier([1, 1, 2], [True, True, True])
    assert km["cumulative"].tolist() == pytest.approx([2 / 3, 1.0])


def test_empty_input():
    km = kaplan_meier([], [])
    assert km.empty and tuple(km.columns) == KM_COLUMNS
    assert cumulative_at(km, 6) == 0.0


@pytest.mark.parametrize(
    ("times", "events"), [([1, 2], [True]), ([1, float("nan")], [True, False])]
)
def test_invalid_input(times, events):
    with pytest.raises(ValueError):
        kaplan_meier(times, events)
