"""Scoring many administrations of one instrument at once, for the bulk import.

The rules are those of ``outcomes.scoring`` (OUTCOMES.md section 2), which stays their
single source; this module only applies them to whole columns:

- every distinct cell text is checked once by ``scoring.parse_answer`` (S3), so what
  is accepted as an answer, a missing answer or a total is decided there;
- totals use ``scoring.prorated_total`` (S2, rounded half up in integer arithmetic) or
  the max-of-groups rule of ``scoring.total_groups`` (QIDS-SR16: highest answered item
  per domain, a total only when every domain has an answer), element-wise;
- severities come from ``instruments.severity``, once per possible total;
- every row with a problem is handed to ``scoring.score`` itself, so its error is the
  very exception (class, field, message) the one-row path raises.

Pure: numpy and pandas only (ARCHITECTURE.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from outcomes.instruments import Instrument, get_instrument, severity
from outcomes.scoring import (
    Score,
    ScoringError,
    parse_answer,
    prorated_total,
    score,
    total_groups,
)

__all__ = ["MISSING", "ScoredColumn", "score_cells"]

MISSING = -1  # an unanswered item, or no total, in the integer arrays below


@dataclass(frozen=True)
class ScoredColumn:
    """The scores of n administrations of one instrument, as arrays (row i = input row i).

    A row listed in ``errors`` has no score: its arrays hold MISSING / False / None.
    ``errors[i]`` lists what is wrong with row i: the first entry is the exception
    ``scoring.score`` raises for it; when items are wrong, one entry per wrong item.
    """

    instrument: str
    answers: np.ndarray  # (n, n_items) int64, MISSING where unanswered
    total: np.ndarray  # int64, MISSING where there is no total
    complete: np.ndarray  # bool
    severity: np.ndarray  # object: band label, or None without a total
    n_missing: np.ndarray  # int64
    prorated: np.ndarray  # bool
    errors: dict[int, list[ScoringError]]

    def __len__(self) -> int:
        return len(self.total)

    @property
    def ok(self) -> np.ndarray:
        """Rows without a problem."""
        ok = np.ones(len(self), dtype=bool)
        ok[list(self.errors)] = False
        return ok

    def item_lists(self) -> list[list[int | None]]:
        """Each row's answers as a list, None where unanswered."""
        lists: list[list[int | None]] = self.answers.tolist()
        for i, k in zip(*np.nonzero(self.answers == MISSING), strict=True):
            lists[i][k] = None
        return lists

    def score_of(self, i: int) -> Score | None:
        """Row i as the `Score` the one-row path gives; None when the row has errors."""
        if i in self.errors:
            return None
        total = int(self.total[i])
        return Score(
            self.instrument,
            tuple(None if a == MISSING else int(a) for a in self.answers[i]),
            None if total == MISSING else total,
            bool(self.complete[i]),
            self.severity[i],
            int(self.n_missing[i]),
            bool(self.prorated[i]),
        )


def _parse(inst: Instrument, field: str, cells: np.ndarray) -> tuple[np.ndarray, ...]:
    """(value, missing, bad) arrays of the shape of `cells`, each distinct text checked once."""
    codes, uniques = pd.factorize(cells.ravel(), use_na_sentinel=True)  # None, NaN -> -1
    value = np.full(len(uniques) + 1, MISSING, dtype=np.int64)
    missing = np.zeros(len(uniques) + 1, dtype=bool)
    bad = np.zeros(len(uniques) + 1, dtype=bool)
    missing[-1] = True  # code -1 (None, NaN) indexes the last slot
    for k, text in enumerate(uniques):
        if not isinstance(text, str):  # 1 == 1.0 == True would share a code: text only
            raise TypeError(f"score_cells takes text cells, got {text!r}")
        try:
            answer = parse_answer(inst, field, text)
        except ScoringError:
            bad[k] = True
            continue
        if answer is None:
            missing[k] = True
        else:
            value[k] = answer
    shape = cells.shape
    return (value[codes].reshape(shape), missing[codes].reshape(shape),
            bad[codes].reshape(shape))


def _row_errors(inst: Instrument, items: Sequence[object], total: object) -> list[ScoringError]:
    """What `scoring.score` refuses in one row (every wrong item when items are wrong)."""
    try:
        score(inst, list(items), total)
    except ScoringError as exc:
        if not exc.field.startswith("item"):
            return [exc]
        problems = []
        for n, value in enumerate(items, 1):
            try:
                parse_answer(inst, f"item_{n}", value)
            except ScoringError as item_exc:
                problems.append(item_exc)
        return problems or [exc]
    raise AssertionError(f"{inst.name}: row {list(items)!r} total {total!r} has no problem")


def _computed_totals(inst: Instrument, answers: np.ndarray, n_answered: np.ndarray) -> np.ndarray:
    """The S2 total of every row from its answered items (meaningful where complete)."""
    groups = total_groups(inst)
    if groups is not None:  # unanswered cells hold 0 <= any answer: the max is the answered
        return cast(np.ndarray, sum(answers[:, [n - 1 for n in group]].max(axis=1)
                                    for group in groups))
    return cast(np.ndarray, prorated_total(answers.sum(axis=1), inst.n_items,
                                           np.maximum(n_answered, 1)))


def _scorable(inst: Instrument, unanswered: np.ndarray, n_answered: np.ndarray) -> np.ndarray:
    """S2: rows whose answered items give a total (per domain for grouped instruments)."""
    groups = total_groups(inst)
    if groups is None:
        return (n_answered > 0) & (inst.n_items - n_answered <= inst.max_missing)
    answered = ~unanswered
    return cast(np.ndarray, np.logical_and.reduce(
        [answered[:, [n - 1 for n in group]].any(axis=1) for group in groups]))


def score_cells(instrument: str | Instrument, items: Sequence[Sequence[object]] | np.ndarray,
                total: Sequence[object] | np.ndarray | None = None) -> ScoredColumn:
    """Score n administrations of `instrument` given as text cells ('' or None = missing).

    `items` is n rows of `n_items` cells, `total` n cells (or None: no totals). The
    result row i equals ``scoring.score(instrument, items[i], total[i])``, or, when that
    raises, carries its error (see ScoredColumn).
    """
    inst = get_instrument(instrument)
    cells = np.asarray(items, dtype=object).reshape(-1, inst.n_items)
    n = len(cells)
    supplied = (np.full(n, None, dtype=object) if total is None
                else np.asarray(total, dtype=object).reshape(n))
    answers, unanswered, bad_item = _parse(inst, "item_1", cells)
    given, no_total, bad_total = _parse(inst, "total", supplied)
    n_answered = inst.n_items - unanswered.sum(axis=1)
    answers = np.where(unanswered | bad_item, 0, answers)
    computed = _computed_totals(inst, answers, n_answered)
    n_missing = inst.n_items - n_answered
    from_items = _scorable(inst, unanswered, n_answered)
    total_only = (n_answered == 0) & ~no_total
    wrong = (bad_item.any(axis=1) | bad_total | ((n_answered == 0) & no_total)
             | ((n_answered > 0) & ~no_total & (~from_items | (given != computed))))
    complete = (from_items | total_only) & ~wrong
    totals = np.where(from_items, computed, given)
    totals = np.where(complete, totals, MISSING)
    bands = np.array([severity(inst, t) for t in range(inst.total_min, inst.total_max + 1)]
                     + [None], dtype=object)  # the last slot: no total
    labels = bands[np.where(complete, totals - inst.total_min, len(bands) - 1)]
    answers = np.where(unanswered | wrong[:, None], MISSING, answers)
    errors = {int(i): _row_errors(inst, cells[i], supplied[i]) for i in np.flatnonzero(wrong)}
    return ScoredColumn(
        instrument=inst.name,
        answers=answers,
        total=totals,
        complete=complete,
        severity=labels,
        n_missing=np.where(wrong, 0, n_missing),
        prorated=from_items & ~wrong & (n_missing > 0) & (total_groups(inst) is None),
        errors=errors,
    )
