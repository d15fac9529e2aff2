"""What the infusion screen should ask before an infusion is logged into a course (issue
12 item 4): pure rules, no store, no Streamlit.

- A course that is `completed` or `discontinued` is closed: logging into it needs the
  course reopened (with a reason, audited) or a new course.
- A gap longer than the lapse window (protocol setting `lapse_window_days`, default 21)
  since the course's last infusion suggests a new course; the user may still log into
  this course with a stated choice.
- The infusion type defaults to `booster` once an induction course holds
  `induction_length` infusions (a maintenance course: `maintenance`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

CLOSED_STATUSES = ("completed", "discontinued")
# Infusions in a standard induction: the N of "after infusion N" (O7); the protocol
# setting `induction_length` defaults to it.
INDUCTION_LENGTH = 6


@dataclass(frozen=True)
class CourseAdvice:
    closed: bool  # completed or discontinued: reopen or start a new course first
    gap_days: int | None  # days from the course's last infusion to the new one
    lapsed: bool  # gap_days > lapse window: a new course is suggested
    default_type: str

    @property
    def needs_choice(self) -> bool:
        return self.closed or self.lapsed


def default_type(course_type: str, n_saved: int, induction_length: int) -> str:
    """'booster' once an induction course holds `induction_length` infusions."""
    if course_type == "maintenance":
        return "maintenance"
    return "booster" if n_saved >= induction_length else "induction"


def course_advice(*, course_type: str, status: str, infusion_dates: Sequence[date],
                  new_date: date | None, induction_length: int,
                  lapse_window_days: int) -> CourseAdvice:
    """The prompts for logging an infusion dated `new_date` into this course."""
    last = max(infusion_dates, default=None)
    gap = (new_date - last).days if last is not None and new_date is not None else None
    return CourseAdvice(
        closed=status in CLOSED_STATUSES,
        gap_days=gap,
        lapsed=gap is not None and gap > lapse_window_days,
        default_type=default_type(course_type, len(infusion_dates), induction_length))
