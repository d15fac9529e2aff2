"""Item answers for the synthetic demo cohort, vectorised, and their scores.

Given a target total per administration, answers are drawn so that they add up to the
target exactly: each item has `item_max` "slots", and the target number of slots is
picked without replacement, weighted per item (Efraimidis-Spirakis keys u ** (1/w)), so
that some items run higher than others as in real data. Totals, severities and
completeness then come from `outcomes.scoring` (never computed here).
"""

from __future__ import annotations

import numpy as np

from outcomes.instruments import get_instrument
from outcomes.scoring import Score, score

# Relative weights of the items (invented, to make profiles uneven; PHQ-9 item 9 is
# handled apart: it is the suicidal-ideation item and is mostly 0).
ITEM_WEIGHTS = {
    "PHQ-9": (1.3, 1.3, 1.2, 1.4, 1.0, 1.1, 1.0, 0.6),
    "GAD-7": (1.3, 1.2, 1.2, 1.1, 0.8, 1.0, 0.9),
    "MADRS": (1.2, 1.3, 1.1, 1.0, 0.8, 1.0, 1.0, 1.1, 1.0, 0.5),
}


def allocate(rng: np.random.Generator, targets: np.ndarray, weights: tuple[float, ...],
             item_max: int) -> np.ndarray:
    """Answers (rows x items) in 0..item_max, each row summing exactly to its target."""
    n_items = len(weights)
    targets = np.clip(targets, 0, n_items * item_max)
    slot_weight = np.repeat(np.asarray(weights, dtype=float), item_max)
    keys = rng.random((len(targets), slot_weight.size)) ** (1.0 / slot_weight)
    rank = np.argsort(np.argsort(-keys, axis=1), axis=1)
    chosen = rank < targets[:, None]
    return chosen.reshape(len(targets), n_items, item_max).sum(axis=2)


def phq9_answers(rng: np.random.Generator, targets: np.ndarray, item9: np.ndarray) -> np.ndarray:
    """PHQ-9 answers: item 9 as given, items 1-8 carrying the rest of the target."""
    rest = np.clip(targets - item9, 0, 24)
    answers = allocate(rng, rest, ITEM_WEIGHTS["PHQ-9"], 3)
    return np.concatenate([answers, item9[:, None]], axis=1)


def blank_items(rng: np.random.Generator, answers: np.ndarray, n_missing: np.ndarray,
                among: int) -> list[list[int | None]]:
    """Answer lists with `n_missing[i]` of the first `among` items of row i left blank."""
    rows: list[list[int | None]] = answers.tolist()
    for i in np.flatnonzero(n_missing):
        for k in rng.choice(among, size=int(n_missing[i]), replace=False):
            rows[i][k] = None
    return rows


def score_all(instrument: str, rows: list[list[int | None]]) -> list[Score]:
    """Score every answer list with the scoring module (once per distinct pattern)."""
    inst = get_instrument(instrument)
    memo: dict[tuple, Score] = {}
    scores = []
    for answers in rows:
        key = tuple(answers)
        result = memo.get(key)
        if result is None:
            result = memo[key] = score(inst, answers)
        scores.append(result)
    return scores
