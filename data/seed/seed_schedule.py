"""Treatment schedules and score trajectories of the synthetic demo cohort.

Invented, but shaped like a ketamine clinic's data: 6-infusion inductions 2-7 days
apart; about half the completers respond by infusion 6 and about a third remit;
~12% drop out before infusion 6; some responders come back for boosters every 3-8
weeks; ~10% start a second course months later. PHQ-9 baselines are mostly 12-25; the
post score of an infusion is a little lower than the pre score of the same day. GAD-7
and MADRS follow the PHQ-9 course proportionally. Pure Python, driven by one
`random.Random`, so a seed gives the same cohort.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

INDUCTION_LENGTH = 6
DROPOUT_RATE = 0.12
SECOND_COURSE_RATE = 0.10
BOOSTER_RATE = 0.6  # of responders
ITEM9_RATE = 0.06  # patients with suicidal ideation early in the course
RECENT_ITEM9_RATE = 0.2  # of patients seen in the last days: a positive item 9 today


@dataclass(frozen=True)
class Trajectory:
    """Expected PHQ-9 by infusions received: from baseline to `final` after infusion 6."""

    baseline: float
    final: float
    tau: float  # how fast the response comes (infusions)

    def level(self, received: int) -> float:
        if received >= INDUCTION_LENGTH:
            return self.final
        done = (1 - math.exp(-received / self.tau)) / (1 - math.exp(-INDUCTION_LENGTH / self.tau))
        return self.baseline - (self.baseline - self.final) * done

    @property
    def responds(self) -> bool:
        return 2 * self.final <= self.baseline


def draw_trajectory(rnd: random.Random) -> Trajectory:
    """~28% remit (a few more by chance), ~18% respond without remission, the rest improve partly or not at all."""
    baseline = min(27.0, max(8.0, rnd.gauss(18.5, 4.0)))
    u = rnd.random()
    if u < 0.28:
        final = rnd.uniform(0.0, 4.0)
    elif u < 0.46:
        final = rnd.uniform(5.0, max(5.0, baseline / 2 - 0.5))
    elif u < 0.76:
        final = baseline * rnd.uniform(0.55, 0.8)
    else:
        final = baseline * rnd.uniform(0.85, 1.05)
    return Trajectory(baseline, final, rnd.uniform(1.0, 3.0))


@dataclass
class PlannedInfusion:
    """One infusion and the expected totals around it (before answers are drawn)."""

    number: int
    day: date
    kind: str  # induction | booster
    phq9: tuple[float, float]  # (pre, post)
    gad7: tuple[float, float]
    madrs: tuple[float | None, float | None] = (None, None)
    item9: tuple[int, int] = (0, 0)


@dataclass
class PlannedCourse:
    number: int
    infusions: list[PlannedInfusion] = field(default_factory=list)
    status: str = "active"


def _targets(rnd: random.Random, t: Trajectory, number: int) -> tuple[float, float]:
    """Expected PHQ-9 before and after infusion `number`; post a little below pre."""
    if number <= INDUCTION_LENGTH:
        pre = t.level(number - 1) + rnd.gauss(0, 1.2)
        post = t.level(number) + rnd.gauss(0, 1.2) - rnd.uniform(0, 1.5)
    else:  # a booster: some relapse since the last one, then back down
        pre = t.final + rnd.uniform(1, 4) + rnd.gauss(0, 1.2)
        post = t.final + rnd.gauss(0, 1.0)
    return pre, min(post, pre - 0.5)


def _infusion(rnd: random.Random, t: Trajectory, number: int, day: date, gad_ratio: float,
              madrs: float | None, suicidal: bool) -> PlannedInfusion:
    pre, post = _targets(rnd, t, number)
    scale = gad_ratio / t.baseline
    gad = (pre * scale + rnd.gauss(0, 1.0), post * scale + rnd.gauss(0, 1.0))
    madrs_pair = (madrs if number == 1 else None,
                  madrs * post / t.baseline if madrs and number == INDUCTION_LENGTH else None)
    item9 = tuple(rnd.choice((1, 1, 1, 2)) if suicidal and level > 0.8 * t.baseline else 0
                  for level in (pre, post))
    kind = "induction" if number <= INDUCTION_LENGTH else "booster"
    return PlannedInfusion(number, day, kind, (pre, post), gad, madrs_pair, item9)  # type: ignore[arg-type]


def _schedule(rnd: random.Random, start: date, responds: bool, max_boosters: int) -> list[tuple[int, date]]:
    """(number, day) of the induction (possibly cut short by dropout) and its boosters."""
    stop = rnd.randint(1, INDUCTION_LENGTH - 1) if rnd.random() < DROPOUT_RATE else None
    days, day = [], start
    for number in range(1, (stop or INDUCTION_LENGTH) + 1):
        days.append((number, day))
        day += timedelta(days=rnd.randint(2, 7))
    if stop is None and responds and rnd.random() < BOOSTER_RATE:
        day = days[-1][1]
        for number in range(INDUCTION_LENGTH + 1, INDUCTION_LENGTH + 1 + rnd.randint(1, max_boosters)):
            day += timedelta(days=rnd.randint(21, 56))
            days.append((number, day))
    return days


def plan_course(rnd: random.Random, number: int, start: date, today: date, *, madrs: bool,
                max_boosters: int = 8) -> PlannedCourse:
    """One course from `start`, cut at `today` (later infusions have not happened yet)."""
    t = draw_trajectory(rnd)
    gad_ratio = min(21.0, max(3.0, t.baseline * 0.75 + rnd.gauss(0, 2.5)))
    madrs_baseline = min(55.0, max(12.0, t.baseline * 1.5 + 6 + rnd.gauss(0, 4))) if madrs else None
    suicidal = rnd.random() < ITEM9_RATE
    schedule = _schedule(rnd, start, t.responds, max_boosters)
    course = PlannedCourse(number)
    for n, day in schedule:
        if day > today:
            break
        course.infusions.append(_infusion(rnd, t, n, day, gad_ratio, madrs_baseline, suicidal))
    last = course.infusions[-1]
    if len(course.infusions) == len(schedule) and (today - last.day).days > 60:
        course.status = "completed" if len(schedule) >= INDUCTION_LENGTH else "discontinued"
    return course


def plan_patient(rnd: random.Random, today: date, *, madrs: bool) -> list[PlannedCourse]:
    """A patient's courses: one, or two for ~10% (the second months after the first)."""
    second = rnd.random() < SECOND_COURSE_RATE
    start = today - timedelta(days=rnd.randint(300, 900) if second else rnd.randint(0, 900))
    courses = [plan_course(rnd, 1, start, today, madrs=madrs, max_boosters=2 if second else 8)]
    first = courses[0]
    if second and first.status != "discontinued" and len(first.infusions) >= INDUCTION_LENGTH:
        restart = first.infusions[-1].day + timedelta(days=rnd.randint(90, 210))
        if restart <= today:
            first.status = "completed"
            courses.append(plan_course(rnd, 2, restart, today, madrs=madrs))
    last = courses[-1].infusions[-1]
    if (today - last.day).days <= 14 and rnd.random() < RECENT_ITEM9_RATE:
        last.item9 = (1, last.item9[1])
    return courses
