"""The column-wise scoring of the bulk import (outcomes/scoring_frame.py) against the rules
of OUTCOMES.md section 2 and against the one-row path (outcomes/scoring.py).

The tables give totals worked out by hand; the comparisons then check that the two paths
agree on every edge: the proration limit of each instrument, the half-up rounding, the
QIDS-SR16 groups, totals supplied with items, total-only rows and every refusal (same
error class, field and message).
"""

from __future__ import annotations

import math
import random
from fractions import Fraction

import numpy as np
import pytest

from outcomes.instruments import INSTRUMENTS, get_instrument
from outcomes.scoring import (
    ItemOutOfRangeError,
    NotAnIntegerError,
    ScoringError,
    TotalMismatchError,
    TotalOutOfRangeError,
    prorated_total,
    score,
    total_groups,
)
from outcomes.scoring_frame import MISSING, score_cells


def cells(*answers: int | None) -> list[str]:
    return ["" if a is None else str(a) for a in answers]


# --- S2 by hand -----------------------------------------------------------------------

# (instrument, answers, total, complete, prorated, severity)
HAND = [
    # PHQ-9 complete: 3+3+3+2+3+1+3+0+0 = 18, moderately severe (15-19)
    ("PHQ-9", (3, 3, 3, 2, 3, 1, 3, 0, 0), 18, True, False, "moderately severe"),
    # PHQ-9, 1 missing: sum 4 x 9 / 8 = 4.5 -> 5 (half up; Python's round gives 4), mild
    ("PHQ-9", (1, 1, 1, 1, 0, 0, 0, 0, None), 5, True, True, "mild"),
    # PHQ-9, 2 missing (the limit): sum 10 x 9 / 7 = 12.857 -> 13, moderate
    ("PHQ-9", (1, 2, 1, 2, 1, 2, 1, None, None), 13, True, True, "moderate"),
    # PHQ-9, 3 missing: no total
    ("PHQ-9", (1, 2, 1, 2, 1, 2, None, None, None), None, False, False, None),
    # GAD-7, 1 missing (the limit): sum 3 x 7 / 6 = 3.5 -> 4, minimal
    ("GAD-7", (1, 1, 1, 0, 0, 0, None), 4, True, True, "minimal"),
    # GAD-7, 1 missing: sum 9 x 7 / 6 = 10.5 -> 11, moderate
    ("GAD-7", (3, 3, 3, 0, 0, 0, None), 11, True, True, "moderate"),
    # GAD-7, 1 missing: sum 18 x 7 / 6 = 21, severe (the top of the range)
    ("GAD-7", (3, 3, 3, 3, 3, 3, None), 21, True, True, "severe"),
    # GAD-7, 2 missing: no total
    ("GAD-7", (3, 3, 3, 3, 3, None, None), None, False, False, None),
    # MADRS: 6 x 10 = 60, severe; one missing: no total (no missing allowed)
    ("MADRS", (6,) * 10, 60, True, False, "severe"),
    ("MADRS", (6,) * 9 + (None,), None, False, False, None),
    # QIDS-SR16: max(1,2,3,0)=3 + 2 + max(0,1,0,3)=3 + (1+2+0+3+2)=8 + max(1,0)=1 = 17
    ("QIDS-SR16", (1, 2, 3, 0, 2, 0, 1, 0, 3, 1, 2, 0, 3, 2, 1, 0), 17, True, False, "severe"),
    # S2 by domain: item 16 blank, item 15 answered -> the psychomotor domain scores 0
    ("QIDS-SR16", (0,) * 15 + (None,), 0, True, False, "none"),
    # items 7 and 9 blank (the form's either/or): 3 + 1 + max(2, 0)=2 + 5 + max(0, 1)=1 = 12
    ("QIDS-SR16", (3, 0, 0, 0, 1, 2, None, 0, None, 1, 1, 1, 1, 1, 0, 1), 12, True, False,
     "moderate"),
    # appetite/weight domain (6-9) all blank: no total
    ("QIDS-SR16", (1,) * 5 + (None,) * 4 + (1,) * 7, None, False, False, None),
    # PCL-5: 20 x 2 = 40, at or above the cut-off (31-80); 30 just below it
    ("PCL-5", (2,) * 20, 40, True, False, "at or above cut-off"),
    ("PCL-5", (2,) * 15 + (0,) * 5, 30, True, False, "below provisional cut-off"),
]


@pytest.mark.parametrize(("name", "answers", "total", "complete", "prorated", "label"), HAND)
def test_hand_computed_scores(name, answers, total, complete, prorated, label) -> None:
    result = score_cells(name, [cells(*answers)])
    assert result.errors == {}
    assert (None if result.total[0] == MISSING else int(result.total[0])) == total
    assert (bool(result.complete[0]), bool(result.prorated[0]), result.severity[0]) == (
        complete, prorated, label)
    assert int(result.n_missing[0]) == sum(a is None for a in answers)
    assert result.item_lists() == [list(answers)]
    assert result.score_of(0) == score(name, list(answers))


def test_total_only_rows_and_supplied_totals() -> None:
    # legacy total-only GAD-7 of 12 (moderate); items 18 with the matching total supplied
    result = score_cells("GAD-7", [cells(*[None] * 7), cells(3, 3, 3, 3, 3, 3, 0)], ["12", "18"])
    assert result.errors == {}
    assert result.total.tolist() == [12, 18]
    assert result.severity.tolist() == ["moderate", "severe"]
    assert result.n_missing.tolist() == [7, 0] and result.complete.tolist() == [True, True]
    assert result.item_lists() == [[None] * 7, [3, 3, 3, 3, 3, 3, 0]]


def test_prorated_total_is_round_half_up_of_the_mean_times_n() -> None:
    # every possible (sum, answered) within the proration limits of PHQ-9 and GAD-7:
    # floor(sum x n / answered + 1/2), the rule of S2 written out with fractions
    for name in ("PHQ-9", "GAD-7"):
        inst = get_instrument(name)
        for answered in range(inst.n_items - inst.max_missing, inst.n_items + 1):
            for item_sum in range(answered * inst.item_max + 1):
                expected = math.floor(Fraction(item_sum * inst.n_items, answered) + Fraction(1, 2))
                assert prorated_total(item_sum, inst.n_items, answered) == expected
                assert prorated_total(np.array([item_sum]), inst.n_items,
                                      np.array([answered])).tolist() == [expected]


# --- refusals -------------------------------------------------------------------------

def test_every_wrong_item_is_listed_first_the_one_score_raises() -> None:
    row = cells(0, 0, 0, 0, 0, 0, 0, 0, 0)
    row[1], row[4] = "x", "4"
    result = score_cells("PHQ-9", [row], ["99"])
    problems = result.errors[0]
    assert [type(p) for p in problems] == [NotAnIntegerError, ItemOutOfRangeError]
    assert [p.field for p in problems] == ["item_2", "item_5"]
    assert [str(p) for p in problems] == [
        "PHQ-9 item_2: 'x' is not an integer; answers are integers 0-3",
        "PHQ-9 item_5: 4 is out of range; answers are integers 0-3",
    ]
    assert result.total[0] == MISSING and not result.complete[0] and result.score_of(0) is None


TOTAL_PROBLEMS = [
    # (instrument, answers, total, error class, message)
    ("GAD-7", [None] * 7, "22", TotalOutOfRangeError,
     "GAD-7 total: 22 is out of range; totals are integers 0-21"),
    ("GAD-7", [None] * 7, "", ScoringError,
     "GAD-7 total: missing; a row without item answers needs a total, totals are integers 0-21"),
    ("PHQ-9", [3, 3, 3, 2, 3, 1, 3, 0, 0], "19", TotalMismatchError,
     "PHQ-9 total: the supplied total 19 does not match the total computed from the items, 18; "
     "totals are computed from the item answers (S1)"),
    ("PHQ-9", [1, 2, 1, 2, 1, 2, 1, None, None], "12", TotalMismatchError,
     "PHQ-9 total: the supplied total 12 does not match the total computed from the items, 13 "
     "(prorated for 2 missing); totals are computed from the item answers (S1)"),
    ("PHQ-9", [1, 2, 1, 2, 1, 2, None, None, None], "9", TotalMismatchError,
     "PHQ-9 total: a total of 9 was supplied but the items give no total (3 of 9 missing; at "
     "most 2 may be missing); totals are computed from the item answers (S1)"),
    ("MADRS", [1] * 10, "1.5", NotAnIntegerError,
     "MADRS total: '1.5' is not an integer; totals are integers 0-60"),
]


@pytest.mark.parametrize(("name", "answers", "total", "error", "message"), TOTAL_PROBLEMS)
def test_total_problems(name, answers, total, error, message) -> None:
    result = score_cells(name, [cells(*answers), cells(*[0] * len(answers))], [total, ""])
    assert list(result.errors) == [0]
    [problem] = result.errors[0]
    assert type(problem) is error and problem.field == "total" and str(problem) == message
    assert result.score_of(1) == score(name, [0] * len(answers))


def test_cells_must_be_text() -> None:
    with pytest.raises(TypeError):
        score_cells("PHQ-9", [[1] * 9])


# --- both paths on every edge ------------------------------------------------------------

def _edge_cells(name: str) -> list[str]:
    """Texts at and beyond the edges of the instrument's answers and totals."""
    inst = get_instrument(name)
    return ["", " ", str(inst.item_min), str(inst.item_max), str(inst.item_max + 1), "-1", "-0",
            "+1", "007", "1.0", "2.5", "x", "nan", "True", "\u0663", str(inst.total_max),
            str(inst.total_max + 1)]


def _rows(name: str, rng: random.Random, n: int) -> tuple[list[list[str]], list[str]]:
    """Valid answers with 0 to max_missing + 1 blanks (every proration case; up to half
    the items for domain-scored instruments, with and without a blank domain), totals right,
    wrong or absent, and now and then an edge text anywhere."""
    inst = get_instrument(name)
    edges = _edge_cells(name)
    rows, totals = [], []
    for _ in range(n):
        row = [str(rng.randint(inst.item_min, inst.item_max)) for _ in range(inst.n_items)]
        most = inst.max_missing + 1 if total_groups(name) is None else inst.n_items // 2
        for k in rng.sample(range(inst.n_items), rng.randint(0, most)):
            row[k] = ""
        if rng.random() < 0.05:
            row = [""] * inst.n_items
        if rng.random() < 0.1:
            row[rng.randrange(inst.n_items)] = rng.choice(edges)
        total = rng.choice(["", "", "", str(rng.randint(inst.total_min, inst.total_max)),
                            rng.choice(edges)])
        rows.append(row)
        totals.append(total)
    return rows, totals


@pytest.mark.parametrize("name", list(INSTRUMENTS))
def test_both_paths_agree_row_for_row(name: str) -> None:
    rows, totals = _rows(name, random.Random(f"{name}-7"), 4000)
    result = score_cells(name, rows, totals)
    n_scored = n_refused = 0
    for i, (row, total) in enumerate(zip(rows, totals, strict=True)):
        try:
            expected = score(name, row, total)
        except ScoringError as exc:
            first = result.errors[i][0]
            assert (type(first), first.field, str(first)) == (type(exc), exc.field, str(exc))
            n_refused += 1
            continue
        assert i not in result.errors
        assert result.score_of(i) == expected
        n_scored += 1
    assert len(result.errors) == n_refused
    assert n_scored > 1000 and n_refused > 100  # both kinds are exercised
