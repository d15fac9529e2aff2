"""Self-report schedules (outcomes/schedule.py): due dates computed by hand from the rules.

The course below: induction infusions 1-6 on Mon 3, Wed 5, Fri 7, Mon 10, Wed 12,
Fri 14 March 2025; a booster (infusion 7) on Fri 4 April 2025.
"""

from __future__ import annotations

from datetime import date

import pytest

from outcomes.schedule import Due, InfusionDay, ScheduleError, due_on, validate_schedule

INDUCTION = [InfusionDay(n, date(2025, 3, d), "induction")
             for n, d in zip(range(1, 7), (3, 5, 7, 10, 12, 14), strict=True)]
BOOSTER = InfusionDay(7, date(2025, 4, 4), "booster")
COURSE = [*INDUCTION, BOOSTER]
ALL = {"after_first": ["PHQ-9"], "after_induction": ["PHQ-9", "GAD-7"],
       "weekly_maintenance": ["PHQ-9"]}


def due(day: date, schedule=ALL, infusions=COURSE, n=6) -> Due | None:
    return due_on(infusions, schedule, day, induction_length=n)


@pytest.mark.parametrize(("day", "after", "instruments", "rule"), [
    # the day after infusion 1 (Tue 4): both after_first and after_induction; merged,
    # after_first names it, instruments in rule order, each once
    (date(2025, 3, 4), 1, ("PHQ-9", "GAD-7"), "after_first"),
    (date(2025, 3, 6), 2, ("PHQ-9", "GAD-7"), "after_induction"),   # Thu after infusion 2
    (date(2025, 3, 8), 3, ("PHQ-9", "GAD-7"), "after_induction"),   # Sat after infusion 3
    (date(2025, 3, 15), 6, ("PHQ-9", "GAD-7"), "after_induction"),  # Sat after infusion 6
    # maintenance: 14 March + 7 = 21 March, + 14 = 28 March (the booster is 4 April)
    (date(2025, 3, 21), 6, ("PHQ-9",), "weekly_maintenance"),
    (date(2025, 3, 28), 6, ("PHQ-9",), "weekly_maintenance"),
    # after the booster the weekly clock restarts from it: 4 April + 7 = 11 April
    (date(2025, 4, 11), 7, ("PHQ-9",), "weekly_maintenance"),
    (date(2025, 4, 18), 7, ("PHQ-9",), "weekly_maintenance"),
])
def test_due_days(day, after, instruments, rule):
    assert due(day) == Due(on=day, after_infusion=after, instruments=instruments, rule=rule)


@pytest.mark.parametrize("day", [
    date(2025, 3, 2),   # before the first infusion
    date(2025, 3, 3),   # an infusion day (scores at the chair)
    date(2025, 3, 9),   # Sunday: two days after infusion 3
    date(2025, 3, 10),  # infusion 4's day, though it is the day after nothing
    date(2025, 3, 22),  # 8 days after infusion 6
    date(2025, 4, 4),   # the booster's day (4 April is also 21 days after 14 March)
    date(2025, 4, 5),   # the day after a booster: not an induction infusion
])
def test_nothing_due(day):
    assert due(day) is None


def test_weekly_waits_for_the_end_of_induction():
    # only 3 of 6 induction infusions given: the induction is not over, no weekly
    # follow-up 7 days after infusion 3 (7 March + 7 = 14 March)
    assert due(date(2025, 3, 14), infusions=INDUCTION[:3]) is None
    # with an induction length of 3 it is over: 14 March is due
    assert due(date(2025, 3, 14), infusions=INDUCTION[:3], n=3) == Due(
        date(2025, 3, 14), 3, ("PHQ-9",), "weekly_maintenance")


def test_a_booster_only_course_is_in_maintenance():
    booster = [InfusionDay(1, date(2025, 5, 1), "booster")]
    assert due(date(2025, 5, 8), infusions=booster) == Due(
        date(2025, 5, 8), 1, ("PHQ-9",), "weekly_maintenance")
    # infusion 1 of a booster course: after_first is about infusion 1, whatever its type
    assert due(date(2025, 5, 2), infusions=booster) == Due(
        date(2025, 5, 2), 1, ("PHQ-9",), "after_first")


def test_only_the_rules_the_schedule_names():
    only_first = {"after_first": ["PHQ-9"]}
    assert due(date(2025, 3, 4), schedule=only_first) == Due(
        date(2025, 3, 4), 1, ("PHQ-9",), "after_first")
    assert due(date(2025, 3, 6), schedule=only_first) is None
    assert due(date(2025, 3, 21), schedule=only_first) is None
    assert due(date(2025, 3, 4), schedule={}) is None


def test_infusions_in_any_order():
    assert due(date(2025, 3, 21), infusions=list(reversed(COURSE))) == Due(
        date(2025, 3, 21), 6, ("PHQ-9",), "weekly_maintenance")


@pytest.mark.parametrize(("value", "message"), [
    ([], "schedule: must be a mapping"),
    ({"daily": ["PHQ-9"]}, "schedule: unknown rule 'daily'"),
    ({"after_first": "PHQ-9"}, "after_first: must be a list"),
    ({"after_first": ["MADRS"]}, "after_first: 'MADRS' is not a self-report instrument"),
    ({"after_first": ["PHQ-9", "PHQ-9"]}, "after_first: an instrument is named twice"),
])
def test_bad_schedules(value, message):
    with pytest.raises(ScheduleError, match=message):
        validate_schedule(value)


def test_validate_drops_empty_rules_and_orders_them():
    assert validate_schedule({"weekly_maintenance": ["GAD-7"], "after_first": [],
                              "after_induction": ["PHQ-9"]}) == {
        "after_induction": ["PHQ-9"], "weekly_maintenance": ["GAD-7"]}
