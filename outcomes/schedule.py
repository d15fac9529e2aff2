"""Self-report schedules: which follow-up questionnaires a course is due on a given day.

Pure (stdlib only). A clinic's schedule names, for each rule, the instruments a patient is
asked to answer at home (OUTCOMES.md C4: "the day after an infusion, weekly between
boosters"). Every due item is a follow-up that belongs to infusion k, the course's last
infusion dated before the day (C4), so a course has at most one due item per day: the
rules that fall on the same day are merged (instruments in rule order, each once; the
first matching rule names it).

Rules, in that order:

- ``after_first``: the day after infusion 1.
- ``after_induction``: the day after each induction infusion.
- ``weekly_maintenance``: once the induction is over (``induction_length`` induction
  infusions, or any booster or maintenance infusion), every 7 days after the course's
  latest infusion (the last induction infusion, then each booster: "weekly between
  boosters"), until the next infusion.

No follow-up is due on a day the course has an infusion (its pre and post scores are
taken at the chair), nor before the first infusion. MADRS is clinician-rated: a schedule
names self-report instruments only (``SELF_REPORT_INSTRUMENTS``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

RULES: tuple[str, ...] = ("after_first", "after_induction", "weekly_maintenance")
RULE_LABELS: dict[str, str] = {
    "after_first": "the day after infusion 1",
    "after_induction": "the day after each induction infusion",
    "weekly_maintenance": "weekly during maintenance (after the last induction infusion, "
                          "and after each booster, until the next infusion)",
}
SELF_REPORT_INSTRUMENTS: tuple[str, ...] = ("PHQ-9", "GAD-7", "QIDS-SR16", "PCL-5")
WEEK_DAYS = 7


class ScheduleError(ValueError):
    """A schedule that breaks its rules (the message names the rule)."""


@dataclass(frozen=True)
class InfusionDay:
    """What a schedule needs of one infusion."""

    number: int
    on: date
    infusion_type: str  # induction | booster | maintenance


@dataclass(frozen=True)
class Due:
    """A follow-up due on ``on``: answered after infusion ``after_infusion``."""

    on: date
    after_infusion: int
    instruments: tuple[str, ...]
    rule: str
    occasion: str = "followup"


def validate_schedule(value: object) -> dict[str, list[str]]:
    """Check a schedule {rule: [instrument, ...]}; return it with empty rules dropped."""
    if not isinstance(value, Mapping):
        raise ScheduleError("schedule: must be a mapping of rule to instruments")
    checked: dict[str, list[str]] = {}
    for rule, instruments in value.items():
        if rule not in RULES:
            raise ScheduleError(f"schedule: unknown rule {rule!r}; rules: {', '.join(RULES)}")
        if isinstance(instruments, str) or not isinstance(instruments, Iterable):
            raise ScheduleError(f"{rule}: must be a list of instruments")
        names = list(instruments)
        for name in names:
            if name not in SELF_REPORT_INSTRUMENTS:
                raise ScheduleError(f"{rule}: {name!r} is not a self-report instrument "
                                    f"({', '.join(SELF_REPORT_INSTRUMENTS)})")
        if len(set(names)) != len(names):
            raise ScheduleError(f"{rule}: an instrument is named twice")
        if names:
            checked[rule] = names
    return {rule: checked[rule] for rule in RULES if rule in checked}


def _induction_over(infusions: Sequence[InfusionDay], induction_length: int) -> bool:
    n_induction = sum(1 for i in infusions if i.infusion_type == "induction")
    return n_induction >= induction_length or any(
        i.infusion_type != "induction" for i in infusions)


def _matching_rules(done: Sequence[InfusionDay], day: date, induction_length: int) -> list[str]:
    """The rules that fall on ``day``, given the infusions dated before it."""
    latest = done[-1]
    days_since = (day - latest.on).days
    matched = []
    if days_since == 1 and latest.number == 1:
        matched.append("after_first")
    if days_since == 1 and latest.infusion_type == "induction":
        matched.append("after_induction")
    if days_since % WEEK_DAYS == 0 and _induction_over(done, induction_length):
        matched.append("weekly_maintenance")
    return matched


def due_on(infusions: Iterable[InfusionDay], schedule: Mapping[str, Sequence[str]],
           day: date, *, induction_length: int) -> Due | None:
    """The follow-up a course is due on ``day`` under ``schedule``, or None."""
    ordered = sorted(infusions, key=lambda i: (i.on, i.number))
    if any(i.on == day for i in ordered):
        return None
    done = [i for i in ordered if i.on < day]
    if not done:
        return None
    rules = [r for r in _matching_rules(done, day, induction_length) if schedule.get(r)]
    if not rules:
        return None
    instruments: list[str] = []
    for rule in rules:
        instruments += [name for name in schedule[rule] if name not in instruments]
    return Due(on=day, after_infusion=done[-1].number, instruments=tuple(instruments),
               rule=rules[0])
