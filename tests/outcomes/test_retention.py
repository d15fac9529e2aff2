"""D1 retention (OUTCOMES.md section 7): hand-computed states at their boundaries."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from outcomes.retention import course_states, progress_from_infusions, retention_block, retention_by

AS_OF = date(2024, 3, 31)
INDUCTION, LAPSE = 6, 21


def progress(*rows: tuple) -> pd.DataFrame:
    """rows: (course_key, last_infusion, last_date ISO, status)."""
    return pd.DataFrame(rows, columns=["course_key", "last_infusion", "last_date", "status"])


@pytest.mark.parametrize(("last", "last_date", "status", "state"), [
    (6, "2023-01-01", "active", "completed"),          # last = I: completed, however old
    (6, "2024-03-31", "discontinued", "completed"),    # last >= I wins over the status
    (8, "2023-01-01", "completed", "completed"),       # boosters above I
    (5, "2024-03-10", "active", "in_progress"),        # 31 Mar - 10 Mar = 21 days = L
    (5, "2024-03-09", "active", "stopped"),            # 22 days = L + 1
    (1, "2024-03-31", "active", "in_progress"),        # infusion 1 today
    (2, "2024-03-31", "discontinued", "stopped"),      # discontinued: stopped at once
    (3, "2024-03-30", "completed", "stopped"),         # closed early as completed: stopped
    (5, "2024-04-02", "active", "in_progress"),        # an infusion after as-of: recent
])
def test_state_at_its_boundary(last, last_date, status, state):
    states = course_states(progress((1, last, last_date, status)), as_of=AS_OF,
                           induction_length=INDUCTION, lapse_days=LAPSE)
    assert states["state"].tolist() == [state]


def test_retention_block_by_hand():
    # A completed (6), B completed with a booster (8), C in progress (5, 21 days),
    # D stopped after 5 (22 days), E stopped after 2 (discontinued), F stopped after 1.
    states = course_states(progress(
        (1, 6, "2023-06-01", "active"), (2, 8, "2023-06-01", "completed"),
        (3, 5, "2024-03-10", "active"), (4, 5, "2024-03-09", "active"),
        (5, 2, "2024-03-31", "discontinued"), (6, 1, "2024-01-01", "active"),
    ), as_of=AS_OF, induction_length=INDUCTION, lapse_days=LAPSE)
    block = retention_block(states, induction_length=INDUCTION)
    assert block == {
        "n_courses": 6, "n_in_progress": 1, "n_completed_induction": 2, "n_stopped": 3,
        "stopped_after_infusion": {"1": 1, "2": 1, "3": 0, "4": 0, "5": 1},
        # last >= k: k=1 all six; k=2 A-E; k=3..5 A, B, C, D; k=6 A, B
        "reached_infusion": {"1": 6, "2": 5, "3": 4, "4": 4, "5": 4, "6": 2},
        "completion_rate": 0.4,  # 2 / (2 + 3)
        "n_with_booster": 1,
        "induction_length": 6,
    }


def test_induction_length_three_and_empty():
    states = course_states(progress((1, 3, "2020-01-01", "active"), (2, 4, "2020-01-01", "x")),
                           as_of=AS_OF, induction_length=3, lapse_days=LAPSE)
    block = retention_block(states, induction_length=3)
    assert block["stopped_after_infusion"] == {"1": 0, "2": 0}
    assert block["reached_infusion"] == {"1": 2, "2": 2, "3": 2}
    assert block["completion_rate"] == 1.0 and block["n_with_booster"] == 1
    empty = retention_block(course_states(progress(), as_of=AS_OF, induction_length=INDUCTION,
                                          lapse_days=LAPSE), induction_length=INDUCTION)
    assert empty["n_courses"] == 0 and empty["completion_rate"] is None
    assert empty["stopped_after_infusion"] == {str(k): 0 for k in range(1, 6)}


def test_progress_from_infusions_takes_the_highest_number():
    infusions = pd.DataFrame({
        "course_key": [1, 1, 1, 2], "infusion_number": [2, 1, 3, 1],
        "date": pd.to_datetime(["2024-01-03", "2024-01-01", "2024-01-05", "2024-02-01"]),
        "course_status": ["active"] * 3 + ["discontinued"]})
    got = progress_from_infusions(infusions)
    assert got["last_infusion"].tolist() == [3, 1]
    assert got["last_date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-05", "2024-02-01"]
    assert got["status"].tolist() == ["active", "discontinued"]


def test_retention_by_clinic_suppresses_small_cells():
    rows = [(k, 6, "2024-03-01", "active") for k in range(1, 6)]  # clinic A: 5 completed
    rows += [(6, 1, "2023-01-01", "active"), (7, 6, "2024-01-01", "active")]  # clinic B: 2
    states = course_states(progress(*rows), as_of=AS_OF, induction_length=INDUCTION, lapse_days=LAPSE)
    states["clinic"] = ["A"] * 5 + ["B"] * 2
    table = retention_by(states, "clinic", induction_length=INDUCTION, small_cell=5)
    a, b = table.iloc[0], table.iloc[1]
    assert (a["n_courses"], a["n_completed_induction"], a["completion_rate"]) == (5, 5, 1.0)
    assert not a["suppressed"]
    assert b["n_courses"] == 2 and b["suppressed"] and pd.isna(b["completion_rate"])
