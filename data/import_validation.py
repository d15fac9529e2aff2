"""Row checks of a score import (OUTCOMES.md section 5).

Column checks are vectorised over the whole file; item answers and totals go through
`outcomes.scoring` (S1-S3) once per distinct (instrument, answers, total), so a file
of repeated patterns costs one scoring call per pattern. Every bad cell is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd

from data.import_csv import ITEM_COLUMNS, REQUIRED_COLUMNS, RowError
from models.tables import INFUSION_TYPES, ROUTES, TIMEPOINTS
from outcomes.instruments import INSTRUMENTS, Instrument, UnknownInstrumentError, get_instrument
from outcomes.scoring import (
    Score,
    ScoringError,
    check_functional_difficulty,
    parse_answer,
    score,
)

MAX_LENGTH = {"patient_id": 64, "clinic": 40, "clinician": 80, "indication": 100,
              "course_id": 64}
MAX_INFUSION_NUMBER = 9999
_ROUTE_NAMES = {r.lower(): r for r in ROUTES}
_SMALL_INTEGERS = {str(n): n for n in range(10)}  # the scoring module checks ints faster
_FIELD_ORDER = {name: n for n, name in enumerate(
    ("row", *REQUIRED_COLUMNS, "course_id", "clinician", "indication", "infusion_type", "route",
     "dose_mg_per_kg", *ITEM_COLUMNS, "items", "functional_difficulty", "total"))}


def _flag(errors: list[RowError], frame: pd.DataFrame, mask: pd.Series, field: str,
          reason: Callable[[str], str]) -> None:
    """One RowError per row of `mask`, the reason built from the cell's text."""
    for line, value in zip(frame.loc[mask, "line"], frame.loc[mask, field], strict=True):
        errors.append(RowError(int(line), field, reason(value)))


def _check_text(frame: pd.DataFrame, errors: list[RowError]) -> None:
    """Required cells present; text fields within their column's length."""
    for name in REQUIRED_COLUMNS:
        _flag(errors, frame, frame[name] == "", name,
              lambda v, n=name: f"required; {n} must not be empty")
    for name, limit in MAX_LENGTH.items():
        lengths = np.fromiter(map(len, frame[name].tolist()), dtype=np.int64, count=len(frame))
        _flag(errors, frame, pd.Series(lengths > limit, index=frame.index), name,
              lambda v, n=name, k=limit: f"{len(v)} characters is too long; {n} has at most {k}")


def _infusion_numbers(frame: pd.DataFrame, errors: list[RowError]) -> pd.Series:
    text = frame["infusion_number"]
    number = pd.to_numeric(text.where(text.str.fullmatch(r"\+?[0-9]{1,6}")), errors="coerce")
    valid = (number >= 1) & (number <= MAX_INFUSION_NUMBER)
    _flag(errors, frame, (text != "") & ~valid, "infusion_number",
          lambda v: f"'{v}' is not a positive integer; infusion_number is a whole number "
                    f"1-{MAX_INFUSION_NUMBER}")
    return number.where(valid).astype("Int64")


def _dates(frame: pd.DataFrame, errors: list[RowError], today: date) -> pd.Series:
    text = frame["date"]
    iso = text.where(text.str.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"))
    parsed = pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce")
    _flag(errors, frame, (text != "") & parsed.isna(), "date",
          lambda v: f"'{v}' is not a valid ISO date; dates are written YYYY-MM-DD (e.g. 2024-01-13)")
    future = parsed > pd.Timestamp(today)
    _flag(errors, frame, future, "date",
          lambda v: f"{v} is in the future (today is {today.isoformat()}); a score cannot be "
                    "dated after today")
    return parsed.where(~future)


def _choice(frame: pd.DataFrame, errors: list[RowError], name: str, allowed: dict[str, str],
            noun: str) -> pd.Series:
    """Case-insensitive choice from `allowed` (lower-case text -> stored value); None if empty."""
    text = frame[name]
    value = text.str.lower().map(allowed)
    shown = ", ".join(allowed.values())
    _flag(errors, frame, (text != "") & value.isna(), name,
          lambda v: f"'{v}' is not {noun}; allowed: {shown}")
    return value.astype(object).where(value.notna(), None)


def _instruments(frame: pd.DataFrame, errors: list[RowError]) -> list[str | None]:
    names: dict[str, str | None] = {"": None}
    for value in frame["instrument"].unique():
        try:
            names[value] = get_instrument(value).name
        except UnknownInstrumentError:
            names[value] = None
    unknown = frame["instrument"].map(lambda v: v != "" and names[v] is None).astype(bool)
    allowed = ", ".join(INSTRUMENTS)
    _flag(errors, frame, unknown, "instrument",
          lambda v: f"'{v}' is not a known instrument; allowed: {allowed}")
    return [names[v] for v in frame["instrument"].tolist()]


def _doses(frame: pd.DataFrame, errors: list[RowError]) -> pd.Series:
    text = frame["dose_mg_per_kg"]
    dose = pd.to_numeric(text.where(text != ""), errors="coerce")
    valid = (dose > 0) & (dose < float("inf"))
    _flag(errors, frame, (text != "") & ~valid, "dose_mg_per_kg",
          lambda v: f"'{v}' is not a positive number; dose_mg_per_kg is the dose in mg per kg "
                    "of body weight, greater than 0")
    return dose.where(valid)


def _check_unused_cells(frame: pd.DataFrame, errors: list[RowError],
                        instrument: list[str | None]) -> None:
    """Items beyond the instrument's count, and functional_difficulty outside PHQ-9, are empty."""
    counts = np.array([INSTRUMENTS[name].n_items if name else 99 for name in instrument])
    for k, column in enumerate(ITEM_COLUMNS, 1):
        for pos in ((frame[column].to_numpy() != "") & (counts < k)).nonzero()[0]:
            errors.append(RowError(
                int(frame["line"].iat[pos]), column,
                f"{instrument[pos]} has {counts[pos]} items; {column} must be empty"))
    for pos, (name, text) in enumerate(zip(instrument, frame["functional_difficulty"], strict=True)):
        if name and name != "PHQ-9" and text != "":
            errors.append(RowError(
                int(frame["line"].iat[pos]), "functional_difficulty",
                f"functional_difficulty is PHQ-9 question 10; leave it empty for {name}"))


def _reason(exc: ScoringError) -> str:
    """The scoring message without its 'PHQ-9 item_3: ' prefix (the report names the field)."""
    text, prefix = str(exc), f"{exc.instrument} {exc.field}: "
    return text[len(prefix):] if text.startswith(prefix) else text


def _score_one(inst: Instrument, items: tuple, total: str) -> Score | list[tuple]:
    """A Score, or every (field, reason) wrong with the answers and total (S1-S3)."""
    try:
        return score(inst, list(items), total)
    except ScoringError as exc:
        if not exc.field.startswith("item"):
            return [(exc.field, _reason(exc))]
        problems = []
        for k, value in enumerate(items, 1):
            try:
                parse_answer(inst, f"item_{k}", value)
            except ScoringError as item_exc:
                problems.append((item_exc.field, _reason(item_exc)))
        return problems or [(exc.field, _reason(exc))]


def _scores(frame: pd.DataFrame, errors: list[RowError],
            instrument: list[str | None]) -> list[Score | None]:
    """Score every row with a known instrument (S1-S3), memoised per distinct pattern."""
    memo: dict[tuple, Score | list[tuple]] = {}
    answers = zip(*(frame[c].tolist() for c in ITEM_COLUMNS), strict=True)
    scores: list[Score | None] = []
    for line, name, total, items in zip(frame["line"].tolist(), instrument,
                                        frame["total"].tolist(), answers, strict=True):
        if name is None:
            scores.append(None)
            continue
        inst = INSTRUMENTS[name]
        key = (name, total, items[:inst.n_items])
        outcome = memo.get(key)
        if outcome is None:
            answers = tuple(_SMALL_INTEGERS.get(v, v) for v in key[2])
            outcome = memo[key] = _score_one(inst, answers, total)
        if isinstance(outcome, Score):
            scores.append(outcome)
        else:
            scores.append(None)
            errors.extend(RowError(line, field, reason) for field, reason in outcome)
    return scores


def _functional_difficulty(frame: pd.DataFrame, errors: list[RowError],
                           instrument: list[str | None]) -> list[int | None]:
    """PHQ-9 question 10 (0-3), checked by the scoring module once per distinct text."""
    checked: dict[str, int | str | None] = {"": None}
    values: list[int | None] = []
    for line, name, text in zip(frame["line"].tolist(), instrument,
                                frame["functional_difficulty"].tolist(), strict=True):
        if name != "PHQ-9":
            values.append(None)
            continue
        if text not in checked:
            try:
                checked[text] = check_functional_difficulty(text)
            except ScoringError as exc:
                checked[text] = _reason(exc)
        value = checked[text]
        if isinstance(value, str):
            errors.append(RowError(line, "functional_difficulty", value))
            value = None
        values.append(value)
    return values


def _optional_text(series: pd.Series) -> pd.Series:
    return series.where(series != "", None)


def validate_rows(frame: pd.DataFrame, *, today: date) -> tuple[pd.DataFrame, list[RowError]]:
    """Check every row; the normalised rows (NA/None where a cell is bad) and every error."""
    errors: list[RowError] = []
    _check_text(frame, errors)
    instrument = _instruments(frame, errors)
    _check_unused_cells(frame, errors, instrument)
    rows = pd.DataFrame({
        "line": frame["line"].astype(int),
        "clinic": frame["clinic"],
        "patient_id": frame["patient_id"],
        "clinician": _optional_text(frame["clinician"]),
        "indication": _optional_text(frame["indication"]),
        "course_id": _optional_text(frame["course_id"]),
        "infusion_number": _infusion_numbers(frame, errors),
        "infusion_type": _choice(frame, errors, "infusion_type",
                                 {t: t for t in INFUSION_TYPES}, "an infusion type"),
        "timepoint": _choice(frame, errors, "timepoint", {t: t for t in TIMEPOINTS},
                             "a timepoint"),
        "date": _dates(frame, errors, today),
        "instrument": pd.Series(instrument, index=frame.index, dtype=object),
        "route": _choice(frame, errors, "route", _ROUTE_NAMES, "a route"),
        "dose_mg_per_kg": _doses(frame, errors),
        "score": pd.Series(_scores(frame, errors, instrument), index=frame.index, dtype=object),
        "functional_difficulty": pd.Series(_functional_difficulty(frame, errors, instrument),
                                           index=frame.index, dtype=object),
    })
    return rows, errors


def sort_errors(errors: list[RowError]) -> list[RowError]:
    """By line, then in the order of the file's columns."""
    return sorted(errors, key=lambda e: (e.line, _FIELD_ORDER.get(e.field, 99), e.reason))
