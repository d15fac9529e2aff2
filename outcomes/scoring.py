"""Scoring: check every answer, then compute the total (OUTCOMES.md section 2).

- S1 Totals are computed from item answers; a total supplied alongside items must
  equal the computed total. A legacy row may carry only a total, within range.
- S2 Missing items are prorated (sum x n_items / answered, rounded half up) when
  at most ``Instrument.max_missing`` are missing (PHQ-9 2, GAD-7 1, others 0);
  otherwise the score is incomplete and has no total. QIDS-SR16 is scored by
  domain instead: a domain's score is its highest answered item, and the total
  exists when each of the 9 domains has at least one answered item (blank items
  inside a multi-item domain are normal: the form asks for item 6 or 7, 8 or 9).
- S3 Out-of-range answers, non-integers and out-of-range totals raise a
  ScoringError subclass whose message names the instrument, field and range.

Constants come from ``outcomes.instruments`` (OUTCOMES.md section 1). Pure: pandas
and stdlib only, no project imports (ARCHITECTURE.md).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, cast

import pandas as pd

from outcomes.instruments import SUICIDAL_IDEATION_ITEM, Instrument, get_instrument, severity

__all__ = [
    "ItemOutOfRangeError",
    "NotAnIntegerError",
    "Score",
    "ScoringError",
    "TotalMismatchError",
    "TotalOutOfRangeError",
    "WrongItemCountError",
    "check_functional_difficulty",
    "is_item9_positive",
    "missing_rule",
    "parse_answer",
    "prorated_total",
    "round_half_up",
    "score",
    "score_items",
    "score_total_only",
    "total_groups",
]

_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
_FUNCTIONAL_DIFFICULTY_RANGE = (0, 3)


class ScoringError(ValueError):
    """An answer or total that breaks OUTCOMES.md section 2.

    ``field`` is the offending field ('item_3', 'total', 'items',
    'functional_difficulty'); ``instrument`` the canonical instrument name.
    """

    def __init__(self, message: str, *, instrument: str, field: str) -> None:
        super().__init__(message)
        self.instrument = instrument
        self.field = field


class ItemOutOfRangeError(ScoringError):
    """An item answer outside the instrument's item range (S3)."""


class NotAnIntegerError(ScoringError):
    """An answer or total that is not a whole number (S3)."""


class TotalOutOfRangeError(ScoringError):
    """A total outside the instrument's total range (S1, S3)."""


class WrongItemCountError(ScoringError):
    """A list of answers whose length is not the instrument's item count."""


class TotalMismatchError(ScoringError):
    """A supplied total that disagrees with the total computed from the items (S1)."""


@dataclass(frozen=True)
class Score:
    """One scored administration.

    ``total`` is None when too many items are missing (``complete`` False).
    ``n_missing`` counts the None entries of ``items``: a legacy total-only
    score has all ``n_items`` missing yet is complete. ``prorated`` is True when
    the total was computed with missing items replaced by the mean (S2).
    """

    instrument: str
    items: tuple[int | None, ...]
    total: int | None
    complete: bool
    severity: str | None
    n_missing: int
    prorated: bool


def round_half_up(x: float | Fraction) -> int:
    """floor(x + 0.5): 4.5 -> 5, 10.5 -> 11 (S2; Python's round() gives 4 and 10)."""
    return math.floor(x + Fraction(1, 2))


def _field_range(inst: Instrument, field: str) -> tuple[int, int, str, type[ScoringError]]:
    """(low, high, noun, error class) for a field of ``inst``."""
    if field == "total":
        return inst.total_min, inst.total_max, "totals", TotalOutOfRangeError
    if field == "functional_difficulty":
        return (*_FUNCTIONAL_DIFFICULTY_RANGE, "answers", ItemOutOfRangeError)
    return inst.item_min, inst.item_max, "answers", ItemOutOfRangeError


def _is_missing(value: object) -> bool:
    """None, empty or blank text, NaN, pd.NA and NaT count as a missing answer."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    # cast: the stubs' is_scalar does not narrow `object` to the scalars pd.isna takes
    return bool(pd.api.types.is_scalar(value) and pd.isna(cast(Any, value)))


def _as_integer(value: object) -> int | None:
    """The whole number ``value`` stands for, or None when it is not one."""
    if isinstance(value, bool):
        return None  # True/False are answers given by mistake, not 1/0
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return int(number) if number.is_integer() else None
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        digits = value.strip().lstrip("+-").lstrip("0")
        if len(digits) > _MAX_DIGITS:  # far out of every range; int() of 5,000 digits raises
            return _TOO_LONG
        return int(value.strip())
    return None


_MAX_DIGITS = 15
_TOO_LONG: int = 10**_MAX_DIGITS  # stands for a number beyond every range


def _echo(value: object, limit: int = 20) -> str:
    """A cell as a message may quote it: its repr, shortened."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(str(value))} characters)"


def parse_answer(instrument: str | Instrument, field: str, value: object) -> int | None:
    """Check one answer (S3); None when missing.

    The range follows ``field``: 'total' -> the total range (TotalOutOfRangeError),
    'functional_difficulty' -> 0-3, anything else (e.g. 'item_3') -> the item range.
    Integers, integral floats (2.0) and integer text (' 2 ') are accepted; '2.0',
    '2.5', 2.5, 'x' and booleans raise NotAnIntegerError.
    """
    inst = get_instrument(instrument)
    low, high, noun, out_of_range = _field_range(inst, field)
    allowed = f"{noun} are integers {low}-{high}"
    if _is_missing(value):
        return None
    number = _as_integer(value)
    if number is None:
        raise NotAnIntegerError(
            f"{inst.name} {field}: {_echo(value)} is not an integer; {allowed}",
            instrument=inst.name,
            field=field,
        )
    if not low <= number <= high:
        shown = _echo(value) if number == _TOO_LONG else number
        raise out_of_range(
            f"{inst.name} {field}: {shown} is out of range; {allowed}",
            instrument=inst.name,
            field=field,
        )
    return number


def _parse_items(inst: Instrument, items: Sequence[object]) -> tuple[int | None, ...]:
    """Check the count, then every answer, of a list of item answers."""
    if isinstance(items, str | bytes) or len(items) != inst.n_items:
        got = "text" if isinstance(items, str | bytes) else f"{len(items)} answers"
        raise WrongItemCountError(
            f"{inst.name} items: got {got}; {inst.name} has {inst.n_items} items "
            f"(item_1-item_{inst.n_items}), answers are integers {inst.item_min}-{inst.item_max}",
            instrument=inst.name,
            field="items",
        )
    return tuple(parse_answer(inst, f"item_{n}", value) for n, value in enumerate(items, 1))


# Totals that are not the plain sum of the items: the total is the sum, over groups of
# item numbers (domains), of the highest answered item in each group (OUTCOMES.md
# section 1 and S2). QIDS-SR16: max(1-4) + 5 + max(6-9) + 10 + 11 + 12 + 13 + 14 +
# max(15-16); a total exists when every domain has at least one answered item.
_MAX_GROUPS: dict[str, tuple[tuple[int, ...], ...]] = {
    "QIDS-SR16": ((1, 2, 3, 4), (5,), (6, 7, 8, 9), (10,), (11,), (12,), (13,), (14,), (15, 16)),
}


def total_groups(instrument: str | Instrument) -> tuple[tuple[int, ...], ...] | None:
    """The groups (domains) of 1-based item numbers whose highest answered items add up to
    the total, or None when the total is the (prorated) sum of the items. With groups,
    the total needs at least one answered item per group (S2), whatever ``max_missing``."""
    return _MAX_GROUPS.get(get_instrument(instrument).name)


def missing_rule(instrument: str | Instrument) -> str:
    """S2 in words: how many missing answers still leave a total."""
    inst = get_instrument(instrument)
    groups = _MAX_GROUPS.get(inst.name)
    if groups is not None:
        return f"each of the {len(groups)} domains needs at least one answered item"
    return f"at most {inst.max_missing} may be missing"


def prorated_total(item_sum: Any, n_items: int, n_answered: Any) -> Any:
    """S2: round_half_up(item_sum x n_items / n_answered), in exact integer arithmetic.

    floor(s n / a + 1/2) = floor((2 s n + a) / (2 a)) for a >= 1, so the floor division
    of integers gives the rounded-half-up total without any fraction or float. Works on
    Python ints and, element-wise, on numpy integer arrays (the bulk import's
    outcomes/scoring_frame.py), so both paths share this one rule.
    """
    return (2 * item_sum * n_items + n_answered) // (2 * n_answered)


def _score_answers(inst: Instrument, answers: tuple[int | None, ...]) -> Score:
    """Total of checked answers, prorating missing items when S2 allows."""
    answered = [a for a in answers if a is not None]
    n_missing = inst.n_items - len(answered)
    groups = _MAX_GROUPS.get(inst.name)
    if groups is not None:
        return _score_domains(inst, groups, answers, n_missing)
    if n_missing > inst.max_missing or not answered:
        return Score(inst.name, answers, None, False, None, n_missing, False)
    total = prorated_total(sum(answered), inst.n_items, len(answered))
    return Score(inst.name, answers, total, True, severity(inst, total), n_missing, n_missing > 0)


def _score_domains(inst: Instrument, groups: tuple[tuple[int, ...], ...],
                   answers: tuple[int | None, ...], n_missing: int) -> Score:
    """S2 by domain: the highest answered item of each domain, summed; no total when a
    domain has no answered item. Nothing is prorated."""
    highest = [max((a for n in group if (a := answers[n - 1]) is not None), default=None)
               for group in groups]
    if any(h is None for h in highest):
        return Score(inst.name, answers, None, False, None, n_missing, False)
    total = sum(h for h in highest if h is not None)
    return Score(inst.name, answers, total, True, severity(inst, total), n_missing, False)


def score_items(instrument: str | Instrument, items: Sequence[object]) -> Score:
    """Check and score item answers (S2, S3); missing answers are None, '' or NaN."""
    inst = get_instrument(instrument)
    return _score_answers(inst, _parse_items(inst, items))


def _missing_total_error(inst: Instrument) -> ScoringError:
    return ScoringError(
        f"{inst.name} total: missing; a row without item answers needs a total, "
        f"totals are integers {inst.total_min}-{inst.total_max}",
        instrument=inst.name,
        field="total",
    )


def score_total_only(instrument: str | Instrument, total: object) -> Score:
    """A legacy imported total with no items (S1): checked against the total range."""
    inst = get_instrument(instrument)
    value = parse_answer(inst, "total", total)
    if value is None:
        raise _missing_total_error(inst)
    no_items = (None,) * inst.n_items
    return Score(inst.name, no_items, value, True, severity(inst, value), inst.n_items, False)


def _mismatch_error(inst: Instrument, supplied: int, computed: Score) -> TotalMismatchError:
    if computed.total is None:
        problem = (
            f"a total of {supplied} was supplied but the items give no total "
            f"({computed.n_missing} of {inst.n_items} missing; {missing_rule(inst)})"
        )
    else:
        how = f" (prorated for {computed.n_missing} missing)" if computed.prorated else ""
        problem = (
            f"the supplied total {supplied} does not match the total computed from the "
            f"items, {computed.total}{how}"
        )
    return TotalMismatchError(
        f"{inst.name} total: {problem}; totals are computed from the item answers (S1)",
        instrument=inst.name,
        field="total",
    )


def score(
    instrument: str | Instrument,
    items: Sequence[object] | None = None,
    total: object = None,
) -> Score:
    """Score one administration (S1).

    With any answered item the total is computed from the items, and a supplied
    total must equal it (TotalMismatchError). With no answered item the supplied
    total is a legacy total-only score. Neither raises ScoringError (field 'total').
    """
    inst = get_instrument(instrument)
    answers: tuple[int | None, ...] = ()
    if items is not None and (isinstance(items, str | bytes) or len(items) > 0):  # has items
        answers = _parse_items(inst, items)
    supplied = parse_answer(inst, "total", total)
    if all(a is None for a in answers):
        if supplied is None:
            raise _missing_total_error(inst)
        return score_total_only(inst, supplied)
    result = _score_answers(inst, answers)
    if supplied is not None and supplied != result.total:
        raise _mismatch_error(inst, supplied, result)
    return result


def check_functional_difficulty(value: object) -> int | None:
    """Check the PHQ-9 functional-difficulty answer (question 10, unscored): 0-3 or None."""
    return parse_answer("PHQ-9", "functional_difficulty", value)


def is_item9_positive(items: Sequence[object] | Score) -> bool | None:
    """PHQ-9 item 9 (suicidal ideation) is positive when >= 1; None when unanswered.

    ``items`` is the nine PHQ-9 answers or a PHQ-9 Score.
    """
    if isinstance(items, Score):
        if items.instrument != "PHQ-9":
            raise ScoringError(
                f"{items.instrument} items: item 9 suicidal ideation is a PHQ-9 item",
                instrument=items.instrument,
                field="items",
            )
        answers = items.items
    else:
        answers = _parse_items(get_instrument("PHQ-9"), items)
    answer = answers[SUICIDAL_IDEATION_ITEM - 1]
    return None if answer is None else answer >= 1
