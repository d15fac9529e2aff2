"""Scoring rules S1-S3 of OUTCOMES.md section 2, as hand-computed tables.

Each expected total is worked out by hand in the comment beside the case;
nothing here is computed by the code under test.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import pandas as pd
import pytest

from outcomes.scoring import (
    ItemOutOfRangeError,
    NotAnIntegerError,
    Score,
    ScoringError,
    TotalMismatchError,
    TotalOutOfRangeError,
    WrongItemCountError,
    check_functional_difficulty,
    is_item9_positive,
    parse_answer,
    round_half_up,
    score,
    score_items,
    score_total_only,
)

N = None  # a missing answer, to keep the tables narrow

# --- round half up -----------------------------------------------------------

# (x, floor(x + 0.5), Python's round(x)): the .5 cases are where they differ.
HALF_UP = [
    (0.0, 0, 0),
    (0.5, 1, 0),
    (1.5, 2, 2),
    (2.5, 3, 2),
    (4.5, 5, 4),
    (10.5, 11, 10),
    (22.5, 23, 22),
    (3.4999, 3, 3),
    (14.625, 15, 15),
    (Fraction(35, 6), 6, 6),  # 5.833...
    (Fraction(9, 2), 5, 4),
]


@pytest.mark.parametrize(("x", "expected", "python_round"), HALF_UP)
def test_round_half_up(x: float | Fraction, expected: int, python_round: int) -> None:
    assert round_half_up(x) == expected
    assert round(x) == python_round  # why S2 forbids round()


# --- complete scores -----------------------------------------------------------

COMPLETE = [
    ("PHQ-9", [0] * 9, 0, "minimal"),
    ("PHQ-9", [3] * 9, 27, "severe"),  # 9 x 3
    ("PHQ-9", [3, 3, 3, 2, 3, 1, 3, 0, 0], 18, "moderately severe"),  # 3+3+3+2+3+1+3
    ("PHQ-9", [1, 1, 1, 1, 1, 0, 0, 0, 0], 5, "mild"),  # five 1s
    ("PHQ-9", [2, 2, 2, 2, 2, 0, 0, 0, 0], 10, "moderate"),  # five 2s
    ("GAD-7", [0] * 7, 0, "minimal"),
    ("GAD-7", [3] * 7, 21, "severe"),  # 7 x 3
    ("GAD-7", [3, 1, 3, 3, 3, 3, 0], 16, "severe"),  # 3+1+3+3+3+3
    ("GAD-7", [2, 1, 2, 1, 2, 1, 3], 12, "moderate"),  # 2+1+2+1+2+1+3
    ("MADRS", [0, 0, 0, 0, 0, 0, 0, 0, 0, 6], 6, "normal"),
    ("MADRS", [1, 1, 1, 1, 1, 1, 1, 0, 0, 0], 7, "mild"),  # seven 1s
    ("MADRS", [2] * 10, 20, "moderate"),  # 10 x 2
    ("MADRS", [6] * 10, 60, "severe"),  # 10 x 6
    ("QIDS-SR16", [0] * 16, 0, "none"),
    ("QIDS-SR16", [3] * 16, 27, "very severe"),  # 9 domains x 3
    ("PCL-5", [0] * 20, 0, "below provisional cut-off"),
    ("PCL-5", [1] * 20, 20, "below provisional cut-off"),  # 20 x 1
    ("PCL-5", [2] * 15 + [1] + [0] * 4, 31, "at or above cut-off"),  # 30 + 1
    ("PCL-5", [4] * 20, 80, "at or above cut-off"),  # 20 x 4
]


@pytest.mark.parametrize(("name", "items", "total", "label"), COMPLETE)
def test_complete_scores(name: str, items: list[int], total: int, label: str) -> None:
    result = score_items(name, items)
    assert result == Score(name, tuple(items), total, True, label, 0, False)


# --- S2 missing items ----------------------------------------------------------

# (instrument, items, total, severity, n_missing); total = round_half_up(sum x n / answered).
PRORATED = [
    # PHQ-9, 1 missing (8 answered)
    ("PHQ-9", [2, 2, 2, 2, 2, 2, 1, N, 0], 15, "moderately severe", 1),  # 13x9/8 = 14.625 -> 15
    ("PHQ-9", [1, 1, 1, 1, N, 0, 0, 0, 0], 5, "mild", 1),  # 4x9/8 = 4.5 -> 5 (round() gives 4)
    ("PHQ-9", [3, 3, 3, 3, 3, 3, 2, N, 0], 23, "severe", 1),  # 20x9/8 = 22.5 -> 23 (round: 22)
    ("PHQ-9", [2, 2, 2, 2, 2, 2, 0, 0, N], 14, "moderate", 1),  # 12x9/8 = 13.5 -> 14
    ("PHQ-9", [N, 1, 1, 1, 1, 1, 1, 1, 1], 9, "mild", 1),  # 8x9/8 = 9
    # PHQ-9, 2 missing (7 answered)
    ("PHQ-9", [1, 1, 1, 1, 1, 1, 1, N, N], 9, "mild", 2),  # 7x9/7 = 9
    ("PHQ-9", [2, 2, 2, 2, 2, N, N, 0, 0], 13, "moderate", 2),  # 10x9/7 = 12.857 -> 13
    ("PHQ-9", [N, N, 1, 1, 1, 0, 0, 0, 0], 4, "minimal", 2),  # 3x9/7 = 3.857 -> 4
    ("PHQ-9", [3, 3, 3, 3, 3, 3, 3, N, N], 27, "severe", 2),  # 21x9/7 = 27
    ("PHQ-9", [0, 0, 0, 0, 0, 0, 0, N, N], 0, "minimal", 2),  # 0x9/7 = 0
    # GAD-7, 1 missing (6 answered)
    ("GAD-7", [3, 3, 3, 0, 0, 0, N], 11, "moderate", 1),  # 9x7/6 = 10.5 -> 11 (round: 10)
    ("GAD-7", [1, 1, 1, 1, 1, N, 0], 6, "mild", 1),  # 5x7/6 = 5.833 -> 6
    ("GAD-7", [N, 1, 1, 1, 0, 0, 0], 4, "minimal", 1),  # 3x7/6 = 3.5 -> 4
    ("GAD-7", [3, 3, 3, 3, 3, 3, N], 21, "severe", 1),  # 18x7/6 = 21
]


@pytest.mark.parametrize(("name", "items", "total", "label", "n_missing"), PRORATED)
def test_prorated_scores(
    name: str, items: list[int | None], total: int, label: str, n_missing: int
) -> None:
    result = score_items(name, items)
    assert result == Score(name, tuple(items), total, True, label, n_missing, True)


# Too many missing: no total, incomplete (S2).
INCOMPLETE = [
    ("PHQ-9", [1, 1, 1, 1, 1, 1, N, N, N], 3),
    ("PHQ-9", [N] * 9, 9),
    ("GAD-7", [1, 1, 1, 1, 1, N, N], 2),
    ("MADRS", [3] * 9 + [N], 1),
    # QIDS-SR16 (S2 by domain): no total only when a whole domain is blank
    ("QIDS-SR16", [1, 1, 1, 1, 1, N, N, N, N, 1, 1, 1, 1, 1, 1, 1], 4),  # appetite/weight
    ("QIDS-SR16", [N, N, N, N, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], 4),  # sleep
    ("QIDS-SR16", [1, 1, 1, 1, N, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], 1),  # item 5 (sad mood)
    ("QIDS-SR16", [1] * 14 + [N, N], 2),  # psychomotor (15-16)
    ("QIDS-SR16", [N] * 16, 16),
    ("PCL-5", [2] * 19 + [N], 1),
]


@pytest.mark.parametrize(("name", "items", "n_missing"), INCOMPLETE)
def test_too_many_missing_items_give_no_total(
    name: str, items: list[int | None], n_missing: int
) -> None:
    result = score_items(name, items)
    assert result == Score(name, tuple(items), None, False, None, n_missing, False)


@pytest.mark.parametrize("missing", [None, "", "   ", float("nan"), pd.NA])
def test_missing_answer_forms(missing: object) -> None:
    items = [1, 1, 1, 1, missing, 0, 0, 0, 0]
    result = score_items("PHQ-9", items)
    assert result.items == (1, 1, 1, 1, None, 0, 0, 0, 0)
    assert result.total == 5  # 4x9/8 = 4.5 -> 5
    assert result.n_missing == 1


# --- QIDS-SR16 --------------------------------------------------------------------

QIDS = [
    # Worked example: items 1-4 (1,2,3,0) -> max 3; item 5 = 2; items 6-9 (0,1,0,3) -> max 3;
    # items 10-14 (1,2,0,3,2) -> 8; items 15-16 (1,0) -> max 1. 3+2+3+8+1 = 17 (plain sum 21).
    ([1, 2, 3, 0, 2, 0, 1, 0, 3, 1, 2, 0, 3, 2, 1, 0], 17, "severe"),
    # Only the sleep group at 3 in every item -> max 3; a plain sum would give 12.
    ([3, 3, 3, 3] + [0] * 12, 3, "none"),
    # Item 4 and item 16, each the max of its group: 3 + 3 = 6.
    ([0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3], 6, "mild"),
    # Appetite/weight group (6-9) all 2 -> 2; item 5 = 3; items 10-14 all 1 -> 5. 2+3+5 = 10.
    ([0, 0, 0, 0, 3, 2, 2, 2, 2, 1, 1, 1, 1, 1, 0, 0], 10, "mild"),
    # Every single-item domain at 3 (5, 10-14: 6 x 3 = 18), groups at 1 (3 x 1): 21.
    ([1, 0, 0, 0, 3, 0, 1, 0, 0, 3, 3, 3, 3, 3, 0, 1], 21, "very severe"),
]


@pytest.mark.parametrize(("items", "total", "label"), QIDS)
def test_qids_sr16_total_is_max_of_groups(items: list[int], total: int, label: str) -> None:
    result = score_items("QIDS-SR16", items)
    assert (result.total, result.severity, result.complete) == (total, label, True)


# S2 by domain: a domain scores its highest ANSWERED item; blank items inside a domain
# that has an answer leave a total (nothing is prorated). (items, total, label, n_missing)
QIDS_BLANKS = [
    # The paper form: 6 or 7, 8 or 9. Items 7 and 9 blank: max(2,1,0,0)=2 + 2 + max(2,1)=2
    # + (1+1+1+1+1)=5 + max(0,1)=1 = 12, moderate (11-15)
    ([2, 1, 0, 0, 2, 2, N, 1, N, 1, 1, 1, 1, 1, 0, 1], 12, "moderate", 2),
    # Was incomplete under the old rule (item 16 blank): 1 + 1 + 1 + 5 + max(1) = 9, mild
    ([1] * 15 + [N], 9, "mild", 1),
    ([N] + [1] * 15, 9, "mild", 1),  # item 1 blank: sleep = max(1,1,1) = 1; also 9
    # One answered item per domain (7 blank), all 3: 9 x 3 = 27, the top of the range
    ([3, N, N, N, 3, N, N, N, 3, 3, 3, 3, 3, 3, N, 3], 27, "very severe", 7),
    # Boundary 5 / 6 with blanks: sleep only item 4 = 2, item 5 = 3, rest 0 -> 5, none
    ([N, N, N, 2, 3, 0, N, 0, N, 0, 0, 0, 0, 0, 0, N], 5, "none", 6),
    # ... and item 16 = 1 instead of blank: 6, mild
    ([N, N, N, 2, 3, 0, N, 0, N, 0, 0, 0, 0, 0, 0, 1], 6, "mild", 5),
]


@pytest.mark.parametrize(("items", "total", "label", "n_missing"), QIDS_BLANKS)
def test_qids_sr16_blank_items_inside_an_answered_domain(items, total, label, n_missing):
    result = score_items("QIDS-SR16", items)
    assert result == Score("QIDS-SR16", tuple(items), total, True, label, n_missing, False)


# --- S3 answers: what is accepted, what is rejected ---------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (3, 3),
        ("2", 2),
        (" 3 ", 3),
        ("+1", 1),
        (2.0, 2),
        (None, None),
        ("", None),
        (float("nan"), None),
    ],
)
def test_parse_answer_accepts(value: object, expected: int | None) -> None:
    assert parse_answer("PHQ-9", "item_1", value) == expected


@pytest.mark.parametrize("value", ["2.5", "x", 2.5, "2.0", "1e0", True, float("inf"), [1]])
def test_non_integers_are_rejected(value: object) -> None:
    items: list[object] = [0] * 9
    items[1] = value
    with pytest.raises(NotAnIntegerError) as caught:
        score_items("PHQ-9", items)
    assert (caught.value.instrument, caught.value.field) == ("PHQ-9", "item_2")
    assert str(caught.value) == (
        f"PHQ-9 item_2: {value!r} is not an integer; answers are integers 0-3"
    )


# (instrument, item number, value, allowed range text)
OUT_OF_RANGE = [
    ("PHQ-9", 3, -1, "0-3"),
    ("PHQ-9", 3, 4, "0-3"),
    ("PHQ-9", 9, "4", "0-3"),
    ("GAD-7", 1, 4, "0-3"),
    ("MADRS", 1, 7, "0-6"),
    ("MADRS", 10, -1, "0-6"),
    ("QIDS-SR16", 16, 4, "0-3"),
    ("PCL-5", 20, 5, "0-4"),
]


@pytest.mark.parametrize(("name", "number", "value", "allowed"), OUT_OF_RANGE)
def test_out_of_range_items_are_rejected(
    name: str, number: int, value: object, allowed: str
) -> None:
    n_items = {"PHQ-9": 9, "GAD-7": 7, "MADRS": 10, "QIDS-SR16": 16, "PCL-5": 20}[name]
    items: list[object] = [0] * n_items
    items[number - 1] = value
    with pytest.raises(ItemOutOfRangeError) as caught:
        score_items(name, items)
    error = caught.value
    assert (error.instrument, error.field) == (name, f"item_{number}")
    assert str(error) == (
        f"{name} item_{number}: {int(value)} is out of range; answers are integers {allowed}"
    )


def test_message_example_from_the_contract() -> None:
    with pytest.raises(ItemOutOfRangeError, match=r"^PHQ-9 item_3: 4 is out of range; "):
        score_items("PHQ-9", [0, 0, 4, 0, 0, 0, 0, 0, 0])


@pytest.mark.parametrize(
    ("name", "count", "expected"),
    [
        ("PHQ-9", 8, 9),
        ("PHQ-9", 10, 9),
        ("PHQ-9", 0, 9),
        ("GAD-7", 9, 7),
        ("MADRS", 9, 10),
        ("QIDS-SR16", 15, 16),
        ("QIDS-SR16", 17, 16),
        ("PCL-5", 19, 20),
        ("PCL-5", 21, 20),
    ],
)
def test_wrong_item_counts_are_rejected(name: str, count: int, expected: int) -> None:
    with pytest.raises(WrongItemCountError) as caught:
        score_items(name, [0] * count)
    assert caught.value.field == "items"
    assert f"got {count} answers" in str(caught.value)
    assert f"{name} has {expected} items (item_1-item_{expected})" in str(caught.value)


def test_text_is_not_a_list_of_answers() -> None:
    with pytest.raises(WrongItemCountError):
        score_items("PHQ-9", "000000000")


# --- S1 legacy total-only rows --------------------------------------------------------------

TOTAL_ONLY_IN_RANGE = [
    ("PHQ-9", 0, "minimal", 9),
    ("PHQ-9", 27, "severe", 9),
    ("PHQ-9", "12", "moderate", 9),
    ("GAD-7", 21, "severe", 7),
    ("MADRS", 60, "severe", 10),
    ("QIDS-SR16", 27, "very severe", 16),
    ("PCL-5", 80, "at or above cut-off", 20),
]


@pytest.mark.parametrize(("name", "total", "label", "n_items"), TOTAL_ONLY_IN_RANGE)
def test_total_only_in_range(name: str, total: object, label: str, n_items: int) -> None:
    expected = Score(name, (None,) * n_items, int(total), True, label, n_items, False)
    assert score_total_only(name, total) == expected
    assert score(name, total=total) == expected


TOTAL_ONLY_OUT_OF_RANGE = [
    ("PHQ-9", -1, "0-27"),
    ("PHQ-9", 28, "0-27"),
    ("GAD-7", 22, "0-21"),
    ("MADRS", 61, "0-60"),
    ("QIDS-SR16", 28, "0-27"),
    ("PCL-5", 81, "0-80"),
]


@pytest.mark.parametrize(("name", "total", "allowed"), TOTAL_ONLY_OUT_OF_RANGE)
def test_total_only_out_of_range(name: str, total: int, allowed: str) -> None:
    for call in (lambda: score_total_only(name, total), lambda: score(name, total=total)):
        with pytest.raises(TotalOutOfRangeError) as caught:
            call()
        assert caught.value.field == "total"
        assert str(caught.value) == (
            f"{name} total: {total} is out of range; totals are integers {allowed}"
        )


def test_total_only_non_integer() -> None:
    with pytest.raises(NotAnIntegerError) as caught:
        score_total_only("PHQ-9", 12.5)
    assert str(caught.value) == "PHQ-9 total: 12.5 is not an integer; totals are integers 0-27"


@pytest.mark.parametrize("items", [None, [], [N] * 9, [""] * 9])
def test_neither_items_nor_total_is_an_error(items: list[object] | None) -> None:
    with pytest.raises(ScoringError) as caught:
        score("PHQ-9", items=items, total=None)
    assert caught.value.field == "total"
    assert "0-27" in str(caught.value)


# --- S1 items and total together ------------------------------------------------------------


@pytest.mark.parametrize(
    ("items", "total", "expected"),
    [
        ([3, 3, 3, 2, 3, 1, 3, 0, 0], None, 18),  # computed: 3+3+3+2+3+1+3 = 18
        ([3, 3, 3, 2, 3, 1, 3, 0, 0], 18, 18),  # agrees
        ([3, 3, 3, 2, 3, 1, 3, 0, 0], "18", 18),  # agrees, as CSV text
        ([1, 1, 1, 1, N, 0, 0, 0, 0], 5, 5),  # prorated 4x9/8 = 4.5 -> 5 agrees
        ([N] * 9, 12, 12),  # no answered item: legacy total
    ],
)
def test_score_with_items_and_total(items: list[int | None], total: object, expected: int) -> None:
    assert score("PHQ-9", items=items, total=total).total == expected


@pytest.mark.parametrize(
    ("items", "total", "fragments"),
    [
        ([1] * 9, 12, ["supplied total 12", "computed from the items, 9"]),  # 9 x 1 = 9
        ([1, 1, 1, 1, N, 0, 0, 0, 0], 4, ["supplied total 4", "items, 5 (prorated"]),  # 4.5 -> 5
        ([1, 1, 1, 1, 1, 1, N, N, N], 9, ["total of 9", "3 of 9 missing", "at most 2"]),
    ],
)
def test_total_mismatch_names_both_totals(
    items: list[int | None], total: int, fragments: list[str]
) -> None:
    with pytest.raises(TotalMismatchError) as caught:
        score("PHQ-9", items=items, total=total)
    assert (caught.value.instrument, caught.value.field) == ("PHQ-9", "total")
    message = str(caught.value)
    assert message.startswith("PHQ-9 total: ")
    for fragment in fragments:
        assert fragment in message


def test_total_supplied_with_items_is_range_checked() -> None:
    with pytest.raises(TotalOutOfRangeError):
        score("GAD-7", items=[3] * 7, total=22)


def test_items_are_checked_before_the_total() -> None:
    with pytest.raises(ItemOutOfRangeError):
        score("GAD-7", items=[4] + [0] * 6, total=99)


def test_score_accepts_a_pandas_series_and_name_variants() -> None:
    result = score("gad7", items=pd.Series([2, 1, 2, 1, 2, 1, 3]))
    assert (result.instrument, result.total) == ("GAD-7", 12)  # 2+1+2+1+2+1+3


# --- PHQ-9 question 10 and item 9 -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"), [(0, 0), (3, 3), ("2", 2), (None, None), ("", None)]
)
def test_functional_difficulty_accepts(value: object, expected: int | None) -> None:
    assert check_functional_difficulty(value) == expected


@pytest.mark.parametrize(
    ("value", "error"),
    [(4, ItemOutOfRangeError), (-1, ItemOutOfRangeError), ("1.5", NotAnIntegerError)],
)
def test_functional_difficulty_rejects(value: object, error: type[ScoringError]) -> None:
    with pytest.raises(error) as caught:
        check_functional_difficulty(value)
    assert caught.value.field == "functional_difficulty"
    assert str(caught.value).startswith("PHQ-9 functional_difficulty: ")
    assert str(caught.value).endswith("answers are integers 0-3")


@pytest.mark.parametrize(
    ("item9", "expected"),
    [(0, False), (1, True), (3, True), ("2", True), (None, None), ("", None)],
)
def test_item9_positive_when_at_least_1(item9: object, expected: bool | None) -> None:
    items = [2, 2, 2, 2, 2, 2, 2, 2, item9]
    assert is_item9_positive(items) is expected
    if item9 not in (None, ""):
        assert is_item9_positive(score_items("PHQ-9", items)) is expected


def test_item9_rejects_wrong_counts_and_other_instruments() -> None:
    with pytest.raises(WrongItemCountError):
        is_item9_positive([0] * 7)
    with pytest.raises(ScoringError):
        is_item9_positive(score_items("GAD-7", [1] * 7))
    with pytest.raises(ItemOutOfRangeError):
        is_item9_positive([0] * 8 + [4])


# --- the shape of the results and errors -----------------------------------------------------


def test_errors_are_value_errors_with_a_common_base() -> None:
    for error in (
        ItemOutOfRangeError,
        NotAnIntegerError,
        TotalOutOfRangeError,
        WrongItemCountError,
        TotalMismatchError,
    ):
        assert issubclass(error, ScoringError)
    assert issubclass(ScoringError, ValueError)


def test_score_is_frozen() -> None:
    result = score_items("PHQ-9", [0] * 9)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.total = 5  # type: ignore[misc]


def test_round_half_up_is_floor_of_x_plus_half() -> None:
    # A negative .5 goes up too (towards +infinity): floor(-2.5 + 0.5) = -2.
    assert round_half_up(-2.5) == -2
    assert math.floor(-2.5 + 0.5) == -2
